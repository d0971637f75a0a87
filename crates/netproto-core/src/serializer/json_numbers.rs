//! JSON numbers serde_json cannot read as they were sent: integers beyond
//! 64 bits (read as rounded floats) and Python's `NaN`, `Infinity` and
//! `-Infinity` (not JSON at all).

use std::fmt;

/// A number in a received JSON text that cannot be read as it was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NumberIssue {
    /// An integer outside `i64` and `u64`.
    BigInteger {
        /// The integer as sent (shortened when long).
        text: String,
        /// Its digits, sign included.
        len: usize,
        offset: usize,
    },
    /// `NaN`, `Infinity` or `-Infinity`.
    NonFinite { text: &'static str, offset: usize },
}

impl fmt::Display for NumberIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NumberIssue::BigInteger { text, len, offset } => {
                write!(f, "integer {text}")?;
                if text.len() < *len {
                    write!(f, "... ({len} characters)")?;
                }
                write!(
                    f,
                    " at byte {offset} does not fit in 64 bits: it could only be read as a \
                     rounded float, so the packet is refused rather than changed"
                )
            }
            NumberIssue::NonFinite { text, offset } => write!(
                f,
                "{text} at byte {offset} is not a JSON number (Python's json writes it for a \
                 float that is not finite); it cannot be read"
            ),
        }
    }
}

impl std::error::Error for NumberIssue {}

/// Whether `text` (ASCII digits after an optional `-`) is an integer of
/// `i64` or `u64`.
fn fits_64_bits(text: &[u8]) -> bool {
    let (negative, digits) = match text.split_first() {
        Some((b'-', digits)) => (true, digits),
        _ => (false, text),
    };
    let digits = &digits[digits.iter().take_while(|&&d| d == b'0').count()..];
    if digits.len() > 20 {
        return false;
    }
    let value = digits
        .iter()
        .fold(0u128, |n, &d| n * 10 + u128::from(d - b'0'));
    if negative {
        value <= 1u128 << 63
    } else {
        value <= u128::from(u64::MAX)
    }
}

/// Whether `bytes` has a run of 19 or more digits: every integer beyond 64
/// bits has one, and almost no other text does, so the full scan runs only
/// for the rare packet that may hold one.
///
/// It looks at one byte in 19: any run of 19 digits covers one of them, and
/// only a digit found there is measured (out to the bytes around it).
pub(crate) fn may_hold_big_integer(bytes: &[u8]) -> bool {
    const RUN: usize = 19;
    let mut at = RUN - 1;
    while let Some(b) = bytes.get(at) {
        if !b.is_ascii_digit() {
            at += RUN;
            continue;
        }
        let start = bytes[..at]
            .iter()
            .rposition(|b| !b.is_ascii_digit())
            .map_or(0, |i| i + 1);
        let end = bytes[at..]
            .iter()
            .position(|b| !b.is_ascii_digit())
            .map_or(bytes.len(), |i| at + i);
        if end - start >= RUN {
            return true;
        }
        // A later run starts after `end` and so covers `end + RUN`, or a
        // position 19 after it.
        at = end + RUN;
    }
    false
}

/// The first number outside strings in the JSON text `bytes` that cannot be
/// read as sent. The text need not be valid JSON.
pub(crate) fn find_number_issue(bytes: &[u8]) -> Option<NumberIssue> {
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => {
                i += 1;
                // Skip the string: to its unescaped closing quote.
                loop {
                    let j = memchr::memchr2(b'"', b'\\', bytes.get(i..)?)?;
                    i += j;
                    if bytes[i] == b'\\' {
                        i += 2;
                    } else {
                        i += 1;
                        break;
                    }
                }
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                if b == b'-' {
                    if bytes[i + 1..].starts_with(b"Infinity") {
                        return Some(NumberIssue::NonFinite {
                            text: "-Infinity",
                            offset: start,
                        });
                    }
                    i += 1;
                }
                while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
                let fraction = matches!(bytes.get(i), Some(b'.' | b'e' | b'E'));
                let integer = &bytes[start..i];
                if !fraction && !fits_64_bits(integer) {
                    return Some(NumberIssue::BigInteger {
                        text: String::from_utf8_lossy(&integer[..integer.len().min(40)]).into(),
                        len: integer.len(),
                        offset: start,
                    });
                }
                while matches!(
                    bytes.get(i),
                    Some(b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
                ) {
                    i += 1;
                }
            }
            b'N' if bytes[i..].starts_with(b"NaN") => {
                return Some(NumberIssue::NonFinite {
                    text: "NaN",
                    offset: i,
                });
            }
            b'I' if bytes[i..].starts_with(b"Infinity") => {
                return Some(NumberIssue::NonFinite {
                    text: "Infinity",
                    offset: i,
                });
            }
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    /// The byte-by-byte scan `may_hold_big_integer` must agree with.
    fn has_run_of_19_digits(bytes: &[u8]) -> bool {
        bytes
            .split(|b| !b.is_ascii_digit())
            .any(|run| run.len() >= 19)
    }

    proptest::proptest! {
        #[test]
        fn the_strided_scan_agrees_with_the_bytewise_one(
            text in proptest::collection::vec(
                proptest::sample::select(b"0123456789,x".to_vec()), 0..200)
        ) {
            proptest::prop_assert_eq!(
                super::may_hold_big_integer(&text),
                has_run_of_19_digits(&text)
            );
        }
    }

    #[test]
    fn the_strided_scan_finds_every_run_of_19_digits() {
        // Runs of 17 to 21 digits at every offset, with short runs and
        // text around them.
        for len in 17..=21 {
            for offset in 0..45 {
                for filler in [&b"x"[..], b"12,", b"123456789012345678 "] {
                    let mut text: Vec<u8> = filler.iter().copied().cycle().take(offset).collect();
                    text.extend(std::iter::repeat_n(b'7', len));
                    text.extend_from_slice(b",\"a\":1}");
                    assert_eq!(
                        super::may_hold_big_integer(&text),
                        has_run_of_19_digits(&text),
                        "{}",
                        String::from_utf8_lossy(&text)
                    );
                }
            }
        }
    }

    use super::*;

    fn issue(text: &str) -> Option<String> {
        find_number_issue(text.as_bytes()).map(|issue| issue.to_string())
    }

    #[test]
    fn integers_of_64_bits_pass_and_bigger_ones_are_found() {
        for ok in [
            "18446744073709551615",
            "-9223372036854775808",
            "[0, -0, 1.5e300, 1180591620717411303424.0, 1e21]",
            r#"{"s": "1180591620717411303424 NaN Infinity \" 99999999999999999999"}"#,
            "00000000000000000000000000001",
            "-",
            "",
        ] {
            assert_eq!(issue(ok), None, "{ok}");
        }
        assert_eq!(
            find_number_issue(br#"{"big": 1180591620717411303424}"#),
            Some(NumberIssue::BigInteger {
                text: "1180591620717411303424".into(),
                len: 22,
                offset: 8,
            })
        );
        assert!(issue("18446744073709551616").is_some());
        assert!(issue("-9223372036854775809").is_some());
        let long = issue(&"9".repeat(1000)).unwrap();
        assert!(long.contains("... (1000 characters)"), "{long}");
        assert!(long.len() < 300);
    }

    #[test]
    fn python_non_finite_floats_are_named() {
        assert!(issue("[1, NaN]").unwrap().starts_with("NaN at byte 4"));
        assert!(issue("Infinity").unwrap().starts_with("Infinity at byte 0"));
        assert!(
            issue(r#"{"x":-Infinity}"#)
                .unwrap()
                .starts_with("-Infinity at byte 5")
        );
        assert_eq!(issue(r#""NaN""#), None);
    }

    #[test]
    fn the_quick_filter_sees_every_big_integer() {
        assert!(may_hold_big_integer(b"[18446744073709551616]"));
        assert!(may_hold_big_integer(b"-9223372036854775809"));
        assert!(!may_hold_big_integer(b"[1234567890123456.5e3, 12345]"));
        assert!(!may_hold_big_integer(br#"{"a": 123456789012345678}"#));
    }
}
