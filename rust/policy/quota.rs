// SPDX-License-Identifier: GPL-2.0

//! The quota-goal feedback loop: how aggressive a scheme is, aimed at the
//! goals the user states.
//!
//! Each goal has a current value and a target; its score is
//! `current * 10000 / target` (10,000 bp: met). As upstream DAMON does,
//! the most satisfied goal decides (the highest score). Two tuners turn the
//! score into the size quota of the next reset interval:
//! - [`Tuner::Consist`], upstream's proportional loop
//!   `f(n) = max(f(n-1) * ((target - current) / target + 1), 1)`, in
//!   basis points of bytes, exactly as upstream's
//!   `damos_goal_tune_esz_bp_consist()`: `esz_bp =
//!   damon_feed_loop_next_input(max(esz_bp, 10000), score)`, the quota
//!   `esz_bp / 10000`, then capped. It keeps growing while reclaim is
//!   slower than the quota and needs many intervals to come back down
//!   once the goal is met (in QEMU it overshot a 50% free-memory goal to
//!   76%): [`Tuner::Deficit`] is the module's answer, not a change to it.
//! - [`Tuner::Temporal`]: the full quota until the goal is met, then none,
//!   as upstream's `damos_goal_tune_esz_bp_temporal()`.

/// The score of a met goal.
pub const GOAL_BP: u64 = 10_000;

/// How the score becomes a quota.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tuner {
    /// Upstream's proportional feedback loop.
    Consist,
    /// Everything until the goal is met, then nothing.
    Temporal,
    /// The deficit to a free-memory goal, in bytes ([`DeficitLoop`]).
    Deficit,
}

/// The score of one goal, in bp of its target: `current * 10000 /
/// target`, saturating; a goal whose target is 0 scores 0.
pub fn goal_score(current: u64, target: u64) -> u64 {
    if target == 0 {
        return 0;
    }
    super::math::mul_div(current, GOAL_BP, target)
}

/// Upstream's `damos_quota_score()`: the score of the most satisfied of
/// `goals` (the highest), each goal's current value given by `current`;
/// `None` when there is no goal. The most satisfied goal decides: the
/// scheme is as aggressive as the goal that needs the least.
pub fn highest_score(
    goals: &[super::damos::Goal],
    current: impl Fn(&super::damos::Goal) -> u64,
) -> Option<u64> {
    goals.iter().map(|g| goal_score(current(g), g.target)).max()
}

/// Upstream's `damon_feed_loop_next_input()`: the next input of a loop
/// whose output scored `score` (10,000: on target) for `last_input`.
pub fn feed_loop_next_input(last_input: u64, score: u64) -> u64 {
    const GOAL: u64 = GOAL_BP;
    // The minimum input, so that the compensation is never zero.
    const MIN_INPUT: u64 = 10_000;
    if score == GOAL {
        return last_input;
    }
    if score >= GOAL * 2 {
        return MIN_INPUT;
    }
    let over_achieving = score > GOAL;
    let diff = if over_achieving {
        score - GOAL
    } else {
        GOAL - score
    };
    let compensation = if last_input < u64::MAX / diff {
        last_input * diff / GOAL
    } else {
        last_input / GOAL * diff
    };
    if over_achieving {
        return last_input.saturating_sub(compensation).max(MIN_INPUT);
    }
    last_input.saturating_add(compensation)
}

/// What the loop allows for the next reset interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Allowance {
    /// No limit from the loop (the time quota may still limit).
    Unlimited,
    /// At most this many bytes (0: nothing at all).
    Bytes(u64),
}

impl Allowance {
    /// Bytes, with `Unlimited` as `u64::MAX`.
    pub fn bytes(self) -> u64 {
        match self {
            Allowance::Unlimited => u64::MAX,
            Allowance::Bytes(b) => b,
        }
    }
}

/// The state of one scheme's loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GoalLoop {
    /// The consist loop's input, bytes in basis points (0: not started).
    esz_bp: u64,
}

impl Default for GoalLoop {
    fn default() -> Self {
        Self::new()
    }
}

impl GoalLoop {
    /// A loop that has not run yet.
    pub const fn new() -> Self {
        Self { esz_bp: 0 }
    }

    /// The state, to keep it between steps (e.g. in an atomic).
    pub fn saved(&self) -> u64 {
        self.esz_bp
    }

    /// Restores a state [`GoalLoop::saved`] gave.
    pub fn restore(&mut self, saved: u64) {
        self.esz_bp = saved;
    }

    /// One step, once per reset interval: `score` is the highest goal
    /// score, `cap` the user's size quota (0: none). Returns the allowance
    /// of the next interval.
    pub fn step(&mut self, tuner: Tuner, score: u64, cap: u64) -> Allowance {
        let capped = |b: u64| Allowance::Bytes(if cap != 0 { b.min(cap) } else { b });
        match tuner {
            Tuner::Consist | Tuner::Deficit => {
                self.esz_bp = feed_loop_next_input(self.esz_bp.max(GOAL_BP), score);
                capped(self.esz_bp / GOAL_BP)
            }
            Tuner::Temporal => {
                if score >= GOAL_BP {
                    Allowance::Bytes(0)
                } else if cap != 0 {
                    Allowance::Bytes(cap)
                } else {
                    Allowance::Unlimited
                }
            }
        }
    }
}

/// The deficit controller's deadband: within this many bp of the goal it
/// only keeps up with the allocations.
pub const DEADBAND_BP: u64 = 40;

/// One charge window as the deficit controller sees it, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// The node's free memory now.
    pub free: u64,
    /// The free memory the goal asks for.
    pub goal: u64,
    /// The node's memory.
    pub total: u64,
    /// What the scheme's reclaim freed in the last window: synchronously
    /// (its `sz_applied` delta) and, as well as it is known, as its
    /// writeback landed. What is not counted here biases the allocation
    /// estimate low, and the loop then settles that bias times four below
    /// the goal.
    pub freed: u64,
    /// Reclaim started and not landed yet (writeback that will free pages
    /// later), as well as it is known; 0 if not.
    pub inflight: u64,
}

/// What one step of the deficit controller decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeficitStep {
    /// The bytes it wants reclaimed in the next window, before the cap.
    pub wanted: u64,
    /// The size quota of the next window: `wanted`, capped (0: nothing).
    pub quota: u64,
    /// Whether the actuator cannot give what is wanted: the cap is below
    /// it, or the last window freed less than half of its quota while
    /// the node was below the goal's band.
    pub saturated: bool,
}

/// The deficit controller (tuner `deficit`): it controls bytes. Each
/// window it asks for what the others allocate (an estimate, from the
/// free memory's change and what the scheme freed) plus a quarter of the
/// deficit to the goal, less the reclaim still in flight; inside a
/// deadband of [`DEADBAND_BP`] around the goal, only for the allocations.
/// With the reclaim landing in the window it is asked for (clean page
/// cache), the deficit shrinks by a quarter a window; landing one window
/// later (anonymous memory, freed after writeback), the loop's error
/// follows `e(k+1) = e(k) - e(k-1) / 4`, whose double root 1/2 is the
/// largest gain that does not overshoot: no overshoot with one window of
/// delay, and no integrator to wind up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeficitLoop {
    /// What the others allocate per window, net of their frees (EWMA).
    pub alloc_est: i64,
    /// The free memory at the last step.
    pub last_free: u64,
    /// The quota of the last step.
    pub last_quota: u64,
    /// Whether it stepped before.
    pub started: bool,
}

impl DeficitLoop {
    /// A loop that has not stepped yet.
    pub const fn new() -> Self {
        Self {
            alloc_est: 0,
            last_free: 0,
            last_quota: 0,
            started: false,
        }
    }

    /// One step, at the start of a charge window; `cap` is the user's size
    /// quota (0: none).
    pub fn step(&mut self, w: &Window, cap: u64) -> DeficitStep {
        let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let (free, goal) = (clamp(w.free), clamp(w.goal));
        if self.started {
            // Freed by the scheme, minus what free memory gained: what the
            // others took. An EWMA of a quarter.
            let taken = clamp(w.freed).saturating_sub(free.saturating_sub(clamp(self.last_free)));
            self.alloc_est = self
                .alloc_est
                .saturating_add(taken.saturating_sub(self.alloc_est) / 4);
        }
        let band = clamp(super::math::mul_div(w.total, DEADBAND_BP, GOAL_BP));
        let deficit = goal.saturating_sub(free);
        let alloc = self.alloc_est.max(0);
        let wanted = if deficit.saturating_abs() <= band {
            alloc
        } else {
            alloc.saturating_add(deficit.saturating_sub(clamp(w.inflight)) / 4)
        };
        let wanted = u64::try_from(wanted.max(0)).unwrap_or(0);
        let quota = if cap != 0 { wanted.min(cap) } else { wanted };
        let starved = self.started
            && deficit > band
            && self.last_quota >= super::damos::MIN_REGION
            && w.freed < self.last_quota / 2;
        self.started = true;
        self.last_free = w.free;
        self.last_quota = quota;
        DeficitStep {
            wanted,
            quota,
            saturated: quota < wanted || starved,
        }
    }
}

/// Bytes a scheme applied per charge window, from what the kdamond sees
/// after each aggregation: the window the last walk ran in (the core's
/// `charged_from`, set when a walk opens a window) and the scheme's
/// `sz_applied` after it. A walk runs in one window, after the
/// aggregation's callback, so the first observation of a new window
/// already counts that window's first walk: the closed window's bytes are
/// those up to the observation before it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WindowTally {
    /// The window of the last observation.
    pub window: u64,
    /// `sz_applied` before the window's first walk; `None` for the window
    /// observed first, which may have begun before.
    pub start: Option<u64>,
    /// `sz_applied` at the last observation.
    pub last: u64,
    /// Whether anything was observed yet.
    pub started: bool,
}

impl WindowTally {
    /// Observes the window `charged_from` and the scheme's `sz_applied`;
    /// returns the bytes applied in the window that closed, if one did and
    /// was observed from its start.
    pub fn observe(&mut self, charged_from: u64, sz_applied: u64) -> Option<u64> {
        let mut closed = None;
        if !self.started {
            self.started = true;
        } else if charged_from != self.window {
            closed = self.start.map(|start| self.last.saturating_sub(start));
            self.start = Some(self.last);
        }
        self.window = charged_from;
        self.last = sz_applied;
        closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_tally_counts_each_window_from_its_first_walk() {
        let mut t = WindowTally::default();
        // Window 10, observed from its middle: partial, not reported.
        assert_eq!(t.observe(10, 100), None);
        assert_eq!(t.observe(10, 300), None);
        // Window 20 opened in the last walk, which applied 50: window 10
        // ends at 300, window 20 starts there and ends at 900 (window 30's
        // first walk applied 50).
        assert_eq!(t.observe(20, 350), None);
        assert_eq!(t.observe(20, 900), None);
        assert_eq!(t.observe(30, 950), Some(600));
        assert_eq!(t.observe(40, 950), Some(50));
        // A window with nothing applied.
        assert_eq!(t.observe(50, 1000), Some(0));
        // Counters that went back (a restart) report 0, not a wrap.
        assert_eq!(t.observe(60, 10), Some(50));
        assert_eq!(t.observe(70, 20), Some(0));
    }

    /// The kernel's own KUnit case (`damon_test_feed_loop_next_input`).
    #[test]
    fn kernel_feed_loop_pairs() {
        let last = 900_000;
        assert!(feed_loop_next_input(last, 200) > last);
        assert!(feed_loop_next_input(last, 250_000_000) < last);
        assert!(feed_loop_next_input(last, 200) > feed_loop_next_input(last, 2000));
    }

    #[test]
    fn feed_loop_values() {
        assert_eq!(feed_loop_next_input(900_000, GOAL_BP), 900_000);
        assert_eq!(feed_loop_next_input(900_000, 20_000), 10_000);
        assert_eq!(feed_loop_next_input(900_000, 0), 1_800_000);
        assert_eq!(feed_loop_next_input(900_000, 5_000), 1_350_000);
        assert_eq!(feed_loop_next_input(900_000, 15_000), 450_000);
        assert_eq!(feed_loop_next_input(10_000, 19_999), 10_000);
        // Overflow: the division goes first, then saturation.
        assert_eq!(feed_loop_next_input(u64::MAX, 0), u64::MAX);
        assert_eq!(
            feed_loop_next_input(u64::MAX / 2, 5_000),
            u64::MAX / 2 + u64::MAX / 2 / GOAL_BP * 5_000
        );
    }

    /// Several goals: the highest score decides, as upstream's
    /// `damos_quota_score()`; the goals are DAMON_RECLAIM's
    /// (`ReclaimConfig::goals()`), PSI measured, feedback as written.
    #[test]
    fn most_satisfied_goal_decides() {
        use super::super::damos::{Goal, GoalMetric};
        use super::super::reclaim::{DEFAULT, MAX_GOALS};
        let cfg = super::super::reclaim::ReclaimConfig {
            quota_mem_pressure_us: 1000,
            quota_autotune_feedback: 2500,
            ..DEFAULT
        };
        let mut goals = [Goal {
            metric: GoalMetric::UserInput,
            target: 0,
            current: 0,
        }; MAX_GOALS];
        let n = cfg.goals(&mut goals);
        let score = |psi_us: u64| {
            highest_score(&goals[..n], |g| match g.metric {
                GoalMetric::SomeMemPsiUs => psi_us,
                GoalMetric::UserInput => g.current,
            })
        };
        // No stall: the feedback (25%) decides.
        assert_eq!(score(0), Some(2500));
        // A stall of 3 ms against 1 ms: PSI is the most satisfied (300%).
        assert_eq!(score(3000), Some(30_000));
        assert_eq!(score(100), Some(2500));
        // No goal.
        assert_eq!(highest_score(&[], |_| 0), None);
        // A consist step on the decided score backs off with the stall.
        let mut l = GoalLoop::new();
        l.restore(100 << 20);
        let before = l.step(Tuner::Consist, 0, 0).bytes();
        let after = l.step(Tuner::Consist, score(3000).unwrap_or(0), 0).bytes();
        assert!(after < before, "{before} -> {after}");
    }

    #[test]
    fn scores() {
        assert_eq!(goal_score(500, 1000), 5000);
        assert_eq!(goal_score(0, 1000), 0);
        assert_eq!(goal_score(7, 0), 0);
        assert_eq!(goal_score(u64::MAX, 1), u64::MAX);
    }

    #[test]
    fn consist_grows_until_goal_then_shrinks() {
        let mut l = GoalLoop::new();
        let mut last = 0;
        for _ in 0..40 {
            let a = l.step(Tuner::Consist, 0, 0).bytes();
            assert!(a >= last);
            last = a;
        }
        assert!(last > 1 << 30, "{}", last);
        let before = last;
        let after = l.step(Tuner::Consist, 15_000, 0).bytes();
        assert!(after < before);
        assert_eq!(l.step(Tuner::Consist, 0, 4096), Allowance::Bytes(4096));
    }

    /// Upstream's `damos_goal_tune_esz_bp_consist()` and its quota, step
    /// by step, on a score trace that goes far below, near, over and far
    /// over the goal: the loop is exactly it, whatever was used.
    #[test]
    fn consist_is_upstreams_loop() {
        let scores = [
            0, 0, 1_000, 5_000, 9_000, 9_999, 10_000, 10_001, 12_000, 19_999, 20_000, 30_000, 0,
            2_500, 7_500, 10_000, 15_000, 0, 0, 0,
        ];
        for cap in [0, 1 << 20] {
            let mut l = GoalLoop::new();
            let mut esz_bp: u64 = 0;
            for _ in 0..3 {
                for &score in &scores {
                    esz_bp = feed_loop_next_input(esz_bp.max(10_000), score);
                    let esz = esz_bp / 10_000;
                    let want = if cap != 0 { esz.min(cap) } else { esz };
                    assert_eq!(l.step(Tuner::Consist, score, cap), Allowance::Bytes(want));
                    assert_eq!(l.saved(), esz_bp);
                }
            }
        }
        // Far below the goal for long: it grows without bound (saturating),
        // as upstream's does; a cap bounds the allowance, not the input.
        let mut l = GoalLoop::new();
        for _ in 0..200 {
            l.step(Tuner::Consist, 0, 4096);
        }
        assert!(l.saved() > 1 << 40);
        assert_eq!(l.step(Tuner::Consist, 0, 4096), Allowance::Bytes(4096));
    }

    #[test]
    fn temporal_is_all_or_nothing() {
        let mut l = GoalLoop::new();
        assert_eq!(l.step(Tuner::Temporal, 9_999, 0), Allowance::Unlimited);
        assert_eq!(
            l.step(Tuner::Temporal, 9_999, 1 << 20),
            Allowance::Bytes(1 << 20)
        );
        assert_eq!(
            l.step(Tuner::Temporal, 10_000, 1 << 20),
            Allowance::Bytes(0)
        );
    }

    /// A node of 1 GiB whose free memory starts at 20%, aiming at 45%:
    /// `lag` windows between reclaim and free memory (0: page cache, 1:
    /// anonymous memory after writeback), others allocating `alloc` bytes
    /// a window; reclaim does what the quota says, up to `speed` a window.
    /// Returns free memory per window, in bp.
    fn plant(
        lag: usize,
        alloc: u64,
        speed: u64,
        windows: usize,
        mut ctrl: impl FnMut(&Window) -> u64,
    ) -> std::vec::Vec<u64> {
        let total: u64 = 1 << 30;
        let goal = total * 45 / 100;
        let mut free = total / 5;
        let mut pipe = std::vec![0u64; lag];
        let mut freed = 0;
        let mut out = std::vec::Vec::new();
        for _ in 0..windows {
            let q = ctrl(&Window {
                free,
                goal,
                total,
                freed,
                inflight: 0,
            });
            let done = q.min(speed);
            pipe.push(done);
            let landed = pipe.remove(0);
            // What the scheme's reclaim freed in the window, at once or as
            // its writeback landed.
            freed = landed;
            free = (free + landed).saturating_sub(alloc).min(total);
            out.push(free * 10_000 / total);
        }
        out
    }

    fn deficit_ctrl() -> impl FnMut(&Window) -> u64 {
        let mut l = DeficitLoop::new();
        move |w| l.step(w, 0).quota
    }

    #[test]
    fn deficit_reaches_and_holds_without_overshoot() {
        for lag in [0, 1] {
            for alloc in [0, 1 << 20, 4 << 20] {
                let trace = plant(lag, alloc, 64 << 20, 120, deficit_ctrl());
                let reached = trace.iter().position(|&f| f + 100 >= 4500);
                assert!(
                    reached.is_some_and(|r| r < 40),
                    "lag {lag} alloc {alloc}: {trace:?}"
                );
                // Held: both bounds, from then on.
                for &f in &trace[reached.unwrap_or(0)..] {
                    assert!(
                        (4400..=4560).contains(&f),
                        "lag {lag} alloc {alloc}: {trace:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn deficit_reports_saturation() {
        let mut l = DeficitLoop::new();
        let w = Window {
            free: 100 << 20,
            goal: 400 << 20,
            total: 1 << 30,
            freed: 0,
            inflight: 0,
        };
        let s = l.step(&w, 8 << 20);
        assert!(
            s.saturated && s.quota == 8 << 20 && s.wanted > s.quota,
            "{s:?}"
        );
        // Uncapped, the first step is not saturated; a window that freed
        // nothing of its quota below the goal is.
        let mut l = DeficitLoop::new();
        assert!(!l.step(&w, 0).saturated);
        assert!(l.step(&w, 0).saturated);
        // In flight counts against the deficit.
        let mut l = DeficitLoop::new();
        let a = l.step(&w, 0).wanted;
        let mut l = DeficitLoop::new();
        let b = l
            .step(
                &Window {
                    inflight: 100 << 20,
                    ..w
                },
                0,
            )
            .wanted;
        assert!(b < a);
    }

    /// The same plant with upstream's consist loop: its band is wider.
    #[test]
    fn deficit_band_narrower_than_consist() {
        let band = |t: &[u64]| {
            let tail = &t[t.len() / 2..];
            tail.iter().max().unwrap() - tail.iter().min().unwrap()
        };
        for lag in [0, 1] {
            let d = plant(lag, 1 << 20, 64 << 20, 200, deficit_ctrl());
            let mut l = GoalLoop::new();
            let c = plant(lag, 1 << 20, 64 << 20, 200, |w| {
                let score = goal_score(w.free, w.goal);
                l.step(Tuner::Consist, score, 0).bytes()
            });
            assert!(
                band(&d) < band(&c),
                "lag {lag}: {} vs {}",
                band(&d),
                band(&c)
            );
        }
    }
}
