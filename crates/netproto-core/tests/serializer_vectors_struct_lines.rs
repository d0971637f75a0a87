//! EasyNetwork 1.2 wire vectors for string lines (`StringLineSerializer`),
//! `StructSerializer`, and ctypes structures (lsst.ts.tcpip), decoded and
//! re-encoded by netproto. Produced by `tests/vectors/generate.py`.

mod serializer_common;

use bytes::Bytes;
use netproto_core::StreamProtocol;
use netproto_core::binary_struct;
use netproto_core::framing::{Delimiter, FixedSize};
use netproto_core::serializer::{
    Ascii, FixedStruct, Latin1, Serializer, StructFormat, StructValue, Utf8,
};
use serde_json::Value;
use serializer_common::{hex, named, receive_ok, send_all, vectors};

fn delimiter(newline: &str) -> Delimiter {
    match newline {
        "LF" => Delimiter::lf(),
        "CR" => Delimiter::cr(),
        "CRLF" => Delimiter::crlf(),
        other => panic!("unknown newline {other}"),
    }
}

/// netproto's default lines: an empty packet is an empty line.
fn line_protocol(newline: &str) -> StreamProtocol<Delimiter, Utf8> {
    StreamProtocol::new(delimiter(newline), Utf8)
}

/// EasyNetwork's lines: an empty packet sends nothing.
fn text_lines<S: Serializer>(newline: &str, serializer: S) -> StreamProtocol<Delimiter, S> {
    StreamProtocol::new(delimiter(newline).skip_empty_frames(true), serializer)
}

/// Receive `vector` in several chunkings and, unless it is receive-only,
/// send its packets: the same bytes as EasyNetwork.
fn check_lines<S>(vector: &Value, serializer: S)
where
    S: Serializer<Sent = str, Received = String>,
{
    let protocol = text_lines(vector["newline"].as_str().unwrap(), serializer);
    let wire = hex(vector["wire_hex"].as_str().unwrap());
    let expected = packets(vector);
    for chunks in [&[usize::MAX][..], &[1], &[3, 1, 7]] {
        assert_eq!(
            receive_ok(&protocol, &wire, chunks),
            expected,
            "{}",
            vector["name"]
        );
    }
    if vector["receive_only"] != true {
        let sent = send_all(&protocol, expected.iter().map(String::as_str));
        assert_eq!(sent, wire, "{}", vector["name"]);
    }
}

fn packets(vector: &Value) -> Vec<String> {
    vector["packets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn string_lines_match_byte_for_byte() {
    let all = vectors("easynetwork_string_lines.json");
    let mut checked = 0;
    for vector in &all {
        let name = vector["name"].as_str().unwrap();
        if name.starts_with("ascii_") || name == "received_empty_line" {
            check_lines(vector, Ascii);
            // ASCII text is UTF-8 text too.
            check_lines(vector, Utf8);
        } else if name.starts_with("utf8_") {
            check_lines(vector, Utf8);
        } else if name.starts_with("latin1_") {
            check_lines(vector, Latin1);
        } else {
            continue;
        }
        checked += 1;
    }
    assert_eq!(checked, 6);
}

#[test]
fn strict_ascii_and_latin1_refuse_what_easynetwork_refuses() {
    let all = vectors("easynetwork_text_refused.json");
    let mut checked = 0;
    for vector in &all {
        let encoding = vector["encoding"].as_str().unwrap();
        let python = vector["python_error"].as_str().unwrap();
        let mut dst = bytes::BytesMut::new();
        if let Some(packet) = vector["send"].as_str() {
            let refused = match encoding {
                "ascii" => Ascii.serialize(packet, &mut dst).is_err(),
                "latin-1" => Latin1.serialize(packet, &mut dst).is_err(),
                other => panic!("{other}"),
            };
            assert!(
                refused && dst.is_empty(),
                "{encoding} sent {packet:?} ({python})"
            );
        } else {
            assert_eq!(encoding, "ascii");
            let frame = Bytes::from(hex(vector["receive_hex"].as_str().unwrap()));
            let err = Ascii.deserialize(frame.clone()).unwrap_err();
            assert_eq!(err.frame, frame);
            // Python: "can't decode byte 0xc3 in position 3"; netproto:
            // "byte 0xc3 at offset 3".
            let (byte, position) = python
                .split_once("byte ")
                .and_then(|(_, rest)| rest.split_once(" in position "))
                .unwrap();
            let position = position.split(':').next().unwrap();
            let expected = format!("byte {byte} at offset {position} is not ASCII");
            assert!(err.to_string().contains(&expected), "{err} / {python}");
            // Latin-1 reads every byte.
            assert!(Latin1.deserialize(frame).is_ok());
        }
        checked += 1;
    }
    assert_eq!(checked, 9);
}

#[test]
fn string_line_quirks_are_documented_differences() {
    let all = vectors("easynetwork_string_lines.json");
    let protocol = line_protocol("LF");

    // EasyNetwork sends nothing for "", netproto sends an empty line by
    // default; both read each other's streams.
    let quirk = named(&all, "quirk_empty_packet");
    let wire = hex(quirk["wire_hex"].as_str().unwrap());
    assert_eq!(wire, b"a\nb\n");
    assert_eq!(receive_ok(&protocol, &wire, &[2]), ["a", "b"]);
    assert_eq!(send_all(&protocol, ["a", "", "b"]), b"a\n\nb\n");
    // With skip_empty_frames, netproto sends what EasyNetwork sends.
    let skipping = StreamProtocol::new(Delimiter::lf().skip_empty_frames(true), Utf8);
    assert_eq!(send_all(&skipping, ["a", "", "b"]), wire);

    // EasyNetwork passes a line that already ends with the separator
    // through; netproto refuses a packet containing its delimiter.
    let quirk = named(&all, "quirk_trailing_separator");
    assert_eq!(hex(quirk["wire_hex"].as_str().unwrap()), b"a\n");
    let mut dst = bytes::BytesMut::new();
    use netproto_core::protocol::Protocol;
    assert!(protocol.encode("a\n", &mut dst).is_err());
}

fn struct_value(v: &Value) -> StructValue {
    match v {
        Value::Bool(b) => StructValue::Bool(*b),
        Value::Number(n) if n.is_i64() => StructValue::Int(n.as_i64().unwrap()),
        Value::Number(n) if n.is_u64() => StructValue::UInt(n.as_u64().unwrap()),
        Value::Number(n) => StructValue::Float(n.as_f64().unwrap()),
        Value::Object(o) if o.contains_key("bytes") => {
            StructValue::Bytes(Bytes::from(hex(o["bytes"].as_str().unwrap())))
        }
        Value::Object(o) => StructValue::Float(match o["float"].as_str().unwrap() {
            "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            _ => f64::NAN,
        }),
        other => panic!("unexpected struct value {other}"),
    }
}

/// Python unpacks unsigned codes to ints that JSON cannot tell apart from
/// signed ones: compare numerically.
fn same(a: &StructValue, b: &StructValue) -> bool {
    use StructValue::*;
    match (a, b) {
        (Int(x), UInt(y)) | (UInt(y), Int(x)) => i128::from(*x) == i128::from(*y),
        (Float(x), Float(y)) => x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
        _ => a == b,
    }
}

fn native_matches(vector: &Value) -> bool {
    let Some(native) = vector.get("native") else {
        return true;
    };
    let order = if cfg!(target_endian = "little") {
        "0100"
    } else {
        "0001"
    };
    native["byteorder"] == order
        && native["long"] == std::mem::size_of::<std::ffi::c_long>()
        && native["pointer"] == std::mem::size_of::<usize>()
}

#[test]
fn struct_format_matches_byte_for_byte() {
    let all = vectors("easynetwork_struct.json");
    let mut checked = 0;
    for vector in all.iter().filter(|v| native_matches(v)) {
        let name = vector["name"].as_str().unwrap();
        let format = StructFormat::new(vector["format"].as_str().unwrap()).unwrap();
        assert_eq!(format.format(), vector["normalized_format"], "{name}");
        assert_eq!(
            format.size() as u64,
            vector["size"].as_u64().unwrap(),
            "{name}"
        );
        let wire = hex(vector["wire_hex"].as_str().unwrap());
        let values_in: Vec<StructValue> = vector["values_in"]
            .as_array()
            .unwrap()
            .iter()
            .map(struct_value)
            .collect();
        let values_out: Vec<StructValue> = vector["values_out"]
            .as_array()
            .unwrap()
            .iter()
            .map(struct_value)
            .collect();

        let protocol = format.clone().protocol();
        assert_eq!(send_all(&protocol, [&values_in[..]]), wire, "{name}");
        let got = receive_ok(&protocol, &wire, &[1]);
        assert_eq!(got.len(), 1);
        assert!(
            got[0].len() == values_out.len()
                && got[0].iter().zip(&values_out).all(|(a, b)| same(a, b)),
            "{name}: {:?} != {values_out:?}",
            got[0]
        );
        // What netproto decoded re-encodes to the same bytes.
        assert_eq!(send_all(&protocol, [&got[0][..]]), wire, "{name}");
        checked += 1;
    }
    assert!(checked >= 14, "only {checked} struct vectors checked");
}

#[test]
fn struct_stream_of_many_packets_and_a_wrong_size_frame() {
    let all = vectors("easynetwork_struct.json");
    let vector = named(&all, "telemetry_big");
    let one = hex(vector["wire_hex"].as_str().unwrap());
    let wire: Vec<u8> = one.iter().chain(&one).chain(&one).copied().collect();
    let protocol = StructFormat::new(">d3q").unwrap().protocol();
    assert_eq!(receive_ok(&protocol, &wire, &[5, 11]).len(), 3);

    // A frame of another size (a framer other than FixedSize) is an error
    // for that packet only.
    let protocol = StreamProtocol::new(Delimiter::lf(), StructFormat::new(">d3q").unwrap());
    let (results, _) = serializer_common::receive_all(&protocol, b"short\nalso short\n", &[4]);
    assert_eq!(results.len(), 2);
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().is_err_and(|e| e.is_recoverable()))
    );
}

binary_struct! {
    /// lsst.ts.tcpip's example structure, as ctypes lays it out little-endian.
    #[derive(Debug, PartialEq)]
    struct TelemetryLittle (little_endian) {
        a_double: f64,
        three_ints: [i64; 3],
    }
}

binary_struct! {
    #[derive(Debug, PartialEq)]
    struct TelemetryBig (big_endian) {
        a_double: f64,
        three_ints: [i64; 3],
    }
}

fn three_ints(vector: &Value) -> [i64; 3] {
    let v: Vec<i64> = vector["three_ints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_i64().unwrap())
        .collect();
    v.try_into().unwrap()
}

#[test]
fn binary_struct_matches_ctypes_structures() {
    let all = vectors("ctypes_struct.json");
    let little = named(&all, "telemetry_little");
    let wire = hex(little["wire_hex"].as_str().unwrap());
    let value = TelemetryLittle {
        a_double: little["a_double"].as_f64().unwrap(),
        three_ints: three_ints(little),
    };
    let protocol = FixedStruct::<TelemetryLittle>::new().protocol();
    assert_eq!(send_all(&protocol, [&value]), wire);
    assert_eq!(receive_ok(&protocol, &wire, &[3]), [value]);

    let big = named(&all, "telemetry_big");
    let wire = hex(big["wire_hex"].as_str().unwrap());
    let value = TelemetryBig {
        a_double: big["a_double"].as_f64().unwrap(),
        three_ints: three_ints(big),
    };
    let protocol = StreamProtocol::new(FixedSize::new(32), FixedStruct::<TelemetryBig>::new());
    assert_eq!(send_all(&protocol, [&value]), wire);
    assert_eq!(receive_ok(&protocol, &wire, &[7]), [value]);

    // The same bytes through EasyNetwork's StructSerializer format.
    let format = StructFormat::new(">d3q").unwrap();
    let values = receive_ok(&format.protocol(), &wire, &[32]);
    assert_eq!(values[0][0], StructValue::Float(-0.125));
    assert_eq!(values[0][3], StructValue::Int(1 << 40));
}
