// SPDX-License-Identifier: GPL-2.0

//! What the `min_age` controller is told about a period: the kernel's
//! counters read at its end, turned into who reclaimed how much, how much
//! of it refaulted, weighted by how much it should have stayed, and
//! whether DAMON's quota bound it.
//!
//! All counters are the ones Linux 6.12 keeps; nothing else is assumed:
//! - **DAMON's reclaim**: the scheme's `sz_applied`, bytes DAMON freed in
//!   its own call of `reclaim_pages()`. An anonymous page DAMON writes
//!   out to an asynchronous swap device is not freed there: it is kept
//!   under writeback, rotated to the tail of its inactive list when the
//!   write ends (`pgrotated`), and freed later by kswapd (counted in
//!   `pgsteal_kswapd`), not in `sz_applied`. 6.12 has no counter of
//!   which pages those were, so [`Signals`] moves to DAMON, from kswapd,
//!   at most what all three bound: pages DAMON tried and did not free
//!   (`sz_tried - sz_applied`, which also holds the pages DAMON skipped as
//!   referenced or not on an LRU), pages rotated after writeback
//!   (`pgrotated`, which also holds kswapd's own writeback and
//!   `folio_rotate_reclaimable()` of file pages), and kswapd's steal. It
//!   is an upper bound of DAMON's share: each of the three over-counts,
//!   none under-counts it.
//! - **The kernel's reclaim**: `pgsteal_kswapd + pgsteal_direct`, less
//!   what was moved to DAMON.
//! - **Refaults**: `workingset_refault_*` counts every refault of an
//!   evicted page whose shadow entry was still there;
//!   `workingset_activate_*` the ones whose refault distance showed they
//!   belonged to the workingset (they are activated at once: they should
//!   have stayed); `workingset_restore_*` the ones that were active, in the
//!   workingset, when evicted. Each is a subset of the one before. A cold
//!   refault weighs [`COLD_WEIGHT`], an activated one [`ACTIVATE_WEIGHT`]
//!   and a restored one [`RESTORE_WEIGHT`]; anonymous ones weigh
//!   [`ANON_FACTOR`] times a file one, as DAMA weighs them.
//! - **Quota-bound**: DAMON counts a window that ended with its charge at
//!   the effective quota in `qt_exceeds`; the period is quota-bound if
//!   that grew in it, or if the current window is already charged in
//!   full.

use super::min_age::Period;

/// Weight of a refault that was not activated.
pub const COLD_WEIGHT: u64 = 1;
/// Weight of an activated refault (refault distance within the
/// workingset), not restored.
pub const ACTIVATE_WEIGHT: u64 = 4;
/// Weight of a restored refault (active, in the workingset, when evicted).
pub const RESTORE_WEIGHT: u64 = 8;
/// How many times an anonymous refault weighs a file one.
pub const ANON_FACTOR: u64 = 3;

/// Refault counters of one kind (anonymous or file), cumulative.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Refaults {
    /// `workingset_refault_*`.
    pub refault: u64,
    /// `workingset_activate_*`.
    pub activate: u64,
    /// `workingset_restore_*`.
    pub restore: u64,
}

impl Refaults {
    /// What happened between `last` and `self` (counters may wrap).
    fn delta(&self, last: &Self) -> Self {
        Self {
            refault: self.refault.wrapping_sub(last.refault),
            activate: self.activate.wrapping_sub(last.activate),
            restore: self.restore.wrapping_sub(last.restore),
        }
    }

    /// The weighted sum of a delta. The three are read one after the
    /// other, so a subset can read larger than its superset: each is
    /// clamped to the one above.
    fn weighted(&self) -> u64 {
        let activate = self.activate.min(self.refault);
        let restore = self.restore.min(activate);
        (self.refault - activate)
            .saturating_mul(COLD_WEIGHT)
            .saturating_add((activate - restore).saturating_mul(ACTIVATE_WEIGHT))
            .saturating_add(restore.saturating_mul(RESTORE_WEIGHT))
    }
}

/// The counters read at the end of a period, cumulative (they may wrap
/// around), in pages unless said otherwise.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sample {
    /// Pages DAMON's scheme freed (`sz_applied` / page size).
    pub damon_applied: u64,
    /// Pages of the regions DAMON's scheme was tried on (`sz_tried` /
    /// page size).
    pub damon_tried: u64,
    /// Quota windows that ended charged in full (`qt_exceeds`).
    pub quota_exceeds: u64,
    /// Whether the current quota window is charged in full already.
    pub quota_full: bool,
    /// `pgsteal_kswapd`.
    pub pgsteal_kswapd: u64,
    /// `pgsteal_direct`.
    pub pgsteal_direct: u64,
    /// `pgrotated`.
    pub pgrotated: u64,
    /// Anonymous refaults.
    pub anon: Refaults,
    /// File refaults.
    pub file: Refaults,
}

impl Sample {
    /// The raw counters the controller read before this file existed
    /// (and DAMA reads): DAMON's freed pages, the kernel's steal, the
    /// refaults.
    pub fn counters(&self) -> super::min_age::Counters {
        super::min_age::Counters {
            damon_reclaimed: self.damon_applied,
            pgsteal_kswapd: self.pgsteal_kswapd,
            pgsteal_direct: self.pgsteal_direct,
            refault_anon: self.anon.refault,
            refault_file: self.file.refault,
        }
    }
}

/// Turns samples into periods.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Signals {
    last: Option<Sample>,
}

impl Signals {
    /// The period that ended with `now`; `None` for the first sample.
    pub fn period(&mut self, now: Sample) -> Option<Period> {
        let last = self.last.replace(now)?;
        let applied = now.damon_applied.wrapping_sub(last.damon_applied);
        let tried = now.damon_tried.wrapping_sub(last.damon_tried);
        let kswapd = now.pgsteal_kswapd.wrapping_sub(last.pgsteal_kswapd);
        let direct = now.pgsteal_direct.wrapping_sub(last.pgsteal_direct);
        let rotated = now.pgrotated.wrapping_sub(last.pgrotated);
        // DAMON's writeback freed by kswapd, at most.
        let written = tried.saturating_sub(applied).min(rotated).min(kswapd);
        let anon = now.anon.delta(&last.anon).weighted();
        let file = now.file.delta(&last.file).weighted();
        Some(Period {
            damon: applied.saturating_add(written),
            system: (kswapd - written).saturating_add(direct),
            refault: anon.saturating_mul(ANON_FACTOR).saturating_add(file),
            quota_bound: now.quota_exceeds != last.quota_exceeds || now.quota_full,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Sample {
        Sample::default()
    }

    #[test]
    fn first_sample_is_no_period() {
        let mut s = Signals::default();
        assert_eq!(s.period(sample()), None);
        assert_eq!(s.period(sample()), Some(Period::default()));
    }

    #[test]
    fn damon_writeback_is_damons() {
        let mut s = Signals::default();
        s.period(sample());
        // DAMON tried 1000 pages and freed 100; 700 were rotated after
        // writeback and kswapd stole 900: 700 of those were DAMON's.
        let p = s
            .period(Sample {
                damon_applied: 100,
                damon_tried: 1000,
                pgrotated: 700,
                pgsteal_kswapd: 900,
                pgsteal_direct: 50,
                ..sample()
            })
            .unwrap();
        assert_eq!((p.damon, p.system), (800, 250));
        // Nothing rotated: nothing moves, whatever DAMON tried.
        let mut s = Signals::default();
        s.period(sample());
        let p = s
            .period(Sample {
                damon_applied: 100,
                damon_tried: 1000,
                pgsteal_kswapd: 900,
                ..sample()
            })
            .unwrap();
        assert_eq!((p.damon, p.system), (100, 900));
        // DAMON freed all it tried: rotations are kswapd's own.
        let mut s = Signals::default();
        s.period(sample());
        let p = s
            .period(Sample {
                damon_applied: 1000,
                damon_tried: 1000,
                pgrotated: 500,
                pgsteal_kswapd: 900,
                ..sample()
            })
            .unwrap();
        assert_eq!((p.damon, p.system), (1000, 900));
        // Never more than kswapd stole.
        let mut s = Signals::default();
        s.period(sample());
        let p = s
            .period(Sample {
                damon_tried: 1000,
                pgrotated: 1000,
                pgsteal_kswapd: 30,
                ..sample()
            })
            .unwrap();
        assert_eq!((p.damon, p.system), (30, 0));
    }

    #[test]
    fn workingset_refaults_weigh_more() {
        let mut s = Signals::default();
        s.period(sample());
        let cold = Refaults {
            refault: 100,
            ..Refaults::default()
        };
        let p = s
            .period(Sample {
                file: cold,
                ..sample()
            })
            .unwrap();
        assert_eq!(p.refault, 100);
        // The same number, all activated, 40 of them restored.
        let mut s = Signals::default();
        s.period(sample());
        let hot = Refaults {
            refault: 100,
            activate: 100,
            restore: 40,
        };
        let p = s
            .period(Sample {
                file: hot,
                ..sample()
            })
            .unwrap();
        assert_eq!(p.refault, 60 * ACTIVATE_WEIGHT + 40 * RESTORE_WEIGHT);
        // Anonymous ones weigh three times more.
        let mut s = Signals::default();
        s.period(sample());
        let p = s
            .period(Sample {
                anon: cold,
                ..sample()
            })
            .unwrap();
        assert_eq!(p.refault, 300);
        // Subsets read larger than their superset are clamped.
        let mut s = Signals::default();
        s.period(sample());
        let p = s
            .period(Sample {
                file: Refaults {
                    refault: 10,
                    activate: 20,
                    restore: 30,
                },
                ..sample()
            })
            .unwrap();
        assert_eq!(p.refault, 10 * RESTORE_WEIGHT);
    }

    #[test]
    fn quota_bound_from_exceeds_or_full_window() {
        let mut s = Signals::default();
        s.period(sample());
        assert!(!s.period(sample()).unwrap().quota_bound);
        let p = s.period(Sample {
            quota_exceeds: 1,
            ..sample()
        });
        assert!(p.unwrap().quota_bound);
        // The same count again: not bound, unless the window is full.
        let p = s.period(Sample {
            quota_exceeds: 1,
            ..sample()
        });
        assert!(!p.unwrap().quota_bound);
        let p = s.period(Sample {
            quota_exceeds: 1,
            quota_full: true,
            ..sample()
        });
        assert!(p.unwrap().quota_bound);
    }

    #[test]
    fn wrap_around_and_extremes() {
        let mut s = Signals::default();
        let near = Sample {
            damon_applied: u64::MAX - 1,
            damon_tried: u64::MAX,
            quota_exceeds: u64::MAX,
            pgsteal_kswapd: u64::MAX - 3,
            pgsteal_direct: u64::MAX,
            pgrotated: u64::MAX,
            anon: Refaults {
                refault: u64::MAX,
                activate: u64::MAX,
                restore: u64::MAX,
            },
            ..sample()
        };
        s.period(near);
        let p = s
            .period(Sample {
                damon_applied: 3,
                damon_tried: 9,
                quota_exceeds: u64::MAX,
                pgsteal_kswapd: 6,
                pgsteal_direct: 1,
                pgrotated: 4,
                anon: Refaults {
                    refault: 1,
                    activate: 0,
                    restore: 0,
                },
                ..sample()
            })
            .unwrap();
        // applied 5, tried 10, rotated 5, kswapd 10: 5 moved.
        assert_eq!((p.damon, p.system), (10, 7));
        // refault 2, activate 1, restore 1: one cold, one restored.
        assert_eq!(p.refault, (COLD_WEIGHT + RESTORE_WEIGHT) * ANON_FACTOR);
        assert!(!p.quota_bound);
        // Counters read lower than before: deltas near 2^64, saturated.
        let p = s.period(sample()).unwrap();
        assert!(p.damon >= u64::MAX / 2);
        assert_eq!(p.refault, u64::MAX);
    }
}
