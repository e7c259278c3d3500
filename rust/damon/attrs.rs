// SPDX-License-Identifier: GPL-2.0

//! Monitoring attributes: conversion between the policy layer's plain
//! struct and `struct damon_attrs`.

use crate::bindings as b;
pub use crate::policy::attrs::MonitoringAttrs;

impl MonitoringAttrs {
    /// Reads a `struct damon_attrs`.
    pub(crate) fn from_raw(a: &b::damon_attrs) -> Self {
        Self {
            sample_interval_us: a.sample_interval as u64,
            aggr_interval_us: a.aggr_interval as u64,
            ops_update_interval_us: a.ops_update_interval as u64,
            min_nr_regions: a.min_nr_regions as u64,
            max_nr_regions: a.max_nr_regions as u64,
        }
    }
}
