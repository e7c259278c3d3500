// SPDX-License-Identifier: GPL-2.0

//! KUnit suites written in Rust, for a 6.12 kernel (which has no
//! `#[kunit_tests]`).
//!
//! A test case is a plain function taking a [`Test`]; [`kunit_suite!`]
//! registers a list of them as one suite:
//!
//! ```ignore
//! fn adds_up(t: &mut Test) {
//!     t.expect_eq(1 + 1, 2);
//! }
//!
//! kunit_suite!(damon_autotune_example, [adds_up]);
//! ```
//!
//! The suite is placed in the module's `.kunit_test_suites` section, so
//! KUnit runs it when the module is loaded and prints its results as KTAP on
//! the console. Failed expectations print the caller's file and line and
//! both values, and mark the case failed; the case goes on (like KUnit's
//! `KUNIT_EXPECT_*`).

use core::fmt::Debug;
use kernel::{bindings, prelude::*};

/// The running KUnit test case, handed to each test function.
///
/// # Invariants
///
/// `ptr` is the `struct kunit` of the test case currently running on this
/// thread.
pub struct Test {
    ptr: *mut bindings::kunit,
}

impl Test {
    /// Wraps the `struct kunit` KUnit passes to a case.
    ///
    /// # Safety
    ///
    /// `ptr` must be the `struct kunit` of the case running on this thread,
    /// valid until the returned value is dropped.
    pub unsafe fn from_raw(ptr: *mut bindings::kunit) -> Self {
        // INVARIANT: per the safety requirements.
        Self { ptr }
    }

    #[track_caller]
    fn fail(&mut self, args: core::fmt::Arguments<'_>) {
        let at = core::panic::Location::caller();
        // SAFETY: `ptr` is the running test (type invariant); `name` is a
        // NUL-terminated string KUnit set.
        let name = unsafe { CStr::from_char_ptr((*self.ptr).name) };
        kernel::kunit::err(format_args!(
            "    # {}: EXPECTATION FAILED at {}:{}\n    # {}: {}\n",
            name,
            at.file(),
            at.line(),
            name,
            args
        ));
        // SAFETY: `ptr` is the running test; KUnit reads `status` once the
        // case returns (this is `kunit_set_failure()`).
        unsafe {
            core::ptr::write_volatile(
                &mut (*self.ptr).status,
                bindings::kunit_status_KUNIT_FAILURE,
            )
        };
    }

    /// Marks the case skipped, with `why` as KUnit's status comment; the
    /// caller returns without testing anything else. A case that already
    /// failed stays failed: a skip never hides a failed expectation.
    pub fn skip(&mut self, why: &str) {
        // SAFETY: `ptr` is the running test (type invariant); this is what
        // `kunit_mark_skipped()` does.
        let test = unsafe { &mut *self.ptr };
        // SAFETY: `status` is a plain field of the running test, written
        // only by this thread (`fail` and this function) while it runs.
        let status = unsafe { core::ptr::read_volatile(&test.status) };
        if status == bindings::kunit_status_KUNIT_FAILURE {
            return;
        }
        let n = why.len().min(test.status_comment.len() - 1);
        test.status_comment[..n].copy_from_slice(&why.as_bytes()[..n]);
        test.status_comment[n] = 0;
        // SAFETY: as above; KUnit reads `status` once the case returns.
        unsafe {
            core::ptr::write_volatile(&mut test.status, bindings::kunit_status_KUNIT_SKIPPED)
        };
    }

    /// Expects `cond` to hold; `what` says what it means.
    #[track_caller]
    pub fn expect(&mut self, cond: bool, what: &str) {
        if !cond {
            self.fail(format_args!("expected {}", what));
        }
    }

    /// Expects `left == right`.
    #[track_caller]
    pub fn expect_eq<T: PartialEq + Debug>(&mut self, left: T, right: T) {
        if left != right {
            self.fail(format_args!("expected {:?} == {:?}", left, right));
        }
    }

    /// Expects `result` to be `Ok`, and returns its value if it is.
    #[track_caller]
    pub fn expect_ok<T, E: Into<Error>>(
        &mut self,
        result: core::result::Result<T, E>,
    ) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                let e: Error = e.into();
                self.fail(format_args!("expected Ok, got error {}", e.to_errno()));
                None
            }
        }
    }

    /// Expects `result` to be the error `expected`.
    #[track_caller]
    pub fn expect_err<T>(&mut self, result: Result<T>, expected: Error) {
        match result {
            Ok(_) => self.fail(format_args!(
                "expected error {}, got Ok",
                expected.to_errno()
            )),
            Err(e) if e.to_errno() != expected.to_errno() => self.fail(format_args!(
                "expected error {}, got {}",
                expected.to_errno(),
                e.to_errno()
            )),
            Err(_) => {}
        }
    }
}

/// Sleeps `ms` milliseconds (for tests that wait for a kdamond).
pub fn msleep(ms: u32) {
    // SAFETY: no preconditions; test cases run in process context.
    unsafe { bindings::msleep(ms) };
}

/// Runs one test function on the `struct kunit` KUnit gave.
///
/// # Safety
///
/// `ptr` must be the `struct kunit` of the case running on this thread.
pub unsafe fn run(ptr: *mut bindings::kunit, case: fn(&mut Test)) {
    // SAFETY: per the safety requirements.
    let mut test = unsafe { Test::from_raw(ptr) };
    case(&mut test);
}

/// A `struct kunit_case` for `run_case`, named `name` (NUL-terminated).
pub const fn case(
    name: &'static [u8],
    run_case: unsafe extern "C" fn(*mut bindings::kunit),
) -> bindings::kunit_case {
    // SAFETY: all-zero is a valid `kunit_case` (null pointers, `None`
    // callbacks, zero status), as KUnit's own C initialisers assume.
    let mut c: bindings::kunit_case = unsafe { core::mem::zeroed() };
    c.run_case = Some(run_case);
    c.name = name.as_ptr().cast();
    c
}

/// The all-zero `struct kunit_case` that ends a suite's case array.
// SAFETY: all-zero is a valid `kunit_case`.
pub const END: bindings::kunit_case = unsafe { core::mem::zeroed() };

/// A `struct kunit_suite` named `name` running `cases`.
pub const fn suite(name: &str, cases: *mut bindings::kunit_case) -> bindings::kunit_suite {
    // SAFETY: all-zero is a valid `kunit_suite`.
    let mut s: bindings::kunit_suite = unsafe { core::mem::zeroed() };
    let b = name.as_bytes();
    assert!(b.len() < s.name.len());
    let mut i = 0;
    while i < b.len() {
        s.name[i] = b[i];
        i += 1;
    }
    s.test_cases = cases;
    s
}

/// A pointer to a suite, as the `.kunit_test_suites` section holds them.
#[repr(transparent)]
pub struct SuitePtr(pub *mut bindings::kunit_suite);

// SAFETY: KUnit is the only user of the pointer, and serialises its runs.
unsafe impl Sync for SuitePtr {}

/// Registers test functions as a KUnit suite: `kunit_suite!(name, [f, g])`.
#[macro_export]
macro_rules! kunit_suite {
    ($suite:ident, [$($case:ident),+ $(,)?]) => {
        const _: () = {
            const N: usize = [$(stringify!($case)),+].len();
            static mut CASES: [kernel::bindings::kunit_case; N + 1] = [
                $($crate::kunit::case(concat!(stringify!($case), "\0").as_bytes(), {
                    /// Runs the case.
                    ///
                    /// # Safety
                    ///
                    /// `test` is the running case's `struct kunit`.
                    unsafe extern "C" fn run(test: *mut kernel::bindings::kunit) {
                        // SAFETY: KUnit calls `run_case` with the running
                        // case's `struct kunit`.
                        unsafe { $crate::kunit::run(test, $case) }
                    }
                    run
                }),)+
                $crate::kunit::END,
            ];
            static mut SUITE: kernel::bindings::kunit_suite =
                $crate::kunit::suite(stringify!($suite), core::ptr::addr_of_mut!(CASES).cast());
            #[link_section = ".kunit_test_suites"]
            #[used(compiler)]
            static PTR: $crate::kunit::SuitePtr = $crate::kunit::SuitePtr(core::ptr::addr_of_mut!(SUITE));
        };
    };
}
