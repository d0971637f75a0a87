//! The MessagePack item framer: arbitrary bytes in arbitrary reads decode
//! as in one read, within the limit (plus an incomplete header), with each
//! byte examined once (an incomplete header again per call); an item
//! rmp-serde reads whole is exactly one frame; what it encodes decodes
//! back, alone and in a stream.
//!
//! Input: limit byte, read sizes, then the stream.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use netproto_core::framing::MsgPackItem;
use netproto_core::serializer::{MsgPackValue, Serializer};
use netproto_fuzz::framing::{Limits, check_self_delimiting};
use netproto_fuzz::{Input, limit};

/// The longest MessagePack header (`ext 32`).
const MAX_HEADER: usize = 6;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let max = limit(input.byte(), MsgPackItem::DEFAULT_MAX_FRAME_LENGTH);
    let framer = MsgPackItem::new().max_frame_length(max);
    let reads = input.read_sizes();
    let stream = input.rest();

    let limits = Limits {
        retained: max.saturating_add(MAX_HEADER - 1),
        frame: max,
        rescan_per_call: MAX_HEADER as u64,
    };
    let valid = MsgPackValue::new()
        .deserialize(Bytes::copy_from_slice(stream))
        .is_ok();
    check_self_delimiting(&framer, stream, &reads, &limits, valid);
});
