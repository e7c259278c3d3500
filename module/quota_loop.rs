// SPDX-License-Identifier: GPL-2.0

//! The module's quota-goal loop on one running scheme: once per reset
//! interval, the goal score becomes the scheme's next size quota. Reclaim
//! (`module/reclaim.rs`) and each tiering scheme (`module/tier.rs`) own one;
//! the step itself is the policy layer's ([`GoalLoop`]).

use crate::damon::SchemeMut;
use crate::policy::quota::{Allowance, DeficitLoop, DeficitStep, GoalLoop, Tuner, Window};
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
    to_quota_sz(GoalLoop::new().step(tuner, 0, cap))
}

/// What one step decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Step {
    /// The goal score (`None`: no goal, the quota is the cap).
    pub(crate) score: Option<u64>,
    /// The size quota set for the next interval (DAMON's units).
    pub(crate) quota_sz: u64,
    /// Whether the step also set the current window's effective quota to
    /// `quota_sz` (rather than leaving it to the core's next window).
    pub(crate) esz_set: bool,
}

/// The loop state of one scheme. Only its kdamond steps it; atomics make it
/// `Sync`.
pub(crate) struct QuotaLoop {
    /// The consist loop's saved input.
    esz_bp: AtomicU64,
    next_step_ns: AtomicU64,
    started: AtomicBool,
}

impl QuotaLoop {
    /// A loop that has not stepped yet.
    pub(crate) const fn new() -> Self {
        Self {
            esz_bp: AtomicU64::new(0),
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
        let score = score();
        let quota_sz = match score {
            None => cap,
            Some(score) => {
                let mut l = GoalLoop::new();
                l.restore(self.esz_bp.load(r));
                let a = l.step(tuner, score, cap);
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
        let esz_set = first || s.as_ref().quota().ms == 0;
        if esz_set {
            s.set_effective_quota(quota_sz);
        }
        Some(Step {
            score,
            quota_sz,
            esz_set,
        })
    }
}

/// The deficit controller's state on one running scheme. It steps once
/// per charge window of the core, at the first aggregation of each (the
/// core opened it in the walk just before), so that each step sees one
/// whole window's reclaim and its quota applies to the window it is
/// decided in. Only its kdamond steps it; atomics make it `Sync`.
pub(crate) struct DeficitTick {
    alloc_est: AtomicU64,
    last_free: AtomicU64,
    last_quota: AtomicU64,
    last_applied: AtomicU64,
    window: AtomicU64,
    started: AtomicBool,
}

/// What a deficit step decided, and the effective quota it set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DeficitDecision {
    /// The controller's step.
    pub(crate) step: DeficitStep,
    /// The effective quota of the current window it set (DAMON's units).
    pub(crate) esz: u64,
}

impl DeficitTick {
    /// A controller that has not stepped yet.
    pub(crate) const fn new() -> Self {
        Self {
            alloc_est: AtomicU64::new(0),
            last_free: AtomicU64::new(0),
            last_quota: AtomicU64::new(0),
            last_applied: AtomicU64::new(0),
            window: AtomicU64::new(0),
            started: AtomicBool::new(false),
        }
    }

    /// Steps if the core opened a new charge window since the last step:
    /// `free` and `goal` are the node's free memory and the goal's, `total`
    /// the node's memory, in bytes, `cap` the user's size quota (0: none).
    /// Sets the scheme's size quota and, with no time quota (or in 6.12's
    /// unlimited first window), the current window's effective quota; with
    /// a time quota the core's time cap stays in force (the step can only
    /// lower this window's quota, and the core applies the new size quota
    /// from its next window): a goal does not exceed the time quota, and
    /// `saturated` says when the cap binds.
    pub(crate) fn tick(
        &self,
        s: &mut SchemeMut<'_>,
        free: u64,
        goal: u64,
        total: u64,
        cap: u64,
    ) -> Option<DeficitDecision> {
        let r = Ordering::Relaxed;
        let q = s.as_ref().quota_state();
        let started = self.started.load(r);
        if started && q.charged_from == self.window.load(r) {
            return None;
        }
        self.window.store(q.charged_from, r);
        let applied = s.as_ref().stats().sz_applied;
        let freed = applied.wrapping_sub(self.last_applied.swap(applied, r));
        let mut l = DeficitLoop {
            alloc_est: self.alloc_est.load(r) as i64,
            last_free: self.last_free.load(r),
            last_quota: self.last_quota.load(r),
            started,
        };
        let mut step = l.step(
            &Window {
                free,
                goal,
                total,
                freed: if started { freed } else { 0 },
                inflight: 0,
            },
            cap,
        );
        self.alloc_est.store(l.alloc_est as u64, r);
        self.last_free.store(l.last_free, r);
        self.last_quota.store(l.last_quota, r);
        self.started.store(true, r);
        let quota_sz = to_quota_sz(Allowance::Bytes(step.quota));
        s.set_quota_sz(quota_sz);
        let time_capped = s.as_ref().quota().ms != 0 && q.esz != 0;
        let esz = if time_capped {
            q.esz.min(quota_sz)
        } else {
            quota_sz
        };
        if time_capped && esz < step.quota {
            step.saturated = true;
        }
        s.set_effective_quota(esz);
        Some(DeficitDecision { step, esz })
    }
}
