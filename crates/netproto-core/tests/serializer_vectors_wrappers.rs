//! EasyNetwork 1.2 `Base64EncoderSerializer` and `ZlibCompressorSerializer`
//! vectors (wrapping `JSONSerializer`). Produced by
//! `tests/vectors/generate.py`.
#![cfg(all(
    feature = "json",
    any(feature = "base64", feature = "compression", feature = "bzip2")
))]

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

#[cfg(feature = "checksum")]
#[test]
fn base64_checksums_match_byte_for_byte() {
    use netproto_core::serializer::{Base64, Checksum, HmacKey};
    let all = vectors("easynetwork_wrappers.json");
    for vector in &all {
        let name = vector["name"].as_str().unwrap();
        let value = &vector["value"];
        let key = HmacKey::from_base64(vector["hmac_key"].as_str().unwrap()).unwrap();
        assert_eq!(key.to_base64(), vector["hmac_key"].as_str().unwrap());
        for (field, serializer) in [
            (
                "base64_sha256_lines_hex",
                Base64::new(JsonValue::new()).checksum(Checksum::Sha256),
            ),
            (
                "base64_hmac_lines_hex",
                Base64::new(JsonValue::new()).checksum(Checksum::HmacSha256(key.clone())),
            ),
            (
                "base64_standard_hmac_lines_hex",
                Base64::standard(JsonValue::new()).checksum(Checksum::HmacSha256(key.clone())),
            ),
        ] {
            let protocol = serializer.lines();
            let wire = hex(vector[field].as_str().unwrap());
            assert_eq!(
                receive_ok(&protocol, &wire, &[1, 5]),
                std::slice::from_ref(value),
                "{name} {field}"
            );
            assert_eq!(send_all(&protocol, [value]), wire, "{name} {field}");
        }
    }
}

#[cfg(feature = "checksum")]
#[test]
fn base64_checksum_mismatches_are_per_packet_errors() {
    use netproto_core::Error;
    use netproto_core::serializer::{Base64, Checksum, HmacKey};
    use serializer_common::receive_all;
    let all = vectors("easynetwork_wrappers.json");
    let key = HmacKey::from_base64(all[0]["hmac_key"].as_str().unwrap()).unwrap();
    let other = HmacKey::new([7; 32]);
    let hmac = |key: &HmacKey| {
        Base64::new(JsonValue::new())
            .checksum(Checksum::HmacSha256(key.clone()))
            .lines()
    };
    let sha = Base64::new(JsonValue::new())
        .checksum(Checksum::Sha256)
        .lines();
    let signed = hex(all[0]["base64_hmac_lines_hex"].as_str().unwrap());
    let digested = hex(all[0]["base64_sha256_lines_hex"].as_str().unwrap());
    let good = hex(all[1]["base64_hmac_lines_hex"].as_str().unwrap());

    let reasons = |results: Vec<Result<serde_json::Value, Error>>| -> Vec<String> {
        results
            .into_iter()
            .map(|r| match r {
                Ok(v) => format!("ok {v}"),
                Err(e) => e.to_string(),
            })
            .collect()
    };
    // Another key, a plain digest for a signed one and the reverse: each
    // packet fails alone, and the next one is delivered.
    for (protocol, wire, expect) in [
        (
            hmac(&other),
            [&signed[..], &good].concat(),
            "HMAC-SHA256 checksum mismatch",
        ),
        (
            hmac(&key),
            [&digested[..], &good].concat(),
            "HMAC-SHA256 checksum mismatch",
        ),
    ] {
        let (results, end) = receive_all(&protocol, &wire, &[usize::MAX]);
        assert!(matches!(end, Error::ConnectionClosed { .. }), "{end}");
        let got = reasons(results);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].contains(expect), "{got:?}");
        assert!(
            got[1].contains("checksum mismatch") || got[1].starts_with("ok"),
            "{got:?}"
        );
    }
    let (results, _) = receive_all(&sha, &signed, &[usize::MAX]);
    assert!(reasons(results)[0].contains("SHA-256 checksum mismatch"));

    // One altered character of the base64 text.
    let mut tampered = signed.clone();
    tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
    let (results, _) = receive_all(&hmac(&key), &tampered, &[usize::MAX]);
    assert!(reasons(results)[0].contains("checksum mismatch"));

    // Shorter than the checksum.
    let (results, _) = receive_all(&sha, b"AAAA\r\n", &[usize::MAX]);
    let got = reasons(results);
    assert!(
        got[0].contains("3 bytes, fewer than its 32-byte checksum"),
        "{got:?}"
    );

    // A key that is not 32 bytes of URL-safe base64.
    assert!(HmacKey::from_base64("AAEC").is_err());
    assert!(HmacKey::from_base64("not base64 at all!!").is_err());
    assert_eq!(format!("{key:?}"), "HmacKey(..)");
}

#[cfg(feature = "bzip2")]
#[test]
fn bz2_matches_byte_for_byte() {
    use netproto_core::serializer::Bz2;
    let all = vectors("easynetwork_wrappers.json");
    for vector in &all {
        let name = vector["name"].as_str().unwrap();
        let value = &vector["value"];
        for (key, level) in [("bz2_hex", 9), ("bz2_level1_hex", 1)] {
            let bz2 = Bz2::new(JsonValue::new()).level(level);
            let frame = hex(vector[key].as_str().unwrap());
            assert!(frame.starts_with(format!("BZh{level}").as_bytes()));
            let decoded = bz2.deserialize(Bytes::from(frame.clone())).unwrap();
            assert_eq!(&decoded, value, "{name} {key}");
            let mut ours = bytes::BytesMut::new();
            bz2.serialize(value, &mut ours).unwrap();
            assert_eq!(ours[..], frame[..], "{name} {key}");
        }
    }
}

#[cfg(all(feature = "bzip2", feature = "base64"))]
#[test]
fn base64_of_bz2_lines_match_byte_for_byte() {
    use netproto_core::serializer::{Base64, Bz2};
    let all = vectors("easynetwork_wrappers.json");
    let protocol = Base64::new(Bz2::new(JsonValue::new())).lines();
    let wire: Vec<u8> = all
        .iter()
        .flat_map(|v| hex(v["base64_bz2_lines_hex"].as_str().unwrap()))
        .collect();
    let expected: Vec<_> = all.iter().map(|v| v["value"].clone()).collect();
    assert_eq!(receive_ok(&protocol, &wire, &[3, 50]), expected);
    assert_eq!(send_all(&protocol, &expected), wire);
}
