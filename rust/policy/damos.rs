// SPDX-License-Identifier: GPL-2.0

//! Plain descriptions of DAMOS schemes: what the policy decides and the
//! DAMON abstractions (`rust/damon`) turn into `struct damos`.
//!
//! Units are those of DAMON's API: bytes, microseconds, milliseconds for
//! quotas, per-thousand for watermarks, and access patterns in DAMON's own
//! units (`nr_accesses` per aggregation interval, age in aggregation
//! intervals).

/// What a scheme does to the regions it selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `madvise(MADV_WILLNEED)`.
    Willneed,
    /// `madvise(MADV_COLD)`.
    Cold,
    /// Reclaim the pages.
    Pageout,
    /// `madvise(MADV_HUGEPAGE)`.
    Hugepage,
    /// `madvise(MADV_NOHUGEPAGE)`.
    Nohugepage,
    /// Move the pages to the head of the LRU.
    LruPrio,
    /// Move the pages to the tail of the LRU.
    LruDeprio,
    /// Migrate the pages to the target node, hottest first.
    MigrateHot,
    /// Migrate the pages to the target node, coldest first.
    MigrateCold,
    /// Only count the regions.
    Stat,
}

/// Which regions a scheme selects. Every range is inclusive, as in DAMON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccessPattern {
    /// Region size range in bytes.
    pub sz: (u64, u64),
    /// Accesses per aggregation interval.
    pub nr_accesses: (u32, u32),
    /// Age range, in aggregation intervals.
    pub age: (u32, u32),
}

impl AccessPattern {
    /// Every region.
    pub const ANY: Self = Self {
        sz: (0, u64::MAX),
        nr_accesses: (0, u32::MAX),
        age: (0, u32::MAX),
    };

    /// Regions not accessed for at least `min_age_us`, with the aggregation
    /// interval `aggr_interval_us` (DAMON_RECLAIM's cold-region pattern).
    pub fn cold(min_age_us: u64, aggr_interval_us: u64) -> Self {
        Self {
            sz: (MIN_REGION, u64::MAX),
            nr_accesses: (0, 0),
            age: (age_in_aggregations(min_age_us, aggr_interval_us), u32::MAX),
        }
    }

    /// Whether every range is ordered (min ≤ max).
    pub fn is_valid(&self) -> bool {
        self.sz.0 <= self.sz.1
            && self.nr_accesses.0 <= self.nr_accesses.1
            && self.age.0 <= self.age.1
    }
}

/// DAMON's minimum region size (`DAMON_MIN_REGION`, one page).
pub const MIN_REGION: u64 = 4096;

/// A time in µs as a number of aggregation intervals, rounded down and
/// saturated to `u32`; an aggregation interval of 0 counts as 1 µs.
pub fn age_in_aggregations(us: u64, aggr_interval_us: u64) -> u32 {
    u32::try_from(us / aggr_interval_us.max(1)).unwrap_or(u32::MAX)
}

/// A quota goal the DAMON core itself tunes towards (6.12 knows two
/// metrics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GoalMetric {
    /// A value the user writes (`current_value` set by the user).
    UserInput,
    /// Memory pressure stall time ("some" memory PSI), µs per reset
    /// interval.
    SomeMemPsiUs,
}

/// A quota goal: aim the quota at `target` of `metric`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Goal {
    /// What is measured.
    pub metric: GoalMetric,
    /// The value to reach.
    pub target: u64,
    /// The last measured value (for `UserInput`, the user's).
    pub current: u64,
}

/// How much a scheme may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    /// Time limit per reset interval in ms (0: none).
    pub ms: u64,
    /// Size limit per reset interval in bytes (0: none).
    pub sz: u64,
    /// Charge reset interval in ms.
    pub reset_interval_ms: u64,
    /// Prioritisation weight of region size.
    pub weight_sz: u32,
    /// Prioritisation weight of access frequency.
    pub weight_nr_accesses: u32,
    /// Prioritisation weight of age.
    pub weight_age: u32,
}

impl Quota {
    /// No limit.
    pub const UNLIMITED: Self = Self {
        ms: 0,
        sz: 0,
        reset_interval_ms: 0,
        weight_sz: 0,
        weight_nr_accesses: 0,
        weight_age: 0,
    };
}

/// The metric scheme activation watermarks measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WmarkMetric {
    /// Always active.
    None,
    /// Free memory of the system, per thousand.
    FreeMemRate,
}

/// When a scheme is active: it activates when the metric falls below
/// `mid`, and deactivates when it rises above `high` or falls below `low`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Watermarks {
    /// The metric.
    pub metric: WmarkMetric,
    /// How often the metric is checked, in µs.
    pub interval_us: u64,
    /// Upper watermark.
    pub high: u64,
    /// Middle watermark.
    pub mid: u64,
    /// Lower watermark.
    pub low: u64,
}

impl Watermarks {
    /// Always active.
    pub const NONE: Self = Self {
        metric: WmarkMetric::None,
        interval_us: 0,
        high: 0,
        mid: 0,
        low: 0,
    };

    /// Whether the watermarks are ordered (high ≥ mid ≥ low) and, for the
    /// free memory rate, at most 1000 (per thousand).
    pub fn is_valid(&self) -> bool {
        match self.metric {
            WmarkMetric::None => true,
            WmarkMetric::FreeMemRate => {
                self.high <= 1000 && self.high >= self.mid && self.mid >= self.low
            }
        }
    }
}

/// A DAMOS filter. On 6.12 a filter excludes what it matches, or with
/// `matching = false` what it does not match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// Anonymous pages.
    Anon {
        /// Exclude anonymous (true) or non-anonymous (false) pages.
        matching: bool,
    },
    /// Pages of a memory cgroup.
    Memcg {
        /// The cgroup's id.
        id: u16,
        /// Exclude the cgroup's (true) or the others' (false) pages.
        matching: bool,
    },
    /// Pages accessed since the last check (young).
    Young {
        /// Exclude young (true) or old (false) pages.
        matching: bool,
    },
    /// An address range `[start, end)`.
    Addr {
        /// Start of the range.
        start: u64,
        /// End of the range.
        end: u64,
        /// Exclude inside (true) or outside (false) of the range.
        matching: bool,
    },
    /// A monitoring target, by index.
    Target {
        /// The target's index.
        idx: i32,
        /// Exclude this (true) or the other (false) targets.
        matching: bool,
    },
}

impl Filter {
    /// Whether DAMON would accept the filter: an address range must not be
    /// empty.
    pub fn is_valid(&self) -> bool {
        match *self {
            Filter::Addr { start, end, .. } => start < end,
            _ => true,
        }
    }
}

/// A scheme: pattern, action and its limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchemeSpec<'a> {
    /// What it selects.
    pub pattern: AccessPattern,
    /// What it does.
    pub action: Action,
    /// How often it is applied in µs (0: every aggregation interval).
    pub apply_interval_us: u64,
    /// Target node of migrations (ignored by other actions).
    pub target_nid: i32,
    /// How much it may do.
    pub quota: Quota,
    /// Goals the DAMON core tunes the quota towards.
    pub goals: &'a [Goal],
    /// When it is active.
    pub wmarks: Watermarks,
    /// What it skips.
    pub filters: &'a [Filter],
}

impl SchemeSpec<'_> {
    /// Whether DAMON would accept the scheme, its filters included.
    pub fn is_valid(&self) -> bool {
        self.pattern.is_valid()
            && self.wmarks.is_valid()
            && self.filters.iter().all(Filter::is_valid)
    }
}

/// A scheme's statistics, as DAMON counts them since the scheme started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchemeStats {
    /// Regions the action was tried on.
    pub nr_tried: u64,
    /// Bytes the action was tried on.
    pub sz_tried: u64,
    /// Regions the action was applied to.
    pub nr_applied: u64,
    /// Bytes the action was applied to.
    pub sz_applied: u64,
    /// Times the quota was exceeded.
    pub qt_exceeds: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_in_aggregations() {
        assert_eq!(age_in_aggregations(120_000_000, 100_000), 1200);
        assert_eq!(age_in_aggregations(99_999, 100_000), 0);
        assert_eq!(age_in_aggregations(5, 0), 5);
        assert_eq!(age_in_aggregations(u64::MAX, 1), u32::MAX);
    }

    #[test]
    fn cold_pattern() {
        let p = AccessPattern::cold(120_000_000, 100_000);
        assert_eq!(p.nr_accesses, (0, 0));
        assert_eq!(p.age, (1200, u32::MAX));
        assert!(p.is_valid());
    }

    #[test]
    fn filters_are_checked() {
        let addr = |start, end| Filter::Addr {
            start,
            end,
            matching: true,
        };
        assert!(addr(0, 4096).is_valid());
        assert!(!addr(4096, 4096).is_valid());
        assert!(!addr(8192, 4096).is_valid());
        assert!(Filter::Young { matching: false }.is_valid());
        let filters = [Filter::Anon { matching: true }, addr(1, 0)];
        let spec = SchemeSpec {
            pattern: AccessPattern::ANY,
            action: Action::Stat,
            apply_interval_us: 0,
            target_nid: -1,
            quota: Quota::UNLIMITED,
            goals: &[],
            wmarks: Watermarks::NONE,
            filters: &filters[..1],
        };
        assert!(spec.is_valid());
        assert!(!SchemeSpec {
            filters: &filters,
            ..spec
        }
        .is_valid());
    }

    #[test]
    fn watermark_order() {
        let w = Watermarks {
            metric: WmarkMetric::FreeMemRate,
            interval_us: 5_000_000,
            high: 500,
            mid: 400,
            low: 200,
        };
        assert!(w.is_valid());
        assert!(!Watermarks { high: 1001, ..w }.is_valid());
        assert!(!Watermarks { mid: 501, ..w }.is_valid());
        assert!(!Watermarks { low: 401, ..w }.is_valid());
        assert!(Watermarks {
            metric: WmarkMetric::None,
            high: 0,
            mid: 9,
            ..w
        }
        .is_valid());
    }
}
