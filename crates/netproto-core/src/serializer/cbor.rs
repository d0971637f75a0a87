//! CBOR packets (ciborium), typed or dynamic.

use std::fmt;
use std::marker::PhantomData;

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Serializer, TrailingBytes, parse_frame};
use crate::error::{BoxError, DeserializeError, EncodeError};
use crate::framing::{CborItem, Frame};
use crate::protocol::StreamProtocol;

/// Packets as CBOR items (RFC 8949): send `S`, receive `R` (both
/// [`ciborium::Value`] by default, `R` defaults to `S`).
///
/// Each frame holds exactly one CBOR item; bytes after it make the packet
/// invalid. Over a bare stream, as EasyNetwork sends them, items are cut by
/// the [`CborItem`] framer ([`stream`](Cbor::stream)). Nesting deeper than 256 levels is refused (a per-packet
/// [`DeserializeError`]), so a hostile frame cannot exhaust the stack.
///
/// Floats are written in the shortest width that keeps their value
/// (ciborium's choice), where Python's `cbor2` always writes 64-bit floats:
/// both read each other, but float bytes differ.
///
/// ```
/// use bytes::BytesMut;
/// use netproto_core::serializer::{Cbor, Serializer};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, Debug, PartialEq)]
/// struct Reading { sensor: String, value: i32 }
///
/// let cbor = Cbor::<Reading>::new();
/// let mut wire = BytesMut::new();
/// let reading = Reading { sensor: "t1".into(), value: -3 };
/// cbor.serialize(&reading, &mut wire).unwrap();
/// assert_eq!(wire[0], 0xa2, "a map of two entries");
/// assert_eq!(cbor.deserialize(wire.freeze()).unwrap(), reading);
/// ```
pub struct Cbor<S: ?Sized = ciborium::Value, R = S> {
    _types: PhantomData<fn(&S) -> R>,
}

/// Dynamic CBOR packets: [`ciborium::Value`] both ways.
pub type CborValue = Cbor<ciborium::Value, ciborium::Value>;

impl<S: ?Sized, R> Cbor<S, R> {
    /// The deepest nesting accepted in a received item.
    pub const RECURSION_LIMIT: usize = 256;

    /// A CBOR serializer.
    pub const fn new() -> Self {
        Cbor {
            _types: PhantomData,
        }
    }
    /// This serializer over the [`CborItem`] framer: items back to back
    /// with no separator or length, the bare stream EasyNetwork's
    /// `StreamProtocol(CBORSerializer())` reads and writes.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use netproto_core::framing::FrameDecoder;
    /// use netproto_core::protocol::Protocol;
    /// use netproto_core::serializer::Cbor;
    ///
    /// let protocol = Cbor::<Vec<u8>>::new().stream();
    /// let mut wire = BytesMut::new();
    /// protocol.encode(&vec![1, 2], &mut wire).unwrap();
    /// protocol.encode(&vec![3], &mut wire).unwrap();
    /// let mut decoder = protocol.decoder();
    /// let first = decoder.decode(&mut wire).unwrap().unwrap();
    /// assert_eq!(&first[..], b"\x82\x01\x02");
    /// assert_eq!(protocol.decode(first).unwrap(), [1, 2]);
    /// let second = decoder.decode(&mut wire).unwrap().unwrap();
    /// assert_eq!(protocol.decode(second).unwrap(), [3]);
    /// ```
    pub fn stream(self) -> StreamProtocol<CborItem, Self>
    where
        Self: Serializer,
    {
        StreamProtocol::new(CborItem::new(), self)
    }
}

marker_serializer_impls!(Cbor);

impl<S: ?Sized, R> fmt::Debug for Cbor<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cbor")
    }
}

impl<S, R> Serializer for Cbor<S, R>
where
    S: Serialize + ?Sized + 'static,
    R: DeserializeOwned + 'static,
{
    type Sent = S;
    type Received = R;

    fn serialize(&self, packet: &S, dst: &mut BytesMut) -> Result<(), EncodeError> {
        let start = dst.len();
        ciborium::into_writer(packet, (&mut *dst).writer()).map_err(|err| {
            dst.truncate(start);
            EncodeError::serialize(err.to_string())
        })
    }

    fn deserialize(&self, frame: Bytes) -> Result<R, DeserializeError> {
        self.deserialize_frame(Frame::owned(frame))
    }

    fn deserialize_frame(&self, frame: Frame<'_>) -> Result<R, DeserializeError> {
        parse_frame(frame, |mut rest: &[u8]| -> Result<R, BoxError> {
            let value =
                ciborium::de::from_reader_with_recursion_limit(&mut rest, Self::RECURSION_LIMIT)
                    .map_err(|err| err.to_string())?;
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
    use ciborium::Value;

    #[test]
    fn dynamic_values_round_trip() {
        let value = Value::Map(vec![
            (Value::Integer(1.into()), Value::Bytes(vec![0, 255])),
            (Value::Text("k".into()), Value::Float(1.5)),
        ]);
        let mut wire = BytesMut::new();
        CborValue::new().serialize(&value, &mut wire).unwrap();
        assert_eq!(CborValue::new().deserialize(wire.freeze()).unwrap(), value);
    }

    #[test]
    fn trailing_bytes_and_truncation_are_errors() {
        let cbor = CborValue::new();
        let err = cbor
            .deserialize(Bytes::from_static(b"\x01\x02"))
            .unwrap_err();
        assert!(err.to_string().contains("1 byte"), "{err}");
        assert!(cbor.deserialize(Bytes::from_static(b"\x82\x01")).is_err());
        assert!(cbor.deserialize(Bytes::new()).is_err());
    }

    #[test]
    fn huge_claimed_lengths_are_not_allocated() {
        let cbor = CborValue::new();
        // A byte string, a text string and an array each claiming 2^63 items.
        for head in [0x5bu8, 0x7b, 0x9b] {
            let mut frame = vec![head, 0x7f];
            frame.extend_from_slice(&[0xff; 7]);
            assert!(cbor.deserialize(Bytes::from(frame)).is_err());
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        let frame = Bytes::from(vec![0x81u8; 100_000]);
        assert!(CborValue::new().deserialize(frame).is_err());
    }
}
