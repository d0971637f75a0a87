//! JSON over the JSON-document framer (EasyNetwork's `use_lines=False`).
#![cfg(feature = "json")]

mod serializer_common;

use netproto_core::StreamProtocol;
use netproto_core::framing::JsonDocument;
use netproto_core::serializer::JsonValue;
use serializer_common::{hex, receive_ok, send_all, vectors};

#[test]
fn documents_from_easynetwork_decode_in_any_chunking() {
    let all = vectors("easynetwork_json.json");
    let protocol = StreamProtocol::new(JsonDocument::new(), JsonValue::new());
    let wire: Vec<u8> = all
        .iter()
        .flat_map(|v| hex(v["documents_hex"].as_str().unwrap()))
        .collect();
    let expected: Vec<_> = all.iter().map(|v| v["value"].clone()).collect();
    for chunks in [&[usize::MAX][..], &[1], &[5, 2]] {
        assert_eq!(receive_ok(&protocol, &wire, chunks), expected);
    }
}

#[test]
fn documents_match_byte_for_byte() {
    let all = vectors("easynetwork_json.json");
    let protocol = StreamProtocol::new(JsonDocument::new(), JsonValue::new());
    let mut checked = 0;
    for vector in &all {
        let value = &vector["value"];
        if vector["name"] == "typed_field_order" {
            continue;
        }
        let wire = hex(vector["documents_hex"].as_str().unwrap());
        assert_eq!(send_all(&protocol, [value]), wire, "{}", vector["name"]);
        checked += 1;
    }
    assert_eq!(checked, 13);
}

#[test]
fn scalars_back_to_back_stay_apart() {
    let protocol = JsonValue::new().documents();
    let values = [
        serde_json::json!(1),
        serde_json::json!(23),
        serde_json::json!(true),
        serde_json::json!("s"),
        serde_json::json!(null),
        serde_json::json!(4.5),
    ];
    let wire = send_all(&protocol, &values);
    assert_eq!(receive_ok(&protocol, &wire, &[1]), values);
}
