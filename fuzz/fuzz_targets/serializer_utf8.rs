//! The raw-bytes and UTF-8 serializers: any frame is a value or an error
//! carrying the frame, and values encode to the frame they came from.
//!
//! Input: the frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netproto_core::serializer::{BytesSerializer, Utf8};
use netproto_fuzz::serializing::{deserialize, serialize};

fuzz_target!(|frame: &[u8]| {
    let bytes = deserialize(&BytesSerializer, frame).expect("raw bytes always decode");
    assert_eq!(&bytes[..], frame);
    assert_eq!(&serialize(&BytesSerializer, frame).unwrap()[..], frame);

    let text = deserialize(&Utf8, frame);
    assert_eq!(text.is_some(), std::str::from_utf8(frame).is_ok());
    if let Some(text) = text {
        assert_eq!(text.as_bytes(), frame);
        assert_eq!(&serialize(&Utf8, &text).unwrap()[..], frame);
    }
});
