//! MessagePack packets (rmp-serde), typed or dynamic.

use std::fmt;
use std::marker::PhantomData;

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Serializer, TrailingBytes, parse_frame};
use crate::error::{BoxError, DeserializeError, EncodeError};
use crate::framing::{Frame, MsgPackItem};
use crate::protocol::StreamProtocol;

/// Packets as MessagePack items: send `S`, receive `R` (both
/// [`rmpv::Value`] by default, `R` defaults to `S`).
///
/// Structs are written as maps keyed by field name (what a Python peer
/// unpacks as a `dict`), strings as `str`, byte buffers as `bin`, integers
/// in their smallest form and `f64` as float64 — the same bytes as Python's
/// `msgpack.packb(..., use_bin_type=True)`, which EasyNetwork 1.2's
/// `MessagePackSerializer` uses. Each frame holds exactly one item; bytes
/// after it make the packet invalid. Over a bare stream, as EasyNetwork
/// sends them, items are cut by the [`MsgPackItem`] framer
/// ([`stream`](MsgPack::stream)). Nesting deeper than 256 levels is
/// refused.
///
/// ```
/// use bytes::BytesMut;
/// use netproto_core::serializer::{MsgPack, Serializer};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, Debug, PartialEq)]
/// struct Move { x: i8, y: i8 }
///
/// let msgpack = MsgPack::<Move>::new();
/// let mut wire = BytesMut::new();
/// msgpack.serialize(&Move { x: 1, y: -1 }, &mut wire).unwrap();
/// assert_eq!(&wire[..], b"\x82\xa1x\x01\xa1y\xff");
/// assert_eq!(msgpack.deserialize(wire.freeze()).unwrap(), Move { x: 1, y: -1 });
/// ```
pub struct MsgPack<S: ?Sized = rmpv::Value, R = S> {
    _types: PhantomData<fn(&S) -> R>,
}

/// Dynamic MessagePack packets: [`rmpv::Value`] both ways.
pub type MsgPackValue = MsgPack<rmpv::Value, rmpv::Value>;

impl<S: ?Sized, R> MsgPack<S, R> {
    /// The deepest nesting accepted in a received item.
    pub const RECURSION_LIMIT: usize = 256;

    /// A MessagePack serializer.
    pub const fn new() -> Self {
        MsgPack {
            _types: PhantomData,
        }
    }
    /// This serializer over the [`MsgPackItem`] framer: items back to back
    /// with no separator or length, the bare stream EasyNetwork's
    /// `StreamProtocol(MessagePackSerializer())` reads and writes.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use netproto_core::framing::FrameDecoder;
    /// use netproto_core::protocol::Protocol;
    /// use netproto_core::serializer::MsgPack;
    ///
    /// let protocol = MsgPack::<Vec<u8>>::new().stream();
    /// let mut wire = BytesMut::new();
    /// protocol.encode(&vec![1, 2], &mut wire).unwrap();
    /// protocol.encode(&vec![3], &mut wire).unwrap();
    /// let mut decoder = protocol.decoder();
    /// let first = decoder.decode(&mut wire).unwrap().unwrap();
    /// assert_eq!(&first[..], b"\x92\x01\x02");
    /// assert_eq!(protocol.decode(first).unwrap(), [1, 2]);
    /// let second = decoder.decode(&mut wire).unwrap().unwrap();
    /// assert_eq!(protocol.decode(second).unwrap(), [3]);
    /// ```
    pub fn stream(self) -> StreamProtocol<MsgPackItem, Self>
    where
        Self: Serializer,
    {
        StreamProtocol::new(MsgPackItem::new(), self)
    }
}

marker_serializer_impls!(MsgPack);

impl<S: ?Sized, R> fmt::Debug for MsgPack<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MsgPack")
    }
}

impl<S, R> Serializer for MsgPack<S, R>
where
    S: Serialize + ?Sized + 'static,
    R: DeserializeOwned + 'static,
{
    type Sent = S;
    type Received = R;

    fn serialize(&self, packet: &S, dst: &mut BytesMut) -> Result<(), EncodeError> {
        let start = dst.len();
        rmp_serde::encode::write_named(&mut (&mut *dst).writer(), packet).map_err(|err| {
            dst.truncate(start);
            EncodeError::serialize(err)
        })
    }

    fn deserialize(&self, frame: Bytes) -> Result<R, DeserializeError> {
        self.deserialize_frame(Frame::owned(frame))
    }

    fn deserialize_frame(&self, frame: Frame<'_>) -> Result<R, DeserializeError> {
        parse_frame(frame, |mut rest: &[u8]| -> Result<R, BoxError> {
            let mut de = rmp_serde::Deserializer::new(&mut rest);
            de.set_max_depth(Self::RECURSION_LIMIT);
            let value = R::deserialize(&mut de)?;
            drop(de);
            match rest.len() {
                0 => Ok(value),
                left => Err(TrailingBytes(left).into()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmpv::Value;

    #[test]
    fn dynamic_values_keep_bin_and_str_apart() {
        let value = Value::Map(vec![
            (Value::from(1), Value::Binary(vec![0, 255])),
            (Value::from("k"), Value::from(1.5)),
            (Value::from("n"), Value::from(-129)),
        ]);
        let mut wire = BytesMut::new();
        MsgPackValue::new().serialize(&value, &mut wire).unwrap();
        assert_eq!(
            &wire[..],
            b"\x83\x01\xc4\x02\x00\xff\xa1k\xcb\x3f\xf8\0\0\0\0\0\0\xa1n\xd1\xff\x7f"
        );
        assert_eq!(
            MsgPackValue::new().deserialize(wire.freeze()).unwrap(),
            value
        );
    }

    #[test]
    fn trailing_bytes_and_truncation_are_errors() {
        let m = MsgPackValue::new();
        let err = m.deserialize(Bytes::from_static(b"\x01\x02")).unwrap_err();
        assert!(err.to_string().contains("1 byte"), "{err}");
        assert!(m.deserialize(Bytes::from_static(b"\x92\x01")).is_err());
        assert!(m.deserialize(Bytes::new()).is_err());
    }

    #[test]
    fn huge_claimed_lengths_are_not_allocated() {
        let m = MsgPackValue::new();
        for head in [0xc6u8, 0xdb, 0xdd, 0xdf] {
            let frame = Bytes::from(vec![head, 0xff, 0xff, 0xff, 0xff]);
            assert!(m.deserialize(frame).is_err());
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        let frame = Bytes::from(vec![0x91u8; 100_000]);
        assert!(MsgPackValue::new().deserialize(frame).is_err());
        let frame = Bytes::from(vec![0x91u8; 100_000]);
        assert!(
            MsgPack::<serde_json::Value>::new()
                .deserialize(frame)
                .is_err()
        );
    }
}
