use super::*;
use crate::error::FramingError;
use crate::framing::compressed_stream::checks;
use crate::framing::decode_all;
use crate::serializer::{BytesSerializer, Bz2, Serializer};

fn bz2(data: &[u8], level: u32) -> Vec<u8> {
    let mut out = BytesMut::new();
    Bz2::new(BytesSerializer)
        .level(level)
        .serialize(data, &mut out)
        .unwrap();
    out.to_vec()
}

fn streams() -> Vec<Vec<u8>> {
    let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    vec![
        bz2(b"", 9),
        bz2(b"hello", 9),
        bz2(&[b'a'; 100_000], 1),
        bz2(&big, 1),
        bz2(b"{\"a\":1}", 6),
    ]
}

#[test]
fn streams_come_out_whole_in_one_read_or_byte_by_byte() {
    let framer = Bz2Stream::new().max_frame_length(1 << 20);
    checks::whole_in_one_read_or_byte_by_byte(&framer, &streams());
}

#[test]
fn corrupt_data_is_fatal() {
    let mut bad = bz2(b"hello hello hello", 9);
    // The last byte may hold padding bits: the one before is the CRC's.
    let crc = bad.len() - 2;
    bad[crc] ^= 0x10;
    for wire in [
        bad,
        b"BZh9\xff\xff\xff\xff\xff\xff".to_vec(),
        b"not bzip2".to_vec(),
    ] {
        let (frames, err) = decode_all(&mut Bz2Stream::new().decoder(), &wire);
        assert!(frames.is_empty());
        let err = err.unwrap();
        assert!(!err.recoverable);
        assert!(
            matches!(
                err.error,
                FramingError::Malformed {
                    format: "bzip2",
                    ..
                }
            ),
            "{:?}",
            err.error
        );
    }
}

#[test]
fn an_oversized_stream_is_reported_once_then_skipped() {
    let long = bz2(&(0..5000u32).map(|i| (i * 31) as u8).collect::<Vec<_>>(), 9);
    let framer = Bz2Stream::new().max_frame_length(100);
    checks::oversized_reported_once_then_skipped(&framer, 100, &long, &bz2(b"ok", 9));
}

#[test]
fn a_bomb_is_fatal_at_the_decompressed_limit() {
    let bomb = bz2(&vec![0u8; 4 << 20], 9);
    assert!(bomb.len() < 100, "{}", bomb.len());
    let (frames, err) = decode_all(
        &mut Bz2Stream::new().max_decompressed_length(1 << 20).decoder(),
        &bomb,
    );
    assert!(frames.is_empty());
    let err = err.unwrap();
    assert!(!err.recoverable);
    assert!(err.error.to_string().contains("1048576"), "{}", err.error);
    let (frames, err) = decode_all(&mut Bz2Stream::new().decoder(), &bomb);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(frames, [bomb]);
}

#[test]
fn a_cut_stream_is_unexpected_eof() {
    let stream = bz2(b"hello", 9);
    let (_, err) = decode_all(&mut Bz2Stream::new().decoder(), &stream[..20]);
    assert_eq!(
        err.unwrap().error,
        FramingError::UnexpectedEof { pending: 20 }
    );
}

#[test]
fn encode_checks_the_header_and_the_length() {
    let framer = Bz2Stream::new().max_frame_length(64);
    let mut dst = BytesMut::new();
    framer.encode(&bz2(b"x", 9), &mut dst).unwrap();
    let kept = dst.len();
    assert!(framer.encode(b"plain", &mut dst).is_err());
    assert!(framer.encode(b"BZh0", &mut dst).is_err());
    assert!(framer.encode(b"", &mut dst).is_err());
    let noise: Vec<u8> = (0..1000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    assert!(matches!(
        framer.encode(&bz2(&noise, 9), &mut dst),
        Err(EncodeError::FrameTooLong { limit: 64, .. })
    ));
    assert_eq!(dst.len(), kept);
}

#[test]
fn a_skipped_stream_cut_short_is_one_error_in_every_split() {
    let cut = bz2(
        &(0..5000u32)
            .map(|i| (i * 7 % 251) as u8)
            .collect::<Vec<_>>(),
        1,
    );
    checks::skipped_stream_that_does_not_end(
        &Bz2Stream::new().max_frame_length(100),
        &cut[..cut.len() - 4],
    );
}
