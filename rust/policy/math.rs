// SPDX-License-Identifier: GPL-2.0

//! Integer helpers. The kernel has no 128-bit division (`__udivti3`), so
//! `a * b / c` without overflow is done here by hand.

/// `a * b / c`, rounded down, saturated to `u64::MAX`; `c == 0` gives
/// `u64::MAX`.
pub fn mul_div(a: u64, b: u64, c: u64) -> u64 {
    if c == 0 {
        return u64::MAX;
    }
    if let Some(p) = a.checked_mul(b) {
        return p / c;
    }
    // 128-bit product, then binary long division by `c`.
    let p = u128::from(a) * u128::from(b);
    if (p >> 64) as u64 >= c {
        return u64::MAX;
    }
    let mut rem: u128 = 0;
    let mut q: u64 = 0;
    for i in (0..128).rev() {
        rem = (rem << 1) | ((p >> i) & 1);
        if rem >= u128::from(c) {
            rem -= u128::from(c);
            if i < 64 {
                q |= 1 << i;
            }
        }
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_and_large() {
        assert_eq!(mul_div(10, 20, 3), 66);
        assert_eq!(mul_div(u64::MAX, u64::MAX, u64::MAX), u64::MAX);
        assert_eq!(mul_div(u64::MAX, 2, 4), u64::MAX / 2);
        assert_eq!(mul_div(u64::MAX, 10_000, 20_000), u64::MAX / 2);
        assert_eq!(mul_div(u64::MAX, 3, 2), u64::MAX);
        assert_eq!(mul_div(1 << 63, 4, 3), ((1u128 << 65) / 3) as u64);
        assert_eq!(mul_div(5, 5, 0), u64::MAX);
    }

    #[test]
    fn matches_u128_on_a_grid() {
        let vals = [
            0,
            1,
            2,
            3,
            7,
            1000,
            4096,
            1 << 32,
            (1 << 32) + 1,
            1 << 63,
            u64::MAX - 1,
            u64::MAX,
        ];
        for &a in &vals {
            for &b in &vals {
                for &c in &vals[1..] {
                    let want = u128::from(a) * u128::from(b) / u128::from(c);
                    let want = u64::try_from(want).unwrap_or(u64::MAX);
                    assert_eq!(mul_div(a, b, c), want, "{} * {} / {}", a, b, c);
                }
            }
        }
    }
}
