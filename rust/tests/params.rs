// SPDX-License-Identifier: GPL-2.0

//! KUnit: parameter parsing as the module does it in the kernel.

use crate::kunit::Test;
use crate::kunit_suite;
use crate::params::{Param, ParamValue};
use crate::policy::{quota::Tuner, tier::NodeChain};
use kernel::prelude::*;

fn numbers_follow_kstrtoul(t: &mut Test) {
    t.expect_eq(u64::parse(b"120000000\n").ok(), Some(120_000_000));
    t.expect_eq(u64::parse(b"0x1000").ok(), Some(4096));
    t.expect_err(u64::parse(b"18446744073709551616"), ERANGE);
    t.expect_err(u32::parse(b"4294967296"), ERANGE);
    t.expect_eq(i32::parse(b"-1").ok(), Some(-1));
    t.expect_eq(i32::parse(b"+7").ok(), Some(7));
    t.expect_err(i32::parse(b"2147483648"), ERANGE);
    t.expect_err(i32::parse(b"abc"), EINVAL);
    t.expect_err(u64::parse(b""), EINVAL);
    t.expect_err(u64::parse(b"-1"), EINVAL);
}

fn bools_follow_kstrtobool(t: &mut Test) {
    t.expect_eq(bool::parse(b"Y\n").ok(), Some(true));
    t.expect_eq(bool::parse(b"true").ok(), Some(true));
    t.expect_eq(bool::parse(b"0").ok(), Some(false));
    t.expect_err(bool::parse(b"maybe"), EINVAL);
}

fn enums_are_their_names(t: &mut Test) {
    t.expect_eq(Tuner::parse(b"temporal\n").ok(), Some(Tuner::Temporal));
    t.expect_eq(Tuner::parse(b"consist").ok(), Some(Tuner::Consist));
    t.expect_err(Tuner::parse(b"Consist"), EINVAL);
}

/// Values keep their bits through the atomic storage, negatives, enums and
/// chains included; the defaults are what the declaration says.
fn values_round_trip(t: &mut Test) {
    static INT: Param<i32> = Param::new(-5, true, None, None, None);
    static TUNER: Param<Tuner> = Param::new(Tuner::Temporal, true, None, None, None);
    static CHAIN: Param<NodeChain> = Param::new(NodeChain::EMPTY, true, None, None, None);
    t.expect_eq(INT.get(), -5);
    INT.set(i32::MIN);
    t.expect_eq(INT.get(), i32::MIN);
    INT.set(-1);
    t.expect_eq(INT.get(), -1);
    t.expect_eq(TUNER.get(), Tuner::Temporal);
    TUNER.set(Tuner::Consist);
    t.expect_eq(TUNER.get(), Tuner::Consist);
    t.expect_eq(CHAIN.get(), NodeChain::EMPTY);
    if let Ok(c) = NodeChain::parse(b"2,0,1") {
        CHAIN.set(c);
        t.expect_eq(CHAIN.get(), c);
    } else {
        t.expect(false, "2,0,1 parses");
    }
    for v in [0u64, 1, u64::MAX] {
        t.expect_eq(u64::from_bits(v.to_bits()), v);
    }
    for v in [u32::MAX, 0] {
        t.expect_eq(u32::from_bits(v.to_bits()), v);
    }
    // Every per-node view of tiering keeps its identity through the store
    // (a lossy mapping would show one statistic under another's name).
    for v in crate::tier::PerNode::ALL {
        t.expect_eq(crate::tier::PerNode::from_bits(v.to_bits()), v);
    }
}

kunit_suite!(
    damon_autotune_params,
    [
        numbers_follow_kstrtoul,
        bools_follow_kstrtobool,
        enums_are_their_names,
        values_round_trip
    ]
);
