// SPDX-License-Identifier: GPL-2.0

//! KUnit: the pure policy code, run in the kernel (the host runs the same
//! code, with more cases, under `cargo test`).

use crate::kunit::Test;
use crate::kunit_suite;
use crate::policy::damos::{Action, Filter, Goal, GoalMetric};
use crate::policy::{
    attrs::{AttrsError, MonitoringAttrs},
    failcharge,
    min_age::{Bounds, Counters, Decision, MinAgeTuner},
    min_age_algo::{Algo, Controller},
    min_age_model::{direction_changes_under_noise, drive, periods_at_least, run, Workload},
    node::NodeMem,
    quota::{feed_loop_next_input, goal_score, highest_score, Allowance, GoalLoop, Tuner},
    ranges::{monitored, Range, RangesError},
    reclaim::{ConfigError, DEFAULT},
    tier::{self, detect, ChainError, NodeChain, NodeInfo},
    tier_control::{
        demote_plan, promote_budget, promote_demand, DemoteFrom, Goals, Incoming, Shown, TierNode,
    },
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
        l.step(Tuner::Temporal, 9_999, 1 << 20),
        Allowance::Bytes(1 << 20),
    );
    t.expect_eq(
        l.step(Tuner::Temporal, 10_000, 1 << 20),
        Allowance::Bytes(0),
    );
    t.expect_eq(l.step(Tuner::Temporal, 0, 0), Allowance::Unlimited);
    let mut l = GoalLoop::new();
    let first = l.step(Tuner::Consist, 0, 0).bytes();
    let second = l.step(Tuner::Consist, 0, 0).bytes();
    t.expect(second > first, "consist grows while the goal is far");
    t.expect(
        l.step(Tuner::Consist, 15_000, 0).bytes() < second,
        "and shrinks past it",
    );
    // Exactly upstream's damos_goal_tune_esz_bp_consist().
    let mut l = GoalLoop::new();
    let mut esz_bp: u64 = 0;
    for score in [0, 5_000, 9_999, 10_000, 12_000, 20_000, 0, 3_000] {
        esz_bp = feed_loop_next_input(esz_bp.max(10_000), score);
        t.expect_eq(
            l.step(Tuner::Consist, score, 0),
            Allowance::Bytes(esz_bp / 10_000),
        );
    }
    // The most satisfied goal decides (damos_quota_score()).
    let goals = [
        Goal {
            metric: GoalMetric::SomeMemPsiUs,
            target: 1000,
            current: 0,
        },
        Goal {
            metric: GoalMetric::UserInput,
            target: 10_000,
            current: 2500,
        },
    ];
    let psi = |us: u64| {
        highest_score(&goals, |g| match g.metric {
            GoalMetric::SomeMemPsiUs => us,
            GoalMetric::UserInput => g.current,
        })
    };
    t.expect_eq(psi(0), Some(2500));
    t.expect_eq(psi(3000), Some(30_000));
    t.expect_eq(highest_score(&[], |_| 0), None);
}

fn goal_scores(t: &mut Test) {
    t.expect_eq(goal_score(2_000, 4_000), 5_000);
    t.expect_eq(goal_score(1, 0), 0);
    t.expect_eq(goal_score(u64::MAX, 1), u64::MAX);
}

fn fail_charge_edges(t: &mut Test) {
    t.expect_eq(failcharge::charge(100, 10, 1, 0), 100);
    t.expect_eq(failcharge::charge(100, 10, 4096, 4096), 100);
    t.expect_eq(failcharge::charge(100, 10, 0, 4096), 10);
    t.expect_eq(failcharge::charge(100, 200, 1, 2), 100);
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

const SEC: u64 = 1_000_000;
const MIN_AGE_BOUNDS: Bounds = Bounds {
    min_us: SEC,
    max_us: 600 * SEC,
};

/// Only cold memory to reclaim: `min_age` goes down to its floor and stays.
fn min_age_cold_memory(t: &mut Test) {
    let mut c = MinAgeTuner::new(MIN_AGE_BOUNDS, 120 * SEC);
    let mut w = Workload {
        cold: 1000,
        ..Workload::default()
    };
    run(&mut c, &mut w, 150, |_| ());
    t.expect_eq(c.current_us(), MIN_AGE_BOUNDS.min_us);
    t.expect_eq(periods_at_least(&mut c, &mut w, 100, 2 * SEC), 0);
}

/// A working set memory can hold, idle 30 s between uses (the seed's
/// scenario 1): `min_age` settles above 30 s.
fn min_age_working_set(t: &mut Test) {
    let mut c = MinAgeTuner::new(MIN_AGE_BOUNDS, 5 * SEC);
    let mut w = Workload {
        cold: 200,
        ws: 5000,
        idle_us: 30 * SEC,
        ..Workload::default()
    };
    run(&mut c, &mut w, 300, |_| ());
    let above = periods_at_least(&mut c, &mut w, 300, 30 * SEC);
    t.expect(above >= 270, "mostly above the idle time");
    t.expect(c.changes().0 >= 2, "it went up");
}

/// Regions revisited every 45 s that memory cannot all hold (the seed's
/// scenario 2): `min_age` settles below 45 s.
fn min_age_short_memory(t: &mut Test) {
    let mut c = MinAgeTuner::new(MIN_AGE_BOUNDS, 300 * SEC);
    let mut w = Workload {
        ws: 5000,
        idle_us: 45 * SEC,
        short: true,
        ..Workload::default()
    };
    run(&mut c, &mut w, 300, |_| ());
    let above = periods_at_least(&mut c, &mut w, 300, 45 * SEC);
    t.expect(above <= 30, "mostly below the revisit period");
}

/// Noise, zero input, wrap-around and bounds.
fn min_age_robustness(t: &mut Test) {
    let mut c = MinAgeTuner::new(MIN_AGE_BOUNDS, 30 * SEC);
    t.expect(
        direction_changes_under_noise(&mut c, 7, 1000) <= 20,
        "few direction changes under noise",
    );
    let mut c = MinAgeTuner::new(MIN_AGE_BOUNDS, 30 * SEC);
    for _ in 0..50 {
        t.expect_eq(c.update(Counters::default()), Decision::Hold);
    }
    let near_wrap = Counters {
        damon_reclaimed: u64::MAX - 5,
        pgsteal_kswapd: u64::MAX,
        pgsteal_direct: u64::MAX,
        refault_anon: u64::MAX - 1,
        refault_file: u64::MAX,
    };
    let mut w = Workload {
        cold: 1000,
        counters: near_wrap,
        ..Workload::default()
    };
    run(&mut c, &mut w, 20, |_| ());
    t.expect(c.current_us() < 30 * SEC, "wrapped counters read as deltas");
    t.expect_eq(c.changes().0, 0);
    let b = Bounds {
        min_us: 5 * SEC,
        max_us: 50 * SEC,
    };
    let mut c = MinAgeTuner::new(b, 1);
    let mut w = Workload {
        ws: 10_000,
        idle_us: u64::MAX,
        ..Workload::default()
    };
    let mut inside = true;
    run(&mut c, &mut w, 200, |v| {
        inside &= (b.min_us..=b.max_us).contains(&v)
    });
    t.expect(inside, "bounds hold");
    t.expect_eq(c.current_us(), b.max_us);
}

/// Quota-bound DAMON (300 pages a period) under kswapd pressure, with a
/// working set idle 30 s: the raw-counter path walks from 60 s to the
/// floor, the attributed controller holds 60 s.
fn min_age_quota_bound(t: &mut Test) {
    let w0 = Workload {
        cold: 2000,
        ws: 2000,
        idle_us: 30 * SEC,
        quota: 300,
        system: 1500,
        system_refault: 60,
        ..Workload::default()
    };
    let mut old = MinAgeTuner::new(MIN_AGE_BOUNDS, 60 * SEC);
    let mut w = w0;
    let last = drive(
        &mut w,
        300,
        60 * SEC,
        |s| {
            old.update(s.counters());
            old.current_us()
        },
        |_| (),
    );
    t.expect_eq(last, MIN_AGE_BOUNDS.min_us);
    let mut c = Controller::new(Algo::Attributed, MIN_AGE_BOUNDS, 60 * SEC);
    let mut w = w0;
    let mut held = true;
    drive(
        &mut w,
        300,
        60 * SEC,
        |s| {
            c.update(s);
            c.current_us()
        },
        |v| held &= v == 60 * SEC,
    );
    t.expect(held, "the attributed controller holds 60 s");
}

/// DAMA's controller: up on refaults after DAMON's reclaim, down on the
/// kernel's reclaim without refaults.
fn min_age_dama(t: &mut Test) {
    let mut c = Controller::new(Algo::Dama, MIN_AGE_BOUNDS, 5 * SEC);
    let mut w = Workload {
        cold: 200,
        ws: 5000,
        idle_us: 30 * SEC,
        ..Workload::default()
    };
    let step = |c: &mut Controller, w: &mut Workload, n: usize| {
        drive(
            w,
            n,
            c.current_us(),
            |s| {
                c.update(s);
                c.current_us()
            },
            |_| (),
        )
    };
    t.expect(step(&mut c, &mut w, 100) >= 30 * SEC, "rises above 30 s");
    let mut w = Workload {
        system: 1000,
        system_refault: 5,
        ..Workload::default()
    };
    t.expect_eq(step(&mut c, &mut w, 100), MIN_AGE_BOUNDS.min_us);
}

/// Chains parse as the parameter takes them, and bad ones are refused.
fn tier_chain_parsing(t: &mut Test) {
    let c = NodeChain::parse(b"0,2,1\n");
    t.expect_eq(c.map(|c| c.len()), Ok(3));
    t.expect_eq(c.map(|c| c.get(1)), Ok(Some(2)));
    t.expect_eq(NodeChain::parse(b""), Ok(NodeChain::EMPTY));
    t.expect_eq(NodeChain::parse(b"1"), Err(ChainError::TooShort));
    t.expect_eq(NodeChain::parse(b"0,1,1"), Err(ChainError::Repeat));
    t.expect_eq(NodeChain::parse(b"0,x"), Err(ChainError::Syntax));
    t.expect_eq(NodeChain::parse(b"0,300"), Err(ChainError::BadNid));
    t.expect_eq(
        NodeChain::parse(b"0,1,2,3,4,5,6,7,8"),
        Err(ChainError::TooLong),
    );
}

/// Detection puts nodes with CPUs first and skips memoryless ones.
fn tier_detection(t: &mut Test) {
    let info = |nid, has_memory, has_cpu| NodeInfo {
        nid,
        has_memory,
        has_cpu,
    };
    let c = detect(&[
        info(2, true, false),
        info(1, true, true),
        info(0, false, true),
    ]);
    t.expect_eq(c.get(0), Some(1));
    t.expect_eq(c.get(1), Some(2));
    t.expect_eq(c.len(), 2);
    t.expect(detect(&[info(0, true, true)]).is_empty(), "one node: none");
}

/// Each node gets the schemes its position calls for.
fn tier_schemes(t: &mut Test) {
    let Ok(chain) = NodeChain::parse(b"0,1,2") else {
        t.expect(false, "chain parses");
        return;
    };
    let top = tier::DEFAULT.schemes(&chain, 0);
    let mid = tier::DEFAULT.schemes(&chain, 1);
    let bottom = tier::DEFAULT.schemes(&chain, 2);
    t.expect(top.promote.is_none(), "the top node promotes nowhere");
    t.expect(bottom.demote.is_none(), "the bottom node demotes nowhere");
    t.expect_eq(
        mid.promote.map(|s| (s.action, s.target_nid, s.filters)),
        Some((
            Action::MigrateHot,
            0,
            &[Filter::Young { matching: false }][..],
        )),
    );
    t.expect_eq(
        mid.demote.map(|s| (s.action, s.target_nid, s.filters)),
        Some((
            Action::MigrateCold,
            2,
            &[Filter::Young { matching: true }][..],
        )),
    );
}

/// The exchange rule in the kernel: a full upper node demotes as much cold
/// memory as the hot memory waiting below needs, and promotion fills only
/// the room there is.
fn tier_exchange(t: &mut Test) {
    const MIB: u64 = 1 << 20;
    let g = Goals {
        promote_used_bp: 9970,
        demote_free_bp: 50,
        hot_on_fast_bp: 10_000,
    };
    let node = |free, hot, cold| TierNode {
        total: 512 * MIB,
        free: free * MIB,
        wmark_high: 3 * MIB,
        hot: hot * MIB,
        cold: cold * MIB,
        idle: cold * MIB,
    };
    let (up, low) = (node(1, 0, 360), node(350, 150, 0));
    let demand = promote_demand(&up, &low, &g);
    t.expect_eq(demand, 150 * MIB);
    t.expect_eq(promote_budget(&up, &low, 0, &g, u64::MAX).bytes, 0);
    let inc = |want| Incoming { want, in_flight: 0 };
    // Before promotion tried anything: only the reserve.
    let none = Shown::default();
    t.expect_eq(
        demote_plan(&up, inc(demand), none, inc(0), &g).want,
        2 * MIB,
    );
    // It moved all it tried: room for the whole hot set.
    let all = none.observe(MIB, MIB);
    t.expect_eq(
        demote_plan(&up, inc(demand), all, inc(0), &g).want,
        152 * MIB,
    );
    // It moved half: regions count cold neighbours as hot.
    let half = none.observe(MIB, MIB / 2);
    t.expect_eq(
        demote_plan(&up, inc(demand), half, inc(0), &g).want,
        77 * MIB,
    );
    // An interval without a try, then a probe that moved nothing: the
    // history still says half, but no room is made beyond the reserve.
    let stale = half.observe(0, 0).observe(MIB / 4, 0);
    t.expect_eq(
        demote_plan(&up, inc(demand), stale, inc(0), &g).want,
        2 * MIB,
    );
    let roomy = node(200, 0, 360);
    t.expect_eq(
        promote_budget(&roomy, &low, 0, &g, u64::MAX).bytes,
        150 * MIB,
    );
    t.expect_eq(demote_plan(&roomy, inc(demand), all, inc(0), &g).want, 0);
    // Full of hot memory, its cold pages in young idle regions: those.
    let mixed = TierNode {
        idle: 300 * MIB,
        ..node(1, 400, 0)
    };
    let plan = demote_plan(&mixed, inc(demand), all, inc(0), &g);
    t.expect_eq(plan.from, DemoteFrom::Idle);
    t.expect_eq(plan.want, 152 * MIB);
}

/// The monitored ranges: every System RAM block by default, a set region
/// as it is, clipped to a goal node, refused when the node is outside.
fn monitored_ranges(t: &mut Test) {
    const G: u64 = 1 << 30;
    let ram = [Range::new(0x10_0000, 2 * G), Range::new(4 * G, 7 * G)];
    let mut out = [Range::default(); 4];
    t.expect_eq(monitored(&ram, Range::default(), None, &mut out), Ok(2));
    t.expect_eq(out[1], Range::new(4 * G, 7 * G));
    let node1 = Range::new(5 * G, 7 * G);
    t.expect_eq(
        monitored(&ram, Range::default(), Some(node1), &mut out),
        Ok(1),
    );
    t.expect_eq(out[0], node1);
    t.expect_eq(
        monitored(&ram, Range::new(G, 2 * G), Some(node1), &mut out),
        Err(RangesError::NodeOutside),
    );
    t.expect_eq(
        monitored(&ram, Range::default(), None, &mut out[..1]),
        Err(RangesError::TooMany),
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
        min_age_cold_memory,
        min_age_working_set,
        min_age_short_memory,
        min_age_robustness,
        min_age_quota_bound,
        min_age_dama,
        tier_chain_parsing,
        tier_detection,
        tier_schemes,
        tier_exchange,
        monitored_ranges,
    ]
);
