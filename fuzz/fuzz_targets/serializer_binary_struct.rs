//! Fixed-layout binary structs: any frame decodes (numbers, bools, arrays,
//! nested `binary_struct!` types, either byte order) to a value or an error
//! carrying the frame; a frame of the right size always decodes, and the
//! value encodes back to the same bytes (bools as 0 or 1).
//!
//! Input: the frame.
#![no_main]

use std::fmt::Debug;

use libfuzzer_sys::fuzz_target;
use netproto_core::binary_struct;
use netproto_core::serializer::{BinaryStruct, ByteOrder, FixedStruct};
use netproto_fuzz::serializing::{check_stable, serialize};

binary_struct! {
    #[derive(Clone, Debug)]
    pub struct Flags (little_endian) {
        pub on: bool,
        pub counts: [i16; 3],
    }
}

binary_struct! {
    #[derive(Clone, Debug)]
    pub struct Telemetry (big_endian) {
        pub a_double: f64,
        pub three_ints: [i64; 3],
        pub flags: Flags,
        pub id: u128,
        pub ratio: f32,
        pub tag: [[u8; 2]; 2],
    }
}

fn check<T: BinaryStruct + Debug + 'static>(s: FixedStruct<T>, frame: &[u8], bools: &[usize]) {
    // Only a frame of the struct's size decodes.
    assert_eq!(check_stable(&s, frame).is_some(), frame.len() == T::SIZE);
    let Some(frame) = frame.get(..T::SIZE) else {
        return;
    };
    let value = check_stable(&s, frame).expect("a frame of the struct size decodes");
    // Every byte comes back but bools, which come back as 0 or 1.
    let wire = serialize(&s, &value).unwrap();
    for (i, (&sent, &got)) in frame.iter().zip(wire.iter()).enumerate() {
        if bools.contains(&i) {
            assert_eq!(got, u8::from(sent != 0));
        } else {
            assert_eq!(sent, got, "byte {i} of {value:?}");
        }
    }
}

fuzz_target!(|frame: &[u8]| {
    // Offsets of the bool fields.
    let telemetry_bool = 8 + 24;
    check(FixedStruct::<Telemetry>::new(), frame, &[telemetry_bool]);
    check(
        FixedStruct::<Telemetry>::new().byte_order(ByteOrder::Little),
        frame,
        &[telemetry_bool],
    );
    check(FixedStruct::<Flags>::new(), frame, &[0]);
    check(
        FixedStruct::<[u32; 5]>::new().byte_order(ByteOrder::Little),
        frame,
        &[],
    );
    check(FixedStruct::<[bool; 4]>::new(), frame, &[0, 1, 2, 3]);
    check(FixedStruct::<f64>::new(), frame, &[]);
    check(
        FixedStruct::<i128>::new().byte_order(ByteOrder::NATIVE),
        frame,
        &[],
    );
});
