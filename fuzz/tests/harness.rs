//! The shared harness against inputs the fuzzer found, on stable:
//! `cargo test --manifest-path fuzz/Cargo.toml`.

use netproto_core::framing::{CborItem, Framer};
use netproto_fuzz::framing::{Limits, decode_in_reads};

/// A CBOR stream (limit 4, reads of 5 and 0) after which the decoder's
/// buffer takes back room it had consumed at its front: its capacity grows
/// from 4 to 10 with no new allocation. The growth check once read that as
/// memory a header made the decoder reserve.
#[test]
fn room_taken_back_at_the_front_is_no_new_memory() {
    let hex = "00727272727272727272727272727272727272727272727272727272727231\
               727272727272727272727272727272720000000000c1046101027a9f81810230ff617a";
    let stream: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let max = 4;
    let limits = Limits {
        retained: max + 8,
        frame: max,
        rescan_per_call: 9,
    };
    let events = decode_in_reads(
        CborItem::new().max_frame_length(max).decoder(),
        &stream,
        &[5, 0],
        &limits,
    );
    assert!(!events.is_empty());
}
