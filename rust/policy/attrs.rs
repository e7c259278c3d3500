// SPDX-License-Identifier: GPL-2.0

//! Monitoring attributes and their validation.

/// DAMON's monitoring attributes, in microseconds and region counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MonitoringAttrs {
    /// Time between two access checks of a region.
    pub sample_interval_us: u64,
    /// Time over which access checks are aggregated.
    pub aggr_interval_us: u64,
    /// Time between two updates of the monitoring target regions.
    pub ops_update_interval_us: u64,
    /// Minimum number of monitoring regions.
    pub min_nr_regions: u64,
    /// Maximum number of monitoring regions.
    pub max_nr_regions: u64,
}

/// Why a set of attributes cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttrsError {
    /// `min_nr_regions` is below 3: DAMON needs three regions to adapt.
    TooFewRegions,
    /// `min_nr_regions` exceeds `max_nr_regions`.
    RegionBoundsInverted,
    /// `aggr_interval` is shorter than `sample_interval`, or an interval is 0.
    BadIntervals,
}

impl MonitoringAttrs {
    /// The defaults of DAMON and DAMON_RECLAIM.
    pub const DEFAULT: Self = Self {
        sample_interval_us: 5_000,
        aggr_interval_us: 100_000,
        ops_update_interval_us: 60_000_000,
        min_nr_regions: 10,
        max_nr_regions: 1_000,
    };

    /// Checks what DAMON's `damon_set_attrs()` checks, and what would make
    /// the monitoring meaningless.
    pub fn validate(&self) -> Result<(), AttrsError> {
        if self.min_nr_regions < 3 {
            return Err(AttrsError::TooFewRegions);
        }
        if self.min_nr_regions > self.max_nr_regions {
            return Err(AttrsError::RegionBoundsInverted);
        }
        if self.sample_interval_us == 0 || self.aggr_interval_us < self.sample_interval_us {
            return Err(AttrsError::BadIntervals);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(MonitoringAttrs::DEFAULT.validate(), Ok(()));
    }

    #[test]
    fn rejects_what_damon_rejects() {
        let d = MonitoringAttrs::DEFAULT;
        let a = MonitoringAttrs {
            min_nr_regions: 2,
            ..d
        };
        assert_eq!(a.validate(), Err(AttrsError::TooFewRegions));
        let a = MonitoringAttrs {
            min_nr_regions: 11,
            max_nr_regions: 10,
            ..d
        };
        assert_eq!(a.validate(), Err(AttrsError::RegionBoundsInverted));
        let a = MonitoringAttrs {
            aggr_interval_us: 4_999,
            ..d
        };
        assert_eq!(a.validate(), Err(AttrsError::BadIntervals));
        let a = MonitoringAttrs {
            sample_interval_us: 0,
            aggr_interval_us: 0,
            ..d
        };
        assert_eq!(a.validate(), Err(AttrsError::BadIntervals));
        let a = MonitoringAttrs {
            min_nr_regions: 3,
            max_nr_regions: 3,
            ..d
        };
        assert_eq!(a.validate(), Ok(()));
    }
}
