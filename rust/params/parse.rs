// SPDX-License-Identifier: GPL-2.0

//! Parsing of parameter values, with the kernel's conventions.
//!
//! Pure code: compiled into the module and into the host test crate
//! (`rust/host`). Numbers follow `kstrtoul()`/`kstrtol()` with base 0 (a
//! `0x` prefix is hexadecimal, a leading `0` octal), one optional trailing
//! newline, an optional `+` (and `-` for signed types). Booleans follow
//! `kstrtobool()`. As in those, a number too large for its type is
//! [`ParseError::Range`] (`-ERANGE`) and anything else that does not parse
//! [`ParseError::Invalid`] (`-EINVAL`).

/// Why a value does not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Not a value of the type (`-EINVAL`).
    Invalid,
    /// A number that does not fit the type (`-ERANGE`).
    Range,
}

use ParseError::{Invalid, Range};

/// Strips the one trailing newline `echo` adds.
fn trim_newline(s: &[u8]) -> &[u8] {
    match s {
        [rest @ .., b'\n'] => rest,
        _ => s,
    }
}

/// Parses an unsigned number no larger than `max`.
pub fn parse_unsigned(s: &[u8], max: u64) -> Result<u64, ParseError> {
    let s = trim_newline(s);
    let v = parse_magnitude(s.strip_prefix(b"+").unwrap_or(s))?;
    if v <= max {
        Ok(v)
    } else {
        Err(Range)
    }
}

/// `_kstrtoull(s, 0)` once the newline is gone (a second newline is an
/// error, as there): digits in the base the prefix says, then nothing.
/// Overflow is found while reading the digits, before what follows them,
/// as `_parse_integer()` does.
fn parse_magnitude(s: &[u8]) -> Result<u64, ParseError> {
    let (radix, digits): (u64, &[u8]) = match s {
        [b'0', b'x' | b'X', rest @ ..] => (16, rest),
        [b'0', rest @ ..] if !rest.is_empty() => (8, rest),
        _ => (10, s),
    };
    let mut value: u64 = 0;
    let mut overflow = false;
    let mut n = 0;
    for &c in digits {
        let d = match c {
            b'0'..=b'9' => u64::from(c - b'0'),
            b'a'..=b'f' => u64::from(c - b'a') + 10,
            b'A'..=b'F' => u64::from(c - b'A') + 10,
            _ => break,
        };
        if d >= radix {
            break;
        }
        n += 1;
        match value.checked_mul(radix).and_then(|v| v.checked_add(d)) {
            Some(v) => value = v,
            None => overflow = true,
        }
    }
    if overflow {
        return Err(Range);
    }
    if n == 0 || n != digits.len() {
        return Err(Invalid);
    }
    Ok(value)
}

/// Parses a signed number in `min..=max` (`kstrtoll()`, then the type's
/// range as `kstrtoint()` checks it).
pub fn parse_signed(s: &[u8], min: i64, max: i64) -> Result<i64, ParseError> {
    let s = trim_newline(s);
    let value = match s {
        [b'-', rest @ ..] => {
            // No second sign: `_kstrtoull()` takes none.
            let magnitude = parse_magnitude(rest)?;
            0i64.checked_sub_unsigned(magnitude).ok_or(Range)?
        }
        _ => {
            let magnitude = parse_magnitude(s.strip_prefix(b"+").unwrap_or(s))?;
            i64::try_from(magnitude).map_err(|_| Range)?
        }
    };
    if min <= value && value <= max {
        Ok(value)
    } else {
        Err(Range)
    }
}

/// Parses a boolean the way `kstrtobool()` does: `y`/`Y`/`t`/`T`/`1`/`on`
/// or `n`/`N`/`f`/`F`/`0`/`off` (only the first one or two characters
/// count).
pub fn parse_bool(s: &[u8]) -> Result<bool, ParseError> {
    match s {
        [b'y' | b'Y' | b't' | b'T' | b'1', ..] => Ok(true),
        [b'n' | b'N' | b'f' | b'F' | b'0', ..] => Ok(false),
        [b'o' | b'O', b'n' | b'N', ..] => Ok(true),
        [b'o' | b'O', b'f' | b'F', ..] => Ok(false),
        _ => Err(Invalid),
    }
}

/// Parses one of `names` (exact match, one optional trailing newline) and
/// returns its index.
pub fn parse_choice(s: &[u8], names: &[&str]) -> Result<usize, ParseError> {
    let s = trim_newline(s);
    names.iter().position(|n| n.as_bytes() == s).ok_or(Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    const I32: (i64, i64) = (i32::MIN as i64, i32::MAX as i64);

    #[test]
    fn unsigned_bases_and_newline() {
        assert_eq!(parse_unsigned(b"120000000\n", u64::MAX), Ok(120_000_000));
        assert_eq!(parse_unsigned(b"0x10", u64::MAX), Ok(16));
        assert_eq!(parse_unsigned(b"010", u64::MAX), Ok(8));
        assert_eq!(parse_unsigned(b"0", u64::MAX), Ok(0));
        assert_eq!(parse_unsigned(b"+7", u64::MAX), Ok(7));
    }

    #[test]
    fn unsigned_rejects_garbage() {
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
            b"++1",
            b"+",
        ] {
            assert_eq!(parse_unsigned(bad, u64::MAX), Err(Invalid), "{:?}", bad);
        }
    }

    /// `-ERANGE` for what does not fit, `-EINVAL` for what does not
    /// parse, as `kstrtoull()` and `kstrtouint()` say.
    #[test]
    fn unsigned_range_errors() {
        assert_eq!(
            parse_unsigned(b"18446744073709551615", u64::MAX),
            Ok(u64::MAX)
        );
        assert_eq!(
            parse_unsigned(b"18446744073709551616", u64::MAX),
            Err(Range)
        );
        assert_eq!(
            parse_unsigned(b"0x10000000000000000\n", u64::MAX),
            Err(Range)
        );
        // Overflow is found while reading the digits, before the garbage.
        assert_eq!(
            parse_unsigned(b"99999999999999999999abc", u64::MAX),
            Err(Range)
        );
        assert_eq!(
            parse_unsigned(b"4294967296", u64::from(u32::MAX)),
            Err(Range)
        );
        assert_eq!(
            parse_unsigned(b"4294967295", u64::from(u32::MAX)),
            Ok(u64::from(u32::MAX))
        );
    }

    #[test]
    fn signed_range() {
        assert_eq!(parse_signed(b"-1", I32.0, I32.1), Ok(-1));
        assert_eq!(parse_signed(b"+5", I32.0, I32.1), Ok(5));
        assert_eq!(parse_signed(b"-0", I32.0, I32.1), Ok(0));
        assert_eq!(parse_signed(b"-2147483648", I32.0, I32.1), Ok(-2147483648));
        assert_eq!(parse_signed(b"-2147483649", I32.0, I32.1), Err(Range));
        assert_eq!(parse_signed(b"2147483648", I32.0, I32.1), Err(Range));
        assert_eq!(
            parse_signed(b"9223372036854775808", i64::MIN, i64::MAX),
            Err(Range)
        );
        assert_eq!(
            parse_signed(b"-9223372036854775809", i64::MIN, i64::MAX),
            Err(Range)
        );
        assert_eq!(
            parse_signed(b"-99999999999999999999", i64::MIN, i64::MAX),
            Err(Range)
        );
        for bad in [&b"--1"[..], b"-+1", b"+-1", b"-", b"1-", b"x"] {
            assert_eq!(
                parse_signed(bad, i64::MIN, i64::MAX),
                Err(Invalid),
                "{:?}",
                bad
            );
        }
        // One trailing newline, not two (the fuzzer's find: "0\n\n" was
        // taken, each layer stripping one).
        assert_eq!(parse_signed(b"5\n", i64::MIN, i64::MAX), Ok(5));
        assert_eq!(parse_signed(b"0\n\n", i64::MIN, i64::MAX), Err(Invalid));
        assert_eq!(parse_signed(b"-3\n\n", i64::MIN, i64::MAX), Err(Invalid));
        assert_eq!(
            parse_signed(b"-9223372036854775808", i64::MIN, i64::MAX),
            Ok(i64::MIN)
        );
    }

    #[test]
    fn bools() {
        for (s, v) in [
            (&b"Y"[..], Ok(true)),
            (b"y\n", Ok(true)),
            (b"1", Ok(true)),
            (b"on", Ok(true)),
            (b"true", Ok(true)),
            (b"T", Ok(true)),
            (b"N", Ok(false)),
            (b"0", Ok(false)),
            (b"off", Ok(false)),
            (b"false", Ok(false)),
            (b"", Err(Invalid)),
            (b"x", Err(Invalid)),
            (b"o", Err(Invalid)),
        ] {
            assert_eq!(parse_bool(s), v, "{:?}", s);
        }
    }

    #[test]
    fn choices() {
        let names = ["consist", "temporal"];
        assert_eq!(parse_choice(b"temporal\n", &names), Ok(1));
        assert_eq!(parse_choice(b"consist", &names), Ok(0));
        assert_eq!(parse_choice(b"Consist", &names), Err(Invalid));
        assert_eq!(parse_choice(b"", &names), Err(Invalid));
    }
}
