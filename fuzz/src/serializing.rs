//! The serializer harness: any frame decodes to an error that carries the
//! frame, or to a value; a value decoded from the wire encodes, and its
//! encoding decodes and re-encodes to the same bytes.

use std::borrow::Borrow;
use std::fmt::Debug;

use bytes::{Bytes, BytesMut};
use netproto_core::error::EncodeError;
use netproto_core::serializer::Serializer;

/// Deserialize `frame`: an error must carry the frame it came from (rule 3
/// of the design: the error is for that packet only, and says which).
pub fn deserialize<S: Serializer>(serializer: &S, frame: &[u8]) -> Option<S::Received> {
    match serializer.deserialize(Bytes::copy_from_slice(frame)) {
        Ok(value) => Some(value),
        Err(err) => {
            assert_eq!(&err.frame[..], frame, "the error does not carry the frame");
            let _ = err.to_string();
            None
        }
    }
}

/// Serialize `packet` after bytes already queued: a refusal leaves them
/// untouched; success returns the packet's bytes.
pub fn serialize<S: Serializer>(serializer: &S, packet: &S::Sent) -> Result<Bytes, EncodeError> {
    const BEFORE: &[u8] = b"queued";
    let mut dst = BytesMut::from(BEFORE);
    match serializer.serialize(packet, &mut dst) {
        Ok(()) => {
            assert_eq!(
                &dst[..BEFORE.len()],
                BEFORE,
                "serialize changed queued bytes"
            );
            Ok(dst.split_off(BEFORE.len()).freeze())
        }
        Err(err) => {
            let _ = err.to_string();
            assert_eq!(
                &dst[..],
                BEFORE,
                "a refused packet left bytes behind: {err}"
            );
            Err(err)
        }
    }
}

/// For a serializer that sends what it receives (or what that borrows as): decode `frame`; if it is a
/// value, encoding it must succeed, and decoding then re-encoding that
/// encoding must give the same bytes (encode ∘ decode is stable even where
/// the wire allows several spellings of one value). Returns the value.
pub fn check_stable<S>(serializer: &S, frame: &[u8]) -> Option<S::Received>
where
    S: Serializer,
    S::Received: Borrow<S::Sent> + Debug,
{
    let value = deserialize(serializer, frame)?;
    let first = serialize(serializer, value.borrow())
        .unwrap_or_else(|err| panic!("a decoded value does not encode: {err}; {value:?}"));
    let again = deserialize(serializer, &first).unwrap_or_else(|| {
        panic!("the encoding of a decoded value does not decode: {first:?} from {value:?}")
    });
    let second = serialize(serializer, again.borrow()).expect("a decoded value does not encode");
    assert_eq!(
        first, second,
        "re-encoding is not stable: {value:?} then {again:?}"
    );
    Some(value)
}

/// Like [`check_stable`], for formats whose dynamic value model has two
/// spellings of one value that decode differently (CBOR: a bignum tag
/// around a small definite-length byte string decodes as a plain integer,
/// but one around an indefinite-length string stays a tag): the encoding of
/// a decoded value must decode, and re-encoding must reach a fixed point
/// after one more round.
pub fn check_converges<S>(serializer: &S, frame: &[u8]) -> Option<S::Received>
where
    S: Serializer,
    S::Received: Borrow<S::Sent> + Debug,
{
    let value = deserialize(serializer, frame)?;
    let mut wire = serialize(serializer, value.borrow())
        .unwrap_or_else(|err| panic!("a decoded value does not encode: {err}; {value:?}"));
    let mut rounds = Vec::new();
    for _ in 0..2 {
        let again = deserialize(serializer, &wire).unwrap_or_else(|| {
            panic!("the encoding of a decoded value does not decode: {wire:?} from {value:?}")
        });
        let next = serialize(serializer, again.borrow()).expect("a decoded value does not encode");
        rounds.push((again, std::mem::replace(&mut wire, next)));
    }
    assert_eq!(
        rounds[1].1, wire,
        "re-encoding does not settle: {value:?}, then {rounds:?}"
    );
    Some(value)
}

/// For a serializer that sends what it receives (or what that borrows as),
/// with a value type whose
/// equality is exact (no NaN): decode `frame`; if it is a value, its
/// encoding must decode to an equal value. Returns the value.
pub fn check_round_trip<S>(serializer: &S, frame: &[u8]) -> Option<S::Received>
where
    S: Serializer,
    S::Received: Borrow<S::Sent> + Debug + PartialEq,
{
    let value = deserialize(serializer, frame)?;
    let wire = serialize(serializer, value.borrow())
        .unwrap_or_else(|err| panic!("a decoded value does not encode: {err}; {value:?}"));
    let again = deserialize(serializer, &wire)
        .unwrap_or_else(|| panic!("{wire:?}, the encoding of {value:?}, does not decode"));
    assert_eq!(
        value, again,
        "encode then decode changed the value (wire {wire:?})"
    );
    Some(value)
}
