// SPDX-License-Identifier: GPL-2.0

//! KUnit: parameter parsing as the module does it in the kernel.

use crate::kunit::Test;
use crate::kunit_suite;
use crate::params::{Param, ParamValue};
use crate::policy::quota::Tuner;

fn numbers_follow_kstrtoul(t: &mut Test) {
    t.expect_eq(u64::parse(b"120000000\n"), Some(120_000_000));
    t.expect_eq(u64::parse(b"0x1000"), Some(4096));
    t.expect_eq(u64::parse(b"18446744073709551616"), None);
    t.expect_eq(u32::parse(b"4294967296"), None);
    t.expect_eq(i32::parse(b"-1"), Some(-1));
    t.expect_eq(i32::parse(b"abc"), None);
    t.expect_eq(u64::parse(b""), None);
}

fn bools_follow_kstrtobool(t: &mut Test) {
    t.expect_eq(bool::parse(b"Y\n"), Some(true));
    t.expect_eq(bool::parse(b"0"), Some(false));
    t.expect_eq(bool::parse(b"maybe"), None);
}

fn enums_are_their_names(t: &mut Test) {
    t.expect_eq(Tuner::parse(b"temporal\n"), Some(Tuner::Temporal));
    t.expect_eq(Tuner::parse(b"consist"), Some(Tuner::Consist));
    t.expect_eq(Tuner::parse(b"Consist"), None);
}

/// Values keep their bits through the atomic storage, negatives and enums
/// included; the defaults are what the declaration says.
fn values_round_trip(t: &mut Test) {
    static INT: Param<i32> = Param::new(-5, true, None, None);
    static TUNER: Param<Tuner> = Param::new(Tuner::Temporal, true, None, None);
    t.expect_eq(INT.get(), -5);
    INT.set(i32::MIN);
    t.expect_eq(INT.get(), i32::MIN);
    t.expect_eq(TUNER.get(), Tuner::Temporal);
    TUNER.set(Tuner::Consist);
    t.expect_eq(TUNER.get(), Tuner::Consist);
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
