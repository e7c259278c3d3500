// SPDX-License-Identifier: GPL-2.0

//! KUnit: the pure policy code, run in the kernel (the host runs the same
//! code, with more cases, under `cargo test`).

use crate::kunit::Test;
use crate::kunit_suite;
use crate::policy::{
    attrs::{AttrsError, MonitoringAttrs},
    failcharge,
    node::NodeMem,
    quota::{feed_loop_next_input, goal_score, Allowance, GoalLoop, Tuner},
    reclaim::{ConfigError, DEFAULT},
};

fn attrs_validation(t: &mut Test) {
    let d = MonitoringAttrs::DEFAULT;
    t.expect_eq(d.validate(), Ok(()));
    t.expect_eq(
        MonitoringAttrs {
            min_nr_regions: 2,
            ..d
        }
        .validate(),
        Err(AttrsError::TooFewRegions),
    );
    t.expect_eq(
        MonitoringAttrs {
            min_nr_regions: 2000,
            ..d
        }
        .validate(),
        Err(AttrsError::RegionBoundsInverted),
    );
    t.expect_eq(
        MonitoringAttrs {
            aggr_interval_us: 1,
            ..d
        }
        .validate(),
        Err(AttrsError::BadIntervals),
    );
}

/// The input/output pairs of the kernel's `damon_test_feed_loop_next_input`.
fn feed_loop_matches_kernel_pairs(t: &mut Test) {
    let last = 900_000;
    t.expect(
        feed_loop_next_input(last, 200) > last,
        "below the goal, the input grows",
    );
    t.expect(
        feed_loop_next_input(last, 250_000_000) < last,
        "above the goal, it shrinks",
    );
    t.expect(
        feed_loop_next_input(last, 200) > feed_loop_next_input(last, 2000),
        "the farther from the goal, the bigger the step",
    );
    t.expect_eq(feed_loop_next_input(last, 10_000), last);
    t.expect_eq(feed_loop_next_input(last, 20_000), 10_000);
    t.expect_eq(feed_loop_next_input(u64::MAX, 0), u64::MAX);
}

fn temporal_and_consist(t: &mut Test) {
    let mut l = GoalLoop::new();
    t.expect_eq(
        l.step(Tuner::Temporal, 9_999, 1 << 20, None),
        Allowance::Bytes(1 << 20),
    );
    t.expect_eq(
        l.step(Tuner::Temporal, 10_000, 1 << 20, None),
        Allowance::Bytes(0),
    );
    t.expect_eq(l.step(Tuner::Temporal, 0, 0, None), Allowance::Unlimited);
    let mut l = GoalLoop::new();
    let first = l.step(Tuner::Consist, 0, 0, None).bytes();
    let second = l.step(Tuner::Consist, 0, 0, None).bytes();
    t.expect(second > first, "consist grows while the goal is far");
    t.expect(
        l.step(Tuner::Consist, 15_000, 0, None).bytes() < second,
        "and shrinks past it",
    );
}

fn goal_scores(t: &mut Test) {
    t.expect_eq(goal_score(2_000, 4_000), 5_000);
    t.expect_eq(goal_score(1, 0), 0);
    t.expect_eq(goal_score(u64::MAX, 1), u64::MAX);
}

fn fail_charge_edges(t: &mut Test) {
    t.expect_eq(failcharge::refund(100, 10, 1, 0), 0);
    t.expect_eq(failcharge::refund(100, 10, 4096, 4096), 0);
    t.expect_eq(failcharge::refund(100, 10, 0, 4096), 90);
    t.expect_eq(failcharge::charge(4096 * 1000, 0, 1, 4096), 1000);
    t.expect_eq(
        failcharge::charge(u64::MAX, 0, u64::MAX, u64::MAX),
        u64::MAX,
    );
}

fn node_bp(t: &mut Test) {
    t.expect_eq(NodeMem { total: 0, free: 0 }.free_bp(), None);
    t.expect_eq(NodeMem { total: 8, free: 8 }.free_bp(), Some(10_000));
    t.expect_eq(NodeMem { total: 8, free: 0 }.used_bp(), Some(10_000));
    t.expect_eq(NodeMem { total: 8, free: 2 }.used_bp(), Some(7_500));
}

fn reclaim_config_checks(t: &mut Test) {
    t.expect_eq(DEFAULT.validate(), Ok(()));
    let mut c = DEFAULT;
    c.wmarks.mid = 600;
    t.expect_eq(c.validate(), Err(ConfigError::Watermarks));
    let c = crate::policy::reclaim::ReclaimConfig {
        region: (10, 5),
        ..DEFAULT
    };
    t.expect_eq(c.validate(), Err(ConfigError::Region));
    t.expect_eq(DEFAULT.scheme(&[]).pattern.age.0, 1200);
    let c = crate::policy::reclaim::ReclaimConfig {
        region: (4096, 1 << 40),
        ..DEFAULT
    };
    t.expect_eq(
        c.validate_region_in((0, 1 << 30)),
        Err(ConfigError::RegionOutsideRam),
    );
}

kunit_suite!(
    damon_autotune_policy,
    [
        attrs_validation,
        feed_loop_matches_kernel_pairs,
        temporal_and_consist,
        goal_scores,
        fail_charge_edges,
        node_bp,
        reclaim_config_checks,
    ]
);
