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
//!   basis points of bytes, exactly as `damon_feed_loop_next_input()`,
//!   with one addition: it does not grow while the last interval left
//!   most of its quota unused (anti-windup). Upstream's loop keeps growing
//!   while reclaim is slower than the quota, to gigabytes, and then needs
//!   many intervals to come back down once the goal is met: in QEMU it
//!   overshot a 50% free-memory goal to 76%.
//! - [`Tuner::Temporal`]: the full quota until the goal is met, then none.

/// The score of a met goal.
pub const GOAL_BP: u64 = 10_000;

/// How the score becomes a quota.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tuner {
    /// Upstream's proportional feedback loop.
    Consist,
    /// Everything until the goal is met, then nothing.
    Temporal,
}

/// The score of one goal, in bp of its target: `current * 10000 /
/// target`, saturating; a goal whose target is 0 scores 0.
pub fn goal_score(current: u64, target: u64) -> u64 {
    if target == 0 {
        return 0;
    }
    super::math::mul_div(current, GOAL_BP, target)
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
    /// score, `cap` the user's size quota (0: none), `used` the bytes the
    /// scheme was charged since the last step (`None`: unknown, no
    /// anti-windup). Returns the allowance of the next interval.
    pub fn step(&mut self, tuner: Tuner, score: u64, cap: u64, used: Option<u64>) -> Allowance {
        let capped = |b: u64| Allowance::Bytes(if cap != 0 { b.min(cap) } else { b });
        match tuner {
            Tuner::Consist => {
                let last = self.esz_bp.max(GOAL_BP);
                let esz = last / GOAL_BP;
                // Most of the quota unused: a bigger one would change
                // nothing now and only delay the way back.
                let unused =
                    used.is_some_and(|u| u < esz / 2 && esz - u >= super::damos::MIN_REGION);
                let mut next = feed_loop_next_input(last, score);
                // Over the goal, at least halve what was used: the
                // proportional step alone barely shrinks a quota grown
                // during a long approach (at 10% over, by a tenth per
                // interval), and reclaim that lags behind its quota (slow
                // swap) runs on far past the goal.
                if let Some(u) = used.filter(|_| score > GOAL_BP) {
                    next = next.min((u / 2).saturating_mul(GOAL_BP).max(GOAL_BP));
                }
                self.esz_bp = if unused && next > last { last } else { next };
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

#[cfg(test)]
mod tests {
    use super::*;

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
            let a = l.step(Tuner::Consist, 0, 0, None).bytes();
            assert!(a >= last);
            last = a;
        }
        assert!(last > 1 << 30, "{}", last);
        let before = last;
        let after = l.step(Tuner::Consist, 15_000, 0, None).bytes();
        assert!(after < before);
        assert_eq!(
            l.step(Tuner::Consist, 0, 4096, None),
            Allowance::Bytes(4096)
        );
    }

    #[test]
    fn consist_does_not_wind_up_on_an_unused_quota() {
        let mut l = GoalLoop::new();
        // Reclaim can only do 1 MiB per interval, whatever the quota: the
        // quota stops growing within four times that.
        let mut quota = 0;
        for _ in 0..200 {
            quota = l
                .step(Tuner::Consist, 0, 0, Some(quota.min(1 << 20)))
                .bytes();
        }
        assert!(quota <= 4 << 20, "{}", quota);
        assert!(quota >= 1 << 20, "{}", quota);
        // It still starts from one byte, where no page fits and nothing is
        // used: the first pages get through.
        let mut l = GoalLoop::new();
        let mut q = 0;
        for _ in 0..40 {
            q = l
                .step(Tuner::Consist, 0, 0, Some(if q >= 4096 { 4096 } else { 0 }))
                .bytes();
        }
        assert!((4096..2 * 8192 + 4096).contains(&q), "{}", q);
        // Over the goal it shrinks, used or not.
        assert!(l.step(Tuner::Consist, 15_000, 0, Some(0)).bytes() < q);
    }

    #[test]
    fn consist_halves_what_was_used_over_the_goal() {
        let mut l = GoalLoop::new();
        let mut q = 0;
        // A long approach grows the quota; reclaim uses all of it.
        for _ in 0..40 {
            q = l.step(Tuner::Consist, 0, 0, Some(q)).bytes();
        }
        assert!(q > 1 << 20, "{}", q);
        // Just over the goal: the proportional step alone would keep 99%.
        let next = l.step(Tuner::Consist, 10_100, 0, Some(q)).bytes();
        assert!(next <= q / 2, "{} -> {}", q, next);
        // Far over the goal and nothing used: down to the minimum.
        assert!(l.step(Tuner::Consist, 20_000, 0, Some(0)).bytes() <= 1);
        // Under the goal it grows again as before.
        let low = l.step(Tuner::Consist, 0, 0, Some(1)).bytes();
        assert!(l.step(Tuner::Consist, 0, 0, Some(low)).bytes() >= low);
    }

    #[test]
    fn temporal_is_all_or_nothing() {
        let mut l = GoalLoop::new();
        assert_eq!(
            l.step(Tuner::Temporal, 9_999, 0, None),
            Allowance::Unlimited
        );
        assert_eq!(
            l.step(Tuner::Temporal, 9_999, 1 << 20, Some(0)),
            Allowance::Bytes(1 << 20)
        );
        assert_eq!(
            l.step(Tuner::Temporal, 10_000, 1 << 20, None),
            Allowance::Bytes(0)
        );
    }
}
