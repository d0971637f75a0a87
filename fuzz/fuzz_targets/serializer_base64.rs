//! The base64 wrapper: any frame decodes (both alphabets, around several
//! inner serializers, nested) to a value or an error carrying the received
//! frame; any bytes encode to text in the alphabet that decodes back.
//!
//! Input: the frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netproto_core::serializer::{Base64, BytesSerializer, JsonValue, Serializer, Utf8};
use netproto_fuzz::serializing::{deserialize, serialize};

fn check_bytes<S>(base64: &Base64<S>, frame: &[u8], alphabet: &[u8])
where
    Base64<S>: Serializer<Sent = [u8], Received = bytes::Bytes>,
{
    // Any bytes encode, in the alphabet, and decode back.
    let text = serialize(base64, frame).expect("base64 encoding never fails");
    assert!(
        text.iter().all(|b| alphabet.contains(b) || *b == b'='),
        "{text:?}"
    );
    assert_eq!(text.len(), frame.len().div_ceil(3) * 4);
    assert_eq!(deserialize(base64, &text).as_deref(), Some(frame));

    // Received text decodes to bytes that encode to text decoding to them.
    if let Some(decoded) = deserialize(base64, frame) {
        let canonical = serialize(base64, &decoded).unwrap();
        assert_eq!(deserialize(base64, &canonical), Some(decoded));
    }
}

fuzz_target!(|frame: &[u8]| {
    let common = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    check_bytes(
        &Base64::new(BytesSerializer),
        frame,
        &[&common[..], b"-_"].concat(),
    );
    check_bytes(
        &Base64::standard(BytesSerializer),
        frame,
        &[&common[..], b"+/"].concat(),
    );

    // Inner errors are reported with the frame that was received.
    deserialize(&Base64::new(Utf8), frame);
    deserialize(&Base64::standard(JsonValue::new()), frame);
    deserialize(&Base64::new(Base64::new(BytesSerializer)), frame);
});
