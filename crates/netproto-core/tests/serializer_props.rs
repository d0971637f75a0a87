//! Properties of the serializers that need no feature, through a real
//! endpoint: encode then decode is identity under any chunking of the
//! stream; corrupt frames are per-packet errors, never panics, and the
//! following packets still arrive.

mod serializer_common;

use bytes::Bytes;
use netproto_core::StreamProtocol;
use netproto_core::binary_struct;
use netproto_core::framing::Delimiter;
use netproto_core::serializer::{FixedStruct, Serializer, StructFormat, StructValue, Utf8};
use proptest::prelude::*;
use serializer_common::{receive_all, receive_ok, send_all};

fn chunks() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..48, 1..8)
}

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(64)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn utf8_lines_round_trip(
        lines in prop::collection::vec("[^\r\n]{0,40}", 0..12),
        delimiter in prop::sample::select(vec!["LF", "CR", "CRLF"]),
        chunks in chunks(),
    ) {
        let framer = match delimiter {
            "LF" => Delimiter::lf(),
            "CR" => Delimiter::cr(),
            _ => Delimiter::crlf(),
        };
        let protocol = StreamProtocol::new(framer, Utf8);
        let wire = send_all(&protocol, lines.iter().map(String::as_str));
        prop_assert_eq!(receive_ok(&protocol, &wire, &chunks), lines);
    }
}

binary_struct! {
    #[derive(Clone, Debug)]
    struct Sample (little_endian) {
        id: u32,
        flags: [bool; 3],
        position: [f64; 2],
        temperature: f32,
        counters: [i16; 4],
        tag: [u8; 5],
        big: i128,
    }
}

impl PartialEq for Sample {
    fn eq(&self, other: &Self) -> bool {
        // Compare floats by bits so NaN payloads must survive too.
        self.id == other.id
            && self.flags == other.flags
            && self.position.map(f64::to_bits) == other.position.map(f64::to_bits)
            && self.temperature.to_bits() == other.temperature.to_bits()
            && self.counters == other.counters
            && self.tag == other.tag
            && self.big == other.big
    }
}

fn sample() -> impl Strategy<Value = Sample> {
    (
        any::<u32>(),
        any::<[bool; 3]>(),
        any::<[u64; 2]>(),
        any::<u32>(),
        any::<[i16; 4]>(),
        any::<[u8; 5]>(),
        any::<i128>(),
    )
        .prop_map(|(id, flags, pos, temp, counters, tag, big)| Sample {
            id,
            flags,
            position: pos.map(f64::from_bits),
            temperature: f32::from_bits(temp),
            counters,
            tag,
            big,
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fixed_structs_round_trip(samples in prop::collection::vec(sample(), 0..8), chunks in chunks()) {
        let protocol = FixedStruct::<Sample>::new().protocol();
        let wire = send_all(&protocol, &samples);
        prop_assert_eq!(wire.len(), samples.len() * 56);
        prop_assert_eq!(receive_ok(&protocol, &wire, &chunks), samples);
    }

    #[test]
    fn fixed_struct_frames_of_any_size_never_panic(frame in prop::collection::vec(any::<u8>(), 0..120)) {
        let result = FixedStruct::<Sample>::new().deserialize(Bytes::from(frame.clone()));
        prop_assert_eq!(result.is_ok(), frame.len() == 56);
    }
}

/// One field of a random struct format, with a value that fits it.
#[derive(Clone, Debug)]
struct Field {
    code: char,
    count: usize,
    values: Vec<StructValue>,
}

fn field() -> impl Strategy<Value = Field> {
    use StructValue::*;
    let int = |code: char, min: i64, max: i64| {
        (1usize..4).prop_flat_map(move |count| {
            prop::collection::vec((min..=max).prop_map(Int), count).prop_map(move |values| Field {
                code,
                count,
                values,
            })
        })
    };
    let uint = |code: char, max: u64| {
        (1usize..4).prop_flat_map(move |count| {
            prop::collection::vec((0..=max).prop_map(UInt), count).prop_map(move |values| Field {
                code,
                count,
                values,
            })
        })
    };
    prop_oneof![
        int('b', i8::MIN.into(), i8::MAX.into()),
        uint('B', u8::MAX.into()),
        int('h', i16::MIN.into(), i16::MAX.into()),
        uint('H', u16::MAX.into()),
        int('i', i32::MIN.into(), i32::MAX.into()),
        uint('I', u32::MAX.into()),
        int('l', i32::MIN.into(), i32::MAX.into()),
        int('q', i64::MIN, i64::MAX),
        uint('Q', u64::MAX),
        any::<bool>().prop_map(|b| Field {
            code: '?',
            count: 1,
            values: vec![Bool(b)]
        }),
        any::<u8>().prop_map(|b| Field {
            code: 'c',
            count: 1,
            values: vec![vec![b].into()]
        }),
        any::<f64>()
            .prop_filter("not NaN", |f| !f.is_nan())
            .prop_map(|f| Field {
                code: 'd',
                count: 1,
                values: vec![Float(f)]
            }),
        any::<f32>()
            .prop_filter("not NaN", |f| !f.is_nan())
            .prop_map(|f| Field {
                code: 'f',
                count: 1,
                values: vec![Float(f.into())]
            }),
        (0u16..0x7c00, any::<bool>()).prop_map(|(bits, negative)| {
            let magnitude = if bits >= 0x400 {
                (1024.0 + f64::from(bits & 0x3ff)) * 2f64.powi(i32::from(bits >> 10) - 25)
            } else {
                f64::from(bits) * 2f64.powi(-24)
            };
            let value = if negative { -magnitude } else { magnitude };
            Field {
                code: 'e',
                count: 1,
                values: vec![Float(value)],
            }
        }),
        (0usize..6).prop_flat_map(|count| prop::collection::vec(any::<u8>(), count).prop_map(
            move |data| Field {
                code: 's',
                count,
                values: vec![data.into()]
            }
        )),
        (1usize..6).prop_flat_map(
            |count| prop::collection::vec(any::<u8>(), 0..count).prop_map(move |data| Field {
                code: 'p',
                count,
                values: vec![data.into()]
            })
        ),
        (1usize..4).prop_map(|count| Field {
            code: 'x',
            count,
            values: vec![]
        }),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn struct_formats_round_trip(
        order in prop::sample::select(vec!["", "!", ">", "<", "=", "@"]),
        fields in prop::collection::vec(field(), 1..6),
        packets in 1usize..4,
        chunks in chunks(),
    ) {
        let mut format = order.to_owned();
        for f in &fields {
            format.push_str(&format!("{}{}", f.count, f.code));
        }
        let values: Vec<StructValue> = fields.iter().flat_map(|f| f.values.clone()).collect();
        // A format of zero bytes (such as "0s") is refused by design: a
        // zero-size frame cannot be framed.
        prop_assume!(fields.iter().any(|f| f.code != 's' || f.count > 0));
        let s = StructFormat::new(&format).unwrap();
        prop_assert_eq!(s.value_count(), values.len());
        let protocol = s.protocol();
        let wire = send_all(&protocol, std::iter::repeat_n(&values[..], packets));
        let received = receive_ok(&protocol, &wire, &chunks);
        prop_assert_eq!(received.len(), packets);
        for got in received {
            let same = got.iter().zip(&values).all(|(a, b)| match (a, b) {
                (StructValue::Float(x), StructValue::Float(y)) => x.to_bits() == y.to_bits(),
                _ => a == b,
            });
            prop_assert!(same && got.len() == values.len(), "{:?} != {:?}", got, values);
        }
    }

    #[test]
    fn struct_format_frames_never_panic(
        format in prop::sample::select(vec!["!d3q", "<5p2x?", "@bqcl", ">e3sH"]),
        frame in prop::collection::vec(any::<u8>(), 0..40),
    ) {
        let s = StructFormat::new(format).unwrap();
        let ok = s.deserialize(Bytes::from(frame.clone())).is_ok();
        prop_assert_eq!(ok, frame.len() == s.size());
    }

    #[test]
    fn a_bad_frame_between_good_ones_is_one_error(
        before in prop::collection::vec("[a-z]{1,8}", 0..4),
        after in prop::collection::vec("[a-z]{1,8}", 1..4),
        chunks in chunks(),
    ) {
        let protocol = StreamProtocol::new(Delimiter::lf(), Utf8);
        let mut wire = send_all(&protocol, before.iter().map(String::as_str));
        wire.extend_from_slice(b"\xff\xfe not utf-8\n");
        wire.extend(send_all(&protocol, after.iter().map(String::as_str)));
        let (results, _) = receive_all(&protocol, &wire, &chunks);
        prop_assert_eq!(results.len(), before.len() + 1 + after.len());
        prop_assert!(results[before.len()].as_ref().is_err_and(|e| e.is_recoverable()));
        let tail: Vec<String> = results[before.len() + 1..].iter().map(|r| r.as_ref().unwrap().clone()).collect();
        prop_assert_eq!(tail, after);
    }
}
