use super::*;
use crate::framing::decode_all;

fn encode(framer: &LengthPrefix, frame: &[u8]) -> Vec<u8> {
    let mut dst = BytesMut::new();
    framer.encode(frame, &mut dst).unwrap();
    dst.to_vec()
}

fn decode_one(framer: &LengthPrefix, wire: &[u8]) -> Bytes {
    let (frames, err) = decode_all(&mut framer.decoder(), wire);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(frames.len(), 1, "{frames:?}");
    frames.into_iter().next().unwrap()
}

#[test]
fn fixed_widths_and_byte_orders() {
    let cases: [(LengthPrefix, &[u8]); 7] = [
        (LengthPrefix::u8(), b"\x03"),
        (LengthPrefix::u16_be(), b"\x00\x03"),
        (LengthPrefix::u16_le(), b"\x03\x00"),
        (LengthPrefix::u32_be(), b"\x00\x00\x00\x03"),
        (LengthPrefix::u32_le(), b"\x03\x00\x00\x00"),
        (LengthPrefix::u64_be(), b"\x00\x00\x00\x00\x00\x00\x00\x03"),
        (LengthPrefix::u64_le(), b"\x03\x00\x00\x00\x00\x00\x00\x00"),
    ];
    for (framer, header) in cases {
        let wire = encode(&framer, b"abc");
        assert_eq!(&wire[..header.len()], header, "{framer:?}");
        assert_eq!(&wire[header.len()..], b"abc");
        assert_eq!(decode_one(&framer, &wire), "abc");
    }
    assert_eq!(LengthPrefix::default().width(), LengthWidth::U32);
    assert!(LengthPrefix::default().is_big_endian());
}

#[test]
fn varint_headers() {
    let framer = LengthPrefix::varint();
    for (len, header) in [
        (0usize, &b"\x00"[..]),
        (1, b"\x01"),
        (127, b"\x7f"),
        (128, b"\x80\x01"),
        (300, b"\xac\x02"),
        (16_384, b"\x80\x80\x01"),
    ] {
        let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let wire = encode(&framer, &payload);
        assert_eq!(&wire[..header.len()], header, "length {len}");
        assert_eq!(&wire[header.len()..], &payload[..], "payload moved intact");
        assert_eq!(decode_one(&framer, &wire), payload);
    }
    assert_eq!(varint_len(u64::MAX), 10);
}

#[test]
fn varint_with_offset_and_adjustment() {
    let framer = LengthPrefix::builder()
        .length_field_width(LengthWidth::Varint)
        .length_field_offset(2)
        .length_adjustment(-1)
        .build();
    let payload = [7u8; 200];
    let wire = encode(&framer, &payload);
    // Two zero bytes, then varint(201) = c9 01, then the payload.
    assert_eq!(&wire[..4], b"\x00\x00\xc9\x01");
    assert_eq!(decode_one(&framer, &wire), &payload[..]);
}

#[test]
fn malformed_varints_are_fatal() {
    let framer = LengthPrefix::varint().max_frame_length(usize::MAX);
    // Eleven continuation bytes.
    let (_, err) = decode_all(&mut framer.decoder(), &[0xff; 11]);
    let err = err.unwrap();
    assert!(!err.recoverable);
    assert!(matches!(err.error, FramingError::InvalidHeader { .. }));
    // Ten bytes whose value overflows u64.
    let mut wire = vec![0xff; 9];
    wire.push(0x02);
    let (_, err) = decode_all(&mut framer.decoder(), &wire);
    assert!(matches!(
        err.unwrap().error,
        FramingError::InvalidHeader { .. }
    ));
    // u64::MAX itself is a valid header (and too long a frame).
    let mut wire = vec![0xff; 9];
    wire.push(0x01);
    let (_, err) = decode_all(&mut LengthPrefix::varint().decoder(), &wire);
    assert_eq!(
        err.unwrap().error,
        FramingError::FrameTooLong {
            length: u64::MAX,
            limit: LengthPrefix::DEFAULT_MAX_FRAME_LENGTH
        }
    );
}

/// The layouts of tokio-util's `length_delimited` module documentation
/// (3-byte fields replaced by u16 ones), decoded the way its decoder does:
/// the frame is `value + adjustment` bytes starting at `num_skip`.
#[test]
fn tokio_util_layouts() {
    let b = LengthPrefix::builder;
    let u16 = LengthWidth::U16;
    let cases: Vec<(LengthPrefix, &[u8], &[u8])> = vec![
        // Head kept: the length counts the payload only.
        (
            b().length_field_width(u16)
                .length_adjustment(2)
                .num_skip(0)
                .build(),
            b"\x00\x0bHello world",
            b"\x00\x0bHello world",
        ),
        // Head stripped.
        (
            b().length_field_width(u16).build(),
            b"\x00\x0bHello world",
            b"Hello world",
        ),
        // The length counts the head.
        (
            b().length_field_width(u16).length_adjustment(-2).build(),
            b"\x00\x0dHello world",
            b"Hello world",
        ),
        // Extra head after the field, kept with the field.
        (
            b().length_field_width(u16)
                .length_adjustment(4)
                .num_skip(0)
                .build(),
            b"\x00\x0b\xca\xfeHello world",
            b"\x00\x0b\xca\xfeHello world",
        ),
        // hdr1, length, hdr2: hdr2 and the payload returned.
        (
            b().length_field_offset(1)
                .length_field_width(u16)
                .length_adjustment(1)
                .num_skip(3)
                .build(),
            b"\xca\x00\x0b\xfeHello world",
            b"\xfeHello world",
        ),
        // The same when the length counts the whole frame.
        (
            b().length_field_offset(1)
                .length_field_width(u16)
                .length_adjustment(-3)
                .num_skip(3)
                .build(),
            b"\xca\x00\x0f\xfeHello world",
            b"\xfeHello world",
        ),
        // A byte skipped between the field and the payload.
        (
            b().length_field_width(u16).num_skip(3).build(),
            b"\x00\x0b\xffHello world",
            b"Hello world",
        ),
    ];
    for (framer, wire, frame) in cases {
        // Twice in a row, to check the state is reset between frames.
        let doubled = [wire, wire].concat();
        let (frames, err) = decode_all(&mut framer.decoder(), &doubled);
        assert!(err.is_none(), "{framer:?}: {err:?}");
        assert_eq!(frames, vec![frame, frame], "{framer:?}");
        // Encoding gives back the frame, with zeros for head bytes that are
        // not part of it.
        assert_eq!(decode_one(&framer, &encode(&framer, frame)), frame);
    }
}

#[test]
fn encode_back_patches_a_head_inside_the_frame() {
    let framer = LengthPrefix::builder()
        .length_field_width(LengthWidth::U16)
        .length_adjustment(2)
        .num_skip(0)
        .build();
    // The caller writes a placeholder for the field; the framer patches it.
    assert_eq!(encode(&framer, b"\xff\xffhi"), b"\x00\x02hi");
    let mut dst = BytesMut::new();
    let err = framer.encode(b"x", &mut dst).unwrap_err();
    assert!(matches!(err, EncodeError::Serialize(_)), "{err}");
    assert!(dst.is_empty());
}

#[test]
fn limit_applies_after_adjustment() {
    // tokio#4815: the header says 8, the frame is 8 + 5 = 13 > 10.
    let framer = LengthPrefix::builder()
        .length_field_width(LengthWidth::U8)
        .length_adjustment(5)
        .num_skip(0)
        .max_frame_length(10)
        .build();
    let (_, err) = decode_all(&mut framer.decoder(), b"\x08");
    let err = err.unwrap();
    assert!(!err.recoverable);
    assert_eq!(
        err.error,
        FramingError::FrameTooLong {
            length: 13,
            limit: 10
        }
    );
    // And a header counting its own head may say more than the limit.
    let framer = LengthPrefix::builder()
        .length_field_width(LengthWidth::U8)
        .length_adjustment(-1)
        .max_frame_length(3)
        .build();
    assert_eq!(decode_one(&framer, b"\x04abc"), "abc");
}

#[test]
fn header_width_caps_the_limit() {
    assert_eq!(Framer::max_frame_length(&LengthPrefix::u8()), 255);
    let framer = LengthPrefix::builder()
        .length_field_width(LengthWidth::U8)
        .length_adjustment(-1)
        .build();
    assert_eq!(Framer::max_frame_length(&framer), 254);
    let mut dst = BytesMut::from(&b"keep"[..]);
    let err = LengthPrefix::u8().encode(&[0; 256], &mut dst).unwrap_err();
    assert!(matches!(
        err,
        EncodeError::FrameTooLong {
            length: 256,
            limit: 255
        }
    ));
    assert_eq!(&dst[..], b"keep", "a refused frame leaves nothing");
    let err = LengthPrefix::u32_be()
        .max_frame_length(4)
        .encode(b"12345", &mut dst)
        .unwrap_err();
    assert!(matches!(err, EncodeError::FrameTooLong { length: 5, .. }));
    assert_eq!(&dst[..], b"keep");
}

#[test]
fn negative_or_self_overlapping_lengths_are_fatal() {
    let framer = LengthPrefix::builder()
        .length_field_width(LengthWidth::U16)
        .length_adjustment(-2)
        .build();
    let (_, err) = decode_all(&mut framer.decoder(), b"\x00\x01x");
    let err = err.unwrap();
    assert!(!err.recoverable);
    assert!(matches!(err.error, FramingError::InvalidHeader { .. }));

    // A frame that would end inside its own head (and so never progress).
    let framer = LengthPrefix::builder()
        .length_field_width(LengthWidth::U16)
        .num_skip(0)
        .build();
    let (_, err) = decode_all(&mut framer.decoder(), b"\x00\x01");
    assert!(matches!(
        err.unwrap().error,
        FramingError::InvalidHeader { .. }
    ));
}

#[test]
fn errors_are_sticky() {
    let mut decoder = LengthPrefix::u8().max_frame_length(2).decoder();
    let mut buf = BytesMut::from(&b"\x05abcde\x01a"[..]);
    let first = decoder.decode(&mut buf).unwrap_err();
    let again = decoder.decode(&mut buf).unwrap_err();
    assert_eq!(first, again);
}

#[test]
fn a_4_gib_header_does_not_allocate() {
    // Rejected by the default limit: the error comes at once.
    let mut buf = BytesMut::with_capacity(64);
    buf.extend_from_slice(b"\xff\xff\xff\xffpayload");
    let cap = buf.capacity();
    let err = LengthPrefix::u32_be()
        .decoder()
        .decode(&mut buf)
        .unwrap_err();
    assert_eq!(
        err.error,
        FramingError::FrameTooLong {
            length: 0xffff_ffff,
            limit: LengthPrefix::DEFAULT_MAX_FRAME_LENGTH
        }
    );
    assert_eq!(buf.capacity(), cap);

    // Accepted by a huge limit: still nothing reserved while waiting.
    let framer = LengthPrefix::u64_be().max_frame_length(usize::MAX);
    let mut decoder = framer.decoder();
    let mut buf = BytesMut::with_capacity(64);
    buf.extend_from_slice(&(4u64 << 30).to_be_bytes());
    buf.extend_from_slice(b"start");
    assert_eq!(decoder.decode(&mut buf).unwrap(), None);
    assert_eq!(buf.capacity(), 64);
}

#[test]
fn header_is_parsed_once_across_reads() {
    let framer = LengthPrefix::varint().max_frame_length(1 << 20);
    let wire = encode(&framer, &[1u8; 100_000]);
    let mut decoder = framer.decoder();
    let mut buf = BytesMut::new();
    let mut frames = 0;
    for byte in &wire {
        buf.extend_from_slice(&[*byte]);
        if let Some(frame) = decoder.decode(&mut buf).unwrap() {
            assert_eq!(frame.len(), 100_000);
            frames += 1;
        }
    }
    assert_eq!(frames, 1);
    assert_eq!(decoder.bytes_examined(), 3, "only the 3 varint bytes");
}

#[test]
fn eof_inside_a_frame_reports_pending_bytes() {
    let (frames, err) = decode_all(
        &mut LengthPrefix::u16_be().decoder(),
        b"\x00\x01a\x00\x05ab",
    );
    assert_eq!(frames, vec!["a"]);
    assert_eq!(
        err.unwrap().error,
        FramingError::UnexpectedEof { pending: 4 }
    );
}

#[test]
fn failing_writer_leaves_nothing() {
    let mut dst = BytesMut::from(&b"x"[..]);
    let err = LengthPrefix::varint()
        .encode_with(&mut dst, |dst| {
            dst.extend_from_slice(b"partial");
            Err(EncodeError::serialize("nope"))
        })
        .unwrap_err();
    assert!(matches!(err, EncodeError::Serialize(_)));
    assert_eq!(&dst[..], b"x");
}

#[test]
#[should_panic(expected = "num_skip")]
fn varint_with_num_skip_panics() {
    let _ = LengthPrefix::builder()
        .length_field_width(LengthWidth::Varint)
        .num_skip(0)
        .build();
}

/// A big frame that starts after frames already taken from the same buffer
/// (a consumed prefix ahead of it in the allocation): each growth step
/// still lands at most 8x what the buffer holds, and the frame arrives
/// whole.
#[test]
fn growth_after_consumed_frames_stays_bounded() {
    const BIG: usize = 1 << 20;
    let framer = LengthPrefix::u32_be().max_frame_length(2 * BIG);
    let mut wire = BytesMut::new();
    for small in 0..64u8 {
        framer.encode(&[small; 100], &mut wire).unwrap();
    }
    framer.encode(&vec![7u8; BIG], &mut wire).unwrap();
    let mut decoder = framer.decoder();
    let mut buf = BytesMut::new();
    // Taking back the room of consumed frames is no new memory; new memory
    // (a capacity never seen before) stays within 8x what the buffer holds.
    let mut largest = 0;
    let (mut small, mut big) = (0, 0);
    for chunk in wire.chunks(700) {
        buf.extend_from_slice(chunk);
        largest = largest.max(buf.capacity());
        loop {
            match decoder.decode(&mut buf).unwrap() {
                Some(frame) if frame.len() == 100 => small += 1,
                Some(frame) => {
                    assert!(frame.iter().all(|&b| b == 7));
                    big += 1;
                }
                None => {
                    assert!(
                        buf.capacity() <= largest || buf.capacity() <= 8 * buf.len(),
                        "{} bytes of capacity for {} held",
                        buf.capacity(),
                        buf.len()
                    );
                    largest = largest.max(buf.capacity());
                    break;
                }
            }
        }
    }
    assert_eq!((small, big), (64, 1));
    assert!(buf.is_empty());
}
