// SPDX-License-Identifier: GPL-2.0

//! KUnit: the DAMON abstractions against the running kernel's DAMON.

use crate::damon::{Context, MonitoringAttrs, Ops};
use crate::kunit::Test;
use crate::kunit_suite;
use kernel::prelude::*;

/// A new context has DAMON's default attributes, the ones the policy layer
/// assumes.
fn new_context_has_default_attrs(t: &mut Test) {
    if let Some(ctx) = t.expect_ok(Context::new(Ops::PhysicalAddress)) {
        t.expect_eq(ctx.attrs(), MonitoringAttrs::DEFAULT);
    }
    t.expect_ok(Context::new(Ops::VirtualAddress));
}

/// The default physical target is a non-empty System RAM block; an
/// inverted range is refused.
fn physical_target_ranges(t: &mut Test) {
    let Some(mut ctx) = t.expect_ok(Context::new(Ops::PhysicalAddress)) else {
        return;
    };
    if let Some((start, end)) = t.expect_ok(ctx.add_physical_target(0, 0)) {
        t.expect(start < end, "the biggest System RAM block is not empty");
    }
    t.expect_eq(ctx.add_physical_target(4096, 8192), Ok((4096, 8192)));
    t.expect_err(ctx.add_physical_target(8192, 4096), EINVAL);
}

/// A started context runs a kdamond with a PID; DAMON's exclusivity refuses
/// a second one; dropping it stops the thread. Skipped if another DAMON
/// user (e.g. this module, loaded with `enabled=Y`) already runs.
fn start_is_exclusive_and_drop_stops(t: &mut Test) {
    let Some(mut ctx) = t.expect_ok(Context::new(Ops::PhysicalAddress)) else {
        return;
    };
    t.expect_ok(ctx.add_physical_target(0, 0));
    let kdamond = match ctx.start() {
        Ok(k) => k,
        Err(e) if e == EBUSY => return t.skip("another DAMON context is running"),
        Err(e) => {
            t.expect_ok(Err::<(), _>(e));
            return;
        }
    };
    t.expect(kdamond.is_running(), "the kdamond runs after start");
    t.expect(
        kdamond.pid().is_some_and(|p| p > 0),
        "a running kdamond has a PID",
    );

    if let Some(mut other) = t.expect_ok(Context::new(Ops::PhysicalAddress)) {
        t.expect_ok(other.add_physical_target(0, 0));
        t.expect_err(other.start().map(|_| ()), EBUSY);
    }
    drop(kdamond);

    // The exclusive group is free again.
    if let Some(mut again) = t.expect_ok(Context::new(Ops::PhysicalAddress)) {
        t.expect_ok(again.add_physical_target(0, 0));
        if let Some(k) = t.expect_ok(again.start()) {
            t.expect(
                k.is_running(),
                "a context can start once the previous one stopped",
            );
        }
    }
}

kunit_suite!(
    damon_autotune_damon,
    [
        new_context_has_default_attrs,
        physical_target_ranges,
        start_is_exclusive_and_drop_stops
    ]
);
