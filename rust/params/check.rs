// SPDX-License-Identifier: GPL-2.0

//! The checks parameters share (`check = ...` in [`crate::module_params!`]):
//! each refuses a value on its own with `EINVAL`, as the kernel's
//! `param_set_uint_minmax()` does, and the old value stays. The bounds are
//! in [`super::limits`].

use super::limits::{
    within, MAX_AGE_US, MAX_BP, MAX_INTERVAL_MS, MAX_INTERVAL_US, MAX_PER_THOUSAND, MAX_SIZE,
};
use kernel::prelude::*;

fn ok_if(ok: bool) -> Result {
    if ok {
        Ok(())
    } else {
        Err(EINVAL)
    }
}

/// An interval in milliseconds: 1 to one day.
pub fn interval_ms(v: u64) -> Result {
    ok_if(within(v, 1, MAX_INTERVAL_MS))
}

/// An interval in microseconds: 1 to one day.
pub fn interval_us(v: u64) -> Result {
    ok_if(within(v, 1, MAX_INTERVAL_US))
}

/// A time in milliseconds where 0 means none (a time quota): up to one day.
pub fn time_ms(v: u64) -> Result {
    ok_if(within(v, 0, MAX_INTERVAL_MS))
}

/// A time in microseconds where 0 means none (a stall time goal): up to
/// one day.
pub fn time_us(v: u64) -> Result {
    ok_if(within(v, 0, MAX_INTERVAL_US))
}

/// An age in microseconds: up to 30 days.
pub fn age_us(v: u64) -> Result {
    ok_if(within(v, 0, MAX_AGE_US))
}

/// A size in bytes where 0 means none (a size quota): up to 1 PiB.
pub fn size(v: u64) -> Result {
    ok_if(within(v, 0, MAX_SIZE))
}

/// At most 10,000 basis points.
pub fn basis_points(v: u32) -> Result {
    ok_if(within(v.into(), 0, MAX_BP))
}

/// At most 1,000 per thousand.
pub fn per_thousand(v: u64) -> Result {
    ok_if(within(v, 0, MAX_PER_THOUSAND))
}
