// SPDX-License-Identifier: GPL-2.0

//! damon_autotune: a self-tuning DAMON-based memory manager.
//!
//! This file is the module: its life cycle and the parameters that drive
//! it (`enabled`, `commit_inputs`, `kdamond_pid`). What runs is one
//! exclusive DAMON group, built in `module/`: `module/reclaim.rs` declares
//! the reclaim parameters and turns them into a DAMON context and the
//! callbacks its kdamond runs; `module/min_age.rs` holds `min_age` tuning's
//! parameters and its step; `module/tier.rs` declares tiering's parameters
//! and turns them into one context per NUMA node of its chain;
//! `module/quota_loop.rs` is the goal loop both run on their schemes.
//!
//! The layers below live in `rust/`:
//! - `rust/damon`: safe abstractions over DAMON; with `rust/params`,
//!   `rust/kunit`, `rust/mm` and the generated `rust/bindings`, the only
//!   `unsafe` code;
//! - `rust/params`: typed module parameters (`module_params!`);
//! - `rust/policy`: pure policy logic, also tested on the host;
//! - `rust/tests`: the KUnit suites, run when the module is loaded.

use kernel::{prelude::*, sync::Arc};

#[path = "rust/bindings/mod.rs"]
pub mod bindings;
#[path = "rust/damon/mod.rs"]
pub mod damon;
#[path = "rust/kunit/mod.rs"]
pub mod kunit;
#[path = "module/min_age.rs"]
pub mod min_age;
#[path = "rust/mm.rs"]
pub mod mm;
#[path = "rust/params/mod.rs"]
pub mod params;
#[path = "rust/policy/mod.rs"]
pub mod policy;
#[path = "module/quota_loop.rs"]
pub mod quota_loop;
#[path = "module/reclaim.rs"]
pub mod reclaim;
#[path = "rust/tests/mod.rs"]
mod tests;
#[path = "module/tier.rs"]
pub mod tier;

use damon::{Context, Kdamond};
use params::{Locked, ParamLock};
use policy::tier::NodeChain;
use reclaim::ReclaimCallbacks;
use tier::TierCallbacks;

module! {
    type: DamonAutotune,
    name: "damon_autotune",
    author: "damon_autotune developers",
    description: "Self-tuning DAMON-based proactive reclaim and memory tiering",
    license: "GPL",
}

module_params! {
    /// Enable or disable damon_autotune: Y starts its kdamond, N stops it (reads whether one runs).
    enabled: bool = false, 0o600, hook = set_enabled, read = enabled_now;
    /// Y makes the running kdamond use the current parameters (reads N once applied).
    commit_inputs: bool = false, 0o600, hook = set_commit_inputs, read = commit_inputs_now;
    /// PID of the kdamond, or -1 if none is running (read-only).
    kdamond_pid: i32 = -1, 0o400, read = kdamond_pid_now;
    /// Error of the last commit a kdamond applied (negative errno), 0 if it worked (read-only).
    commit_error: i32 = 0, 0o400, read = commit_error_now;
}

/// What the group runs: the reclaim context (unless only tiering is on)
/// and tiering's contexts, one per node of its chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Layout {
    reclaim: bool,
    chain: NodeChain,
}

/// The running kdamonds and the callbacks they run.
struct Running {
    layout: Layout,
    /// Reclaim's first (if it runs), then tiering's in chain order.
    kdamonds: KVec<Kdamond>,
    reclaim: Option<Arc<ReclaimCallbacks>>,
    tier: KVec<Arc<TierCallbacks>>,
}

impl Running {
    fn is_running(&self) -> bool {
        self.kdamonds.iter().any(|k| k.is_running())
    }
}

/// What the module runs, shared by `init`, `exit` and the parameter hooks.
struct State {
    /// `init` has run: `enabled` and `commit_inputs` act, instead of only
    /// recording values for `init`.
    live: bool,
    running: Option<Running>,
}

static STATE: Locked<State> = Locked::new(State {
    live: false,
    running: None,
});

/// The contexts the parameters describe, with their callbacks' settings.
struct Inputs {
    layout: Layout,
    /// The context, its callbacks' settings and the ranges it monitors.
    reclaim: Option<(Context, reclaim::Settings, KVec<policy::ranges::Range>)>,
    tier: Option<tier::Inputs>,
}

/// Reads every parameter into contexts; `EINVAL` (and nothing built) if
/// any combination is refused.
fn read_inputs() -> Result<Inputs> {
    // Reclaim runs unless tiering runs alone (reclaim=N tier=Y).
    let reclaim = if reclaim::wanted() || !tier::wanted() {
        Some(reclaim::read_inputs()?)
    } else {
        None
    };
    let tier = if tier::wanted() {
        Some(tier::read_inputs()?)
    } else {
        None
    };
    Ok(Inputs {
        layout: Layout {
            reclaim: reclaim.is_some(),
            chain: tier.as_ref().map_or(NodeChain::EMPTY, |t| t.chain),
        },
        reclaim,
        tier,
    })
}

/// Builds the contexts from the parameters and starts their kdamonds.
fn turn_on(state: &mut State) -> Result {
    if state.running.as_ref().is_some_and(Running::is_running) {
        return Ok(());
    }
    // Kdamonds that stopped on their own are cleaned up and started again.
    turn_off(state);
    let inputs = read_inputs()?;
    let mut ctxs = KVec::new();
    let mut reclaim_cb = None;
    let mut reclaim_ranges = KVec::new();
    if let Some((mut ctx, settings, ranges)) = inputs.reclaim {
        let cb = Arc::pin_init(ReclaimCallbacks::new(settings), GFP_KERNEL)?;
        ctx.set_callbacks(cb.clone());
        ctxs.push(ctx, GFP_KERNEL)?;
        reclaim_cb = Some(cb);
        reclaim_ranges = ranges;
    }
    let mut tier_cbs = KVec::new();
    if let Some(t) = inputs.tier {
        for (idx, mut ctx) in t.ctxs.into_iter().enumerate() {
            let cb = Arc::new(TierCallbacks::new(&t.chain, idx, &t.cfg)?, GFP_KERNEL)?;
            ctx.set_callbacks(cb.clone());
            ctxs.push(ctx, GFP_KERNEL)?;
            tier_cbs.push(cb, GFP_KERNEL)?;
        }
        tier::reset_stats(&t.chain);
        pr_info!("tiering on nodes {}\n", t.chain);
    }
    let kdamonds = Context::start_group(ctxs).inspect_err(|e| {
        tier::stopped();
        if *e == EBUSY {
            pr_err!("another DAMON user (DAMON_RECLAIM, DAMON_LRU_SORT or the sysfs interface) is running\n");
        }
    })?;
    reclaim::show_monitored(&reclaim_ranges);
    state.running = Some(Running {
        layout: inputs.layout,
        kdamonds,
        reclaim: reclaim_cb,
        tier: tier_cbs,
    });
    Ok(())
}

/// Stops the kdamonds, if any.
fn turn_off(state: &mut State) {
    state.running = None;
    reclaim::show_monitored(&[]);
    tier::stopped();
}

/// `enabled` as read: whether a kdamond of the group runs (as upstream's
/// `damon_reclaim_enabled_load()`); before `init`, the value given.
fn enabled_now(lock: &mut ParamLock) -> bool {
    let state = STATE.get(lock);
    if !state.live {
        return enabled.get();
    }
    state.running.as_ref().is_some_and(Running::is_running)
}

/// `kdamond_pid` as read: the PID of the group's first kdamond that runs
/// (reclaim's first), -1 if none does.
fn kdamond_pid_now(lock: &mut ParamLock) -> i32 {
    STATE
        .get(lock)
        .running
        .as_ref()
        .and_then(|r| r.kdamonds.iter().find_map(|k| k.pid()))
        .unwrap_or(-1)
}

/// `commit_error` as read: the error of the last commit that a running
/// kdamond applied and that failed (a negative errno), 0 if none did.
fn commit_error_now(lock: &mut ParamLock) -> i32 {
    STATE.get(lock).running.as_ref().map_or(0, |r| {
        r.kdamonds
            .iter()
            .map(|k| k.commits().1)
            .find(|&e| e != 0)
            .unwrap_or(0)
    })
}

/// `commit_inputs` as read: Y until a kdamond applied the commit, and
/// while the last commit a kdamond applied failed (`commit_error`).
fn commit_inputs_now(lock: &mut ParamLock) -> bool {
    commit_inputs.get() || commit_error_now(lock) != 0
}

/// `enabled`: before `init` only records the value.
fn set_enabled(lock: &mut ParamLock, on: bool) -> Result {
    let state = STATE.get(lock);
    if !state.live {
        return Ok(());
    }
    if on {
        turn_on(state)
    } else {
        turn_off(state);
        Ok(())
    }
}

/// `commit_inputs`: checks the parameters as a whole (`EINVAL` if DAMON
/// would refuse them, and nothing changes) and hands them to the running
/// kdamonds, which apply them at their next callback. Turning reclaim or
/// tiering on or off, or another chain, needs new kdamonds: `EBUSY`, until
/// `enabled` is cycled.
fn set_commit_inputs(lock: &mut ParamLock, commit: bool) -> Result {
    let state = STATE.get(lock);
    if !commit || !state.live {
        return Ok(());
    }
    let inputs = read_inputs()?;
    let Some(r) = &state.running else {
        return Ok(());
    };
    if inputs.layout != r.layout {
        pr_err!("reclaim, tier or tier_nodes changed: write enabled=N, then enabled=Y\n");
        return Err(EBUSY);
    }
    // Everything that can fail comes first (the contexts are boxed for
    // the kdamonds, in their order), so that a refused commit hands over
    // nothing and leaves every setting as it was.
    let mut boxes = KVec::with_capacity(r.kdamonds.len(), GFP_KERNEL)?;
    let mut reclaim_settings = None;
    if let Some((ctx, settings, ranges)) = inputs.reclaim {
        boxes.push(KBox::new(ctx, GFP_KERNEL)?, GFP_KERNEL)?;
        reclaim_settings = Some((settings, ranges));
    }
    let mut tier_cfg = None;
    if let Some(t) = inputs.tier {
        for ctx in t.ctxs {
            boxes.push(KBox::new(ctx, GFP_KERNEL)?, GFP_KERNEL)?;
        }
        tier_cfg = Some(t.cfg);
    }
    // The same layout: one context per kdamond.
    if boxes.len() != r.kdamonds.len() {
        return Err(EINVAL);
    }
    // Nothing fails from here on.
    for (k, ctx) in r.kdamonds.iter().zip(boxes) {
        k.commit(ctx);
    }
    if let (Some((settings, ranges)), Some(cb)) = (reclaim_settings, &r.reclaim) {
        cb.update(settings);
        reclaim::show_monitored(&ranges);
    }
    if let Some(cfg) = &tier_cfg {
        for cb in r.tier.iter() {
            cb.update(cfg);
        }
    }
    Ok(())
}

/// Called by the kdamond's callbacks once pending commits are applied.
fn commit_applied() {
    commit_inputs.set(false);
}

/// Called by the kdamond before it exits, stopped or on its own. Nothing
/// to do: `enabled` and `kdamond_pid` are computed when read.
fn kdamond_terminated() {}

struct DamonAutotune;

impl kernel::Module for DamonAutotune {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let mut lock = params::lock();
        let state = STATE.get(&mut lock);
        // As upstream's `damon_reclaim_init()`: if the kdamonds the boot or
        // load parameters ask for cannot start, `enabled` reads N and later
        // writes act (built in, the parameters stay after a failed init).
        state.live = true;
        if enabled.get() {
            turn_on(state).inspect_err(|_| enabled.set(false))?;
        }
        Ok(DamonAutotune)
    }
}

impl Drop for DamonAutotune {
    fn drop(&mut self) {
        let mut lock = params::lock();
        let state = STATE.get(&mut lock);
        state.live = false;
        turn_off(state);
    }
}
