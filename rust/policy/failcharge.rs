// SPDX-License-Identifier: GPL-2.0

//! The failed-region quota charge ratio: a region whose action failed is
//! charged `num / denom` of its size, so that the quota measures the work
//! really done. Upstream (7.2): `charge = applied + (tried - applied) *
//! num / denom`; `denom == 0` turns it off (everything tried is charged).
//!
//! The 6.12 core charges everything tried; the module refunds the
//! difference.

/// What a scheme should be charged for `tried` bytes of which `applied`
/// worked.
pub fn charge(tried: u64, applied: u64, num: u64, denom: u64) -> u64 {
    let applied = applied.min(tried);
    if denom == 0 {
        return tried;
    }
    let failed_charge = super::math::mul_div(tried - applied, num, denom);
    applied.saturating_add(failed_charge)
}

/// What the 6.12 core over-charged (it charged `tried`): `tried -
/// charge`, or 0 if the ratio charges failures more than their size.
pub fn refund(tried: u64, applied: u64, num: u64, denom: u64) -> u64 {
    tried.saturating_sub(charge(tried, applied, num, denom))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges() {
        // Off.
        assert_eq!(charge(100, 10, 1, 0), 100);
        assert_eq!(refund(100, 10, 123, 0), 0);
        // num == denom: failures cost their size.
        assert_eq!(charge(100, 10, 7, 7), 100);
        assert_eq!(refund(100, 10, 7, 7), 0);
        // num == 0: failures are free.
        assert_eq!(charge(100, 10, 0, 4096), 10);
        assert_eq!(refund(100, 10, 0, 4096), 90);
        // The seed's 1/4096.
        assert_eq!(charge(4096 * 1000, 0, 1, 4096), 1000);
        // Huge sizes do not overflow.
        assert_eq!(charge(u64::MAX, 0, u64::MAX, 1), u64::MAX);
        assert_eq!(charge(u64::MAX, 0, u64::MAX, u64::MAX), u64::MAX);
        assert_eq!(refund(u64::MAX, 0, 1, 2), u64::MAX - u64::MAX / 2);
        // Failures charged more than their size: nothing to refund.
        assert_eq!(refund(100, 0, 3, 2), 0);
        // More applied than tried (racy counters) counts as all applied.
        assert_eq!(charge(100, 200, 1, 2), 100);
    }
}
