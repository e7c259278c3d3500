// SPDX-License-Identifier: GPL-2.0

//! The pure parts of damon_autotune, built for the host so that `cargo test`
//! runs their unit tests. The files are the very ones the module compiles.

#![no_std]

#[cfg(test)]
extern crate std;

#[path = "../policy/mod.rs"]
pub mod policy;

#[path = "../params/limits.rs"]
pub mod limits;

#[path = "../params/parse.rs"]
pub mod parse;
