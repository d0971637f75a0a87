//! The base64 wrapper's checksums: any bytes encode with a SHA-256 digest
//! or an HMAC-SHA256 appended and decode back; any frame decodes to the
//! packet its checksum covers or to an error carrying the frame; a packet
//! signed with one key never verifies under another, and no single altered
//! byte of a signed packet's decoded bytes verifies.
//!
//! Input: key byte, then the frame.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use netproto_core::serializer::{Base64, BytesSerializer, Checksum, HmacKey, Serializer};
use netproto_fuzz::Input;
use netproto_fuzz::serializing::{deserialize, serialize};

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let key = HmacKey::new([input.byte(); 32]);
    let other = HmacKey::new([0xa5; 32]);
    let frame = input.rest();

    for checksum in [Checksum::Sha256, Checksum::HmacSha256(key.clone())] {
        let base64 = Base64::new(BytesSerializer).checksum(checksum.clone());
        // Any bytes encode (32 more bytes before encoding) and decode back.
        let text = serialize(&base64, frame).expect("encoding never fails");
        assert_eq!(text.len(), (frame.len() + 32).div_ceil(3) * 4);
        assert_eq!(deserialize(&base64, &text).as_deref(), Some(frame));
        // Received text: an error carrying it, or a packet that encodes
        // back to text decoding to it.
        if let Some(packet) = deserialize(&base64, frame) {
            let again = serialize(&base64, &packet).unwrap();
            assert_eq!(deserialize(&base64, &again), Some(packet));
        }
        // Nested, and around a serializer that can fail.
        deserialize(&Base64::new(base64.clone()), frame);
    }

    // Signed with one key, refused under another and as a plain digest.
    let signed = Base64::new(BytesSerializer).checksum(Checksum::HmacSha256(key.clone()));
    let text = serialize(&signed, frame).unwrap();
    if key != other {
        let foreign = Base64::new(BytesSerializer).checksum(Checksum::HmacSha256(other));
        assert!(deserialize(&foreign, &text).is_none());
    }
    let digest = Base64::new(BytesSerializer).checksum(Checksum::Sha256);
    assert!(deserialize(&digest, &text).is_none());

    // One altered byte (chosen by the input) of the signed bytes.
    let plain = Base64::new(BytesSerializer);
    let signed_raw = plain.deserialize(text.clone()).unwrap();
    let at = usize::from(input_byte(frame)) % signed_raw.len();
    let mut altered = signed_raw.to_vec();
    altered[at] ^= 1;
    let mut retext = BytesMut::new();
    plain.serialize(&altered, &mut retext).unwrap();
    assert!(deserialize(&signed, &retext).is_none());
});

/// A byte that depends on the input (its first, or 0).
fn input_byte(frame: &[u8]) -> u8 {
    frame.first().copied().unwrap_or(0)
}
