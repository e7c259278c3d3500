// SPDX-License-Identifier: GPL-2.0

//! Memory metrics of the running kernel: per-node memory and memory
//! pressure. Values are read without locks, as `/proc` does; the policy
//! layer tolerates slightly stale or racy values.

use crate::bindings as b;
use crate::policy::node::NodeMem;
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

/// Pages the kernel's own reclaim stole since boot: `(kswapd, direct)`,
/// the `pgsteal_kswapd` and `pgsteal_direct` lines of `/proc/vmstat`.
/// May sleep (it holds the CPU hotplug lock while it sums).
pub fn pgsteal_kswapd_direct() -> Result<(u64, u64)> {
    let n = kb::vm_event_item_NR_VM_EVENT_ITEMS as usize;
    let mut events = KVec::<usize>::with_capacity(n, GFP_KERNEL)?;
    for _ in 0..n {
        events.push(0, GFP_KERNEL)?;
    }
    // SAFETY: `events` holds `NR_VM_EVENT_ITEMS` values, as many as
    // `all_vm_events` writes; the caller may sleep.
    unsafe { kb::all_vm_events(events.as_mut_ptr()) };
    let get = |item: kb::vm_event_item| events.get(item as usize).map_or(0, |&v| v as u64);
    Ok((
        get(kb::vm_event_item_PGSTEAL_KSWAPD),
        get(kb::vm_event_item_PGSTEAL_DIRECT),
    ))
}

/// Pages refaulted since boot: `(anon, file)`, the
/// `workingset_refault_anon` and `workingset_refault_file` lines of
/// `/proc/vmstat` (without the per-CPU deltas not yet folded in).
pub fn workingset_refaults() -> (u64, u64) {
    let get = |item: kb::node_stat_item| -> u64 {
        // SAFETY: `vm_node_stat` is a static array with an entry for every
        // `node_stat_item`; the counters change under us, hence the
        // volatile read of one naturally aligned word.
        let v = unsafe {
            core::ptr::read_volatile(core::ptr::addr_of!(kb::vm_node_stat[item as usize].counter))
        };
        // A global counter can read transiently negative; count it as 0.
        u64::try_from(v).unwrap_or(0)
    };
    (
        get(kb::node_stat_item_WORKINGSET_REFAULT_ANON),
        get(kb::node_stat_item_WORKINGSET_REFAULT_FILE),
    )
}
