//! Properties of the feature-gated serializers and wrappers (JSON, CBOR,
//! MessagePack, base64, zlib, gzip), through a real endpoint: encode then
//! decode is identity under any chunking; corrupt frames are per-packet
//! errors, never panics, and the following packets still arrive.
#![cfg(any(
    feature = "json",
    feature = "cbor",
    feature = "msgpack",
    feature = "base64",
    feature = "compression"
))]
#![allow(unused_imports, dead_code)]

mod serializer_common;

use bytes::{Bytes, BytesMut};
use netproto_core::StreamProtocol;
use netproto_core::framing::{Framer, LengthPrefix};
use netproto_core::serializer::{BytesSerializer, Serializer};
use proptest::prelude::*;
use serializer_common::{receive_all, receive_ok, send_all};

fn chunks() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..64, 1..8)
}

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(48)
}

/// Encode with `s`, decode with `s`: identity.
fn direct<S: Serializer>(s: &S, value: &S::Sent) -> S::Received {
    let mut dst = BytesMut::new();
    s.serialize(value, &mut dst).expect("encodes");
    s.deserialize(dst.freeze()).expect("decodes")
}

/// Flip bits of an encoding and check that decoding does not panic.
fn mutate<S: Serializer>(s: &S, value: &S::Sent, flips: &[(usize, u8)], cut: usize) {
    let mut dst = BytesMut::new();
    s.serialize(value, &mut dst).expect("encodes");
    let mut frame = dst.to_vec();
    for &(at, mask) in flips {
        if !frame.is_empty() {
            let i = at % frame.len();
            frame[i] ^= mask;
        }
    }
    frame.truncate(frame.len().saturating_sub(cut));
    let _ = s.deserialize(Bytes::from(frame));
}

/// `payload` as one frame of `framer` (for injecting corrupt frames).
fn framed(framer: &LengthPrefix, payload: &[u8]) -> Vec<u8> {
    let mut dst = BytesMut::new();
    framer.encode(payload, &mut dst).expect("frame fits");
    dst.to_vec()
}

fn flips() -> impl Strategy<Value = Vec<(usize, u8)>> {
    prop::collection::vec((any::<usize>(), 1u8..), 0..4)
}

#[cfg(feature = "json")]
mod json {
    use super::*;
    use netproto_core::serializer::{Json, JsonValue};
    use serde::{Deserialize, Serialize};
    use serde_json::Value;

    pub fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            any::<String>().prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                prop::collection::btree_map(any::<String>(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
    enum Shape {
        Circle { r: f32 },
        Polygon(Vec<(i16, i16)>),
        Empty,
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
    pub struct Typed {
        name: String,
        data: Vec<u8>,
        maybe: Option<i32>,
        shape: Shape,
        big: u64,
    }

    pub fn typed() -> impl Strategy<Value = Typed> {
        let shape = prop_oneof![
            any::<f32>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|r| Shape::Circle { r }),
            prop::collection::vec(any::<(i16, i16)>(), 0..4).prop_map(Shape::Polygon),
            Just(Shape::Empty),
        ];
        (
            any::<String>(),
            prop::collection::vec(any::<u8>(), 0..16),
            any::<Option<i32>>(),
            shape,
            any::<u64>(),
        )
            .prop_map(|(name, data, maybe, shape, big)| Typed {
                name,
                data,
                maybe,
                shape,
                big,
            })
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn json_lines_round_trip(
            values in prop::collection::vec(value(), 0..6),
            ascii in any::<bool>(),
            chunks in chunks(),
        ) {
            let protocol = JsonValue::new().ensure_ascii(ascii).lines();
            let wire = send_all(&protocol, &values);
            if ascii {
                prop_assert!(wire.is_ascii());
            }
            prop_assert_eq!(receive_ok(&protocol, &wire, &chunks), values);
        }

        #[test]
        fn typed_json_round_trips(values in prop::collection::vec(typed(), 0..6), chunks in chunks()) {
            let protocol = Json::<Typed>::new().lines();
            let wire = send_all(&protocol, &values);
            prop_assert_eq!(receive_ok(&protocol, &wire, &chunks), values);
        }

        #[test]
        fn corrupt_json_lines_are_per_packet_errors(
            good in value(),
            garbage in "[^\n]{0,30}",
            chunks in chunks(),
        ) {
            let protocol = JsonValue::new().lines();
            let mut wire = garbage.clone().into_bytes();
            wire.push(b'\n');
            wire.extend(send_all(&protocol, [&good]));
            let (results, _) = receive_all(&protocol, &wire, &chunks);
            prop_assert_eq!(results.len(), 2);
            if let Err(e) = &results[0] {
                prop_assert!(e.is_recoverable());
            }
            prop_assert_eq!(results[1].as_ref().unwrap(), &good);
        }

        #[test]
        fn mutated_json_never_panics(v in value(), flips in flips(), cut in 0usize..4) {
            mutate(&JsonValue::new(), &v, &flips, cut);
            mutate(&Json::<Value, Typed>::new(), &v, &flips, cut);
        }
    }
}

#[cfg(feature = "cbor")]
mod cbor {
    use super::*;
    use ciborium::Value;
    use netproto_core::serializer::{Cbor, CborValue};

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|i| Value::Integer(i.into())),
            any::<u64>().prop_map(|i| Value::Integer(i.into())),
            any::<f64>()
                .prop_filter("not NaN", |f| !f.is_nan())
                .prop_map(Value::Float),
            any::<String>().prop_map(Value::Text),
            prop::collection::vec(any::<u8>(), 0..16).prop_map(Value::Bytes),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((inner.clone(), inner), 0..4).prop_map(Value::Map),
            ]
        })
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn cbor_round_trips(v in value(), flips in flips(), cut in 0usize..4) {
            prop_assert_eq!(direct(&CborValue::new(), &v), v.clone());
            mutate(&CborValue::new(), &v, &flips, cut);
        }

        #[test]
        fn cbor_over_a_length_prefix_round_trips(
            values in prop::collection::vec(value(), 0..5),
            chunks in chunks(),
        ) {
            let protocol = StreamProtocol::new(LengthPrefix::u32_be(), CborValue::new());
            let wire = send_all(&protocol, &values);
            prop_assert_eq!(receive_ok(&protocol, &wire, &chunks), values);
        }

        #[test]
        fn corrupt_cbor_is_a_per_packet_error(
            good in value(),
            garbage in prop::collection::vec(any::<u8>(), 0..16),
            chunks in chunks(),
        ) {
            let protocol = StreamProtocol::new(LengthPrefix::u16_be(), CborValue::new());
            let mut wire = framed(&LengthPrefix::u16_be(), &garbage);
            wire.extend(send_all(&protocol, [&good]));
            let (results, _) = receive_all(&protocol, &wire, &chunks);
            prop_assert_eq!(results.len(), 2);
            prop_assert_eq!(results[1].as_ref().unwrap(), &good);
        }

        #[test]
        fn arbitrary_frames_never_panic(frame in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = CborValue::new().deserialize(Bytes::from(frame.clone()));
            let _ = Cbor::<serde_json::Value>::new().deserialize(Bytes::from(frame));
        }
    }

    #[cfg(feature = "base64")]
    proptest! {
        #![proptest_config(config())]

        #[test]
        fn cbor_in_base64_lines_round_trips(values in prop::collection::vec(value(), 0..5), chunks in chunks()) {
            let protocol = netproto_core::serializer::Base64::new(CborValue::new()).lines();
            let wire = send_all(&protocol, &values);
            prop_assert_eq!(receive_ok(&protocol, &wire, &chunks), values);
        }
    }
}

#[cfg(feature = "msgpack")]
mod msgpack {
    use super::*;
    use netproto_core::serializer::{MsgPack, MsgPackValue};
    use rmpv::Value;

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Nil),
            any::<bool>().prop_map(Value::Boolean),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("not NaN", |f| !f.is_nan())
                .prop_map(Value::F64),
            any::<f32>()
                .prop_filter("not NaN", |f| !f.is_nan())
                .prop_map(Value::F32),
            any::<String>().prop_map(Value::from),
            prop::collection::vec(any::<u8>(), 0..16).prop_map(Value::Binary),
            (any::<i8>(), prop::collection::vec(any::<u8>(), 0..9))
                .prop_map(|(t, d)| Value::Ext(t, d)),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((inner.clone(), inner), 0..4).prop_map(Value::Map),
            ]
        })
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn msgpack_round_trips(v in value(), flips in flips(), cut in 0usize..4) {
            prop_assert_eq!(direct(&MsgPackValue::new(), &v), v.clone());
            mutate(&MsgPackValue::new(), &v, &flips, cut);
        }

        #[test]
        fn msgpack_over_a_length_prefix_round_trips(
            values in prop::collection::vec(value(), 0..5),
            chunks in chunks(),
        ) {
            let protocol = StreamProtocol::new(LengthPrefix::varint(), MsgPackValue::new());
            let wire = send_all(&protocol, &values);
            prop_assert_eq!(receive_ok(&protocol, &wire, &chunks), values);
        }

        #[test]
        fn corrupt_msgpack_is_a_per_packet_error(
            good in value(),
            garbage in prop::collection::vec(any::<u8>(), 0..16),
            chunks in chunks(),
        ) {
            let protocol = StreamProtocol::new(LengthPrefix::u32_le(), MsgPackValue::new());
            let mut wire = framed(&LengthPrefix::u32_le(), &garbage);
            wire.extend(send_all(&protocol, [&good]));
            let (results, _) = receive_all(&protocol, &wire, &chunks);
            prop_assert_eq!(results.len(), 2);
            prop_assert_eq!(results[1].as_ref().unwrap(), &good);
        }

        #[test]
        fn arbitrary_frames_never_panic(frame in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = MsgPackValue::new().deserialize(Bytes::from(frame.clone()));
            let _ = MsgPack::<serde_json::Value>::new().deserialize(Bytes::from(frame));
        }
    }

    #[cfg(feature = "base64")]
    proptest! {
        #![proptest_config(config())]

        #[test]
        fn msgpack_in_base64_lines_round_trips(values in prop::collection::vec(value(), 0..5), chunks in chunks()) {
            let protocol = netproto_core::serializer::Base64::standard(MsgPackValue::new()).lines();
            let wire = send_all(&protocol, &values);
            prop_assert_eq!(receive_ok(&protocol, &wire, &chunks), values);
        }
    }
}

#[cfg(feature = "base64")]
mod base64 {
    use super::*;
    use netproto_core::serializer::{Alphabet, Base64};

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn base64_lines_round_trip(
            packets in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..6),
            url_safe in any::<bool>(),
            chunks in chunks(),
        ) {
            let alphabet = if url_safe { Alphabet::UrlSafe } else { Alphabet::Standard };
            let protocol = Base64::new(BytesSerializer).alphabet(alphabet).lines();
            let wire = send_all(&protocol, packets.iter().map(Vec::as_slice));
            let got: Vec<Vec<u8>> = receive_ok(&protocol, &wire, &chunks).into_iter().map(|b| b.to_vec()).collect();
            prop_assert_eq!(got, packets);
        }

        #[test]
        fn corrupt_base64_is_a_per_packet_error(
            garbage in "[^\r\n]{0,20}",
            good in prop::collection::vec(any::<u8>(), 1..20),
            chunks in chunks(),
        ) {
            let protocol = Base64::new(BytesSerializer).lines();
            let mut wire = garbage.into_bytes();
            wire.extend_from_slice(b"\r\n");
            wire.extend(send_all(&protocol, [&good[..]]));
            let (results, _) = receive_all(&protocol, &wire, &chunks);
            prop_assert_eq!(results.len(), 2);
            prop_assert_eq!(&results[1].as_ref().unwrap()[..], &good[..]);
        }
    }
}

#[cfg(feature = "compression")]
mod compression {
    use super::*;
    use netproto_core::serializer::{Gzip, Zlib};

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn zlib_and_gzip_round_trip(
            data in prop::collection::vec(prop::sample::select(vec![0u8, 1, b'a', 255]), 0..2000),
            level in 0u32..10,
            flips in flips(),
            cut in 0usize..6,
        ) {
            let zlib = Zlib::new(BytesSerializer).level(level);
            prop_assert_eq!(&direct(&zlib, &data)[..], &data[..]);
            mutate(&zlib, &data, &flips, cut);
            let gzip = Gzip::new(BytesSerializer).level(level);
            prop_assert_eq!(&direct(&gzip, &data)[..], &data[..]);
            mutate(&gzip, &data, &flips, cut);
        }

        #[test]
        fn limits_hold_for_any_size(len in 0usize..5000, limit in 0usize..5000) {
            let data = vec![b'x'; len];
            for gzip in [false, true] {
                let mut dst = BytesMut::new();
                let decoded = if gzip {
                    let s = Gzip::new(BytesSerializer).max_decompressed_length(limit);
                    s.serialize(&data, &mut dst).unwrap();
                    s.deserialize(dst.freeze())
                } else {
                    let s = Zlib::new(BytesSerializer).max_decompressed_length(limit);
                    s.serialize(&data, &mut dst).unwrap();
                    s.deserialize(dst.freeze())
                };
                prop_assert_eq!(decoded.is_ok(), len <= limit);
            }
        }

        #[test]
        fn compressed_packets_over_a_length_prefix(
            packets in prop::collection::vec(prop::collection::vec(0u8..4, 0..300), 0..5),
            garbage in prop::collection::vec(any::<u8>(), 0..16),
            chunks in chunks(),
        ) {
            let zlib = Zlib::new(BytesSerializer).protocol(LengthPrefix::u32_be());
            let gzip = Gzip::new(BytesSerializer).protocol(LengthPrefix::u32_be());
            let mut wire = send_all(&zlib, packets.iter().map(Vec::as_slice));
            wire.extend(framed(&LengthPrefix::u32_be(), &garbage));
            wire.extend(send_all(&gzip, packets.iter().map(Vec::as_slice)));
            let (results, _) = receive_all(&zlib, &wire, &chunks);
            prop_assert_eq!(results.len(), 2 * packets.len() + 1);
            prop_assert!(results[packets.len()].is_err());
            for (got, sent) in results.iter().zip(&packets) {
                prop_assert_eq!(&got.as_ref().unwrap()[..], &sent[..]);
            }
            let (results, _) = receive_all(&gzip, &wire, &chunks);
            for (got, sent) in results[packets.len() + 1..].iter().zip(&packets) {
                prop_assert_eq!(&got.as_ref().unwrap()[..], &sent[..]);
            }
        }

        #[test]
        fn arbitrary_frames_never_panic(frame in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = Zlib::new(BytesSerializer).deserialize(Bytes::from(frame.clone()));
            let _ = Gzip::new(BytesSerializer).deserialize(Bytes::from(frame));
        }
    }

    #[cfg(all(feature = "base64", feature = "json"))]
    proptest! {
        #![proptest_config(config())]

        #[test]
        fn base64_gzip_json_lines_round_trip(
            values in prop::collection::vec(super::json::value(), 0..4),
            chunks in chunks(),
        ) {
            use netproto_core::serializer::{Base64, JsonValue};
            let protocol = Base64::new(Gzip::new(JsonValue::new())).lines();
            let wire = send_all(&protocol, &values);
            prop_assert_eq!(receive_ok(&protocol, &wire, &chunks), values);
        }
    }
}
