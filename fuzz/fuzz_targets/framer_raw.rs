//! Raw chunks: every byte comes out once, in order, in frames of at most
//! the limit; nothing is ever held back.
//!
//! Input: limit byte, read sizes, then the stream.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netproto_core::framing::{Framer, Raw};
use netproto_fuzz::Input;
use netproto_fuzz::framing::{Event, Limits, decode_in_reads, encode_checked};

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let max = usize::from(input.byte()) + 1;
    let framer = Raw::new().max_frame_length(max);
    let reads = input.read_sizes();
    let stream = input.rest();

    let limits = Limits {
        retained: 0,
        frame: max,
        rescan_per_call: 0,
    };
    // Raw frames are the reads, so reads change the frames: check that the
    // bytes come out whole and in order instead.
    for reads in [&reads[..], &[], &[1]] {
        let events = decode_in_reads(framer.decoder(), stream, reads, &limits);
        let mut out = Vec::new();
        for event in events {
            match event {
                Event::Frame(frame) => {
                    assert!(!frame.is_empty(), "an empty raw frame");
                    out.extend_from_slice(&frame);
                }
                other => panic!("raw decoding reported {other:?}"),
            }
        }
        assert_eq!(out, stream);
    }

    let wire = encode_checked(&framer, stream).expect("raw encoding never fails");
    assert_eq!(&wire[..], stream);
});
