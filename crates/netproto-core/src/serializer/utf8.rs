//! Frames as UTF-8 text.

use bytes::{Bytes, BytesMut};

use super::{Serializer, parse_frame};
use crate::error::{DeserializeError, EncodeError};
use crate::framing::Frame;

/// Packets are UTF-8 strings: send `&str`, receive `String`.
///
/// A frame that is not valid UTF-8 is a per-packet [`DeserializeError`]
/// carrying the frame.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use netproto_core::serializer::{Serializer, Utf8};
///
/// let mut dst = BytesMut::new();
/// Utf8.serialize("héllo", &mut dst).unwrap();
/// assert_eq!(Utf8.deserialize(dst.freeze()).unwrap(), "héllo");
/// assert!(Utf8.deserialize(Bytes::from_static(b"\xff")).is_err());
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Utf8;

impl Serializer for Utf8 {
    type Sent = str;
    type Received = String;

    fn serialize(&self, packet: &str, dst: &mut BytesMut) -> Result<(), EncodeError> {
        dst.extend_from_slice(packet.as_bytes());
        Ok(())
    }

    #[inline]
    fn deserialize(&self, frame: Bytes) -> Result<String, DeserializeError> {
        match text(&frame) {
            Ok(text) => Ok(text),
            Err(err) => Err(DeserializeError::new(frame, err)),
        }
    }

    #[inline]
    fn deserialize_frame(&self, frame: Frame<'_>) -> Result<String, DeserializeError> {
        parse_frame(frame, text)
    }
}

/// `bytes` as a `String`: copied first, validated in the copy (in cache by
/// then) — as fast as `String::from_utf8(bytes.to_vec())` at every size.
#[inline]
fn text(bytes: &[u8]) -> Result<String, std::str::Utf8Error> {
    String::from_utf8(bytes.to_vec()).map_err(|err| err.utf8_error())
}
