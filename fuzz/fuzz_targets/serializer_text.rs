//! The ASCII and Latin-1 serializers: a frame decodes as ASCII if and only
//! if every byte is below 0x80, and always as Latin-1; decoded text
//! encodes back to the frame; any string (the frame read as UTF-8, where it
//! is) encodes if and only if the encoding has all its characters, and a
//! refusal queues nothing.
//!
//! Input: the frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netproto_core::serializer::{Ascii, Latin1};
use netproto_fuzz::serializing::{deserialize, serialize};

fuzz_target!(|frame: &[u8]| {
    let ascii = deserialize(&Ascii, frame);
    assert_eq!(ascii.is_some(), frame.is_ascii());
    if let Some(text) = &ascii {
        assert_eq!(text.as_bytes(), frame);
        assert_eq!(&serialize(&Ascii, text).unwrap()[..], frame);
    }

    let latin1 = deserialize(&Latin1, frame).expect("every byte is a Latin-1 character");
    assert_eq!(latin1.chars().count(), frame.len());
    assert!(
        latin1
            .chars()
            .zip(frame)
            .all(|(c, &b)| u32::from(c) == u32::from(b))
    );
    assert_eq!(&serialize(&Latin1, &latin1).unwrap()[..], frame);

    if let Ok(text) = std::str::from_utf8(frame) {
        assert_eq!(serialize(&Ascii, text).is_ok(), text.is_ascii());
        let fits = text.chars().all(|c| u32::from(c) <= 0xff);
        match serialize(&Latin1, text) {
            Ok(bytes) => {
                assert!(fits);
                assert_eq!(bytes.len(), text.chars().count());
                assert_eq!(deserialize(&Latin1, &bytes).as_deref(), Some(text));
            }
            Err(_) => assert!(!fits),
        }
    }
});
