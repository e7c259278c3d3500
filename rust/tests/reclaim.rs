// SPDX-License-Identifier: GPL-2.0

//! KUnit: the reclaim module's fail-charge emulation on the running
//! kernel's DAMON core, in a real short run.

use crate::damon::{Callbacks, Context, MonitoringAttrs, Ops, Region, Running, SchemeMut};
use crate::kunit::{msleep, Test};
use crate::kunit_suite;
use crate::policy::damos::{AccessPattern, Action, Quota, SchemeSpec, Watermarks};
use crate::policy::failcharge::{charge, MIN_REGION};
use crate::reclaim::FailCharge;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use kernel::{prelude::*, sync::Arc};

/// The quota per charge window: 64 MiB per 100 ms. Large enough that a
/// walk cuts few regions to it: the core cuts each to the quota left, so
/// a walk through 768 MiB of failures at 256 KiB made thousands of
/// regions (upstream 7.2 slices as much) and never saw a second window in
/// 500 ms under TCG.
const QUOTA: u64 = 64 << 20;
const RESET_MS: u64 = 100;
/// Charge windows recorded.
const WINDOWS: usize = 64;
/// Regions traced, in the second window.
const TRACE: usize = 24;

/// Short intervals, so that the kdamond walks often in a test.
const FAST: MonitoringAttrs = MonitoringAttrs {
    sample_interval_us: 1_000,
    aggr_interval_us: 10_000,
    ops_update_interval_us: 1_000_000,
    min_nr_regions: 10,
    max_nr_regions: 1_000,
};

/// DAMOS_STAT on every region, with a hard quota: its action "fails" on
/// every byte (it applies nothing), and costs nothing, so that a walk
/// through the whole VM is quick.
fn stat_all() -> SchemeSpec<'static> {
    SchemeSpec {
        pattern: AccessPattern::ANY,
        action: Action::Stat,
        apply_interval_us: 0,
        target_nid: 0,
        quota: Quota {
            ms: 0,
            sz: QUOTA,
            reset_interval_ms: RESET_MS,
            weight_sz: 0,
            weight_nr_accesses: 0,
            weight_age: 1,
        },
        goals: &[],
        wmarks: Watermarks::NONE,
        filters: &[],
    }
}

/// Runs the reclaim module's [`FailCharge`] and records, per charge
/// window, the regions the core applied the scheme to, their bytes and
/// upstream's charge of them; and, for the first regions of the second
/// window, the size and the core's `esz` and `charged_sz` once the
/// emulation wrote them.
struct Tracer {
    fc: FailCharge,
    num: u64,
    denom: u64,
    window: AtomicU64,
    idx: AtomicUsize,
    /// Per window: regions, bytes, upstream's charge.
    windows: KVec<AtomicU64>,
    traced: AtomicUsize,
    /// Per traced region: size, esz, charged_sz.
    trace: KVec<AtomicU64>,
}

fn atomics(n: usize) -> Result<KVec<AtomicU64>> {
    let mut v = KVec::with_capacity(n, GFP_KERNEL)?;
    for _ in 0..n {
        v.push(AtomicU64::new(0), GFP_KERNEL)?;
    }
    Ok(v)
}

impl Tracer {
    fn new(num: u64, denom: u64) -> Result<Self> {
        Ok(Self {
            fc: FailCharge::new(),
            num,
            denom,
            window: AtomicU64::new(0),
            idx: AtomicUsize::new(0),
            windows: atomics(WINDOWS * 3)?,
            traced: AtomicUsize::new(0),
            trace: atomics(TRACE * 3)?,
        })
    }

    fn get(v: &KVec<AtomicU64>, i: usize) -> u64 {
        v[i].load(Ordering::Relaxed)
    }
}

impl Callbacks for Tracer {
    fn after_aggregation(&self, ctx: &mut Running<'_>) -> Result {
        if let Some(mut s) = ctx.scheme(0) {
            self.fc.between_walks(&mut s, None, self.num, self.denom);
        }
        Ok(())
    }

    const BEFORE_DAMOS_APPLY: bool = true;

    fn before_damos_apply(&self, s: &mut SchemeMut<'_>, region: Region) {
        let r = Ordering::Relaxed;
        let window = s.as_ref().quota_state().charged_from;
        let size = region.size();
        self.fc.before_region(s, size, self.num, self.denom);
        let q = s.as_ref().quota_state();
        if self.window.swap(window, r) != window {
            self.idx.fetch_add(1, r);
        }
        // Index 0 is before the first region; 1 is 6.12's first window.
        let w = self.idx.load(r);
        if w >= WINDOWS {
            return;
        }
        self.windows[w * 3].fetch_add(1, r);
        self.windows[w * 3 + 1].fetch_add(size, r);
        // DAMOS_STAT applies nothing: upstream charges the region at the
        // ratio.
        self.windows[w * 3 + 2].fetch_add(charge(size, 0, self.num, self.denom), r);
        if w == 2 {
            let i = self.traced.fetch_add(1, r);
            if i < TRACE {
                self.trace[i * 3].store(size, r);
                self.trace[i * 3 + 1].store(q.esz, r);
                self.trace[i * 3 + 2].store(q.charged_sz, r);
            }
        }
    }
}

/// What one charge window of a run did.
#[derive(Clone, Copy, Debug, Default)]
struct Window {
    regions: u64,
    tried: u64,
    /// Upstream's charge of the window.
    charged: u64,
}

/// Runs a kdamond with `stat_all()` for 500 ms with the charge ratio
/// `num/denom`; returns its complete windows (not 6.12's unlimited first
/// one, nor the last, cut by the stop), or `None` if it could not run (the
/// case is then skipped or failed).
fn run(t: &mut Test, num: u64, denom: u64) -> Option<KVec<Window>> {
    let tracer = t.expect_ok(Tracer::new(num, denom))?;
    let tracer = t.expect_ok(Arc::new(tracer, GFP_KERNEL))?;
    let mut ctx = t.expect_ok(Context::new(Ops::PhysicalAddress))?;
    t.expect_ok(ctx.set_attrs(&FAST))?;
    t.expect_ok(ctx.add_physical_target(0, 0))?;
    t.expect_ok(ctx.add_scheme(&stat_all()))?;
    ctx.set_callbacks(tracer.clone());
    let kdamond = match ctx.start() {
        Ok(k) => k,
        Err(e) if e == EBUSY => {
            t.skip("another DAMON context is running");
            return None;
        }
        Err(e) => {
            t.expect_ok(Err::<(), _>(e));
            return None;
        }
    };
    msleep(500);
    drop(kdamond);
    let traced = tracer.traced.load(Ordering::Relaxed).min(TRACE);
    for i in 0..traced {
        pr_info!(
            "fail-charge {}/{}: window 2 region {}: size {} esz {} charged_sz {}\n",
            num,
            denom,
            i,
            Tracer::get(&tracer.trace, i * 3),
            Tracer::get(&tracer.trace, i * 3 + 1),
            Tracer::get(&tracer.trace, i * 3 + 2)
        );
    }
    let last = tracer.idx.load(Ordering::Relaxed).min(WINDOWS);
    let mut windows = KVec::new();
    for w in 2..last {
        let win = Window {
            regions: Tracer::get(&tracer.windows, w * 3),
            tried: Tracer::get(&tracer.windows, w * 3 + 1),
            charged: Tracer::get(&tracer.windows, w * 3 + 2),
        };
        pr_info!(
            "fail-charge {}/{}: window {}: {} regions, tried {}, charged {}\n",
            num,
            denom,
            w,
            win.regions,
            win.tried,
            win.charged
        );
        t.expect_ok(windows.push(win, GFP_KERNEL));
    }
    Some(windows)
}

/// With the ratio 1/4096, a walk goes on through regions where the action
/// fails: a window tries many times its quota and is charged at most the
/// quota plus a page; without the ratio, a window tries at most its quota.
/// (That the walk then stops once the applied bytes fill the quota is the
/// host model's test, `walk_goes_through_failures_until_applied_fills_the_
/// quota`, and 50-failcharge.sh's.)
fn fail_charge_walks_through_failures(t: &mut Test) {
    let Some(on) = run(t, 1, 4096) else {
        return;
    };
    let Some(off) = run(t, 0, 0) else {
        return;
    };
    t.expect(
        !on.is_empty(),
        "the run with the ratio had complete windows",
    );
    t.expect(!off.is_empty(), "the run without it had complete windows");
    for w in on.iter() {
        t.expect(
            w.charged <= QUOTA + MIN_REGION,
            "a window is charged at most its quota and a page",
        );
        t.expect(
            w.tried > 4 * QUOTA,
            "with the ratio, a window tries more than 4 times its quota",
        );
    }
    for w in off.iter() {
        t.expect(
            w.tried <= QUOTA,
            "without the ratio, a window tries at most its quota",
        );
    }
}

kunit_suite!(damon_autotune_reclaim, [fail_charge_walks_through_failures]);
