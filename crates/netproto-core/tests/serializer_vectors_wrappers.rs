//! EasyNetwork 1.2 `Base64EncoderSerializer` and `ZlibCompressorSerializer`
//! vectors (wrapping `JSONSerializer`). Produced by
//! `tests/vectors/generate.py`.
#![cfg(all(feature = "json", any(feature = "base64", feature = "compression")))]

mod serializer_common;

use bytes::Bytes;
use netproto_core::serializer::{JsonValue, Serializer};
use serializer_common::{hex, receive_ok, send_all, vectors};

#[cfg(feature = "base64")]
#[test]
fn base64_lines_match_byte_for_byte() {
    use netproto_core::serializer::Base64;
    let all = vectors("easynetwork_wrappers.json");
    for vector in &all {
        let name = vector["name"].as_str().unwrap();
        let value = &vector["value"];
        for (key, serializer) in [
            ("base64_urlsafe_lines_hex", Base64::new(JsonValue::new())),
            (
                "base64_standard_lines_hex",
                Base64::standard(JsonValue::new()),
            ),
        ] {
            let protocol = serializer.lines();
            let wire = hex(vector[key].as_str().unwrap());
            assert!(wire.ends_with(b"\r\n"));
            assert_eq!(
                receive_ok(&protocol, &wire, &[1, 4]),
                std::slice::from_ref(value),
                "{name} {key}"
            );
            assert_eq!(send_all(&protocol, [value]), wire, "{name} {key}");
        }
    }
}

#[cfg(feature = "compression")]
#[test]
fn zlib_from_easynetwork_decodes_and_ours_decodes_back() {
    use netproto_core::serializer::Zlib;
    let all = vectors("easynetwork_wrappers.json");
    let zlib = Zlib::new(JsonValue::new());
    let mut identical = 0;
    for vector in &all {
        let value = &vector["value"];
        for key in ["zlib_hex", "zlib_level6_hex"] {
            let frame = Bytes::from(hex(vector[key].as_str().unwrap()));
            assert_eq!(
                &zlib.deserialize(frame).unwrap(),
                value,
                "{}",
                vector["name"]
            );
        }
        // Compressed bytes are a valid zlib stream of the same JSON; they
        // need not be the bytes zlib (C) produced.
        let mut ours = bytes::BytesMut::new();
        zlib.serialize(value, &mut ours).unwrap();
        let json = hex(vector["json_hex"].as_str().unwrap());
        let back = Zlib::new(netproto_core::serializer::BytesSerializer)
            .deserialize(ours.clone().freeze());
        assert_eq!(back.unwrap(), json);
        identical += usize::from(ours[..] == hex(vector["zlib_hex"].as_str().unwrap())[..]);
    }
    eprintln!(
        "{identical} of {} zlib outputs identical to EasyNetwork's",
        all.len()
    );
}

#[cfg(all(feature = "compression", feature = "base64"))]
#[test]
fn base64_of_zlib_lines_from_easynetwork_decode() {
    use netproto_core::serializer::{Base64, Zlib};
    let all = vectors("easynetwork_wrappers.json");
    let protocol = Base64::new(Zlib::new(JsonValue::new())).lines();
    let wire: Vec<u8> = all
        .iter()
        .flat_map(|v| hex(v["base64_zlib_lines_hex"].as_str().unwrap()))
        .collect();
    let expected: Vec<_> = all.iter().map(|v| v["value"].clone()).collect();
    assert_eq!(receive_ok(&protocol, &wire, &[3, 50]), expected);
    let ours = send_all(&protocol, &expected);
    assert_eq!(receive_ok(&protocol, &ours, &[7]), expected);
}
