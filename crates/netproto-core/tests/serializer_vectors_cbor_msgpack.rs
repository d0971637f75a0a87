//! EasyNetwork 1.2 `CBORSerializer` (cbor2) and `MessagePackSerializer`
//! (msgpack) vectors. Produced by `tests/vectors/generate.py`.
#![cfg(any(feature = "cbor", feature = "msgpack"))]

mod serializer_common;

use bytes::{Bytes, BytesMut};
use netproto_core::serializer::Serializer;
use serde_json::Value;
use serializer_common::{hex, named, vectors};

#[cfg(feature = "cbor")]
fn has_float(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.is_f64(),
        Value::Array(items) => items.iter().any(has_float),
        Value::Object(map) => map.values().any(has_float),
        _ => false,
    }
}

#[cfg(feature = "cbor")]
#[test]
fn cbor_decodes_and_matches_except_float_widths() {
    use netproto_core::serializer::Cbor;
    let all = vectors("easynetwork_cbor_msgpack.json");
    let cbor = Cbor::<Value>::new();
    let mut exact = 0;
    for vector in all.iter().filter(|v| v["name"] != "bytes") {
        let name = vector["name"].as_str().unwrap();
        let wire = hex(vector["cbor_hex"].as_str().unwrap());
        assert_eq!(
            cbor.deserialize(Bytes::from(wire.clone())).unwrap(),
            vector["value"],
            "{name}"
        );
        let mut ours = BytesMut::new();
        cbor.serialize(&vector["value"], &mut ours).unwrap();
        if has_float(&vector["value"]) {
            // cbor2 always writes float64; ciborium the shortest exact width.
            assert_ne!(ours[..], wire[..], "{name}");
            assert_eq!(cbor.deserialize(ours.freeze()).unwrap(), vector["value"]);
        } else {
            assert_eq!(ours[..], wire[..], "{name}");
            exact += 1;
        }
    }
    assert_eq!(exact, 5);
}

#[cfg(feature = "cbor")]
#[test]
fn cbor_byte_strings() {
    use ciborium::Value as Cbor;
    use netproto_core::serializer::CborValue;
    let all = vectors("easynetwork_cbor_msgpack.json");
    let wire = hex(named(&all, "bytes")["cbor_hex"].as_str().unwrap());
    let value = CborValue::new()
        .deserialize(Bytes::from(wire.clone()))
        .unwrap();
    let expected = Cbor::Map(vec![
        (Cbor::Text("bin".into()), Cbor::Bytes(vec![0, 255])),
        (
            Cbor::Text("list".into()),
            Cbor::Array(vec![Cbor::Bytes(vec![]), Cbor::Bytes(b"abc".to_vec())]),
        ),
    ]);
    assert_eq!(value, expected);
    let mut ours = BytesMut::new();
    CborValue::new().serialize(&expected, &mut ours).unwrap();
    assert_eq!(ours[..], wire[..]);
}

#[cfg(feature = "msgpack")]
#[test]
fn msgpack_matches_byte_for_byte() {
    use netproto_core::serializer::MsgPack;
    let all = vectors("easynetwork_cbor_msgpack.json");
    let msgpack = MsgPack::<Value>::new();
    for vector in all.iter().filter(|v| v["name"] != "bytes") {
        let name = vector["name"].as_str().unwrap();
        let wire = hex(vector["msgpack_hex"].as_str().unwrap());
        assert_eq!(
            msgpack.deserialize(Bytes::from(wire.clone())).unwrap(),
            vector["value"],
            "{name}"
        );
        let mut ours = BytesMut::new();
        msgpack.serialize(&vector["value"], &mut ours).unwrap();
        assert_eq!(ours[..], wire[..], "{name}");
    }
}

#[cfg(feature = "msgpack")]
#[test]
fn msgpack_bin_and_typed_structs() {
    use netproto_core::serializer::{MsgPack, MsgPackValue};
    use rmpv::Value as Mp;
    let all = vectors("easynetwork_cbor_msgpack.json");
    let wire = hex(named(&all, "bytes")["msgpack_hex"].as_str().unwrap());
    let value = MsgPackValue::new()
        .deserialize(Bytes::from(wire.clone()))
        .unwrap();
    let expected = Mp::Map(vec![
        (Mp::from("bin"), Mp::Binary(vec![0, 255])),
        (
            Mp::from("list"),
            Mp::Array(vec![Mp::Binary(vec![]), Mp::Binary(b"abc".to_vec())]),
        ),
    ]);
    assert_eq!(value, expected);
    let mut ours = BytesMut::new();
    MsgPackValue::new().serialize(&expected, &mut ours).unwrap();
    assert_eq!(ours[..], wire[..]);

    // A typed struct reads the dict Python sent.
    #[derive(serde::Deserialize, serde::Serialize, Debug, PartialEq)]
    struct Map {
        a: u8,
        b: (bool, bool, Option<u8>),
        c: std::collections::BTreeMap<String, String>,
    }
    let wire = hex(named(&all, "map")["msgpack_hex"].as_str().unwrap());
    let typed = MsgPack::<Map>::new()
        .deserialize(Bytes::from(wire.clone()))
        .unwrap();
    assert_eq!(typed.b, (true, false, None));
    let mut ours = BytesMut::new();
    MsgPack::<Map>::new().serialize(&typed, &mut ours).unwrap();
    assert_eq!(ours[..], wire[..]);
}
