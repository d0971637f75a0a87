//! Fernet tokens as EasyNetwork's `EncryptorSerializer` wrote them (Python
//! `cryptography`'s `Fernet`, CRLF lines; EasyNetwork 1.2 no longer has
//! it, so `tests/vectors/generate.py` writes them the same way).
//!
//! Tokens are random (a fresh IV each time): netproto decodes the Python
//! tokens, and the tokens it makes are checked for the Fernet layout and
//! decoded back, not compared byte for byte.
#![cfg(all(feature = "fernet", feature = "json"))]

mod serializer_common;

use ::base64::Engine;
use netproto_core::Error;
use netproto_core::serializer::{Fernet, FernetKey, JsonValue};
use serde_json::Value;
use serializer_common::{hex, receive_all, receive_ok, send_all, vectors};

fn all() -> Vec<Value> {
    vectors("fernet_encryptor.json")
}

fn key(vector: &Value) -> FernetKey {
    FernetKey::from_base64(vector["key"].as_str().unwrap()).unwrap()
}

fn wire(all: &[Value], field: &str) -> Vec<u8> {
    all.iter()
        .flat_map(|v| hex(v[field].as_str().unwrap()))
        .collect()
}

fn values(all: &[Value]) -> Vec<Value> {
    all.iter().map(|v| v["value"].clone()).collect()
}

fn errors(results: Vec<Result<Value, Error>>) -> Vec<String> {
    results
        .into_iter()
        .map(|r| r.map_or_else(|e| e.to_string(), |v| format!("ok {v}")))
        .collect()
}

#[test]
fn python_tokens_decode_and_a_ttl_applies() {
    let all = all();
    let wire = wire(&all, "token_lines_hex");
    let protocol = Fernet::new(JsonValue::new(), key(&all[0])).lines();
    for chunks in [&[usize::MAX][..], &[1], &[7, 40]] {
        assert_eq!(receive_ok(&protocol, &wire, chunks), values(&all));
    }
    // Made in November 2023: a ttl of a century passes, a day does not.
    let century = Fernet::new(JsonValue::new(), key(&all[0]))
        .ttl(100 * 365 * 86_400)
        .lines();
    assert_eq!(receive_ok(&century, &wire, &[9]), values(&all));
    let day = Fernet::new(JsonValue::new(), key(&all[0]))
        .ttl(86_400)
        .lines();
    let (results, end) = receive_all(&day, &wire, &[9]);
    assert!(matches!(end, Error::ConnectionClosed { .. }), "{end}");
    let got = errors(results);
    assert_eq!(got.len(), all.len());
    for message in got {
        assert!(
            message.contains("expired") && message.contains("time to live 86400"),
            "{message}"
        );
    }
}

#[test]
fn another_key_or_an_altered_token_is_a_per_packet_error() {
    let all = all();
    let protocol = Fernet::new(JsonValue::new(), key(&all[0])).lines();
    let good = hex(all[1]["token_lines_hex"].as_str().unwrap());
    let foreign = hex(all[0]["other_key_token_lines_hex"].as_str().unwrap());
    let mut altered = hex(all[2]["token_lines_hex"].as_str().unwrap());
    altered[20] = if altered[20] == b'A' { b'B' } else { b'A' };
    let wire = [&foreign[..], &altered, &good].concat();
    let (results, end) = receive_all(&protocol, &wire, &[usize::MAX]);
    assert!(matches!(end, Error::ConnectionClosed { .. }), "{end}");
    let got = errors(results);
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got[0].contains("another key"), "{got:?}");
    assert!(got[1].contains("another key, or altered"), "{got:?}");
    assert_eq!(got[2], format!("ok {}", all[1]["value"]));
}

#[test]
fn our_tokens_have_the_fernet_layout_and_decode_back() {
    let all = all();
    let protocol = Fernet::new(JsonValue::new(), key(&all[0])).lines();
    let values = values(&all);
    let wire = send_all(&protocol, &values);
    let lines: Vec<&[u8]> = wire
        .split_inclusive(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r\n").expect("CRLF lines"))
        .collect();
    assert_eq!(lines.len(), values.len());
    for (line, vector) in lines.iter().zip(&all) {
        // URL-safe base64 with padding, as Python writes it.
        assert_eq!(line.len() % 4, 0);
        let token = ::base64::engine::general_purpose::URL_SAFE
            .decode(line)
            .unwrap();
        let json = hex(vector["json_hex"].as_str().unwrap()).len();
        assert_eq!(token[0], 0x80, "version");
        let timestamp = u64::from_be_bytes(token[1..9].try_into().unwrap());
        assert!(timestamp > vector["timestamp"].as_u64().unwrap());
        // Version, timestamp, IV, PKCS#7-padded AES blocks, HMAC-SHA256.
        assert_eq!(token.len(), 1 + 8 + 16 + (json / 16 + 1) * 16 + 32);
    }
    // Two encryptions of one packet differ (a fresh IV each).
    assert_ne!(
        send_all(&protocol, &values[..1]),
        send_all(&protocol, &values[..1])
    );
    let fresh = Fernet::new(JsonValue::new(), key(&all[0]))
        .ttl(86_400)
        .lines();
    assert_eq!(receive_ok(&fresh, &wire, &[5]), values);
}
