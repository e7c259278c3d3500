// SPDX-License-Identifier: GPL-2.0

//! Running kdamonds, the callbacks they run, and commits into them.

use super::{to_result, Context, MonitoringAttrs, Region, SchemeMut, Schemes};
use crate::bindings as b;
use core::{
    ffi::c_void,
    marker::PhantomData,
    mem::ManuallyDrop,
    ptr::{self, NonNull},
    sync::atomic::{AtomicI32, AtomicPtr, AtomicU64, Ordering},
};
use kernel::{
    prelude::*,
    sync::{Arc, ArcBorrow},
    types::ForeignOwnable,
};

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

/// A context's callbacks, their type erased: an `Arc<C>` handed over with
/// [`ForeignOwnable::into_foreign`], and the function that takes it back.
///
/// # Invariants
///
/// `ptr` comes from `<Arc<C> as ForeignOwnable>::into_foreign()` for the
/// `C` that `release` was instantiated with, and is taken back only by
/// `drop`, which calls `release`.
struct ForeignCallbacks {
    ptr: *const c_void,
    release: unsafe fn(*const c_void),
}

// SAFETY: `ptr` stands for an `Arc<C>` with `C: Send + Sync` (type
// invariant, `Callbacks`' bounds), which is `Send` and `Sync`; it is only
// borrowed (`&C`) or taken back whole, in `drop`.
unsafe impl Send for ForeignCallbacks {}
// SAFETY: as above.
unsafe impl Sync for ForeignCallbacks {}

impl ForeignCallbacks {
    fn new<C: Callbacks>(callbacks: Arc<C>) -> Self {
        // INVARIANT: `ptr` and `release` are for the same `C`.
        Self {
            ptr: callbacks.into_foreign(),
            release: release_arc::<C>,
        }
    }
}

impl Drop for ForeignCallbacks {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from `Arc::<C>::into_foreign()` for the `C`
        // of `release` and is taken back once, here (type invariant). The
        // only borrows of it are the trampolines' while a kdamond runs the
        // context, and `Shared` (which owns this value) is dropped only
        // once no kdamond runs (invariants of `Context` and `Kdamond`).
        unsafe { (self.release)(self.ptr) };
    }
}

/// Takes back and drops an `Arc<C>` handed over with `into_foreign`.
///
/// # Safety
///
/// `p` must come from `<Arc<C> as ForeignOwnable>::into_foreign()`, not be
/// taken back yet, and no borrow of it may be alive; it is not used after.
unsafe fn release_arc<C: Callbacks>(p: *const c_void) {
    // SAFETY: per the safety requirements.
    drop(unsafe { <Arc<C> as ForeignOwnable>::from_foreign(p) });
}

/// State of a context shared with its kdamond: a context waiting to be
/// committed, what commits did, the kdamond's task, and the module's
/// callbacks.
///
/// A [`Context`] owns it in a `KBox` and may change it through `&mut`;
/// [`Kdamond`] hands that box over with [`ForeignOwnable::into_foreign`]
/// (the pointer the kdamond reads, from `callback.private`) before the
/// kdamond starts, and from then on both sides only borrow it shared, until
/// the kdamond exited and [`Kdamond`] takes the box back.
pub(super) struct Shared {
    /// A `KBox<Context>` handed over with `into_foreign`, or null.
    pending: AtomicPtr<c_void>,
    /// Commits applied by the kdamond.
    commits: AtomicU64,
    /// The errno of the last commit that failed, 0 if none did.
    commit_error: AtomicI32,
    /// The kdamond's task, with a reference taken by the kdamond when it
    /// starts (`before_start`), or null if no kdamond ran the context.
    task: AtomicPtr<kernel::bindings::task_struct>,
    /// What the kdamond runs, or `None`.
    callbacks: Option<ForeignCallbacks>,
}

impl Shared {
    pub(super) fn new() -> Self {
        Self {
            pending: AtomicPtr::new(ptr::null_mut()),
            commits: AtomicU64::new(0),
            commit_error: AtomicI32::new(0),
            task: AtomicPtr::new(ptr::null_mut()),
            callbacks: None,
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
        // SAFETY: `pending` only holds pointers from
        // `KBox::<Context>::into_foreign` (`Kdamond::commit`), taken out
        // once by this swap; nothing borrows them.
        let src = unsafe { <KBox<Context> as ForeignOwnable>::from_foreign(p) };
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

    /// Puts the new pending commit `new`, and frees the one it replaces.
    fn set_pending(&self, new: KBox<Context>) {
        let p = new.into_foreign().cast_mut();
        let old = self.pending.swap(p, Ordering::AcqRel);
        if !old.is_null() {
            // SAFETY: as in `apply_pending`: this swap took `old` out.
            drop(unsafe { <KBox<Context> as ForeignOwnable>::from_foreign(old) });
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let p = self.pending.swap(ptr::null_mut(), Ordering::AcqRel);
        if !p.is_null() {
            // SAFETY: as in `apply_pending`.
            drop(unsafe { <KBox<Context> as ForeignOwnable>::from_foreign(p) });
        }
        let task = self.task.swap(ptr::null_mut(), Ordering::AcqRel);
        if !task.is_null() {
            // SAFETY: `task` holds a reference, taken in `before_start`
            // and given up once, here or in `Kdamond::stop_thread`.
            unsafe { kernel::bindings::put_task_struct(task) };
        }
        // `callbacks` is dropped after this: no kdamond runs (the owner's
        // invariant), so nothing borrows them.
    }
}

/// The `Shared` of the context a C callback was called for.
///
/// # Safety
///
/// `ctx` must be a context whose kdamond is calling, started by a
/// [`Kdamond`] (which published its `Shared` in `callback.private`).
unsafe fn shared<'a>(ctx: *mut b::damon_ctx) -> &'a Shared {
    // SAFETY: `private` is the `KBox<Shared>` the `Kdamond` handed over
    // with `into_foreign` (its invariant), taken back only once this
    // kdamond exited, so it outlives the call; it is only borrowed shared
    // while the kdamond runs.
    unsafe { <KBox<Shared> as ForeignOwnable>::borrow((*ctx).callback.private) }
}

/// The `Shared` and callbacks of the context a C callback was called for;
/// `None` if it has no callbacks (cannot happen: the trampolines that call
/// this are only installed with callbacks of type `C`).
///
/// # Safety
///
/// As [`shared`]; the callbacks set must be of type `C`.
unsafe fn parts<'a, C: Callbacks>(
    ctx: *mut b::damon_ctx,
) -> Option<(&'a Shared, ArcBorrow<'a, C>)> {
    // SAFETY: per the function's safety requirements.
    let shared = unsafe { shared(ctx) };
    let cb = shared.callbacks.as_ref()?;
    // SAFETY: `cb.ptr` is an `Arc<C>` handed over with `into_foreign`
    // (safety requirement, invariant of `ForeignCallbacks`), taken back
    // only when `shared` is dropped, after the kdamond exited.
    let cb = unsafe { <Arc<C> as ForeignOwnable>::borrow(cb.ptr) };
    Some((shared, cb))
}

/// Takes a reference to the kdamond's task, so that [`Kdamond`] can wait
/// for it to exit even if it stops on its own.
///
/// # Safety
///
/// Called by DAMON from `ctx`'s kdamond, before anything else it runs; see
/// [`shared`].
unsafe extern "C" fn before_start(ctx: *mut b::damon_ctx) -> kernel::ffi::c_int {
    // SAFETY: per the function's safety requirements.
    let shared = unsafe { shared(ctx) };
    // SAFETY: `current` is the running kdamond's task, alive during the
    // call; the reference taken is given up by `Kdamond::stop_thread` or
    // `Shared::drop`.
    let task = unsafe {
        let task = kernel::bindings::get_current();
        kernel::bindings::get_task_struct(task);
        task
    };
    let old = shared.task.swap(task, Ordering::AcqRel);
    if !old.is_null() {
        // SAFETY: a reference taken by an earlier start (cannot happen: a
        // `Kdamond` starts once), given up once, here.
        unsafe { kernel::bindings::put_task_struct(old) };
    }
    0
}

/// # Safety
///
/// Called by DAMON from `ctx`'s kdamond; see [`parts`].
unsafe extern "C" fn after_aggregation<C: Callbacks>(ctx: *mut b::damon_ctx) -> kernel::ffi::c_int {
    // SAFETY: per the function's safety requirements.
    let Some((shared, cb)) = (unsafe { parts::<C>(ctx) }) else {
        return 0;
    };
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
    let Some((shared, cb)) = (unsafe { parts::<C>(ctx) }) else {
        return 0;
    };
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
    let Some((_, cb)) = (unsafe { parts::<C>(ctx) }) else {
        return 0;
    };
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
    let Some((_, cb)) = (unsafe { parts::<C>(ctx) }) else {
        return;
    };
    cb.before_terminate(&mut Running {
        ctx,
        _kdamond: PhantomData,
    });
}

impl Context {
    /// Makes the kdamond of this context run `callbacks`. Replaces
    /// callbacks set before.
    pub fn set_callbacks<C: Callbacks>(&mut self, callbacks: Arc<C>) {
        // The context is not running (type invariant): nothing borrows the
        // callbacks replaced, which are dropped here.
        self.shared.callbacks = Some(ForeignCallbacks::new(callbacks));
        let ctx = self.ptr.as_ptr();
        // SAFETY: `ctx` is valid and not running (type invariant), so no
        // kdamond reads its callbacks now; the trampolines are for `C`, the
        // type of the callbacks just set.
        unsafe {
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
/// `ctx` points to a valid `damon_ctx` owned by this value, which was (or,
/// inside [`Context::start_group`], is about to be) passed to
/// `damon_start()`: its kdamond may be running, may have stopped on its own
/// (a callback's error, or a failed allocation in `kdamond_fn()`), or
/// (when `damon_start()` failed) never have run. `shared` comes from
/// `KBox::<Shared>::into_foreign()`, is the context's `callback.private`,
/// and is taken back once, by `Kdamond::take_context`, once no kdamond
/// runs on `ctx`: `damon_stop()` waits for a kdamond it stops, and for one
/// that stopped on its own (DAMON cleared `ctx->kdamond`, so `damon_stop()`
/// returns `-EPERM` at once, while the thread may still be unlocking
/// `ctx->kdamond_lock` and decrementing DAMON's count of running contexts)
/// `Kdamond::stop_thread` waits with `kthread_stop()` on the task
/// reference the kdamond took in `before_start`.
pub struct Kdamond {
    ctx: NonNull<b::damon_ctx>,
    shared: *const c_void,
}

// SAFETY: a `Kdamond` may be used and dropped on any thread: the kdamond
// uses the running context on its own thread, whichever thread owns this
// value; the methods here read the context only through DAMON's accessors,
// which take `ctx->kdamond_lock` (`damon_is_running()`,
// `damon_kdamond_pid()`), stop it with `damon_stop()` and
// `kthread_stop_put()`, which any thread may call, and touch `Shared`
// (`Send + Sync`) only through its atomics until the kdamond exited.
unsafe impl Send for Kdamond {}

impl Kdamond {
    /// Publishes `ctx`'s `Shared` for the kdamond that
    /// [`Context::start_group`] is about to start on it.
    pub(super) fn new(ctx: Context) -> Self {
        let ctx = ManuallyDrop::new(ctx);
        let raw = ctx.ptr;
        // SAFETY: `ctx` is never dropped, so `shared` is moved out of it
        // exactly once, and the `damon_ctx` it owned is owned by the value
        // built below.
        let shared = unsafe { ptr::read(&ctx.shared) }.into_foreign();
        // SAFETY: `raw` is a valid context that is not running (invariant
        // of `Context`); the kdamond reads `private` and calls
        // `before_start` only once it is started, after this.
        unsafe {
            (*raw.as_ptr()).callback.private = shared.cast_mut();
            (*raw.as_ptr()).callback.before_start = Some(before_start);
        }
        // INVARIANT: `shared` comes from `into_foreign` and is `private`;
        // the caller passes `raw` to `damon_start()` next.
        Self { ctx: raw, shared }
    }

    fn shared(&self) -> &Shared {
        // SAFETY: `shared` comes from `KBox::<Shared>::into_foreign()` and
        // is taken back only by `take_context`, which needs the value by
        // `&mut` (type invariant); it is only borrowed shared meanwhile.
        unsafe { <KBox<Shared> as ForeignOwnable>::borrow(self.shared) }
    }

    /// Whether the kdamond is still running.
    pub fn is_running(&self) -> bool {
        // SAFETY: the context is valid (type invariant).
        unsafe { b::damon_is_running(self.ctx.as_ptr()) }
    }

    /// The kdamond's PID, or `None` if it is not running.
    pub fn pid(&self) -> Option<i32> {
        // SAFETY: the context is valid (type invariant).
        let pid = unsafe { b::damon_kdamond_pid(self.ctx.as_ptr()) };
        (pid >= 0).then_some(pid)
    }

    /// Hands `new` to the kdamond, which commits it into the running
    /// context at its next callback (after an aggregation, or a watermarks
    /// check) and frees it; a commit still waiting is replaced. `new` should
    /// be valid as a whole: [`Context::set_attrs`] and
    /// [`Context::add_scheme`] check what DAMON would refuse half-way. It
    /// comes boxed, so that this cannot fail: a caller committing into
    /// several kdamonds allocates everything before handing anything over.
    pub fn commit(&self, new: KBox<Context>) {
        self.shared().set_pending(new);
    }

    /// How many commits the kdamond applied, and the errno of the last one
    /// that failed (0 if the last one worked).
    pub fn commits(&self) -> (u64, i32) {
        let shared = self.shared();
        (
            shared.commits.load(Ordering::Acquire),
            shared.commit_error.load(Ordering::Relaxed),
        )
    }

    /// Stops the kdamond and gives the context back, with its schemes and
    /// their statistics (DAMON removed the targets' regions).
    pub fn stop(self) -> Context {
        let mut this = ManuallyDrop::new(self);
        this.stop_thread();
        // SAFETY: the kdamond exited (`stop_thread`), and `this` is never
        // dropped, so the context is taken back exactly once.
        unsafe { this.take_context() }
    }

    /// Stops the kdamond, or waits for it to exit if it stopped on its
    /// own; once this returns, no kdamond uses the context or `Shared`.
    fn stop_thread(&self) {
        let mut ctx = self.ctx.as_ptr();
        // SAFETY: the context is valid (type invariant). `damon_stop()`
        // stops a running kdamond and waits until it exited (0); for one
        // that never ran or stopped on its own it returns `-EPERM` at once.
        let stopped = unsafe { b::damon_stop(&mut ctx, 1) } == 0;
        // The kdamond stored `task` before anything else it ran: it was
        // seen either by `damon_stop()`'s wait for it to exit, or through
        // `ctx->kdamond_lock`, which it took to clear `ctx->kdamond`.
        let task = self.shared().task.swap(ptr::null_mut(), Ordering::AcqRel);
        if task.is_null() {
            // No kdamond ran the context (`damon_start()` failed).
            return;
        }
        if stopped {
            // SAFETY: `task` holds the reference `before_start` took, given
            // up once, here (the swap took it out).
            unsafe { kernel::bindings::put_task_struct(task) };
        } else {
            // SAFETY: as above; the reference keeps the task alive for
            // `kthread_stop_put()`, which waits until the thread exited and
            // gives it up. Nothing else stops this thread: DAMON only does
            // in `damon_stop()`, which found no kdamond on the context.
            unsafe { kernel::bindings::kthread_stop_put(task) };
        }
    }

    /// Takes the context back, with its `Shared`.
    ///
    /// # Safety
    ///
    /// No kdamond runs on the context ([`Kdamond::stop_thread`] returned),
    /// and this is called once, after which `self` is not used.
    unsafe fn take_context(&mut self) -> Context {
        // SAFETY: no kdamond runs (safety requirement), so nothing reads
        // `private` any more.
        unsafe { (*self.ctx.as_ptr()).callback.private = ptr::null_mut() };
        // SAFETY: `shared` comes from `into_foreign` and is taken back
        // once, here (safety requirement); no borrow of it is alive, as
        // this needs `&mut self` and the kdamond exited.
        let shared = unsafe { <KBox<Shared> as ForeignOwnable>::from_foreign(self.shared) };
        // INVARIANT: the context is owned, not running, and its `private`
        // is null.
        Context {
            ptr: self.ctx,
            shared,
        }
    }
}

impl Drop for Kdamond {
    fn drop(&mut self) {
        self.stop_thread();
        // SAFETY: the kdamond exited (`stop_thread`), and `self` is not
        // used after `drop`.
        drop(unsafe { self.take_context() });
    }
}
