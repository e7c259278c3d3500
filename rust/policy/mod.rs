// SPDX-License-Identifier: GPL-2.0

//! Policy: the pure, allocation-free logic of damon_autotune.
//!
//! No kernel types and no `unsafe` here: everything in this directory is
//! compiled into the module and into the host test crate (`rust/host`),
//! where `cargo test` exercises it; the module's KUnit suites run the same
//! functions in the kernel.

pub mod attrs;
pub mod damos;
pub mod failcharge;
pub mod math;
pub mod min_age;
pub mod min_age_algo;
pub mod min_age_dama;
pub mod min_age_model;
pub mod min_age_signals;
pub mod node;
pub mod quota;
pub mod ranges;
pub mod reclaim;
pub mod tier;
pub mod tier_control;
