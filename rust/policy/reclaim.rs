// SPDX-License-Identifier: GPL-2.0

//! Proactive reclaim: the configuration the parameters describe, its
//! validation, and the DAMOS scheme it becomes (DAMON_RECLAIM's, field for
//! field).

use super::attrs::{AttrsError, MonitoringAttrs};
use super::damos::{
    AccessPattern, Action, Filter, Goal, GoalMetric, Quota, SchemeSpec, Watermarks, WmarkMetric,
    MIN_REGION,
};

/// Everything the reclaim parameters say, as plain values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReclaimConfig {
    /// Monitoring attributes.
    pub attrs: MonitoringAttrs,
    /// Regions not accessed for this long (µs) are reclaimed.
    pub min_age_us: u64,
    /// Time quota, ms per reset interval.
    pub quota_ms: u64,
    /// Size quota, bytes per reset interval.
    pub quota_sz: u64,
    /// Quota charge reset interval, ms.
    pub quota_reset_interval_ms: u64,
    /// Memory PSI ("some") goal in µs per reset interval, 0: none.
    pub quota_mem_pressure_us: u64,
    /// User feedback for the quota, 0: none (10,000 is the target).
    pub quota_autotune_feedback: u64,
    /// Watermarks on the free memory rate (per thousand), checked every
    /// `interval_us`.
    pub wmarks: Watermarks,
    /// Monitored physical range; (0, 0) is every System RAM block.
    pub region: (u64, u64),
    /// Leave anonymous pages alone.
    pub skip_anon: bool,
}

/// Why a reclaim configuration cannot be applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// Monitoring attributes DAMON refuses.
    Attrs(AttrsError),
    /// Watermarks not ordered high ≥ mid ≥ low, or above 1000.
    Watermarks,
    /// Monitoring region start ≥ end (other than both 0).
    Region,
    /// Monitoring region outside the physical memory.
    RegionOutsideRam,
}

/// DAMON_RECLAIM's defaults.
pub const DEFAULT: ReclaimConfig = ReclaimConfig {
    attrs: MonitoringAttrs::DEFAULT,
    min_age_us: 120_000_000,
    quota_ms: 10,
    quota_sz: 128 << 20,
    quota_reset_interval_ms: 1000,
    quota_mem_pressure_us: 0,
    quota_autotune_feedback: 0,
    wmarks: Watermarks {
        metric: WmarkMetric::FreeMemRate,
        interval_us: 5_000_000,
        high: 500,
        mid: 400,
        low: 200,
    },
    region: (0, 0),
    skip_anon: false,
};

/// The most goals a reclaim scheme has.
pub const MAX_GOALS: usize = 2;

impl ReclaimConfig {
    /// Checks the combination of values (each value on its own was checked
    /// when it was written).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.attrs.validate().map_err(ConfigError::Attrs)?;
        if !self.wmarks.is_valid() {
            return Err(ConfigError::Watermarks);
        }
        let (start, end) = self.region;
        if (start, end) != (0, 0) && start >= end {
            return Err(ConfigError::Region);
        }
        Ok(())
    }

    /// Checks that the monitoring region (if set) lies within `ram`, the
    /// physical address range memory spans.
    pub fn validate_region_in(&self, ram: (u64, u64)) -> Result<(), ConfigError> {
        let (start, end) = self.region;
        if (start, end) == (0, 0) || (ram.0 <= start && end <= ram.1) {
            Ok(())
        } else {
            Err(ConfigError::RegionOutsideRam)
        }
    }

    /// The quota goals the DAMON core tunes towards: memory pressure and
    /// user feedback, as DAMON_RECLAIM sets them. Returns how many of
    /// `out` were filled.
    pub fn goals(&self, out: &mut [Goal; MAX_GOALS]) -> usize {
        let mut n = 0;
        if self.quota_mem_pressure_us != 0 {
            out[n] = Goal {
                metric: GoalMetric::SomeMemPsiUs,
                target: self.quota_mem_pressure_us,
                current: 0,
            };
            n += 1;
        }
        if self.quota_autotune_feedback != 0 {
            out[n] = Goal {
                metric: GoalMetric::UserInput,
                target: 10_000,
                current: self.quota_autotune_feedback,
            };
            n += 1;
        }
        n
    }

    /// The reclaim scheme.
    pub fn scheme<'a>(&self, goals: &'a [Goal]) -> SchemeSpec<'a> {
        const SKIP_ANON: [Filter; 1] = [Filter::Anon { matching: true }];
        SchemeSpec {
            // Regions of at least a page, not accessed at all, for
            // `min_age` or more.
            pattern: AccessPattern {
                sz: (MIN_REGION, u64::MAX),
                ..AccessPattern::cold(self.min_age_us, self.attrs.aggr_interval_us)
            },
            // Page them out as soon as found,
            action: Action::Pageout,
            // every aggregation interval,
            apply_interval_us: 0,
            target_nid: -1,
            // under the quota, oldest first,
            quota: Quota {
                ms: self.quota_ms,
                sz: self.quota_sz,
                reset_interval_ms: self.quota_reset_interval_ms,
                weight_sz: 0,
                weight_nr_accesses: 0,
                weight_age: 1,
            },
            goals,
            // while free memory is between the watermarks.
            wmarks: self.wmarks,
            filters: if self.skip_anon { &SKIP_ANON } else { &[] },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_damon_reclaims() {
        assert_eq!(DEFAULT.validate(), Ok(()));
        let s = DEFAULT.scheme(&[]);
        assert_eq!(s.pattern.age, (1200, u32::MAX));
        assert_eq!(s.pattern.nr_accesses, (0, 0));
        assert_eq!(s.pattern.sz, (4096, u64::MAX));
        assert_eq!(s.action, Action::Pageout);
        assert_eq!(s.quota.sz, 128 << 20);
        assert_eq!(s.quota.weight_age, 1);
        assert!(s.filters.is_empty());
        assert!(s.is_valid());
    }

    #[test]
    fn combinations_are_checked() {
        let bad_wmarks = ReclaimConfig {
            wmarks: Watermarks {
                mid: 600,
                ..DEFAULT.wmarks
            },
            ..DEFAULT
        };
        assert_eq!(bad_wmarks.validate(), Err(ConfigError::Watermarks));
        let over = ReclaimConfig {
            wmarks: Watermarks {
                high: 1001,
                ..DEFAULT.wmarks
            },
            ..DEFAULT
        };
        assert_eq!(over.validate(), Err(ConfigError::Watermarks));
        let region = ReclaimConfig {
            region: (8192, 4096),
            ..DEFAULT
        };
        assert_eq!(region.validate(), Err(ConfigError::Region));
        let region = ReclaimConfig {
            region: (0, 4096),
            ..DEFAULT
        };
        assert_eq!(region.validate(), Ok(()));
        let attrs = ReclaimConfig {
            attrs: MonitoringAttrs {
                aggr_interval_us: 1000,
                ..DEFAULT.attrs
            },
            ..DEFAULT
        };
        assert_eq!(
            attrs.validate(),
            Err(ConfigError::Attrs(AttrsError::BadIntervals))
        );
    }

    #[test]
    fn region_must_be_in_ram() {
        let ram = (4096, 1 << 30);
        assert_eq!(DEFAULT.validate_region_in(ram), Ok(()));
        let inside = ReclaimConfig {
            region: (8192, 1 << 30),
            ..DEFAULT
        };
        assert_eq!(inside.validate_region_in(ram), Ok(()));
        let beyond = ReclaimConfig {
            region: (8192, (1 << 30) + 4096),
            ..DEFAULT
        };
        assert_eq!(
            beyond.validate_region_in(ram),
            Err(ConfigError::RegionOutsideRam)
        );
        let below = ReclaimConfig {
            region: (0, 8192),
            ..DEFAULT
        };
        assert_eq!(
            below.validate_region_in(ram),
            Err(ConfigError::RegionOutsideRam)
        );
    }

    #[test]
    fn goals_and_filters() {
        let c = ReclaimConfig {
            quota_mem_pressure_us: 1000,
            quota_autotune_feedback: 5000,
            skip_anon: true,
            ..DEFAULT
        };
        let mut goals = [Goal {
            metric: GoalMetric::UserInput,
            target: 0,
            current: 0,
        }; MAX_GOALS];
        let n = c.goals(&mut goals);
        assert_eq!(n, 2);
        assert_eq!(goals[0].metric, GoalMetric::SomeMemPsiUs);
        assert_eq!(
            goals[1],
            Goal {
                metric: GoalMetric::UserInput,
                target: 10_000,
                current: 5000
            }
        );
        assert_eq!(DEFAULT.goals(&mut goals), 0);
        assert_eq!(
            c.scheme(&goals[..n]).filters,
            &[Filter::Anon { matching: true }]
        );
    }

    #[test]
    fn min_age_follows_aggregation_interval() {
        let c = ReclaimConfig {
            min_age_us: 1_000_000,
            attrs: MonitoringAttrs {
                aggr_interval_us: 20_000,
                ..DEFAULT.attrs
            },
            ..DEFAULT
        };
        assert_eq!(c.scheme(&[]).pattern.age.0, 50);
    }
}
