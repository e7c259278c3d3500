// SPDX-License-Identifier: GPL-2.0

//! DAMOS schemes: built from [`SchemeSpec`]s, read back as [`SchemeRef`],
//! changed from inside the kdamond through [`SchemeMut`].

use crate::bindings as b;
use crate::policy::damos::{
    AccessPattern, Action, Filter, GoalMetric, Quota, SchemeSpec, SchemeStats, Watermarks,
    WmarkMetric,
};
use core::{marker::PhantomData, mem::offset_of, ptr::NonNull};
use kernel::{ffi, prelude::*};

fn action_to_raw(a: Action) -> b::damos_action {
    match a {
        Action::Willneed => b::damos_action_DAMOS_WILLNEED,
        Action::Cold => b::damos_action_DAMOS_COLD,
        Action::Pageout => b::damos_action_DAMOS_PAGEOUT,
        Action::Hugepage => b::damos_action_DAMOS_HUGEPAGE,
        Action::Nohugepage => b::damos_action_DAMOS_NOHUGEPAGE,
        Action::LruPrio => b::damos_action_DAMOS_LRU_PRIO,
        Action::LruDeprio => b::damos_action_DAMOS_LRU_DEPRIO,
        Action::MigrateHot => b::damos_action_DAMOS_MIGRATE_HOT,
        Action::MigrateCold => b::damos_action_DAMOS_MIGRATE_COLD,
        Action::Stat => b::damos_action_DAMOS_STAT,
    }
}

/// The action of a raw `damos_action`; `None` for a value this module
/// does not know (a newer kernel's action).
fn action_from_raw(a: b::damos_action) -> Option<Action> {
    Some(match a {
        b::damos_action_DAMOS_WILLNEED => Action::Willneed,
        b::damos_action_DAMOS_COLD => Action::Cold,
        b::damos_action_DAMOS_PAGEOUT => Action::Pageout,
        b::damos_action_DAMOS_HUGEPAGE => Action::Hugepage,
        b::damos_action_DAMOS_NOHUGEPAGE => Action::Nohugepage,
        b::damos_action_DAMOS_LRU_PRIO => Action::LruPrio,
        b::damos_action_DAMOS_LRU_DEPRIO => Action::LruDeprio,
        b::damos_action_DAMOS_MIGRATE_HOT => Action::MigrateHot,
        b::damos_action_DAMOS_MIGRATE_COLD => Action::MigrateCold,
        b::damos_action_DAMOS_STAT => Action::Stat,
        _ => return None,
    })
}

fn usize_of(v: u64) -> Result<usize> {
    usize::try_from(v).map_err(|_| EINVAL)
}

/// A filter as DAMON takes it: its type, `matching`, and the member of its
/// union its type uses.
#[derive(Clone, Copy)]
struct RawFilter {
    ty: b::damos_filter_type,
    matching: bool,
    arg: FilterArg,
}

#[derive(Clone, Copy)]
enum FilterArg {
    None,
    Memcg(u16),
    Addr(b::damon_addr_range),
    Target(i32),
}

/// Checks and converts a filter; `EINVAL` for an empty or inverted address
/// range, or one beyond `usize`.
fn raw_filter(f: &Filter) -> Result<RawFilter> {
    let (ty, matching, arg) = match *f {
        Filter::Anon { matching } => (
            b::damos_filter_type_DAMOS_FILTER_TYPE_ANON,
            matching,
            FilterArg::None,
        ),
        Filter::Memcg { id, matching } => (
            b::damos_filter_type_DAMOS_FILTER_TYPE_MEMCG,
            matching,
            FilterArg::Memcg(id),
        ),
        Filter::Young { matching } => (
            b::damos_filter_type_DAMOS_FILTER_TYPE_YOUNG,
            matching,
            FilterArg::None,
        ),
        Filter::Addr {
            start,
            end,
            matching,
        } => {
            if start >= end {
                return Err(EINVAL);
            }
            let range = b::damon_addr_range {
                start: usize_of(start)?,
                end: usize_of(end)?,
            };
            (
                b::damos_filter_type_DAMOS_FILTER_TYPE_ADDR,
                matching,
                FilterArg::Addr(range),
            )
        }
        Filter::Target { idx, matching } => (
            b::damos_filter_type_DAMOS_FILTER_TYPE_TARGET,
            matching,
            FilterArg::Target(idx),
        ),
    };
    Ok(RawFilter { ty, matching, arg })
}

/// Goals and filters DAMON allocated that are not on any list yet: freed
/// when dropped, unless `linked` says they were handed to a scheme.
///
/// # Invariants
///
/// Every pointer is a `kmalloc()`ed object (`damos_new_quota_goal()` or
/// `damos_new_filter()`) that only this value refers to while `linked` is
/// false.
struct Loose {
    ptrs: KVec<*mut ffi::c_void>,
    linked: bool,
}

impl Drop for Loose {
    fn drop(&mut self) {
        if self.linked {
            return;
        }
        for &p in self.ptrs.iter() {
            // SAFETY: `p` was `kmalloc()`ed and is on no list (type
            // invariant): what `damos_free_filter()` and
            // `damos_destroy_quota_goal()` do after `list_del()`.
            unsafe { kernel::bindings::kfree(p) };
        }
    }
}

/// Creates a scheme from `spec`, with its goals and filters, and adds it to
/// `ctx`. Every value is checked and every object allocated before the
/// scheme is added: an error (`EINVAL` for a value DAMON would refuse,
/// `ENOMEM`) leaves the context as it was.
///
/// # Safety
///
/// `ctx` must be a valid context that is not running.
pub(super) unsafe fn add_scheme(ctx: *mut b::damon_ctx, spec: &SchemeSpec<'_>) -> Result {
    if !spec.is_valid() {
        return Err(EINVAL);
    }
    let p = &spec.pattern;
    let mut pattern = b::damos_access_pattern {
        min_sz_region: usize_of(p.sz.0)?,
        max_sz_region: usize_of(p.sz.1)?,
        min_nr_accesses: p.nr_accesses.0,
        max_nr_accesses: p.nr_accesses.1,
        min_age_region: p.age.0,
        max_age_region: p.age.1,
    };
    let q = &spec.quota;
    // SAFETY: all-zero is a valid `damos_quota` (DAMON initialises its
    // private fields itself in `damon_new_scheme()`).
    let mut quota: b::damos_quota = unsafe { core::mem::zeroed() };
    quota.ms = usize_of(q.ms)?;
    quota.sz = usize_of(q.sz)?;
    quota.reset_interval = usize_of(q.reset_interval_ms)?;
    quota.weight_sz = q.weight_sz;
    quota.weight_nr_accesses = q.weight_nr_accesses;
    quota.weight_age = q.weight_age;
    let w = &spec.wmarks;
    // SAFETY: all-zero is a valid `damos_watermarks`.
    let mut wmarks: b::damos_watermarks = unsafe { core::mem::zeroed() };
    wmarks.metric = match w.metric {
        WmarkMetric::None => b::damos_wmark_metric_DAMOS_WMARK_NONE,
        WmarkMetric::FreeMemRate => b::damos_wmark_metric_DAMOS_WMARK_FREE_MEM_RATE,
    };
    wmarks.interval = usize_of(w.interval_us)?;
    wmarks.high = usize_of(w.high)?;
    wmarks.mid = usize_of(w.mid)?;
    wmarks.low = usize_of(w.low)?;
    let apply_interval_us = usize_of(spec.apply_interval_us)?;
    let mut filters = KVec::with_capacity(spec.filters.len(), GFP_KERNEL)?;
    for f in spec.filters {
        filters.push(raw_filter(f)?, GFP_KERNEL)?;
    }

    // Goals, then filters, allocated but on no list yet.
    let mut loose = Loose {
        ptrs: KVec::with_capacity(spec.goals.len() + filters.len(), GFP_KERNEL)?,
        linked: false,
    };
    for goal in spec.goals {
        let metric = match goal.metric {
            GoalMetric::UserInput => b::damos_quota_goal_metric_DAMOS_QUOTA_USER_INPUT,
            GoalMetric::SomeMemPsiUs => b::damos_quota_goal_metric_DAMOS_QUOTA_SOME_MEM_PSI_US,
        };
        let target = usize_of(goal.target)?;
        // SAFETY: no preconditions.
        let g = NonNull::new(unsafe { b::damos_new_quota_goal(metric, target) }).ok_or(ENOMEM)?;
        // SAFETY: `g` is a new goal, only ours.
        unsafe { (*g.as_ptr()).current_value = goal.current as usize };
        // INVARIANT: a new `kmalloc()`ed goal; the capacity was reserved.
        loose.ptrs.push(g.as_ptr().cast(), GFP_KERNEL)?;
    }
    for f in filters.iter() {
        // SAFETY: no preconditions.
        let new = NonNull::new(unsafe { b::damos_new_filter(f.ty, f.matching) }).ok_or(ENOMEM)?;
        // SAFETY: `new` is a new filter, only ours; the union member set
        // is the one its type says.
        unsafe {
            let u = &mut (*new.as_ptr()).__bindgen_anon_1;
            match f.arg {
                FilterArg::None => {}
                FilterArg::Memcg(id) => u.memcg_id = id,
                FilterArg::Addr(range) => u.addr_range = range,
                FilterArg::Target(idx) => u.target_idx = idx,
            }
        }
        // INVARIANT: a new `kmalloc()`ed filter; the capacity was reserved.
        loose.ptrs.push(new.as_ptr().cast(), GFP_KERNEL)?;
    }

    // SAFETY: the arguments are valid for the call; DAMON copies them.
    let s = unsafe {
        b::damon_new_scheme(
            &mut pattern,
            action_to_raw(spec.action),
            apply_interval_us,
            &mut quota,
            &mut wmarks,
            spec.target_nid,
        )
    };
    let s = NonNull::new(s).ok_or(ENOMEM)?;
    // Nothing fails from here on.
    let (goals, filters) = loose.ptrs.as_slice().split_at(spec.goals.len());
    for &g in goals {
        // SAFETY: `s` is a new scheme; `g` a goal only `loose` refers to,
        // handed to the scheme's quota (which frees it with the scheme).
        unsafe { b::damos_add_quota_goal(&mut (*s.as_ptr()).quota, g.cast()) };
    }
    for &f in filters {
        // SAFETY: as for the goals, a filter handed to the scheme.
        unsafe { b::damos_add_filter(s.as_ptr(), f.cast()) };
    }
    // INVARIANT: every object is on a list of `s` now.
    loose.linked = true;
    // SAFETY: `ctx` is valid and not running (safety requirement); `s` is
    // a new, complete scheme, owned by the context from now on.
    unsafe { b::damon_add_scheme(ctx, s.as_ptr()) };
    Ok(())
}

/// Counts the entries of a `list_head` list.
///
/// # Safety
///
/// `head` must be a valid list that nobody changes during the call.
unsafe fn list_len(head: *const b::list_head) -> usize {
    let mut n = 0;
    // SAFETY: per the safety requirements, every `next` is a valid entry.
    let mut pos = unsafe { (*head).next };
    while !core::ptr::eq(pos, head) {
        n += 1;
        // SAFETY: as above.
        pos = unsafe { (*pos).next };
    }
    n
}

/// Iterator over a context's schemes.
///
/// # Invariants
///
/// `head` is the `schemes` list of a valid context, and `pos` an entry of
/// it (or the head itself); the list does not change while the iterator
/// (and the references it yields, lifetime `'a`) live.
pub struct Schemes<'a> {
    head: *mut b::list_head,
    pos: *mut b::list_head,
    _ctx: PhantomData<&'a mut b::damon_ctx>,
}

impl Schemes<'_> {
    /// Iterates over `ctx`'s schemes.
    ///
    /// # Safety
    ///
    /// `ctx` must be valid, and its scheme list and schemes must not be
    /// changed nor accessed by anyone else while the iterator and what it
    /// yields live.
    pub(super) unsafe fn new(ctx: *mut b::damon_ctx) -> Self {
        // SAFETY: `ctx` is valid.
        let head = unsafe { core::ptr::addr_of_mut!((*ctx).schemes) };
        // INVARIANT: per the safety requirements.
        Self {
            head,
            // SAFETY: `head` is a valid list.
            pos: unsafe { (*head).next },
            _ctx: PhantomData,
        }
    }
}

impl<'a> Iterator for Schemes<'a> {
    type Item = SchemeMut<'a>;

    fn next(&mut self) -> Option<SchemeMut<'a>> {
        if core::ptr::eq(self.pos, self.head) {
            return None;
        }
        // SAFETY: `pos` is a `list` field of a `damos` in the list (type
        // invariant): `container_of`.
        let s = unsafe {
            self.pos
                .byte_sub(offset_of!(b::damos, list))
                .cast::<b::damos>()
        };
        // SAFETY: `pos` is a valid entry.
        self.pos = unsafe { (*self.pos).next };
        // INVARIANT: `s` is a scheme of the list, only reached through this
        // value for `'a`.
        Some(SchemeMut {
            ptr: s,
            _ctx: PhantomData,
        })
    }
}

/// A scheme of a context, read-only.
#[derive(Clone, Copy)]
pub struct SchemeRef<'a> {
    ptr: *const b::damos,
    _ctx: PhantomData<&'a b::damos>,
}

/// A scheme of a running context, from inside its kdamond (or of a context
/// that is not running).
///
/// # Invariants
///
/// `ptr` is a valid scheme that nothing else accesses for `'a`.
pub struct SchemeMut<'a> {
    ptr: *mut b::damos,
    _ctx: PhantomData<&'a mut b::damos>,
}

/// The quota accounting state of a scheme in its current charge window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaState {
    /// The effective size quota DAMON computed for this window (0 means no
    /// limit, also DAMON 6.12's first window).
    pub esz: u64,
    /// Bytes charged in this window.
    pub charged_sz: u64,
    /// Bytes charged in all past windows.
    pub total_charged_sz: u64,
    /// When the current window started, in jiffies: it identifies the
    /// window.
    pub charged_from: u64,
}

impl<'a> SchemeRef<'a> {
    fn raw(&self) -> &'a b::damos {
        // SAFETY: `ptr` is valid and not changed for `'a` (invariant of the
        // iterator or `SchemeMut` it came from).
        unsafe { &*self.ptr }
    }

    /// The action; `None` for one this module does not know.
    pub fn action(&self) -> Option<Action> {
        action_from_raw(self.raw().action)
    }

    /// The access pattern.
    pub fn pattern(&self) -> AccessPattern {
        let p = &self.raw().pattern;
        AccessPattern {
            sz: (p.min_sz_region as u64, p.max_sz_region as u64),
            nr_accesses: (p.min_nr_accesses, p.max_nr_accesses),
            age: (p.min_age_region, p.max_age_region),
        }
    }

    /// The quota's user-set limits.
    pub fn quota(&self) -> Quota {
        let q = &self.raw().quota;
        Quota {
            ms: q.ms as u64,
            sz: q.sz as u64,
            reset_interval_ms: q.reset_interval as u64,
            weight_sz: q.weight_sz,
            weight_nr_accesses: q.weight_nr_accesses,
            weight_age: q.weight_age,
        }
    }

    /// The quota's accounting state.
    pub fn quota_state(&self) -> QuotaState {
        let q = &self.raw().quota;
        QuotaState {
            esz: q.esz as u64,
            charged_sz: q.charged_sz as u64,
            total_charged_sz: q.total_charged_sz as u64,
            charged_from: q.charged_from as u64,
        }
    }

    /// The watermarks.
    pub fn wmarks(&self) -> Watermarks {
        let w = &self.raw().wmarks;
        Watermarks {
            metric: if w.metric == b::damos_wmark_metric_DAMOS_WMARK_FREE_MEM_RATE {
                WmarkMetric::FreeMemRate
            } else {
                WmarkMetric::None
            },
            interval_us: w.interval as u64,
            high: w.high as u64,
            mid: w.mid as u64,
            low: w.low as u64,
        }
    }

    /// The target node of migrations.
    pub fn target_nid(&self) -> i32 {
        // SAFETY: `target_nid` is the only member of the union.
        unsafe { self.raw().__bindgen_anon_1.target_nid }
    }

    /// The statistics.
    pub fn stats(&self) -> SchemeStats {
        let s = &self.raw().stat;
        SchemeStats {
            nr_tried: s.nr_tried as u64,
            sz_tried: s.sz_tried as u64,
            nr_applied: s.nr_applied as u64,
            sz_applied: s.sz_applied as u64,
            qt_exceeds: s.qt_exceeds as u64,
        }
    }

    /// The number of quota goals.
    pub fn nr_goals(&self) -> usize {
        // SAFETY: the goal list of a valid scheme, unchanged for `'a`.
        unsafe { list_len(&self.raw().quota.goals) }
    }

    /// The number of filters.
    pub fn nr_filters(&self) -> usize {
        // SAFETY: the filter list of a valid scheme, unchanged for `'a`.
        unsafe { list_len(&self.raw().filters) }
    }
}

impl<'a> SchemeMut<'a> {
    /// The scheme at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must be a valid scheme that nothing else accesses for `'a`.
    pub(super) unsafe fn from_raw(ptr: *mut b::damos) -> Self {
        // INVARIANT: per the safety requirements.
        Self {
            ptr,
            _ctx: PhantomData,
        }
    }

    /// A read-only view.
    pub fn as_ref(&self) -> SchemeRef<'_> {
        SchemeRef {
            ptr: self.ptr,
            _ctx: PhantomData,
        }
    }

    pub(super) fn into_ref(self) -> SchemeRef<'a> {
        SchemeRef {
            ptr: self.ptr,
            _ctx: PhantomData,
        }
    }

    fn raw_mut(&mut self) -> &mut b::damos {
        // SAFETY: `ptr` is valid and exclusively ours (type invariant).
        unsafe { &mut *self.ptr }
    }

    /// Changes the access pattern (e.g. a new `min_age`); applies from the
    /// next aggregation. `EINVAL` if a range is inverted.
    pub fn set_pattern(&mut self, p: &AccessPattern) -> Result {
        if !p.is_valid() {
            return Err(EINVAL);
        }
        let raw = &mut self.raw_mut().pattern;
        raw.min_sz_region = usize_of(p.sz.0)?;
        raw.max_sz_region = usize_of(p.sz.1)?;
        raw.min_nr_accesses = p.nr_accesses.0;
        raw.max_nr_accesses = p.nr_accesses.1;
        raw.min_age_region = p.age.0;
        raw.max_age_region = p.age.1;
        Ok(())
    }

    /// Sets the size quota (bytes per reset interval, 0: none); DAMON uses
    /// it from the next charge window.
    pub fn set_quota_sz(&mut self, sz: u64) {
        self.raw_mut().quota.sz = usize::try_from(sz).unwrap_or(usize::MAX);
    }

    /// Sets the effective size quota of the current charge window.
    pub fn set_effective_quota(&mut self, esz: u64) {
        self.raw_mut().quota.esz = usize::try_from(esz).unwrap_or(usize::MAX);
    }

    /// Turns the scheme on or off without touching its quota accounting:
    /// the core skips a scheme whose watermarks are not activated, and
    /// re-evaluates activation only for schemes with a watermark metric.
    /// `EINVAL` for a scheme that has one (its watermarks decide).
    pub fn set_active(&mut self, active: bool) -> Result {
        let w = &mut self.raw_mut().wmarks;
        if w.metric != b::damos_wmark_metric_DAMOS_WMARK_NONE {
            return Err(EINVAL);
        }
        w.activated = active;
        Ok(())
    }

    /// Sets what the current charge window was charged and its effective
    /// size quota: the core cuts the next region it applies the scheme to
    /// at `esz - charged_sz` and stops the walk once `charged_sz >= esz`.
    pub fn set_charge(&mut self, charged_sz: u64, esz: u64) {
        let q = &mut self.raw_mut().quota;
        q.charged_sz = usize::try_from(charged_sz).unwrap_or(usize::MAX);
        q.esz = usize::try_from(esz).unwrap_or(usize::MAX);
    }
}
