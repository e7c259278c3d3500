// SPDX-License-Identifier: GPL-2.0

//! Memory metrics of the running kernel: per-node memory and memory
//! pressure. Values are read without locks, as `/proc` does; the policy
//! layer tolerates slightly stale or racy values.

use crate::bindings as b;
use crate::policy::node::NodeMem;
use crate::policy::ranges::{Range, MAX_RANGES};
use crate::policy::tier::NodeInfo;
use kernel::{bindings as kb, prelude::*};

/// Node `nid`'s data, or null if there is no such node.
fn pgdat(nid: i32) -> *mut kb::pglist_data {
    let Ok(idx) = usize::try_from(nid) else {
        return core::ptr::null_mut();
    };
    if idx >= kb::MAX_NUMNODES as usize {
        return core::ptr::null_mut();
    }
    // SAFETY: `node_data` has `MAX_NUMNODES` entries and `idx` is in range;
    // an entry is set once when its node comes up and never freed.
    unsafe {
        *core::ptr::addr_of!(kb::node_data)
            .cast::<*mut kb::pglist_data>()
            .add(idx)
    }
}

/// Whether `nid` is a node whose data exists (online at some point).
fn node_exists(nid: i32) -> bool {
    !pgdat(nid).is_null()
}

/// The physical address range `[start, end)` node `nid` spans, if it
/// exists and has memory.
pub fn node_range(nid: i32) -> Option<(u64, u64)> {
    let pgdat = pgdat(nid);
    if pgdat.is_null() {
        return None;
    }
    // SAFETY: `pgdat` is a node's data, never freed.
    let (start_pfn, spanned) = unsafe {
        (
            (*pgdat).node_start_pfn as u64,
            (*pgdat).node_spanned_pages as u64,
        )
    };
    if spanned == 0 {
        return None;
    }
    let shift = kb::PAGE_SHIFT as u64;
    Some((start_pfn << shift, (start_pfn + spanned) << shift))
}

/// What [`system_ram`]'s walk collects, in a fixed array: the callback
/// (called between two lookups of the resource tree, without its lock)
/// neither allocates nor fails, except when the array is full.
struct RamWalk {
    ranges: [Range; MAX_RANGES],
    len: usize,
    /// A resource did not fit.
    overflow: bool,
}

/// `walk_iomem_res_desc()`'s callback: records one System RAM resource.
///
/// # Safety
///
/// `res` points to a valid resource and `arg` to a [`RamWalk`] that
/// nothing else uses during the walk (what [`system_ram`] passes).
unsafe extern "C" fn ram_walk_one(res: *mut b::resource, arg: *mut kernel::ffi::c_void) -> i32 {
    // SAFETY: per the function's safety requirements.
    let (walk, res) = unsafe { (&mut *arg.cast::<RamWalk>(), &*res) };
    let Some(slot) = walk.ranges.get_mut(walk.len) else {
        walk.overflow = true;
        // Non-zero stops the walk.
        return 1;
    };
    // A resource's end is inclusive.
    *slot = Range::new(res.start, res.end.saturating_add(1));
    walk.len += 1;
    0
}

/// Every System RAM resource (`/proc/iomem`'s "System RAM" lines), in
/// address order, as the walk finds them: what upstream 7.2's
/// DAMON_RECLAIM monitors by default. `E2BIG` if there are more than
/// [`MAX_RANGES`] (none is dropped silently).
pub fn system_ram() -> Result<KVec<Range>> {
    let mut walk = KBox::new(
        RamWalk {
            ranges: [Range::default(); MAX_RANGES],
            len: 0,
            overflow: false,
        },
        GFP_KERNEL,
    )?;
    let flags = (b::IORESOURCE_SYSTEM_RAM | b::IORESOURCE_BUSY) as kernel::ffi::c_ulong;
    // SAFETY: the callback matches what it is given: `walk` is a valid
    // `RamWalk` that only the callback uses until the walk returns.
    unsafe {
        b::walk_iomem_res_desc(
            b::IORES_DESC_NONE as kernel::ffi::c_ulong,
            flags,
            0,
            u64::MAX,
            (&mut *walk as *mut RamWalk).cast(),
            Some(ram_walk_one),
        )
    };
    if walk.overflow {
        pr_err!("more than {} System RAM resources\n", MAX_RANGES);
        return Err(E2BIG);
    }
    let mut out = KVec::with_capacity(walk.len, GFP_KERNEL)?;
    for r in walk.ranges.iter().take(walk.len) {
        out.push(*r, GFP_KERNEL)?;
    }
    Ok(out)
}

/// The physical address range all nodes' memory spans, from the lowest
/// start to the highest end.
pub fn ram_span() -> Option<(u64, u64)> {
    (0..kb::MAX_NUMNODES as i32)
        .filter_map(node_range)
        .reduce(|(s0, e0), (s1, e1)| (s0.min(s1), e0.max(e1)))
}

/// Node `nid`'s memory, or `None` if there is no such node.
pub fn node_mem(nid: i32) -> Option<NodeMem> {
    if !node_exists(nid) {
        return None;
    }
    // SAFETY: all-zero is a valid `sysinfo`.
    let mut info: kb::sysinfo = unsafe { core::mem::zeroed() };
    // SAFETY: `nid` is a node with data; `info` is valid for writes.
    unsafe { kb::si_meminfo_node(&mut info, nid) };
    Some(NodeMem {
        total: info.totalram as u64,
        free: info.freeram as u64,
    })
}

/// The high watermarks of node `nid`'s zones, boosts included, summed, in
/// pages (0 for a node that does not exist): `high_wmark_pages()` of each.
pub fn node_high_wmark_pages(nid: i32) -> u64 {
    let pgdat = pgdat(nid);
    if pgdat.is_null() {
        return 0;
    }
    // SAFETY: `pgdat` is a node's data, never freed; its zones are part of
    // it. The watermarks change when `min_free_kbytes` or the boost change,
    // and a racy read of a word is what `/proc/zoneinfo` does too.
    let zones = unsafe { &*core::ptr::addr_of!((*pgdat).node_zones) };
    zones
        .iter()
        .map(|z| {
            // SAFETY: as above; volatile as the values change under us.
            let (high, boost) = unsafe {
                (
                    core::ptr::read_volatile(core::ptr::addr_of!(
                        z._watermark[kb::zone_watermarks_WMARK_HIGH as usize]
                    )),
                    core::ptr::read_volatile(core::ptr::addr_of!(z.watermark_boost)),
                )
            };
            (high as u64).saturating_add(boost as u64)
        })
        .fold(0, u64::saturating_add)
}

/// Whether node `nid` has CPUs (`N_CPU` in the node states).
fn node_has_cpu(nid: i32) -> bool {
    let Ok(idx) = usize::try_from(nid) else {
        return false;
    };
    // SAFETY: `node_states` is a static; a racy read of one word is what
    // `node_state()` does too (the bit only changes on CPU hotplug).
    let bits = unsafe {
        core::ptr::read_volatile(core::ptr::addr_of!(
            kb::node_states[kb::node_states_N_CPU as usize].bits
        ))
    };
    let word = bits
        .get(idx / kernel::ffi::c_ulong::BITS as usize)
        .copied()
        .unwrap_or(0);
    word >> (idx % kernel::ffi::c_ulong::BITS as usize) & 1 == 1
}

/// Every node that exists, with whether it has memory and CPUs: what
/// tiering's chain detection needs.
pub fn nodes_info() -> Result<KVec<NodeInfo>> {
    let mut nodes = KVec::new();
    for nid in 0..kb::MAX_NUMNODES as i32 {
        let Some(mem) = node_mem(nid) else {
            continue;
        };
        nodes.push(
            NodeInfo {
                nid,
                has_memory: mem.total > 0,
                has_cpu: node_has_cpu(nid),
            },
            GFP_KERNEL,
        )?;
    }
    Ok(nodes)
}

/// Total time, in µs since boot, some task stalled on memory ("some"
/// memory PSI of the whole system), as DAMOS's own `some_mem_psi_us`
/// quota goal reads it. 0 if PSI is disabled at boot.
pub fn psi_some_mem_total_us() -> u64 {
    // SAFETY: no preconditions; the function reads the system PSI group's
    // running total (a static) and checks `psi_disabled` itself.
    unsafe { b::damos_get_some_mem_psi_total() }
}

/// The kernel's own reclaim since boot, from `/proc/vmstat`'s event lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReclaimEvents {
    /// `pgsteal_kswapd`.
    pub pgsteal_kswapd: u64,
    /// `pgsteal_direct`.
    pub pgsteal_direct: u64,
    /// `pgrotated`: pages moved to the tail of their inactive list after
    /// writeback for reclaim ended (freed by the next reclaim pass).
    pub pgrotated: u64,
}

/// [`ReclaimEvents`] now. May sleep (it holds the CPU hotplug lock while it
/// sums).
pub fn reclaim_events() -> Result<ReclaimEvents> {
    let n = kb::vm_event_item_NR_VM_EVENT_ITEMS as usize;
    let mut events = KVec::<usize>::with_capacity(n, GFP_KERNEL)?;
    for _ in 0..n {
        events.push(0, GFP_KERNEL)?;
    }
    // SAFETY: `events` holds `NR_VM_EVENT_ITEMS` values, as many as
    // `all_vm_events` writes; the caller may sleep.
    unsafe { kb::all_vm_events(events.as_mut_ptr()) };
    let get = |item: kb::vm_event_item| events.get(item as usize).map_or(0, |&v| v as u64);
    Ok(ReclaimEvents {
        pgsteal_kswapd: get(kb::vm_event_item_PGSTEAL_KSWAPD),
        pgsteal_direct: get(kb::vm_event_item_PGSTEAL_DIRECT),
        pgrotated: get(kb::vm_event_item_PGROTATED),
    })
}

/// One of the global node counters (`/proc/vmstat`'s node lines, without
/// the per-CPU deltas not yet folded in); 0 if it reads negative.
fn node_stat(item: kb::node_stat_item) -> u64 {
    // SAFETY: `vm_node_stat` is a static array with an entry for every
    // `node_stat_item`; the counters change under us, hence the volatile
    // read of one naturally aligned word.
    let v = unsafe {
        core::ptr::read_volatile(core::ptr::addr_of!(kb::vm_node_stat[item as usize].counter))
    };
    // A global counter can read transiently negative; count it as 0.
    u64::try_from(v).unwrap_or(0)
}

/// Workingset counters of one kind of page since boot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Workingset {
    /// `workingset_refault_*`: refaults of evicted pages.
    pub refault: u64,
    /// `workingset_activate_*`: those activated at once (their refault
    /// distance was within the workingset).
    pub activate: u64,
    /// `workingset_restore_*`: those that were in the workingset when
    /// evicted.
    pub restore: u64,
}

/// The workingset counters now: `(anon, file)`.
pub fn workingset() -> (Workingset, Workingset) {
    (
        Workingset {
            refault: node_stat(kb::node_stat_item_WORKINGSET_REFAULT_ANON),
            activate: node_stat(kb::node_stat_item_WORKINGSET_ACTIVATE_ANON),
            restore: node_stat(kb::node_stat_item_WORKINGSET_RESTORE_ANON),
        },
        Workingset {
            refault: node_stat(kb::node_stat_item_WORKINGSET_REFAULT_FILE),
            activate: node_stat(kb::node_stat_item_WORKINGSET_ACTIVATE_FILE),
            restore: node_stat(kb::node_stat_item_WORKINGSET_RESTORE_FILE),
        },
    )
}
