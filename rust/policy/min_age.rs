// SPDX-License-Identifier: GPL-2.0

//! The `min_age` controller: DAMA's job (a user-space tuner of
//! DAMON_RECLAIM's `min_age`), done in the kernel.
//!
//! Every period it reads how many pages DAMON reclaimed, how many the
//! kernel's own reclaim (kswapd and direct) stole, and how many were
//! refaulted (anon weighted 3, file 1, as DAMA does), smooths them, and
//! decides:
//! - **up** when DAMON does a fair share of the reclaim and the refaults
//!   are a large fraction of what was reclaimed: DAMON evicts memory that
//!   is still in use. The `min_age` that caused it becomes a learned
//!   floor.
//! - **down** when refaults are a small fraction of the reclaim: cold
//!   memory is there to take, so DAMON should take it before kswapd does,
//!   but never below the learned floor (with a margin). The floor decays
//!   slowly, so that a workload whose working set changes is followed.
//!
//! A decision needs the same signal for several periods in a row (more to
//! go down than up), and a deadband between the two thresholds holds the
//! value, so noise does not make it oscillate.

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

/// Bounds and start of the controller, in µs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// The lowest `min_age`.
    pub min_us: u64,
    /// The highest `min_age`.
    pub max_us: u64,
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

/// Refaults above this percentage of the reclaim (with DAMON doing at
/// least a quarter of it) push `min_age` up.
pub const UP_PCT: u64 = 20;
/// Refaults below this percentage of the reclaim let `min_age` go down.
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
    /// The highest `min_age` that was seen to cause refaults, decaying.
    floor_us: u64,
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

/// `x * num / den` for the small factors used here, saturating.
fn scale(x: u64, num: u64, den: u64) -> u64 {
    super::math::mul_div(x, num, den)
}

/// Exponential smoothing with weight 1/4 for the new value.
fn smooth(old: u64, new: u64) -> u64 {
    let new = new.saturating_mul(FP);
    old - old / 4 + new / 4
}

impl MinAgeTuner {
    /// A controller starting at `start_us`, clamped to `bounds`.
    pub fn new(bounds: Bounds, start_us: u64) -> Self {
        let bounds = Bounds {
            min_us: bounds.min_us.min(bounds.max_us),
            max_us: bounds.max_us,
        };
        Self {
            bounds,
            current_us: start_us.clamp(bounds.min_us, bounds.max_us),
            floor_us: 0,
            last: None,
            damon: 0,
            system: 0,
            refault: 0,
            streak: 0,
            increases: 0,
            decreases: 0,
        }
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
    pub fn update(&mut self, now: Counters) -> Decision {
        let Some(last) = self.last.replace(now) else {
            return Decision::Hold;
        };
        // Deltas; counters may wrap around.
        let d = now.damon_reclaimed.wrapping_sub(last.damon_reclaimed);
        let s = now
            .pgsteal_kswapd
            .wrapping_sub(last.pgsteal_kswapd)
            .saturating_add(now.pgsteal_direct.wrapping_sub(last.pgsteal_direct));
        let r = now
            .refault_anon
            .wrapping_sub(last.refault_anon)
            .saturating_mul(3)
            .saturating_add(now.refault_file.wrapping_sub(last.refault_file));
        self.damon = smooth(self.damon, d);
        self.system = smooth(self.system, s);
        self.refault = smooth(self.refault, r);

        // The learned floor fades: about halves in 90 periods.
        self.floor_us = scale(self.floor_us, 127, 128);

        let activity = self.damon.saturating_add(self.system);
        let signal: i32 = if activity < MIN_ACTIVITY * FP {
            0
        } else if self.damon.saturating_mul(4) >= activity
            && scale(self.refault, 100, activity) >= UP_PCT
        {
            1
        } else if scale(self.refault, 100, activity) <= DOWN_PCT {
            -1
        } else {
            0
        };
        self.streak = match signal {
            1 => self.streak.max(0) + 1,
            -1 => self.streak.min(0) - 1,
            _ => 0,
        };

        let decision = if self.streak >= UP_STREAK as i32 {
            self.increase()
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

    fn increase(&mut self) -> Decision {
        // This value evicted memory in use: remember it.
        self.floor_us = self.floor_us.max(self.current_us);
        // The more refaults, the bigger the step: ×1.25 to ×2.
        let pct = scale(
            self.refault,
            100,
            self.damon.saturating_add(self.system).max(1),
        );
        let factor = (125 + pct.saturating_sub(UP_PCT)).min(200);
        let next = scale(self.current_us.max(1), factor, 100)
            .clamp(self.bounds.min_us, self.bounds.max_us);
        if next == self.current_us {
            return Decision::Hold;
        }
        self.current_us = next;
        self.increases += 1;
        Decision::Increase
    }

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
    use super::*;
    use std::vec::Vec;

    const SEC: u64 = 1_000_000;
    const BOUNDS: Bounds = Bounds {
        min_us: SEC,
        max_us: 600 * SEC,
    };

    /// A workload model: `cold` pages become reclaimable every period
    /// (DAMON takes them once they are older than `min_age`), and a working
    /// set of `ws` pages is revisited every `period_us`: DAMON evicts it
    /// when `min_age` is shorter than that, and it all refaults. The
    /// kernel's reclaim steals `system` pages per period whatever DAMON
    /// does (memory pressure), refaulting `system_refault` of them.
    struct Model {
        cold: u64,
        ws: u64,
        period_us: u64,
        system: u64,
        system_refault: u64,
        c: Counters,
    }

    impl Model {
        fn step(&mut self, min_age_us: u64) -> Counters {
            self.c.damon_reclaimed += self.cold;
            if min_age_us < self.period_us {
                self.c.damon_reclaimed += self.ws;
                self.c.refault_anon += self.ws;
            }
            self.c.pgsteal_kswapd += self.system;
            self.c.refault_file += self.system_refault;
            self.c
        }
    }

    fn run(t: &mut MinAgeTuner, m: &mut Model, periods: usize) -> Vec<u64> {
        (0..periods)
            .map(|_| {
                let c = m.step(t.current_us());
                t.update(c);
                t.current_us()
            })
            .collect()
    }

    #[test]
    fn steady_cold_memory_goes_to_the_floor_and_stays() {
        let mut t = MinAgeTuner::new(BOUNDS, 120 * SEC);
        let mut m = Model {
            cold: 1000,
            ws: 0,
            period_us: 0,
            system: 0,
            system_refault: 0,
            c: Counters::default(),
        };
        let trace = run(&mut t, &mut m, 200);
        assert_eq!(*trace.last().unwrap(), BOUNDS.min_us);
        assert!(trace[150..].iter().all(|&v| v == BOUNDS.min_us));
    }

    #[test]
    fn working_set_keeps_min_age_above_its_period() {
        for period_s in [10, 30, 90] {
            let mut t = MinAgeTuner::new(BOUNDS, 5 * SEC);
            let mut m = Model {
                cold: 200,
                ws: 5000,
                period_us: period_s * SEC,
                system: 0,
                system_refault: 0,
                c: Counters::default(),
            };
            let trace = run(&mut t, &mut m, 600);
            let tail = &trace[300..];
            let above = tail.iter().filter(|&&v| v >= period_s * SEC).count();
            // Mostly above the period: rare probes below it as the floor fades.
            assert!(
                above * 10 >= tail.len() * 9,
                "period {} s: {} of {} above: {:?}",
                period_s,
                above,
                tail.len(),
                &tail[..20]
            );
            assert!(
                tail.iter().all(|&v| v <= 4 * period_s * SEC),
                "period {} s: too high",
                period_s
            );
        }
    }

    #[test]
    fn follows_phase_changes() {
        let mut t = MinAgeTuner::new(BOUNDS, 5 * SEC);
        let mut m = Model {
            cold: 200,
            ws: 5000,
            period_us: 60 * SEC,
            system: 0,
            system_refault: 0,
            c: Counters::default(),
        };
        run(&mut t, &mut m, 300);
        assert!(t.current_us() >= 60 * SEC);
        // The working set goes away: only cold memory is left.
        m.ws = 0;
        run(&mut t, &mut m, 400);
        assert!(t.current_us() < 20 * SEC, "{}", t.current_us());
        // A shorter working-set period comes back.
        m.ws = 5000;
        m.period_us = 20 * SEC;
        let trace = run(&mut t, &mut m, 300);
        assert!(trace[200..].iter().filter(|&&v| v >= 20 * SEC).count() >= 90);
    }

    #[test]
    fn system_reclaim_without_refaults_lowers_min_age() {
        let mut t = MinAgeTuner::new(BOUNDS, 120 * SEC);
        let mut m = Model {
            cold: 0,
            ws: 0,
            period_us: 0,
            system: 500,
            system_refault: 5,
            c: Counters::default(),
        };
        run(&mut t, &mut m, 100);
        assert_eq!(t.current_us(), BOUNDS.min_us);
    }

    #[test]
    fn thrashing_under_system_reclaim_does_not_push_min_age_up() {
        // All reclaim is the kernel's, with many refaults: DAMON is not the
        // cause, so min_age stays.
        let mut t = MinAgeTuner::new(BOUNDS, 30 * SEC);
        let mut m = Model {
            cold: 0,
            ws: 0,
            period_us: 0,
            system: 1000,
            system_refault: 800,
            c: Counters::default(),
        };
        run(&mut t, &mut m, 100);
        assert_eq!(t.current_us(), 30 * SEC);
    }

    #[test]
    fn noisy_inputs_change_direction_rarely() {
        let mut t = MinAgeTuner::new(BOUNDS, 30 * SEC);
        let mut c = Counters::default();
        let mut seed: u64 = 12345;
        let mut last_dir = Decision::Hold;
        let mut flips = 0;
        for _ in 0..1000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            c.damon_reclaimed += 500 + seed % 500;
            c.refault_anon += seed % 40; // 0-24% weighted: around the deadband
            c.pgsteal_kswapd += (seed >> 20) % 100;
            let d = t.update(c);
            if d != Decision::Hold {
                if last_dir != Decision::Hold && d != last_dir {
                    flips += 1;
                }
                last_dir = d;
            }
        }
        assert!(flips <= 20, "{} direction changes", flips);
    }

    #[test]
    fn zero_inputs_and_wrap_around() {
        let mut t = MinAgeTuner::new(BOUNDS, 30 * SEC);
        for _ in 0..100 {
            assert_eq!(t.update(Counters::default()), Decision::Hold);
        }
        assert_eq!(t.current_us(), 30 * SEC);
        // Counters near the wrap: deltas stay small and sane.
        let mut t = MinAgeTuner::new(BOUNDS, 30 * SEC);
        let mut c = Counters {
            damon_reclaimed: u64::MAX - 10,
            pgsteal_kswapd: u64::MAX,
            pgsteal_direct: u64::MAX - 1,
            refault_anon: u64::MAX - 2,
            refault_file: u64::MAX,
        };
        t.update(c);
        for _ in 0..10 {
            c.damon_reclaimed = c.damon_reclaimed.wrapping_add(1000);
            c.pgsteal_kswapd = c.pgsteal_kswapd.wrapping_add(1);
            t.update(c);
        }
        assert!(t.current_us() < 30 * SEC);
    }

    #[test]
    fn bounds_always_hold() {
        let b = Bounds {
            min_us: 5 * SEC,
            max_us: 50 * SEC,
        };
        let mut t = MinAgeTuner::new(b, 1);
        assert_eq!(t.current_us(), 5 * SEC);
        let mut m = Model {
            cold: 0,
            ws: 10_000,
            period_us: u64::MAX,
            system: 0,
            system_refault: 0,
            c: Counters::default(),
        };
        for v in run(&mut t, &mut m, 200) {
            assert!((b.min_us..=b.max_us).contains(&v));
        }
        assert_eq!(t.current_us(), 50 * SEC);
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
