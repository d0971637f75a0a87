//! The framer harness: the same bytes decoded in arbitrary reads and in one
//! go must give the same frames and errors, within the framer's limits.

use bytes::{Bytes, BytesMut};
use netproto_core::error::{EncodeError, FramingError};
use netproto_core::framing::{DecodeFailure, FrameDecoder, Framer};

/// What a decoder reported. The observed length of an overrun is left out:
/// it depends on how much was buffered when the overrun was seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A frame.
    Frame(Bytes),
    /// A frame over `limit`.
    TooLong {
        /// The limit reported.
        limit: usize,
        /// Whether decoding could go on.
        recoverable: bool,
    },
    /// Any other framing error, and whether decoding could go on.
    Error(FramingError, bool),
}

impl Event {
    fn from_failure(failure: DecodeFailure) -> Event {
        // Error messages are shown to users: formatting must not panic.
        let _ = failure.error.to_string();
        match failure.error {
            // How much of an overlong frame had arrived depends on the
            // reads; that it is too long does not.
            FramingError::FrameTooLong { limit, .. }
            | FramingError::FrameTooLongSoFar { limit, .. } => Event::TooLong {
                limit,
                recoverable: failure.recoverable,
            },
            error => Event::Error(error, failure.recoverable),
        }
    }
}

/// The bounds a framer promises.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The most bytes a decoder may leave buffered when it asks for more
    /// (the frame limit plus any header or partial delimiter).
    pub retained: usize,
    /// The longest frame a decoder may return.
    pub frame: usize,
    /// Bytes a decoder may examine again on each call (a delimiter that
    /// may straddle the end of the buffer is looked at again), beyond the
    /// bytes that arrived.
    pub rescan_per_call: u64,
}

/// How far a decoder may grow its receive buffer, as a multiple of the bytes
/// it holds (the length-prefix decoder grows toward a big frame's end in
/// steps of 4x what arrived, or straight to the end once within 8x).
pub const GROWTH_BOUND: usize = 8;

/// Decode `data` delivered in reads of `reads` sizes (cycling; empty means
/// one read of everything), the way an endpoint does: after each read take
/// every frame, go on after recoverable errors, stop at a fatal one; at the
/// end, `decode_eof` until it reports the end.
///
/// Checks on the way: no frame longer than `limits.frame`; a decoder that
/// asks for more holds at most `limits.retained` bytes (so the buffer never
/// exceeds the limit plus one read); `decode` grows the buffer only toward
/// a frame's end and never past [`GROWTH_BOUND`] times the bytes it holds
/// (what a header claims allocates nothing the peer has not sent a fraction
/// of); each byte is examined a bounded number of times; decoding always
/// makes progress.
pub fn decode_in_reads<D: FrameDecoder>(
    mut decoder: D,
    data: &[u8],
    reads: &[usize],
    limits: &Limits,
) -> Vec<Event> {
    let mut buf = BytesMut::new();
    // The largest capacity the buffer has had: a decoder may take back the
    // room of frames it consumed (no new memory), but new memory only
    // within `GROWTH_BOUND`.
    let mut largest = 0;
    let mut events = Vec::new();
    let mut rest = data;
    let mut calls = 0u64;
    let mut reads = reads.iter().copied().cycle();
    let mut idle = false;
    // Every event consumes at least one byte or ends a state, so a decoder
    // reporting more than this is looping without progress.
    let max_events = 2 * data.len() + 64;
    let push = |events: &mut Vec<Event>, event: Event| {
        events.push(event);
        assert!(
            events.len() <= max_events,
            "decoder makes no progress: {} events from {} bytes",
            events.len(),
            data.len()
        );
    };
    'reading: loop {
        loop {
            let allocation = allocation_end(&buf);
            let decoded = decoder.decode(&mut buf);
            calls += 1;
            // The same allocation (its end where it was) is no new memory,
            // even when the capacity seen through the buffer grew: room the
            // buffer had consumed at its front, taken back.
            let same_allocation = buf.capacity() > 0 && allocation_end(&buf) == allocation;
            assert!(
                same_allocation
                    || buf.capacity() <= largest
                    || buf.capacity() <= GROWTH_BOUND * buf.len(),
                "decode grew the buffer from at most {largest} to {} bytes holding {}",
                buf.capacity(),
                buf.len()
            );
            largest = largest.max(buf.capacity());
            match decoded {
                Ok(Some(frame)) => {
                    assert!(
                        frame.len() <= limits.frame,
                        "frame of {} bytes over the limit of {}",
                        frame.len(),
                        limits.frame
                    );
                    push(&mut events, Event::Frame(frame));
                }
                Ok(None) => {
                    assert!(
                        buf.len() <= limits.retained,
                        "decoder asks for more while holding {} bytes (bound {})",
                        buf.len(),
                        limits.retained
                    );
                    break;
                }
                Err(failure) => {
                    let recoverable = failure.recoverable;
                    push(&mut events, Event::from_failure(failure));
                    if !recoverable {
                        break 'reading;
                    }
                }
            }
        }
        if rest.is_empty() {
            // The end of the stream.
            loop {
                let decoded = decoder.decode_eof(&mut buf);
                calls += 1;
                match decoded {
                    Ok(Some(frame)) => {
                        assert!(frame.len() <= limits.frame, "frame over the limit at EOF");
                        push(&mut events, Event::Frame(frame));
                    }
                    Ok(None) => break 'reading,
                    Err(failure) => {
                        let recoverable = failure.recoverable;
                        push(&mut events, Event::from_failure(failure));
                        if !recoverable {
                            break 'reading;
                        }
                    }
                }
            }
        }
        // A read of 0 is one more decode call with nothing new (then at
        // least one byte, so that reads of 0 alone still make progress).
        let n = match reads.next() {
            None => rest.len(),
            Some(0) if !idle => {
                idle = true;
                continue;
            }
            Some(n) => n.clamp(1, rest.len()),
        };
        idle = false;
        buf.extend_from_slice(&rest[..n]);
        largest = largest.max(buf.capacity());
        rest = &rest[n..];
    }
    let examined = decoder.bytes_examined();
    let bound = data.len() as u64 + calls * limits.rescan_per_call;
    assert!(
        examined <= bound,
        "decoder examined {examined} bytes of {} in {calls} calls (bound {bound})",
        data.len()
    );
    events
}

/// Where `buf`'s allocation ends: the same for as long as the buffer keeps
/// its allocation, whatever it consumed at the front (its capacity counts
/// only the room after its start).
fn allocation_end(buf: &BytesMut) -> usize {
    buf.as_ptr() as usize + buf.capacity()
}

/// Decode `data` in `reads` and in one read; both must agree. Returns the
/// events.
pub fn check_decoding<F: Framer>(
    framer: &F,
    data: &[u8],
    reads: &[usize],
    limits: &Limits,
) -> Vec<Event> {
    let whole = decode_in_reads(framer.decoder(), data, &[], limits);
    if !reads.is_empty() {
        let split = decode_in_reads(framer.decoder(), data, reads, limits);
        assert_eq!(whole, split, "reads of {reads:?} change what is decoded");
    }
    // One byte at a time: the hardest split, cheap for short inputs.
    if data.len() <= 256 {
        let bytewise = decode_in_reads(framer.decoder(), data, &[1], limits);
        assert_eq!(whole, bytewise, "byte-by-byte reads change what is decoded");
    }
    whole
}

/// Encode `payload` as one frame after some bytes already in the buffer.
/// A refused frame must leave the buffer as it was; an accepted one is
/// returned (the wire bytes of that frame alone).
pub fn encode_checked<F: Framer>(framer: &F, payload: &[u8]) -> Result<Bytes, EncodeError> {
    const BEFORE: &[u8] = b"queued";
    let mut dst = BytesMut::from(BEFORE);
    match framer.encode(payload, &mut dst) {
        Ok(()) => {
            assert_eq!(&dst[..BEFORE.len()], BEFORE, "encode changed queued bytes");
            Ok(dst.split_off(BEFORE.len()).freeze())
        }
        Err(err) => {
            let _ = err.to_string();
            assert_eq!(&dst[..], BEFORE, "a refused frame left bytes behind: {err}");
            Err(err)
        }
    }
}

/// Decode the wire bytes of one encoded frame: exactly that frame must come
/// back, with nothing left and no error.
pub fn decode_one<F: Framer>(framer: &F, wire: &[u8], limits: &Limits) -> Bytes {
    let events = decode_in_reads(framer.decoder(), wire, &[], limits);
    match &events[..] {
        [Event::Frame(frame)] => frame.clone(),
        other => panic!("one encoded frame decodes as {other:?}"),
    }
}

/// Encode each payload the framer accepts, one after the other, into one
/// stream: decoded in `reads`, the stream must give back exactly the frames
/// each encoding gives alone (which must be exactly one frame each), and
/// nothing else. Returns the frames.
pub fn check_encoded_stream<'a, F: Framer>(
    framer: &F,
    payloads: impl IntoIterator<Item = &'a [u8]>,
    reads: &[usize],
    limits: &Limits,
) -> Vec<Bytes> {
    let mut wire = BytesMut::new();
    let mut frames = Vec::new();
    for payload in payloads {
        if let Ok(alone) = encode_checked(framer, payload) {
            frames.push(decode_one(framer, &alone, limits));
            wire.extend_from_slice(&alone);
        }
    }
    let expected: Vec<Event> = frames.iter().cloned().map(Event::Frame).collect();
    let events = decode_in_reads(framer.decoder(), &wire, reads, limits);
    assert_eq!(
        events, expected,
        "encoded frames decode differently in one stream"
    );
    frames
}

/// The checks shared by the self-delimiting framers (MessagePack and CBOR
/// items, zlib streams), whose frames are the stream's own items: decoding
/// in `reads` agrees with one read within `limits`; when `valid` (the
/// format's serializer reads all of `stream` as one item) the stream is
/// one frame, or one recoverable overrun past the limit; encoding accepts
/// a valid item within the limit, writes it as it is and decodes it back;
/// and the frames decoded, encoded again one after the other, come back
/// the same.
pub fn check_self_delimiting<F: Framer>(
    framer: &F,
    stream: &[u8],
    reads: &[usize],
    limits: &Limits,
    valid: bool,
) {
    let max = framer.max_frame_length();
    let events = check_decoding(framer, stream, reads, limits);
    if valid {
        let expected = if stream.len() <= max {
            Event::Frame(Bytes::copy_from_slice(stream))
        } else {
            Event::TooLong {
                limit: max,
                recoverable: true,
            }
        };
        assert_eq!(events, [expected], "one valid item");
    }
    match encode_checked(framer, stream) {
        Ok(wire) => {
            assert!(stream.len() <= max);
            assert_eq!(&wire[..], stream, "an item is written as it is");
            if valid {
                assert_eq!(&decode_one(framer, &wire, limits)[..], stream);
            }
        }
        Err(EncodeError::FrameTooLong { length, limit }) => {
            assert_eq!(limit, max);
            assert!(length as usize == stream.len() && stream.len() > max);
        }
        Err(EncodeError::Serialize(_)) => assert!(!valid, "a valid item was refused"),
        Err(err) => panic!("unexpected encode error: {err}"),
    }
    let frames: Vec<Bytes> = events
        .iter()
        .filter_map(|event| match event {
            Event::Frame(frame) => Some(frame.clone()),
            _ => None,
        })
        .collect();
    let back = check_encoded_stream(framer, frames.iter().map(|f| &f[..]), reads, limits);
    assert_eq!(
        back, frames,
        "decoded items, encoded again, decode the same"
    );
}
