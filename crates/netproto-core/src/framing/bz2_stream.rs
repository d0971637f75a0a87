//! Bzip2 streams back to back, with no separator or length.

use bytes::BytesMut;

use super::Framer;
use super::compressed_stream::{Decompressor, StreamEnds, stream_ends_decoder};
use crate::error::EncodeError;
use crate::serializer::DEFAULT_MAX_DECOMPRESSED_LENGTH;

/// Whole bzip2 streams with nothing between them, as EasyNetwork's
/// `StreamProtocol(BZ2CompressorSerializer(s))` sends them: each frame is
/// one bzip2 stream, `BZh` header to end-of-stream marker and CRC, its end
/// found by decompressing it.
///
/// A bzip2 stream says where it ends only at its end (the end-of-stream
/// marker is not byte-aligned and may appear inside block data), so the
/// decoder decompresses every byte once as it arrives (keeping the
/// decompressor between calls: a stream arriving in many reads costs O(n))
/// and throws the output away in a 32 KiB scratch buffer; the serializer
/// ([`Bz2`](crate::serializer::Bz2)) decompresses the frame again into the
/// packet, within its own limit. While a stream is being read, the
/// decompressor holds the block buffers its header asks for (up to about
/// 3.6 MB for level 9, bzip2's own bound), released at its end.
///
/// * A stream longer than [`max_frame_length`](Bz2Stream::max_frame_length)
///   compressed bytes (default 64 KiB, EasyNetwork's default limit) is
///   reported once as a recoverable
///   [`FramingError::FrameTooLong`](crate::error::FramingError::FrameTooLong)
///   (or `FrameTooLongSoFar` when its end has not arrived yet); the
///   decoder follows it to its end, dropping its bytes as they arrive, and
///   carries on after it; one whose end is never found (corrupt, or the
///   input ends inside it) is then a fatal `Malformed`, as for
///   [`ZlibStream`](super::ZlibStream).
/// * Bzip2 can expand a few bytes into megabytes (runs compress about a
///   million to one), so finding a stream's end can cost far more than
///   its length: a stream that decompresses to more than
///   [`max_decompressed_length`](Bz2Stream::max_decompressed_length)
///   (default [`DEFAULT_MAX_DECOMPRESSED_LENGTH`], 8 MiB) is a fatal
///   [`FramingError::Malformed`](crate::error::FramingError::Malformed), as
///   are bytes that are not bzip2 data (bad magic, corrupt blocks, a CRC
///   mismatch; at offset 0: the decompressor does not say where).
/// * [`encode_with`](Framer::encode_with) writes the stream as it is, after
///   checking its length and its `BZh1`..`BZh9` header.
///
/// ```
/// use bytes::BytesMut;
/// use netproto_core::framing::{Bz2Stream, FrameDecoder, Framer};
/// use netproto_core::serializer::{Bz2, Serializer, Utf8};
///
/// let bz2 = Bz2::new(Utf8);
/// let framer = Bz2Stream::new();
/// let mut wire = BytesMut::new();
/// for text in ["hello", "world"] {
///     framer.encode_with(&mut wire, |dst| bz2.serialize(text, dst)).unwrap();
/// }
/// let mut decoder = framer.decoder();
/// let hello = decoder.decode(&mut wire).unwrap().unwrap();
/// assert_eq!(bz2.deserialize(hello).unwrap(), "hello");
/// let world = decoder.decode(&mut wire).unwrap().unwrap();
/// assert_eq!(bz2.deserialize(world).unwrap(), "world");
/// ```
#[derive(Clone, Debug)]
pub struct Bz2Stream {
    max_frame_length: usize,
    max_decompressed_length: usize,
}

impl Default for Bz2Stream {
    fn default() -> Self {
        Bz2Stream {
            max_frame_length: Self::DEFAULT_MAX_FRAME_LENGTH,
            max_decompressed_length: DEFAULT_MAX_DECOMPRESSED_LENGTH,
        }
    }
}

impl Bz2Stream {
    /// The default maximum compressed stream length: 64 KiB.
    pub const DEFAULT_MAX_FRAME_LENGTH: usize = 64 * 1024;

    /// Streams of at most 64 KiB compressed and 8 MiB decompressed.
    pub fn new() -> Self {
        Bz2Stream::default()
    }

    /// Set the largest compressed stream accepted on receive and on send.
    pub fn max_frame_length(mut self, max: usize) -> Self {
        self.max_frame_length = max;
        self
    }

    /// Set the most a received stream may decompress to while the decoder
    /// looks for its end; past it, the connection's stream is malformed.
    /// Keep it at least the serializer's
    /// [`max_decompressed_length`](crate::serializer::Bz2::max_decompressed_length).
    pub fn max_decompressed_length(mut self, max: usize) -> Self {
        self.max_decompressed_length = max;
        self
    }
}

impl Framer for Bz2Stream {
    type Decoder = Bz2StreamDecoder;

    fn decoder(&self) -> Bz2StreamDecoder {
        Bz2StreamDecoder(StreamEnds::new(
            self.max_frame_length,
            self.max_decompressed_length as u64,
        ))
    }

    /// Writes the stream as it is, once its length and its bzip2 header
    /// (`BZh` and a block-size digit) are checked: a payload that is not a
    /// bzip2 stream would make the peer's decoder fail for good.
    fn encode_with<F>(&self, dst: &mut BytesMut, write: F) -> Result<(), EncodeError>
    where
        F: FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
    {
        let start = dst.len();
        let result = write(dst).and_then(|()| {
            let stream = dst.get(start..).unwrap_or_default();
            if stream.len() > self.max_frame_length {
                return Err(EncodeError::FrameTooLong {
                    length: stream.len() as u64,
                    limit: self.max_frame_length,
                });
            }
            match stream {
                [b'B', b'Z', b'h', b'1'..=b'9', ..] => Ok(()),
                _ => Err(EncodeError::serialize(
                    "not a bzip2 stream: the payload must start with a BZh1..BZh9 header",
                )),
            }
        });
        result.inspect_err(|_| dst.truncate(start))
    }

    fn max_frame_length(&self) -> usize {
        self.max_frame_length
    }
}

/// Decoding state of a [`Bz2Stream`] framer: the decompressor of the
/// current stream and how many of its bytes it has taken.
#[derive(Debug)]
pub struct Bz2StreamDecoder(StreamEnds<Bz2Decompressor>);

stream_ends_decoder!(Bz2StreamDecoder);

/// bzip2's decompressor, which cannot be reset: a new one per stream (its
/// block buffers are allocated when a stream's header is read).
pub(crate) struct Bz2Decompressor(bzip2::Decompress);

impl Decompressor for Bz2Decompressor {
    const FORMAT: &'static str = "bzip2";

    fn fresh() -> Self {
        Bz2Decompressor(bzip2::Decompress::new(false))
    }

    fn restart(&mut self) {
        *self = Self::fresh();
    }

    fn step(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize, bool), String> {
        let (before_in, before_out) = (self.0.total_in(), self.0.total_out());
        let status = self
            .0
            .decompress(input, output)
            .map_err(|err| err.to_string())?;
        let taken = (self.0.total_in() - before_in) as usize;
        let produced = (self.0.total_out() - before_out) as usize;
        Ok((taken, produced, status == bzip2::Status::StreamEnd))
    }
}

#[cfg(test)]
mod tests;
