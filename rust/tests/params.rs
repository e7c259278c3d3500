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

kunit_suite!(
    damon_autotune_params,
    [numbers_follow_kstrtoul, bools_follow_kstrtobool]
);
