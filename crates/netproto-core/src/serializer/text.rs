//! Frames as ASCII or Latin-1 text.

use bytes::{Bytes, BytesMut};

use super::{Serializer, parse_frame};
use crate::error::{DeserializeError, EncodeError};
use crate::framing::Frame;

/// Packets are strict ASCII strings: send `&str`, receive `String`. This
/// is EasyNetwork's default line encoding (`StringLineSerializer()`,
/// `encoding="ascii"`, `unicode_errors="strict"`).
///
/// Sending a string with a character above U+007F is refused with an
/// [`EncodeError`] naming it and its position (nothing is queued);
/// receiving a byte above `0x7f` is a per-packet [`DeserializeError`]
/// naming the byte and its offset.
///
/// To match EasyNetwork's lines exactly, frame with
/// `Delimiter::lf().skip_empty_frames(true)` (or `cr()`, `crlf()`):
/// EasyNetwork sends nothing for an empty string, and, like netproto,
/// delivers an empty received line as an empty string.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use netproto_core::framing::Delimiter;
/// use netproto_core::protocol::{Protocol, StreamProtocol};
/// use netproto_core::serializer::{Ascii, Serializer};
///
/// let mut dst = BytesMut::new();
/// Ascii.serialize("hello", &mut dst).unwrap();
/// assert_eq!(Ascii.deserialize(dst.freeze()).unwrap(), "hello");
/// assert!(Ascii.serialize("café", &mut BytesMut::new()).is_err());
/// let err = Ascii.deserialize(Bytes::from_static(b"caf\xc3\xa9")).unwrap_err();
/// assert!(err.to_string().contains("byte 0xc3 at offset 3"), "{err}");
///
/// // EasyNetwork's StringLineSerializer("LF").
/// let lines = StreamProtocol::new(Delimiter::lf().skip_empty_frames(true), Ascii);
/// let mut wire = BytesMut::new();
/// for line in ["a", "", "b"] {
///     lines.encode(line, &mut wire).unwrap();
/// }
/// assert_eq!(&wire[..], b"a\nb\n");
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Ascii;

/// Packets are Latin-1 (ISO 8859-1) strings: each byte is the character
/// of the same number, U+0000 to U+00FF. Send `&str`, receive `String`;
/// EasyNetwork's `StringLineSerializer(encoding="latin-1")`.
///
/// Any received bytes decode. Sending a string with a character above
/// U+00FF is refused with an [`EncodeError`] naming it and its position
/// (nothing is queued).
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use netproto_core::serializer::{Latin1, Serializer};
///
/// let mut dst = BytesMut::new();
/// Latin1.serialize("café ÿ", &mut dst).unwrap();
/// assert_eq!(&dst[..], b"caf\xe9 \xff");
/// assert_eq!(Latin1.deserialize(dst.freeze()).unwrap(), "café ÿ");
/// assert!(Latin1.serialize("€", &mut BytesMut::new()).is_err());
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Latin1;

/// A character the encoding cannot write: `position` counts characters,
/// as Python's error does.
fn unencodable(encoding: &str, packet: &str, limit: u32) -> EncodeError {
    let (position, c) = packet
        .chars()
        .enumerate()
        .find(|(_, c)| u32::from(*c) > limit)
        .unwrap_or((0, '\0'));
    EncodeError::serialize(format!(
        "{encoding} cannot encode the character {c:?} (U+{:04X}) at position {position}",
        u32::from(c)
    ))
}

impl Serializer for Ascii {
    type Sent = str;
    type Received = String;

    fn serialize(&self, packet: &str, dst: &mut BytesMut) -> Result<(), EncodeError> {
        if !packet.is_ascii() {
            return Err(unencodable("ASCII", packet, 0x7f));
        }
        dst.extend_from_slice(packet.as_bytes());
        Ok(())
    }

    fn deserialize(&self, frame: Bytes) -> Result<String, DeserializeError> {
        self.deserialize_frame(Frame::owned(frame))
    }

    #[inline]
    fn deserialize_frame(&self, frame: Frame<'_>) -> Result<String, DeserializeError> {
        parse_frame(frame, |bytes| {
            match bytes.iter().position(|b| !b.is_ascii()) {
                // All ASCII: valid UTF-8 as it is.
                None => Ok(String::from_utf8_lossy(bytes).into_owned()),
                Some(offset) => Err(format!(
                    "byte 0x{:02x} at offset {offset} is not ASCII",
                    bytes[offset]
                )),
            }
        })
    }
}

impl Serializer for Latin1 {
    type Sent = str;
    type Received = String;

    fn serialize(&self, packet: &str, dst: &mut BytesMut) -> Result<(), EncodeError> {
        if packet.chars().any(|c| u32::from(c) > 0xff) {
            return Err(unencodable("Latin-1", packet, 0xff));
        }
        dst.reserve(packet.len());
        // Every character fits in a byte (checked above).
        dst.extend(packet.chars().map(|c| u32::from(c) as u8));
        Ok(())
    }

    fn deserialize(&self, frame: Bytes) -> Result<String, DeserializeError> {
        self.deserialize_frame(Frame::owned(frame))
    }

    #[inline]
    fn deserialize_frame(&self, frame: Frame<'_>) -> Result<String, DeserializeError> {
        parse_frame(frame, |bytes| {
            Ok::<_, std::convert::Infallible>(bytes.iter().map(|&b| char::from(b)).collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_packets_queue_nothing_and_say_where() {
        let mut dst = BytesMut::from(&b"queued"[..]);
        let err = Ascii.serialize("ab\u{e9}", &mut dst).unwrap_err();
        assert!(
            err.to_string().contains("'é' (U+00E9) at position 2"),
            "{err}"
        );
        let err = Latin1.serialize("x\u{1f600}", &mut dst).unwrap_err();
        assert!(err.to_string().contains("(U+1F600) at position 1"), "{err}");
        assert_eq!(&dst[..], b"queued");
    }

    #[test]
    fn latin1_reads_every_byte() {
        let all: Vec<u8> = (0..=255).collect();
        let text = Latin1.deserialize(Bytes::from(all.clone())).unwrap();
        assert_eq!(text.chars().count(), 256);
        let mut back = BytesMut::new();
        Latin1.serialize(&text, &mut back).unwrap();
        assert_eq!(&back[..], &all[..]);
    }
}
