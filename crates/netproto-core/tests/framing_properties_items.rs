//! Properties of the self-delimiting item framers (`MsgPackItem`,
//! `CborItem`), checked with proptest on items of every form, generated
//! here as bytes (definite and indefinite lengths, every length width,
//! nesting):
//!
//! 1. any split of the input into reads yields the same frames (and errors)
//!    as decoding it in one go, lent in place or split off, garbage after
//!    the items included;
//! 2. encode then decode is the identity: every item comes back whole;
//! 3. an item over the limit is refused on encode, reported once on decode
//!    (recoverably) and skipped, the items after it still coming through;
//!    while decoding hostile input the buffer never grows past the limit
//!    plus a header plus one read;
//! 4. a 16 MiB item fed in 1 KiB reads is decoded examining each byte a
//!    bounded number of times (counted, not timed).

use bytes::{Bytes, BytesMut};
use netproto_core::error::{EncodeError, FramingError};
use netproto_core::framing::{CborItem, DecodeFailure, FrameDecoder, Framer, MsgPackItem};
use proptest::prelude::*;

/// What a decoder reported, the observed length of an overrun left out (a
/// frame refused before its end arrived, "at least N bytes", is too long all
/// the same).
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

struct Run {
    events: Vec<Event>,
    max_buffered: usize,
}

/// Feed `input` in reads of `reads` sizes (cycling), take every frame, go
/// on after recoverable errors, stop at a fatal one; at the end, the EOF
/// calls. Frames are lent (`next_frame`) or split off (`decode`).
fn run<D: FrameDecoder>(mut decoder: D, input: &[u8], reads: &[usize], lend: bool) -> Run {
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    let mut max_buffered = 0;
    let mut rest = input;
    let mut reads = reads.iter().cycle();
    let mut eof = rest.is_empty();
    loop {
        if !eof {
            let n = (*reads.next().unwrap()).clamp(1, rest.len());
            buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            max_buffered = max_buffered.max(buf.len());
        }
        loop {
            match take(&mut decoder, &mut buf, lend, eof) {
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
        if eof {
            return Run {
                events,
                max_buffered,
            };
        }
        eof = rest.is_empty();
    }
}

fn take<D: FrameDecoder>(
    decoder: &mut D,
    buf: &mut BytesMut,
    lend: bool,
    eof: bool,
) -> Result<Option<Bytes>, DecodeFailure> {
    let copy = |f: Option<netproto_core::framing::Frame<'_>>| f.map(|f| Bytes::copy_from_slice(&f));
    match (lend, eof) {
        (true, false) => decoder.next_frame(buf).map(copy),
        (true, true) => decoder.next_frame_eof(buf).map(copy),
        (false, false) => decoder.decode(buf),
        (false, true) => decoder.decode_eof(buf),
    }
}

fn one_shot<D: FrameDecoder>(decoder: D, input: &[u8]) -> Vec<Event> {
    run(decoder, input, &[usize::MAX], false).events
}

fn reads() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..=64, 1..16)
}

// ------------------------------------------------------------- MessagePack

fn be(n: u64, width: usize) -> Vec<u8> {
    n.to_be_bytes()[8 - width..].to_vec()
}

/// A MessagePack header for a length or count `n` in one of the forms that
/// can hold it: (fix form marker base and limit, then 8/16/32-bit markers).
fn mp_sized(n: usize, fix: Option<(u8, usize)>, markers: [Option<u8>; 3], pick: u8) -> Vec<u8> {
    let mut forms = Vec::new();
    if let Some((base, _)) = fix.filter(|&(_, limit)| n < limit) {
        forms.push(vec![base | n as u8]);
    }
    for (marker, width) in markers.into_iter().zip([1, 2, 4]) {
        if let Some(marker) = marker.filter(|_| n < 1 << (8 * width)) {
            forms.push([vec![marker], be(n as u64, width)].concat());
        }
    }
    forms[usize::from(pick) % forms.len()].clone()
}

fn mp_leaf() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<u8>()
            .prop_filter("not a container or string marker", |b| !(0x80..0xe0)
                .contains(b))
            .prop_map(|b| vec![b]),
        prop::sample::select(vec![0xc0u8, 0xc2, 0xc3]).prop_map(|b| vec![b]),
        (0usize..4, any::<u64>()).prop_map(|(w, n)| {
            // uint/int 8..64, float 32/64
            let width = 1 << w;
            [vec![0xcc + w as u8], be(n, width)].concat()
        }),
        (0usize..4, any::<u64>()).prop_map(|(w, n)| [vec![0xd0 + w as u8], be(n, 1 << w)].concat()),
        (any::<bool>(), any::<u64>()).prop_map(|(double, n)| if double {
            [vec![0xcb], be(n, 8)].concat()
        } else {
            [vec![0xca], be(n, 4)].concat()
        }),
        (0usize..5, any::<u8>())
            .prop_map(|(w, t)| [vec![0xd4 + w as u8, t], vec![7; 1 << w]].concat()),
        (
            prop::collection::vec(any::<u8>(), 0..40),
            any::<u8>(),
            0u8..3
        )
            .prop_map(|(data, pick, kind)| {
                let head = match kind {
                    0 => mp_sized(
                        data.len(),
                        Some((0xa0, 32)),
                        [Some(0xd9), Some(0xda), Some(0xdb)],
                        pick,
                    ),
                    1 => mp_sized(data.len(), None, [Some(0xc4), Some(0xc5), Some(0xc6)], pick),
                    _ => [
                        mp_sized(data.len(), None, [Some(0xc7), Some(0xc8), Some(0xc9)], pick),
                        vec![pick],
                    ]
                    .concat(),
                };
                [head, data].concat()
            }),
    ]
}

fn msgpack_item() -> impl Strategy<Value = Vec<u8>> {
    mp_leaf().prop_recursive(4, 48, 6, |inner| {
        (
            prop::collection::vec(inner, 0..6),
            any::<bool>(),
            any::<u8>(),
        )
            .prop_map(|(mut items, map, pick)| {
                if map && items.len() % 2 == 1 {
                    items.pop();
                }
                let head = if map {
                    mp_sized(
                        items.len() / 2,
                        Some((0x80, 16)),
                        [None, Some(0xde), Some(0xdf)],
                        pick,
                    )
                } else {
                    mp_sized(
                        items.len(),
                        Some((0x90, 16)),
                        [None, Some(0xdc), Some(0xdd)],
                        pick,
                    )
                };
                [head, items.concat()].concat()
            })
    })
}

// -------------------------------------------------------------------- CBOR

/// A CBOR head of `major` with argument `n`, in any width that holds it.
fn cbor_head(major: u8, n: u64, pick: u8) -> Vec<u8> {
    let mut forms = Vec::new();
    if n < 24 {
        forms.push(vec![major << 5 | n as u8]);
    }
    for (info, width) in [(24u8, 1usize), (25, 2), (26, 4), (27, 8)] {
        if width == 8 || n < 1 << (8 * width) {
            forms.push([vec![major << 5 | info], be(n, width)].concat());
        }
    }
    forms[usize::from(pick) % forms.len()].clone()
}

fn cbor_leaf() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (0u8..2, any::<u64>(), any::<u8>()).prop_map(|(major, n, pick)| cbor_head(
            major,
            n >> (pick % 64),
            pick
        )),
        (
            2u8..4,
            prop::collection::vec(prop::collection::vec(b'a'..=b'z', 0..12), 0..4),
            any::<bool>(),
            any::<u8>()
        )
            .prop_map(|(major, chunks, indefinite, pick)| {
                if indefinite {
                    let body: Vec<u8> = chunks
                        .iter()
                        .flat_map(|c| [cbor_head(major, c.len() as u64, pick), c.clone()].concat())
                        .collect();
                    [vec![major << 5 | 31], body, vec![0xff]].concat()
                } else {
                    let data = chunks.concat();
                    [cbor_head(major, data.len() as u64, pick), data].concat()
                }
            }),
        prop::sample::select(vec![0xf4u8, 0xf5, 0xf6, 0xf7, 0xe0]).prop_map(|b| vec![b]),
        any::<u8>().prop_map(|s| vec![0xf8, s]),
        (0usize..3, any::<u64>()).prop_map(|(w, n)| [vec![0xf9 + w as u8], be(n, 2 << w)].concat()),
    ]
}

fn cbor_item() -> impl Strategy<Value = Vec<u8>> {
    cbor_leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            (
                prop::collection::vec(inner.clone(), 0..6),
                0u8..4,
                any::<u8>()
            )
                .prop_map(|(mut items, kind, pick)| {
                    let map = kind % 2 == 1;
                    if map && items.len() % 2 == 1 {
                        items.pop();
                    }
                    let n = if map { items.len() / 2 } else { items.len() };
                    let major = if map { 5 } else { 4 };
                    if kind >= 2 {
                        [vec![major << 5 | 31], items.concat(), vec![0xff]].concat()
                    } else {
                        [cbor_head(major, n as u64, pick), items.concat()].concat()
                    }
                }),
            (any::<u16>(), inner, any::<u8>()).prop_map(|(tag, item, pick)| [
                cbor_head(6, u64::from(tag), pick),
                item
            ]
            .concat()),
        ]
    })
}

fn items(item: BoxedStrategy<Vec<u8>>) -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(item, 0..8)
}

/// Both framers with a limit, and a strategy for their items.
#[derive(Clone, Copy, Debug)]
enum Format {
    MsgPack,
    Cbor,
}

fn format() -> impl Strategy<Value = Format> {
    prop_oneof![Just(Format::MsgPack), Just(Format::Cbor)]
}

fn strategy(format: Format) -> BoxedStrategy<Vec<u8>> {
    match format {
        Format::MsgPack => msgpack_item().boxed(),
        Format::Cbor => cbor_item().boxed(),
    }
}

/// Run `check` with the format's framer of limit `max`.
macro_rules! with_framer {
    ($format:expr, $max:expr, |$framer:ident| $body:expr) => {
        match $format {
            Format::MsgPack => {
                let $framer = MsgPackItem::new().max_frame_length($max);
                $body
            }
            Format::Cbor => {
                let $framer = CborItem::new().max_frame_length($max);
                $body
            }
        }
    };
}

fn format_and_items() -> impl Strategy<Value = (Format, Vec<Vec<u8>>)> {
    format().prop_flat_map(|f| (Just(f), items(strategy(f))))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 96,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    // 1. Any split gives the same result as one-shot decoding.

    #[test]
    fn any_split_gives_the_same_events(
        (format, items) in format_and_items(),
        tail in prop::collection::vec(any::<u8>(), 0..16),
        max in prop_oneof![Just(0usize), Just(6), Just(40), Just(64 * 1024)],
        reads in reads(),
        lend in any::<bool>(),
    ) {
        let wire = [items.concat(), tail].concat();
        with_framer!(format, max, |framer| {
            prop_assert_eq!(
                run(framer.decoder(), &wire, &reads, lend).events,
                one_shot(framer.decoder(), &wire)
            );
        });
    }

    // 2. and 3. Encode then decode is the identity; oversized items are
    //    refused on encode, and on decode reported once and skipped.

    #[test]
    fn encoded_items_come_back_and_oversized_ones_are_skipped(
        (format, items) in format_and_items(),
        max in prop_oneof![Just(5usize), Just(30), Just(64 * 1024)],
        reads in reads(),
    ) {
        with_framer!(format, max, |framer| {
            let permissive = framer.clone().max_frame_length(usize::MAX);
            let mut wire = BytesMut::new();
            let mut expected = Vec::new();
            for item in &items {
                let mut alone = BytesMut::new();
                match framer.encode(item, &mut alone) {
                    Ok(()) => prop_assert_eq!(&alone[..], &item[..]),
                    Err(EncodeError::FrameTooLong { length, limit }) => {
                        prop_assert_eq!((length as usize, limit), (item.len(), max));
                        prop_assert!(alone.is_empty());
                    }
                    Err(e) => panic!("{item:02x?} refused: {e}"),
                }
                permissive.encode(item, &mut wire).unwrap();
                expected.push(if item.len() > max {
                    Event::TooLong { limit: max, recoverable: true }
                } else {
                    Event::Frame(Bytes::copy_from_slice(item))
                });
            }
            prop_assert_eq!(run(framer.decoder(), &wire, &reads, true).events, expected);
        });
    }

    #[test]
    fn encode_refuses_anything_but_one_whole_item(
        (format, items) in format_and_items(),
        cut in any::<prop::sample::Index>(),
    ) {
        let joined = items.concat();
        with_framer!(format, usize::MAX, |framer| {
            let mut dst = BytesMut::from(&b"kept"[..]);
            if items.len() != 1 {
                prop_assert!(framer.encode(&joined, &mut dst).is_err());
            }
            if let Some(item) = items.first().filter(|i| i.len() > 1) {
                let short = &item[..cut.index(item.len() - 1) + 1];
                if short.len() < item.len() {
                    prop_assert!(framer.encode(short, &mut dst).is_err());
                }
            }
            prop_assert_eq!(&dst[..], b"kept");
        });
    }

    #[test]
    fn hostile_input_keeps_the_buffer_bounded(
        format in format(),
        max in 0usize..40,
        read in 1usize..64,
        random in prop::collection::vec(any::<u8>(), 0..2000),
    ) {
        with_framer!(format, max, |framer| {
            // An incomplete header is at most 8 bytes beyond the limit.
            let run = run(framer.decoder(), &random, &[read], true);
            prop_assert!(run.max_buffered <= max + 8 + read, "{}", run.max_buffered);
        });
    }
}

// 4. A 16 MiB item in 1 KiB reads: bytes are examined a bounded number of
//    times.

const BIG: usize = 16 * 1024 * 1024;

fn feed_in_kib<D: FrameDecoder>(mut decoder: D, wire: &[u8]) -> (Vec<usize>, D) {
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for chunk in wire.chunks(1024) {
        buf.extend_from_slice(chunk);
        while let Some(f) = decoder.next_frame(&mut buf).unwrap() {
            frames.push(f.len());
        }
    }
    assert!(buf.is_empty());
    (frames, decoder)
}

#[test]
fn big_items_are_scanned_once() {
    let mut bin = vec![0xc6];
    bin.extend_from_slice(&(BIG as u32).to_be_bytes());
    bin.resize(5 + BIG, 7);
    let mut array = vec![0xdd];
    array.extend_from_slice(&(BIG as u32).to_be_bytes());
    array.resize(5 + BIG, 0x01);
    for wire in [bin, array] {
        let (frames, decoder) = feed_in_kib(
            MsgPackItem::new().max_frame_length(2 * BIG).decoder(),
            &wire,
        );
        assert_eq!(frames, [wire.len()]);
        assert!(decoder.bytes_examined() <= 2 * wire.len() as u64);
    }

    let mut bytes = vec![0x5a];
    bytes.extend_from_slice(&(BIG as u32).to_be_bytes());
    bytes.resize(5 + BIG, 7);
    // An indefinite text string of 3-byte chunks, and nested arrays.
    let mut chunks = vec![0x7f];
    while chunks.len() < BIG {
        chunks.extend_from_slice(b"\x62ab");
    }
    chunks.push(0xff);
    let mut nested = vec![0x9f];
    while nested.len() < BIG {
        nested.extend_from_slice(b"\x81\x9f\x01\xff");
    }
    nested.push(0xff);
    for wire in [bytes, chunks, nested] {
        let (frames, decoder) =
            feed_in_kib(CborItem::new().max_frame_length(2 * BIG).decoder(), &wire);
        assert_eq!(frames, [wire.len()]);
        assert!(decoder.bytes_examined() <= 2 * wire.len() as u64);
    }
}

#[test]
fn a_big_item_grows_the_buffer_toward_its_end_only() {
    let mut wire = vec![0xc6];
    wire.extend_from_slice(&(BIG as u32).to_be_bytes());
    wire.resize(5 + BIG, 7);
    let mut decoder = MsgPackItem::new().max_frame_length(2 * BIG).decoder();
    let mut buf = BytesMut::new();
    for chunk in wire.chunks(1024) {
        buf.extend_from_slice(chunk);
        let len = buf.len();
        if decoder.next_frame(&mut buf).unwrap().is_none() {
            assert!(
                buf.capacity() <= (8 * len).max(2048),
                "{} for {len}",
                buf.capacity()
            );
        }
    }
    assert!(buf.is_empty());
}

// ------------------------------------------------------------ zlib, bzip2

/// The properties of a framer of bare compressed streams: `$framer`
/// frames what `$wrapper` writes at levels `$levels`.
macro_rules! compressed_stream_properties {
    ($module:ident, $feature:literal, $framer:ident, $wrapper:ident, $levels:expr, $cases:expr) => {
        #[cfg(feature = $feature)]
        mod $module {
            use super::*;
            use netproto_core::framing::$framer;
            use netproto_core::serializer::{BytesSerializer, Serializer, $wrapper};

            fn stream(data: &[u8], level: u32) -> Vec<u8> {
                let mut out = BytesMut::new();
                $wrapper::new(BytesSerializer)
                    .level(level)
                    .serialize(data, &mut out)
                    .unwrap();
                out.to_vec()
            }

            fn streams() -> impl Strategy<Value = Vec<Vec<u8>>> {
                let data = prop_oneof![
                    prop::collection::vec(any::<u8>(), 0..300),
                    (any::<u8>(), 0usize..3000).prop_map(|(b, n)| vec![b; n]),
                ];
                prop::collection::vec((data, $levels), 0..6).prop_map(|streams| {
                    streams
                        .into_iter()
                        .map(|(data, level)| stream(&data, level))
                        .collect()
                })
            }

            proptest! {
                #![proptest_config(ProptestConfig {
                    cases: $cases,
                    failure_persistence: None,
                    ..ProptestConfig::default()
                })]

                #[test]
                fn any_split_gives_the_same_events(
                    streams in streams(),
                    tail in prop::collection::vec(any::<u8>(), 0..16),
                    max in prop_oneof![Just(0usize), Just(20), Just(64 * 1024)],
                    reads in reads(),
                    lend in any::<bool>(),
                ) {
                    let wire = [streams.concat(), tail].concat();
                    let framer = $framer::new().max_frame_length(max);
                    prop_assert_eq!(
                        run(framer.decoder(), &wire, &reads, lend).events,
                        one_shot(framer.decoder(), &wire)
                    );
                }

                #[test]
                fn streams_come_back_and_oversized_ones_are_skipped(
                    streams in streams(),
                    max in prop_oneof![Just(20usize), Just(64 * 1024)],
                    reads in reads(),
                ) {
                    let framer = $framer::new().max_frame_length(max);
                    let expected: Vec<Event> = streams
                        .iter()
                        .map(|s| if s.len() > max {
                            Event::TooLong { limit: max, recoverable: true }
                        } else {
                            Event::Frame(Bytes::copy_from_slice(s))
                        })
                        .collect();
                    let run = run(framer.decoder(), &streams.concat(), &reads, true);
                    prop_assert_eq!(run.events, expected);
                    prop_assert!(run.max_buffered <= max + 1 + 64);
                }
            }
        }
    };
}

compressed_stream_properties!(zlib, "compression", ZlibStream, Zlib, 0u32..10, 64);
compressed_stream_properties!(bz2, "bzip2", Bz2Stream, Bz2, 1u32..10, 24);
compressed_stream_properties!(gzip, "compression", GzipStream, Gzip, 0u32..10, 48);
