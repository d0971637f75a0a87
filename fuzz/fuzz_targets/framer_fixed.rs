//! The fixed-size framer: arbitrary bytes in arbitrary reads decode as in
//! one read; every frame has the size; what it encodes decodes back.
//!
//! Input: size byte, read sizes, then the stream.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netproto_core::error::EncodeError;
use netproto_core::framing::FixedSize;
use netproto_fuzz::Input;
use netproto_fuzz::framing::{Event, Limits, check_decoding, decode_one, encode_checked};

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let size = match input.byte() {
        255 => 1 << 20,
        n => usize::from(n % 64) + 1,
    };
    let framer = FixedSize::new(size);
    let reads = input.read_sizes();
    let stream = input.rest();

    let limits = Limits {
        retained: size - 1,
        frame: size,
        rescan_per_call: 0,
    };
    let events = check_decoding(&framer, stream, &reads, &limits);
    let whole = stream.len() / size;
    for (i, event) in events.iter().enumerate() {
        match event {
            Event::Frame(frame) if i < whole => {
                assert_eq!(&frame[..], &stream[i * size..(i + 1) * size]);
            }
            Event::Error(netproto_core::error::FramingError::UnexpectedEof { pending }, false)
                if i == whole =>
            {
                assert_eq!(*pending, stream.len() % size);
            }
            other => panic!("event {i}: {other:?}"),
        }
    }

    match encode_checked(&framer, stream) {
        Ok(wire) => {
            assert_eq!(stream.len(), size);
            assert_eq!(&decode_one(&framer, &wire, &limits)[..], stream);
        }
        Err(EncodeError::WrongSize { length, expected }) => {
            assert_eq!((length, expected), (stream.len(), size));
            assert_ne!(length, size);
        }
        Err(err) => panic!("unexpected encode error: {err}"),
    }
});
