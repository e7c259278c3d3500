// SPDX-License-Identifier: GPL-2.0

//! Monitoring contexts that are not running.

use super::{callbacks::Shared, scheme, to_result, Kdamond, MonitoringAttrs, SchemeRef, Schemes};
use crate::bindings as b;
use crate::policy::damos::SchemeSpec;
use crate::policy::ranges::{self, Range, MAX_RANGES};
use core::ptr::NonNull;
use kernel::prelude::*;

/// Which address space a context monitors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ops {
    /// The physical address space (`DAMON_OPS_PADDR`).
    PhysicalAddress,
    /// Processes' virtual address spaces (`DAMON_OPS_VADDR`).
    VirtualAddress,
    /// Fixed virtual address ranges of processes (`DAMON_OPS_FVADDR`).
    FixedVirtualAddress,
}

impl Ops {
    fn id(self) -> b::damon_ops_id {
        match self {
            Ops::PhysicalAddress => b::damon_ops_id_DAMON_OPS_PADDR,
            Ops::VirtualAddress => b::damon_ops_id_DAMON_OPS_VADDR,
            Ops::FixedVirtualAddress => b::damon_ops_id_DAMON_OPS_FVADDR,
        }
    }
}

/// A DAMON monitoring context that is not running.
///
/// # Invariants
///
/// `ptr` points to a `damon_ctx` allocated by `damon_new_ctx()`, owned by
/// this value, with its operations set selected and no kdamond running on
/// it, nor one that will (a [`Kdamond`] owns a context it started). Its
/// `callback.private` is null: `shared`, the state its kdamond will share,
/// is only published when a kdamond is started ([`Kdamond`]), so that it
/// can be changed through `&mut` until then.
pub struct Context {
    pub(super) ptr: NonNull<b::damon_ctx>,
    pub(super) shared: KBox<Shared>,
}

// SAFETY: a `damon_ctx` that is not running has no thread-affine state and
// no other user (type invariant), and `Shared` is `Send`: the owner may
// hand the context to another thread.
unsafe impl Send for Context {}

impl Context {
    /// Creates a context monitoring `ops`' address space, with DAMON's
    /// default attributes, no targets and no schemes. Fails with `EINVAL`
    /// if that operations set is not registered in this kernel (not built
    /// in).
    pub fn new(ops: Ops) -> Result<Self> {
        let shared = KBox::new(Shared::new(), GFP_KERNEL)?;
        // SAFETY: no preconditions.
        let ptr = NonNull::new(unsafe { b::damon_new_ctx() }).ok_or(ENOMEM)?;
        // INVARIANT: `ptr` is fresh and owned, and `damon_new_ctx()` zeroes
        // `callback`; the ops set is selected below, and on failure `ctx`
        // is dropped, freeing it.
        let ctx = Self { ptr, shared };
        // SAFETY: `ptr` is a valid context that is not running.
        to_result(unsafe { b::damon_select_ops(ptr.as_ptr(), ops.id()) })?;
        Ok(ctx)
    }

    /// The monitoring attributes.
    pub fn attrs(&self) -> MonitoringAttrs {
        // SAFETY: `ptr` is valid (type invariant).
        attrs_from_raw(unsafe { &(*self.ptr.as_ptr()).attrs })
    }

    /// Sets the monitoring attributes. Invalid ones (see
    /// [`MonitoringAttrs::validate`]) are refused with `EINVAL` before DAMON
    /// sees them, so that a commit of this context cannot fail half-way.
    pub fn set_attrs(&mut self, attrs: &MonitoringAttrs) -> Result {
        attrs.validate().map_err(|_| EINVAL)?;
        let conv = |v: u64| usize::try_from(v).map_err(|_| EINVAL);
        let mut raw = b::damon_attrs {
            sample_interval: conv(attrs.sample_interval_us)?,
            aggr_interval: conv(attrs.aggr_interval_us)?,
            ops_update_interval: conv(attrs.ops_update_interval_us)?,
            min_nr_regions: conv(attrs.min_nr_regions)?,
            max_nr_regions: conv(attrs.max_nr_regions)?,
        };
        // SAFETY: `ptr` is a valid context that is not running; `raw` is
        // valid for the call.
        to_result(unsafe { b::damon_set_attrs(self.ptr.as_ptr(), &mut raw) })
    }

    /// Adds a target on the physical address space monitoring
    /// `[start, end)`, or, when both are 0, the biggest block of System RAM
    /// (DAMON_RECLAIM's default). Returns the range monitored. An empty or
    /// inverted range is refused with `EINVAL`.
    pub fn add_physical_target(&mut self, start: u64, end: u64) -> Result<(u64, u64)> {
        let mut start = usize::try_from(start).map_err(|_| EINVAL)?;
        let mut end = usize::try_from(end).map_err(|_| EINVAL)?;
        if (start, end) != (0, 0) && start >= end {
            return Err(EINVAL);
        }
        // SAFETY: no preconditions.
        let t = NonNull::new(unsafe { b::damon_new_target() }).ok_or(ENOMEM)?;
        // SAFETY: `t` is valid and in no context; the context owns it from
        // now on (destroying the context frees it, also on error below).
        unsafe { b::damon_add_target(self.ptr.as_ptr(), t.as_ptr()) };
        // SAFETY: `t` is a valid target; `start` and `end` are valid for
        // the duration of the call.
        to_result(unsafe {
            b::damon_set_region_biggest_system_ram_default(t.as_ptr(), &mut start, &mut end)
        })?;
        Ok((start as u64, end as u64))
    }

    /// Adds a target on the physical address space monitoring every range
    /// of `ranges`, one region each at first (upstream 7.2's DAMON_RECLAIM
    /// default, on every System RAM resource). The ranges must be as
    /// [`ranges::normalize`] leaves them: page-aligned, non-empty, sorted
    /// and apart; anything else, or no range, is refused with `EINVAL`.
    pub fn add_physical_ranges(&mut self, ranges: &[Range]) -> Result {
        let mut raw = KVec::with_capacity(ranges.len(), GFP_KERNEL)?;
        let mut prev_end = None;
        for r in ranges {
            let aligned = |v: u64| v % crate::policy::damos::MIN_REGION == 0;
            if r.is_empty() || !aligned(r.start) || !aligned(r.end) {
                return Err(EINVAL);
            }
            if prev_end.is_some_and(|e| e >= r.start) {
                return Err(EINVAL);
            }
            prev_end = Some(r.end);
            raw.push(
                b::damon_addr_range {
                    start: usize::try_from(r.start).map_err(|_| EINVAL)?,
                    end: usize::try_from(r.end).map_err(|_| EINVAL)?,
                },
                GFP_KERNEL,
            )?;
        }
        let nr = kernel::ffi::c_uint::try_from(raw.len()).map_err(|_| EINVAL)?;
        if nr == 0 {
            return Err(EINVAL);
        }
        // SAFETY: no preconditions.
        let t = NonNull::new(unsafe { b::damon_new_target() }).ok_or(ENOMEM)?;
        // SAFETY: `t` is valid and in no context; the context owns it from
        // now on (destroying the context frees it, also on error below).
        unsafe { b::damon_add_target(self.ptr.as_ptr(), t.as_ptr()) };
        // SAFETY: `t` is a valid target of a context that is not running;
        // `raw` holds `nr` ranges, valid for the duration of the call (DAMON
        // copies them into regions).
        to_result(unsafe { b::damon_set_regions(t.as_ptr(), raw.as_mut_ptr(), nr) })
    }

    /// Adds a target monitoring the physical memory of NUMA node `nid`:
    /// the parts of the System RAM resources within the node's span (its
    /// first to its last page frame), so that a hole the span covers (the
    /// PCI hole below 4 GiB, on a node with memory on both sides) is not
    /// monitored. Returns the number of ranges. `EINVAL` if the node is not
    /// online or has no memory, `E2BIG` for too many System RAM resources.
    pub fn add_node_target(&mut self, nid: i32) -> Result<usize> {
        let (start, end) = crate::mm::node_range(nid).ok_or(EINVAL)?;
        let ram = crate::mm::system_ram()?;
        let mut buf = KBox::new([Range::default(); MAX_RANGES], GFP_KERNEL)?;
        let node = Some(Range::new(start, end));
        let n =
            ranges::monitored(&ram, Range::default(), node, &mut buf[..]).map_err(|_| EINVAL)?;
        self.add_physical_ranges(buf.get(..n).ok_or(EINVAL)?)?;
        Ok(n)
    }

    /// Adds a scheme built from `spec`. `EINVAL` if DAMON would refuse it.
    pub fn add_scheme(&mut self, spec: &SchemeSpec<'_>) -> Result {
        if !spec.is_valid() {
            return Err(EINVAL);
        }
        // SAFETY: `ptr` is a valid context that is not running.
        unsafe { scheme::add_scheme(self.ptr.as_ptr(), spec) }
    }

    /// The schemes, in the order they were added.
    pub fn schemes(&self) -> impl Iterator<Item = SchemeRef<'_>> {
        // SAFETY: `ptr` is valid and not running, so its scheme list is
        // stable while `self` is borrowed.
        unsafe { Schemes::new(self.ptr.as_ptr()) }.map(|s| s.into_ref())
    }

    /// Copies `src`'s attributes, targets and schemes into this context,
    /// as `damon_commit_ctx()` does (statistics of kept schemes stay).
    pub fn commit_from(&mut self, src: &Context) -> Result {
        // SAFETY: both contexts are valid and not running.
        to_result(unsafe { b::damon_commit_ctx(self.ptr.as_ptr(), src.ptr.as_ptr()) })
    }

    /// Starts a kdamond for this context, exclusively: fails with `EBUSY`
    /// when any other DAMON context (DAMON_RECLAIM, DAMON_LRU_SORT, the
    /// sysfs interface) is running. On failure the context is freed.
    pub fn start(self) -> Result<Kdamond> {
        let mut ctxs = KVec::with_capacity(1, GFP_KERNEL)?;
        ctxs.push(self, GFP_KERNEL)?;
        Self::start_group(ctxs)?.into_iter().next().ok_or(EINVAL)
    }

    /// Starts one kdamond per context, all in one exclusive DAMON group:
    /// while they run, no other DAMON context can start, and they start
    /// only if no other is running (`EBUSY`). Either all start, or those
    /// that did are stopped and every context is freed.
    pub fn start_group(ctxs: KVec<Context>) -> Result<KVec<Kdamond>> {
        let n = ctxs.len();
        let nr = kernel::ffi::c_int::try_from(n).map_err(|_| EINVAL)?;
        // Everything that can fail is done before `damon_start()`: an
        // error here drops `Kdamond`s that never ran, and no context runs.
        let mut ptrs = KVec::with_capacity(n, GFP_KERNEL)?;
        let mut kdamonds = KVec::with_capacity(n, GFP_KERNEL)?;
        for c in ctxs {
            ptrs.push(c.ptr.as_ptr(), GFP_KERNEL)?;
            kdamonds.push(Kdamond::new(c), GFP_KERNEL)?;
        }
        // SAFETY: every pointer is a valid context that is not running,
        // owned by one of `kdamonds`, which outlive the call; DAMON reads
        // `nr` of them.
        let ret = to_result(unsafe { b::damon_start(ptrs.as_mut_ptr(), nr, true) });
        // Nothing after `damon_start()` can fail but it: on its error,
        // dropping `kdamonds` stops those DAMON started (`damon_start()`
        // starts them in order and stops at the first that fails) and
        // frees every context.
        ret.map(|()| kdamonds)
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: by the type invariant the context is owned and not
        // running; it is not used after this. `shared`, which nothing
        // else points to, is dropped after.
        unsafe { b::damon_destroy_ctx(self.ptr.as_ptr()) };
    }
}

/// Reads a `struct damon_attrs`.
pub(super) fn attrs_from_raw(a: &b::damon_attrs) -> MonitoringAttrs {
    MonitoringAttrs {
        sample_interval_us: a.sample_interval as u64,
        aggr_interval_us: a.aggr_interval as u64,
        ops_update_interval_us: a.ops_update_interval as u64,
        min_nr_regions: a.min_nr_regions as u64,
        max_nr_regions: a.max_nr_regions as u64,
    }
}
