use super::*;
use crate::error::FramingError;
use crate::framing::decode_all;

/// Items of every major type, definite and indefinite (RFC 8949
/// appendix A examples among them).
const ITEMS: &[(&[u8], &str)] = &[
    (b"\x00", "0"),
    (b"\x17", "23"),
    (b"\x18\x18", "24"),
    (b"\x19\x03\xe8", "1000"),
    (b"\x1a\x00\x0f\x42\x40", "1000000"),
    (b"\x1b\x00\x00\x00\xe8\xd4\xa5\x10\x00", "1000000000000"),
    (b"\x20", "-1"),
    (b"\x39\x03\xe7", "-1000"),
    (b"\x40", "h''"),
    (b"\x44\x01\x02\x03\x04", "h'01020304'"),
    (b"\x60", "\"\""),
    (b"\x62\xc3\xbc", "\"\\u00fc\""),
    (b"\x78\x02ab", "text with a 1-byte length"),
    (b"\x80", "[]"),
    (b"\x83\x01\x82\x02\x03\x82\x04\x05", "[1, [2, 3], [4, 5]]"),
    (b"\xa2\x01\x02\x03\x04", "{1: 2, 3: 4}"),
    (b"\xa1\x61a\xa1\x61b\x61c", "nested maps"),
    (b"\xc1\x1a\x51\x4b\x67\xb0", "tag 1 (epoch time)"),
    (b"\xd8\x20\x63abc", "tag 32 (URI)"),
    (b"\xc2\xc2\x41\x01", "a tag on a tag"),
    (b"\xf4", "false"),
    (b"\xf6", "null"),
    (b"\xf8\xff", "simple(255)"),
    (
        b"\xf8\x14",
        "false as a two-byte simple value (left to the serializer)",
    ),
    (b"\xf9\x3c\x00", "1.0 (half)"),
    (b"\xfa\x47\xc3\x50\x00", "100000.0 (single)"),
    (b"\xfb\x3f\xf1\x99\x99\x99\x99\x99\x9a", "1.1 (double)"),
    (
        b"\x7f\x7f\xff\xff",
        "nested indefinite text strings (read by ciborium; left to the serializer)",
    ),
    (
        b"\x5f\x42\x01\x02\x43\x03\x04\x05\xff",
        "(_ h'0102', h'030405')",
    ),
    (b"\x7f\x65strea\x64ming\xff", "(_ \"strea\", \"ming\")"),
    (b"\x5f\xff", "an empty indefinite byte string"),
    (b"\x9f\xff", "[_ ]"),
    (
        b"\x9f\x01\x82\x02\x03\x9f\x04\x05\xff\xff",
        "[_ 1, [2, 3], [_ 4, 5]]",
    ),
    (
        b"\x83\x01\x9f\x02\x03\xff\x82\x04\x05",
        "[1, [_ 2, 3], [4, 5]]",
    ),
    (
        b"\xbf\x61a\x01\x61b\x9f\x02\x03\xff\xff",
        "{_ \"a\": 1, \"b\": [_ 2, 3]}",
    ),
    (b"\x82\x61a\xbf\x61b\x61c\xff", "[\"a\", {_ \"b\": \"c\"}]"),
    (
        b"\xd8\x18\x9f\xa1\x01\x5f\x41\x00\xff\xff",
        "a tag around indefinite items",
    ),
];

fn stream() -> Vec<u8> {
    ITEMS
        .iter()
        .flat_map(|(item, _)| item.iter().copied())
        .collect()
}

#[test]
fn every_form_is_one_frame_whole_or_byte_by_byte() {
    let wire = stream();
    let expected: Vec<&[u8]> = ITEMS.iter().map(|(item, _)| *item).collect();
    let (frames, err) = decode_all(&mut CborItem::new().decoder(), &wire);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(frames, expected);

    let mut decoder = CborItem::new().decoder();
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for &byte in &wire {
        buf.extend_from_slice(&[byte]);
        while let Some(frame) = decoder.decode(&mut buf).unwrap() {
            frames.push(frame);
        }
    }
    assert_eq!(frames, expected);
    assert_eq!(decoder.decode_eof(&mut buf).unwrap(), None);
}

fn malformed(wire: &[u8]) -> (u64, String) {
    let (_, err) = decode_all(&mut CborItem::new().decoder(), wire);
    let err = err.unwrap_or_else(|| panic!("{wire:02x?} decoded"));
    assert!(!err.recoverable);
    match err.error {
        FramingError::Malformed {
            format: "CBOR",
            offset,
            reason,
        } => (offset, reason),
        other => panic!("{wire:02x?}: {other:?}"),
    }
}

#[test]
fn headers_that_are_not_well_formed_are_fatal() {
    let cases: &[(&[u8], u64, &str)] = &[
        (b"\x1c", 0, "reserved additional information 28"),
        (b"\x82\x01\x5e", 2, "reserved additional information 30"),
        (b"\x1f", 0, "major type 0 has no indefinite length"),
        (b"\x3f", 0, "major type 1 has no indefinite length"),
        (b"\xdf", 0, "major type 6 has no indefinite length"),
        (b"\xff", 0, "break (0xff) where an item was expected"),
        (
            b"\x82\x01\xff",
            2,
            "break (0xff) where an item was expected",
        ),
        (
            b"\x9f\x82\x01\xff",
            3,
            "break (0xff) where an item was expected",
        ),
        (b"\x5f\x61a\xff", 1, "indefinite-length byte string must be"),
        (b"\x5f\x01\xff", 1, "not initial byte 0x01"),
        (b"\xbf\x01\xff", 2, "ends with a key and no value"),
    ];
    for &(wire, offset, why) in cases {
        let (at, reason) = malformed(wire);
        assert!(reason.contains(why), "{wire:02x?}: {reason}");
        assert_eq!(at, offset, "{wire:02x?}");
    }
}

#[test]
fn indefinite_nesting_is_bounded() {
    let depth = CborItem::MAX_INDEFINITE_NESTING;
    let mut wire = vec![0x9f; depth];
    wire.extend(vec![0xff; depth]);
    let (frames, err) = decode_all(&mut CborItem::new().decoder(), &wire);
    assert!(err.is_none());
    assert_eq!(frames.len(), 1);
    // Definite nesting costs nothing and is not limited.
    let mut wire = vec![0x81; 100_000];
    wire.push(0x00);
    let framer = CborItem::new().max_frame_length(1 << 20);
    let (frames, err) = decode_all(&mut framer.decoder(), &wire);
    assert!(err.is_none());
    assert_eq!(frames.len(), 1);

    let (offset, reason) = malformed(&vec![0x9f; depth + 1]);
    assert_eq!(offset, depth as u64);
    assert!(reason.contains("nested deeper than 256"), "{reason}");
}

#[test]
fn an_oversized_item_is_reported_once_then_skipped() {
    let mut decoder = CborItem::new().max_frame_length(4).decoder();
    // An indefinite array growing past the limit, then an item that fits.
    let wire = b"\x9f\x01\x02\x03\x04\xff\x61z";
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    for &byte in wire {
        buf.extend_from_slice(&[byte]);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => events.push(Ok(frame)),
                Ok(None) => break,
                Err(err) => {
                    assert!(err.recoverable);
                    events.push(Err(err.error));
                }
            }
        }
    }
    assert_eq!(
        events,
        vec![
            Err(FramingError::FrameTooLong {
                length: 5,
                limit: 4
            }),
            Ok(Bytes::from_static(b"\x61z")),
        ]
    );
}

#[test]
fn huge_claims_allocate_nothing_and_fail_at_once() {
    for head in [0x5bu8, 0x7b, 0x9b, 0xbb] {
        let mut buf = BytesMut::with_capacity(64);
        buf.extend_from_slice(&[head, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        let err = CborItem::new().decoder().decode(&mut buf).unwrap_err();
        assert!(err.recoverable);
        assert!(matches!(
            err.error,
            FramingError::FrameTooLong { length, limit: 65536 } if length > 1 << 62
        ));
        assert!(buf.capacity() <= 64, "{} bytes reserved", buf.capacity());
    }
}

/// With no limit (`usize::MAX`), headers claiming close to 2⁶⁴ bytes and
/// items wait for more input: no overflow, nothing reserved for the claim
/// (found by the `framer_cbor_item` fuzz target).
#[test]
fn unbounded_huge_claims_wait_without_overflow() {
    for wire in [
        &[0x5bu8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff][..],
        &[
            0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x5b, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xfe,
        ][..],
    ] {
        let mut buf = BytesMut::with_capacity(64);
        buf.extend_from_slice(wire);
        let mut decoder = CborItem::new().max_frame_length(usize::MAX).decoder();
        assert!(decoder.decode(&mut buf).unwrap().is_none());
        assert!(buf.capacity() <= 4096, "{} bytes reserved", buf.capacity());
    }
}

#[test]
fn an_item_cut_by_the_end_of_the_stream_is_unexpected_eof() {
    for wire in [&b"\x9f\x01"[..], b"\x19\x01", b"\x62a", b"\xc1"] {
        let (_, err) = decode_all(&mut CborItem::new().decoder(), wire);
        assert_eq!(
            err.unwrap().error,
            FramingError::UnexpectedEof {
                pending: wire.len()
            }
        );
    }
}

#[test]
fn encode_writes_one_well_formed_item_or_nothing() {
    let framer = CborItem::new();
    let mut dst = BytesMut::new();
    framer.encode(b"\xbf\x61a\x01\xff", &mut dst).unwrap();
    for bad in [&b""[..], b"\x9f", b"\x01\x01", b"\x1c", b"\xbf\x01\xff"] {
        assert!(framer.encode(bad, &mut dst).is_err(), "{bad:02x?}");
    }
    assert_eq!(&dst[..], b"\xbf\x61a\x01\xff");
}
