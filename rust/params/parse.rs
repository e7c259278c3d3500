// SPDX-License-Identifier: GPL-2.0

//! Parsing of parameter values, with the kernel's conventions.
//!
//! Pure code: compiled into the module and into the host test crate
//! (`rust/host`). Numbers follow `kstrtoul()`/`kstrtol()` with base 0 (a
//! `0x` prefix is hexadecimal, a leading `0` octal), one optional trailing
//! newline, an optional `+` (and `-` for signed types). Booleans follow
//! `kstrtobool()`. Anything else, including overflow, is `None`.

/// Strips the one trailing newline `echo` adds.
fn trim_newline(s: &[u8]) -> &[u8] {
    match s {
        [rest @ .., b'\n'] => rest,
        _ => s,
    }
}

/// Parses an unsigned number no larger than `max`.
pub fn parse_unsigned(s: &[u8], max: u64) -> Option<u64> {
    parse_magnitude(trim_newline(s), max)
}

/// [`parse_unsigned`] once the newline is gone: a second newline is an
/// error, as in `kstrtoull()`.
fn parse_magnitude(s: &[u8], max: u64) -> Option<u64> {
    let s = s.strip_prefix(b"+").unwrap_or(s);
    let (radix, digits): (u64, &[u8]) = match s {
        [b'0', b'x' | b'X', rest @ ..] => (16, rest),
        [b'0', rest @ ..] if !rest.is_empty() => (8, rest),
        _ => (10, s),
    };
    if digits.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for &c in digits {
        let d = match c {
            b'0'..=b'9' => u64::from(c - b'0'),
            b'a'..=b'f' => u64::from(c - b'a') + 10,
            b'A'..=b'F' => u64::from(c - b'A') + 10,
            _ => return None,
        };
        if d >= radix {
            return None;
        }
        value = value.checked_mul(radix)?.checked_add(d)?;
    }
    (value <= max).then_some(value)
}

/// Parses a signed number in `min..=max`.
pub fn parse_signed(s: &[u8], min: i64, max: i64) -> Option<i64> {
    let s = trim_newline(s);
    let (negative, rest) = match s {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    if rest.first() == Some(&b'+') || rest.first() == Some(&b'-') {
        return None;
    }
    let magnitude = parse_magnitude(rest, u64::MAX)?;
    let value = if negative {
        0i64.checked_sub_unsigned(magnitude)?
    } else {
        i64::try_from(magnitude).ok()?
    };
    (min <= value && value <= max).then_some(value)
}

/// Parses a boolean the way `kstrtobool()` does: `y`/`Y`/`1`/`on` or
/// `n`/`N`/`0`/`off` (only the first one or two characters count).
pub fn parse_bool(s: &[u8]) -> Option<bool> {
    match s {
        [b'y' | b'Y' | b'1', ..] => Some(true),
        [b'n' | b'N' | b'0', ..] => Some(false),
        [b'o' | b'O', b'n' | b'N', ..] => Some(true),
        [b'o' | b'O', b'f' | b'F', ..] => Some(false),
        _ => None,
    }
}

/// Parses one of `names` (exact match, one optional trailing newline) and
/// returns its index.
pub fn parse_choice(s: &[u8], names: &[&str]) -> Option<usize> {
    let s = trim_newline(s);
    names.iter().position(|n| n.as_bytes() == s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned_bases_and_newline() {
        assert_eq!(parse_unsigned(b"120000000\n", u64::MAX), Some(120_000_000));
        assert_eq!(parse_unsigned(b"0x10", u64::MAX), Some(16));
        assert_eq!(parse_unsigned(b"010", u64::MAX), Some(8));
        assert_eq!(parse_unsigned(b"0", u64::MAX), Some(0));
        assert_eq!(parse_unsigned(b"+7", u64::MAX), Some(7));
    }

    #[test]
    fn unsigned_rejects_garbage_and_overflow() {
        for bad in [
            &b""[..],
            b"\n",
            b"-1",
            b"1 ",
            b" 1",
            b"0x",
            b"09",
            b"1a",
            b"abc",
            b"1\n\n",
        ] {
            assert_eq!(parse_unsigned(bad, u64::MAX), None, "{:?}", bad);
        }
        assert_eq!(
            parse_unsigned(b"18446744073709551615", u64::MAX),
            Some(u64::MAX)
        );
        assert_eq!(parse_unsigned(b"18446744073709551616", u64::MAX), None);
        assert_eq!(parse_unsigned(b"4294967296", u64::from(u32::MAX)), None);
    }

    #[test]
    fn signed_range() {
        assert_eq!(
            parse_signed(b"-1", i32::MIN.into(), i32::MAX.into()),
            Some(-1)
        );
        assert_eq!(
            parse_signed(b"-2147483648", i32::MIN.into(), i32::MAX.into()),
            Some(-2147483648)
        );
        assert_eq!(
            parse_signed(b"-2147483649", i32::MIN.into(), i32::MAX.into()),
            None
        );
        assert_eq!(
            parse_signed(b"2147483648", i32::MIN.into(), i32::MAX.into()),
            None
        );
        assert_eq!(parse_signed(b"--1", i64::MIN, i64::MAX), None);
        // One trailing newline, not two (the fuzzer's find: "0\n\n" was
        // taken, each layer stripping one).
        assert_eq!(parse_signed(b"5\n", i64::MIN, i64::MAX), Some(5));
        assert_eq!(parse_signed(b"0\n\n", i64::MIN, i64::MAX), None);
        assert_eq!(parse_signed(b"-3\n\n", i64::MIN, i64::MAX), None);
        assert_eq!(
            parse_signed(b"-9223372036854775808", i64::MIN, i64::MAX),
            Some(i64::MIN)
        );
    }

    #[test]
    fn bools() {
        for (s, v) in [
            (&b"Y"[..], Some(true)),
            (b"y\n", Some(true)),
            (b"1", Some(true)),
            (b"on", Some(true)),
            (b"N", Some(false)),
            (b"0", Some(false)),
            (b"off", Some(false)),
            (b"", None),
            (b"x", None),
            (b"o", None),
        ] {
            assert_eq!(parse_bool(s), v, "{:?}", s);
        }
    }

    #[test]
    fn choices() {
        let names = ["consist", "temporal"];
        assert_eq!(parse_choice(b"temporal\n", &names), Some(1));
        assert_eq!(parse_choice(b"consist", &names), Some(0));
        assert_eq!(parse_choice(b"Consist", &names), None);
        assert_eq!(parse_choice(b"", &names), None);
    }
}
