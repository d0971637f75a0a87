//! One serializer for what is sent, another for what is received.

use bytes::{Bytes, BytesMut};

use super::Serializer;
use crate::error::{DeserializeError, EncodeError};
use crate::framing::Frame;

/// A serializer made of two: `S` writes what is sent, `R` reads what is
/// received, as EasyNetwork's `StapledPacketSerializer(sent, received)`.
///
/// For a protocol whose two directions differ: a client that sends JSON
/// requests and receives plain text lines, or one that sends commands as
/// text and receives JSON. Errors are those of the serializer that ran.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use netproto_core::serializer::{BytesSerializer, Serializer, Stapled, Utf8};
///
/// // Send raw bytes, receive text.
/// let stapled = Stapled::new(BytesSerializer, Utf8);
/// let mut wire = BytesMut::new();
/// stapled.serialize(b"\x01\x02", &mut wire).unwrap();
/// assert_eq!(&wire[..], b"\x01\x02");
/// assert_eq!(stapled.deserialize(Bytes::from_static(b"ok")).unwrap(), "ok");
/// assert!(stapled.deserialize(Bytes::from_static(b"\xff")).is_err());
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Stapled<S, R> {
    sent: S,
    received: R,
}

impl<S, R> Stapled<S, R> {
    /// `sent` serializes outgoing packets, `received` deserializes
    /// incoming ones.
    pub const fn new(sent: S, received: R) -> Self {
        Stapled { sent, received }
    }

    /// The serializer of sent packets.
    pub fn sent(&self) -> &S {
        &self.sent
    }

    /// The serializer of received packets.
    pub fn received(&self) -> &R {
        &self.received
    }

    /// The two serializers, sent then received.
    pub fn into_parts(self) -> (S, R) {
        (self.sent, self.received)
    }
}

impl<S: Serializer, R: Serializer> Serializer for Stapled<S, R> {
    type Sent = S::Sent;
    type Received = R::Received;

    #[inline]
    fn serialize(&self, packet: &S::Sent, dst: &mut BytesMut) -> Result<(), EncodeError> {
        self.sent.serialize(packet, dst)
    }

    #[inline]
    fn deserialize(&self, frame: Bytes) -> Result<R::Received, DeserializeError> {
        self.received.deserialize(frame)
    }

    #[inline]
    fn deserialize_frame(&self, frame: Frame<'_>) -> Result<R::Received, DeserializeError> {
        self.received.deserialize_frame(frame)
    }
}
