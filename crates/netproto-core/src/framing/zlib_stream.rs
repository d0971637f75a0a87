//! Zlib streams back to back, with no separator or length.

use bytes::{Buf, Bytes, BytesMut};
use flate2::{Decompress, FlushDecompress, Status};

use super::{DecodeFailure, Frame, FrameDecoder, Framer};
use crate::error::{EncodeError, FramingError};

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
///   [`FramingError::FrameTooLong`] (or [`FramingError::FrameTooLongSoFar`]
///   when its end has not arrived yet); the decoder follows it to its end,
///   dropping its bytes as they arrive, and carries on after it.
/// * Bytes that are not zlib data (a bad header, corrupt deflate data, a
///   checksum mismatch) are a fatal [`FramingError::Malformed`] carrying
///   the inflater's message (at offset 0: inflaters do not say where).
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

/// The size of the buffer inflated output is thrown away in.
const SCRATCH: usize = 32 * 1024;

impl Framer for ZlibStream {
    type Decoder = ZlibStreamDecoder;

    fn decoder(&self) -> ZlibStreamDecoder {
        ZlibStreamDecoder {
            max_frame_length: self.max_frame_length,
            inflater: Decompress::new(true),
            scratch: Vec::new(),
            pos: 0,
            discarding: false,
            failed: None,
            examined: 0,
        }
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
pub struct ZlibStreamDecoder {
    max_frame_length: usize,
    inflater: Decompress,
    /// Where inflated output is thrown away (allocated on first use).
    scratch: Vec<u8>,
    /// Bytes of the current stream, at the front of the buffer, inflated.
    pos: usize,
    /// Following an oversized stream to its end, dropping its bytes.
    discarding: bool,
    failed: Option<FramingError>,
    examined: u64,
}

impl std::fmt::Debug for ZlibStreamDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZlibStreamDecoder")
            .field("max_frame_length", &self.max_frame_length)
            .field("pos", &self.pos)
            .field("discarding", &self.discarding)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl ZlibStreamDecoder {
    /// Inflate `src[self.pos..]`: `Ok(true)` when the stream ended at
    /// `self.pos`.
    fn inflate(&mut self, src: &[u8]) -> Result<bool, FramingError> {
        if self.scratch.is_empty() {
            self.scratch = vec![0; SCRATCH];
        }
        loop {
            let before = self.inflater.total_in();
            let produced = self.inflater.total_out();
            let status = self
                .inflater
                .decompress(&src[self.pos..], &mut self.scratch, FlushDecompress::None)
                .map_err(|err| FramingError::Malformed {
                    format: "zlib",
                    offset: 0,
                    reason: err.to_string(),
                })?;
            let taken = (self.inflater.total_in() - before) as usize;
            self.pos += taken;
            self.examined += taken as u64;
            match status {
                Status::StreamEnd => return Ok(true),
                _ if taken == 0 && self.inflater.total_out() == produced => {
                    return Err(FramingError::Malformed {
                        format: "zlib",
                        offset: 0,
                        reason: "the inflater takes no more input".into(),
                    });
                }
                // Input left over means the output was full: go on.
                _ if self.pos < src.len() => continue,
                _ => return Ok(false),
            }
        }
    }

    fn reset(&mut self) {
        self.inflater.reset(true);
        self.pos = 0;
        self.discarding = false;
    }
}

impl FrameDecoder for ZlibStreamDecoder {
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, DecodeFailure> {
        Ok(self.next_frame(src)?.map(Frame::into_bytes))
    }

    fn next_frame<'a>(
        &mut self,
        src: &'a mut BytesMut,
    ) -> Result<Option<Frame<'a>>, DecodeFailure> {
        let max = self.max_frame_length;
        loop {
            if let Some(error) = &self.failed {
                return Err(DecodeFailure::fatal(error.clone()));
            }
            if src.len() == self.pos {
                return Ok(None);
            }
            // Inflate no more than max + 1 bytes of a stream that may fit.
            let window = if self.discarding {
                src.len()
            } else {
                src.len().min(max.saturating_add(1))
            };
            let ended = match self.inflate(&src[..window]) {
                Ok(ended) => ended,
                Err(error) => {
                    self.failed = Some(error.clone());
                    return Err(DecodeFailure::fatal(error));
                }
            };
            match ended {
                true if self.discarding => {
                    src.advance(self.pos);
                    self.reset();
                }
                true if self.pos > max => {
                    let length = self.pos as u64;
                    src.advance(self.pos);
                    self.reset();
                    return Err(DecodeFailure::recoverable(FramingError::FrameTooLong {
                        length,
                        limit: max,
                    }));
                }
                true => {
                    let end = self.pos;
                    self.reset();
                    return Ok(Some(Frame::borrowed(src, 0, end, end)));
                }
                false if self.discarding => {
                    src.advance(self.pos);
                    self.pos = 0;
                    return Ok(None);
                }
                false if self.pos > max => {
                    let length = self.pos as u64;
                    src.advance(self.pos);
                    self.pos = 0;
                    self.discarding = true;
                    return Err(DecodeFailure::recoverable(
                        FramingError::FrameTooLongSoFar {
                            at_least: length,
                            limit: max,
                        },
                    ));
                }
                false => return Ok(None),
            }
        }
    }

    /// The end of an oversized stream being discarded is a clean end (its
    /// error was reported already).
    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, DecodeFailure> {
        if let Some(frame) = self.decode(src)? {
            return Ok(Some(frame));
        }
        if self.discarding {
            src.clear();
            self.reset();
            return Ok(None);
        }
        if src.is_empty() && self.pos == 0 {
            return Ok(None);
        }
        Err(DecodeFailure::fatal(FramingError::UnexpectedEof {
            pending: src.len(),
        }))
    }

    /// Counts the bytes inflated: each once.
    fn bytes_examined(&self) -> u64 {
        self.examined
    }
}

#[cfg(test)]
mod tests;
