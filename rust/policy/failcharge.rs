// SPDX-License-Identifier: GPL-2.0

//! The failed-region quota charge ratio: a region whose action failed is
//! charged `num / denom` of its size, so that the quota measures the work
//! really done. Upstream (7.2, `damos_charge_quota()`), per region:
//! `charge = applied + (tried - applied) * num / denom`; `denom == 0`, or
//! more applied than tried, charges the whole region.
//!
//! The 6.12 core charges every region in full (`quota->charged_sz += sz`)
//! and stops the walk as soon as `charged_sz >= esz`. [`Emulation`] makes
//! it charge and stop as upstream does, from the `before_damos_apply`
//! callback, which runs before each region is applied and after the
//! previous region's statistics were updated: there it charges the
//! previous region upstream's way (from the statistics' deltas) and writes
//! the core's `charged_sz` and `esz` ([`CoreQuota`]) so that the core's own
//! split (`esz - charged_sz`) and fullness check (`charged_sz >= esz`) fall
//! where upstream's would. Upstream knows a region's charge before it
//! splits the next region; the callback learns it one region later. The
//! emulation therefore cuts the next region to what is left if the
//! current one is charged the most it can be, and, when that would stop
//! the walk while a failure would not, lets the next region be one page
//! (a probe) to learn the current region's charge first. Upstream 7.2's
//! "less than a region of quota left is full" (`damos_quota_is_full()`)
//! is applied too. The applied bytes of a window thus stay within one page
//! of upstream's.
//!
//! With the ratio on, the module also keeps the time quota (`quota_ms`)
//! itself, as time: the 6.12 core turns it into a size, `max(4 KiB,
//! throughput * ms)`, with the throughput the scheme's lifetime bytes
//! *charged* per ns of applying. Charged at the ratio, a window's charge
//! is set by the few bytes that work, its time by the many that fail
//! (mlocked pages; anonymous pages, which DAMON's pageout leaves under
//! writeback and does not count as applied), so the estimate falls each
//! window and the size with it, to one page per window, where it stays
//! (measured, 51-failcharge-time.sh before the fix: 112 KiB to 11 KiB in
//! 20 s, 4 KiB for 111 s in the demo), while the windows ran 20-160 ms of
//! apply time against the 10 ms asked for. The module gives the core no
//! time quota then and ends a window's walk once the core's own clock of
//! applying (`total_charged_ns`, since the window started) reached
//! `quota_ms` ([`Emulation::time_out`]). The callback learns a region's
//! time only before the next region, which the core then applies anyway:
//! a window runs over by at most two regions.

pub use super::damos::MIN_REGION;

/// What a scheme should be charged for a region of `tried` bytes of which
/// `applied` worked (upstream 7.2's `damos_charge_quota()`).
pub fn charge(tried: u64, applied: u64, num: u64, denom: u64) -> u64 {
    if denom == 0 || applied > tried {
        return tried;
    }
    let failed_charge = super::math::mul_div(tried - applied, num, denom);
    applied.saturating_add(failed_charge)
}

/// The least and the most a region of `size` bytes can be charged, whatever
/// part of it is applied.
fn charge_bounds(size: u64, num: u64, denom: u64) -> (u64, u64) {
    let all_failed = charge(size, 0, num, denom);
    (all_failed.min(size), all_failed.max(size))
}

/// What the module writes into the 6.12 core's quota of the scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoreQuota {
    /// `quota->charged_sz`.
    pub charged_sz: u64,
    /// `quota->esz`.
    pub esz: u64,
}

/// What [`Emulation::observe`] reads of the core and the scheme.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    /// The identity of the charge window (the core's `charged_from`).
    pub window: u64,
    /// The core's `esz`.
    pub esz: u64,
    /// The core's `total_charged_ns`.
    pub total_ns: u64,
    /// The scheme's `sz_tried`.
    pub sz_tried: u64,
    /// The scheme's `sz_applied`.
    pub sz_applied: u64,
}

/// Upstream's charge accounting of one scheme, on the 6.12 core.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Emulation {
    /// The charge window's quota (upstream's `esz`; 0: unlimited).
    pub quota: u64,
    /// What upstream would have charged in this window so far.
    pub charged: u64,
    /// The identity of the charge window (the core's `charged_from`).
    pub window: u64,
    /// The scheme's `sz_tried` when last observed.
    pub last_tried: u64,
    /// The scheme's `sz_applied` when last observed.
    pub last_applied: u64,
    /// The core's `total_charged_ns` when the window started.
    pub window_ns: u64,
    /// Nanoseconds of applying in this window, as last observed.
    pub time_ns: u64,
    /// Nanoseconds of applying in the previous window.
    pub prev_time_ns: u64,
    /// Whether anything was observed yet.
    pub started: bool,
}

impl Emulation {
    /// A scheme not observed yet.
    pub const fn new() -> Self {
        Self {
            quota: 0,
            charged: 0,
            window: 0,
            last_tried: 0,
            last_applied: 0,
            window_ns: 0,
            time_ns: 0,
            prev_time_ns: 0,
            started: false,
        }
    }

    /// Reads the scheme's state: `c`, the core's window and esz and the
    /// scheme's statistics. A new window starts from nothing charged and
    /// no time spent, with the quota the core computed for it; otherwise
    /// what was applied and tried since the last observation (the
    /// previous region) is charged upstream's way, and the window's time
    /// is the core's clock since it started. Returns the bytes `(tried,
    /// applied)` since then.
    pub fn observe(&mut self, c: &Observed, num: u64, denom: u64) -> (u64, u64) {
        let tried = c.sz_tried.wrapping_sub(self.last_tried);
        let applied = c.sz_applied.wrapping_sub(self.last_applied);
        self.last_tried = c.sz_tried;
        self.last_applied = c.sz_applied;
        if !self.started || c.window != self.window {
            // What was tried since, and its time, belong to the previous
            // window.
            self.prev_time_ns = if self.started {
                c.total_ns.wrapping_sub(self.window_ns)
            } else {
                0
            };
            self.started = true;
            self.window = c.window;
            self.quota = c.esz;
            self.charged = 0;
            self.window_ns = c.total_ns;
            self.time_ns = 0;
        } else {
            self.charged = self
                .charged
                .saturating_add(charge(tried, applied, num, denom));
            self.time_ns = c.total_ns.wrapping_sub(self.window_ns);
        }
        (tried, applied)
    }

    /// Whether the window used up a time budget of `budget_ns` (0: none).
    pub fn time_out(&self, budget_ns: u64) -> bool {
        budget_ns != 0 && self.time_ns >= budget_ns
    }

    /// What makes the core stop once the region of `size` bytes about to
    /// be applied (0: none, between walks) is charged: its `charged_sz`
    /// at or above its `esz`, and `esz` not 0 (unlimited).
    fn stop_after(&self, size: u64) -> CoreQuota {
        let esz = if self.quota != 0 {
            self.quota
        } else {
            self.charged.saturating_add(size).max(1)
        };
        CoreQuota {
            charged_sz: self.charged.max(esz.saturating_sub(size)),
            esz,
        }
    }

    /// The quota of the current window changed to `quota` (the goal loop
    /// wrote the core's `esz`).
    pub fn set_quota(&mut self, quota: u64) {
        self.quota = quota;
    }

    /// Whether upstream would consider the quota full (7.2's
    /// `damos_quota_is_full()`).
    pub fn is_full(&self) -> bool {
        self.quota != 0 && self.quota.saturating_sub(self.charged) < MIN_REGION
    }

    /// What to write into the core before a region of `size` bytes (as the
    /// core cut it) is applied, once the previous one was observed, with
    /// a time budget of `budget_ns` per window (0: none); `None`: leave
    /// the core alone (the ratio is off, or there is no quota).
    pub fn before_region(
        &self,
        size: u64,
        num: u64,
        denom: u64,
        budget_ns: u64,
    ) -> Option<CoreQuota> {
        if denom == 0 {
            return None;
        }
        if self.time_out(budget_ns) {
            return Some(self.stop_after(size));
        }
        if self.quota == 0 {
            return None;
        }
        let left = self.quota.saturating_sub(self.charged);
        let (least, most) = charge_bounds(size, num, denom);
        if self.is_full() || left.saturating_sub(least) < MIN_REGION {
            // Full after this region whatever it costs (or already full,
            // after a probe): the core's check fires after it.
            return Some(CoreQuota {
                charged_sz: self.charged.max(self.quota.saturating_sub(size)),
                esz: self.quota,
            });
        }
        let after_most = left.saturating_sub(most);
        if after_most >= MIN_REGION {
            // The next region is cut to what is left if this one costs the
            // most: core charged + size + after_most == quota.
            return Some(CoreQuota {
                charged_sz: self.charged.saturating_add(most - size),
                esz: self.quota,
            });
        }
        // Full if this region works, not if it fails: the next region is
        // one page, applied before the walk stops or goes on.
        Some(CoreQuota {
            charged_sz: self.charged,
            esz: self.charged.saturating_add(size).saturating_add(MIN_REGION),
        })
    }

    /// What to write into the core between walks (after an aggregation),
    /// once the last region of the walk was observed: the core's charge is
    /// upstream's, its `esz` the window's quota; a window out of time
    /// (`budget_ns`, 0: none) stays stopped.
    pub fn between_walks(&self, denom: u64, budget_ns: u64) -> Option<CoreQuota> {
        if denom == 0 {
            return None;
        }
        if self.time_out(budget_ns) {
            return Some(self.stop_after(0));
        }
        if self.quota == 0 {
            return None;
        }
        Some(CoreQuota {
            charged_sz: if self.is_full() {
                self.charged.max(self.quota)
            } else {
                self.charged
            },
            esz: self.quota,
        })
    }
}

/// A model of one charge window's walks, for tests: the 6.12 core's quota
/// lines of `damos_apply_scheme()`/`damon_do_apply_schemes()` driven by an
/// [`Emulation`], and upstream 7.2's, over the same regions.
#[cfg(test)]
pub(crate) mod model {
    use super::*;
    use std::vec::Vec;

    /// A region of `size` bytes of which the first `ok` bytes can be
    /// applied (the rest fails), in whole pages.
    #[derive(Clone, Copy, Debug)]
    pub struct Region {
        pub size: u64,
        pub ok: u64,
    }

    /// One region the core applied: its size as cut, and what the module
    /// had written before it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Step {
        pub size: u64,
        pub applied: u64,
        pub esz: u64,
        pub charged_sz: u64,
    }

    /// The walk's outcome: bytes tried and applied, each region applied,
    /// and the upstream charge at the end.
    #[derive(Debug, Default)]
    pub struct Walk {
        pub tried: u64,
        pub applied: u64,
        pub steps: Vec<Step>,
        pub charged: u64,
    }

    fn applied_of(r: Region, size: u64) -> u64 {
        r.ok.min(size)
    }

    /// Upstream 7.2 on `regions` with quota `q`: split to what is left,
    /// charge, stop when full.
    pub fn upstream(regions: &[Region], q: u64, num: u64, denom: u64) -> Walk {
        let mut w = Walk::default();
        let mut charged = 0u64;
        let mut queue: Vec<Region> = regions.to_vec();
        let mut i = 0;
        while i < queue.len() {
            if q - charged.min(q) < MIN_REGION {
                break;
            }
            let mut r = queue[i];
            if charged + r.size > q {
                let sz = (q - charged) / MIN_REGION * MIN_REGION;
                let rest = Region {
                    size: r.size - sz,
                    ok: r.ok.saturating_sub(sz),
                };
                r = Region {
                    size: sz,
                    ok: r.ok.min(sz),
                };
                queue.insert(i + 1, rest);
            }
            let a = applied_of(r, r.size);
            charged += charge(r.size, a, num, denom);
            w.tried += r.size;
            w.applied += a;
            w.steps.push(Step {
                size: r.size,
                applied: a,
                esz: q,
                charged_sz: charged,
            });
            i += 1;
        }
        w.charged = charged;
        w
    }

    /// The 6.12 core on `regions`, from the window's start with quota `q`,
    /// with the emulation in its `before_damos_apply` callback.
    pub fn core_612(regions: &[Region], q: u64, num: u64, denom: u64) -> Walk {
        let mut c = Core::new(num, denom, 0);
        c.open(1, q);
        let (mut w, _) = c.walk(regions, 0, 0);
        w.charged = c.e.charged;
        w
    }

    /// The 6.12 core's quota state of one scheme and its statistics, with
    /// the emulation in its callbacks, over many windows: each region
    /// costs `ns_per_page` ns per page of applying (the core's clock).
    pub struct Core {
        pub e: Emulation,
        pub esz: u64,
        pub charged_sz: u64,
        pub total_charged_sz: u64,
        pub total_ns: u64,
        pub sz_tried: u64,
        pub sz_applied: u64,
        pub window: u64,
        pub num: u64,
        pub denom: u64,
        pub budget_ns: u64,
        pub cur: Walk,
    }

    impl Core {
        pub fn new(num: u64, denom: u64, budget_ns: u64) -> Self {
            Self {
                e: Emulation::new(),
                esz: 0,
                charged_sz: 0,
                total_charged_sz: 0,
                total_ns: 0,
                sz_tried: 0,
                sz_applied: 0,
                window: 0,
                num,
                denom,
                budget_ns,
                cur: Walk::default(),
            }
        }

        fn observed(&self) -> Observed {
            Observed {
                window: self.window,
                esz: self.esz,
                total_ns: self.total_ns,
                sz_tried: self.sz_tried,
                sz_applied: self.sz_applied,
            }
        }

        /// `damos_adjust_quota()`'s new window with effective quota `esz`.
        pub fn open(&mut self, window: u64, esz: u64) {
            self.total_charged_sz += self.charged_sz;
            self.charged_sz = 0;
            self.window = window;
            self.esz = esz;
            self.cur = Walk::default();
        }

        /// 6.12's `damos_set_effective_quota()` with a time quota of `ms`
        /// and a size quota of `sz` (no goals in the core).
        pub fn time_quota(&self, ms: u64, sz: u64) -> u64 {
            let throughput = if self.total_ns != 0 {
                self.total_charged_sz * 1_000_000 / self.total_ns
            } else {
                MIN_REGION * 1024
            };
            let esz = (throughput * ms).max(MIN_REGION);
            if sz != 0 && sz < esz {
                sz
            } else {
                esz
            }
        }

        /// One walk over `regions` from index `from`, at `ns_per_page`:
        /// returns the walk and the index to resume from (the core's
        /// `charge_addr_from`).
        pub fn walk(&mut self, regions: &[Region], from: usize, ns_per_page: u64) -> (Walk, usize) {
            let mut w = Walk::default();
            let mut queue: Vec<Region> = Vec::new();
            queue.extend_from_slice(&regions[from..]);
            queue.extend_from_slice(&regions[..from]);
            let mut i = 0;
            let mut done = 0;
            while i < queue.len() {
                // damon_do_apply_schemes(): the quota check.
                if self.esz != 0 && self.charged_sz >= self.esz {
                    break;
                }
                let mut r = queue[i];
                // damos_apply_scheme(): split to the quota.
                if self.esz != 0 && self.charged_sz + r.size > self.esz {
                    let sz = (self.esz - self.charged_sz) / MIN_REGION * MIN_REGION;
                    if sz == 0 {
                        // goto update_stat: nothing tried, nothing charged.
                        i += 1;
                        done += 1;
                        continue;
                    }
                    let rest = Region {
                        size: r.size - sz,
                        ok: r.ok.saturating_sub(sz),
                    };
                    r = Region {
                        size: sz,
                        ok: r.ok.min(sz),
                    };
                    queue.insert(i + 1, rest);
                } else {
                    done += 1;
                }
                // before_damos_apply.
                let o = self.observed();
                self.e.observe(&o, self.num, self.denom);
                if let Some(c) = self
                    .e
                    .before_region(r.size, self.num, self.denom, self.budget_ns)
                {
                    self.charged_sz = c.charged_sz;
                    self.esz = c.esz;
                }
                let a = applied_of(r, r.size);
                w.steps.push(Step {
                    size: r.size,
                    applied: a,
                    esz: self.esz,
                    charged_sz: self.charged_sz,
                });
                self.total_ns += r.size / MIN_REGION * ns_per_page;
                self.charged_sz += r.size;
                self.sz_tried += r.size;
                self.sz_applied += a;
                w.tried += r.size;
                w.applied += a;
                i += 1;
            }
            // after_aggregation: the walk's last region is charged.
            let o = self.observed();
            self.e.observe(&o, self.num, self.denom);
            if let Some(c) = self.e.between_walks(self.denom, self.budget_ns) {
                self.charged_sz = c.charged_sz;
                self.esz = c.esz;
            }
            self.cur.tried += w.tried;
            self.cur.applied += w.applied;
            (w, (from + done) % regions.len().max(1))
        }

        /// The window so far, with upstream's charge of it.
        pub fn close(&self) -> Walk {
            Walk {
                tried: self.cur.tried,
                applied: self.cur.applied,
                steps: Vec::new(),
                charged: self.e.charged,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::model::{core_612, upstream, Core, Region};
    use super::*;
    use std::vec::Vec;

    const MIB: u64 = 1 << 20;

    fn obs(window: u64, esz: u64, sz_tried: u64, sz_applied: u64) -> Observed {
        Observed {
            window,
            esz,
            total_ns: 0,
            sz_tried,
            sz_applied,
        }
    }

    #[test]
    fn edges() {
        // Off.
        assert_eq!(charge(100, 10, 1, 0), 100);
        // num == denom: failures cost their size.
        assert_eq!(charge(100, 10, 7, 7), 100);
        // num == 0: failures are free.
        assert_eq!(charge(100, 10, 0, 4096), 10);
        // The seed's 1/4096.
        assert_eq!(charge(4096 * 1000, 0, 1, 4096), 1000);
        // Huge sizes do not overflow.
        assert_eq!(charge(u64::MAX, 0, u64::MAX, 1), u64::MAX);
        assert_eq!(charge(u64::MAX, 0, u64::MAX, u64::MAX), u64::MAX);
        // Failures charged more than their size.
        assert_eq!(charge(100, 0, 3, 2), 150);
        // More applied than tried (large folios): the region is charged.
        assert_eq!(charge(100, 200, 1, 2), 100);
    }

    #[test]
    fn off_leaves_the_core_alone() {
        let mut e = Emulation::new();
        e.observe(&obs(1, 8 * MIB, 0, 0), 0, 0);
        assert_eq!(e.before_region(MIB, 0, 0, 0), None);
        assert_eq!(e.between_walks(0, 0), None);
        // No quota: nothing to emulate.
        let mut e = Emulation::new();
        e.observe(&obs(1, 0, 0, 0), 1, 4096);
        assert_eq!(e.before_region(MIB, 1, 4096, 0), None);
    }

    #[test]
    fn new_window_resets() {
        let mut e = Emulation::new();
        e.observe(&obs(1, 8 * MIB, 0, 0), 1, 4096);
        e.observe(&obs(1, 8 * MIB, MIB, MIB), 1, 4096);
        assert_eq!(e.charged, MIB);
        // The region observed at the window change is the old window's.
        e.observe(&obs(2, 4 * MIB, 2 * MIB, 2 * MIB), 1, 4096);
        assert_eq!((e.charged, e.quota), (0, 4 * MIB));
    }

    /// 100 regions of 4 MiB (45% mlocked first, then page cache of which
    /// the young half fails) and many mixes: the 6.12 core with the
    /// emulation applies what upstream applies, within a page, and never
    /// charges more than the quota plus a page.
    #[test]
    fn walks_match_upstream() {
        let mut cases: Vec<Vec<Region>> = Vec::new();
        let mut mlock_then_cache = Vec::new();
        for i in 0..100 {
            let ok = if i < 45 {
                0
            } else if i % 2 == 0 {
                4 * MIB
            } else {
                MIB
            };
            mlock_then_cache.push(Region { size: 4 * MIB, ok });
        }
        cases.push(mlock_then_cache);
        // A pseudo-random mix of sizes and successes.
        let mut x: u64 = 12345;
        for _ in 0..200 {
            let mut v = Vec::new();
            for _ in 0..60 {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let pages = 1 + (x >> 33) % 700;
                let ok_pages = match (x >> 20) % 4 {
                    0 => 0,
                    1 => pages,
                    _ => (x >> 40) % (pages + 1),
                };
                v.push(Region {
                    size: pages * MIN_REGION,
                    ok: ok_pages * MIN_REGION,
                });
            }
            cases.push(v);
        }
        for (num, denom) in [(1, 4096), (0, 1), (1, 2), (1, 1), (3, 2), (1, 0)] {
            for q in [MIN_REGION, 3 * MIN_REGION + 100, MIB, 8 * MIB, 100 * MIB] {
                for regions in &cases {
                    let up = upstream(regions, q, num, denom);
                    let ours = core_612(regions, q, num, denom);
                    assert!(
                        ours.applied <= up.applied + MIN_REGION
                            && up.applied <= ours.applied + MIN_REGION,
                        "{num}/{denom} q {q}: applied {} upstream {}",
                        ours.applied,
                        up.applied
                    );
                    // (A ratio above 1 charges failures more than the
                    // quota upstream too.)
                    assert!(
                        num > denom || ours.charged <= q + MIN_REGION,
                        "{num}/{denom} q {q}: charged {}",
                        ours.charged
                    );
                }
            }
        }
    }

    /// The fail-charge RFC's case: the walk goes through 180 MiB of
    /// mlocked regions at 1/4096 of their size and stops once the page
    /// cache behind them filled the 8 MiB quota; without the ratio it stops
    /// after 8 MiB of failures.
    #[test]
    fn walk_goes_through_failures_until_applied_fills_the_quota() {
        let mut regions = Vec::new();
        for i in 0..100 {
            let ok = if i < 45 { 0 } else { 4 * MIB };
            regions.push(Region { size: 4 * MIB, ok });
        }
        let q = 8 * MIB;
        let on = core_612(&regions, q, 1, 4096);
        // The failures cost 180 MiB / 4096 = 45 KiB of the quota.
        let failures = 45 * 4 * MIB / 4096;
        assert!(
            on.applied + failures + MIN_REGION >= q && on.applied <= q,
            "{}",
            on.applied
        );
        let up = upstream(&regions, q, 1, 4096);
        assert!(on.applied.abs_diff(up.applied) <= MIN_REGION);
        assert!(on.tried + failures + MIN_REGION >= 45 * 4 * MIB + q);
        // Every region before the last was applied with room left.
        for s in &on.steps[..on.steps.len() - 1] {
            assert!(s.esz > s.charged_sz + s.size, "{s:?}");
        }
        let off = core_612(&regions, q, 0, 0);
        assert_eq!((off.tried, off.applied), (q, 0));
    }

    /// A scheme whose tries nearly all fail (one page in 50 regions of
    /// 4 MiB works: the rest is free memory, or anonymous pages DAMON
    /// leaves under writeback), at 1 us a page, 800 MiB of it, a 128 MiB
    /// size quota and the default 10 ms time quota, one walk per 1 s
    /// window, over 200 windows.
    /// Returns, per window, the effective quota, ns spent and bytes tried.
    fn time_quota_windows(module_time: bool) -> Vec<(u64, u64, u64)> {
        const NS_PER_PAGE: u64 = 1000;
        let (ms, sz) = (10, 128 * MIB);
        let regions: Vec<Region> = (0..200)
            .map(|i| Region {
                size: 4 * MIB,
                ok: if i == 0 { MIN_REGION } else { 0 },
            })
            .collect();
        let budget = if module_time { ms * 1_000_000 } else { 0 };
        let mut c = Core::new(1, 4096, budget);
        let mut from = 0;
        let mut out = Vec::new();
        for w in 1..=200 {
            // With the module's time budget the core has no time quota.
            let esz = if module_time {
                sz
            } else {
                c.time_quota(ms, sz)
            };
            c.open(w, esz);
            let ns0 = c.total_ns;
            let (walk, next) = c.walk(&regions, from, NS_PER_PAGE);
            from = next;
            out.push((esz, c.total_ns - ns0, walk.tried));
        }
        out
    }

    /// The 6.12 core's time quota with the ratio on: a size, in bytes
    /// *charged*, from the lifetime throughput. The first window (the core
    /// assumes 4 MiB/ms before it measured anything) runs 20 times its
    /// time; later the effective quota is a few pages (the charge of 10 ms
    /// of failures) while each window tries tens of MiB: what a window may
    /// do follows the past's mix of failures and successes, not the clock.
    /// With the module's time budget, every window runs its 10 ms, plus at
    /// most two regions (the one it ran out in, and the one the callback
    /// saw it before, which the core applies anyway), and tries what
    /// 10 ms allow.
    #[test]
    fn time_quota_is_time_with_the_ratio() {
        let old = time_quota_windows(false);
        assert!(old[0].1 > 20 * 10_000_000, "{old:?}");
        for w in &old[100..] {
            assert!(w.0 <= 4 * MIN_REGION && w.2 >= 8 * MIB, "{old:?}");
        }
        let new = time_quota_windows(true);
        let region_ns = 4 * MIB / MIN_REGION * 1000;
        for w in &new {
            assert!(
                w.1 >= 10_000_000 && w.1 <= 10_000_000 + 2 * region_ns,
                "{new:?}"
            );
            // 10 ms at 1 us a page: 10 MiB, less the regions that worked.
            assert!(w.2 >= 8 * MIB, "{new:?}");
        }
    }

    /// The budget alone: a window out of time stops the core after the
    /// region about to be applied, and stays stopped between walks, with
    /// or without a size quota; a new window starts with its full budget.
    #[test]
    fn time_out_stops_the_walk() {
        let mut e = Emulation::new();
        let o = |window, esz, total_ns| Observed {
            window,
            esz,
            total_ns,
            sz_tried: 0,
            sz_applied: 0,
        };
        e.observe(&o(1, 8 * MIB, 5_000_000), 1, 4096);
        e.observe(&o(1, 8 * MIB, 9_000_000), 1, 4096);
        assert!(!e.time_out(10_000_000));
        assert!(e
            .before_region(MIB, 1, 4096, 10_000_000)
            .is_some_and(|c| c.esz > c.charged_sz + MIB));
        e.observe(&o(1, 8 * MIB, 15_000_000), 1, 4096);
        assert!(e.time_out(10_000_000));
        let c = e.before_region(MIB, 1, 4096, 10_000_000).unwrap();
        assert!(c.charged_sz + MIB >= c.esz && c.esz != 0, "{c:?}");
        let c = e.between_walks(4096, 10_000_000).unwrap();
        assert!(c.charged_sz >= c.esz && c.esz != 0, "{c:?}");
        // No size quota.
        e.set_quota(0);
        let c = e.between_walks(4096, 10_000_000).unwrap();
        assert!(c.charged_sz >= c.esz && c.esz != 0, "{c:?}");
        // No budget: no time out.
        assert!(!e.time_out(0));
        assert_eq!(e.between_walks(4096, 0), None);
        // The next window: the previous one's time is kept.
        e.observe(&o(2, 8 * MIB, 16_000_000), 1, 4096);
        assert!(!e.time_out(10_000_000));
        assert_eq!(e.prev_time_ns, 11_000_000);
    }
}
