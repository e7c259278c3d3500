// SPDX-License-Identifier: GPL-2.0

//! DAMA's `min_age` controller, as the DAMA RFC describes it (linux-mm,
//! "[RFC] dama: userspace DAMON_RECLAIM min_age autotuner", its
//! "Algorithm" section), so that it can run in the kernel beside this
//! module's own and be compared with it on the same workload.
//!
//! 1. **Accumulation and decay.** Every period the deltas of DAMON's
//!    reclaim, of the kernel's (kswapd + direct) and of the refaults
//!    (anonymous weighted [`ANON_WEIGHT`], file 1) are added to two
//!    "remaining" credits (DAMON's, the kernel's) and to long-lived
//!    metrics that decay by [`DECAY_NUM`]/[`DECAY_DEN`] every period.
//! 2. **Threshold gating.** An increase is considered when DAMON's credit
//!    reached [`DAMON_THRESHOLD`] and DAMON reclaimed in this period; a
//!    decrease when the kernel's reached [`PGSTEAL_THRESHOLD`] and the
//!    kernel reclaimed in this period. The opposite credit is then cut to
//!    [`NOT_WORKING_NUM`]/[`NOT_WORKING_DEN`] of itself (hysteresis), and
//!    the one used is spent.
//! 3. **Decision.** Up if refaults in percent of DAMON's reclaim exceed
//!    [`INCREASE_THRESHOLD`], by a step proportional to the excess; down
//!    if refaults in percent of the kernel's reclaim are below
//!    [`DECREASE_THRESHOLD`], by a step proportional to the shortfall.
//!    After an adjustment the refault metric is zeroed.
//!
//! The RFC gives no values for its constants; the ones here are this
//! file's choice, in pages per period and percent, and documented as such
//! in the admin guide.

use super::min_age::{Bounds, Counters, Decision};

/// Weight of an anonymous refault against a file one (3:1).
pub const ANON_WEIGHT: u64 = super::min_age::ANON_REFAULT_WEIGHT;
/// DAMON's credit, in pages, needed to consider an increase.
pub const DAMON_THRESHOLD: u64 = 512;
/// The kernel's credit, in pages, needed to consider a decrease.
pub const PGSTEAL_THRESHOLD: u64 = 512;
/// Refaults in percent of DAMON's reclaim above which `min_age` rises.
pub const INCREASE_THRESHOLD: u64 = 10;
/// Refaults in percent of the kernel's reclaim below which `min_age`
/// falls.
pub const DECREASE_THRESHOLD: u64 = 10;
/// Decay of the metrics per period: times `DECAY_NUM / DECAY_DEN`.
pub const DECAY_NUM: u64 = 7;
/// See [`DECAY_NUM`].
pub const DECAY_DEN: u64 = 8;
/// The opposite credit is multiplied by `NOT_WORKING_NUM /
/// NOT_WORKING_DEN` when a threshold is met.
pub const NOT_WORKING_NUM: u64 = 1;
/// See [`NOT_WORKING_NUM`].
pub const NOT_WORKING_DEN: u64 = 8;

/// `x * num / den`, saturating.
fn scale(x: u64, num: u64, den: u64) -> u64 {
    super::math::mul_div(x, num, den.max(1))
}

/// DAMA's controller state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DamaTuner {
    bounds: Bounds,
    current_us: u64,
    last: Option<Counters>,
    damon_remaining: u64,
    pgsteal_remaining: u64,
    /// Decaying metrics, in pages.
    damon: u64,
    system: u64,
    refault: u64,
    increases: u64,
    decreases: u64,
}

impl DamaTuner {
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
            last: None,
            damon_remaining: 0,
            pgsteal_remaining: 0,
            damon: 0,
            system: 0,
            refault: 0,
            increases: 0,
            decreases: 0,
        }
    }

    /// New bounds, keeping the credits and metrics; the current value is
    /// clamped into them.
    pub fn set_bounds(&mut self, bounds: Bounds) {
        let fresh = Self::new(bounds, self.current_us);
        self.bounds = fresh.bounds;
        self.current_us = fresh.current_us;
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
        let (d, s, r) = now.since(&last);

        // 1. Accumulation and decay.
        self.damon_remaining = self.damon_remaining.saturating_add(d);
        self.pgsteal_remaining = self.pgsteal_remaining.saturating_add(s);
        self.damon = scale(self.damon, DECAY_NUM, DECAY_DEN).saturating_add(d);
        self.system = scale(self.system, DECAY_NUM, DECAY_DEN).saturating_add(s);
        self.refault = scale(self.refault, DECAY_NUM, DECAY_DEN).saturating_add(r);

        // 2. Threshold gating, 3. decision.
        if self.damon_remaining >= DAMON_THRESHOLD && d > 0 {
            self.pgsteal_remaining =
                scale(self.pgsteal_remaining, NOT_WORKING_NUM, NOT_WORKING_DEN);
            self.damon_remaining = 0;
            let pct = scale(self.refault, 100, self.damon);
            if pct > INCREASE_THRESHOLD {
                // +10 % to +100 %, the more the excess the more.
                let step = (pct - INCREASE_THRESHOLD).clamp(10, 100);
                return self.set(scale(self.current_us.max(1), 100 + step, 100));
            }
        } else if self.pgsteal_remaining >= PGSTEAL_THRESHOLD && s > 0 {
            self.damon_remaining = scale(self.damon_remaining, NOT_WORKING_NUM, NOT_WORKING_DEN);
            self.pgsteal_remaining = 0;
            let pct = scale(self.refault, 100, self.system);
            if pct < DECREASE_THRESHOLD {
                // -10 % to -50 %, the fewer the refaults the more.
                let step = (DECREASE_THRESHOLD - pct).saturating_mul(5).clamp(10, 50);
                return self.set(scale(self.current_us, 100 - step, 100));
            }
        }
        Decision::Hold
    }

    /// Moves to `next_us` (clamped), zeroing the refault metric.
    fn set(&mut self, next_us: u64) -> Decision {
        let next = next_us.clamp(self.bounds.min_us, self.bounds.max_us);
        self.refault = 0;
        let decision = match next.cmp(&self.current_us) {
            core::cmp::Ordering::Greater => {
                self.increases += 1;
                Decision::Increase
            }
            core::cmp::Ordering::Less => {
                self.decreases += 1;
                Decision::Decrease
            }
            core::cmp::Ordering::Equal => Decision::Hold,
        };
        self.current_us = next;
        decision
    }
}
