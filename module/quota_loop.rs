// SPDX-License-Identifier: GPL-2.0

//! The module's quota-goal loop on one running scheme: once per reset
//! interval, the goal score becomes the scheme's next size quota. Reclaim
//! (`module/reclaim.rs`) and each tiering scheme (`module/tier.rs`) own one;
//! the step itself is the policy layer's ([`GoalLoop`]).

use crate::damon::SchemeMut;
use crate::policy::quota::{Allowance, GoalLoop, Tuner};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// A loop allowance as DAMON's `quota.sz` (0: no limit; 1 byte, smaller
/// than any region: nothing).
pub(crate) fn to_quota_sz(a: Allowance) -> u64 {
    match a {
        Allowance::Unlimited => 0,
        Allowance::Bytes(0) => 1,
        Allowance::Bytes(b) => b,
    }
}

/// The size quota of a scheme's first reset interval: the user's cap when
/// it has no goal, else the loop's first step (for `temporal`, all; for
/// `consist`, the minimum it starts from).
pub(crate) fn initial_quota(tuner: Tuner, cap: u64, has_goal: bool) -> u64 {
    if !has_goal {
        return cap;
    }
    to_quota_sz(GoalLoop::new().step(tuner, 0, cap, None))
}

/// What one step decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Step {
    /// The goal score (`None`: no goal, the quota is the cap).
    pub(crate) score: Option<u64>,
    /// The size quota set for the next interval (DAMON's units).
    pub(crate) quota_sz: u64,
}

/// The loop state of one scheme. Only its kdamond steps it; atomics make it
/// `Sync`.
pub(crate) struct QuotaLoop {
    /// The consist loop's saved input.
    esz_bp: AtomicU64,
    /// Bytes charged to the scheme up to the last step.
    last_charged: AtomicU64,
    next_step_ns: AtomicU64,
    started: AtomicBool,
}

impl QuotaLoop {
    /// A loop that has not stepped yet.
    pub(crate) const fn new() -> Self {
        Self {
            esz_bp: AtomicU64::new(0),
            last_charged: AtomicU64::new(0),
            next_step_ns: AtomicU64::new(0),
            started: AtomicBool::new(false),
        }
    }

    /// Steps if `reset_interval_ms` passed since the last step (at `now_ns`)
    /// and sets the scheme's size quota; `score` gives the goal score, or
    /// `None` when no goal is set (the quota is then `cap`). Returns what it
    /// decided, or `None` if it was not time yet.
    pub(crate) fn tick(
        &self,
        s: &mut SchemeMut<'_>,
        now_ns: u64,
        reset_interval_ms: u64,
        tuner: Tuner,
        cap: u64,
        score: impl FnOnce() -> Option<u64>,
    ) -> Option<Step> {
        let r = Ordering::Relaxed;
        if now_ns < self.next_step_ns.load(r) {
            return None;
        }
        // Saturating: the interval is bounded (one day, `interval_ms`), the
        // clock is not ours.
        self.next_step_ns.store(
            now_ns.saturating_add(reset_interval_ms.saturating_mul(1_000_000)),
            r,
        );
        let q = s.as_ref().quota_state();
        let charged = q.total_charged_sz.wrapping_add(q.charged_sz);
        let used = charged.wrapping_sub(self.last_charged.swap(charged, r));
        let score = score();
        let quota_sz = match score {
            None => cap,
            Some(score) => {
                let mut l = GoalLoop::new();
                l.restore(self.esz_bp.load(r));
                let a = l.step(tuner, score, cap, Some(used));
                self.esz_bp.store(l.saved(), r);
                to_quota_sz(a)
            }
        };
        s.set_quota_sz(quota_sz);
        // The core picks `quota_sz` up at its next charge window, except in
        // two cases where the module sets the effective quota itself: 6.12
        // leaves the first window unlimited (esz 0), and with no time quota
        // and an unlimited size quota it stops opening windows at all, so a
        // new limit would never be applied.
        let first = !self.started.swap(true, r);
        if first || s.as_ref().quota().ms == 0 {
            s.set_effective_quota(quota_sz);
        }
        Some(Step { score, quota_sz })
    }
}
