// SPDX-License-Identifier: GPL-2.0

//! Safe abstractions over DAMON's kernel API (`include/linux/damon.h`).
//!
//! - [`Context`]: a monitoring context being built: operations set,
//!   attributes, targets, schemes (from the plain descriptions of
//!   [`crate::policy::damos`]) and callbacks.
//! - [`Kdamond`]: a context whose kdamond was started. It owns the context;
//!   dropping it stops the thread and frees everything. New parameters reach
//!   a running kdamond by [`Kdamond::commit`], applied by the kdamond itself
//!   (DAMON_RECLAIM's `damon_commit_ctx()` path).
//! - [`Callbacks`]: what the module runs inside the kdamond, with safe
//!   access to the running context's schemes ([`Running`], [`SchemeMut`]).
//!
//! C errors become [`kernel::error::Error`] values, every object is freed on
//! every path, and enum values and layouts come from the bindings generated
//! against the kernel being built for.

mod callbacks;
mod context;
mod scheme;

pub use crate::policy::attrs::MonitoringAttrs;
pub use callbacks::{Callbacks, Kdamond, Region, Running};
pub use context::{Context, Ops};
pub use scheme::{QuotaState, SchemeMut, SchemeRef, Schemes};

use kernel::prelude::*;

/// Converts a C return value (0 or a negative errno) into a `Result`.
fn to_result(ret: kernel::ffi::c_int) -> Result {
    if ret < 0 {
        Err(Error::from_errno(ret))
    } else {
        Ok(())
    }
}
