//! The JSON serializer, dynamic and typed: any frame is a value or an error
//! carrying the frame; a value encodes (ASCII-only by default, or UTF-8)
//! to text that decodes to the same value — floats included, through the
//! Python-style float formatting.
//!
//! Input: the frame.
#![no_main]

use std::collections::{BTreeMap, HashMap};

use libfuzzer_sys::fuzz_target;
use netproto_core::serializer::{Json, JsonValue};
use netproto_fuzz::serializing::{check_round_trip, check_stable, deserialize, serialize};

fuzz_target!(|frame: &[u8]| {
    let json = JsonValue::new();
    if let Some(value) = check_round_trip(&json, frame) {
        check_stable(&json, frame);
        let ascii = serialize(&json, &value).unwrap();
        assert!(
            ascii.is_ascii(),
            "ensure_ascii output is not ASCII: {ascii:?}"
        );
        let utf8 = serialize(&json.ensure_ascii(false), &value).unwrap();
        assert!(std::str::from_utf8(&utf8).is_ok());
        assert_eq!(deserialize(&json, &utf8).as_ref(), Some(&value));
    }

    // Typed packets: serde's std implementations, no derive needed.
    check_round_trip(&Json::<Vec<f64>>::new(), frame);
    check_round_trip(&Json::<Vec<f32>>::new(), frame);
    check_round_trip(&Json::<(String, i64, u64, Option<bool>)>::new(), frame);
    check_round_trip(&Json::<HashMap<String, Vec<i128>>>::new(), frame);
    check_round_trip(
        &Json::<BTreeMap<String, (char, Option<String>)>>::new(),
        frame,
    );
    check_round_trip(&Json::<Vec<Vec<Option<u8>>>>::new(), frame);
});
