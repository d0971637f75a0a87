//! EasyNetwork 1.2 `JSONSerializer` wire vectors (JSON lines), decoded and
//! re-encoded by netproto. Produced by `tests/vectors/generate.py`.
#![cfg(feature = "json")]

mod serializer_common;

use netproto_core::StreamProtocol;
use netproto_core::framing::Delimiter;
use netproto_core::serializer::{Json, JsonValue, json_lines};
use serde::{Deserialize, Serialize};
use serializer_common::{hex, named, receive_ok, send_all, vectors};

#[test]
fn json_lines_match_byte_for_byte() {
    let all = vectors("easynetwork_json.json");
    let protocol = JsonValue::new().lines();
    let mut checked = 0;
    for vector in all.iter().filter(|v| v["name"] != "typed_field_order") {
        let name = vector["name"].as_str().unwrap();
        let value = &vector["value"];
        let wire = hex(vector["lines_hex"].as_str().unwrap());
        for chunks in [&[usize::MAX][..], &[1], &[2, 9]] {
            assert_eq!(
                receive_ok(&protocol, &wire, chunks),
                std::slice::from_ref(value),
                "{name}"
            );
        }
        assert_eq!(
            String::from_utf8(send_all(&protocol, [value])).unwrap(),
            String::from_utf8(wire).unwrap(),
            "{name}"
        );
        checked += 1;
    }
    assert_eq!(checked, 13);
}

#[test]
fn utf8_output_matches_ensure_ascii_false() {
    let all = vectors("easynetwork_json.json");
    let protocol = StreamProtocol::new(Delimiter::lf(), JsonValue::new().ensure_ascii(false));
    for vector in all.iter().filter(|v| v["name"] != "typed_field_order") {
        let wire = hex(vector["utf8_lines_hex"].as_str().unwrap());
        assert_eq!(
            receive_ok(&protocol, &wire, &[5]),
            [vector["value"].clone()]
        );
        assert_eq!(
            send_all(&protocol, [&vector["value"]]),
            wire,
            "{}",
            vector["name"]
        );
    }
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Ordered {
    zeta: u32,
    alpha: String,
    mid: (f64, i64),
}

#[test]
fn typed_structs_keep_field_order() {
    let all = vectors("easynetwork_json.json");
    let vector = named(&all, "typed_field_order");
    let wire = hex(vector["lines_hex"].as_str().unwrap());
    let value = Ordered {
        zeta: 1,
        alpha: "x".into(),
        mid: (1.5, -3),
    };
    let protocol = json_lines::<Ordered>();
    assert_eq!(
        receive_ok(&protocol, &wire, &[3]),
        std::slice::from_ref(&value)
    );
    assert_eq!(send_all(&protocol, [&value]), wire);
}

#[test]
fn a_stream_of_every_vector_then_a_bad_line() {
    let all = vectors("easynetwork_json.json");
    let mut wire: Vec<u8> = all
        .iter()
        .flat_map(|v| hex(v["lines_hex"].as_str().unwrap()))
        .collect();
    wire.extend_from_slice(b"{\"broken\":\n[1]\n");
    let protocol = JsonValue::new().lines();
    let (results, _) = serializer_common::receive_all(&protocol, &wire, &[17]);
    assert_eq!(results.len(), all.len() + 2);
    let bad = results[all.len()].as_ref().unwrap_err();
    assert!(bad.is_recoverable(), "{bad}");
    assert_eq!(
        results[all.len() + 1].as_ref().unwrap(),
        &serde_json::json!([1])
    );
}

#[test]
fn asymmetric_request_and_response_types() {
    #[derive(Serialize)]
    #[serde(tag = "op", rename_all = "lowercase")]
    enum Request {
        Add { a: i32, b: i32 },
    }
    #[derive(Deserialize, Debug, PartialEq)]
    struct Response {
        sum: i32,
    }
    let client = Json::<Request, Response>::new().lines();
    assert_eq!(
        send_all(&client, [&Request::Add { a: 1, b: 2 }]),
        b"{\"op\":\"add\",\"a\":1,\"b\":2}\n"
    );
    assert_eq!(
        receive_ok(&client, b"{\"sum\":3}\n", &[1]),
        [Response { sum: 3 }]
    );
    let (results, _) = serializer_common::receive_all(&client, b"{\"total\":3}\n", &[64]);
    assert!(results[0].as_ref().is_err_and(|e| e.is_recoverable()));
}

/// What Python's json writes and serde_json cannot read as sent (integers
/// beyond 64 bits, NaN, the infinities): netproto refuses each packet with
/// a per-packet error saying why, and the next packet still arrives.
#[test]
fn python_numbers_serde_json_would_change_are_refused_per_packet() {
    use netproto_core::Error;
    use serde_json::Value;
    use serializer_common::receive_all;

    fn check(name: &str, reason: &str, (results, end): (Vec<Result<Value, Error>>, Error)) {
        assert!(
            matches!(end, Error::ConnectionClosed { .. }),
            "{name}: {end}"
        );
        let [first, second] = &results[..] else {
            panic!("{name}: {} results", results.len());
        };
        let err = first.as_ref().unwrap_err();
        assert!(matches!(err, Error::Deserialize { .. }), "{name}: {err}");
        assert!(err.to_string().contains(reason), "{name}: {err}");
        assert_eq!(second.as_ref().unwrap(), &serde_json::json!([1]), "{name}");
    }

    let all = vectors("easynetwork_json_refused.json");
    assert_eq!(all.len(), 6);
    for vector in &all {
        let name = vector["name"].as_str().unwrap();
        let reason = vector["reason_contains"].as_str().unwrap();
        let lines = [
            hex(vector["lines_hex"].as_str().unwrap()),
            b"[1]\n".to_vec(),
        ]
        .concat();
        check(
            name,
            reason,
            receive_all(&JsonValue::new().lines(), &lines, &[3]),
        );
        let documents = [
            hex(vector["documents_hex"].as_str().unwrap()),
            b"[1]".to_vec(),
        ]
        .concat();
        check(
            name,
            reason,
            receive_all(&JsonValue::new().documents(), &documents, &[3]),
        );
    }
}
