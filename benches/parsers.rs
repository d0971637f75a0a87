//! Parser benches: every framer and the main serializers, against tokio-util's
//! codecs on identical input, in the same run.
//!
//! The benches name the member crates (`netproto_core`, `netproto_sync`,
//! ...) that the `netproto` facade re-exports.
//!
//! Run them with `cargo xtask bench` (quick mode, prints a ratio table) or
//! `cargo bench --bench parsers -- [FILTER]` (criterion's full sampling).
//!
//! Naming, which `cargo xtask bench` relies on: a benchmark id is
//! `<subject>/<mode>/<implementation>/<size> x<packets>`. Implementations
//! whose name starts with `netproto` are measured; every other
//! implementation in the same group is a baseline, and the report pairs them
//! when their parameter (size and packet count) is the same. Throughput is
//! always the bytes on the wire, so a ratio of throughputs is the inverse
//! ratio of times.
//!
//! * `decode_oneshot`: every frame arrives in one read (copied into the
//!   receive buffer), then is decoded to the end.
//! * `decode_chunked`: the same bytes arrive in 1,500-byte reads, each read
//!   appended to the receive buffer and followed by decoding what it
//!   completed (what a driver does).
//!
//! Both keep one decoder and one receive buffer across iterations, as a
//! driver keeps them for a connection, and both time the copy into the
//! buffer: for framers that do not scan (length prefix, fixed size) at large
//! sizes that copy dominates, and ratios there approach 1.
//! * `encode`: every packet written into one reused send buffer.
//! * `worst_case`: one 16 MiB frame arriving in 1 KiB reads, against one-shot
//!   decoding of the same frame.

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::measurement::WallTime;
use criterion::{
    BatchSize, BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group,
    criterion_main,
};
use netproto_core::framing::{
    Delimiter, FixedSize, FrameDecoder, Framer, JsonDocument, LengthPrefix, Raw,
};
use netproto_core::serializer::{BytesSerializer, Serializer, Utf8};
use tokio_util::codec::{AnyDelimiterCodec, Decoder, Encoder, LengthDelimitedCodec, LinesCodec};

/// Packet sizes of every framer and serializer.
const SIZES: &[usize] = &[16, 128, 1024, 64 * 1024, 1024 * 1024];
/// The delimiter goals are stated for 64 B and 1 KiB lines: 64 B is added.
const DELIMITER_SIZES: &[usize] = &[16, 64, 128, 1024, 64 * 1024, 1024 * 1024];
/// The read size of the chunked decode benches (an Ethernet MTU).
const READ_SIZE: usize = 1500;
/// The frame limit every decoder (ours and the baselines) is configured with.
const LIMIT: usize = 8 * 1024 * 1024;
/// Wire bytes per iteration for small packets (at least 4 packets for large ones).
const TARGET_WIRE: usize = 512 * 1024;
/// The worst case: one frame of this size.
const WORST_FRAME: usize = 16 * 1024 * 1024;
/// ... arriving in reads of this size.
const WORST_READ: usize = 1024;

/// How many packets of `size` bytes one iteration handles.
fn packets_for(size: usize) -> usize {
    (TARGET_WIRE / size).max(4)
}

/// `1KiB x512`: the size and the packet count of one iteration (the report
/// derives packets/s from the count).
fn label(size: usize, packets: usize) -> String {
    let size = match size {
        s if s >= 1024 * 1024 && s % (1024 * 1024) == 0 => format!("{}MiB", s / (1024 * 1024)),
        s if s >= 1024 && s % 1024 == 0 => format!("{}KiB", s / 1024),
        s => format!("{s}B"),
    };
    format!("{size} x{packets}")
}

/// `size` bytes of printable ASCII with no delimiter in it, different for
/// every packet.
fn text_payload(size: usize, seed: usize) -> String {
    (0..size)
        .map(|i| char::from(b'a' + ((i + seed) % 26) as u8))
        .collect()
}

/// A JSON document of exactly `size` bytes (objects, arrays, numbers,
/// literals, strings with escapes), so the JSON framer sees real structure.
fn json_payload(size: usize) -> String {
    const HEAD: &str = "{\"items\":[";
    const MIDDLE: &str = "],\"pad\":\"";
    const TAIL: &str = "\"}";
    if size < 64 {
        let pad = size
            .checked_sub(8)
            .expect("JSON payloads are at least 8 bytes");
        return format!("{{\"p\":\"{}\"}}", "x".repeat(pad));
    }
    let mut doc = String::from(HEAD);
    let mut id = 0;
    loop {
        let item = format!(
            "{{\"id\":{id},\"name\":\"node \\\"{id}\\\"\",\"tags\":[\"a\",\"b\"],\"ok\":true}}"
        );
        let separator = usize::from(id > 0);
        if doc.len() + separator + item.len() + MIDDLE.len() + TAIL.len() > size {
            break;
        }
        if id > 0 {
            doc.push(',');
        }
        doc.push_str(&item);
        id += 1;
    }
    doc.push_str(MIDDLE);
    let pad = size - doc.len() - TAIL.len();
    doc.push_str(&"x".repeat(pad));
    doc.push_str(TAIL);
    debug_assert_eq!(doc.len(), size);
    doc
}

/// Something that takes frames off the front of a receive buffer: our
/// decoders and tokio-util's, behind one interface.
trait Cut {
    /// The next frame's length, or `None` when more bytes are needed.
    fn next_frame(&mut self, buf: &mut BytesMut) -> Option<usize>;
}

/// A netproto frame decoder, taking frames as the endpoint's receive path
/// does: lent in place by `next_frame`, consumed when dropped.
struct Ours<D>(D);

impl<D: FrameDecoder> Cut for Ours<D> {
    fn next_frame(&mut self, buf: &mut BytesMut) -> Option<usize> {
        let frame = self
            .0
            .next_frame(buf)
            .expect("bench input is well formed")?;
        Some(black_box(&frame[..]).len())
    }
}

/// A tokio-util decoder.
struct Theirs<C>(C);

/// The length of what a tokio-util decoder returns.
trait FrameLen {
    fn frame_len(&self) -> usize;
}

impl FrameLen for String {
    fn frame_len(&self) -> usize {
        self.len()
    }
}

impl FrameLen for Bytes {
    fn frame_len(&self) -> usize {
        self.len()
    }
}

impl FrameLen for BytesMut {
    fn frame_len(&self) -> usize {
        self.len()
    }
}

impl<C> Cut for Theirs<C>
where
    C: Decoder,
    C::Item: FrameLen,
    C::Error: std::fmt::Debug,
{
    fn next_frame(&mut self, buf: &mut BytesMut) -> Option<usize> {
        let frame = self.0.decode(buf).expect("bench input is well formed")?;
        Some(black_box(frame).frame_len())
    }
}

/// Decode every frame of `buf`; returns how many there were.
fn drain(cut: &mut impl Cut, buf: &mut BytesMut) -> usize {
    let mut frames = 0;
    while cut.next_frame(buf).is_some() {
        frames += 1;
    }
    frames
}

/// Feed `wire` in `read`-byte reads into `buf` (the receive buffer),
/// decoding after each; returns the frame count.
fn feed_into(cut: &mut impl Cut, buf: &mut BytesMut, wire: &[u8], read: usize) -> usize {
    let mut frames = 0;
    for chunk in wire.chunks(read) {
        buf.extend_from_slice(chunk);
        frames += drain(cut, buf);
    }
    assert!(buf.is_empty(), "every byte was consumed");
    frames
}

/// [`feed_into`] a fresh receive buffer.
fn feed(cut: &mut impl Cut, wire: &[u8], read: usize) -> usize {
    feed_into(cut, &mut BytesMut::new(), wire, read)
}

/// One input: the packets of one size, and the wire bytes holding them.
struct Input {
    /// The packets, as text (every payload here is ASCII).
    text: Vec<String>,
    /// The same packets as `Bytes`.
    bytes: Vec<Bytes>,
    /// The framed packets, back to back.
    wire: Vec<u8>,
    /// `1KiB x512`.
    param: String,
}

impl Input {
    /// `packets_for(size)` packets of `size` bytes made by `payload`,
    /// framed by `framer`.
    fn new(size: usize, framer: &impl Framer, payload: impl Fn(usize, usize) -> String) -> Input {
        let packets = packets_for(size);
        let text: Vec<String> = (0..packets).map(|i| payload(size, i)).collect();
        let bytes: Vec<Bytes> = text.iter().map(|t| Bytes::from(t.clone())).collect();
        let mut wire = BytesMut::new();
        for packet in &bytes {
            framer
                .encode(packet, &mut wire)
                .expect("bench packets fit the framer");
        }
        Input {
            text,
            bytes,
            wire: wire.to_vec(),
            param: label(size, packets),
        }
    }

    fn packets(&self) -> usize {
        self.bytes.len()
    }

    /// These packets passed through `f` (a serializer), back to back
    /// unframed, under the same label.
    #[cfg_attr(not(feature = "compression"), allow(dead_code))]
    fn mapped(&self, f: impl Fn(&Bytes) -> Bytes) -> Input {
        let bytes: Vec<Bytes> = self.bytes.iter().map(f).collect();
        Input {
            text: Vec::new(),
            wire: bytes.concat(),
            bytes,
            param: self.param.clone(),
        }
    }
}

/// How the input reaches the decoder.
#[derive(Clone, Copy)]
enum Mode {
    /// Every frame arrives in one read, then is decoded.
    OneShot,
    /// The same bytes arrive in 1,500-byte reads, each decoded at once.
    Chunked,
}

impl Mode {
    const ALL: [Mode; 2] = [Mode::OneShot, Mode::Chunked];

    fn group_name(self) -> &'static str {
        match self {
            Mode::OneShot => "decode_oneshot",
            Mode::Chunked => "decode_chunked",
        }
    }
}

/// Open `<subject>/<mode>`.
fn open<'a>(c: &'a mut Criterion, subject: &str, mode: &str) -> BenchmarkGroup<'a, WallTime> {
    c.benchmark_group(format!("{subject}/{mode}"))
}

/// Long iterations take every sample with the same iteration count.
fn sampling_for(group: &mut BenchmarkGroup<'_, WallTime>, wire_len: usize) {
    if wire_len >= 4 * 1024 * 1024 {
        group.sampling_mode(SamplingMode::Flat);
    } else {
        group.sampling_mode(SamplingMode::Auto);
    }
}

/// Bench one decoder on `input.wire` in `mode`.
///
/// Before timing, checks that the decoder cuts `input.packets()` frames
/// and consumes every byte.
fn decode<C: Cut>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    mode: Mode,
    name: &str,
    input: &Input,
    make: impl Fn() -> C,
) {
    let wire = &input.wire[..];
    let frames = match mode {
        Mode::OneShot => {
            let mut check = BytesMut::from(wire);
            let frames = drain(&mut make(), &mut check);
            assert!(check.is_empty(), "{name} consumed the input");
            frames
        }
        Mode::Chunked => feed(&mut make(), wire, READ_SIZE),
    };
    assert_eq!(frames, input.packets(), "{name}");
    group.throughput(Throughput::Bytes(wire.len() as u64));
    sampling_for(group, wire.len());
    let id = BenchmarkId::new(name, &input.param);
    // One decoder and one receive buffer for the whole bench, as a driver
    // keeps them for a connection: each iteration leaves both empty.
    let mut cut = make();
    let mut buf = BytesMut::new();
    let read = match mode {
        Mode::OneShot => wire.len(),
        Mode::Chunked => READ_SIZE,
    };
    group.bench_function(id, |b| b.iter(|| feed_into(&mut cut, &mut buf, wire, read)));
}

/// Bench an encoder: `encode` appends every packet to the (cleared) send
/// buffer, which must then hold exactly `expected` (or, when `same_length`,
/// as many bytes).
fn encode(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    input: &Input,
    mut encode: impl FnMut(&mut BytesMut),
) {
    let mut dst = BytesMut::new();
    encode(&mut dst);
    assert!(dst[..] == input.wire[..], "{name} writes the same bytes");
    group.throughput(Throughput::Bytes(input.wire.len() as u64));
    sampling_for(group, input.wire.len());
    group.bench_function(BenchmarkId::new(name, &input.param), |b| {
        b.iter(|| {
            dst.clear();
            encode(&mut dst);
            black_box(dst.len())
        })
    });
}

/// A netproto protocol (framer plus serializer) decoding to packets.
struct Packets<P: netproto_core::Protocol> {
    protocol: P,
    decoder: P::Decoder,
}

impl<P: netproto_core::Protocol> Packets<P> {
    fn new(protocol: P) -> Self {
        Packets {
            decoder: protocol.decoder(),
            protocol,
        }
    }
}

impl<P> Cut for Packets<P>
where
    P: netproto_core::Protocol,
    P::Received: FrameLen,
{
    fn next_frame(&mut self, buf: &mut BytesMut) -> Option<usize> {
        let frame = self
            .decoder
            .next_frame(buf)
            .expect("bench input is well formed")?;
        let packet = self
            .protocol
            .decode_frame(frame)
            .expect("bench packets are valid");
        Some(black_box(packet).frame_len())
    }
}

fn lines_framer() -> Delimiter {
    Delimiter::lf().max_frame_length(LIMIT)
}

/// LF-delimited lines against `LinesCodec` and `AnyDelimiterCodec`, raw
/// frames and as `String`s (`netproto (utf8)` is the delimiter framer with
/// the UTF-8 serializer: strings, like `LinesCodec`).
fn delimiter(c: &mut Criterion) {
    let framer = lines_framer();
    let inputs: Vec<Input> = DELIMITER_SIZES
        .iter()
        .map(|&size| Input::new(size, &framer, text_payload))
        .collect();
    let text = netproto_core::StreamProtocol::new(lines_framer(), Utf8);
    let any = || AnyDelimiterCodec::new_with_max_length(b"\n".to_vec(), b"\n".to_vec(), LIMIT);
    for mode in Mode::ALL {
        let mut group = open(c, "delimiter_lf", mode.group_name());
        for input in &inputs {
            decode(&mut group, mode, "netproto", input, || {
                Ours(framer.decoder())
            });
            decode(&mut group, mode, "netproto (utf8)", input, || {
                Packets::new(text.clone())
            });
            decode(&mut group, mode, "LinesCodec", input, || {
                Theirs(LinesCodec::new_with_max_length(LIMIT))
            });
            decode(&mut group, mode, "AnyDelimiterCodec", input, || {
                Theirs(any())
            });
        }
        group.finish();
    }
    let mut group = open(c, "delimiter_lf", "encode");
    for input in &inputs {
        encode(&mut group, "netproto", input, |dst| {
            for packet in &input.bytes {
                framer.encode(packet, dst).unwrap();
            }
        });
        let mut lines = LinesCodec::new_with_max_length(LIMIT);
        encode(&mut group, "LinesCodec", input, |dst| {
            for packet in &input.text {
                lines.encode(packet.as_str(), dst).unwrap();
            }
        });
        let mut any = any();
        encode(&mut group, "AnyDelimiterCodec", input, |dst| {
            for packet in &input.text {
                any.encode(packet.as_str(), dst).unwrap();
            }
        });
    }
    group.finish();
}

/// Big-endian u32 length prefixes against `LengthDelimitedCodec`.
fn length_prefix(c: &mut Criterion) {
    let framer = LengthPrefix::u32_be().max_frame_length(LIMIT);
    let codec = || {
        LengthDelimitedCodec::builder()
            .length_field_type::<u32>()
            .big_endian()
            .max_frame_length(LIMIT)
            .new_codec()
    };
    let inputs: Vec<Input> = SIZES
        .iter()
        .map(|&size| Input::new(size, &framer, text_payload))
        .collect();
    for mode in Mode::ALL {
        let mut group = open(c, "length_u32_be", mode.group_name());
        for input in &inputs {
            decode(&mut group, mode, "netproto", input, || {
                Ours(framer.decoder())
            });
            decode(&mut group, mode, "LengthDelimitedCodec", input, || {
                Theirs(codec())
            });
        }
        group.finish();
    }
    let mut group = open(c, "length_u32_be", "encode");
    for input in &inputs {
        encode(&mut group, "netproto", input, |dst| {
            for packet in &input.bytes {
                framer.encode(packet, dst).unwrap();
            }
        });
        let mut codec = codec();
        encode(&mut group, "LengthDelimitedCodec", input, |dst| {
            for packet in &input.bytes {
                codec.encode(packet.clone(), dst).unwrap();
            }
        });
    }
    group.finish();
}

/// The framers with no tokio-util counterpart: varint length prefix, fixed
/// size, raw chunks and JSON documents.
fn other_framers(c: &mut Criterion) {
    framer_alone(
        c,
        "length_varint",
        |_| LengthPrefix::varint().max_frame_length(LIMIT),
        text_payload,
    );
    framer_alone(c, "fixed_size", FixedSize::new, text_payload);
    // Raw: each packet is one chunk of at most `size` bytes.
    framer_alone(
        c,
        "raw",
        |size| Raw::new().max_frame_length(size),
        text_payload,
    );
    framer_alone(
        c,
        "json_document",
        |_| JsonDocument::new().max_frame_length(LIMIT),
        |size, _| json_payload(size),
    );
}

/// One framer, on its own, in every mode and size.
fn framer_alone<F: Framer>(
    c: &mut Criterion,
    subject: &str,
    framer: impl Fn(usize) -> F,
    payload: impl Fn(usize, usize) -> String + Copy,
) {
    let inputs: Vec<(F, Input)> = SIZES
        .iter()
        .map(|&size| {
            let framer = framer(size);
            let input = Input::new(size, &framer, payload);
            (framer, input)
        })
        .collect();
    for mode in Mode::ALL {
        if subject == "raw" && matches!(mode, Mode::Chunked) {
            // Raw frames *are* the reads: a chunked run measures nothing new.
            continue;
        }
        let mut group = open(c, subject, mode.group_name());
        for (framer, input) in &inputs {
            decode(&mut group, mode, "netproto", input, || {
                Ours(framer.decoder())
            });
        }
        group.finish();
    }
    let mut group = open(c, subject, "encode");
    for (framer, input) in &inputs {
        encode(&mut group, "netproto", input, |dst| {
            for packet in &input.bytes {
                framer.encode(packet, dst).unwrap();
            }
        });
    }
    group.finish();
}

/// Serializers alone (frames in, packets out, and back), against the plain
/// library call where there is one.
fn serializers(c: &mut Criterion) {
    let inputs: Vec<Input> = SIZES
        .iter()
        .map(|&size| Input::new(size, &Raw::new().max_frame_length(size), text_payload))
        .collect();
    let mut group = open(c, "serializer_bytes", "decode");
    for input in &inputs {
        frames_to_packets(&mut group, "netproto", input, |frame| {
            black_box(BytesSerializer.deserialize(frame).unwrap()).len()
        });
    }
    group.finish();
    let mut group = open(c, "serializer_bytes", "encode");
    for input in &inputs {
        encode(&mut group, "netproto", input, |dst| {
            for packet in &input.bytes {
                BytesSerializer.serialize(packet, dst).unwrap();
            }
        });
    }
    group.finish();

    let mut group = open(c, "serializer_utf8", "decode");
    for input in &inputs {
        frames_to_packets(&mut group, "netproto", input, |frame| {
            black_box(Utf8.deserialize(frame).unwrap()).len()
        });
        frames_to_packets(&mut group, "String::from_utf8", input, |frame| {
            black_box(String::from_utf8(frame.to_vec()).unwrap()).len()
        });
    }
    group.finish();
    let mut group = open(c, "serializer_utf8", "encode");
    for input in &inputs {
        encode(&mut group, "netproto", input, |dst| {
            for packet in &input.text {
                Utf8.serialize(packet, dst).unwrap();
            }
        });
    }
    group.finish();

    #[cfg(feature = "json")]
    json_serializer(c);
    #[cfg(feature = "compression")]
    zlib_serializer(c);
}

/// Zlib (level 9, the default) against flate2's encoder and decoder made
/// for each packet, as a hand-written wrapper does.
#[cfg(feature = "compression")]
fn zlib_serializer(c: &mut Criterion) {
    use std::io::{Read, Write};

    use bytes::BufMut;
    use netproto_core::serializer::Zlib;

    let zlib = Zlib::new(BytesSerializer);
    let inputs: Vec<(Input, Input)> = SIZES[..4]
        .iter()
        .map(|&size| {
            let plain = Input::new(size, &Raw::new().max_frame_length(size), text_payload);
            let compressed = plain.mapped(|packet| {
                let mut wire = BytesMut::new();
                zlib.serialize(packet, &mut wire).unwrap();
                wire.freeze()
            });
            (plain, compressed)
        })
        .collect();
    let mut group = open(c, "serializer_zlib", "decode");
    for (_, compressed) in &inputs {
        frames_to_packets(&mut group, "netproto", compressed, |frame| {
            black_box(zlib.deserialize(frame).unwrap()).len()
        });
        frames_to_packets(&mut group, "flate2 ZlibDecoder", compressed, |frame| {
            let mut out = Vec::new();
            flate2::read::ZlibDecoder::new(&frame[..])
                .read_to_end(&mut out)
                .unwrap();
            black_box(out).len()
        });
    }
    group.finish();
    // Throughput in compressed bytes, as for decoding.
    let mut group = open(c, "serializer_zlib", "encode");
    for (plain, compressed) in &inputs {
        encode(&mut group, "netproto", compressed, |dst| {
            for packet in &plain.bytes {
                zlib.serialize(packet, dst).unwrap();
            }
        });
        encode(&mut group, "flate2 ZlibEncoder", compressed, |dst| {
            for packet in &plain.bytes {
                let mut encoder =
                    flate2::write::ZlibEncoder::new(dst.writer(), flate2::Compression::best());
                encoder.write_all(packet).unwrap();
                encoder.finish().unwrap();
            }
        });
    }
    group.finish();
}

/// JSON (serde_json `Value`s, compact, ASCII) against serde_json itself.
#[cfg(feature = "json")]
fn json_serializer(c: &mut Criterion) {
    use bytes::BufMut;
    use netproto_core::serializer::JsonValue;
    use serde_json::Value;

    let inputs: Vec<(Vec<Value>, Input)> = SIZES
        .iter()
        .map(|&size| {
            let input = Input::new(size, &Raw::new().max_frame_length(size), |size, _| {
                // serde_json writes object keys sorted: make the text so.
                let value: Value = serde_json::from_str(&json_payload(size)).unwrap();
                serde_json::to_string(&value).unwrap()
            });
            let values = input
                .text
                .iter()
                .map(|text| serde_json::from_str(text).unwrap())
                .collect();
            (values, input)
        })
        .collect();
    let json = JsonValue::new();
    let mut group = open(c, "serializer_json", "decode");
    for (_, input) in &inputs {
        frames_to_packets(&mut group, "netproto", input, |frame| {
            black_box(json.deserialize(frame).unwrap());
            1
        });
        frames_to_packets(&mut group, "serde_json", input, |frame| {
            black_box(serde_json::from_slice::<Value>(&frame).unwrap());
            1
        });
    }
    group.finish();
    let mut group = open(c, "serializer_json", "encode");
    for (values, input) in &inputs {
        encode(&mut group, "netproto", input, |dst| {
            for value in values {
                json.serialize(value, dst).unwrap();
            }
        });
        encode(&mut group, "serde_json", input, |dst| {
            for value in values {
                serde_json::to_writer(dst.writer(), value).unwrap();
            }
        });
    }
    group.finish();
}

/// Bench `deserialize` over every frame of `input` (the wire of a raw
/// framer: the frames themselves). The closures pass each packet through
/// `black_box`: the compiler may otherwise drop an allocation whose
/// contents are never read, in the inlined baselines only.
fn frames_to_packets(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    input: &Input,
    deserialize: impl Fn(Bytes) -> usize,
) {
    group.throughput(Throughput::Bytes(input.wire.len() as u64));
    sampling_for(group, input.wire.len());
    group.bench_function(BenchmarkId::new(name, &input.param), |b| {
        b.iter(|| {
            let mut total = 0;
            for frame in &input.bytes {
                total += deserialize(frame.clone());
            }
            black_box(total)
        })
    });
}

/// One 16 MiB frame arriving in 1 KiB reads, against the same frame
/// arriving in one read (both fill the receive buffer inside the timing:
/// the difference is what decoding incrementally costs).
fn worst_case(c: &mut Criterion) {
    let payload = Bytes::from(text_payload(WORST_FRAME, 0));
    let delimiter = Delimiter::lf().max_frame_length(2 * WORST_FRAME);
    let length = LengthPrefix::u32_be().max_frame_length(2 * WORST_FRAME);
    let param = label(WORST_FRAME, 1);

    let mut wire = BytesMut::new();
    delimiter.encode(&payload, &mut wire).unwrap();
    let mut group = open(c, "worst_case", "delimiter_lf");
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Bytes(wire.len() as u64));
    arrival(&mut group, "netproto", &param, &wire, WORST_READ, || {
        Ours(delimiter.decoder())
    });
    arrival(
        &mut group,
        "one read (netproto)",
        &param,
        &wire,
        wire.len(),
        || Ours(delimiter.decoder()),
    );
    arrival(
        &mut group,
        "AnyDelimiterCodec",
        &param,
        &wire,
        WORST_READ,
        || {
            Theirs(AnyDelimiterCodec::new_with_max_length(
                b"\n".to_vec(),
                b"\n".to_vec(),
                2 * WORST_FRAME,
            ))
        },
    );
    group.finish();

    let mut wire = BytesMut::new();
    length.encode(&payload, &mut wire).unwrap();
    let mut group = open(c, "worst_case", "length_u32_be");
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Bytes(wire.len() as u64));
    arrival(&mut group, "netproto", &param, &wire, WORST_READ, || {
        Ours(length.decoder())
    });
    arrival(
        &mut group,
        "one read (netproto)",
        &param,
        &wire,
        wire.len(),
        || Ours(length.decoder()),
    );
    arrival(
        &mut group,
        "LengthDelimitedCodec",
        &param,
        &wire,
        WORST_READ,
        || {
            Theirs(
                LengthDelimitedCodec::builder()
                    .length_field_type::<u32>()
                    .max_frame_length(2 * WORST_FRAME)
                    .new_codec(),
            )
        },
    );
    group.finish();
}

/// `wire` (one frame) arriving in `read`-byte reads.
fn arrival<C: Cut>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    param: &str,
    wire: &[u8],
    read: usize,
    make: impl Fn() -> C,
) {
    assert_eq!(feed(&mut make(), wire, read), 1, "{name}");
    group.bench_function(BenchmarkId::new(name, param), |b| {
        b.iter_batched(
            &make,
            |mut cut| {
                let frames = feed(&mut cut, wire, read);
                (cut, frames)
            },
            BatchSize::PerIteration,
        )
    });
}

/// The criterion entry points (in a module: `criterion_group!` makes a
/// public function).
mod entry {
    use super::*;

    criterion_group!(
        benches,
        delimiter,
        length_prefix,
        other_framers,
        serializers,
        worst_case
    );
}

criterion_main!(entry::benches);
