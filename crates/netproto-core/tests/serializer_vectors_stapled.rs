//! EasyNetwork 1.2 `StapledPacketSerializer` vectors: JSON lines out and
//! string lines in, and the reverse. Produced by `tests/vectors/generate.py`.
#![cfg(feature = "json")]

mod serializer_common;

use netproto_core::framing::Delimiter;
use netproto_core::protocol::StreamProtocol;
use netproto_core::serializer::{JsonValue, Stapled, Utf8};
use serde_json::Value;
use serializer_common::{hex, named, receive_ok, send_all, vectors};

#[test]
fn json_out_lines_in() {
    let all = vectors("easynetwork_stapled.json");
    let vector = named(&all, "json_out_lines_in");
    let protocol = StreamProtocol::new(Delimiter::lf(), Stapled::new(JsonValue::new(), Utf8));
    let sent: Vec<Value> = vector["sent"].as_array().unwrap().clone();
    assert_eq!(
        send_all(&protocol, &sent),
        hex(vector["sent_wire_hex"].as_str().unwrap())
    );
    let received: Vec<String> = vector["received"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let wire = hex(vector["received_wire_hex"].as_str().unwrap());
    for chunks in [&[usize::MAX][..], &[1], &[4]] {
        assert_eq!(receive_ok(&protocol, &wire, chunks), received);
    }
}

#[test]
fn lines_out_json_in() {
    let all = vectors("easynetwork_stapled.json");
    let vector = named(&all, "lines_out_json_in");
    let protocol = StreamProtocol::new(Delimiter::lf(), Stapled::new(Utf8, JsonValue::new()));
    let sent: Vec<&str> = vector["sent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        send_all(&protocol, sent),
        hex(vector["sent_wire_hex"].as_str().unwrap())
    );
    let wire = hex(vector["received_wire_hex"].as_str().unwrap());
    assert_eq!(
        receive_ok(&protocol, &wire, &[3]),
        vector["received"].as_array().unwrap().clone()
    );
}
