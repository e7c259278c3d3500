// SPDX-License-Identifier: GPL-2.0

//! Synthetic workloads for the `min_age` controller: the counters a
//! workload produces, period by period, for the `min_age` in effect. The
//! host tests and the KUnit suite drive the controller with them.

use super::min_age::{Counters, MinAgeTuner};
use super::min_age_signals::Sample;

/// A workload, one period at a time.
///
/// - `cold` pages become cold every period and never come back: DAMON
///   takes them whatever `min_age` is.
/// - A working set of `ws` pages is used, then left idle for `idle_us`,
///   again and again. DAMON evicts it when `min_age` is shorter than that,
///   and it all refaults when used again. When `short` (memory cannot hold
///   it) and DAMON leaves it, the kernel's reclaim evicts it instead, and
///   it refaults all the same.
/// - The kernel's reclaim steals another `system` pages per period,
///   `system_refault` of which come back.
#[derive(Clone, Copy, Debug, Default)]
pub struct Workload {
    /// Pages that become cold per period.
    pub cold: u64,
    /// Pages of the working set evicted per period, if they are.
    pub ws: u64,
    /// How long the working set stays idle between uses, µs.
    pub idle_us: u64,
    /// Whether memory is too small for the working set.
    pub short: bool,
    /// Pages the kernel's reclaim steals per period anyway.
    pub system: u64,
    /// How many of those refault.
    pub system_refault: u64,
    /// The cumulative counters so far.
    pub counters: Counters,
    /// Pages DAMON may reclaim per period (its quota; 0: no quota).
    /// DAMON spends it on the working set and the cold pages in
    /// proportion; the kernel's reclaim takes the cold pages it leaves.
    pub quota: u64,
    /// Percent of DAMON's pageouts that are kept under writeback and freed
    /// by kswapd later (an asynchronous swap device).
    pub writeback_pct: u64,
    /// The cumulative counters of [`Workload::sample`] so far.
    pub sample: Sample,
}

impl Workload {
    /// One period under `min_age_us`: the counters at its end.
    pub fn step(&mut self, min_age_us: u64) -> Counters {
        let c = &mut self.counters;
        c.damon_reclaimed = c.damon_reclaimed.wrapping_add(self.cold);
        if min_age_us < self.idle_us {
            c.damon_reclaimed = c.damon_reclaimed.wrapping_add(self.ws);
            c.refault_anon = c.refault_anon.wrapping_add(self.ws);
        } else if self.short {
            c.pgsteal_kswapd = c.pgsteal_kswapd.wrapping_add(self.ws);
            c.refault_anon = c.refault_anon.wrapping_add(self.ws);
        }
        c.pgsteal_kswapd = c.pgsteal_kswapd.wrapping_add(self.system);
        c.refault_file = c.refault_file.wrapping_add(self.system_refault);
        *c
    }
}

impl Workload {
    /// One period under `min_age_us`, as [`Workload::step`] but with the
    /// counters [`super::min_age_signals`] reads. The working set's
    /// refaults are activated when memory holds it (their refault
    /// distance is within it: it should have stayed); in memory too small
    /// for it (`short`) they are cold whoever evicted it, as are the
    /// kernel's other refaults.
    pub fn sample(&mut self, min_age_us: u64) -> Sample {
        let ws_damon = if min_age_us < self.idle_us {
            self.ws
        } else {
            0
        };
        let wanted = self.cold.saturating_add(ws_damon);
        let (cold, ws) = if self.quota > 0 && wanted > self.quota {
            let ws = super::math::mul_div(ws_damon, self.quota, wanted);
            (self.quota - ws, ws)
        } else {
            (self.cold, ws_damon)
        };
        let damon = cold + ws;
        let kept = super::math::mul_div(damon, self.writeback_pct.min(100), 100);
        let mut kswapd = self
            .system
            .saturating_add(self.cold - cold)
            .saturating_add(kept);
        let c = &mut self.sample;
        if ws_damon == 0 && self.short {
            kswapd = kswapd.saturating_add(self.ws);
            c.anon.refault = c.anon.refault.wrapping_add(self.ws);
        }
        c.damon_tried = c.damon_tried.wrapping_add(damon);
        c.damon_applied = c.damon_applied.wrapping_add(damon - kept);
        c.pgrotated = c.pgrotated.wrapping_add(kept);
        c.pgsteal_kswapd = c.pgsteal_kswapd.wrapping_add(kswapd);
        c.quota_exceeds = c
            .quota_exceeds
            .wrapping_add(u64::from(self.quota > 0 && wanted >= self.quota));
        c.anon.refault = c.anon.refault.wrapping_add(ws);
        if !self.short {
            c.anon.activate = c.anon.activate.wrapping_add(ws);
        }
        c.file.refault = c.file.refault.wrapping_add(self.system_refault);
        *c
    }
}

/// Runs `w` for `periods` periods from `min_age_us`: each period's
/// sample goes to `update`, which returns the `min_age` for the next one;
/// `each` is called with it. Returns the last `min_age`.
pub fn drive(
    w: &mut Workload,
    periods: usize,
    mut min_age_us: u64,
    mut update: impl FnMut(Sample) -> u64,
    mut each: impl FnMut(u64),
) -> u64 {
    for _ in 0..periods {
        min_age_us = update(w.sample(min_age_us));
        each(min_age_us);
    }
    min_age_us
}

/// Runs `t` on `w` for `periods` periods, calling `each` with the
/// `min_age` after every period.
pub fn run(t: &mut MinAgeTuner, w: &mut Workload, periods: usize, mut each: impl FnMut(u64)) {
    for _ in 0..periods {
        let c = w.step(t.current_us());
        t.update(c);
        each(t.current_us());
    }
}

/// Runs `periods` periods and counts how many ended with `min_age` at
/// least `threshold_us`.
pub fn periods_at_least(
    t: &mut MinAgeTuner,
    w: &mut Workload,
    periods: usize,
    threshold_us: u64,
) -> usize {
    let mut n = 0;
    run(t, w, periods, |v| n += usize::from(v >= threshold_us));
    n
}

/// A xorshift generator, for noisy inputs.
#[derive(Clone, Copy, Debug)]
pub struct Noise(pub u64);

impl Noise {
    /// The next pseudo-random value.
    pub fn next_value(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Feeds `periods` periods of noise around the deadband (DAMON reclaim
/// 500-999 pages, 0-117 weighted refaults: 0-23 % of it, some system reclaim) and
/// returns how many times the direction of change reversed.
pub fn direction_changes_under_noise(t: &mut MinAgeTuner, seed: u64, periods: usize) -> usize {
    use super::min_age::Decision;
    let mut noise = Noise(seed.max(1));
    let mut c = Counters::default();
    let mut last = Decision::Hold;
    let mut flips = 0;
    for _ in 0..periods {
        let n = noise.next_value();
        c.damon_reclaimed += 500 + n % 500;
        c.refault_anon += n % 40;
        c.pgsteal_kswapd += (n >> 20) % 100;
        let d = t.update(c);
        if d != Decision::Hold {
            if last != Decision::Hold && d != last {
                flips += 1;
            }
            last = d;
        }
    }
    flips
}
