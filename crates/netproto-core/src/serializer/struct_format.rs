//! Python `struct` format strings (EasyNetwork's `StructSerializer`).

use std::fmt;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};

use super::Serializer;
use super::binary_struct::ByteOrder;
use super::struct_value::StructValue;
use super::struct_value::{f16_to_f64, f64_to_f16};
use crate::error::{DeserializeError, EncodeError};
use crate::framing::FixedSize;
use crate::protocol::StreamProtocol;

/// A format string that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid struct format {format:?}: {reason}")]
pub struct StructFormatError {
    /// The format string given.
    pub format: String,
    /// What is wrong with it.
    pub reason: String,
}

#[derive(Clone, Copy, Debug)]
struct Item {
    code: u8,
    /// Repeat count, or the byte length for `s` and `p`.
    count: usize,
    /// Size of one element (of the whole field for `s` and `p`).
    size: usize,
    offset: usize,
}

impl Item {
    /// Bytes the whole field takes.
    fn len(&self) -> usize {
        match self.code {
            b's' | b'p' => self.size,
            _ => self.size * self.count,
        }
    }

    fn values(&self) -> usize {
        match self.code {
            b'x' => 0,
            b's' | b'p' => 1,
            _ => self.count,
        }
    }
}

/// Packets laid out by a Python `struct` format string such as `">d3q"`:
/// send a slice of [`StructValue`]s, receive a `Vec` of them — the same
/// bytes as EasyNetwork 1.2's `StructSerializer(format)`.
///
/// As in EasyNetwork, a format without a byte-order character is read in
/// network order (`!`), not native. Supported: byte orders `@ = < > !`,
/// codes `x c b B ? h H i I l L q Q n N e f d s p P` with repeat counts
/// (`n N P` in native `@` mode only, which also aligns fields as C does).
/// Every frame is [`size`](Self::size) bytes; pair with a [`FixedSize`]
/// framer ([`protocol`](Self::protocol)). A frame of another size is a
/// per-packet [`DeserializeError`]; a packet whose values do not fit the
/// format (count, type or range, as `struct.pack` checks them) is an
/// [`EncodeError`].
///
/// ```
/// use bytes::BytesMut;
/// use netproto_core::serializer::{Serializer, StructFormat, StructValue};
///
/// let s = StructFormat::new(">d3q").unwrap();
/// assert_eq!(s.size(), 32);
/// let packet = [1.5.into(), 1i64.into(), (-2i64).into(), 3i64.into()];
/// let mut wire = BytesMut::new();
/// s.serialize(&packet, &mut wire).unwrap();
/// assert_eq!(&wire[..8], 1.5f64.to_be_bytes());
/// assert_eq!(s.deserialize(wire.freeze()).unwrap(), packet);
/// ```
#[derive(Clone)]
pub struct StructFormat {
    format: Arc<str>,
    order: ByteOrder,
    items: Arc<[Item]>,
    size: usize,
    values: usize,
}

impl fmt::Debug for StructFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StructFormat")
            .field("format", &self.format)
            .field("size", &self.size)
            .finish()
    }
}

impl StructFormat {
    /// Parse a Python `struct` format string; `"!"` is prepended when it
    /// has no byte-order character (EasyNetwork's rule).
    ///
    /// ```
    /// use netproto_core::serializer::StructFormat;
    ///
    /// assert_eq!(StructFormat::new("qq").unwrap().format(), "!qq");
    /// assert_eq!(StructFormat::new("@bq").unwrap().size(), 16);
    /// assert!(StructFormat::new(">n").is_err());
    /// assert!(StructFormat::new("").is_err());
    /// ```
    pub fn new(format: &str) -> Result<Self, StructFormatError> {
        let fail = |reason: String| StructFormatError {
            format: format.to_owned(),
            reason,
        };
        let normalized = match format.as_bytes().first() {
            Some(b'@' | b'=' | b'<' | b'>' | b'!') => format.to_owned(),
            _ => format!("!{format}"),
        };
        let bytes = normalized.as_bytes();
        let (order, native) = match bytes[0] {
            b'@' => (ByteOrder::NATIVE, true),
            b'=' => (ByteOrder::NATIVE, false),
            b'<' => (ByteOrder::Little, false),
            _ => (ByteOrder::Big, false),
        };
        let mut items = Vec::new();
        let mut offset = 0usize;
        let mut values = 0usize;
        let mut i = 1;
        while i < bytes.len() {
            let c = bytes[i];
            if c.is_ascii_whitespace() {
                i += 1;
                continue;
            }
            let mut count: Option<usize> = None;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                let digit = usize::from(bytes[i] - b'0');
                count = count
                    .unwrap_or(0)
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(digit));
                if count.is_none() {
                    return Err(fail("repeat count too large".into()));
                }
                i += 1;
            }
            let Some(&code) = bytes.get(i) else {
                return Err(fail("repeat count given without format character".into()));
            };
            i += 1;
            let (size, align) = code_size(code, native)
                .ok_or_else(|| fail(format!("bad char {:?} in struct format", char::from(code))))?;
            let count = count.unwrap_or(1);
            if native && align > 1 {
                offset = offset.next_multiple_of(align);
            }
            let item = match code {
                b's' | b'p' => Item {
                    code,
                    count,
                    size: count,
                    offset,
                },
                _ => Item {
                    code,
                    count,
                    size,
                    offset,
                },
            };
            let total = if matches!(code, b's' | b'p') {
                Some(count)
            } else {
                size.checked_mul(count)
            };
            offset = total
                .and_then(|t| offset.checked_add(t))
                .filter(|&end| end <= isize::MAX as usize)
                .ok_or_else(|| fail("total size too large".into()))?;
            values += item.values();
            items.push(item);
        }
        if offset == 0 {
            return Err(fail("the format describes zero bytes".into()));
        }
        Ok(StructFormat {
            format: normalized.into(),
            order,
            items: items.into(),
            size: offset,
            values,
        })
    }

    /// The format string, with its byte-order character.
    pub fn format(&self) -> &str {
        &self.format
    }

    /// The size of every frame, in bytes (Python's `struct.calcsize`).
    pub fn size(&self) -> usize {
        self.size
    }

    /// How many values a packet holds.
    pub fn value_count(&self) -> usize {
        self.values
    }

    /// A [`FixedSize`] framer of [`size`](Self::size) bytes.
    pub fn framer(&self) -> FixedSize {
        FixedSize::new(self.size)
    }

    /// This serializer over a [`FixedSize`] framer, as EasyNetwork uses it.
    pub fn protocol(self) -> StreamProtocol<FixedSize, Self> {
        StreamProtocol::new(self.framer(), self)
    }

    fn pack(&self, values: &[StructValue], dst: &mut BytesMut) -> Result<(), String> {
        if values.len() != self.values {
            return Err(format!(
                "pack expected {} items for packing (got {})",
                self.values,
                values.len()
            ));
        }
        let start = dst.len();
        let mut values = values.iter();
        for item in self.items.iter() {
            dst.resize(start + item.offset, 0);
            let code = char::from(item.code);
            match item.code {
                b'x' => dst.put_bytes(0, item.count),
                b's' | b'p' => {
                    let data = match values.next() {
                        Some(StructValue::Bytes(b)) => b,
                        other => {
                            return Err(format!(
                                "argument for '{code}' must be bytes, got {other:?}"
                            ));
                        }
                    };
                    if item.code == b's' {
                        let n = data.len().min(item.count);
                        dst.put_slice(&data[..n]);
                        dst.put_bytes(0, item.count - n);
                    } else if item.count > 0 {
                        let n = data.len().min(item.count - 1).min(255);
                        dst.put_u8(n as u8);
                        dst.put_slice(&data[..n]);
                        dst.put_bytes(0, item.count - 1 - n);
                    }
                }
                _ => {
                    for value in values.by_ref().take(item.count) {
                        pack_one(item.code, item.size, self.order, value, dst)
                            .map_err(|reason| format!("'{code}' format: {reason}"))?;
                    }
                }
            }
        }
        Ok(())
    }

    fn unpack(&self, frame: &Bytes) -> Result<Vec<StructValue>, String> {
        if frame.len() != self.size {
            return Err(format!(
                "frame of {} bytes does not match the struct size of {}",
                frame.len(),
                self.size
            ));
        }
        let mut out = Vec::with_capacity(self.values);
        for item in self.items.iter() {
            let field = frame.slice(item.offset..item.offset + item.len());
            match item.code {
                b'x' => {}
                b's' => out.push(StructValue::Bytes(field)),
                b'p' if item.count == 0 => out.push(StructValue::Bytes(Bytes::new())),
                b'p' => {
                    let n = usize::from(field[0]).min(item.count - 1);
                    out.push(StructValue::Bytes(field.slice(1..1 + n)));
                }
                _ => {
                    for chunk in field.chunks_exact(item.size) {
                        out.push(unpack_one(item.code, self.order, &field, chunk));
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Size and native alignment of a format code.
fn code_size(code: u8, native: bool) -> Option<(usize, usize)> {
    let size = match code {
        b'x' | b'c' | b'b' | b'B' | b'?' | b's' | b'p' => return Some((1, 1)),
        b'h' | b'H' | b'e' => 2,
        b'i' | b'I' | b'f' => 4,
        b'l' | b'L' if native => std::mem::size_of::<std::ffi::c_long>(),
        b'l' | b'L' => 4,
        b'q' | b'Q' | b'd' => 8,
        b'n' | b'N' | b'P' if native => std::mem::size_of::<usize>(),
        _ => return None,
    };
    Some((size, size))
}

fn pack_one(
    code: u8,
    size: usize,
    order: ByteOrder,
    value: &StructValue,
    dst: &mut BytesMut,
) -> Result<(), String> {
    let put = |dst: &mut BytesMut, be: &[u8]| match order {
        ByteOrder::Big => dst.put_slice(&be[be.len() - size..]),
        ByteOrder::Little => dst.extend(be[be.len() - size..].iter().rev()),
    };
    match code {
        b'c' => match value {
            StructValue::Bytes(b) if b.len() == 1 => dst.put_u8(b[0]),
            _ => return Err("char format requires a bytes object of length 1".into()),
        },
        b'?' => dst.put_u8(u8::from(match value {
            StructValue::Int(v) => *v != 0,
            StructValue::UInt(v) => *v != 0,
            StructValue::Float(v) => *v != 0.0,
            StructValue::Bool(v) => *v,
            StructValue::Bytes(v) => !v.is_empty(),
        })),
        b'e' | b'f' | b'd' => {
            let v = match value {
                StructValue::Float(v) => *v,
                StructValue::Int(v) => *v as f64,
                StructValue::UInt(v) => *v as f64,
                StructValue::Bool(v) => f64::from(u8::from(*v)),
                StructValue::Bytes(_) => return Err("required argument is not a float".into()),
            };
            match code {
                b'd' => put(dst, &v.to_be_bytes()),
                b'f' => {
                    let narrow = v as f32;
                    if narrow.is_infinite() && v.is_finite() {
                        return Err("float too large to pack with f format".into());
                    }
                    put(dst, &narrow.to_be_bytes());
                }
                _ => put(dst, &f64_to_f16(v)?.to_be_bytes()),
            }
        }
        _ => {
            let v: i128 = match value {
                StructValue::Int(v) => (*v).into(),
                StructValue::UInt(v) => (*v).into(),
                StructValue::Bool(v) => i128::from(u8::from(*v)),
                _ => return Err("required argument is not an integer".into()),
            };
            let bits = 8 * size as u32;
            let (min, max) = if code.is_ascii_uppercase() {
                (0, (1i128 << bits) - 1)
            } else {
                (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
            };
            if v < min || v > max {
                return Err(format!("argument {v} out of range {min}..={max}"));
            }
            put(dst, &v.to_be_bytes());
        }
    }
    Ok(())
}

/// One element of `field`: `chunk`, a slice of it.
fn unpack_one(code: u8, order: ByteOrder, field: &Bytes, chunk: &[u8]) -> StructValue {
    let mut be = [0u8; 8];
    let n = chunk.len();
    match order {
        ByteOrder::Big => be[8 - n..].copy_from_slice(chunk),
        ByteOrder::Little => be[8 - n..]
            .iter_mut()
            .zip(chunk.iter().rev())
            .for_each(|(d, s)| *d = *s),
    }
    let raw = u64::from_be_bytes(be);
    match code {
        b'c' => StructValue::Bytes(field.slice_ref(chunk)),
        b'?' => StructValue::Bool(raw != 0),
        b'd' => StructValue::Float(f64::from_bits(raw)),
        b'f' => StructValue::Float(f64::from(f32::from_bits(raw as u32))),
        b'e' => StructValue::Float(f16_to_f64(raw as u16)),
        c if c.is_ascii_uppercase() => StructValue::UInt(raw),
        _ => {
            let shift = 64 - 8 * n as u32;
            StructValue::Int(((raw << shift) as i64) >> shift)
        }
    }
}

impl Serializer for StructFormat {
    type Sent = [StructValue];
    type Received = Vec<StructValue>;

    fn serialize(&self, packet: &[StructValue], dst: &mut BytesMut) -> Result<(), EncodeError> {
        let start = dst.len();
        self.pack(packet, dst).map_err(|reason| {
            dst.truncate(start);
            EncodeError::serialize(reason)
        })
    }

    /// Keeps the default `deserialize_frame`: `s` and `p` fields are slices
    /// of the frame's `Bytes`, not copies.
    fn deserialize(&self, frame: Bytes) -> Result<Vec<StructValue>, DeserializeError> {
        self.unpack(&frame)
            .map_err(|reason| DeserializeError::new(frame, reason))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use StructValue::{Bool, Float, Int, UInt};

    fn pack(format: &str, values: &[StructValue]) -> Result<Vec<u8>, EncodeError> {
        let mut dst = BytesMut::new();
        StructFormat::new(format)
            .unwrap()
            .serialize(values, &mut dst)
            .map(|()| dst.to_vec())
    }

    #[test]
    fn strings_pascal_strings_and_padding() {
        let wire = pack(
            "<3sx2p0sc",
            &[
                b"abcd"[..].into(),
                b"zz"[..].into(),
                b""[..].into(),
                b"!"[..].into(),
            ],
        )
        .unwrap();
        assert_eq!(wire, b"abc\0\x01z!");
        let s = StructFormat::new("<3sx2p0sc").unwrap();
        assert_eq!(
            s.deserialize(Bytes::from(wire)).unwrap(),
            vec![
                StructValue::from(&b"abc"[..]),
                b"z"[..].into(),
                b""[..].into(),
                b"!"[..].into()
            ]
        );
    }

    #[test]
    fn native_mode_aligns_fields() {
        let s = StructFormat::new("@bhbq").unwrap();
        assert_eq!(s.size(), 16);
        let wire = pack("@bhbq", &[Int(1), Int(2), Int(3), Int(4)]).unwrap();
        assert_eq!(
            StructFormat::new("@bhbq")
                .unwrap()
                .deserialize(wire.into())
                .unwrap(),
            [Int(1), Int(2), Int(3), Int(4)]
        );
    }

    #[test]
    fn pack_checks_count_type_and_range() {
        assert!(pack(">bB", &[Int(-128), UInt(255)]).is_ok());
        assert!(pack(">b", &[Int(128)]).is_err());
        assert!(pack(">B", &[Int(-1)]).is_err());
        assert!(pack(">Q", &[UInt(u64::MAX)]).is_ok());
        assert!(pack(">q", &[UInt(u64::MAX)]).is_err());
        assert!(pack(">f", &[Float(1e300)]).is_err());
        assert!(pack(">i", &[Float(1.0)]).is_err());
        assert!(pack(">c", &[b"ab"[..].into()]).is_err());
        assert!(pack(">ii", &[Int(1)]).is_err());
        assert_eq!(
            pack(">?i", &[Int(5), Bool(true)]).unwrap(),
            b"\x01\0\0\0\x01"
        );
        let mut dst = BytesMut::from(&b"kept"[..]);
        let s = StructFormat::new(">hh").unwrap();
        assert!(s.serialize(&[Int(1), Int(1 << 20)], &mut dst).is_err());
        assert_eq!(&dst[..], b"kept");
    }

    #[test]
    fn bad_formats_are_refused() {
        for f in [
            "",
            ">",
            "3",
            ">z",
            "<P",
            "!N",
            ">99999999999999999999999q",
            ">3 q",
        ] {
            assert!(StructFormat::new(f).is_err(), "{f:?}");
        }
        assert_eq!(StructFormat::new(" q q ").unwrap().size(), 16);
    }
}
