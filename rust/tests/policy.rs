// SPDX-License-Identifier: GPL-2.0

//! KUnit: the pure policy code, run in the kernel (the host runs the same
//! code with `cargo test`).

use crate::kunit::Test;
use crate::kunit_suite;
use crate::policy::attrs::{AttrsError, MonitoringAttrs};

fn attrs_validation(t: &mut Test) {
    let d = MonitoringAttrs::DEFAULT;
    t.expect_eq(d.validate(), Ok(()));
    t.expect_eq(
        MonitoringAttrs {
            min_nr_regions: 2,
            ..d
        }
        .validate(),
        Err(AttrsError::TooFewRegions),
    );
    t.expect_eq(
        MonitoringAttrs {
            min_nr_regions: 2000,
            ..d
        }
        .validate(),
        Err(AttrsError::RegionBoundsInverted),
    );
    t.expect_eq(
        MonitoringAttrs {
            aggr_interval_us: 1,
            ..d
        }
        .validate(),
        Err(AttrsError::BadIntervals),
    );
}

kunit_suite!(damon_autotune_policy, [attrs_validation]);
