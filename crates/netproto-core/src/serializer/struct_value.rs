//! The values of a [`StructFormat`](super::StructFormat) packet, and the
//! IEEE 754 half-precision conversions of the `e` code.

use bytes::Bytes;

/// One value of a [`StructFormat`](super::StructFormat) packet, as Python's `struct` module
/// packs and unpacks it.
#[derive(Clone, Debug, PartialEq)]
pub enum StructValue {
    /// A signed integer: unpacked from `b h i l q n`; packs into any
    /// integer code whose range holds it, and into float codes.
    Int(i64),
    /// An unsigned integer: unpacked from `B H I L Q N P`; packs like `Int`.
    UInt(u64),
    /// A float: unpacked from `e f d`; packs into those codes only.
    Float(f64),
    /// A boolean: unpacked from `?`; packs as 1 or 0 anywhere a number goes.
    Bool(bool),
    /// Bytes: unpacked from `c` (one byte), `s` and `p`; packs into them.
    Bytes(Bytes),
}

impl From<i64> for StructValue {
    fn from(v: i64) -> Self {
        StructValue::Int(v)
    }
}

impl From<u64> for StructValue {
    fn from(v: u64) -> Self {
        StructValue::UInt(v)
    }
}

impl From<f64> for StructValue {
    fn from(v: f64) -> Self {
        StructValue::Float(v)
    }
}

impl From<bool> for StructValue {
    fn from(v: bool) -> Self {
        StructValue::Bool(v)
    }
}

impl From<&'static [u8]> for StructValue {
    fn from(v: &'static [u8]) -> Self {
        StructValue::Bytes(Bytes::from_static(v))
    }
}

impl From<Vec<u8>> for StructValue {
    fn from(v: Vec<u8>) -> Self {
        StructValue::Bytes(Bytes::from(v))
    }
}

/// IEEE 754 binary16 from a double, rounding to nearest even, refusing
/// finite values that overflow (as Python's `PyFloat_Pack2`).
pub(super) fn f64_to_f16(x: f64) -> Result<u16, String> {
    let sign: u16 = if x.is_sign_negative() { 0x8000 } else { 0 };
    if x.is_nan() {
        return Ok(sign | 0x7e00);
    }
    let a = x.abs();
    if a.is_infinite() {
        return Ok(sign | 0x7c00);
    }
    if a == 0.0 {
        return Ok(sign);
    }
    let exponent = ((a.to_bits() >> 52) & 0x7ff) as i32 - 1023;
    let mut q = exponent.max(-14) - 10;
    let mut m = (a / 2f64.powi(q)).round_ties_even();
    if m >= 2048.0 {
        m /= 2.0;
        q += 1;
    }
    if q + 10 > 15 {
        return Err("float too large to pack with e format".into());
    }
    let m = m as u16;
    if m < 1024 {
        Ok(sign | m)
    } else {
        Ok(sign | (((q + 25) as u16) << 10) | (m - 1024))
    }
}

pub(super) fn f16_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = i32::from((h >> 10) & 0x1f);
    let fraction = f64::from(h & 0x3ff);
    sign * match exponent {
        0 => fraction * 2f64.powi(-24),
        31 if fraction == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        _ => (1024.0 + fraction) * 2f64.powi(exponent - 25),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_floats_round_like_python() {
        for (x, bits) in [
            (1.0, 0x3c00),
            (65504.0, 0x7bff),
            (2f64.powi(-24), 0x0001),
            (2f64.powi(-25), 0x0000),
            (2f64.powi(-14), 0x0400),
            (-0.0, 0x8000),
            (0.1, 0x2e66),
            (f64::INFINITY, 0x7c00),
        ] {
            assert_eq!(f64_to_f16(x).unwrap(), bits, "{x}");
            assert_eq!(f64_to_f16(f16_to_f64(bits)).unwrap(), bits);
        }
        assert_eq!(f16_to_f64(0x0001), 2f64.powi(-24));
        assert_eq!(f16_to_f64(0x2e66), 0.0999755859375);
        assert!(f64_to_f16(65520.0).is_err());
        assert!(f16_to_f64(0x7e00).is_nan());
    }
}
