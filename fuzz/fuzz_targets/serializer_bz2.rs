//! The bzip2 wrapper: any frame decodes to a value or an error carrying
//! the frame; the decompression limit holds exactly (a packet decodes under
//! limit L if and only if it decompresses to at most L bytes, and never
//! yields more); anything encoded at any level decodes back.
//!
//! Input: limit byte, level byte, then the frame (also the payload).
#![no_main]

use libfuzzer_sys::fuzz_target;
use netproto_core::serializer::{
    BytesSerializer, Bz2, DEFAULT_MAX_DECOMPRESSED_LENGTH, JsonValue, Serializer, Utf8,
};
use netproto_fuzz::Input;
use netproto_fuzz::serializing::{deserialize, serialize};

/// The reference limit. Bzip2 can expand a few bytes into megabytes, so a
/// frame may pass it: then only "refused under any smaller limit" is
/// checked.
const REFERENCE: usize = 16 << 20;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let limit = match input.byte() {
        255 => DEFAULT_MAX_DECOMPRESSED_LENGTH,
        n => usize::from(n) * 37,
    };
    // Bzip2's levels differ only in block size (100 000 bytes per level),
    // and a fuzz input fills less than one block at any of them; making a
    // level-9 compressor allocates and zeroes ~7 MiB, most of this target's
    // time. So the round trip runs at level 1 except for one input in 16,
    // which keeps its own level (every level stays covered).
    let level_byte = input.byte();
    let level = match level_byte >> 4 {
        0 => u32::from(level_byte % 12),
        _ => 1,
    };
    let frame = input.rest();
    let with_limit = |l: usize| Bz2::new(BytesSerializer).max_decompressed_length(l);

    let reference = with_limit(REFERENCE).deserialize(bytes::Bytes::copy_from_slice(frame));
    let limited = with_limit(limit).deserialize(bytes::Bytes::copy_from_slice(frame));
    match (&reference, limited) {
        (Ok(full), Ok(got)) => {
            assert!(got.len() <= limit, "{} bytes out, limit {limit}", got.len());
            assert_eq!(full, &got);
        }
        (Ok(full), Err(err)) => {
            assert!(
                full.len() > limit,
                "refused {} bytes under a limit of {limit}: {err}",
                full.len()
            );
            assert_eq!(&err.frame[..], frame);
            assert!(err.to_string().contains("limit"), "{err}");
        }
        (Err(big), Ok(got)) => {
            assert!(
                big.to_string().contains("limit") && limit > REFERENCE,
                "{} bytes out under {limit} but refused under {REFERENCE}: {big}",
                got.len()
            );
        }
        (Err(_), Err(err)) => assert_eq!(&err.frame[..], frame),
    }
    // An exact limit accepts; one less refuses.
    if let Ok(full) = reference {
        assert!(deserialize(&with_limit(full.len()), frame).is_some());
        if let Some(less) = full.len().checked_sub(1) {
            assert!(deserialize(&with_limit(less), frame).is_none());
        }
    }

    // Inner errors carry the received frame.
    deserialize(&Bz2::new(Utf8).max_decompressed_length(limit), frame);
    deserialize(
        &Bz2::new(JsonValue::new()).max_decompressed_length(limit),
        frame,
    );

    // Anything compresses, at any level, and decompresses back under a
    // limit of exactly its length.
    let bz2 = Bz2::new(BytesSerializer)
        .level(level)
        .max_decompressed_length(frame.len());
    let wire = serialize(&bz2, frame).expect("bzip2 compression never fails");
    assert_eq!(deserialize(&bz2, &wire).as_deref(), Some(frame));
});
