//! The delimiter framer: arbitrary bytes in arbitrary reads decode as in
//! one read, within the limits; what it encodes decodes back, alone and in
//! a stream of encoded frames.
//!
//! Input: delimiter choice, limit, keep flag, [custom delimiter bytes],
//! read sizes, then the stream (also used as a payload to encode, and cut
//! at 0xff bytes into payloads to encode one after the other).
#![no_main]

use libfuzzer_sys::fuzz_target;
use netproto_core::error::EncodeError;
use netproto_core::framing::Delimiter;
use netproto_fuzz::framing::{
    Limits, check_decoding, check_encoded_stream, decode_one, encode_checked,
};
use netproto_fuzz::{Input, limit};

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let choice = input.byte();
    let max = limit(input.byte(), Delimiter::DEFAULT_MAX_FRAME_LENGTH);
    let keep = input.byte() & 1 == 1;
    let framer = match choice % 8 {
        0 => Delimiter::lf(),
        1 => Delimiter::cr(),
        2 => Delimiter::crlf(),
        3 => Delimiter::new(b"\r\n\r\n"),
        4 => Delimiter::new(b"aba"),
        n => {
            // A delimiter of 1 to 3 bytes from the input.
            let custom = input.bytes(usize::from(n - 4));
            if custom.is_empty() {
                return;
            }
            Delimiter::new(custom)
        }
    };
    let framer = framer.max_frame_length(max).keep_delimiter(keep);
    let dlen = framer.delimiter().len();
    let reads = input.read_sizes();
    let stream = input.rest();

    let limits = Limits {
        retained: max.saturating_add(dlen - 1),
        frame: if keep { max.saturating_add(dlen) } else { max },
        rescan_per_call: dlen as u64 - 1,
    };
    check_decoding(&framer, stream, &reads, &limits);

    // Encode the stream as one frame: refused (over the limit, or the
    // peer would cut it early) or decoded back unchanged.
    match encode_checked(&framer, stream) {
        Ok(wire) => {
            assert!(stream.len() <= max);
            let frame = decode_one(&framer, &wire, &limits);
            let expected = if keep { &wire[..] } else { stream };
            assert_eq!(&frame[..], expected);
        }
        Err(EncodeError::FrameTooLong { length, limit }) => {
            assert_eq!(limit, max);
            assert!(length as usize == stream.len() && stream.len() > max);
        }
        Err(EncodeError::ContainsDelimiter { offset, .. }) => {
            let wire = [stream, framer.delimiter()].concat();
            assert!(offset < stream.len());
            assert_eq!(&wire[offset..offset + dlen], framer.delimiter());
        }
        Err(err) => panic!("unexpected encode error: {err}"),
    }

    // The stream cut at 0xff bytes: each piece the framer accepts is a
    // frame of its own in one stream of encoded frames.
    let pieces: Vec<&[u8]> = stream.split(|&b| b == 0xff).collect();
    let frames = check_encoded_stream(&framer, pieces.iter().copied(), &reads, &limits);
    let accepted = pieces.iter().filter(|p| encode_checked(&framer, p).is_ok());
    for (frame, piece) in frames.iter().zip(accepted) {
        let expected = if keep {
            [*piece, framer.delimiter()].concat()
        } else {
            piece.to_vec()
        };
        assert_eq!(frame[..], expected[..]);
    }
});
