use std::io::Write;

use flate2::Compression;
use flate2::write::ZlibEncoder;

use super::*;
use crate::error::FramingError;
use crate::framing::compressed_stream::checks;
use crate::framing::decode_all;
use bytes::BytesMut;

fn zlib(data: &[u8], level: u32) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::new(level));
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn streams() -> Vec<Vec<u8>> {
    let big: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    vec![
        zlib(b"", 9),
        zlib(b"hello", 9),
        zlib(b"stored", 0),
        zlib(&[b'a'; 100_000], 9),
        zlib(&big, 1),
        zlib(b"{\"a\":1}", 6),
    ]
}

#[test]
fn streams_come_out_whole_in_one_read_or_byte_by_byte() {
    let framer = ZlibStream::new().max_frame_length(1 << 20);
    checks::whole_in_one_read_or_byte_by_byte(&framer, &streams());
}

#[test]
fn corrupt_data_is_fatal() {
    let mut bad = zlib(b"hello hello hello", 9);
    let last = bad.len() - 1;
    bad[last] ^= 1; // the checksum
    for wire in [bad, b"\x78\x9c\xff\xff\xff".to_vec(), b"not zlib".to_vec()] {
        let (frames, err) = decode_all(&mut ZlibStream::new().decoder(), &wire);
        assert!(frames.is_empty());
        let err = err.unwrap();
        assert!(!err.recoverable);
        assert!(
            matches!(err.error, FramingError::Malformed { format: "zlib", .. }),
            "{:?}",
            err.error
        );
    }
}

#[test]
fn an_oversized_stream_is_reported_once_then_skipped() {
    let long = zlib(&(0..5000u32).map(|i| i as u8).collect::<Vec<_>>(), 9);
    let framer = ZlibStream::new().max_frame_length(100);
    checks::oversized_reported_once_then_skipped(&framer, 100, &long, &zlib(b"ok", 9));
}

#[test]
fn a_cut_stream_is_unexpected_eof() {
    let stream = zlib(b"hello", 9);
    let (_, err) = decode_all(&mut ZlibStream::new().decoder(), &stream[..5]);
    assert_eq!(
        err.unwrap().error,
        FramingError::UnexpectedEof { pending: 5 }
    );
}

#[test]
fn encode_checks_the_header_and_the_length() {
    let framer = ZlibStream::new().max_frame_length(64);
    let mut dst = BytesMut::new();
    framer.encode(&zlib(b"x", 9), &mut dst).unwrap();
    let kept = dst.len();
    assert!(framer.encode(b"plain", &mut dst).is_err());
    assert!(framer.encode(b"", &mut dst).is_err());
    assert!(matches!(
        framer.encode(&zlib(&[7; 1000], 0), &mut dst),
        Err(EncodeError::FrameTooLong { limit: 64, .. })
    ));
    assert_eq!(dst.len(), kept);
}

/// A 171-byte stream (found by the fuzzer; its checksum made valid) that
/// inflates to 122 342 bytes, its last bytes taken while the decompressor
/// still holds output: it must come out when it ends the input, in any
/// reads — it was `UnexpectedEof` unless a byte followed it.
#[test]
fn a_stream_that_ends_the_input_with_output_pending_comes_out() {
    use crate::framing::FrameDecoder;
    let stream = hex(
        "78daedc0010d000000c2a0acef5fc21c6e5000c0bb000000000000000000000000000000000000000000000000a8a8a8a8a8a8a8a8a8a8a8a8a8a8a8a8a8a8a8a8a8a8a80000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000a8a8a8a8a8a8a8a8a8a8a8a8a8a8a8a9bb3a1ec2",
    );
    let empty = zlib(b"", 9);
    let wire = [empty.clone(), stream.clone()].concat();
    let framer = ZlibStream::new();
    for reads in [
        &[wire.len()][..],
        &[5, 1, 120, 9728, 2048, 72, 3072, 512, 1024, 7, 6, 44, 2, 21],
        &[1],
    ] {
        let mut decoder = framer.decoder();
        let mut buf = BytesMut::new();
        let mut frames = Vec::new();
        let mut rest = &wire[..];
        for &n in reads.iter().cycle() {
            let n = n.min(rest.len());
            buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            while let Some(frame) = decoder.decode(&mut buf).unwrap() {
                frames.push(frame);
            }
            if rest.is_empty() {
                break;
            }
        }
        assert_eq!(
            frames,
            [empty.clone(), stream.clone()],
            "reads of {reads:?}"
        );
        assert_eq!(decoder.decode_eof(&mut buf).unwrap(), None);
    }
}

/// Found by the fuzzer: whether the corruption of this oversized stream
/// was reported depended on how it was split into reads (a fatal error in
/// one read, a clean end byte by byte).
#[test]
fn a_skipped_stream_that_does_not_end_is_one_error_in_every_split() {
    let stream = hex(concat!(
        "78daedc0010d000000c2a0acef5fc21c6e500000000100000000000000000000",
        "0000000000000000000000000000000000000000000100000000000000000000",
        "00001000000000000000000000000000000020",
    ));
    checks::skipped_stream_that_does_not_end(&ZlibStream::new().max_frame_length(8), &stream);
    // Cut short, not corrupt: the same error.
    let cut = zlib(&[7; 5000], 0);
    checks::skipped_stream_that_does_not_end(
        &ZlibStream::new().max_frame_length(100),
        &cut[..cut.len() - 10],
    );
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}
