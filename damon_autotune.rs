// SPDX-License-Identifier: GPL-2.0

//! damon_autotune: a self-tuning DAMON-based memory manager.
//!
//! This file is the module: its parameters and the wiring from them to
//! DAMON. The layers it uses live in `rust/`:
//! - `rust/damon`: safe abstractions over DAMON (the only `unsafe` code,
//!   with `rust/params`, `rust/kunit` and the generated `rust/bindings`);
//! - `rust/params`: typed module parameters;
//! - `rust/policy`: pure policy logic, also tested on the host;
//! - `rust/tests`: the KUnit suites, run when the module is loaded.

use kernel::prelude::*;

#[path = "rust/bindings/mod.rs"]
pub mod bindings;
#[path = "rust/damon/mod.rs"]
pub mod damon;
#[path = "rust/kunit/mod.rs"]
pub mod kunit;
#[path = "rust/params/mod.rs"]
pub mod params;
#[path = "rust/policy/mod.rs"]
pub mod policy;
#[path = "rust/tests/mod.rs"]
mod tests;

use damon::{Context, Kdamond, Ops};
use params::{Locked, ParamLock};

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
    /// PID of the kdamond, or -1 if none is running (read-only).
    kdamond_pid: i32 = -1, 0o400;
}

/// What the module runs, shared by `init`, `exit` and the `enabled` hook.
struct State {
    /// `init` has run: writes to `enabled` act, instead of only recording
    /// the value for `init`.
    live: bool,
    kdamond: Option<Kdamond>,
}

static STATE: Locked<State> = Locked::new(State {
    live: false,
    kdamond: None,
});

/// Starts the kdamond.
fn turn_on(state: &mut State) -> Result {
    if state.kdamond.is_some() {
        return Ok(());
    }
    let mut ctx = Context::new(Ops::PhysicalAddress)?;
    ctx.add_physical_target(0, 0)?;
    let kdamond = ctx.start().inspect_err(|e| {
        if *e == EBUSY {
            pr_err!("another DAMON user (DAMON_RECLAIM, DAMON_LRU_SORT or sysfs) is running\n");
        }
    })?;
    kdamond_pid.set(kdamond.pid().unwrap_or(-1));
    state.kdamond = Some(kdamond);
    Ok(())
}

/// Stops the kdamond, if any.
fn turn_off(state: &mut State) {
    state.kdamond = None;
    kdamond_pid.set(-1);
}

/// The `enabled` hook: before `init` only records the value.
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
