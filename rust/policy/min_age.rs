// SPDX-License-Identifier: GPL-2.0

//! The `min_age` controller: DAMA's job (a user-space tuner of
//! DAMON_RECLAIM's `min_age`), done in the kernel.
//!
//! Every period it reads how many pages DAMON reclaimed, how many the
//! kernel's own reclaim (kswapd and direct) stole, and how many were
//! refaulted (anon weighted 3, file 1, as DAMA does), smooths them, and
//! decides:
//! - **down** when the kernel's reclaim does most of the work: memory is
//!   short and DAMON, which knows what is cold, should take that work
//!   over. The refaults seen meanwhile are the *baseline*: what
//!   refaulting the workload does whoever reclaims.
//! - **up** when DAMON does a fair share of the reclaim and the refaults
//!   exceed that baseline by a margin: DAMON evicts memory that is still
//!   in use and that memory could have stayed. The `min_age` that caused
//!   it becomes a learned floor.
//! - **down** too when DAMON reclaims with refaults near the baseline:
//!   cold memory is there to take, but never below the learned floor
//!   (with a margin).
//!
//! - **never down** while DAMON is quota-bound (its scheme charged its
//!   whole quota): DAMON cannot take more work whatever `min_age` is, so
//!   a lower one would only make it evict younger memory. Nothing is
//!   learned then from who did the reclaim either. Up stays possible:
//!   refaults above the baseline still say DAMON evicts memory in use.
//!
//! [`MinAgeTuner::step`] takes these values already attributed and
//! weighted (see [`super::min_age_signals`]); [`MinAgeTuner::update`] is
//! the controller fed with the raw counters, as it ran before: it never
//! knows of a quota.
//!
//! DAMA raises `min_age` whenever refaults follow DAMON's reclaim. When
//! memory is too small for the working set, refaults follow whatever
//! reclaims, and DAMA's rule leaves the work to kswapd and direct
//! reclaim; the baseline is what lets this controller tell the two cases
//! apart. The floor and the baseline fade slowly, so a workload that
//! changes is followed. A decision needs the same signal for several
//! periods in a row (more to go down than up), and a deadband between the
//! thresholds holds the value, so noise does not make it oscillate.

/// The counters the controller reads, cumulative (as the kernel keeps them;
/// they may wrap around).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Pages DAMON reclaimed.
    pub damon_reclaimed: u64,
    /// Pages stolen by kswapd.
    pub pgsteal_kswapd: u64,
    /// Pages stolen by direct reclaim.
    pub pgsteal_direct: u64,
    /// Anonymous pages refaulted.
    pub refault_anon: u64,
    /// File pages refaulted.
    pub refault_file: u64,
}

impl Counters {
    /// What happened since `last` (the counters may wrap around): pages
    /// DAMON reclaimed, pages the kernel reclaimed (kswapd and direct) and
    /// refaults, anonymous ones weighted 3 to file ones' 1 (DAMA's ratio).
    pub fn since(&self, last: &Counters) -> (u64, u64, u64) {
        let damon = self.damon_reclaimed.wrapping_sub(last.damon_reclaimed);
        let system = self
            .pgsteal_kswapd
            .wrapping_sub(last.pgsteal_kswapd)
            .saturating_add(self.pgsteal_direct.wrapping_sub(last.pgsteal_direct));
        let refault = self
            .refault_anon
            .wrapping_sub(last.refault_anon)
            .saturating_mul(ANON_REFAULT_WEIGHT)
            .saturating_add(self.refault_file.wrapping_sub(last.refault_file));
        (damon, system, refault)
    }
}

/// How many file refaults one anonymous refault counts for.
pub const ANON_REFAULT_WEIGHT: u64 = 3;

/// What happened in one period, the controller's input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Period {
    /// Pages DAMON reclaimed.
    pub damon: u64,
    /// Pages the kernel's own reclaim (kswapd and direct) stole.
    pub system: u64,
    /// Weighted refaults.
    pub refault: u64,
    /// Whether DAMON's scheme used its whole quota: it could not have
    /// reclaimed more whatever `min_age` was.
    pub quota_bound: bool,
}

/// Bounds of the controller, in µs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// The lowest `min_age`.
    pub min_us: u64,
    /// The highest `min_age`.
    pub max_us: u64,
}

impl Bounds {
    /// Whether the bounds are usable: a non-empty range.
    pub fn is_valid(&self) -> bool {
        self.min_us <= self.max_us
    }
}

/// What the controller did in a period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Kept `min_age`.
    Hold,
    /// Raised `min_age`.
    Increase,
    /// Lowered `min_age`.
    Decrease,
}

/// Refaults above the baseline by this many percent of the reclaim (and
/// half the baseline again) push `min_age` up.
pub const UP_PCT: u64 = 20;
/// Refaults within this many percent of the reclaim above the baseline
/// (and an eighth of the baseline) let `min_age` go down.
pub const DOWN_PCT: u64 = 5;
/// Periods of the same signal needed to go up.
pub const UP_STREAK: u32 = 2;
/// Periods of the same signal needed to go down.
pub const DOWN_STREAK: u32 = 3;
/// Smoothed reclaim (pages per period) below which nothing is decided.
pub const MIN_ACTIVITY: u64 = 16;
/// Fixed-point scale of the smoothed values.
const FP: u64 = 16;

/// The controller's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MinAgeTuner {
    bounds: Bounds,
    current_us: u64,
    /// The highest `min_age` that was seen to cause avoidable refaults,
    /// fading.
    floor_us: u64,
    /// Refaults in percent of the reclaim while the kernel's reclaim did
    /// the work, times `FP`, fading.
    baseline_pct: u64,
    last: Option<Counters>,
    /// Smoothed per-period values, times `FP`.
    damon: u64,
    system: u64,
    refault: u64,
    /// Consecutive periods with the up (positive) or down (negative)
    /// signal.
    streak: i32,
    increases: u64,
    decreases: u64,
}

/// `x * num / den`, saturating, with a zero `den` giving `x * num`.
fn scale(x: u64, num: u64, den: u64) -> u64 {
    super::math::mul_div(x, num, den.max(1))
}

/// Exponential smoothing with weight 1/4 for the new value (already
/// times `FP`).
fn smooth(old: u64, new_fp: u64) -> u64 {
    old - old / 4 + new_fp / 4
}

impl MinAgeTuner {
    /// A controller starting at `start_us`, clamped to `bounds` (an
    /// inverted range is read as the single value `max_us`).
    pub fn new(bounds: Bounds, start_us: u64) -> Self {
        let bounds = Bounds {
            min_us: bounds.min_us.min(bounds.max_us),
            max_us: bounds.max_us,
        };
        Self {
            bounds,
            current_us: start_us.clamp(bounds.min_us, bounds.max_us),
            floor_us: 0,
            baseline_pct: 0,
            last: None,
            damon: 0,
            system: 0,
            refault: 0,
            streak: 0,
            increases: 0,
            decreases: 0,
        }
    }

    /// New bounds, keeping what was learned; the current value is clamped
    /// into them.
    pub fn set_bounds(&mut self, bounds: Bounds) {
        let learned = *self;
        *self = Self::new(bounds, self.current_us);
        self.floor_us = learned.floor_us;
        self.baseline_pct = learned.baseline_pct;
        self.last = learned.last;
        self.increases = learned.increases;
        self.decreases = learned.decreases;
    }

    /// The current `min_age`, µs.
    pub fn current_us(&self) -> u64 {
        self.current_us
    }

    /// How many times it went up and down.
    pub fn changes(&self) -> (u64, u64) {
        (self.increases, self.decreases)
    }

    /// One period: the counters as read now. Returns what was decided.
    ///
    /// The counters say nothing of DAMON's quota, nor of which refaults
    /// were of the working set: this is the controller as it ran before
    /// [`super::min_age_signals`] (which feeds [`Self::step`] the
    /// attributed, weighted values and whether DAMON was quota-bound).
    pub fn update(&mut self, now: Counters) -> Decision {
        let Some(last) = self.last.replace(now) else {
            return Decision::Hold;
        };
        let (damon, system, refault) = now.since(&last);
        self.step(Period {
            damon,
            system,
            refault,
            quota_bound: false,
        })
    }

    /// One period, from what happened in it. Returns what was decided.
    pub fn step(&mut self, p: Period) -> Decision {
        let Period {
            damon: d,
            system: s,
            refault: r,
            quota_bound,
        } = p;
        self.damon = smooth(self.damon, d.saturating_mul(FP));
        self.system = smooth(self.system, s.saturating_mul(FP));
        self.refault = smooth(self.refault, r.saturating_mul(FP));

        // What was learned fades: the floor halves in about 90 periods,
        // the baseline in about 350 (then a probe upwards checks whether
        // memory is still short).
        self.floor_us = scale(self.floor_us, 127, 128);
        self.baseline_pct = scale(self.baseline_pct, 511, 512);

        let activity = self.damon.saturating_add(self.system);
        let pct_fp = scale(self.refault, 100 * FP, activity);
        let signal: i32 = if activity < MIN_ACTIVITY * FP {
            0
        } else if self.damon.saturating_mul(4) < activity && quota_bound {
            // The kernel's reclaim does the work, but DAMON already does
            // all its quota lets it: a lower `min_age` cannot give DAMON
            // more work, it would only make DAMON evict younger memory.
            // Nothing is learned from who reclaimed (the refaults may be
            // anybody's), and the floor stays.
            0
        } else if self.damon.saturating_mul(4) < activity {
            // The kernel's reclaim does the work: memory is short. Learn
            // what refaults then, and forget the floor: the refaults that
            // set it were not DAMON's doing.
            self.baseline_pct = self.baseline_pct.max(pct_fp);
            self.floor_us = 0;
            -1
        } else {
            // Saturating: a counter read lower than the last time (or a
            // burst) makes a delta near 2^64, and the percentages with it.
            let base = self.baseline_pct;
            let up = base.saturating_add(base / 2).saturating_add(UP_PCT * FP);
            let down = base.saturating_add(base / 8).saturating_add(DOWN_PCT * FP);
            if pct_fp >= up {
                1
            } else if pct_fp <= down && !quota_bound {
                -1
            } else {
                0
            }
        };
        self.streak = match signal {
            1 => self.streak.max(0) + 1,
            -1 => self.streak.min(0) - 1,
            _ => 0,
        };

        let decision = if self.streak >= UP_STREAK as i32 {
            self.increase(pct_fp.saturating_sub(self.baseline_pct) / FP)
        } else if self.streak <= -(DOWN_STREAK as i32) {
            self.decrease()
        } else {
            return Decision::Hold;
        };
        // The next decision is made on what the new value does, as DAMA
        // zeroes its counters after each adjustment.
        self.streak = 0;
        self.damon = 0;
        self.system = 0;
        self.refault = 0;
        decision
    }

    /// Goes up by ×1.25 to ×2, the more the excess refaults (`excess_pct`)
    /// the more.
    fn increase(&mut self, excess_pct: u64) -> Decision {
        // This value evicted memory in use: remember it.
        self.floor_us = self.floor_us.max(self.current_us);
        let factor = (125 + excess_pct.saturating_sub(UP_PCT)).min(200);
        let next = scale(self.current_us.max(1), factor, 100)
            .clamp(self.bounds.min_us, self.bounds.max_us);
        if next == self.current_us {
            return Decision::Hold;
        }
        self.current_us = next;
        self.increases += 1;
        Decision::Increase
    }

    /// Goes down by ×0.75, not below the floor plus a quarter.
    fn decrease(&mut self) -> Decision {
        let limit = scale(self.floor_us, 5, 4).max(self.bounds.min_us);
        let next = scale(self.current_us, 3, 4).max(limit).min(self.current_us);
        if next == self.current_us {
            return Decision::Hold;
        }
        self.current_us = next;
        self.decreases += 1;
        Decision::Decrease
    }
}

#[cfg(test)]
mod tests {
    use super::super::min_age_model::{
        direction_changes_under_noise, periods_at_least, run, Workload,
    };
    use super::*;

    const SEC: u64 = 1_000_000;
    const BOUNDS: Bounds = Bounds {
        min_us: SEC,
        max_us: 600 * SEC,
    };

    fn cold_only() -> Workload {
        Workload {
            cold: 1000,
            ..Workload::default()
        }
    }

    /// Scenario 1 of the seed: a working set that memory can hold, idle
    /// for `idle_s` between uses.
    fn revisited(idle_s: u64) -> Workload {
        Workload {
            cold: 200,
            ws: 5000,
            idle_us: idle_s * SEC,
            ..Workload::default()
        }
    }

    /// Scenario 2 of the seed: regions revisited after `idle_s`, more of
    /// them than memory holds.
    fn short_memory(idle_s: u64) -> Workload {
        Workload {
            ws: 5000,
            idle_us: idle_s * SEC,
            short: true,
            ..Workload::default()
        }
    }

    #[test]
    fn steady_cold_memory_goes_to_the_floor_and_stays() {
        let mut t = MinAgeTuner::new(BOUNDS, 120 * SEC);
        let mut w = cold_only();
        run(&mut t, &mut w, 150, |_| ());
        assert_eq!(t.current_us(), BOUNDS.min_us);
        run(&mut t, &mut w, 100, |v| assert_eq!(v, BOUNDS.min_us));
    }

    #[test]
    fn working_set_keeps_min_age_above_its_idle_time() {
        for idle_s in [10, 30, 90] {
            let mut t = MinAgeTuner::new(BOUNDS, 5 * SEC);
            let mut w = revisited(idle_s);
            run(&mut t, &mut w, 300, |_| ());
            let mut max = 0;
            let above = periods_at_least(&mut t, &mut w, 300, idle_s * SEC);
            run(&mut t, &mut w, 300, |v| max = max.max(v));
            // Mostly above: rare probes below it as the floor fades.
            assert!(above >= 270, "idle {} s: {} of 300 above", idle_s, above);
            assert!(max <= 4 * idle_s * SEC, "idle {} s: up to {}", idle_s, max);
        }
    }

    #[test]
    fn short_memory_settles_below_the_revisit_period() {
        for idle_s in [15, 45, 90] {
            let mut t = MinAgeTuner::new(BOUNDS, 300 * SEC);
            let mut w = short_memory(idle_s);
            run(&mut t, &mut w, 300, |_| ());
            let above = periods_at_least(&mut t, &mut w, 300, idle_s * SEC);
            assert!(above <= 30, "idle {} s: {} of 300 above", idle_s, above);
            let (up, down) = t.changes();
            assert!(down > up, "{} up, {} down", up, down);
        }
    }

    #[test]
    fn follows_phase_changes() {
        let mut t = MinAgeTuner::new(BOUNDS, 5 * SEC);
        let mut w = revisited(60);
        run(&mut t, &mut w, 300, |_| ());
        assert!(t.current_us() >= 60 * SEC);
        // The working set goes away: only cold memory is left.
        w.ws = 0;
        run(&mut t, &mut w, 400, |_| ());
        assert!(t.current_us() < 20 * SEC, "{}", t.current_us());
        // A shorter idle time comes back.
        w = Workload {
            counters: w.counters,
            ..revisited(20)
        };
        run(&mut t, &mut w, 200, |_| ());
        assert!(periods_at_least(&mut t, &mut w, 100, 20 * SEC) >= 90);
        // Memory becomes too small for it: min_age goes below the idle time.
        w.short = true;
        w.cold = 0;
        run(&mut t, &mut w, 300, |_| ());
        assert!(periods_at_least(&mut t, &mut w, 200, 20 * SEC) <= 20);
        // And big enough again: back above it.
        w.short = false;
        run(&mut t, &mut w, 400, |_| ());
        assert!(periods_at_least(&mut t, &mut w, 100, 20 * SEC) >= 90);
    }

    #[test]
    fn system_reclaim_without_refaults_lowers_min_age() {
        let mut t = MinAgeTuner::new(BOUNDS, 120 * SEC);
        let mut w = Workload {
            system: 500,
            system_refault: 5,
            ..Workload::default()
        };
        run(&mut t, &mut w, 100, |_| ());
        assert_eq!(t.current_us(), BOUNDS.min_us);
    }

    #[test]
    fn system_reclaim_with_refaults_never_raises_min_age() {
        // All reclaim is the kernel's, with many refaults: DAMON is not the
        // cause, so min_age never goes up.
        let mut t = MinAgeTuner::new(BOUNDS, 30 * SEC);
        let mut w = Workload {
            system: 1000,
            system_refault: 800,
            ..Workload::default()
        };
        run(&mut t, &mut w, 200, |v| assert!(v <= 30 * SEC));
        assert_eq!(t.changes().0, 0);
    }

    #[test]
    fn noisy_inputs_change_direction_rarely() {
        for seed in [1, 12345, 0xdead_beef] {
            let mut t = MinAgeTuner::new(BOUNDS, 30 * SEC);
            let flips = direction_changes_under_noise(&mut t, seed, 1000);
            assert!(flips <= 20, "seed {}: {} direction changes", seed, flips);
        }
    }

    #[test]
    fn zero_inputs_and_wrap_around() {
        let mut t = MinAgeTuner::new(BOUNDS, 30 * SEC);
        for _ in 0..100 {
            assert_eq!(t.update(Counters::default()), Decision::Hold);
        }
        assert_eq!(t.current_us(), 30 * SEC);
        // Counters about to wrap: the deltas stay small and sane.
        let mut t = MinAgeTuner::new(BOUNDS, 30 * SEC);
        let mut w = Workload {
            counters: Counters {
                damon_reclaimed: u64::MAX - 10,
                pgsteal_kswapd: u64::MAX,
                pgsteal_direct: u64::MAX - 1,
                refault_anon: u64::MAX - 2,
                refault_file: u64::MAX,
            },
            ..cold_only()
        };
        run(&mut t, &mut w, 12, |_| ());
        assert!(t.current_us() < 30 * SEC);
        assert_eq!(t.changes().0, 0);
    }

    /// Deltas as large as u64 allows (a counter read lower than the last
    /// time wraps to almost 2^64): every smoothed value and threshold
    /// saturates, nothing overflows.
    #[test]
    fn extreme_deltas_saturate() {
        let mut t = MinAgeTuner::new(BOUNDS, 30 * SEC);
        let mut c = Counters {
            damon_reclaimed: 0,
            pgsteal_kswapd: 1 << 20,
            pgsteal_direct: 0,
            refault_anon: 1 << 20,
            refault_file: 1 << 20,
        };
        t.update(c);
        for i in 0..40u64 {
            // The kernel's reclaim does the work, and the refault
            // counters step back by one: a delta of 2^64 - 1 each time.
            c.pgsteal_kswapd = c.pgsteal_kswapd.wrapping_add(64);
            c.refault_anon = c.refault_anon.wrapping_sub(1);
            c.refault_file = c.refault_file.wrapping_sub(1);
            t.update(c);
            // Then DAMON does a fair share: the up/down thresholds are
            // computed from the saturated baseline.
            c.damon_reclaimed = c.damon_reclaimed.wrapping_add(1000 + i);
            t.update(c);
        }
        let v = t.current_us();
        assert!((BOUNDS.min_us..=BOUNDS.max_us).contains(&v));
    }

    #[test]
    fn bounds_always_hold() {
        let b = Bounds {
            min_us: 5 * SEC,
            max_us: 50 * SEC,
        };
        let mut t = MinAgeTuner::new(b, 1);
        assert_eq!(t.current_us(), 5 * SEC);
        let mut w = revisited(u64::MAX / SEC);
        run(&mut t, &mut w, 200, |v| {
            assert!((b.min_us..=b.max_us).contains(&v))
        });
        assert_eq!(t.current_us(), 50 * SEC);
        let mut w = cold_only();
        run(&mut t, &mut w, 400, |v| {
            assert!((b.min_us..=b.max_us).contains(&v))
        });
        assert_eq!(t.current_us(), 5 * SEC);
        // Narrowed bounds clamp the current value and keep it there.
        t.set_bounds(Bounds {
            min_us: 7 * SEC,
            max_us: 9 * SEC,
        });
        assert_eq!(t.current_us(), 7 * SEC);
        let t = MinAgeTuner::new(
            Bounds {
                min_us: 9,
                max_us: 3,
            },
            100,
        );
        assert_eq!(t.current_us(), 3);
    }
}
