//! Write the committed seed corpus, `fuzz/seeds/<target>/`: valid frames
//! of each kind (and a few typical errors), in each target's input layout.
//!
//! ```text
//! cargo run --manifest-path fuzz/Cargo.toml --no-default-features --bin make_seeds
//! ```
//!
//! `cargo xtask fuzz` copies these into the working corpus before a run.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::Path;

use bytes::{Bytes, BytesMut};
use netproto_core::framing::{Framer, JsonDocument, LengthPrefix, LengthWidth};
use netproto_core::serializer::{
    Base64, BytesSerializer, Bz2, Cbor, CborValue, Checksum, Fernet, FernetKey, Gzip, HmacKey,
    Json, JsonValue, MsgPack, MsgPackValue, Serializer, StructFormat, StructValue, Zlib,
};
use netproto_fuzz::seed::{Ops, framer};

fn encode<S: Serializer>(serializer: &S, packet: &S::Sent) -> Vec<u8> {
    let mut out = BytesMut::new();
    serializer.serialize(packet, &mut out).unwrap();
    out.to_vec()
}

fn frames<F: Framer>(framer: &F, payloads: &[&[u8]]) -> Vec<u8> {
    let mut out = BytesMut::new();
    for payload in payloads {
        framer.encode(payload, &mut out).unwrap();
    }
    out.to_vec()
}

/// The byte that `serializer_struct_format` maps onto each character.
fn struct_format(format: &str, frame: &[u8]) -> Vec<u8> {
    const CHARS: &[u8] = b"@=<>!xcbB?hHiIlLqQnNefdspP0123456789 0123zq";
    let mut out = vec![format.len() as u8];
    out.extend(
        format
            .bytes()
            .map(|c| CHARS.iter().position(|&x| x == c).unwrap() as u8),
    );
    out.extend_from_slice(frame);
    out
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let mut count = 0;
    let mut write = |target: &str, name: &str, data: Vec<u8>| {
        let dir = root.join(target);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(name), data).unwrap();
        count += 1;
    };

    // ------------------------------------------------------------ framers
    // [choice, limit, keep, custom delimiter...], reads, stream
    let t = "framer_delimiter";
    write(
        t,
        "lf",
        framer(&[0, 254, 0], &[3, 1, 7], b"hello\nworld\n\nlast"),
    );
    write(
        t,
        "crlf_keep_overrun",
        framer(
            &[2, 8, 1],
            &[2],
            b"PING\r\nPONG\r\nfar too long a line\r\nok\r\n",
        ),
    );
    write(
        t,
        "blank_line",
        framer(
            &[3, 254, 0],
            &[5, 0, 9],
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\nbody\r\n\r\n",
        ),
    );
    write(
        t,
        "overlapping",
        framer(&[4, 6, 0], &[1], b"xxabayyababazzaba"),
    );
    write(t, "custom", framer(&[5, 16, 0, b'|'], &[], b"a|bb|ccc|"));
    write(
        t,
        "unbounded",
        framer(&[2, 255, 1], &[200], b"no end in sight\r"),
    );
    // Payloads cut at 0xff, encoded one after the other.
    write(
        t,
        "pieces",
        framer(
            &[2, 254, 1],
            &[3],
            b"one\xfftwo\xff\xffthr\ree\xffno\r\nway",
        ),
    );

    // [shape, offset, adjustment, skip, limit], reads, stream
    let t = "framer_length_prefix";
    let u32_be = LengthPrefix::u32_be();
    write(
        t,
        "u32_be",
        framer(
            &[2, 0, 0, 0, 254],
            &[3, 4],
            &frames(&u32_be, &[b"hello", b"", b"abc"]),
        ),
    );
    let u16_le = LengthPrefix::u16_le();
    write(
        t,
        "u16_le",
        framer(
            &[0x81, 0, 0, 0, 254],
            &[1],
            &frames(&u16_le, &[b"hello", b"hi"]),
        ),
    );
    let varint = LengthPrefix::varint();
    let long = [b'x'; 300];
    write(
        t,
        "varint",
        framer(
            &[4, 0, 0, 0, 254],
            &[2, 100],
            &frames(&varint, &[b"hello", &long]),
        ),
    );
    let head_counted = LengthPrefix::builder()
        .length_field_offset(1)
        .length_field_width(LengthWidth::U16)
        .length_adjustment(-3)
        .build();
    write(
        t,
        "head_counted",
        framer(
            &[1, 1, (-3i8) as u8, 0, 254],
            &[],
            &frames(&head_counted, &[b"ab", b"cdef"]),
        ),
    );
    let head_kept = LengthPrefix::builder()
        .length_adjustment(4)
        .num_skip(0)
        .build();
    write(
        t,
        "head_kept",
        framer(
            &[2, 0, 4, 0x80, 254],
            &[5],
            &frames(&head_kept, &[b"\0\0\0\0data", b"\0\0\0\0"]),
        ),
    );
    write(
        t,
        "oversized_claim",
        framer(&[2, 0, 0, 0, 64], &[], b"\x7f\xff\xff\xffpayload"),
    );
    write(
        t,
        "pieces",
        framer(&[0x84, 0, 0, 0, 254], &[1], b"a\xffbb\xff\xffccc"),
    );
    write(
        t,
        "u64_small_limit",
        framer(
            &[3, 0, 0, 0, 4],
            &[9],
            &frames(&LengthPrefix::u64_be(), &[b"abcd", b"e"]),
        ),
    );

    // [size], reads, stream
    let t = "framer_fixed";
    write(t, "four", framer(&[3], &[3], b"abcdefgh"));
    write(
        t,
        "struct",
        framer(
            &[31],
            &[7, 200],
            &[
                0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3, 0,
                0, 0, 0, 0, 0, 0,
            ],
        ),
    );
    write(t, "partial", framer(&[1], &[], b"abcde"));

    // [limit - 1], reads, stream
    let t = "framer_raw";
    write(t, "chunks", framer(&[3], &[5, 1], b"any bytes at all"));
    write(t, "one", framer(&[0], &[], b"xyz"));

    // [limit], reads, stream
    let t = "framer_json_document";
    let docs = br#"{"a":"}"}  [1,[2]] "s\"tr" 12 true null -3.5e+2 {"k":{"n":[{}]}}"#;
    write(t, "mixed", framer(&[254], &[4, 1], docs));
    write(
        t,
        "overrun",
        framer(
            &[10],
            &[3],
            br#"{"long":"enough to overrun"} [1] 12345678901234 7"#,
        ),
    );
    write(t, "invalid_byte", framer(&[254], &[], br#"{"a":1} }"#));
    let one = frames(&JsonDocument::new(), &[br#"{"b":[true,false]}"#, b"42"]);
    write(t, "encoded", framer(&[254], &[1], &one));
    // Documents cut at NUL, encoded one after the other.
    let pieces =
        b" {\"a\":\"x\\\"y\"}\0[1,\"\\\\\",{}]\0 12 \0\"q\\\"\\\\\"\0true\0-0.5e3\0bad{\0[]";
    write(t, "documents", framer(&[254], &[2, 5], pieces));

    // [limit], reads, stream
    let t = "framer_msgpack_item";
    let items: &[&[u8]] = &[
        b"\x92\x01\xa2hi",
        b"\x82\xa1a\x01\xa1b\x91\xc0",
        b"\xc4\x02\x00\xff",
        b"\xcb\x3f\xf8\0\0\0\0\0\0",
        b"\xdc\x00\x02\xd9\x01x\xc7\x01\x05q",
        b"\xd6\xff\0\0\0\x01",
    ];
    write(t, "items", framer(&[254], &[3, 1], &items.concat()));
    let map = BTreeMap::from([("k".to_string(), vec![1.5, -2.0])]);
    let one = encode(&MsgPack::<BTreeMap<String, Vec<f64>>>::new(), &map);
    write(t, "one", framer(&[254], &[], &one));
    write(
        t,
        "overrun",
        framer(&[4], &[2], b"\xa6abcdef\x94\x01\x02\x03\x04\x07"),
    );
    write(t, "unused_byte", framer(&[254], &[], b"\x01\xc1\x02"));
    write(
        t,
        "huge_claim",
        framer(&[254], &[], b"\xdb\xff\xff\xff\xff"),
    );

    let t = "framer_cbor_item";
    let items: &[&[u8]] = &[
        b"\x83\x01\x82\x02\x03\x82\x04\x05",
        b"\x9f\x01\x82\x02\x03\x9f\x04\x05\xff\xff",
        b"\xbf\x61a\x01\x61b\x9f\x02\x03\xff\xff",
        b"\x5f\x42\x01\x02\x43\x03\x04\x05\xff",
        b"\x7f\x65strea\x64ming\xff",
        b"\xc1\x1a\x51\x4b\x67\xb0",
        b"\xfb\x3f\xf1\x99\x99\x99\x99\x99\x9a",
    ];
    write(t, "items", framer(&[254], &[3, 1], &items.concat()));
    let one = encode(&Cbor::<BTreeMap<String, Vec<f64>>>::new(), &map);
    write(t, "one", framer(&[254], &[], &one));
    write(
        t,
        "overrun",
        framer(&[4], &[2], b"\x9f\x01\x02\x03\x04\xff\x61z"),
    );
    write(t, "misplaced_break", framer(&[254], &[], b"\x82\x01\xff"));
    write(
        t,
        "huge_claim",
        framer(&[254], &[], b"\x5b\x7f\xff\xff\xff\xff\xff\xff\xff"),
    );

    let t = "framer_zlib_stream";
    let zlib = Zlib::new(BytesSerializer);
    let streams = [
        encode(&zlib, b"hello"),
        encode(&zlib, b""),
        encode(&zlib.clone().level(0), b"stored"),
        encode(&zlib, &[b'a'; 2000]),
    ];
    write(t, "streams", framer(&[254], &[5, 1], &streams.concat()));
    write(t, "one", framer(&[254], &[], &streams[0]));
    write(
        t,
        "overrun",
        framer(&[8], &[3], &[&streams[3][..], &streams[0]].concat()),
    );
    write(t, "not_zlib", framer(&[254], &[], b"plain text"));

    // -------------------------------------------------------- serializers
    let t = "serializer_utf8";
    write(t, "text", "héllo wörld".into());
    write(t, "invalid", b"\xff\xfe ok".to_vec());
    write(t, "empty", Vec::new());

    let t = "serializer_text";
    write(t, "ascii", b"hello world".to_vec());
    write(t, "latin1", b"caf\xe9 \xff".to_vec());
    write(t, "utf8", "héllo €".into());
    write(t, "empty", Vec::new());

    let t = "serializer_json";
    write(
        t,
        "object",
        br#"{"a":1,"b":"\u00e9","c":[1.5,-2,1e+16,null,true]}"#.to_vec(),
    );
    write(
        t,
        "floats",
        b"[0.1,1e-07,123456789012345678,3.14159,-0.0,5e-324]".to_vec(),
    );
    write(
        t,
        "tuple",
        br#"["s",-1,18446744073709551615,true]"#.to_vec(),
    );
    write(
        t,
        "map",
        br#"{"a":[1,2,-170141183460469231731687303715884105728],"b":[]}"#.to_vec(),
    );
    write(
        t,
        "nested",
        br#"{"k":["c",null],"l":["\ud83d\ude00","x"]}"#.to_vec(),
    );
    write(t, "lists", b"[[1,2],[null,3],[]]".to_vec());

    let t = "serializer_cbor";
    let cbor_tuple = Cbor::<(String, i64, u64, Option<bool>)>::new();
    write(
        t,
        "tuple",
        encode(&cbor_tuple, &("sensor".into(), -3, u64::MAX, Some(true))),
    );
    let cbor_map = Cbor::<HashMap<String, Vec<i128>>>::new();
    write(
        t,
        "map",
        encode(
            &cbor_map,
            &HashMap::from([("a".into(), vec![1, -(1 << 64)])]),
        ),
    );
    let cbor_btree = Cbor::<BTreeMap<u32, (char, Option<String>)>>::new();
    write(
        t,
        "btree",
        encode(&cbor_btree, &BTreeMap::from([(7, ('é', Some("x".into())))])),
    );
    write(
        t,
        "floats",
        encode(&Cbor::<Vec<f64>>::new(), &vec![1.5, f64::NAN, 1e300, -0.0]),
    );
    // Tag 1 (epoch time), an indefinite-length text string, a half float.
    write(
        t,
        "tagged",
        b"\x83\xc1\x1a\x51\x4b\x67\xb0\x7f\x62ab\x61c\xff\xf9\x3c\x00".to_vec(),
    );
    let value = CborValue::new()
        .deserialize(Bytes::from_static(b"\xa1\x01\x42\x00\xff"))
        .unwrap();
    write(t, "value", encode(&CborValue::new(), &value));

    let t = "serializer_msgpack";
    let mp_tuple = MsgPack::<(String, i64, u64, Option<bool>)>::new();
    write(
        t,
        "tuple",
        encode(&mp_tuple, &("sensor".into(), -3, u64::MAX, Some(true))),
    );
    let mp_map = MsgPack::<HashMap<String, Vec<i128>>>::new();
    write(
        t,
        "map",
        encode(&mp_map, &HashMap::from([("a".into(), vec![1, -129])])),
    );
    let mp_btree = MsgPack::<BTreeMap<u32, (char, Option<String>)>>::new();
    write(
        t,
        "btree",
        encode(&mp_btree, &BTreeMap::from([(7, ('é', Some("x".into())))])),
    );
    write(
        t,
        "floats",
        encode(&MsgPack::<Vec<f64>>::new(), &vec![1.5, f64::NAN, 1e300]),
    );
    // A map with bin, str, ext and float32 values.
    write(
        t,
        "value",
        b"\x84\x01\xc4\x02\x00\xff\xa1k\xca\x3f\xc0\x00\x00\xa1e\xd4\x01\x02\xa1n\xd1\xff\x7f"
            .to_vec(),
    );
    let value = MsgPackValue::new()
        .deserialize(Bytes::from_static(b"\x92\xc0\xc3"))
        .unwrap();
    write(t, "array", encode(&MsgPackValue::new(), &value));

    let t = "serializer_struct_format";
    let telemetry = StructFormat::new(">d3q").unwrap();
    let packet = [1.5.into(), 1i64.into(), (-2i64).into(), 3i64.into()];
    write(
        t,
        "telemetry",
        struct_format(">d3q", &encode(&telemetry, &packet)),
    );
    let mixed = StructFormat::new("<hB?xq3s").unwrap();
    let packet = [
        StructValue::Int(-2),
        StructValue::UInt(200),
        StructValue::Bool(true),
        StructValue::Int(1 << 40),
        StructValue::from(&b"abc"[..]),
    ];
    write(
        t,
        "mixed",
        struct_format("<hB?xq3s", &encode(&mixed, &packet)),
    );
    write(t, "native", struct_format("@bhbqnN", &[7; 40]));
    write(
        t,
        "pascal_half",
        struct_format(
            "!2p4se f",
            &[1, b'z', b'a', b'b', b'c', b'd', 0x3c, 0, 0x3f, 0x80, 0, 0],
        ),
    );
    write(t, "wrong_size", struct_format("=iI", b"short"));

    let t = "serializer_binary_struct";
    let mut telemetry = Vec::new();
    telemetry.extend_from_slice(&1.5f64.to_be_bytes());
    for n in [1i64, -2, 3] {
        telemetry.extend_from_slice(&n.to_be_bytes());
    }
    telemetry.extend_from_slice(&[1, 1, 0, 2, 0, 0xfd, 0xff]);
    telemetry.extend_from_slice(&42u128.to_be_bytes());
    telemetry.extend_from_slice(&0.25f32.to_be_bytes());
    telemetry.extend_from_slice(b"abcd");
    write(t, "telemetry", telemetry);
    write(t, "flags", vec![1, 1, 0, 2, 0, 3, 0]);
    write(t, "words", (1u8..=20).collect());
    write(t, "bools", vec![0, 1, 2, 255]);

    let t = "serializer_base64";
    write(t, "padded", b"aGVsbG8=".to_vec());
    write(t, "unpadded", b"aGVsbG8".to_vec());
    write(t, "url_safe", b"-_8=".to_vec());
    write(t, "standard", b"+/8=".to_vec());
    write(
        t,
        "json",
        encode(
            &Base64::new(JsonValue::new()),
            &serde_value(br#"{"a":[1,"x"]}"#),
        ),
    );

    // [key byte], frame
    let t = "serializer_base64_checksum";
    write(t, "empty", vec![1]);
    write(t, "text", [&[3u8][..], b"aGVsbG8="].concat());
    let signed = Base64::new(BytesSerializer).checksum(Checksum::HmacSha256(HmacKey::new([9; 32])));
    write(
        t,
        "signed",
        [&[9u8][..], &encode(&signed, b"hello")].concat(),
    );
    let digest = Base64::new(BytesSerializer).checksum(Checksum::Sha256);
    write(
        t,
        "digest",
        [&[0u8][..], &encode(&digest, b"hello")].concat(),
    );

    // [limit / 37, level], frame
    // [limit / 37, level], frame
    let t = "serializer_bz2";
    let mut bz2 = vec![255, 9];
    bz2.extend(encode(&Bz2::new(BytesSerializer), &text_for_bz2()));
    write(t, "text", bz2);
    let mut bomb = vec![10, 1];
    bomb.extend(encode(&Bz2::new(BytesSerializer), &[0u8; 100_000]));
    write(t, "bomb", bomb);
    let mut json = vec![200, 5];
    json.extend(encode(&Bz2::new(Json::<Vec<u32>>::new()), &vec![1, 2, 3]));
    write(t, "json", json);

    let t = "framer_gzip_stream";
    let gzip = Gzip::new(BytesSerializer);
    let streams = [
        encode(&gzip, b"hello"),
        encode(&gzip, b""),
        encode(&gzip.clone().level(0), b"stored"),
        encode(&gzip, &[b'a'; 2000]),
    ];
    write(t, "members", framer(&[254], &[5, 1], &streams.concat()));
    write(t, "one", framer(&[254], &[], &streams[0]));
    write(t, "overrun", framer(&[20], &[3], &streams.concat()));

    let t = "framer_bz2_stream";
    let bz2 = Bz2::new(BytesSerializer);
    let streams = [
        encode(&bz2, b"hello"),
        encode(&bz2, b""),
        encode(&bz2.clone().level(1), &[b'a'; 2000]),
    ];
    write(t, "streams", framer(&[254], &[5, 1], &streams.concat()));
    write(t, "one", framer(&[254], &[], &streams[0]));
    write(t, "overrun", framer(&[20], &[3], &streams.concat()));

    // [key byte, position], frame
    let t = "serializer_fernet";
    write(t, "payload", [&[1u8, 7][..], b"hello"].concat());
    write(t, "empty", vec![0, 0]);
    let key = FernetKey::from_base64(&base64_url(&[3; 32])).unwrap();
    let token = encode(&Fernet::new(BytesSerializer, key), b"hello");
    write(t, "token", [&[3u8, 9][..], &token].concat());

    let t = "serializer_compression";
    let text = b"hello ".repeat(100);
    let mut zlib = vec![255, 9];
    zlib.extend(encode(&Zlib::new(BytesSerializer), &text));
    write(t, "zlib", zlib);
    let mut gzip = vec![255, 6];
    gzip.extend(encode(&Gzip::new(Json::<Vec<u32>>::new()), &vec![1, 2, 3]));
    write(t, "gzip", gzip);
    let mut bomb = vec![10, 1];
    bomb.extend(encode(&Zlib::new(BytesSerializer), &[0u8; 100_000]));
    write(t, "bomb", bomb);
    let mut stored = vec![200, 0];
    stored.extend(encode(
        &Gzip::new(BytesSerializer).level(0),
        b"stored block",
    ));
    write(t, "stored", stored);

    // ---------------------------------------------------------- endpoint
    // [protocol choice, limit, max_recv_size - 1, send limit / 4], ops
    let t = "endpoint";
    let lines = Ops::new(0, 0, 15, 255)
        .read(b"one\ntwo\nthr")
        .drain()
        .read(b"ee\n")
        .next()
        .send(b"hello")
        .write(10)
        .abandoned_read()
        .send_eof()
        .send(b"late")
        .eof()
        .drain();
    write(t, "lines", lines.build());
    let overrun = Ops::new(0x80, 8, 4, 2)
        .read(b"toolongline\r\nok\r\n")
        .drain()
        .read(b"\r\n")
        .drain()
        .send(b"abc")
        .send(b"defg")
        .send(b"h\r\ni")
        .release()
        .eof()
        .next()
        .next();
    write(t, "crlf_overrun", overrun.build());
    let prefixed = Ops::new(1, 0, 63, 255)
        .read(b"\0\x05hello\0\x02hi\0\x09part")
        .drain()
        .send(b"payload")
        .write(255)
        .eof()
        .drain();
    write(t, "length_prefix", prefixed.build());
    let json = Ops::new(2, 0, 31, 255)
        .read(br#"{"a":[1,2]} "s" 12 "#)
        .drain()
        .send(br#"{"b":null}"#)
        .send(b"[1.5,2]")
        .write(2)
        .read(b"} trailing")
        .drain()
        .eof()
        .next();
    write(t, "json_documents", json.build());
    let record = [
        0xfe, 0xff, 200, 1, 0, 1, 2, 3, 4, 5, 6, 7, 8, b'a', b'b', b'c',
    ];
    let structs = Ops::new(3, 0, 7, 255)
        .read(&record)
        .drain()
        .send(&record)
        .write(6)
        .eof()
        .drain();
    write(t, "struct", structs.build());
    let reset = Ops::new(0, 0, 7, 255)
        .read(b"whole\npart")
        .drain()
        .abandoned_read()
        .fail(0)
        .next()
        .read(b"ial\n")
        .drain()
        .eof()
        .next();
    write(t, "socket_failure", reset.build());
    let raw = Ops::new(4, 5, 9, 1)
        .read(b"abc")
        .drain()
        .send(b"xyz")
        .send(b"more")
        .write(1)
        .eof()
        .drain();
    write(t, "raw", raw.build());
    let msgpack = b"\x82\xa1x\x01\xa1y\xff";
    let b64 = [
        encode(&Base64::new(BytesSerializer), msgpack),
        b"\r\n".to_vec(),
    ]
    .concat();
    let base64 = Ops::new(5, 0, 63, 255)
        .read(&b64)
        .drain()
        .send(msgpack)
        .write(100)
        .eof()
        .drain();
    write(t, "base64_msgpack", base64.build());
    let cbor = b"\xa2\x61a\x01\x61b\x82\xf5\xf6";
    let frame = frames(&LengthPrefix::u32_le(), &[cbor]);
    let cbor_ops = Ops::new(6, 0, 3, 255)
        .read(&frame)
        .drain()
        .send(cbor)
        .write(255)
        .eof()
        .drain();
    write(t, "cbor", cbor_ops.build());

    eprintln!("wrote {count} seed files under {}", root.display());
}

fn serde_value(json: &[u8]) -> <JsonValue as Serializer>::Received {
    JsonValue::new()
        .deserialize(Bytes::copy_from_slice(json))
        .unwrap()
}

/// Text that compresses (the seed of `serializer_bz2`).
fn text_for_bz2() -> Vec<u8> {
    b"hello ".repeat(100)
}

/// URL-safe base64 with padding (Fernet keys).
fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE.encode(bytes)
}
