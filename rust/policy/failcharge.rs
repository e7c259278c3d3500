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
//! is applied too, also with the ratio off: without it the 6.12 core never
//! fills a quota that is not a page multiple, and loses the walk's
//! position. The applied bytes of a window thus stay within one page of
//! upstream's, and a window is full when upstream's is.

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
            started: false,
        }
    }

    /// Reads the scheme's state: `window` (the core's `charged_from`),
    /// `core_esz` (the core's `esz`) and its statistics. A new window
    /// starts from nothing charged, with the quota the core computed for
    /// it; otherwise what was applied and tried since the last observation
    /// (the previous region) is charged upstream's way. Returns the bytes
    /// `(tried, applied)` since then.
    pub fn observe(
        &mut self,
        window: u64,
        core_esz: u64,
        sz_tried: u64,
        sz_applied: u64,
        num: u64,
        denom: u64,
    ) -> (u64, u64) {
        let tried = sz_tried.wrapping_sub(self.last_tried);
        let applied = sz_applied.wrapping_sub(self.last_applied);
        self.last_tried = sz_tried;
        self.last_applied = sz_applied;
        if !self.started || window != self.window {
            // What was tried since belongs to the previous window.
            self.started = true;
            self.window = window;
            self.quota = core_esz;
            self.charged = 0;
        } else {
            self.charged = self
                .charged
                .saturating_add(charge(tried, applied, num, denom));
        }
        (tried, applied)
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
    /// core cut it) is applied, once the previous one was observed; `None`:
    /// leave the core alone (there is no quota, or, with the ratio off,
    /// the region does not fill it).
    ///
    /// With the ratio off the core's charges are upstream's, and only 7.2's
    /// fullness rule is written: a region after which less than a page of
    /// the quota is left fills it. Without it, a quota that is not a page
    /// multiple (the goal loops' and the time quota's) is never full in the
    /// 6.12 core: its last split rounds to nothing (`goto update_stat`),
    /// the walk's position (`charge_addr_from`) is not kept, and every
    /// window walks again from the lowest-address region it may apply.
    pub fn before_region(&self, size: u64, num: u64, denom: u64) -> Option<CoreQuota> {
        if self.quota == 0 {
            return None;
        }
        let left = self.quota.saturating_sub(self.charged);
        if denom == 0 {
            if left > size && left - size < MIN_REGION {
                return Some(CoreQuota {
                    charged_sz: self.quota - size,
                    esz: self.quota,
                });
            }
            return None;
        }
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
    /// upstream's, its `esz` the window's quota.
    pub fn between_walks(&self, denom: u64) -> Option<CoreQuota> {
        if denom == 0 || self.quota == 0 {
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
        /// Whether the window ended full: upstream's
        /// `damos_quota_is_full()`, the 6.12 core's `charged_sz >= esz`
        /// (which keeps the walk's position for the next window).
        pub full: bool,
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
        w.full = q - charged.min(q) < MIN_REGION;
        w
    }

    /// The 6.12 core on `regions`, from the window's start with quota `q`,
    /// with the emulation in its `before_damos_apply` callback.
    pub fn core_612(regions: &[Region], q: u64, num: u64, denom: u64) -> Walk {
        let mut w = Walk::default();
        let mut e = Emulation::new();
        let (mut esz, mut charged_sz) = (q, 0u64);
        let (mut sz_tried, mut sz_applied) = (0u64, 0u64);
        e.observe(1, esz, 0, 0, num, denom);
        let mut queue: Vec<Region> = regions.to_vec();
        let mut i = 0;
        while i < queue.len() {
            // damon_do_apply_schemes(): the quota check.
            if esz != 0 && charged_sz >= esz {
                break;
            }
            let mut r = queue[i];
            // damos_apply_scheme(): split to the quota.
            if esz != 0 && charged_sz + r.size > esz {
                let sz = (esz - charged_sz) / MIN_REGION * MIN_REGION;
                if sz == 0 {
                    // goto update_stat: nothing tried, nothing charged.
                    i += 1;
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
            }
            // before_damos_apply.
            e.observe(1, esz, sz_tried, sz_applied, num, denom);
            if let Some(c) = e.before_region(r.size, num, denom) {
                charged_sz = c.charged_sz;
                esz = c.esz;
            }
            let a = applied_of(r, r.size);
            w.steps.push(Step {
                size: r.size,
                applied: a,
                esz,
                charged_sz,
            });
            charged_sz += r.size;
            sz_tried += r.size;
            sz_applied += a;
            w.tried += r.size;
            w.applied += a;
            i += 1;
        }
        // The next aggregation charges the walk's last region.
        e.observe(1, esz, sz_tried, sz_applied, num, denom);
        w.charged = e.charged;
        // The last region's charge, learnt there, can fill it too, once
        // `between_walks()` wrote it into the core.
        if let Some(c) = e.between_walks(denom) {
            charged_sz = c.charged_sz;
            esz = c.esz;
        }
        w.full = esz != 0 && charged_sz >= esz;
        w
    }
}

#[cfg(test)]
mod tests {
    use super::model::{core_612, upstream, Region};
    use super::*;
    use std::vec::Vec;

    const MIB: u64 = 1 << 20;

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
        e.observe(1, 8 * MIB, 0, 0, 0, 0);
        assert_eq!(e.before_region(MIB, 0, 0), None);
        assert_eq!(e.between_walks(0), None);
        // No quota: nothing to emulate.
        let mut e = Emulation::new();
        e.observe(1, 0, 0, 0, 1, 4096);
        assert_eq!(e.before_region(MIB, 1, 4096), None);
    }

    /// With the ratio off, a quota that is not a page multiple: the 6.12
    /// core alone never fills it (the walk's position is lost and the next
    /// window starts again from the first region); with the emulation the
    /// region that leaves less than a page fills it, as upstream's.
    #[test]
    fn off_fills_a_quota_that_is_not_page_multiple() {
        let regions = [Region {
            size: 64 * MIB,
            ok: 64 * MIB,
        }];
        let q = 8 * MIB + 100;
        let mut e = Emulation::new();
        e.observe(1, q, 0, 0, 0, 0);
        // The core cut the region to 8 MiB: 100 bytes would be left.
        assert_eq!(
            e.before_region(8 * MIB, 0, 0),
            Some(CoreQuota {
                charged_sz: 100,
                esz: q
            })
        );
        let w = core_612(&regions, q, 0, 0);
        assert_eq!((w.applied, w.full), (8 * MIB, true));
        assert!(upstream(&regions, q, 0, 0).full);
        // A page multiple is the core's own business.
        let mut e = Emulation::new();
        e.observe(1, 8 * MIB, 0, 0, 0, 0);
        assert_eq!(e.before_region(8 * MIB, 0, 0), None);
    }

    #[test]
    fn new_window_resets() {
        let mut e = Emulation::new();
        e.observe(1, 8 * MIB, 0, 0, 1, 4096);
        e.observe(1, 8 * MIB, MIB, MIB, 1, 4096);
        assert_eq!(e.charged, MIB);
        // The region observed at the window change is the old window's.
        e.observe(2, 4 * MIB, 2 * MIB, 2 * MIB, 1, 4096);
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
                    assert_eq!(
                        ours.full, up.full,
                        "{num}/{denom} q {q}: full {} upstream {}",
                        ours.full, up.full
                    );
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
}
