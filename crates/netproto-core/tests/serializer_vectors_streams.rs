//! EasyNetwork 1.2 bare streams: `StreamProtocol(MessagePackSerializer())`
//! and `StreamProtocol(CBORSerializer())` write items back to back with no
//! separator. Produced by `tests/vectors/generate.py`, which also checks
//! that EasyNetwork reads each stream back.
//!
//! Each stream is cut in two at every offset and received through an
//! endpoint; the framer alone must cut it into EasyNetwork's items; and
//! netproto must send the same bytes (CBOR: except float widths; zlib:
//! except deflate block choices). Bare zlib and bzip2 streams of JSON
//! (`ZlibCompressorSerializer`, `BZ2CompressorSerializer`) likewise.
#![cfg(any(
    feature = "cbor",
    feature = "msgpack",
    all(feature = "json", any(feature = "compression", feature = "bzip2"))
))]

mod serializer_common;

use bytes::BytesMut;
use netproto_core::framing::{FrameDecoder, Framer};
use netproto_core::protocol::Protocol;
use serde_json::Value;
use serializer_common::{hex, receive_ok, send_all, vectors};

fn streams() -> Vec<Value> {
    vectors("easynetwork_streams.json")
}

fn packets(vector: &Value) -> &Vec<Value> {
    vector["packets"].as_array().unwrap()
}

fn items(vector: &Value, key: &str) -> Vec<Vec<u8>> {
    vector[format!("{key}_items_hex")]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| hex(item.as_str().unwrap()))
        .collect()
}

/// The framer cuts `wire`, split in two at `cut`, into `items`.
fn check_cut<F: Framer>(framer: &F, wire: &[u8], cut: usize, items: &[Vec<u8>]) {
    let mut decoder = framer.decoder();
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for part in [&wire[..cut], &wire[cut..]] {
        buf.extend_from_slice(part);
        while let Some(frame) = decoder.next_frame(&mut buf).unwrap() {
            frames.push(frame.to_vec());
        }
    }
    assert_eq!(decoder.decode_eof(&mut buf).unwrap(), None);
    assert_eq!(frames, items, "cut at {cut}");
}

/// Receive `wire` cut at every offset through `protocol`, and check the
/// framer alone yields EasyNetwork's items.
fn check_stream<P, F>(protocol: &P, framer: &F, vector: &Value, key: &str)
where
    P: Protocol<Received = Value>,
    F: Framer,
{
    let name = vector["name"].as_str().unwrap();
    let wire = hex(vector[format!("{key}_stream_hex")].as_str().unwrap());
    let items = items(vector, key);
    assert_eq!(items.concat(), wire, "{name}: the stream is its items");
    for cut in 0..=wire.len() {
        check_cut(framer, &wire, cut, &items);
        let received = receive_ok(protocol, &wire, &[cut.max(1), wire.len()]);
        assert_eq!(&received, packets(vector), "{name}, cut at {cut}");
    }
}

#[cfg(feature = "msgpack")]
#[test]
fn msgpack_streams_decode_cut_anywhere_and_encode_byte_for_byte() {
    use netproto_core::framing::MsgPackItem;
    use netproto_core::serializer::MsgPack;
    let protocol = MsgPack::<Value>::new().stream();
    for vector in streams() {
        check_stream(&protocol, &MsgPackItem::new(), &vector, "msgpack");
        let wire = hex(vector["msgpack_stream_hex"].as_str().unwrap());
        assert_eq!(
            send_all(&protocol, packets(&vector)),
            wire,
            "{}",
            vector["name"]
        );
    }
}

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
fn cbor_streams_decode_cut_anywhere_and_encode_byte_for_byte_but_floats() {
    use netproto_core::framing::CborItem;
    use netproto_core::serializer::Cbor;
    let protocol = Cbor::<Value>::new().stream();
    let mut exact = 0;
    for vector in streams() {
        check_stream(&protocol, &CborItem::new(), &vector, "cbor");
        for (packet, item) in packets(&vector).iter().zip(items(&vector, "cbor")) {
            let ours = send_all(&protocol, [packet]);
            if has_float(packet) {
                // cbor2 always writes float64; ciborium the shortest width.
                let back = receive_ok(&protocol, &ours, &[ours.len()]);
                assert_eq!(&back, std::slice::from_ref(packet));
            } else {
                assert_eq!(ours, item, "{packet}");
                exact += 1;
            }
        }
    }
    assert!(exact >= 20, "{exact} packets compared byte for byte");
}

#[cfg(all(feature = "compression", feature = "json"))]
#[test]
fn zlib_json_streams_decode_cut_anywhere() {
    use netproto_core::framing::ZlibStream;
    use netproto_core::serializer::{JsonValue, Zlib};
    let protocol = Zlib::new(JsonValue::new()).protocol(ZlibStream::new());
    for vector in streams() {
        check_stream(&protocol, &ZlibStream::new(), &vector, "zlib_json");
        // miniz_oxide may choose other deflate blocks than C zlib: what
        // netproto sends is checked to read back, not to match.
        let ours = send_all(&protocol, packets(&vector));
        let back = receive_ok(&protocol, &ours, &[5]);
        assert_eq!(&back, packets(&vector));
    }
}

#[cfg(all(feature = "bzip2", feature = "json"))]
#[test]
fn bz2_json_streams_decode_cut_anywhere_and_encode_byte_for_byte() {
    use netproto_core::framing::Bz2Stream;
    use netproto_core::serializer::{Bz2, JsonValue};
    let protocol = Bz2::new(JsonValue::new()).protocol(Bz2Stream::new());
    for vector in streams() {
        check_stream(&protocol, &Bz2Stream::new(), &vector, "bz2_json");
        let wire = hex(vector["bz2_json_stream_hex"].as_str().unwrap());
        assert_eq!(
            send_all(&protocol, packets(&vector)),
            wire,
            "{}",
            vector["name"]
        );
    }
}
