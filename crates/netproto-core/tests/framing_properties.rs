//! Properties every framer keeps, checked with proptest:
//!
//! 1. any split of the input into reads yields the same frames (and errors)
//!    as decoding it in one go, whether frames are lent in place
//!    (`next_frame`) or split off (`decode`);
//! 2. encode then decode is the identity;
//! 3. frames over the limit are refused on encode and on decode, and while
//!    decoding hostile input the buffer never grows past the limit plus one
//!    read;
//! 4. the delimiter (and JSON-document) framer resynchronises after an
//!    overrun;
//! 5. a 16 MiB frame fed in 1 KiB reads is decoded examining each byte a
//!    bounded number of times (counted, not timed).

use bytes::{Bytes, BytesMut};
use netproto_core::error::{EncodeError, FramingError};
use netproto_core::framing::{
    DecodeFailure, Delimiter, FixedSize, FrameDecoder, Framer, JsonDocument, LengthPrefix,
    LengthWidth, Raw,
};
use proptest::prelude::*;

/// What a decoder reported, with the observed length of an overrun left out
/// (it depends on how much was buffered when the overrun was seen).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Event {
    Frame(Bytes),
    TooLong { limit: usize, recoverable: bool },
    Error(FramingError, bool),
}

fn event(failure: DecodeFailure) -> Event {
    match failure.error {
        FramingError::FrameTooLong { limit, .. }
        | FramingError::FrameTooLongSoFar { limit, .. } => Event::TooLong {
            limit,
            recoverable: failure.recoverable,
        },
        error => Event::Error(error, failure.recoverable),
    }
}

fn frame(bytes: &[u8]) -> Event {
    Event::Frame(Bytes::copy_from_slice(bytes))
}

fn too_long(limit: usize, recoverable: bool) -> Event {
    Event::TooLong { limit, recoverable }
}

struct Run {
    events: Vec<Event>,
    /// The largest the receive buffer got, right after a read.
    max_buffered: usize,
}

/// Drive `decoder` the way an endpoint does: append a read of the next size
/// (cycling through `reads`), take every frame, go on after recoverable
/// errors, stop at a fatal one; at the end of the input, call `decode_eof`.
///
/// Frames are taken as the endpoint takes them, lent in place by
/// `next_frame` and consumed by dropping; [`one_shot`] splits them off with
/// `decode`, so every "any split" property also checks the two paths agree.
fn run<D: FrameDecoder>(decoder: D, input: &[u8], reads: &[usize]) -> Run {
    run_with(decoder, input, reads, true)
}

/// Take the next frame, lent (`next_frame`) or split off (`decode`).
fn take<D: FrameDecoder>(
    decoder: &mut D,
    buf: &mut BytesMut,
    lend: bool,
    eof: bool,
) -> Result<Option<Bytes>, DecodeFailure> {
    let copy = |frame: Option<netproto_core::framing::Frame<'_>>| {
        frame.map(|frame| Bytes::copy_from_slice(&frame))
    };
    match (lend, eof) {
        (true, false) => decoder.next_frame(buf).map(copy),
        (true, true) => decoder.next_frame_eof(buf).map(copy),
        (false, false) => decoder.decode(buf),
        (false, true) => decoder.decode_eof(buf),
    }
}

fn run_with<D: FrameDecoder>(mut decoder: D, input: &[u8], reads: &[usize], lend: bool) -> Run {
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    let mut max_buffered = 0;
    let mut rest = input;
    let mut reads = reads.iter().cycle();
    while !rest.is_empty() {
        let n = (*reads.next().unwrap()).clamp(1, rest.len());
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        max_buffered = max_buffered.max(buf.len());
        loop {
            match take(&mut decoder, &mut buf, lend, false) {
                Ok(Some(f)) => events.push(Event::Frame(f)),
                Ok(None) => break,
                Err(e) if e.recoverable => events.push(event(e)),
                Err(e) => {
                    events.push(event(e));
                    return Run {
                        events,
                        max_buffered,
                    };
                }
            }
        }
    }
    loop {
        match take(&mut decoder, &mut buf, lend, true) {
            Ok(Some(f)) => events.push(Event::Frame(f)),
            Ok(None) => break,
            Err(e) if e.recoverable => events.push(event(e)),
            Err(e) => {
                events.push(event(e));
                break;
            }
        }
    }
    Run {
        events,
        max_buffered,
    }
}

fn one_shot<D: FrameDecoder>(decoder: D, input: &[u8]) -> Vec<Event> {
    run_with(decoder, input, &[usize::MAX], false).events
}

fn reads() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..=64, 1..16)
}

fn bytes_from(alphabet: &'static [u8], len: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(alphabet), 0..len)
}

// ---------------------------------------------------------------- delimiter

/// LF, CRLF and multi-byte delimiters (two that overlap themselves), with
/// the delimiter stripped or kept.
fn delimiters() -> impl Strategy<Value = (Delimiter, bool)> {
    let delimiter = prop::sample::select(vec![&b"\n"[..], b"\r\n", b"\r\n\r\n", b"aba"]);
    (delimiter, any::<bool>()).prop_map(|(d, keep)| (Delimiter::new(d).keep_delimiter(keep), keep))
}

/// What the decoder returns for `f` sent by `framer`.
fn delimited(f: &[u8], framer: &Delimiter, keep: bool) -> Event {
    if keep {
        frame(&[f, framer.delimiter()].concat())
    } else {
        frame(f)
    }
}

/// Whether the peer would cut `frame` + delimiter right after `frame`
/// (a naive search, independent of the framer's).
fn cuts_cleanly(frame: &[u8], delimiter: &[u8]) -> bool {
    let wire = [frame, delimiter].concat();
    wire.windows(delimiter.len()).position(|w| w == delimiter) == Some(frame.len())
}

// ------------------------------------------------------------ length prefix

/// Layouts with the head stripped, so the frame given to `encode` comes
/// back, with a limit of 300 bytes.
fn length_prefixes() -> impl Strategy<Value = LengthPrefix> {
    use LengthWidth::{U8, U16, U32, U64, Varint};
    // (width, little endian, offset, adjustment, num_skip)
    let layouts: Vec<(LengthWidth, bool, usize, isize, Option<usize>)> = vec![
        (U8, false, 0, 0, None),
        (U16, false, 0, 0, None),
        (U16, true, 0, 0, None),
        (U32, false, 0, 0, None),
        (U32, true, 0, 0, None),
        (U64, false, 0, 0, None),
        (U64, true, 0, 0, None),
        (Varint, false, 0, 0, None),
        (Varint, false, 2, -1, None),
        (U16, false, 1, 1, Some(3)),  // hdr1 | len | hdr2 + payload
        (U16, false, 1, -3, Some(3)), // the same, the length counting it all
        (U32, true, 3, 0, Some(9)),   // two unused bytes before the payload
        (U16, false, 0, 50, None),    // large adjustments both ways: the
        (U16, false, 0, -50, None),   // limit applies after them
    ];
    prop::sample::select(layouts).prop_map(|(width, le, offset, adjustment, skip)| {
        let mut b = LengthPrefix::builder()
            .length_field_width(width)
            .length_field_offset(offset)
            .length_adjustment(adjustment)
            .max_frame_length(300);
        if le {
            b = b.little_endian();
        }
        if let Some(skip) = skip {
            b = b.num_skip(skip);
        }
        b.build()
    })
}

/// Rebuild `framer`'s layout with another limit.
fn with_limit(framer: &LengthPrefix, max: usize) -> LengthPrefix {
    framer.clone().max_frame_length(max)
}

// ------------------------------------------------------------ JSON documents

fn json_string() -> impl Strategy<Value = String> {
    "[a-z{}\\[\\]\"\\\\ ]{0,10}".prop_map(|s| {
        let escaped: String = s
            .chars()
            .map(|c| match c {
                '"' => "\\\"".to_string(),
                '\\' => "\\\\".to_string(),
                c => c.to_string(),
            })
            .collect();
        format!("\"{escaped}\"")
    })
}

fn json_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        any::<i32>().prop_map(|n| n.to_string()),
        json_string(),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec((json_string(), inner), 0..5).prop_map(|kv| {
                let members: Vec<String> =
                    kv.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    })
}

/// Documents encoded back to back, with some whitespace between them.
fn json_wire(docs: &[String], spaces: &[String]) -> Vec<u8> {
    let framer = JsonDocument::new().max_frame_length(usize::MAX);
    let mut wire = BytesMut::new();
    for (i, doc) in docs.iter().enumerate() {
        framer.encode(doc.as_bytes(), &mut wire).unwrap();
        wire.extend_from_slice(spaces[i % spaces.len()].as_bytes());
    }
    wire.to_vec()
}

fn spaces() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("[ \t\r\n]{0,3}", 1..4)
}

proptest! {
    // Integration tests have no lib.rs for proptest to persist failures
    // next to; a failure prints its minimal input instead.
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    // 1. Any split gives the same result as one-shot decoding.

    #[test]
    fn delimiter_any_split(
        (framer, _keep) in delimiters(),
        max in 0usize..12,
        input in bytes_from(b"ab\r\n", 300),
        reads in reads(),
    ) {
        let framer = framer.max_frame_length(max);
        prop_assert_eq!(
            run(framer.decoder(), &input, &reads).events,
            one_shot(framer.decoder(), &input)
        );
    }

    #[test]
    fn length_prefix_any_split(
        framer in length_prefixes(),
        frames in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..400), 0..6),
        tail in prop::collection::vec(any::<u8>(), 0..12),
        reads in reads(),
    ) {
        // Valid frames (some over the limit of 300), then garbage.
        let permissive = with_limit(&framer, 1000);
        let mut wire = BytesMut::new();
        for f in &frames {
            let _ = permissive.encode(f, &mut wire);
        }
        wire.extend_from_slice(&tail);
        prop_assert_eq!(
            run(framer.decoder(), &wire, &reads).events,
            one_shot(framer.decoder(), &wire)
        );
    }

    #[test]
    fn fixed_size_any_split(
        size in 1usize..16,
        input in prop::collection::vec(any::<u8>(), 0..300),
        reads in reads(),
    ) {
        let framer = FixedSize::new(size);
        prop_assert_eq!(
            run(framer.decoder(), &input, &reads).events,
            one_shot(framer.decoder(), &input)
        );
    }

    #[test]
    fn raw_any_split_keeps_the_bytes(
        max in 1usize..50,
        input in prop::collection::vec(any::<u8>(), 0..300),
        reads in reads(),
    ) {
        let framer = Raw::new().max_frame_length(max);
        let run = run(framer.decoder(), &input, &reads);
        let mut joined = Vec::new();
        for e in run.events {
            let Event::Frame(f) = e else { panic!("raw framing failed: {e:?}") };
            prop_assert!(!f.is_empty() && f.len() <= max);
            joined.extend_from_slice(&f);
        }
        prop_assert_eq!(joined, input);
        // 3. The buffer holds at most one read.
        prop_assert!(run.max_buffered <= 64);
    }

    #[test]
    fn json_any_split(
        docs in prop::collection::vec(json_value(), 0..6),
        spaces in spaces(),
        tail in bytes_from(b"{}[]\"\\ x1", 12),
        max in prop_oneof![Just(8usize), Just(40), Just(64 * 1024)],
        reads in reads(),
    ) {
        let mut wire = json_wire(&docs, &spaces);
        wire.extend_from_slice(&tail);
        let framer = JsonDocument::new().max_frame_length(max);
        prop_assert_eq!(
            run(framer.decoder(), &wire, &reads).events,
            one_shot(framer.decoder(), &wire)
        );
    }

    // 2. Encode then decode is the identity.

    #[test]
    fn delimiter_round_trip(
        (framer, keep) in delimiters(),
        frames in prop::collection::vec(bytes_from(b"ab\r\n", 20), 0..8),
        reads in reads(),
    ) {
        let mut wire = BytesMut::new();
        let mut expected = Vec::new();
        for f in &frames {
            let before = wire.len();
            match framer.encode(f, &mut wire) {
                Ok(()) => {
                    prop_assert!(cuts_cleanly(f, framer.delimiter()));
                    expected.push(delimited(f, &framer, keep));
                }
                Err(EncodeError::ContainsDelimiter { .. }) => {
                    prop_assert!(!cuts_cleanly(f, framer.delimiter()));
                    prop_assert_eq!(wire.len(), before);
                }
                Err(e) => panic!("unexpected {e}"),
            }
        }
        prop_assert_eq!(run(framer.decoder(), &wire, &reads).events, expected);
    }

    #[test]
    fn length_prefix_round_trip(
        framer in length_prefixes(),
        frames in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..6),
        reads in reads(),
    ) {
        let mut wire = BytesMut::new();
        let mut expected = Vec::new();
        for f in &frames {
            let before = wire.len();
            match framer.encode(f, &mut wire) {
                Ok(()) => expected.push(frame(f)),
                // A frame too short for the layout (a positive adjustment).
                Err(EncodeError::Serialize(_)) => prop_assert_eq!(wire.len(), before),
                // Over what the header width can express (u8: 255).
                Err(EncodeError::FrameTooLong { limit, .. }) => {
                    prop_assert!(f.len() > limit);
                    prop_assert_eq!(limit, Framer::max_frame_length(&framer));
                    prop_assert_eq!(wire.len(), before);
                }
                Err(e) => panic!("unexpected {e}"),
            }
        }
        prop_assert_eq!(run(framer.decoder(), &wire, &reads).events, expected);
    }

    #[test]
    fn length_prefix_round_trip_with_head_in_frame(
        big_endian in any::<bool>(),
        frames in prop::collection::vec(prop::collection::vec(any::<u8>(), 2..100), 0..6),
        reads in reads(),
    ) {
        // | len: u16 (payload only) | payload |, the frame includes the head.
        let builder = LengthPrefix::builder()
            .length_field_width(LengthWidth::U16)
            .length_adjustment(2)
            .num_skip(0);
        let framer = if big_endian { builder.build() } else { builder.little_endian().build() };
        let mut wire = BytesMut::new();
        let mut expected = Vec::new();
        for f in &frames {
            framer.encode(f, &mut wire).unwrap();
            let len = (f.len() - 2) as u16;
            let head = if big_endian { len.to_be_bytes() } else { len.to_le_bytes() };
            expected.push(frame(&[&head[..], &f[2..]].concat()));
        }
        prop_assert_eq!(run(framer.decoder(), &wire, &reads).events, expected);
    }

    #[test]
    fn fixed_size_round_trip(
        size in 1usize..16,
        seeds in prop::collection::vec(any::<u8>(), 0..10),
        reads in reads(),
    ) {
        let framer = FixedSize::new(size);
        let frames: Vec<Vec<u8>> = seeds.iter().map(|&s| vec![s; size]).collect();
        let mut wire = BytesMut::new();
        for f in &frames {
            framer.encode(f, &mut wire).unwrap();
        }
        let expected: Vec<Event> = frames.iter().map(|f| frame(f)).collect();
        prop_assert_eq!(run(framer.decoder(), &wire, &reads).events, expected);
    }

    #[test]
    fn raw_round_trip(
        chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..50), 0..6),
        reads in reads(),
    ) {
        let framer = Raw::new();
        let mut wire = BytesMut::new();
        for c in &chunks {
            framer.encode(c, &mut wire).unwrap();
        }
        let joined: Vec<u8> = run(framer.decoder(), &wire, &reads)
            .events
            .into_iter()
            .flat_map(|e| match e {
                Event::Frame(f) => f.to_vec(),
                other => panic!("{other:?}"),
            })
            .collect();
        prop_assert_eq!(joined, chunks.concat());
    }

    #[test]
    fn json_round_trip(
        docs in prop::collection::vec(json_value(), 0..8),
        reads in reads(),
    ) {
        let framer = JsonDocument::new();
        let mut wire = BytesMut::new();
        for d in &docs {
            framer.encode(d.as_bytes(), &mut wire).unwrap();
        }
        let expected: Vec<Event> = docs.iter().map(|d| frame(d.as_bytes())).collect();
        prop_assert_eq!(run(framer.decoder(), &wire, &reads).events, expected);
    }

    // 3. The limit, on encode and on decode, and a bounded buffer.

    #[test]
    fn over_the_limit_is_refused_on_encode(len in 0usize..64, max in 0usize..32) {
        let payload = vec![b'x'; len];
        let mut dst = BytesMut::from(&b"prefix"[..]);
        let delimited = Delimiter::lf().max_frame_length(max).encode(&payload, &mut dst);
        prop_assert_eq!(delimited.is_err(), len > max);
        let prefixed = LengthPrefix::varint().max_frame_length(max).encode(&payload, &mut dst);
        prop_assert_eq!(prefixed.is_err(), len > max);
        let array = format!("[{}]", "1,".repeat(len / 2) + "1");
        let json = JsonDocument::new().max_frame_length(max).encode(array.as_bytes(), &mut dst);
        prop_assert_eq!(json.is_err(), array.len() > max);
        let fixed = FixedSize::new(max.max(1)).encode(&payload, &mut dst);
        prop_assert_eq!(fixed.is_err(), len != max.max(1));
        for result in [delimited, prefixed, json] {
            if let Err(e) = result {
                let is_too_long = matches!(e, EncodeError::FrameTooLong { .. });
                prop_assert!(is_too_long);
            }
        }
        // Refused frames leave nothing behind.
        let expected_len = 6
            + if len <= max { len + 1 } else { 0 }
            + if len <= max { len + (len >= 128) as usize + 1 } else { 0 }
            + if array.len() <= max { array.len() } else { 0 }
            + if len == max.max(1) { len } else { 0 };
        prop_assert_eq!(dst.len(), expected_len);
    }

    #[test]
    fn length_prefix_refuses_long_frames_on_decode(
        framer in length_prefixes(),
        lens in prop::collection::vec(0usize..600, 1..5),
        reads in reads(),
    ) {
        let permissive = with_limit(&framer, 1000);
        let mut wire = BytesMut::new();
        let mut expected = Vec::new();
        for &len in &lens {
            let f = vec![len as u8; len];
            if permissive.encode(&f, &mut wire).is_err() {
                continue; // too short for the layout
            }
            if len > 300 {
                expected.push(too_long(300, false));
                break; // fatal: nothing after it
            }
            expected.push(frame(&f));
        }
        prop_assert_eq!(run(framer.decoder(), &wire, &reads).events, expected);
    }

    #[test]
    fn hostile_input_keeps_the_buffer_bounded(
        (delimiter, _keep) in delimiters(),
        prefix in length_prefixes(),
        max in 0usize..40,
        read in 1usize..64,
        garbage in bytes_from(b"ab\r\n", 2000),
        random in prop::collection::vec(any::<u8>(), 0..2000),
        json in bytes_from(b"[[[{{\"\\ x1]}", 2000),
    ) {
        let reads = [read];
        let d = delimiter.max_frame_length(max);
        let dlen = d.delimiter().len();
        prop_assert!(run(d.decoder(), &garbage, &reads).max_buffered <= max + dlen - 1 + read);

        let p = prefix.max_frame_length(max);
        // Head and skipped bytes of these layouts are at most 12 bytes.
        prop_assert!(run(p.decoder(), &random, &reads).max_buffered <= max + 12 + read);

        let j = JsonDocument::new().max_frame_length(max);
        prop_assert!(run(j.decoder(), &json, &reads).max_buffered <= max + read);

        let size = max.max(1);
        prop_assert!(run(FixedSize::new(size).decoder(), &random, &reads).max_buffered < size + read);
    }

    // 4. Resynchronisation after an overrun.

    #[test]
    fn delimiter_resynchronises_after_an_overrun(
        (framer, keep) in delimiters(),
        frames in prop::collection::vec(bytes_from(b"ab\r\n", 40), 0..10),
        reads in reads(),
    ) {
        let max = 10;
        let framer = framer.max_frame_length(max);
        let delimiter = framer.delimiter().to_vec();
        let mut wire = Vec::new();
        let mut expected = Vec::new();
        for f in frames.iter().filter(|f| cuts_cleanly(f, &delimiter)) {
            wire.extend_from_slice(f);
            wire.extend_from_slice(&delimiter);
            expected.push(if f.len() > max {
                too_long(max, true)
            } else {
                delimited(f, &framer, keep)
            });
        }
        prop_assert_eq!(run(framer.decoder(), &wire, &reads).events, expected);
    }

    #[test]
    fn json_resynchronises_after_an_overrun(
        docs in prop::collection::vec(json_value(), 0..8),
        spaces in spaces(),
        reads in reads(),
    ) {
        let max = 12;
        let wire = json_wire(&docs, &spaces);
        let expected: Vec<Event> = docs
            .iter()
            .map(|d| if d.len() > max { too_long(max, true) } else { frame(d.as_bytes()) })
            .collect();
        let framer = JsonDocument::new().max_frame_length(max);
        prop_assert_eq!(run(framer.decoder(), &wire, &reads).events, expected);
    }
}

// 5. A 16 MiB frame in 1 KiB reads: bytes are examined a bounded number of
//    times.

const BIG: usize = 16 * 1024 * 1024;

/// Feed `wire` in 1 KiB reads; return the frames and the decoder.
fn feed_in_kib<D: FrameDecoder>(mut decoder: D, wire: &[u8]) -> (Vec<Bytes>, D) {
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for chunk in wire.chunks(1024) {
        buf.extend_from_slice(chunk);
        while let Some(f) = decoder.decode(&mut buf).unwrap() {
            frames.push(f);
        }
    }
    assert!(buf.is_empty());
    (frames, decoder)
}

#[test]
fn big_delimited_frame_is_scanned_once() {
    for delimiter in [&b"\n"[..], b"\r\n", b"\r\n\r\n"] {
        let framer = Delimiter::new(delimiter).max_frame_length(2 * BIG);
        let mut wire = vec![b'a'; BIG];
        wire.extend_from_slice(delimiter);
        let (frames, decoder) = feed_in_kib(framer.decoder(), &wire);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].len(), BIG);
        let examined = decoder.bytes_examined();
        assert!(examined >= wire.len() as u64);
        assert!(
            examined <= 2 * wire.len() as u64,
            "{examined} bytes examined"
        );
    }
}

#[test]
fn big_json_document_is_scanned_once() {
    let half = BIG / 2;
    let mut wire = Vec::with_capacity(BIG + 64);
    wire.extend_from_slice(br#"{"s":""#);
    wire.resize(wire.len() + half, b'x');
    wire.extend_from_slice(br#"","a":["#);
    while wire.len() < BIG {
        wire.extend_from_slice(b"[1],");
    }
    wire.extend_from_slice(b"[1]]}");
    let framer = JsonDocument::new().max_frame_length(2 * BIG);
    let (frames, decoder) = feed_in_kib(framer.decoder(), &wire);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].len(), wire.len());
    assert!(decoder.bytes_examined() <= 2 * wire.len() as u64);
}

#[test]
fn big_length_prefixed_frame_parses_its_header_once() {
    for framer in [LengthPrefix::u32_be(), LengthPrefix::varint()] {
        let framer = framer.max_frame_length(2 * BIG);
        let mut wire = BytesMut::new();
        framer.encode(&vec![7u8; BIG], &mut wire).unwrap();
        let header = wire.len() - BIG;
        let (frames, decoder) = feed_in_kib(framer.decoder(), &wire);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].len(), BIG);
        // 16 385 decode calls, and the header bytes were read once: every
        // call after the header is one length comparison.
        assert_eq!(decoder.bytes_examined(), header as u64);
    }
}

#[test]
fn a_header_claiming_4_gib_does_not_allocate() {
    let cases: [(LengthPrefix, Vec<u8>); 4] = [
        (
            LengthPrefix::u32_be(),
            0xffff_ffffu32.to_be_bytes().to_vec(),
        ),
        (
            LengthPrefix::u32_le(),
            0xffff_ffffu32.to_le_bytes().to_vec(),
        ),
        (LengthPrefix::u64_be(), (4u64 << 30).to_be_bytes().to_vec()),
        (LengthPrefix::varint(), vec![0x80, 0x80, 0x80, 0x80, 0x10]),
    ];
    for (framer, header) in cases {
        let mut buf = BytesMut::with_capacity(1024);
        buf.extend_from_slice(&header);
        buf.extend_from_slice(b"some payload");
        let mut decoder = framer.decoder();
        let err = decoder.decode(&mut buf).unwrap_err();
        assert!(!err.recoverable);
        assert!(matches!(
            err.error,
            FramingError::FrameTooLong { length, .. } if length >= 1 << 32 || length == 0xffff_ffff
        ));
        assert_eq!(buf.capacity(), 1024, "{framer:?} reserved capacity");
    }
}

/// A big frame arriving in small reads: the decoder grows the buffer in a
/// few large steps bounded by what has arrived (never by what the header
/// claims), and the last step lands exactly on the frame's end.
#[test]
fn big_length_prefixed_frame_grows_the_buffer_in_few_bounded_steps() {
    let framer = LengthPrefix::u32_be().max_frame_length(2 * BIG);
    let mut wire = BytesMut::new();
    framer.encode(&vec![7u8; BIG], &mut wire).unwrap();
    let mut decoder = framer.decoder();
    let mut buf = BytesMut::new();
    let mut growths = 0;
    let mut copied = 0;
    for chunk in wire.chunks(1024) {
        let before = buf.capacity();
        buf.extend_from_slice(chunk);
        assert!(
            buf.capacity() == before || before < 1024,
            "a read grew the buffer at {}",
            buf.len()
        );
        let len = buf.len();
        let frame = decoder
            .next_frame(&mut buf)
            .unwrap()
            .map(|frame| frame.len());
        match frame {
            Some(frame_len) => {
                assert_eq!(frame_len, BIG);
                assert_eq!(len, wire.len(), "the frame is complete only at the end");
            }
            None => {
                if buf.capacity() != before {
                    growths += 1;
                    copied += len;
                }
                assert!(
                    buf.capacity() <= 8 * len,
                    "{} bytes of capacity for {len} received",
                    buf.capacity()
                );
                if len + 1024 >= wire.len() {
                    assert_eq!(buf.capacity(), wire.len(), "the last step lands on the end");
                }
            }
        }
    }
    assert!(buf.is_empty());
    assert!(growths <= 10, "{growths} growths");
    assert!(copied < BIG / 2, "{copied} bytes copied while growing");
}
