// SPDX-License-Identifier: GPL-2.0

//! KUnit: the DAMON abstractions against the running kernel's DAMON.

use crate::damon::{Callbacks, Context, Kdamond, MonitoringAttrs, Ops, Running};
use crate::kunit::{msleep, Test};
use crate::kunit_suite;
use crate::policy::damos::{
    AccessPattern, Action, Filter, Goal, GoalMetric, Quota, SchemeSpec, Watermarks, WmarkMetric,
};
use crate::policy::ranges::Range;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use kernel::{prelude::*, sync::Arc};

const GOALS: [Goal; 2] = [
    Goal {
        metric: GoalMetric::SomeMemPsiUs,
        target: 1000,
        current: 0,
    },
    Goal {
        metric: GoalMetric::UserInput,
        target: 10_000,
        current: 5_000,
    },
];
const FILTERS: [Filter; 2] = [
    Filter::Young { matching: true },
    Filter::Addr {
        start: 0,
        end: 1 << 30,
        matching: false,
    },
];
const WMARKS: Watermarks = Watermarks {
    metric: WmarkMetric::FreeMemRate,
    interval_us: 5_000_000,
    high: 500,
    mid: 400,
    low: 200,
};

/// DAMON_RECLAIM's scheme, with two goals and a filter, for a context
/// aggregating every `aggr_interval_us`.
fn pageout(min_age_us: u64, quota_sz: u64, aggr_interval_us: u64) -> SchemeSpec<'static> {
    SchemeSpec {
        pattern: AccessPattern::cold(min_age_us, aggr_interval_us),
        action: Action::Pageout,
        apply_interval_us: 0,
        target_nid: 0,
        quota: Quota {
            ms: 10,
            sz: quota_sz,
            reset_interval_ms: 1000,
            weight_sz: 0,
            weight_nr_accesses: 0,
            weight_age: 1,
        },
        goals: &GOALS,
        wmarks: WMARKS,
        filters: &FILTERS[..1],
    }
}

/// A scheme that only counts every region, with two filters.
fn stat_all(filters: &'static [Filter]) -> SchemeSpec<'static> {
    SchemeSpec {
        pattern: AccessPattern::ANY,
        action: Action::Stat,
        apply_interval_us: 0,
        target_nid: 1,
        quota: Quota::UNLIMITED,
        goals: &[],
        wmarks: Watermarks::NONE,
        filters,
    }
}

/// Short intervals, so that a kdamond aggregates often in a test.
const FAST: MonitoringAttrs = MonitoringAttrs {
    sample_interval_us: 1_000,
    aggr_interval_us: 10_000,
    ops_update_interval_us: 1_000_000,
    min_nr_regions: 10,
    max_nr_regions: 1_000,
};

/// A new context has DAMON's default attributes, the ones the policy layer
/// assumes, for each of the operations sets the test kernel builds in.
fn new_context_has_default_attrs(t: &mut Test) {
    for ops in [
        Ops::PhysicalAddress,
        Ops::VirtualAddress,
        Ops::FixedVirtualAddress,
    ] {
        if let Some(ctx) = t.expect_ok(Context::new(ops)) {
            t.expect_eq(ctx.attrs(), MonitoringAttrs::DEFAULT);
        }
    }
}

/// Valid attributes are applied; invalid ones are refused and change
/// nothing.
fn set_attrs_validates(t: &mut Test) {
    let Some(mut ctx) = t.expect_ok(Context::new(Ops::PhysicalAddress)) else {
        return;
    };
    t.expect_ok(ctx.set_attrs(&FAST));
    t.expect_eq(ctx.attrs(), FAST);
    for bad in [
        MonitoringAttrs {
            min_nr_regions: 2,
            ..FAST
        },
        MonitoringAttrs {
            min_nr_regions: 2_000,
            ..FAST
        },
        MonitoringAttrs {
            aggr_interval_us: 999,
            ..FAST
        },
    ] {
        t.expect_err(ctx.set_attrs(&bad), EINVAL);
        t.expect_eq(ctx.attrs(), FAST);
    }
}

/// The default physical target is a non-empty System RAM block; explicit
/// ranges are kept; an inverted range or a node without memory is refused.
fn physical_target_ranges(t: &mut Test) {
    let Some(mut ctx) = t.expect_ok(Context::new(Ops::PhysicalAddress)) else {
        return;
    };
    if let Some((start, end)) = t.expect_ok(ctx.add_physical_target(0, 0)) {
        t.expect(start < end, "the biggest System RAM block is not empty");
    }
    t.expect_eq(ctx.add_physical_target(4096, 8192), Ok((4096, 8192)));
    t.expect_err(ctx.add_physical_target(8192, 4096), EINVAL);
    t.expect_err(ctx.add_physical_target(4096, 4096), EINVAL);
    if let Some(n) = t.expect_ok(ctx.add_node_target(0)) {
        t.expect(n >= 1, "node 0 has memory in System RAM");
    }
    t.expect_err(ctx.add_node_target(-1), EINVAL);
    t.expect_err(ctx.add_node_target(63), EINVAL);
    t.expect_err(ctx.add_node_target(4096), EINVAL);
}

/// Every System RAM resource is found, in order and apart; a target gets
/// them all, and ranges DAMON would refuse are refused before it sees
/// them.
fn system_ram_ranges(t: &mut Test) {
    let Some(ram) = t.expect_ok(crate::mm::system_ram()) else {
        return;
    };
    t.expect(!ram.is_empty(), "there is System RAM");
    t.expect(
        ram.windows(2).all(|w| w[0].end <= w[1].start),
        "System RAM resources come in address order, apart",
    );
    let Some(mut ctx) = t.expect_ok(Context::new(Ops::PhysicalAddress)) else {
        return;
    };
    let mut buf = [Range::default(); 8];
    let mut n = 0;
    for (slot, r) in buf.iter_mut().zip(ram.iter()) {
        *slot = *r;
        n += 1;
    }
    let n = crate::policy::ranges::normalize(&mut buf[..n]);
    t.expect_ok(ctx.add_physical_ranges(&buf[..n]));
    let page = |p: u64| p * 4096;
    for bad in [
        &[][..],
        &[Range::new(page(2), page(1))][..],
        &[Range::new(page(1), page(1) + 1)][..],
        &[Range::new(page(4), page(8)), Range::new(page(1), page(2))][..],
        &[Range::new(page(1), page(4)), Range::new(page(4), page(8))][..],
    ] {
        t.expect_err(ctx.add_physical_ranges(bad), EINVAL);
    }
    t.expect_ok(
        ctx.add_physical_ranges(&[Range::new(page(1), page(4)), Range::new(page(5), page(8))]),
    );
}

/// Schemes are built as described, goals and filters included, and read
/// back the same.
fn two_schemes_with_goals(t: &mut Test) {
    let Some(mut ctx) = t.expect_ok(Context::new(Ops::PhysicalAddress)) else {
        return;
    };
    t.expect_ok(ctx.add_scheme(&pageout(120_000_000, 128 << 20, 100_000)));
    t.expect_ok(ctx.add_scheme(&stat_all(&FILTERS)));
    t.expect_eq(ctx.schemes().count(), 2);
    if let Some(s) = ctx.schemes().next() {
        t.expect_eq(s.action(), Some(Action::Pageout));
        t.expect_eq(s.pattern(), AccessPattern::cold(120_000_000, 100_000));
        t.expect_eq(s.quota(), pageout(0, 128 << 20, 100_000).quota);
        t.expect_eq(s.wmarks(), WMARKS);
        t.expect_eq(s.nr_goals(), 2);
        t.expect_eq(s.nr_filters(), 1);
        t.expect_eq(s.stats(), Default::default());
    }
    if let Some(s) = ctx.schemes().nth(1) {
        t.expect_eq(s.action(), Some(Action::Stat));
        t.expect_eq(s.target_nid(), 1);
        t.expect_eq(s.nr_goals(), 0);
        t.expect_eq(s.nr_filters(), 2);
    };
}

/// What DAMON would refuse is refused before it gets there.
fn invalid_schemes_are_refused(t: &mut Test) {
    let Some(mut ctx) = t.expect_ok(Context::new(Ops::PhysicalAddress)) else {
        return;
    };
    let mut s = pageout(1_000_000, 0, 100_000);
    s.pattern.age = (10, 5);
    t.expect_err(ctx.add_scheme(&s), EINVAL);
    let mut s = pageout(1_000_000, 0, 100_000);
    s.wmarks.high = 1001;
    t.expect_err(ctx.add_scheme(&s), EINVAL);
    t.expect_eq(ctx.schemes().count(), 0);
    // A refused filter (after a good one) leaves no half-built scheme.
    t.expect_ok(ctx.add_scheme(&pageout(1_000_000, 0, 100_000)));
    const BAD_FILTERS: [Filter; 2] = [
        Filter::Young { matching: true },
        Filter::Addr {
            start: 1 << 20,
            end: 1 << 20,
            matching: false,
        },
    ];
    let mut s = pageout(1_000_000, 0, 100_000);
    s.filters = &BAD_FILTERS;
    t.expect_err(ctx.add_scheme(&s), EINVAL);
    t.expect_eq(ctx.schemes().count(), 1);
    if let Some(s) = ctx.schemes().next() {
        t.expect_eq(s.nr_filters(), 1);
    };
}

/// A changed copy committed into a context replaces its attributes and
/// schemes' parameters.
fn commit_changed_copy(t: &mut Test) {
    let build = |min_age: u64, quota_sz: u64, attrs: &MonitoringAttrs| -> Result<Context> {
        let mut ctx = Context::new(Ops::PhysicalAddress)?;
        ctx.set_attrs(attrs)?;
        ctx.add_physical_target(0, 0)?;
        ctx.add_scheme(&pageout(min_age, quota_sz, attrs.aggr_interval_us))?;
        ctx.add_scheme(&stat_all(&FILTERS))?;
        Ok(ctx)
    };
    let (Some(mut dst), Some(src)) = (
        t.expect_ok(build(120_000_000, 128 << 20, &MonitoringAttrs::DEFAULT)),
        t.expect_ok(build(5_000_000, 1 << 20, &FAST)),
    ) else {
        return;
    };
    t.expect_ok(dst.commit_from(&src));
    t.expect_eq(dst.attrs(), FAST);
    t.expect_eq(dst.schemes().count(), 2);
    if let Some(s) = dst.schemes().next() {
        // 5 s in aggregation intervals of 10 ms.
        t.expect_eq(s.pattern().age.0, 500);
        t.expect_eq(s.quota().sz, 1 << 20);
        t.expect_eq(s.nr_goals(), 2);
    };
}

/// Records what the kdamond's callbacks saw.
#[derive(Default)]
struct Recorder {
    aggregations: AtomicU64,
    nr_tried: AtomicU64,
    terminated: AtomicBool,
}

impl Callbacks for Recorder {
    fn after_aggregation(&self, ctx: &mut Running<'_>) -> Result {
        self.aggregations.fetch_add(1, Ordering::Relaxed);
        if let Some(s) = ctx.scheme(0) {
            self.nr_tried
                .store(s.as_ref().stats().nr_tried, Ordering::Relaxed);
        }
        Ok(())
    }

    fn before_terminate(&self, _ctx: &mut Running<'_>) {
        self.terminated.store(true, Ordering::Relaxed);
    }
}

/// What `start_recorded` makes of `EBUSY` (another DAMON context runs).
#[derive(Clone, Copy, PartialEq)]
enum Busy {
    /// The case is skipped: someone else holds DAMON's exclusive group.
    Skips,
    /// The case fails: the group must be free (this case freed it).
    Fails,
}

/// Starts a context with FAST attributes, a STAT scheme and `rec`; `None`
/// if it did not start (case skipped on `EBUSY` if `busy` says so, failed
/// otherwise).
fn start_recorded(t: &mut Test, rec: &Arc<Recorder>, busy: Busy) -> Option<Kdamond> {
    let mut ctx = t.expect_ok(Context::new(Ops::PhysicalAddress))?;
    t.expect_ok(ctx.set_attrs(&FAST))?;
    t.expect_ok(ctx.add_physical_target(0, 0))?;
    t.expect_ok(ctx.add_scheme(&stat_all(&[])))?;
    ctx.set_callbacks(rec.clone());
    match ctx.start() {
        Ok(k) => Some(k),
        Err(e) if e == EBUSY && busy == Busy::Skips => {
            t.skip("another DAMON context is running");
            None
        }
        Err(e) => {
            t.expect_ok(Err::<(), _>(e));
            None
        }
    }
}

/// A started context runs a kdamond with a PID; DAMON's exclusivity refuses
/// a second one; dropping it stops the thread and frees the exclusive
/// group, so a restart works (`EBUSY` there fails the case). Skipped if
/// another DAMON user (e.g. this module, loaded with `enabled=Y`) already
/// runs at the first start.
fn start_is_exclusive_and_drop_stops(t: &mut Test) {
    let Some(rec) = t.expect_ok(Arc::new(Recorder::default(), GFP_KERNEL)) else {
        return;
    };
    let Some(kdamond) = start_recorded(t, &rec, Busy::Skips) else {
        return;
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
    t.expect(
        rec.terminated.load(Ordering::Relaxed),
        "before_terminate ran",
    );

    // The exclusive group is free again.
    if let Some(again) = start_recorded(t, &rec, Busy::Fails) {
        t.expect(
            again.is_running(),
            "a context can start once the previous one stopped",
        );
    }
}

/// The callbacks run in the kdamond and see the schemes' statistics, which
/// are still there once the kdamond is stopped.
fn callbacks_see_statistics(t: &mut Test) {
    let Some(rec) = t.expect_ok(Arc::new(Recorder::default(), GFP_KERNEL)) else {
        return;
    };
    let Some(kdamond) = start_recorded(t, &rec, Busy::Skips) else {
        return;
    };
    msleep(300);
    let ctx = kdamond.stop();
    t.expect(
        rec.terminated.load(Ordering::Relaxed),
        "before_terminate ran",
    );
    t.expect(
        rec.aggregations.load(Ordering::Relaxed) >= 2,
        "after_aggregation ran",
    );
    let seen = rec.nr_tried.load(Ordering::Relaxed);
    t.expect(seen > 0, "the STAT scheme was tried on regions");
    if let Some(s) = ctx.schemes().next() {
        t.expect(
            s.stats().nr_tried >= seen,
            "the stopped context keeps the statistics",
        );
        // DAMOS_STAT applies nothing.
        t.expect_eq(s.stats().sz_applied, 0);
    };
}

/// A context committed into a running kdamond is applied by the kdamond.
fn commit_into_running(t: &mut Test) {
    let Some(rec) = t.expect_ok(Arc::new(Recorder::default(), GFP_KERNEL)) else {
        return;
    };
    let Some(kdamond) = start_recorded(t, &rec, Busy::Skips) else {
        return;
    };
    let new = || -> Result<Context> {
        let mut ctx = Context::new(Ops::PhysicalAddress)?;
        ctx.set_attrs(&FAST)?;
        ctx.add_physical_target(0, 0)?;
        let mut s = stat_all(&[]);
        s.pattern.age = (7, 8);
        s.quota.sz = 1 << 20;
        s.quota.reset_interval_ms = 100;
        ctx.add_scheme(&s)?;
        Ok(ctx)
    };
    if let Some(ctx) = t.expect_ok(new().and_then(|c| Ok(KBox::new(c, GFP_KERNEL)?))) {
        kdamond.commit(ctx);
    }
    let mut waited = 0;
    while kdamond.commits().0 == 0 && waited < 2_000 {
        msleep(20);
        waited += 20;
    }
    t.expect_eq(kdamond.commits(), (1, 0));
    let ctx = kdamond.stop();
    if let Some(s) = ctx.schemes().next() {
        t.expect_eq(s.pattern().age, (7, 8));
        t.expect_eq(s.quota().sz, 1 << 20);
    };
}

/// Stops its kdamond on its own: `after_aggregation` fails from the second
/// aggregation on.
#[derive(Default)]
struct Quitter {
    aggregations: AtomicU64,
    terminated: AtomicBool,
}

impl Callbacks for Quitter {
    fn after_aggregation(&self, _ctx: &mut Running<'_>) -> Result {
        if self.aggregations.fetch_add(1, Ordering::Relaxed) >= 1 {
            Err(EINVAL)
        } else {
            Ok(())
        }
    }

    fn before_terminate(&self, _ctx: &mut Running<'_>) {
        self.terminated.store(true, Ordering::Relaxed);
    }
}

/// A kdamond that stopped on its own (its callback failed) reads as not
/// running and without a PID; stopping it waits until its thread exited,
/// so that DAMON's exclusive group is free at once: restarting right after
/// works (`EBUSY` fails the case), several times in a row. It is polled
/// without sleeping, so that the stop comes as close as possible after
/// DAMON cleared `ctx->kdamond`, while the thread still finishes its exit.
fn self_stopped_kdamond_is_reaped(t: &mut Test) {
    let Some(quitter) = t.expect_ok(Arc::new(Quitter::default(), GFP_KERNEL)) else {
        return;
    };
    let Some(mut ctx) = t.expect_ok(Context::new(Ops::PhysicalAddress)) else {
        return;
    };
    if t.expect_ok(ctx.set_attrs(&FAST)).is_none()
        || t.expect_ok(ctx.add_physical_target(0, 0)).is_none()
        || t.expect_ok(ctx.add_scheme(&stat_all(&[]))).is_none()
    {
        return;
    }
    ctx.set_callbacks(quitter.clone());
    for round in 0..5 {
        let kdamond = match ctx.start() {
            Ok(k) => k,
            Err(e) if e == EBUSY && round == 0 => {
                t.skip("another DAMON context is running");
                return;
            }
            Err(e) => {
                // A restart refused: the group was not free yet.
                t.expect_ok(Err::<(), _>(e));
                return;
            }
        };
        let mut polls = 0u64;
        while kdamond.is_running() && polls < 50_000_000 {
            polls += 1;
            core::hint::spin_loop();
        }
        t.expect(!kdamond.is_running(), "the kdamond stopped on its own");
        t.expect(kdamond.pid().is_none(), "a stopped kdamond has no PID");
        t.expect(
            quitter.terminated.swap(false, Ordering::Relaxed),
            "before_terminate ran",
        );
        ctx = kdamond.stop();
    }
    // Two aggregations in the first run (the second fails), one in each
    // of the four restarts (the count is past the first already).
    t.expect_eq(quitter.aggregations.load(Ordering::Relaxed), 6);
    t.expect_eq(ctx.schemes().count(), 1);
}

/// A group of two contexts starts two kdamonds, which a single context
/// cannot join, and dropping the group stops both and frees the exclusive
/// group.
fn group_starts_and_stops_together(t: &mut Test) {
    let Some(rec) = t.expect_ok(Arc::new(Recorder::default(), GFP_KERNEL)) else {
        return;
    };
    let build = || -> Result<Context> {
        let mut ctx = Context::new(Ops::PhysicalAddress)?;
        ctx.set_attrs(&FAST)?;
        ctx.add_physical_target(0, 0)?;
        ctx.add_scheme(&stat_all(&[]))?;
        ctx.set_callbacks(rec.clone());
        Ok(ctx)
    };
    let mut ctxs = KVec::new();
    for _ in 0..2 {
        let Some(ctx) = t.expect_ok(build()) else {
            return;
        };
        if t.expect_ok(ctxs.push(ctx, GFP_KERNEL)).is_none() {
            return;
        }
    }
    let group = match Context::start_group(ctxs) {
        Ok(g) => g,
        Err(e) if e == EBUSY => {
            t.skip("another DAMON context is running");
            return;
        }
        Err(e) => {
            t.expect_ok(Err::<(), _>(e));
            return;
        }
    };
    t.expect_eq(group.len(), 2);
    let pid = |i: usize| group.get(i).and_then(Kdamond::pid);
    t.expect(
        pid(0).is_some() && pid(1).is_some() && pid(0) != pid(1),
        "two kdamonds with their own PIDs",
    );
    if let Some(mut other) = t.expect_ok(Context::new(Ops::PhysicalAddress)) {
        t.expect_ok(other.add_physical_target(0, 0));
        t.expect_err(other.start().map(|_| ()), EBUSY);
    }
    drop(group);
    if let Some(again) = start_recorded(t, &rec, Busy::Fails) {
        t.expect(again.is_running(), "the group's stop freed DAMON's group");
    }
}

kunit_suite!(
    damon_autotune_damon,
    [
        new_context_has_default_attrs,
        set_attrs_validates,
        physical_target_ranges,
        system_ram_ranges,
        two_schemes_with_goals,
        invalid_schemes_are_refused,
        commit_changed_copy,
        start_is_exclusive_and_drop_stops,
        callbacks_see_statistics,
        commit_into_running,
        self_stopped_kdamond_is_reaped,
        group_starts_and_stops_together,
    ]
);
