// SPDX-License-Identifier: GPL-2.0

//! Typed module parameters for a 6.12 kernel, whose `module!` has no
//! `params:`.
//!
//! [`module_params!`] declares every parameter in one place: its type,
//! default, permissions, description, and optionally a `check` (refuses a
//! value on its own), a `hook` (a side effect that may refuse the write,
//! e.g. starting the kdamond when `enabled` is set) and a `read` (what a
//! read shows, computed: e.g. whether the kdamond runs). For each parameter it
//! emits a [`Param`] static holding the value, a `struct kernel_param` in the
//! `__param` section, and the `parmtype`/`parm` entries of `.modinfo`, which
//! is exactly what the C `module_param()` macros emit. The values are set at
//! `insmod`/`modprobe` time, from the kernel command line when built in, and
//! through `/sys/module/damon_autotune/parameters/`.
//!
//! A write that does not parse, fails its `check` or whose `hook` fails
//! returns an error and the old value stays: `-ERANGE` for a number too
//! large for its type and `-EINVAL` for anything else that does not parse
//! (as the kernel's `kstrto*()`), `-EINVAL` for a value its `check`
//! refuses (as `param_set_uint_minmax()`), the hook's own error. Values
//! live in atomics, as the bits [`ParamValue::to_bits`] gives, so the
//! kdamond's callbacks read them without data races, without locks and
//! without `unsafe`. The kernel serialises writers with
//! the module's parameter lock (`kernel_param_lock()`), which the module can
//! also take ([`lock`]) to guard state that hooks share with it
//! ([`Locked`]).

pub mod check;
pub mod limits;
pub mod parse;

use core::{
    cell::UnsafeCell,
    fmt::{self, Write},
    marker::PhantomData,
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
};
use kernel::{bindings, ffi, prelude::*};

/// A type a parameter can have. A value is stored as the 64 bits
/// [`ParamValue::to_bits`] gives, in an atomic, and read back with
/// [`ParamValue::from_bits`]: no `unsafe`, whatever the type's layout.
pub trait ParamValue: Copy + Send + Sync + 'static {
    /// The type name `modinfo` shows (`bool`, `int`, `uint`, `ulong`,
    /// `charp`).
    const TYPE_NAME: &'static str;

    /// Whether a bare name, with no `=value`, sets the parameter (`bool`).
    const NOARG: bool = false;

    /// Parses a value written to the parameter: `ERANGE` for a number that
    /// does not fit the type, `EINVAL` for anything else that does not
    /// parse, as the kernel's `kstrto*()` say.
    fn parse(s: &[u8]) -> Result<Self>;

    /// Writes the value the way sysfs shows it.
    fn show(&self, f: &mut dyn Write) -> fmt::Result;

    /// The value as 64 bits, for the atomic that stores it.
    fn to_bits(self) -> u64;

    /// The value [`ParamValue::to_bits`] gave `bits` for. It is only given
    /// bits that `to_bits` returned, but must return some value for any.
    fn from_bits(bits: u64) -> Self;
}

/// A parse error as the errno the kernel's parsers return.
pub fn errno(e: parse::ParseError) -> Error {
    match e {
        parse::ParseError::Invalid => EINVAL,
        parse::ParseError::Range => ERANGE,
    }
}

impl ParamValue for bool {
    const TYPE_NAME: &'static str = "bool";
    const NOARG: bool = true;
    fn parse(s: &[u8]) -> Result<Self> {
        parse::parse_bool(s).map_err(errno)
    }
    fn show(&self, f: &mut dyn Write) -> fmt::Result {
        f.write_char(if *self { 'Y' } else { 'N' })
    }
    fn to_bits(self) -> u64 {
        self.into()
    }
    fn from_bits(bits: u64) -> Self {
        bits != 0
    }
}

impl ParamValue for i32 {
    const TYPE_NAME: &'static str = "int";
    fn parse(s: &[u8]) -> Result<Self> {
        let v = parse::parse_signed(s, i32::MIN.into(), i32::MAX.into()).map_err(errno)?;
        v.try_into().map_err(|_| ERANGE)
    }
    fn show(&self, f: &mut dyn Write) -> fmt::Result {
        write!(f, "{}", self)
    }
    fn to_bits(self) -> u64 {
        // Two's complement, sign-extended: from_bits truncates it back.
        i64::from(self) as u64
    }
    fn from_bits(bits: u64) -> Self {
        bits as i32
    }
}

impl ParamValue for u32 {
    const TYPE_NAME: &'static str = "uint";
    fn parse(s: &[u8]) -> Result<Self> {
        let v = parse::parse_unsigned(s, u32::MAX.into()).map_err(errno)?;
        v.try_into().map_err(|_| ERANGE)
    }
    fn show(&self, f: &mut dyn Write) -> fmt::Result {
        write!(f, "{}", self)
    }
    fn to_bits(self) -> u64 {
        self.into()
    }
    fn from_bits(bits: u64) -> Self {
        bits as u32
    }
}

impl ParamValue for u64 {
    const TYPE_NAME: &'static str = "ulong";
    fn parse(s: &[u8]) -> Result<Self> {
        parse::parse_unsigned(s, u64::MAX).map_err(errno)
    }
    fn show(&self, f: &mut dyn Write) -> fmt::Result {
        write!(f, "{}", self)
    }
    fn to_bits(self) -> u64 {
        self
    }
    fn from_bits(bits: u64) -> Self {
        bits
    }
}

impl ParamValue for crate::policy::tier::NodeChain {
    const TYPE_NAME: &'static str = "charp";
    fn parse(s: &[u8]) -> Result<Self> {
        Self::parse(s).map_err(|_| EINVAL)
    }
    fn show(&self, f: &mut dyn Write) -> fmt::Result {
        write!(f, "{}", self)
    }
    /// One byte per node, fastest first, `0xff` for the unused ones.
    fn to_bits(self) -> u64 {
        let mut bytes = [u8::MAX; 8];
        for (b, nid) in bytes.iter_mut().zip(self.iter()) {
            *b = u8::try_from(nid).unwrap_or(u8::MAX);
        }
        u64::from_le_bytes(bytes)
    }
    fn from_bits(bits: u64) -> Self {
        let mut nids = [0i32; 8];
        let mut n = 0;
        for b in bits.to_le_bytes() {
            if b == u8::MAX {
                break;
            }
            nids[n] = b.into();
            n += 1;
        }
        Self::from_nids(&nids[..n]).unwrap_or(Self::EMPTY)
    }
}

/// Makes a fieldless enum a parameter type whose values are written and
/// shown as strings (`modinfo` type `charp`):
///
/// ```ignore
/// param_enum!(Tuner { Consist = "consist", Temporal = "temporal" });
/// ```
#[macro_export]
macro_rules! param_enum {
    ($ty:path { $($variant:ident = $text:literal),+ $(,)? }) => {
        impl $crate::params::ParamValue for $ty {
            const TYPE_NAME: &'static str = "charp";
            fn parse(s: &[u8]) -> kernel::error::Result<Self> {
                use $ty as T;
                const NAMES: &[&str] = &[$($text),+];
                const ALL: &[T] = &[$(T::$variant),+];
                let i = $crate::params::parse::parse_choice(s, NAMES)
                    .map_err($crate::params::errno)?;
                ALL.get(i).copied().ok_or(kernel::error::code::EINVAL)
            }
            fn show(&self, f: &mut dyn core::fmt::Write) -> core::fmt::Result {
                use $ty as T;
                f.write_str(match self {
                    $(T::$variant => $text),+
                })
            }
            fn to_bits(self) -> u64 {
                use $ty as T;
                const ALL: &[T] = &[$(T::$variant),+];
                ALL.iter().position(|&v| v == self).unwrap_or(0) as u64
            }
            fn from_bits(bits: u64) -> Self {
                use $ty as T;
                const ALL: &[T] = &[$(T::$variant),+];
                usize::try_from(bits)
                    .ok()
                    .and_then(|i| ALL.get(i))
                    .copied()
                    .unwrap_or(ALL[0])
            }
        }
    };
}

/// Proof that the module's parameter lock is held.
///
/// # Invariants
///
/// A `ParamLock` exists only while the current thread holds the module's
/// parameter lock (`kernel_param_lock(THIS_MODULE)`, or the global parameter
/// lock when built in), and at most one is reachable at a time.
pub struct ParamLock {
    _not_send: PhantomData<*mut ()>,
}

/// Holds the module's parameter lock until dropped.
pub struct ParamGuard(ParamLock);

/// Takes the module's parameter lock: no parameter write runs until the
/// guard is dropped. Must not be called from a parameter hook (the lock is
/// already held there) nor from a kdamond callback (a writer may be waiting
/// for the kdamond to stop).
pub fn lock() -> ParamGuard {
    // SAFETY: `THIS_MODULE` is this module, or null (built in) for the
    // global parameter lock; both are valid arguments.
    unsafe { bindings::kernel_param_lock(THIS_MODULE) };
    // INVARIANT: the lock was just taken, and is released in `drop`.
    ParamGuard(ParamLock {
        _not_send: PhantomData,
    })
}

impl Drop for ParamGuard {
    fn drop(&mut self) {
        // SAFETY: the lock was taken in `lock()`.
        unsafe { bindings::kernel_param_unlock(THIS_MODULE) };
    }
}

impl core::ops::Deref for ParamGuard {
    type Target = ParamLock;
    fn deref(&self) -> &ParamLock {
        &self.0
    }
}

impl core::ops::DerefMut for ParamGuard {
    fn deref_mut(&mut self) -> &mut ParamLock {
        &mut self.0
    }
}

/// State shared between parameter hooks and the module, guarded by the
/// parameter lock.
pub struct Locked<T>(UnsafeCell<T>);

// SAFETY: the contents are only reached through `get`, which requires the
// parameter lock (a `&mut ParamLock`), so at most one thread at a time has
// access; `T: Send` makes handing it between threads sound.
unsafe impl<T: Send> Sync for Locked<T> {}

impl<T> Locked<T> {
    /// Creates the state.
    pub const fn new(value: T) -> Self {
        Self(UnsafeCell::new(value))
    }

    /// Accesses the state; the lock stays borrowed while the reference lives.
    pub fn get<'a>(&'a self, _lock: &'a mut ParamLock) -> &'a mut T {
        // SAFETY: by the invariant of `ParamLock` the parameter lock is held
        // and the exclusive borrow of the only token makes this the only
        // reference to the contents.
        unsafe { &mut *self.0.get() }
    }
}

/// Refuses a value on its own; returns the error to give the writer.
pub type Check<T> = fn(T) -> Result;
/// A side effect of a write, run under the parameter lock before the value
/// is stored; an error refuses the write.
pub type Hook<T> = fn(&mut ParamLock, T) -> Result;
/// What a read through sysfs shows instead of the stored value: a value
/// computed under the parameter lock (e.g. whether a kdamond runs).
pub type Read<T> = fn(&mut ParamLock) -> T;

/// A module parameter's value and behaviour. Declared by [`module_params!`].
///
/// The value is `default` until the first [`Param::set`], then the one
/// `bits` holds: a `const fn` cannot call [`ParamValue::to_bits`], so the
/// default is kept as it is.
pub struct Param<T: ParamValue> {
    default: T,
    bits: AtomicU64,
    /// `bits` holds a value (set with `Release` after `bits`).
    written: AtomicBool,
    writable: bool,
    check: Option<Check<T>>,
    hook: Option<Hook<T>>,
    read: Option<Read<T>>,
}

impl<T: ParamValue> Param<T> {
    /// Creates a parameter. `writable` is false for read-only statistics,
    /// which only the module sets (through [`Param::set`]) or `read`
    /// computes.
    pub const fn new(
        default: T,
        writable: bool,
        check: Option<Check<T>>,
        hook: Option<Hook<T>>,
        read: Option<Read<T>>,
    ) -> Self {
        Self {
            default,
            bits: AtomicU64::new(0),
            written: AtomicBool::new(false),
            writable,
            check,
            hook,
            read,
        }
    }

    /// The stored value: the last one written or set (a `read` function
    /// is not called).
    pub fn get(&self) -> T {
        if self.written.load(Ordering::Acquire) {
            T::from_bits(self.bits.load(Ordering::Relaxed))
        } else {
            self.default
        }
    }

    /// Sets the value, bypassing `check` and `hook`: for the module's own
    /// statistics and derived values.
    pub fn set(&self, value: T) {
        self.bits.store(value.to_bits(), Ordering::Relaxed);
        self.written.store(true, Ordering::Release);
    }

    /// A write from a user: parse, check, hook, store, in that order; any
    /// failure leaves the old value.
    fn write(&self, lock: &mut ParamLock, s: &[u8]) -> Result {
        if !self.writable {
            return Err(EPERM);
        }
        let value = T::parse(s)?;
        if let Some(check) = self.check {
            check(value)?;
        }
        if let Some(hook) = self.hook {
            hook(lock, value)?;
        }
        self.set(value);
        Ok(())
    }

    /// The `kernel_param_ops` of this type: flags, `set` and `get`.
    pub const OPS: bindings::kernel_param_ops = bindings::kernel_param_ops {
        flags: if T::NOARG {
            bindings::KERNEL_PARAM_OPS_FL_NOARG
        } else {
            0
        },
        set: Some(Self::set_callback),
        get: Some(Self::get_callback),
        free: None,
    };

    /// `kernel_param_ops::set`.
    ///
    /// # Safety
    ///
    /// Called by the kernel with the parameter lock held, `kp` one of the
    /// `kernel_param`s [`module_params!`] emits (whose `arg` is a `Param<T>`)
    /// and `val` null or a NUL-terminated string.
    unsafe extern "C" fn set_callback(
        val: *const ffi::c_char,
        kp: *const bindings::kernel_param,
    ) -> ffi::c_int {
        // SAFETY: per the function's safety requirements.
        let param = unsafe { &*((*kp).__bindgen_anon_1.arg as *const Self) };
        let s: &[u8] = if val.is_null() {
            // A bare `name` (no `=value`) on the command line means "Y".
            b"Y"
        } else {
            // SAFETY: `val` is a NUL-terminated string, per the safety
            // requirements, valid for the duration of this call.
            unsafe { CStr::from_char_ptr(val) }.as_bytes()
        };
        // INVARIANT: the kernel holds the parameter lock around `set`.
        let mut lock = ParamLock {
            _not_send: PhantomData,
        };
        match param.write(&mut lock, s) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// `kernel_param_ops::get`.
    ///
    /// # Safety
    ///
    /// Called by the kernel with the parameter lock held, `kp` as for
    /// `set_callback` and `buffer` pointing to `PAGE_SIZE` writable bytes.
    unsafe extern "C" fn get_callback(
        buffer: *mut ffi::c_char,
        kp: *const bindings::kernel_param,
    ) -> ffi::c_int {
        // SAFETY: per the function's safety requirements.
        let param = unsafe { &*((*kp).__bindgen_anon_1.arg as *const Self) };
        // SAFETY: per the function's safety requirements.
        let buf = unsafe {
            core::slice::from_raw_parts_mut(buffer.cast::<u8>(), kernel::page::PAGE_SIZE)
        };
        let value = match param.read {
            // INVARIANT: sysfs reads run under the parameter lock
            // (`param_attr_show()` takes it around `get`).
            Some(read) => read(&mut ParamLock {
                _not_send: PhantomData,
            }),
            None => param.get(),
        };
        let mut w = BufWriter { buf, len: 0 };
        // A value never fills a page; if it did, the output is cut short.
        let _ = value.show(&mut w).and_then(|()| w.write_char('\n'));
        w.len as ffi::c_int
    }
}

struct BufWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl Write for BufWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// A `struct kernel_param`, placed by [`module_params!`] in the `__param`
/// section where the module loader (or, built in, the boot code) finds it.
#[repr(transparent)]
pub struct KernelParam(pub bindings::kernel_param);

// SAFETY: the kernel only reads a `kernel_param`; its pointers are to
// statics (name, ops, module, the `Param`), which are `Sync`.
unsafe impl Sync for KernelParam {}

impl KernelParam {
    /// Describes `param`, called `name` (NUL-terminated, with the
    /// `damon_autotune.` prefix when built in), with the given permissions.
    pub const fn new<T: ParamValue>(
        name: &'static [u8],
        perm: u16,
        param: &'static Param<T>,
    ) -> Self {
        Self(bindings::kernel_param {
            name: name.as_ptr().cast(),
            mod_: THIS_MODULE,
            ops: &Param::<T>::OPS,
            perm,
            level: -1,
            flags: 0,
            __bindgen_anon_1: bindings::kernel_param__bindgen_ty_1 {
                arg: param as *const Param<T> as *mut ffi::c_void,
            },
        })
    }
}

/// This module's `struct module`, or null when built in.
#[cfg(MODULE)]
const THIS_MODULE: *mut bindings::module = core::ptr::addr_of_mut!(bindings::__this_module);
/// This module's `struct module`, or null when built in.
#[cfg(not(MODULE))]
const THIS_MODULE: *mut bindings::module = core::ptr::null_mut();

/// The length of `parts` joined, leading spaces of each part removed.
pub const fn joined_len(parts: &[&str]) -> usize {
    let mut len = 0;
    let mut p = 0;
    while p < parts.len() {
        let b = parts[p].as_bytes();
        let mut i = 0;
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        len += b.len() - i;
        p += 1;
    }
    len
}

/// Joins `parts` into a NUL-terminated byte array at compile time, leading
/// spaces of each part removed (doc comments start with one).
pub const fn join_nul<const N: usize>(parts: &[&str]) -> [u8; N] {
    assert!(joined_len(parts) + 1 == N);
    let mut out = [0u8; N];
    let mut o = 0;
    let mut p = 0;
    while p < parts.len() {
        let b = parts[p].as_bytes();
        let mut i = 0;
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        while i < b.len() {
            out[o] = b[i];
            o += 1;
            i += 1;
        }
        p += 1;
    }
    out
}

/// The prefix of parameter names and `.modinfo` entries: none for a
/// module, `damon_autotune.` when built in.
#[cfg(MODULE)]
#[macro_export]
#[doc(hidden)]
macro_rules! __param_prefix {
    () => {
        ""
    };
}

/// The prefix of parameter names and `.modinfo` entries: none for a
/// module, `damon_autotune.` when built in.
#[cfg(not(MODULE))]
#[macro_export]
#[doc(hidden)]
macro_rules! __param_prefix {
    () => {
        "damon_autotune."
    };
}

/// Declares the module's parameters. Each one reads like its C
/// counterpart, with its documentation where it is declared:
///
/// ```ignore
/// module_params! {
///     /// Enable or disable damon_autotune.
///     enabled: bool = false, 0o600, hook = on_enabled;
///     /// Time threshold for cold memory regions identification in µs.
///     min_age: u64 = 120_000_000, 0o600, check = age_us;
///     /// PID of the kdamond, -1 if none.
///     kdamond_pid: i32 = -1, 0o400, read = pid_now;
/// }
/// ```
///
/// A permission without a write bit makes a read-only statistic that only
/// the module sets. The statics are lower-case, named like the sysfs files.
#[macro_export]
macro_rules! module_params {
    ($(
        $(#[doc = $doc:literal])+
        $name:ident : $ty:ty = $default:expr, $perm:literal
            $(, check = $check:expr)? $(, hook = $hook:expr)? $(, read = $read:expr)? ;
    )+) => {$(
        $(#[doc = $doc])+
        #[allow(non_upper_case_globals)]
        pub static $name: $crate::params::Param<$ty> = $crate::params::Param::new(
            $default,
            $perm & 0o222 != 0,
            $crate::__opt!($($check)?),
            $crate::__opt!($($hook)?),
            $crate::__opt!($($read)?),
        );

        const _: () = {
            const NAME: &[&str] = &[$crate::__param_prefix!(), stringify!($name)];
            static NAME_Z: [u8; $crate::params::joined_len(NAME) + 1] = $crate::params::join_nul(NAME);

            #[link_section = "__param"]
            #[used(compiler)]
            static KP: $crate::params::KernelParam =
                $crate::params::KernelParam::new(&NAME_Z, $perm, &$name);

            const PARMTYPE: &[&str] = &[$crate::__param_prefix!(), "parmtype=", stringify!($name), ":",
                                        <$ty as $crate::params::ParamValue>::TYPE_NAME];
            #[link_section = ".modinfo"]
            #[used(compiler)]
            static PARMTYPE_Z: [u8; $crate::params::joined_len(PARMTYPE) + 1] =
                $crate::params::join_nul(PARMTYPE);

            const PARM: &[&str] = &[$crate::__param_prefix!(), "parm=", stringify!($name), ":",
                                    $crate::__doc_line!($($doc)+)];
            #[link_section = ".modinfo"]
            #[used(compiler)]
            static PARM_Z: [u8; $crate::params::joined_len(PARM) + 1] = $crate::params::join_nul(PARM);
        };
    )+};
}

/// `Some(x)` or `None` for an optional macro argument.
#[macro_export]
#[doc(hidden)]
macro_rules! __opt {
    () => {
        None
    };
    ($x:expr) => {
        Some($x)
    };
}

/// The first line of a doc comment, without its leading space: what
/// `modinfo` shows as the description.
#[macro_export]
#[doc(hidden)]
macro_rules! __doc_line {
    ($first:literal $($rest:literal)*) => {
        $first
    };
}
