use super::*;
use crate::error::FramingError;
use crate::framing::decode_all;

/// Every item form: (bytes, description).
const ITEMS: &[(&[u8], &str)] = &[
    (b"\x00", "positive fixint"),
    (b"\xff", "negative fixint"),
    (b"\xc0", "nil"),
    (b"\xc3", "true"),
    (b"\xa3abc", "fixstr"),
    (b"\xd9\x02hi", "str 8"),
    (b"\xda\x00\x01x", "str 16"),
    (b"\xdb\x00\x00\x00\x01y", "str 32"),
    (b"\xc4\x02\x00\xff", "bin 8"),
    (b"\xc5\x00\x00", "bin 16, empty"),
    (b"\xc6\x00\x00\x00\x01z", "bin 32"),
    (b"\xc7\x01\x05q", "ext 8"),
    (b"\xc8\x00\x02\x05qq", "ext 16"),
    (b"\xc9\x00\x00\x00\x00\x05", "ext 32, no data"),
    (b"\xca\0\0\0\0", "float 32"),
    (b"\xcb\x3f\xf8\0\0\0\0\0\0", "float 64"),
    (b"\xcc\xff", "uint 8"),
    (b"\xcd\xff\xff", "uint 16"),
    (b"\xce\0\0\0\x01", "uint 32"),
    (b"\xcf\0\0\0\0\0\0\0\x01", "uint 64"),
    (b"\xd0\x80", "int 8"),
    (b"\xd1\xff\x7f", "int 16"),
    (b"\xd2\0\0\0\x01", "int 32"),
    (b"\xd3\x80\0\0\0\0\0\0\0", "int 64"),
    (b"\xd4\x01\x02", "fixext 1"),
    (b"\xd5\x01\x02\x03", "fixext 2"),
    (b"\xd6\x01\0\0\0\0", "fixext 4"),
    (b"\xd7\xff\0\0\0\0\0\0\0\0", "fixext 8 (timestamp)"),
    (b"\xd8\x01\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", "fixext 16"),
    (b"\x90", "empty fixarray"),
    (b"\x80", "empty fixmap"),
    (b"\x92\x01\x92\x02\xa1x", "nested fixarrays"),
    (b"\x82\xa1a\x01\xa1b\x91\xc0", "fixmap"),
    (b"\xdc\x00\x02\x01\x02", "array 16"),
    (b"\xdd\x00\x00\x00\x01\xc2", "array 32"),
    (b"\xde\x00\x01\x01\x02", "map 16"),
    (
        b"\xdf\x00\x00\x00\x01\x81\x01\x90\xc0",
        "map 32 holding a map",
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
    let (frames, err) = decode_all(&mut MsgPackItem::new().decoder(), &wire);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(frames, expected);

    let mut decoder = MsgPackItem::new().decoder();
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

#[test]
fn the_unused_byte_is_fatal_with_its_offset() {
    let mut decoder = MsgPackItem::new().decoder();
    let (frames, err) = decode_all(&mut decoder, b"\x01\x92\x01\xc1\x02");
    assert_eq!(frames, vec![&b"\x01"[..]]);
    let err = err.unwrap();
    assert!(!err.recoverable);
    assert_eq!(
        err.error,
        FramingError::Malformed {
            format: "MessagePack",
            offset: 2,
            reason: "byte 0xc1 is never used in MessagePack".into(),
        }
    );
    assert!(err.error.to_string().contains("at byte 2 of the item"));
    let mut buf = BytesMut::from(&b"\x01"[..]);
    assert!(decoder.decode(&mut buf).is_err(), "fatal errors stick");
}

#[test]
fn an_item_cut_by_the_end_of_the_stream_is_unexpected_eof() {
    let (_, err) = decode_all(&mut MsgPackItem::new().decoder(), b"\x92\x01");
    assert_eq!(
        err.unwrap().error,
        FramingError::UnexpectedEof { pending: 2 }
    );
    let (_, err) = decode_all(&mut MsgPackItem::new().decoder(), b"\xcd\x01");
    assert_eq!(
        err.unwrap().error,
        FramingError::UnexpectedEof { pending: 2 }
    );
}

#[test]
fn an_oversized_item_is_reported_once_then_skipped() {
    let mut decoder = MsgPackItem::new().max_frame_length(4).decoder();
    // A 6-byte string, then a 5-byte array whose size shows only at the
    // end, then an item that fits.
    let wire = b"\xa6abcdef\x94\x01\x02\x03\x04\x07";
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
        assert!(buf.len() <= 5, "oversized bytes are dropped as they come");
    }
    assert_eq!(
        events,
        vec![
            Err(FramingError::FrameTooLong {
                length: 7,
                limit: 4
            }),
            Err(FramingError::FrameTooLong {
                length: 5,
                limit: 4
            }),
            Ok(Bytes::from_static(b"\x07")),
        ]
    );
}

#[test]
fn huge_claims_allocate_nothing_and_fail_at_once() {
    for header in [
        &b"\xdb\xff\xff\xff\xff"[..],
        b"\xc6\xff\xff\xff\xff",
        b"\xc9\xff\xff\xff\xff\x01",
        b"\xdd\xff\xff\xff\xff",
        b"\xdf\xff\xff\xff\xff",
    ] {
        let mut buf = BytesMut::with_capacity(64);
        buf.extend_from_slice(header);
        let err = MsgPackItem::new().decoder().decode(&mut buf).unwrap_err();
        assert!(err.recoverable);
        assert!(matches!(
            err.error,
            FramingError::FrameTooLong { length, limit: 65536 } if length >= 0xffff_ffff
        ));
        assert!(buf.capacity() <= 64, "{} bytes reserved", buf.capacity());
    }
}

#[test]
fn eof_while_skipping_an_oversized_item_is_clean() {
    let mut decoder = MsgPackItem::new().max_frame_length(2).decoder();
    let mut buf = BytesMut::from(&b"\xa5ab"[..]);
    assert!(decoder.decode(&mut buf).unwrap_err().recoverable);
    assert_eq!(decoder.decode_eof(&mut buf).unwrap(), None);
}

#[test]
fn encode_writes_one_item_or_nothing() {
    let framer = MsgPackItem::new().max_frame_length(8);
    let mut dst = BytesMut::from(&b"\x01"[..]);
    framer.encode(b"\x92\x01\x02", &mut dst).unwrap();
    assert_eq!(&dst[..], b"\x01\x92\x01\x02");
    for (bad, why) in [
        (&b""[..], "empty MessagePack item"),
        (b"\x92\x01", "incomplete MessagePack item (2 bytes)"),
        (b"\x01\x02", "1 byte after the MessagePack item of 1 byte"),
        (b"\xc1", "byte 0xc1"),
    ] {
        let err = framer.encode(bad, &mut dst).unwrap_err();
        assert!(err.to_string().contains(why), "{err}");
    }
    let err = framer.encode(b"\xa8abcdefgh", &mut dst).unwrap_err();
    assert!(matches!(
        err,
        EncodeError::FrameTooLong {
            length: 9,
            limit: 8
        }
    ));
    assert_eq!(&dst[..], b"\x01\x92\x01\x02", "refused items leave nothing");
}
