//! The length-prefix framer, in every layout the builder allows: arbitrary
//! bytes in arbitrary reads decode as in one read, within the limits (a
//! header claiming more than the limit is refused before anything is
//! buffered for it); what it encodes decodes back, alone and in a stream of
//! encoded frames.
//!
//! Input: width/endianness, offset, adjustment, num_skip, limit, read sizes,
//! then the stream (also used as a payload to encode, and cut at 0xff bytes
//! into payloads to encode one after the other).
#![no_main]

use libfuzzer_sys::fuzz_target;
use netproto_core::error::EncodeError;
use netproto_core::framing::{Framer, LengthPrefix, LengthWidth};
use netproto_fuzz::framing::{
    Limits, check_decoding, check_encoded_stream, decode_one, encode_checked,
};
use netproto_fuzz::{Input, limit};

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let shape = input.byte();
    let offset = usize::from(input.byte() % 5);
    let adjustment = isize::from(input.byte() as i8 % 16);
    let skip = input.byte();
    let max = limit(input.byte(), LengthPrefix::DEFAULT_MAX_FRAME_LENGTH);
    let width = [
        LengthWidth::U8,
        LengthWidth::U16,
        LengthWidth::U32,
        LengthWidth::U64,
        LengthWidth::Varint,
    ][usize::from(shape % 5)];
    let num_skip =
        (skip & 0x80 != 0 && width != LengthWidth::Varint).then_some(usize::from(skip & 0x1f));
    let mut builder = LengthPrefix::builder()
        .length_field_width(width)
        .length_field_offset(offset)
        .length_adjustment(adjustment)
        .max_frame_length(max);
    if shape & 0x80 != 0 {
        builder = builder.little_endian();
    }
    if let Some(num_skip) = num_skip {
        builder = builder.num_skip(num_skip);
    }
    let framer = builder.build();
    let max = Framer::max_frame_length(&framer);
    let field = width.fixed_len().unwrap_or(10);
    let header_end = offset + field;
    let reads = input.read_sizes();
    let stream = input.rest();

    let limits = Limits {
        retained: header_end.max(num_skip.unwrap_or(header_end).saturating_add(max)),
        frame: max,
        rescan_per_call: 0,
    };
    check_decoding(&framer, stream, &reads, &limits);

    match encode_checked(&framer, stream) {
        Ok(wire) => {
            assert!(stream.len() <= max);
            let frame = decode_one(&framer, &wire, &limits);
            assert_eq!(frame.len(), stream.len());
            match num_skip {
                // The head is part of the frame: the length field was
                // written over the payload; everything else is as given.
                Some(skip) if skip < header_end => {
                    let field_start = offset.saturating_sub(skip);
                    let field_end = header_end - skip;
                    assert_eq!(frame[..field_start], stream[..field_start]);
                    assert_eq!(frame[field_end..], stream[field_end..]);
                }
                _ => assert_eq!(&frame[..], stream),
            }
        }
        Err(EncodeError::FrameTooLong { length, limit }) => {
            assert_eq!(limit, max);
            assert!(length as usize == stream.len() && stream.len() > max);
        }
        // Too short for a layout whose frames include the head, or a
        // negative header value.
        Err(EncodeError::Serialize(_)) => {
            let shorter_than_head = num_skip.is_some_and(|s| s + stream.len() < header_end);
            assert!(shorter_than_head || (stream.len() as isize) < adjustment);
        }
        Err(err) => panic!("unexpected encode error: {err}"),
    }

    // The stream cut at 0xff bytes: each piece the framer accepts is a
    // frame of its own in one stream of encoded frames.
    check_encoded_stream(&framer, stream.split(|&b| b == 0xff), &reads, &limits);
});
