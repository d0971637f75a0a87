use std::io::Write;

use bytes::Bytes;
use flate2::{Compression, GzBuilder};

use super::*;
use crate::error::FramingError;
use crate::framing::compressed_stream::checks;
use crate::framing::decode_all;
use crate::serializer::{BytesSerializer, Gzip, Serializer};

fn gzip(data: &[u8], level: u32) -> Vec<u8> {
    let mut out = BytesMut::new();
    Gzip::new(BytesSerializer)
        .level(level)
        .serialize(data, &mut out)
        .unwrap();
    out.to_vec()
}

/// A member with every optional header field (header CRC included).
fn with_fields(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzBuilder::new()
        .extra(&b"xx\x02\x00hi"[..])
        .filename("name.json")
        .comment("a comment")
        .write(Vec::new(), Compression::new(6));
    encoder.write_all(data).unwrap();
    let plain = encoder.finish().unwrap();
    // Set FHCRC and insert the header's CRC-16 after the comment.
    let header_end = plain.len() - (plain.len() - find_body(&plain));
    let mut header = plain[..header_end].to_vec();
    header[3] |= FHCRC;
    let mut crc = Crc::new();
    crc.update(&header);
    let crc16 = (crc.sum() & 0xffff) as u16;
    [&header[..], &crc16.to_le_bytes(), &plain[header_end..]].concat()
}

/// Where the deflate data of a member written by `GzBuilder` with extra,
/// name and comment starts.
fn find_body(member: &[u8]) -> usize {
    let extra = 12 + usize::from(u16::from_le_bytes([member[10], member[11]]));
    let name = extra + member[extra..].iter().position(|&b| b == 0).unwrap() + 1;
    name + member[name..].iter().position(|&b| b == 0).unwrap() + 1
}

fn members() -> Vec<Vec<u8>> {
    let big: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    vec![
        gzip(b"", 9),
        gzip(b"hello", 9),
        gzip(b"stored", 0),
        with_fields(b"with every header field"),
        gzip(&[b'a'; 100_000], 9),
        gzip(&big, 1),
    ]
}

#[test]
fn members_come_out_whole_in_one_read_or_byte_by_byte() {
    let items = members();
    // The serializer reads each, the one with a header CRC included.
    for item in &items {
        assert!(
            Gzip::new(BytesSerializer)
                .deserialize(Bytes::from(item.clone()))
                .is_ok()
        );
    }
    let framer = GzipStream::new().max_frame_length(1 << 20);
    checks::whole_in_one_read_or_byte_by_byte(&framer, &items);
}

#[test]
fn bad_headers_and_trailers_are_fatal() {
    let good = gzip(b"hello hello hello", 9);
    let at = |i: usize, value: u8| {
        let mut bad = good.clone();
        bad[i] = value;
        bad
    };
    let n = good.len();
    for (wire, reason) in [
        (at(0, 0x1e), "magic"),
        (at(2, 9), "method 9"),
        (at(3, 0x20), "reserved"),
        (at(n - 8, good[n - 8] ^ 1), "CRC-32"),
        (at(n - 1, good[n - 1] ^ 1), "length"),
        (b"not gzip".to_vec(), "magic"),
    ] {
        let (frames, err) = decode_all(&mut GzipStream::new().decoder(), &wire);
        assert!(frames.is_empty());
        let err = err.unwrap();
        assert!(!err.recoverable);
        assert!(
            matches!(&err.error, FramingError::Malformed { format: "gzip", reason: r, .. } if r.contains(reason)),
            "{reason}: {:?}",
            err.error
        );
    }
}

#[test]
fn an_oversized_member_is_reported_once_then_skipped() {
    let long = gzip(&(0..5000u32).map(|i| i as u8).collect::<Vec<_>>(), 9);
    let framer = GzipStream::new().max_frame_length(100);
    checks::oversized_reported_once_then_skipped(&framer, 100, &long, &gzip(b"ok", 9));
}

#[test]
fn a_cut_member_is_unexpected_eof() {
    let member = with_fields(b"hello");
    for cut in 1..member.len() {
        let (frames, err) = decode_all(&mut GzipStream::new().decoder(), &member[..cut]);
        assert!(frames.is_empty());
        assert_eq!(
            err.unwrap().error,
            FramingError::UnexpectedEof { pending: cut },
            "cut at {cut}"
        );
    }
}

#[test]
fn encode_checks_the_header_and_the_length() {
    let framer = GzipStream::new().max_frame_length(64);
    let mut dst = BytesMut::new();
    framer.encode(&gzip(b"x", 9), &mut dst).unwrap();
    let kept = dst.len();
    assert!(framer.encode(b"plain", &mut dst).is_err());
    assert!(framer.encode(b"\x1f\x8b\x07", &mut dst).is_err());
    assert!(matches!(
        framer.encode(&gzip(&[7; 1000], 0), &mut dst),
        Err(EncodeError::FrameTooLong { limit: 64, .. })
    ));
    assert_eq!(dst.len(), kept);
}

/// Found by the fuzzer: whether the corruption of this oversized member
/// was reported depended on how it was split into reads.
#[test]
fn a_skipped_member_that_does_not_end_is_one_error_in_every_split() {
    let mut member = vec![
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xff, 0xed, 0xc0, 0x01, 0x0d, 0x00,
        0x00, 0x00, 0xc2, 0xa0, 0xac, 0xef, 0x5f, 0xc2, 0x1c, 0x6e, 0x50,
    ];
    member.resize(member.len() + 127, 0);
    member.push(0xf8);
    checks::skipped_stream_that_does_not_end(&GzipStream::new().max_frame_length(0), &member);
    let cut = gzip(&[7; 5000], 0);
    checks::skipped_stream_that_does_not_end(
        &GzipStream::new().max_frame_length(100),
        &cut[..cut.len() - 3],
    );
}
