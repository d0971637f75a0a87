//! The gzip member framer: arbitrary bytes in arbitrary reads decode as in
//! one read, within the limit, each byte inflated once; a gzip member the
//! `Gzip` serializer reads whole is exactly one frame; what it encodes
//! decodes back, alone and in a stream.
//!
//! Input: limit byte, read sizes, then the stream.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use netproto_core::framing::GzipStream;
use netproto_core::serializer::{BytesSerializer, Gzip, Serializer};
use netproto_fuzz::framing::{Limits, check_self_delimiting};
use netproto_fuzz::{Input, limit};

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let max = limit(input.byte(), GzipStream::DEFAULT_MAX_FRAME_LENGTH);
    let framer = GzipStream::new().max_frame_length(max);
    let reads = input.read_sizes();
    let stream = input.rest();

    let limits = Limits {
        retained: max.saturating_add(1),
        frame: max,
        rescan_per_call: 0,
    };
    let valid = Gzip::new(BytesSerializer)
        .max_decompressed_length(1 << 24)
        .deserialize(Bytes::copy_from_slice(stream))
        .is_ok();
    check_self_delimiting(&framer, stream, &reads, &limits, valid);
});
