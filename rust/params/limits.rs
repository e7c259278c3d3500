// SPDX-License-Identifier: GPL-2.0

//! The upper bounds of the parameters' values, and the range test the
//! checks of [`super::check`] are made of.
//!
//! Pure code: compiled into the module and into the host test crate
//! (`rust/host`). A bound is what no administrator needs to go beyond and
//! what keeps the module's arithmetic in range: a time converted to
//! nanoseconds and added to the clock, a size converted to DAMON's basis
//! points of bytes. The admin guide (Documentation/admin-guide.rst) lists
//! them.

/// The longest interval, in milliseconds: one day. Reset intervals,
/// time quotas and the tuning period.
pub const MAX_INTERVAL_MS: u64 = 24 * 3600 * 1000;
/// The longest interval, in microseconds: one day. Sampling,
/// aggregation and watermark check intervals, the memory pressure goal.
pub const MAX_INTERVAL_US: u64 = MAX_INTERVAL_MS * 1000;
/// The highest age, in microseconds: 30 days (`min_age`, its tuning
/// bounds, `tier_cold_min_age`).
pub const MAX_AGE_US: u64 = 30 * 24 * 3600 * 1_000_000;
/// The largest size quota, in bytes: 1 PiB per reset interval, far more
/// than any machine moves, and small enough that DAMON's quota in basis
/// points of bytes (`size * 10_000`) fits in 64 bits.
pub const MAX_SIZE: u64 = 1 << 50;
/// The highest value in basis points: 10,000 (100%).
pub const MAX_BP: u64 = 10_000;
/// The highest value per thousand: 1,000 (100%).
pub const MAX_PER_THOUSAND: u64 = 1_000;

/// Whether `v` is in `min..=max`.
pub const fn within(v: u64, min: u64, max: u64) -> bool {
    min <= v && v <= max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert!(within(0, 0, 0));
        assert!(within(1, 1, MAX_INTERVAL_MS));
        assert!(within(MAX_INTERVAL_MS, 1, MAX_INTERVAL_MS));
        assert!(!within(0, 1, MAX_INTERVAL_MS));
        assert!(!within(MAX_INTERVAL_MS + 1, 1, MAX_INTERVAL_MS));
        assert!(!within(u64::MAX, 0, MAX_SIZE));
    }

    /// The arithmetic the bounds are for: a reset interval or a tuning
    /// period in ns added to a clock of 292 years (half of u64 in ns), an
    /// interval or an age in ns, a size in basis points of bytes.
    #[test]
    fn bounds_keep_the_arithmetic_in_range() {
        let clock = u64::MAX / 2;
        assert!(MAX_INTERVAL_MS
            .checked_mul(1_000_000)
            .and_then(|ns| ns.checked_add(clock))
            .is_some());
        assert!(MAX_INTERVAL_US.checked_mul(1000).is_some());
        assert!(MAX_AGE_US.checked_mul(1000).is_some());
        assert!(MAX_SIZE.checked_mul(MAX_BP).is_some());
        assert_eq!(MAX_INTERVAL_MS, 86_400_000);
        assert_eq!(MAX_AGE_US, 2_592_000_000_000);
        assert_eq!(MAX_SIZE, 1_125_899_906_842_624);
    }
}
