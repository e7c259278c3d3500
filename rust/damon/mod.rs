// SPDX-License-Identifier: GPL-2.0

//! Safe abstractions over DAMON's kernel API (`include/linux/damon.h`).
//!
//! A [`Context`] is a monitoring context being built: its operations set
//! (physical or virtual address space), attributes and targets. Starting
//! it gives a [`Kdamond`], the running context, which owns it until it is
//! stopped; dropping a `Kdamond` stops the thread and frees everything.
//!
//! C's errors become [`kernel::error::Error`] values, and every object is
//! freed on every path.

pub mod attrs;

use crate::bindings as b;
use core::ptr::NonNull;
use kernel::prelude::*;

pub use attrs::MonitoringAttrs;

/// Which address space a context monitors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ops {
    /// The physical address space (`DAMON_OPS_PADDR`).
    PhysicalAddress,
    /// A process's virtual address space (`DAMON_OPS_VADDR`).
    VirtualAddress,
}

impl Ops {
    fn id(self) -> b::damon_ops_id {
        match self {
            Ops::PhysicalAddress => b::damon_ops_id_DAMON_OPS_PADDR,
            Ops::VirtualAddress => b::damon_ops_id_DAMON_OPS_VADDR,
        }
    }
}

/// Converts a C return value (0 or a negative errno) into a `Result`.
fn to_result(ret: kernel::ffi::c_int) -> Result {
    if ret < 0 {
        Err(Error::from_errno(ret))
    } else {
        Ok(())
    }
}

/// A DAMON monitoring context that is not running.
///
/// # Invariants
///
/// `ptr` points to a `damon_ctx` allocated by `damon_new_ctx()`, owned by
/// this value, with its operations set selected, and no kdamond running on
/// it.
pub struct Context {
    ptr: NonNull<b::damon_ctx>,
}

// SAFETY: a `damon_ctx` not running has no thread-affine state; the owner
// may hand it to another thread.
unsafe impl Send for Context {}

impl Context {
    /// Creates a context monitoring `ops`' address space, with DAMON's
    /// default attributes and no targets. Fails with `EINVAL` if that
    /// operations set is not built into the kernel.
    pub fn new(ops: Ops) -> Result<Self> {
        // SAFETY: no preconditions.
        let ptr = NonNull::new(unsafe { b::damon_new_ctx() }).ok_or(ENOMEM)?;
        // SAFETY: `ptr` is a fresh context; `damon_select_ops` only fills
        // in its `ops` field.
        let ret = unsafe { b::damon_select_ops(ptr.as_ptr(), ops.id()) };
        if let Err(e) = to_result(ret) {
            // SAFETY: `ptr` came from `damon_new_ctx` and is not running.
            unsafe { b::damon_destroy_ctx(ptr.as_ptr()) };
            return Err(e);
        }
        // INVARIANT: allocated, ops selected, not running.
        Ok(Self { ptr })
    }

    /// The attributes of the context.
    pub fn attrs(&self) -> MonitoringAttrs {
        // SAFETY: `ptr` is valid by the type invariant.
        MonitoringAttrs::from_raw(unsafe { &(*self.ptr.as_ptr()).attrs })
    }

    /// Adds a target that monitors the biggest block of System RAM (the
    /// default of DAMON_RECLAIM), or `[start, end)` when either is nonzero.
    /// Returns the range monitored.
    pub fn add_physical_target(&mut self, start: u64, end: u64) -> Result<(u64, u64)> {
        let mut start = usize::try_from(start).map_err(|_| EINVAL)?;
        let mut end = usize::try_from(end).map_err(|_| EINVAL)?;
        // SAFETY: no preconditions.
        let t = NonNull::new(unsafe { b::damon_new_target() }).ok_or(ENOMEM)?;
        // SAFETY: `t` is a valid target; `start` and `end` are valid for
        // the duration of the call.
        let ret = unsafe {
            b::damon_set_region_biggest_system_ram_default(t.as_ptr(), &mut start, &mut end)
        };
        // SAFETY: `t` is valid and not yet in any context, so `self` takes
        // ownership of it (also on error: destroying the context frees it).
        unsafe { b::damon_add_target(self.ptr.as_ptr(), t.as_ptr()) };
        to_result(ret)?;
        Ok((start as u64, end as u64))
    }

    /// Starts a kdamond for this context, exclusively: fails with `EBUSY`
    /// when any other DAMON context (DAMON_RECLAIM, DAMON_LRU_SORT, the
    /// sysfs interface) is running. On failure the context is freed.
    pub fn start(self) -> Result<Kdamond> {
        let mut ptr = self.ptr.as_ptr();
        // SAFETY: `ptr` is a valid context that is not running; DAMON reads
        // one pointer from the array.
        to_result(unsafe { b::damon_start(&mut ptr, 1, true) })?;
        // INVARIANT: `damon_start` succeeded, so a kdamond was started.
        Ok(Kdamond { ctx: self })
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: by the type invariant the context is owned and not
        // running; it is not used after this.
        unsafe { b::damon_destroy_ctx(self.ptr.as_ptr()) };
    }
}

/// A context a kdamond was started on. Dropping it stops the kdamond (if
/// it did not stop on its own) and frees the context.
///
/// # Invariants
///
/// A kdamond was started on `ctx` by `damon_start()`; it may have stopped
/// since.
pub struct Kdamond {
    ctx: Context,
}

impl Kdamond {
    /// Whether the kdamond is still running.
    pub fn is_running(&self) -> bool {
        // SAFETY: the context is valid.
        unsafe { b::damon_is_running(self.ctx.ptr.as_ptr()) }
    }

    /// The kdamond's PID, or `None` if it is not running.
    pub fn pid(&self) -> Option<i32> {
        // SAFETY: the context is valid.
        let pid = unsafe { b::damon_kdamond_pid(self.ctx.ptr.as_ptr()) };
        (pid >= 0).then_some(pid)
    }

    /// The context's attributes.
    pub fn attrs(&self) -> MonitoringAttrs {
        self.ctx.attrs()
    }
}

impl Drop for Kdamond {
    fn drop(&mut self) {
        let mut ptr = self.ctx.ptr.as_ptr();
        // SAFETY: the context is valid. `damon_stop` waits for the kdamond
        // to exit, and returns an error (ignored) if it already had.
        unsafe { b::damon_stop(&mut ptr, 1) };
        // INVARIANT: no kdamond runs on `ctx` any more; dropping it frees it.
    }
}
