// SPDX-License-Identifier: GPL-2.0

//! The module's KUnit suites. They run in the kernel when the module is
//! loaded (see `rust/kunit`), one file per layer.

mod damon;
mod params;
mod policy;
mod reclaim;
