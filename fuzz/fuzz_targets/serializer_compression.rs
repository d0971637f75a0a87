//! The zlib and gzip wrappers: any frame decodes to a value or an error
//! carrying the frame; the decompression limit holds exactly (a packet
//! decodes under limit L if and only if it inflates to at most L bytes, and
//! never yields more); anything encoded at any level decodes back.
//!
//! Input: limit byte, level byte, then the frame (also the payload).
#![no_main]

use libfuzzer_sys::fuzz_target;
use netproto_core::serializer::{
    BytesSerializer, DEFAULT_MAX_DECOMPRESSED_LENGTH, Gzip, JsonValue, Serializer, Utf8, Zlib,
};
use netproto_fuzz::Input;
use netproto_fuzz::serializing::{deserialize, serialize};

/// Far above what a fuzz input (a few KiB, deflate's ratio is ~1000:1)
/// inflates to: decoding with it shows the real inflated length.
const REFERENCE: usize = 64 << 20;

fn check<S>(with_limit: impl Fn(usize) -> S, limit: usize, frame: &[u8])
where
    S: Serializer<Sent = [u8], Received = bytes::Bytes>,
{
    let reference = deserialize(&with_limit(REFERENCE), frame);
    let limited = with_limit(limit).deserialize(bytes::Bytes::copy_from_slice(frame));
    match (&reference, limited) {
        (Some(full), Ok(got)) => {
            assert!(got.len() <= limit, "{} bytes out, limit {limit}", got.len());
            assert_eq!(full, &got);
        }
        (Some(full), Err(err)) => {
            assert!(
                full.len() > limit,
                "refused {} bytes under a limit of {limit}: {err}",
                full.len()
            );
            assert_eq!(&err.frame[..], frame);
            assert!(err.to_string().contains("limit"), "{err}");
        }
        (None, Ok(got)) => panic!(
            "{} bytes out under {limit} but refused under {REFERENCE}",
            got.len()
        ),
        (None, Err(err)) => assert_eq!(&err.frame[..], frame),
    }
    // An exact limit accepts; one less refuses.
    if let Some(full) = reference {
        assert!(deserialize(&with_limit(full.len()), frame).is_some());
        if let Some(less) = full.len().checked_sub(1) {
            assert!(deserialize(&with_limit(less), frame).is_none());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let limit = match input.byte() {
        255 => DEFAULT_MAX_DECOMPRESSED_LENGTH,
        n => usize::from(n) * 37,
    };
    let level = u32::from(input.byte() % 12);
    let frame = input.rest();

    check(
        |l| Zlib::new(BytesSerializer).max_decompressed_length(l),
        limit,
        frame,
    );
    check(
        |l| Gzip::new(BytesSerializer).max_decompressed_length(l),
        limit,
        frame,
    );

    // Inner errors carry the received frame.
    deserialize(&Zlib::new(Utf8).max_decompressed_length(limit), frame);
    deserialize(
        &Gzip::new(JsonValue::new()).max_decompressed_length(limit),
        frame,
    );
    deserialize(&Zlib::new(Gzip::new(BytesSerializer)), frame);

    // Anything compresses, at any level, and decompresses back under a
    // limit of exactly its length.
    let zlib = Zlib::new(BytesSerializer)
        .level(level)
        .max_decompressed_length(frame.len());
    let wire = serialize(&zlib, frame).expect("zlib compression never fails");
    assert_eq!(deserialize(&zlib, &wire).as_deref(), Some(frame));
    let gzip = Gzip::new(BytesSerializer)
        .level(level)
        .max_decompressed_length(frame.len());
    let wire = serialize(&gzip, frame).expect("gzip compression never fails");
    assert_eq!(deserialize(&gzip, &wire).as_deref(), Some(frame));
});
