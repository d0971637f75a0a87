//! What the framers of bare compressed streams (`ZlibStream`, `Bz2Stream`)
//! share: finding where each stream ends by decompressing it as it arrives
//! and throwing the output away.

use bytes::{Buf, Bytes, BytesMut};

use super::{DecodeFailure, Frame};
use crate::error::FramingError;

/// One decompressor, fed a stream's bytes as they arrive.
pub(crate) trait Decompressor: Send + 'static {
    /// The format's name in errors: `"zlib"`, `"bzip2"`.
    const FORMAT: &'static str;

    /// A decompressor at the start of a stream.
    fn fresh() -> Self;

    /// Ready for the next stream.
    fn restart(&mut self);

    /// Decompress from `input` into `output`: the bytes taken, the bytes
    /// written, and whether the stream ended.
    fn step(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize, bool), String>;
}

/// The size of the buffer decompressed output is thrown away in.
const SCRATCH: usize = 32 * 1024;

/// The one error of a stream skipped for its size that does not end:
/// corrupt, or cut short by the end of the input. One message whatever the
/// decompressor said, and whether it said it: how far a decompressor reads
/// ahead of the bytes it was given depends on how they were split into
/// reads, so whether it meets a corruption near the end of the input before
/// that end does too. Only the skipped stream's own bytes are lost, and the
/// oversize was reported already.
const SKIPPED_STREAM_DOES_NOT_END: &str =
    "a stream skipped for its size is corrupt or cut short: its end was not found";

/// Decoding state for bare compressed streams back to back.
pub(crate) struct StreamEnds<D> {
    max_frame_length: usize,
    /// The most a stream may decompress to while its end is sought.
    max_output: u64,
    decompressor: D,
    /// Where decompressed output is thrown away (allocated on first use).
    scratch: Vec<u8>,
    /// Bytes of the current stream, at the front of the buffer, taken.
    pos: usize,
    /// What the current stream has decompressed to so far.
    output: u64,
    /// Following an oversized stream to its end, dropping its bytes.
    discarding: bool,
    failed: Option<FramingError>,
    examined: u64,
}

impl<D> std::fmt::Debug for StreamEnds<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamEnds")
            .field("max_frame_length", &self.max_frame_length)
            .field("max_output", &self.max_output)
            .field("pos", &self.pos)
            .field("discarding", &self.discarding)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl<D: Decompressor> StreamEnds<D> {
    pub(crate) fn new(max_frame_length: usize, max_output: u64) -> Self {
        StreamEnds {
            max_frame_length,
            max_output,
            decompressor: D::fresh(),
            scratch: Vec::new(),
            pos: 0,
            output: 0,
            discarding: false,
            failed: None,
            examined: 0,
        }
    }

    fn malformed(reason: String) -> FramingError {
        FramingError::Malformed {
            format: D::FORMAT,
            offset: 0,
            reason,
        }
    }

    /// Decompress `src[self.pos..]`: `Ok(true)` when the stream ended at
    /// `self.pos`.
    fn advance(&mut self, src: &[u8]) -> Result<bool, FramingError> {
        if self.scratch.is_empty() {
            self.scratch = vec![0; SCRATCH];
        }
        loop {
            let had_input = self.pos < src.len();
            let (taken, produced, ended) = self
                .decompressor
                .step(&src[self.pos..], &mut self.scratch)
                .map_err(Self::malformed)?;
            self.pos += taken;
            self.examined += taken as u64;
            self.output += produced as u64;
            if self.output > self.max_output {
                return Err(Self::malformed(format!(
                    "a stream decompresses to more than {} bytes, the most its end is \
                     sought through",
                    self.max_output
                )));
            }
            match ended {
                true => return Ok(true),
                // A full output: the decompressor may hold more of it, and
                // the stream's end behind it, even with every byte taken —
                // the end of a stream that ends the input must not wait
                // for a byte after it.
                _ if produced == self.scratch.len() => continue,
                _ if taken == 0 && produced == 0 && had_input => {
                    return Err(Self::malformed(
                        "the decompressor takes no more input".into(),
                    ));
                }
                // Input left over means the output was full: go on.
                _ if self.pos < src.len() => continue,
                _ => return Ok(false),
            }
        }
    }

    fn reset(&mut self) {
        self.decompressor.restart();
        self.pos = 0;
        self.output = 0;
        self.discarding = false;
    }

    pub(crate) fn next_frame<'a>(
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
            // Decompress no more than max + 1 bytes of a stream that may fit.
            let window = if self.discarding {
                src.len()
            } else {
                src.len().min(max.saturating_add(1))
            };
            let ended = match self.advance(&src[..window]) {
                Ok(ended) => ended,
                Err(_) if self.discarding => return Err(self.fail_skipped()),
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

    pub(crate) fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, DecodeFailure> {
        Ok(self.next_frame(src)?.map(Frame::into_bytes))
    }

    /// The skipped stream's error: fatal, sticky, the same whatever the
    /// decompressor met (see [`SKIPPED_STREAM_DOES_NOT_END`]).
    fn fail_skipped(&mut self) -> DecodeFailure {
        let error = Self::malformed(SKIPPED_STREAM_DOES_NOT_END.into());
        self.failed = Some(error.clone());
        DecodeFailure::fatal(error)
    }

    /// The end of the input inside an oversized stream being skipped is the
    /// error an error met while skipping it is: the two cannot be told
    /// apart in every read split.
    pub(crate) fn decode_eof(
        &mut self,
        src: &mut BytesMut,
    ) -> Result<Option<Bytes>, DecodeFailure> {
        if let Some(frame) = self.decode(src)? {
            return Ok(Some(frame));
        }
        if self.discarding {
            src.clear();
            self.reset();
            return Err(self.fail_skipped());
        }
        if src.is_empty() && self.pos == 0 {
            return Ok(None);
        }
        Err(DecodeFailure::fatal(FramingError::UnexpectedEof {
            pending: src.len(),
        }))
    }

    /// Counts the bytes decompressed: each once.
    pub(crate) fn bytes_examined(&self) -> u64 {
        self.examined
    }
}

/// A `FrameDecoder` for a public decoder type that wraps a [`StreamEnds`]
/// as its `.0`.
macro_rules! stream_ends_decoder {
    ($decoder:ty) => {
        impl $crate::framing::FrameDecoder for $decoder {
            fn decode(
                &mut self,
                src: &mut ::bytes::BytesMut,
            ) -> Result<Option<::bytes::Bytes>, $crate::framing::DecodeFailure> {
                self.0.decode(src)
            }

            fn next_frame<'a>(
                &mut self,
                src: &'a mut ::bytes::BytesMut,
            ) -> Result<Option<$crate::framing::Frame<'a>>, $crate::framing::DecodeFailure> {
                self.0.next_frame(src)
            }

            /// The end of the input inside an oversized stream being
            /// skipped is a fatal `Malformed`, as an error met while
            /// skipping it is.
            fn decode_eof(
                &mut self,
                src: &mut ::bytes::BytesMut,
            ) -> Result<Option<::bytes::Bytes>, $crate::framing::DecodeFailure> {
                self.0.decode_eof(src)
            }

            /// Counts the bytes decompressed: each once.
            fn bytes_examined(&self) -> u64 {
                self.0.bytes_examined()
            }
        }
    };
}
pub(crate) use stream_ends_decoder;

/// Checks the framers of bare compressed streams share in their tests.
#[cfg(test)]
pub(crate) mod checks {
    use bytes::{Bytes, BytesMut};

    use crate::error::FramingError;
    use crate::framing::{FrameDecoder, Framer, decode_all};

    /// `items` back to back come out whole, from one read and from reads
    /// of one byte; every byte examined once. So does each item alone: a
    /// stream that ends the input (no byte after it to make the
    /// decompressor go on) comes out once its last byte arrived.
    pub(crate) fn whole_in_one_read_or_byte_by_byte<F: Framer>(framer: &F, items: &[Vec<u8>]) {
        back_to_back(framer, items);
        for item in items {
            back_to_back(framer, std::slice::from_ref(item));
        }
    }

    fn back_to_back<F: Framer>(framer: &F, items: &[Vec<u8>]) {
        let wire = items.concat();
        let (frames, err) = decode_all(&mut framer.decoder(), &wire);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(frames, items);

        let mut decoder = framer.decoder();
        let mut buf = BytesMut::new();
        let mut frames = Vec::new();
        for chunk in wire.chunks(1) {
            buf.extend_from_slice(chunk);
            while let Some(frame) = decoder.decode(&mut buf).unwrap() {
                frames.push(frame);
            }
        }
        assert_eq!(frames, items);
        assert_eq!(decoder.decode_eof(&mut buf).unwrap(), None);
        assert_eq!(decoder.bytes_examined(), wire.len() as u64);
    }

    /// `wire` (an oversized stream, corrupt or cut short, ending the
    /// input) decodes to the same events in one read, in reads of 1, 2, 3
    /// and 7 bytes: the oversize, then the skipped stream's one fatal error
    /// (met while skipping or at the end of the input).
    pub(crate) fn skipped_stream_that_does_not_end<F: Framer>(framer: &F, wire: &[u8]) {
        let in_reads = |read: usize| {
            let mut decoder = framer.decoder();
            let mut buf = BytesMut::new();
            let mut events = Vec::new();
            let mut chunks = wire.chunks(read);
            loop {
                let chunk = chunks.next();
                if let Some(chunk) = chunk {
                    buf.extend_from_slice(chunk);
                }
                loop {
                    let decoded = match chunk {
                        Some(_) => decoder.decode(&mut buf),
                        None => decoder.decode_eof(&mut buf),
                    };
                    match decoded {
                        Ok(Some(frame)) => events.push(Ok(frame)),
                        Ok(None) => break,
                        Err(failure) => {
                            let fatal = !failure.recoverable;
                            let error = match failure.error {
                                FramingError::FrameTooLongSoFar { limit, .. }
                                | FramingError::FrameTooLong { limit, .. } => {
                                    format!("over {limit}")
                                }
                                other => other.to_string(),
                            };
                            events.push(Err((error, fatal)));
                            if fatal {
                                return events;
                            }
                        }
                    }
                }
                if chunk.is_none() {
                    return events;
                }
            }
        };
        let whole = in_reads(wire.len());
        assert_eq!(whole.len(), 2, "{whole:?}");
        assert!(matches!(&whole[0], Err((_, false))), "{whole:?}");
        assert!(
            matches!(&whole[1], Err((error, true)) if error.contains("skipped for its size")),
            "{whole:?}"
        );
        for read in [1, 2, 3, 7] {
            assert_eq!(in_reads(read), whole, "reads of {read}");
        }
    }

    /// With `framer` limited to `limit` bytes, `long` (over it) is one
    /// recoverable error and `short` after it comes out, under any read
    /// size, without buffering more than the limit and one read.
    pub(crate) fn oversized_reported_once_then_skipped<F: Framer>(
        framer: &F,
        limit: usize,
        long: &[u8],
        short: &[u8],
    ) {
        assert!(long.len() > limit);
        for read in [1, 7, 100_000] {
            let wire = [long, short].concat();
            let mut decoder = framer.decoder();
            let mut buf = BytesMut::new();
            let mut events = Vec::new();
            for chunk in wire.chunks(read) {
                buf.extend_from_slice(chunk);
                loop {
                    match decoder.decode(&mut buf) {
                        Ok(Some(frame)) => events.push(Ok(frame)),
                        Ok(None) => break,
                        Err(err) => {
                            assert!(err.recoverable);
                            events.push(Err(()));
                        }
                    }
                }
                assert!(buf.len() <= limit + 1 + read);
            }
            assert_eq!(
                events,
                vec![Err(()), Ok(Bytes::copy_from_slice(short))],
                "{read}"
            );
        }
    }
}
