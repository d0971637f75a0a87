//! Framing: cutting a byte stream into frames, and writing frames into one.
//!
//! A [`Framer`] is configuration (shared, immutable, cheap to clone); each
//! connection gets its own [`FrameDecoder`] from [`Framer::decoder`], which
//! holds the incremental decoding state.
//!
//! Decoding takes a frame off the front of a [`BytesMut`]:
//! [`FrameDecoder::next_frame`] lends it in place as a [`Frame`] (consumed
//! when dropped), and [`FrameDecoder::decode`] splits it off as [`Bytes`];
//! neither copies. When a frame is incomplete a decoder returns
//! `Ok(None)` and remembers how far it has looked, so bytes already examined
//! are not scanned again when more arrive: a 16 MiB frame arriving in 1 KiB
//! reads costs O(n), not O(n²).
//!
//! Encoding writes straight into the caller's send buffer; a length header is
//! reserved first and back-patched once the payload is written.
//!
//! Built-in framers:
//!
//! | framer | wire format |
//! |---|---|
//! | [`Delimiter`] | frames end with a delimiter (LF by default, CR, CRLF, any byte string) |
//! | [`LengthPrefix`] | a 1/2/4/8-byte or LEB128 length header precedes each frame |
//! | [`FixedSize`] | every frame has the same size |
//! | [`Raw`] | no framing: every received chunk is a frame |
//! | [`JsonDocument`] | concatenated JSON values with no separator |
//! | [`MsgPackItem`] | MessagePack items back to back, each one's end read from its headers |
//! | [`CborItem`] | CBOR items back to back, each one's end read from its headers |
//! | `ZlibStream` (`compression`) | whole zlib streams back to back, each one's end found by inflating it |
//! | `GzipStream` (`compression`) | whole gzip members back to back, each one's end found by reading its header and inflating it |
//! | `Bz2Stream` (`bzip2`) | whole bzip2 streams back to back, each one's end found by decompressing it |

use bytes::{Bytes, BytesMut};

use crate::error::{EncodeError, FramingError};

#[cfg(feature = "bzip2")]
mod bz2_stream;
mod cbor_item;
#[cfg(any(feature = "compression", feature = "bzip2"))]
mod compressed_stream;
mod delimiter;
mod fixed;
mod frame;
#[cfg(feature = "compression")]
mod gzip_stream;
mod item;
mod json_document;
mod length_prefix;
mod msgpack_item;
mod raw;
#[cfg(feature = "compression")]
mod zlib_stream;

#[cfg(feature = "bzip2")]
pub use bz2_stream::{Bz2Stream, Bz2StreamDecoder};
pub use cbor_item::{CborItem, CborItemDecoder};
pub use delimiter::{Delimiter, DelimiterDecoder};
pub use fixed::{FixedSize, FixedSizeDecoder};
pub use frame::Frame;
#[cfg(feature = "compression")]
pub use gzip_stream::{GzipStream, GzipStreamDecoder};
pub use json_document::{JsonDocument, JsonDocumentDecoder};
pub use length_prefix::{LengthPrefix, LengthPrefixBuilder, LengthPrefixDecoder, LengthWidth};
pub use msgpack_item::{MsgPackItem, MsgPackItemDecoder};
pub use raw::{Raw, RawDecoder};
#[cfg(feature = "compression")]
pub use zlib_stream::{ZlibStream, ZlibStreamDecoder};

/// A framing error reported by a [`FrameDecoder`], with whether decoding can
/// go on afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeFailure {
    /// What the peer did wrong.
    pub error: FramingError,
    /// `true` when the decoder has resynchronised (or will, by discarding
    /// input up to the next frame boundary) and later calls may yield frames;
    /// `false` when the stream cannot be cut into frames any more.
    pub recoverable: bool,
}

impl DecodeFailure {
    /// A failure after which decoding can go on.
    pub fn recoverable(error: FramingError) -> Self {
        DecodeFailure {
            error,
            recoverable: true,
        }
    }

    /// A failure that ends decoding for this stream.
    pub fn fatal(error: FramingError) -> Self {
        DecodeFailure {
            error,
            recoverable: false,
        }
    }
}

/// How a byte stream is cut into frames and how frames are written into one.
///
/// Implementations are configuration only: per-connection decoding state
/// lives in the [`FrameDecoder`] returned by [`Framer::decoder`].
pub trait Framer: Clone + Send + Sync + 'static {
    /// The incremental decoder for one connection.
    type Decoder: FrameDecoder;

    /// A fresh decoder, for a new connection.
    fn decoder(&self) -> Self::Decoder;

    /// Write one frame into `dst`, letting `write` append the payload.
    ///
    /// The framer writes (or reserves) any header, calls `write` once to
    /// append the payload at the end of `dst`, then back-patches the header or
    /// appends a trailer. On error `dst` is truncated back to its length
    /// before the call, so a refused frame leaves nothing behind.
    fn encode_with<F>(&self, dst: &mut BytesMut, write: F) -> Result<(), EncodeError>
    where
        F: FnOnce(&mut BytesMut) -> Result<(), EncodeError>;

    /// Write `frame` as one frame into `dst`.
    fn encode(&self, frame: &[u8], dst: &mut BytesMut) -> Result<(), EncodeError> {
        self.encode_with(dst, |dst| {
            dst.extend_from_slice(frame);
            Ok(())
        })
    }

    /// The largest frame payload this framer accepts, in bytes.
    fn max_frame_length(&self) -> usize;
}

/// Incremental frame decoding for one connection.
pub trait FrameDecoder: Send + 'static {
    /// Take the next frame off the front of `src`.
    ///
    /// Returns `Ok(Some(frame))` with the frame split off `src` (not copied),
    /// `Ok(None)` when more bytes are needed, or an error. A decoder never
    /// reserves capacity in `src` for a length a header merely claims, and
    /// keeps what it has already examined so the next call resumes there.
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, DecodeFailure>;

    /// Called once the stream has ended: take a last frame, or report what
    /// is left.
    ///
    /// The default yields the frames `decode` still finds, then `Ok(None)`
    /// when `src` is empty (a clean end between frames) or
    /// [`FramingError::UnexpectedEof`] with the number of pending bytes.
    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, DecodeFailure> {
        match self.decode(src)? {
            Some(frame) => Ok(Some(frame)),
            None if src.is_empty() => Ok(None),
            None => Err(DecodeFailure::fatal(FramingError::UnexpectedEof {
                pending: src.len(),
            })),
        }
    }

    /// Like [`decode`](FrameDecoder::decode), but lends the frame in place:
    /// the returned [`Frame`] reads the bytes where they lie in `src`, and
    /// dropping it advances `src` past the frame. This is the receive path's
    /// fast path: a packet parsed from the frame's bytes costs no reference
    /// count and no copy.
    ///
    /// The default wraps [`decode`](FrameDecoder::decode); the built-in
    /// decoders that cut frames out of the buffer as they stand lend them.
    fn next_frame<'a>(
        &mut self,
        src: &'a mut BytesMut,
    ) -> Result<Option<Frame<'a>>, DecodeFailure> {
        Ok(self.decode(src)?.map(Frame::owned))
    }

    /// [`decode_eof`](FrameDecoder::decode_eof) for
    /// [`next_frame`](FrameDecoder::next_frame): the end-of-stream frame is
    /// rare, so the default takes it as [`Bytes`].
    fn next_frame_eof<'a>(
        &mut self,
        src: &'a mut BytesMut,
    ) -> Result<Option<Frame<'a>>, DecodeFailure> {
        Ok(self.decode_eof(src)?.map(Frame::owned))
    }

    /// How many bytes this decoder has examined so far (a scanning framer
    /// counts every byte it looked at; others may return 0). Tests use it
    /// to prove that decoding never rescans.
    fn bytes_examined(&self) -> u64 {
        0
    }
}

/// How far [`grow_toward`] may grow a receive buffer, as a multiple of the
/// bytes it holds.
const GROWTH_FACTOR: usize = 4;

/// Make room in `src` for an incomplete frame that ends at byte `end`,
/// without trusting the header that announced `end`.
///
/// A buffer filled by small reads would otherwise grow by doubling, copying
/// the frame received so far at every step and overshooting the end by up to
/// 2× (a 16 MiB frame arriving in 1 KiB reads copied 32 MiB and left a
/// 32 MiB buffer). Here, once the buffer is nearly full (less than an eighth
/// of what it holds left free), its capacity jumps to [`GROWTH_FACTOR`] times
/// the bytes actually received, or straight to `end` once that is within
/// twice that reach, into a buffer of exactly that size: the copies add up
/// to about a third of the frame and the last step lands on the frame's end.
/// Capacity never exceeds `2 × GROWTH_FACTOR` times the bytes received, so a
/// header claiming gigabytes allocates nothing a peer has not sent a
/// fraction of.
pub(crate) fn grow_toward(src: &mut BytesMut, end: usize) {
    let len = src.len();
    let room = src.capacity() - len;
    if end <= src.capacity() || len == 0 || room > len / 8 {
        return;
    }
    let reach = len.saturating_mul(GROWTH_FACTOR);
    let target = if end <= reach.saturating_mul(2) {
        end
    } else {
        reach
    };
    if target <= src.capacity() {
        return;
    }
    // Grown as a `Vec` (no copy to get there from a buffer nothing else
    // shares), so the allocator can extend the allocation in place or remap
    // its pages instead of copying what has arrived, and to exactly `target`
    // (`BytesMut::reserve` may double instead).
    let mut buffer = Vec::from(std::mem::take(src));
    buffer.reserve_exact(target - len);
    *src = BytesMut::from(Bytes::from(buffer));
}

/// Decode every frame in `input` in one go (a helper for tests and tools).
///
/// Stops at the first error and returns the frames found before it together
/// with the error.
pub fn decode_all<D: FrameDecoder>(
    decoder: &mut D,
    input: &[u8],
) -> (Vec<Bytes>, Option<DecodeFailure>) {
    let mut buf = BytesMut::from(input);
    let mut frames = Vec::new();
    loop {
        match decoder.decode_eof(&mut buf) {
            Ok(Some(frame)) => frames.push(frame),
            Ok(None) => return (frames, None),
            Err(err) => return (frames, Some(err)),
        }
    }
}
