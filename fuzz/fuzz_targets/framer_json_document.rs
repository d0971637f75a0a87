//! The JSON-document framer: arbitrary bytes in arbitrary reads decode as
//! in one read, within the limit; a valid JSON document (as serde_json reads
//! it) comes out as one frame; what it encodes decodes back, alone and in a
//! stream of encoded documents.
//!
//! Input: limit byte, read sizes, then the stream (also a payload, and cut
//! at NUL bytes into documents to encode one after the other).
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use netproto_core::error::EncodeError;
use netproto_core::framing::JsonDocument;
use netproto_core::serializer::{JsonValue, Serializer};
use netproto_fuzz::framing::{
    Event, Limits, check_decoding, check_encoded_stream, decode_one, encode_checked,
};
use netproto_fuzz::{Input, limit};

fn trim_json_whitespace(mut s: &[u8]) -> &[u8] {
    let ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    while let [first, rest @ ..] = s {
        if !ws(first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !ws(last) {
            break;
        }
        s = rest;
    }
    s
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let max = limit(input.byte(), JsonDocument::DEFAULT_MAX_FRAME_LENGTH);
    let framer = JsonDocument::new().max_frame_length(max);
    let reads = input.read_sizes();
    let stream = input.rest();

    let limits = Limits {
        retained: max,
        frame: max,
        rescan_per_call: 0,
    };
    let events = check_decoding(&framer, stream, &reads, &limits);

    // One valid document (with any whitespace around it) is one frame.
    let valid = JsonValue::new()
        .deserialize(Bytes::copy_from_slice(stream))
        .is_ok();
    let document = trim_json_whitespace(stream);
    if valid && document.len() <= max {
        assert_eq!(events, [Event::Frame(Bytes::copy_from_slice(document))]);
    }

    match encode_checked(&framer, stream) {
        Ok(wire) => {
            assert!(stream.len() <= max);
            if valid {
                assert_eq!(&decode_one(&framer, &wire, &limits)[..], document);
            }
        }
        Err(EncodeError::FrameTooLong { length, limit }) => {
            assert_eq!(limit, max);
            assert!(length as usize == stream.len() && stream.len() > max);
        }
        Err(EncodeError::Serialize(_)) => assert!(!valid, "a valid document was refused"),
        Err(err) => panic!("unexpected encode error: {err}"),
    }

    // The stream cut at NUL bytes (never part of a JSON text): the valid
    // documents among the pieces, encoded one after the other, come back
    // one frame each, without the whitespace around them.
    let documents: Vec<&[u8]> = stream
        .split(|&b| b == 0)
        .filter(|piece| {
            JsonValue::new()
                .deserialize(Bytes::copy_from_slice(piece))
                .is_ok()
        })
        .collect();
    let frames = check_encoded_stream(&framer, documents.iter().copied(), &reads, &limits);
    let accepted = documents.iter().filter(|d| d.len() <= max);
    for (frame, document) in frames.iter().zip(accepted) {
        assert_eq!(frame[..], *trim_json_whitespace(document));
    }
});
