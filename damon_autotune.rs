// SPDX-License-Identifier: GPL-2.0

//! damon_autotune: a self-tuning DAMON-based memory manager.
//!
//! This file is the module: its life cycle and the parameters that drive
//! it (`enabled`, `commit_inputs`, `kdamond_pid`). What runs is built in
//! `module/`: `module/reclaim.rs` declares the reclaim parameters and turns
//! them into a DAMON context and the callbacks its kdamond runs;
//! `module/min_age.rs` holds `min_age` tuning's parameters and its step.
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
#[path = "module/reclaim.rs"]
pub mod reclaim;
#[path = "rust/tests/mod.rs"]
mod tests;

use damon::Kdamond;
use params::{Locked, ParamLock};
use reclaim::ReclaimCallbacks;

module! {
    type: DamonAutotune,
    name: "damon_autotune",
    author: "damon_autotune developers",
    description: "Self-tuning DAMON-based proactive reclaim and memory tiering",
    license: "GPL",
}

module_params! {
    /// Enable or disable damon_autotune: Y starts its kdamond, N stops it.
    enabled: bool = false, 0o600, hook = set_enabled;
    /// Y makes the running kdamond use the current parameters (reads N once applied).
    commit_inputs: bool = false, 0o600, hook = set_commit_inputs;
    /// PID of the kdamond, or -1 if none is running (read-only).
    kdamond_pid: i32 = -1, 0o400;
}

/// The running kdamond and the callbacks it runs.
struct Running {
    kdamond: Kdamond,
    reclaim: Arc<ReclaimCallbacks>,
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

/// Builds a context from the parameters and starts its kdamond.
fn turn_on(state: &mut State) -> Result {
    if state
        .running
        .as_ref()
        .is_some_and(|r| r.kdamond.is_running())
    {
        return Ok(());
    }
    // A kdamond that stopped on its own is cleaned up and started again.
    state.running = None;
    let (mut ctx, settings) = reclaim::read_inputs()?;
    let callbacks = Arc::pin_init(ReclaimCallbacks::new(settings), GFP_KERNEL)?;
    ctx.set_callbacks(callbacks.clone());
    let kdamond = ctx.start().inspect_err(|e| {
        if *e == EBUSY {
            pr_err!("another DAMON user (DAMON_RECLAIM, DAMON_LRU_SORT or the sysfs interface) is running\n");
        }
    })?;
    kdamond_pid.set(kdamond.pid().unwrap_or(-1));
    state.running = Some(Running {
        kdamond,
        reclaim: callbacks,
    });
    Ok(())
}

/// Stops the kdamond, if any.
fn turn_off(state: &mut State) {
    state.running = None;
    kdamond_pid.set(-1);
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
/// kdamond, which applies them at its next callback.
fn set_commit_inputs(lock: &mut ParamLock, commit: bool) -> Result {
    let state = STATE.get(lock);
    if !commit || !state.live {
        return Ok(());
    }
    let (ctx, settings) = reclaim::read_inputs()?;
    if let Some(r) = &state.running {
        r.kdamond.commit(ctx)?;
        r.reclaim.update(settings);
    }
    Ok(())
}

/// Called by the kdamond's callbacks once pending commits are applied.
fn commit_applied() {
    commit_inputs.set(false);
}

/// Called by the kdamond before it exits, stopped or on its own.
fn kdamond_terminated() {
    kdamond_pid.set(-1);
}

struct DamonAutotune;

impl kernel::Module for DamonAutotune {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let mut lock = params::lock();
        let state = STATE.get(&mut lock);
        if enabled.get() {
            turn_on(state)?;
        }
        state.live = true;
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
