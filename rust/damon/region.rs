// SPDX-License-Identifier: GPL-2.0

//! The monitoring regions of a running context, as its kdamond last
//! aggregated them.

use crate::bindings as b;
use core::mem::offset_of;

/// One monitoring region: an address range and what DAMON saw of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// Start address.
    pub start: u64,
    /// End address (exclusive).
    pub end: u64,
    /// Accesses counted in the last aggregation interval, as DAMOS's
    /// access patterns see them (`nr_accesses_bp / 10000`).
    pub nr_accesses: u32,
    /// Aggregation intervals the access frequency has stayed about the same.
    pub age: u32,
}

impl Region {
    /// The values of DAMON's region `r`.
    pub(super) fn from_raw(r: &b::damon_region) -> Self {
        Self {
            start: r.ar.start as u64,
            end: r.ar.end as u64,
            nr_accesses: r.nr_accesses_bp / 10_000,
            age: r.age,
        }
    }

    /// The region's size in bytes.
    pub fn size(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }
}

/// Calls `f` on every region of every target of `ctx`, in list order.
///
/// # Safety
///
/// `ctx` must be valid, and its targets and regions must not change while
/// this runs: the caller is `ctx`'s kdamond, in a callback, or the context
/// is not running.
pub(super) unsafe fn for_each_region(ctx: *mut b::damon_ctx, mut f: impl FnMut(Region)) {
    // SAFETY: `ctx` is valid (safety requirement).
    let thead = unsafe { core::ptr::addr_of_mut!((*ctx).adaptive_targets) };
    // SAFETY: `thead` is a valid list, unchanged while this runs.
    let mut tpos = unsafe { (*thead).next };
    while !core::ptr::eq(tpos, thead) {
        // SAFETY: `tpos` is the `list` field of a `damon_target` of the
        // list: `container_of`.
        let t =
            unsafe { tpos.byte_sub(offset_of!(b::damon_target, list)) }.cast::<b::damon_target>();
        // SAFETY: `t` is a valid target.
        let rhead = unsafe { core::ptr::addr_of_mut!((*t).regions_list) };
        // SAFETY: `rhead` is a valid list, unchanged while this runs.
        let mut rpos = unsafe { (*rhead).next };
        while !core::ptr::eq(rpos, rhead) {
            // SAFETY: `rpos` is the `list` field of a `damon_region` of the
            // target's list: `container_of`; the region is valid.
            let r = unsafe {
                &*rpos
                    .byte_sub(offset_of!(b::damon_region, list))
                    .cast::<b::damon_region>()
            };
            f(Region {
                start: r.ar.start as u64,
                end: r.ar.end as u64,
                nr_accesses: r.nr_accesses_bp / 10_000,
                age: r.age,
            });
            // SAFETY: as above.
            rpos = unsafe { (*rpos).next };
        }
        // SAFETY: as above.
        tpos = unsafe { (*tpos).next };
    }
}
