//! The bzip2 stream framer: arbitrary bytes in arbitrary reads decode as
//! in one read, within the limits, each byte decompressed once; a bzip2
//! stream the `Bz2` serializer reads whole (under the framer's decompressed
//! limit) is exactly one frame; what it encodes decodes back, alone and in
//! a stream.
//!
//! Input: limit byte, read sizes, then the stream.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use netproto_core::framing::Bz2Stream;
use netproto_core::serializer::{BytesSerializer, Bz2, Serializer};
use netproto_fuzz::framing::{Limits, check_self_delimiting};
use netproto_fuzz::{Input, limit};

/// What a stream may decompress to while its end is sought.
const DECOMPRESSED: usize = 4 << 20;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let max = limit(input.byte(), Bz2Stream::DEFAULT_MAX_FRAME_LENGTH);
    let framer = Bz2Stream::new()
        .max_frame_length(max)
        .max_decompressed_length(DECOMPRESSED);
    let reads = input.read_sizes();
    let stream = input.rest();

    let limits = Limits {
        retained: max.saturating_add(1),
        frame: max,
        rescan_per_call: 0,
    };
    let valid = Bz2::new(BytesSerializer)
        .max_decompressed_length(DECOMPRESSED)
        .deserialize(Bytes::copy_from_slice(stream))
        .is_ok();
    check_self_delimiting(&framer, stream, &reads, &limits, valid);
});
