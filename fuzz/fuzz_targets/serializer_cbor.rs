//! The CBOR serializer, dynamic and typed: any frame is a value or an error
//! carrying the frame (deep nesting and huge claimed lengths included); a
//! decoded value encodes; re-encoding settles after one round (typed values:
//! at once).
//!
//! Input: the frame.
#![no_main]

use std::collections::{BTreeMap, HashMap};

use libfuzzer_sys::fuzz_target;
use netproto_core::serializer::{Cbor, CborValue};
use netproto_fuzz::serializing::{check_converges, check_round_trip, check_stable};

fuzz_target!(|frame: &[u8]| {
    // Values may hold NaN: compare encodings, not values.
    check_converges(&CborValue::new(), frame);

    check_stable(&Cbor::<Vec<f64>>::new(), frame);
    check_round_trip(&Cbor::<(String, i64, u64, Option<bool>)>::new(), frame);
    check_round_trip(&Cbor::<HashMap<String, Vec<i128>>>::new(), frame);
    check_round_trip(&Cbor::<BTreeMap<u32, (char, Option<String>)>>::new(), frame);
    check_round_trip(&Cbor::<Vec<Vec<Option<u8>>>>::new(), frame);
});
