// SPDX-License-Identifier: GPL-2.0

//! Running kdamonds, the callbacks they run, and commits into them.

use super::{to_result, Context, MonitoringAttrs, Region, SchemeMut, Schemes};
use crate::bindings as b;
use core::{
    ffi::c_void,
    marker::PhantomData,
    mem::ManuallyDrop,
    ptr,
    sync::atomic::{AtomicI32, AtomicPtr, AtomicU64, Ordering},
};
use kernel::{prelude::*, sync::Arc};

/// What a module runs inside its kdamond. Each method gets the running
/// context; an error from `after_aggregation` or `after_wmarks_check`
/// terminates the kdamond, as in C.
pub trait Callbacks: Send + Sync + 'static {
    /// After each aggregation interval: statistics are fresh.
    fn after_aggregation(&self, _ctx: &mut Running<'_>) -> Result {
        Ok(())
    }

    /// After each check of the schemes' watermarks while all are inactive.
    fn after_wmarks_check(&self, _ctx: &mut Running<'_>) -> Result {
        Ok(())
    }

    /// Whether the kdamond calls [`Callbacks::before_damos_apply`]: it runs
    /// for every region a scheme is applied to, so only callbacks that
    /// need it ask for it.
    const BEFORE_DAMOS_APPLY: bool = false;

    /// Before `scheme`'s action is applied to `region`: the core already cut
    /// the region to the quota left (`esz - charged_sz`), and updated the
    /// statistics of the region applied before it; once this returns, it
    /// applies the action, then charges the region in full and stops the
    /// walk if `charged_sz >= esz`. (C's callback can also skip the action
    /// by returning an error; the region is then still charged and counted
    /// as tried, so this hook does not offer it.)
    fn before_damos_apply(&self, _scheme: &mut SchemeMut<'_>, _region: Region) {}

    /// Before the kdamond terminates (stopped, or on its own).
    fn before_terminate(&self, _ctx: &mut Running<'_>) {}
}

/// State of a context shared with its kdamond: a context waiting to be
/// committed, what commits did, and the module's callbacks.
pub(super) struct Shared {
    /// A `KBox<Context>` turned into a raw pointer, or null.
    pending: AtomicPtr<Context>,
    /// Commits applied by the kdamond.
    commits: AtomicU64,
    /// The errno of the last commit that failed, 0 if none did.
    commit_error: AtomicI32,
    /// An `Arc<C>` turned into a raw pointer, or null.
    callbacks: *const c_void,
    /// Drops `callbacks`.
    drop_callbacks: Option<unsafe fn(*const c_void)>,
}

// SAFETY: the atomics are thread-safe; `callbacks` is an `Arc<C>` with
// `C: Send + Sync`, only read after it is set before the kdamond starts.
unsafe impl Send for Shared {}
// SAFETY: as above.
unsafe impl Sync for Shared {}

impl Shared {
    pub(super) fn new() -> Self {
        Self {
            pending: AtomicPtr::new(ptr::null_mut()),
            commits: AtomicU64::new(0),
            commit_error: AtomicI32::new(0),
            callbacks: ptr::null(),
            drop_callbacks: None,
        }
    }

    /// Applies the pending commit, if any, to `ctx`.
    ///
    /// # Safety
    ///
    /// Only called from `ctx`'s kdamond, in a callback.
    unsafe fn apply_pending(&self, ctx: *mut b::damon_ctx) {
        let p = self.pending.swap(ptr::null_mut(), Ordering::AcqRel);
        if p.is_null() {
            return;
        }
        // SAFETY: `pending` only holds pointers from `KBox::into_raw`
        // (`Kdamond::commit`), taken out once by this swap.
        let src = unsafe { KBox::from_raw(p) };
        // SAFETY: called from `ctx`'s kdamond (safety requirement), where
        // committing is allowed; `src` is a valid context, not running.
        let ret = to_result(unsafe { b::damon_commit_ctx(ctx, src.ptr.as_ptr()) });
        match ret {
            Ok(()) => self.commit_error.store(0, Ordering::Relaxed),
            Err(e) => {
                pr_err!("commit of new parameters failed: {:?}\n", e);
                self.commit_error.store(e.to_errno(), Ordering::Relaxed);
            }
        }
        self.commits.fetch_add(1, Ordering::Release);
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let p = self.pending.swap(ptr::null_mut(), Ordering::AcqRel);
        if !p.is_null() {
            // SAFETY: as in `apply_pending`.
            drop(unsafe { KBox::from_raw(p) });
        }
        if let Some(drop_callbacks) = self.drop_callbacks {
            // SAFETY: `callbacks` was set together with `drop_callbacks`
            // and is dropped once, here.
            unsafe { drop_callbacks(self.callbacks) };
        }
    }
}

/// Drops an `Arc<C>` turned into a raw pointer.
///
/// # Safety
///
/// `p` must come from `Arc::<C>::into_raw` and not be used after.
unsafe fn drop_arc<C: Callbacks>(p: *const c_void) {
    // SAFETY: per the safety requirements.
    drop(unsafe { Arc::<C>::from_raw(p.cast()) });
}

/// The `Shared` and callbacks of the context a C callback was called for.
///
/// # Safety
///
/// `ctx` must be a context created by [`Context::new`] whose kdamond is
/// calling, with callbacks of type `C` set.
unsafe fn parts<'a, C: Callbacks>(ctx: *mut b::damon_ctx) -> (&'a Shared, &'a C) {
    // SAFETY: `private` is the context's `Shared` (invariant of `Context`),
    // which outlives the kdamond.
    let shared = unsafe { &*(*ctx).callback.private.cast::<Shared>() };
    // SAFETY: `callbacks` is an `Arc<C>` (safety requirement), alive as
    // long as `shared`.
    let cb = unsafe { &*shared.callbacks.cast::<C>() };
    (shared, cb)
}

/// # Safety
///
/// Called by DAMON from `ctx`'s kdamond; see [`parts`].
unsafe extern "C" fn after_aggregation<C: Callbacks>(ctx: *mut b::damon_ctx) -> kernel::ffi::c_int {
    // SAFETY: per the function's safety requirements.
    let (shared, cb) = unsafe { parts::<C>(ctx) };
    // SAFETY: called from the kdamond.
    unsafe { shared.apply_pending(ctx) };
    let mut running = Running {
        ctx,
        _kdamond: PhantomData,
    };
    match cb.after_aggregation(&mut running) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// Called by DAMON from `ctx`'s kdamond; see [`parts`].
unsafe extern "C" fn after_wmarks_check<C: Callbacks>(
    ctx: *mut b::damon_ctx,
) -> kernel::ffi::c_int {
    // SAFETY: per the function's safety requirements.
    let (shared, cb) = unsafe { parts::<C>(ctx) };
    // SAFETY: called from the kdamond.
    unsafe { shared.apply_pending(ctx) };
    let mut running = Running {
        ctx,
        _kdamond: PhantomData,
    };
    match cb.after_wmarks_check(&mut running) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// Called by DAMON from `ctx`'s kdamond, in `damos_apply_scheme()`, with
/// `r` a region of `t`, a target of `ctx`, and `s` a scheme of `ctx`; see
/// [`parts`].
unsafe extern "C" fn before_damos_apply<C: Callbacks>(
    ctx: *mut b::damon_ctx,
    _t: *mut b::damon_target,
    r: *mut b::damon_region,
    s: *mut b::damos,
) -> kernel::ffi::c_int {
    // SAFETY: per the function's safety requirements.
    let (_, cb) = unsafe { parts::<C>(ctx) };
    // SAFETY: `r` is a valid region (safety requirement), not changed
    // during the call.
    let region = Region::from_raw(unsafe { &*r });
    // SAFETY: `s` is a scheme of `ctx` (safety requirement); the kdamond,
    // which runs this callback, is the only user of a running context's
    // schemes, and the core does not touch `s` until the callback returns;
    // the `SchemeMut` does not outlive the call.
    let mut scheme = unsafe { SchemeMut::from_raw(s) };
    cb.before_damos_apply(&mut scheme, region);
    0
}

/// # Safety
///
/// Called by DAMON from `ctx`'s kdamond; see [`parts`].
unsafe extern "C" fn before_terminate<C: Callbacks>(ctx: *mut b::damon_ctx) {
    // SAFETY: per the function's safety requirements.
    let (_, cb) = unsafe { parts::<C>(ctx) };
    cb.before_terminate(&mut Running {
        ctx,
        _kdamond: PhantomData,
    });
}

impl Context {
    /// Makes the kdamond of this context run `callbacks`. Replaces
    /// callbacks set before.
    pub fn set_callbacks<C: Callbacks>(&mut self, callbacks: Arc<C>) {
        let ctx = self.ptr.as_ptr();
        // SAFETY: the context is not running, so nothing reads `shared`'s
        // callbacks nor the C callbacks now; `shared` is pinned and only
        // its plain fields are written.
        unsafe {
            let shared = Pin::get_unchecked_mut(self.shared.as_mut());
            if let Some(drop_callbacks) = shared.drop_callbacks.take() {
                drop_callbacks(shared.callbacks);
            }
            shared.callbacks = Arc::into_raw(callbacks).cast();
            shared.drop_callbacks = Some(drop_arc::<C>);
            (*ctx).callback.after_aggregation = Some(after_aggregation::<C>);
            (*ctx).callback.after_wmarks_check = Some(after_wmarks_check::<C>);
            (*ctx).callback.before_terminate = Some(before_terminate::<C>);
            (*ctx).callback.before_damos_apply = if C::BEFORE_DAMOS_APPLY {
                Some(before_damos_apply::<C>)
            } else {
                None
            };
        }
    }
}

/// The running context, as its callbacks see it.
///
/// # Invariants
///
/// `ctx` is the context whose kdamond is running the callback this value
/// was made for, and lives as long as it.
pub struct Running<'a> {
    ctx: *mut b::damon_ctx,
    _kdamond: PhantomData<&'a mut b::damon_ctx>,
}

impl Running<'_> {
    /// The schemes, which the callback may change.
    pub fn schemes(&mut self) -> Schemes<'_> {
        // SAFETY: only the kdamond, which is running this callback, uses
        // the schemes of a running context.
        unsafe { Schemes::new(self.ctx) }
    }

    /// The scheme at `idx`, in the order they were added.
    pub fn scheme(&mut self, idx: usize) -> Option<SchemeMut<'_>> {
        self.schemes().nth(idx)
    }

    /// Calls `f` on every monitoring region, as the last aggregation left
    /// them.
    pub fn for_each_region(&self, f: impl FnMut(Region)) {
        // SAFETY: `ctx` is valid (type invariant), and only its kdamond,
        // which is running this callback, changes its targets and regions.
        unsafe { super::region::for_each_region(self.ctx, f) }
    }

    /// The monitoring attributes.
    pub fn attrs(&self) -> MonitoringAttrs {
        // SAFETY: `ctx` is valid (type invariant).
        super::context::attrs_from_raw(unsafe { &(*self.ctx).attrs })
    }
}

/// A context a kdamond was started on. Dropping it stops the kdamond (if
/// it did not stop on its own) and frees the context.
///
/// # Invariants
///
/// `ctx` was passed to `damon_start()`: its kdamond may be running, may
/// have stopped since, or (when `damon_start()` failed) never have run;
/// `damon_stop()` handles all three. `ctx` is dropped exactly once: in `drop`, or moved out by `stop`.
pub struct Kdamond {
    ctx: ManuallyDrop<Context>,
}

impl Kdamond {
    pub(super) fn new(ctx: Context) -> Self {
        // INVARIANT: called by `Context::start_group` after `damon_start`.
        Self {
            ctx: ManuallyDrop::new(ctx),
        }
    }

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

    /// Hands `new` to the kdamond, which commits it into the running
    /// context at its next callback (after an aggregation, or a watermarks
    /// check) and frees it; a commit still waiting is replaced. `new` should
    /// be valid as a whole: [`Context::set_attrs`] and
    /// [`Context::add_scheme`] check what DAMON would refuse half-way.
    pub fn commit(&self, new: Context) -> Result {
        let p = KBox::into_raw(KBox::new(new, GFP_KERNEL)?);
        let old = self.ctx.shared.pending.swap(p, Ordering::AcqRel);
        if !old.is_null() {
            // SAFETY: `pending` only holds pointers from `KBox::into_raw`,
            // and this swap took `old` out.
            drop(unsafe { KBox::from_raw(old) });
        }
        Ok(())
    }

    /// How many commits the kdamond applied, and the errno of the last one
    /// that failed (0 if the last one worked).
    pub fn commits(&self) -> (u64, i32) {
        let shared = &self.ctx.shared;
        (
            shared.commits.load(Ordering::Acquire),
            shared.commit_error.load(Ordering::Relaxed),
        )
    }

    /// Stops the kdamond and gives the context back, with its schemes and
    /// their statistics (DAMON removed the targets' regions).
    pub fn stop(self) -> Context {
        self.stop_thread();
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so `ctx` is moved out exactly
        // once (type invariant).
        unsafe { ManuallyDrop::take(&mut this.ctx) }
    }

    fn stop_thread(&self) {
        let mut ptr = self.ctx.ptr.as_ptr();
        // SAFETY: the context is valid. `damon_stop` waits for the kdamond
        // to exit, and returns an error (ignored: nothing to stop) if it
        // already had.
        unsafe { b::damon_stop(&mut ptr, 1) };
    }
}

impl Drop for Kdamond {
    fn drop(&mut self) {
        self.stop_thread();
        // SAFETY: no kdamond runs on `ctx` any more, and it is dropped once
        // (type invariant).
        unsafe { ManuallyDrop::drop(&mut self.ctx) };
    }
}
