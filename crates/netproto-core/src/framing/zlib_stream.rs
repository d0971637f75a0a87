//! Zlib streams back to back, with no separator or length.

use bytes::BytesMut;
use flate2::{Decompress, FlushDecompress, Status};

use super::Framer;
use super::compressed_stream::{Decompressor, StreamEnds, stream_ends_decoder};
use crate::error::EncodeError;

/// Whole zlib streams (RFC 1950) with nothing between them, as EasyNetwork's
/// `StreamProtocol(ZlibCompressorSerializer(s))` sends them: each frame is
/// one zlib stream, header to checksum, its end found by inflating it.
///
/// Deflate data says where it ends only at its end, so the decoder inflates
/// every byte once as it arrives (keeping the inflater between calls: a
/// stream arriving in many reads costs O(n)) and throws the output away in
/// a 32 KiB scratch buffer; the serializer ([`Zlib`](crate::serializer::Zlib))
/// inflates the frame again into the packet, within its own decompressed
/// limit. Inflating to find the end costs at most about 1 000 output bytes
/// per compressed byte (deflate's largest ratio), and no memory beyond the
/// scratch buffer.
///
/// * A stream longer than [`max_frame_length`](ZlibStream::max_frame_length)
///   compressed bytes (default 64 KiB, EasyNetwork's default limit) is
///   reported once as a recoverable
///   [`FramingError::FrameTooLong`](crate::error::FramingError::FrameTooLong)
///   (or [`FramingError::FrameTooLongSoFar`](crate::error::FramingError::FrameTooLongSoFar)
///   when its end has not arrived yet); the decoder follows it to its end,
///   dropping its bytes as they arrive, and carries on after it. A skipped
///   stream whose end is never found (corrupt, or the input ends inside it)
///   is then a fatal `Malformed` ("a stream skipped for its size is corrupt
///   or cut short"): the same error whether the inflater met the corruption
///   or the input ended first, as that depends on how the bytes were split
///   into reads.
/// * Bytes that are not zlib data (a bad header, corrupt deflate data, a
///   checksum mismatch) are a fatal
///   [`FramingError::Malformed`](crate::error::FramingError::Malformed)
///   carrying the inflater's message (at offset 0: inflaters do not say where).
/// * [`encode_with`](Framer::encode_with) writes the stream as it is, after
///   checking its length and its 2-byte zlib header.
///
/// ```
/// use bytes::BytesMut;
/// use netproto_core::framing::{FrameDecoder, Framer, ZlibStream};
/// use netproto_core::serializer::{Serializer, Utf8, Zlib};
///
/// let zlib = Zlib::new(Utf8);
/// let framer = ZlibStream::new();
/// let mut wire = BytesMut::new();
/// for text in ["hello", "world"] {
///     framer.encode_with(&mut wire, |dst| zlib.serialize(text, dst)).unwrap();
/// }
/// let mut decoder = framer.decoder();
/// let hello = decoder.decode(&mut wire).unwrap().unwrap();
/// assert_eq!(zlib.deserialize(hello).unwrap(), "hello");
/// let world = decoder.decode(&mut wire).unwrap().unwrap();
/// assert_eq!(zlib.deserialize(world).unwrap(), "world");
/// ```
#[derive(Clone, Debug)]
pub struct ZlibStream {
    max_frame_length: usize,
}

impl Default for ZlibStream {
    fn default() -> Self {
        ZlibStream {
            max_frame_length: Self::DEFAULT_MAX_FRAME_LENGTH,
        }
    }
}

impl ZlibStream {
    /// The default maximum compressed stream length: 64 KiB.
    pub const DEFAULT_MAX_FRAME_LENGTH: usize = 64 * 1024;

    /// Streams of at most 64 KiB compressed.
    pub fn new() -> Self {
        ZlibStream::default()
    }

    /// Set the largest compressed stream accepted on receive and on send.
    pub fn max_frame_length(mut self, max: usize) -> Self {
        self.max_frame_length = max;
        self
    }
}

impl Framer for ZlibStream {
    type Decoder = ZlibStreamDecoder;

    fn decoder(&self) -> ZlibStreamDecoder {
        // Deflate's largest ratio (about 1 032 to 1) bounds what a stream
        // within the length limit inflates to: no output limit.
        ZlibStreamDecoder(StreamEnds::new(self.max_frame_length, u64::MAX))
    }

    /// Writes the stream as it is, once its length and its zlib header
    /// (compression method 8, header check) are checked: a payload that is
    /// not a zlib stream would make the peer's decoder fail for good.
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
                [cmf, flg, ..]
                    if cmf & 0x0f == 8 && ((u16::from(*cmf) << 8) | u16::from(*flg)) % 31 == 0 =>
                {
                    Ok(())
                }
                _ => Err(EncodeError::serialize(
                    "not a zlib stream: the payload must start with a zlib header",
                )),
            }
        });
        result.inspect_err(|_| dst.truncate(start))
    }

    fn max_frame_length(&self) -> usize {
        self.max_frame_length
    }
}

/// Decoding state of a [`ZlibStream`] framer: the inflater of the current
/// stream and how many of its bytes it has taken.
#[derive(Debug)]
pub struct ZlibStreamDecoder(StreamEnds<Decompress>);

stream_ends_decoder!(ZlibStreamDecoder);

impl Decompressor for Decompress {
    const FORMAT: &'static str = "zlib";

    fn fresh() -> Self {
        Decompress::new(true)
    }

    fn restart(&mut self) {
        self.reset(true);
    }

    fn step(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize, bool), String> {
        let (before_in, before_out) = (self.total_in(), self.total_out());
        let status = self
            .decompress(input, output, FlushDecompress::None)
            .map_err(|err| err.to_string())?;
        let taken = (self.total_in() - before_in) as usize;
        let produced = (self.total_out() - before_out) as usize;
        Ok((taken, produced, status == Status::StreamEnd))
    }
}

#[cfg(test)]
mod tests;
