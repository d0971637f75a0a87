//! The decoder shared by the self-delimiting binary formats (MessagePack,
//! CBOR): items back to back, each one's end found from its own headers.
//!
//! A format describes one header at a time ([`ItemFormat::header`]): how
//! many bytes the header takes, how many payload bytes follow it (a string's
//! bytes, a float's), and, in its own state, how many nested items are still
//! owed. The decoder skips payloads without looking at them and keeps its
//! place between calls, so each header is parsed once (an incomplete header,
//! at most [`ItemFormat::MAX_HEADER`] bytes, is looked at again when more
//! bytes arrive) and a payload is never examined at all.

use bytes::{Buf, Bytes, BytesMut};

use super::{DecodeFailure, Frame};
use crate::error::{EncodeError, FramingError};

/// One step of a format's header scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scan {
    /// The header at the front is incomplete; the format's state is
    /// unchanged.
    Partial,
    /// A header of `len` bytes, followed by `payload` bytes to skip.
    Header { len: usize, payload: u64 },
}

/// The header rules of a self-delimiting format.
pub(crate) trait ItemFormat: Default + std::fmt::Debug + Send + 'static {
    /// The format's name, for error messages.
    const NAME: &'static str;
    /// The longest header, in bytes.
    const MAX_HEADER: usize;

    /// Read the header at the front of `bytes` (never empty), which belongs
    /// to the current item: [`Scan::Partial`] (state untouched) when it is
    /// cut short, or an error saying why it is malformed.
    fn header(&mut self, bytes: &[u8]) -> Result<Scan, String>;

    /// Whether the item is complete (once its last payload is skipped).
    fn complete(&self) -> bool;

    /// A lower bound of the bytes the item still needs beyond the current
    /// payload: every owed item takes at least one byte.
    fn owed(&self) -> u64;

    /// Get ready for the next item.
    fn reset(&mut self);
}

/// Incremental decoding of items of format `F`, back to back.
#[derive(Debug)]
pub(crate) struct ItemDecoder<F> {
    format: F,
    max_frame_length: usize,
    /// Bytes of the current item scanned so far, at the front of the
    /// buffer.
    pos: usize,
    /// Payload bytes still to skip before the next header.
    skip: u64,
    /// Bytes of the current item already dropped (while discarding an
    /// oversized item).
    dropped: u64,
    /// Following an oversized item to its end, dropping its bytes.
    discarding: bool,
    /// A fatal error, reported again on every call.
    failed: Option<FramingError>,
    examined: u64,
}

/// How far one scan got.
enum Progress {
    /// The item ends at `pos`.
    Complete,
    /// More bytes are needed.
    NeedMore,
    /// The item is longer than the limit: at least this many bytes.
    TooLong(u64),
}

impl<F: ItemFormat> ItemDecoder<F> {
    pub(crate) fn new(max_frame_length: usize) -> Self {
        ItemDecoder {
            format: F::default(),
            max_frame_length,
            pos: 0,
            skip: 0,
            dropped: 0,
            discarding: false,
            failed: None,
            examined: 0,
        }
    }

    fn reset(&mut self) {
        self.format.reset();
        self.pos = 0;
        self.skip = 0;
        self.dropped = 0;
        self.discarding = false;
    }

    /// Whether no byte of an item has been scanned.
    fn between_items(&self) -> bool {
        self.pos == 0 && self.skip == 0 && self.dropped == 0 && !self.discarding
    }

    /// Scan on from `self.pos`.
    fn scan(&mut self, src: &[u8]) -> Result<Progress, FramingError> {
        loop {
            if self.skip > 0 {
                let available = (src.len() - self.pos) as u64;
                let n = self.skip.min(available);
                self.pos += n as usize;
                self.skip -= n;
                self.examined += n;
                if self.skip > 0 {
                    return Ok(Progress::NeedMore);
                }
            }
            if self.format.complete() {
                return Ok(Progress::Complete);
            }
            let rest = &src[self.pos..];
            if rest.is_empty() {
                return Ok(Progress::NeedMore);
            }
            let header = self.format.header(rest).map_err(|reason| {
                self.examined += 1;
                FramingError::Malformed {
                    format: F::NAME,
                    offset: self.dropped + self.pos as u64,
                    reason,
                }
            })?;
            match header {
                Scan::Partial => {
                    self.examined += rest.len().min(F::MAX_HEADER) as u64;
                    return Ok(Progress::NeedMore);
                }
                Scan::Header { len, payload } => {
                    self.pos += len;
                    self.examined += len as u64;
                    self.skip = payload;
                }
            }
            if !self.discarding {
                let at_least = (self.pos as u64)
                    .saturating_add(self.skip)
                    .saturating_add(self.format.owed());
                if at_least > self.max_frame_length as u64 {
                    return Ok(Progress::TooLong(at_least));
                }
            }
        }
    }

    pub(crate) fn next_frame<'a>(
        &mut self,
        src: &'a mut BytesMut,
    ) -> Result<Option<Frame<'a>>, DecodeFailure> {
        loop {
            if let Some(error) = &self.failed {
                return Err(DecodeFailure::fatal(error.clone()));
            }
            let progress = match self.scan(src) {
                Ok(progress) => progress,
                Err(error) => {
                    self.failed = Some(error.clone());
                    return Err(DecodeFailure::fatal(error));
                }
            };
            match progress {
                Progress::Complete if self.discarding => {
                    src.advance(self.pos);
                    self.reset();
                }
                Progress::Complete => {
                    let end = self.pos;
                    self.reset();
                    return Ok(Some(Frame::borrowed(src, 0, end, end)));
                }
                Progress::TooLong(length) => {
                    src.advance(self.pos);
                    self.dropped += self.pos as u64;
                    self.pos = 0;
                    self.discarding = true;
                    return Err(DecodeFailure::recoverable(FramingError::FrameTooLong {
                        length,
                        limit: self.max_frame_length,
                    }));
                }
                Progress::NeedMore if self.discarding => {
                    src.advance(self.pos);
                    self.dropped += self.pos as u64;
                    self.pos = 0;
                    return Ok(None);
                }
                Progress::NeedMore => {
                    if self.skip > 0 {
                        // Saturating: with an unbounded limit a header may
                        // claim up to 2⁶⁴ bytes (growth is bounded by what
                        // arrived, not by this).
                        let end = (self.pos as u64)
                            .saturating_add(self.skip)
                            .saturating_add(self.format.owed());
                        super::grow_toward(src, usize::try_from(end).unwrap_or(usize::MAX));
                    }
                    return Ok(None);
                }
            }
        }
    }

    pub(crate) fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, DecodeFailure> {
        Ok(self.next_frame(src)?.map(Frame::into_bytes))
    }

    /// At the end of the stream, the end of an oversized item being
    /// discarded is a clean end (its error was reported already).
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
            return Ok(None);
        }
        if src.is_empty() && self.between_items() {
            return Ok(None);
        }
        Err(DecodeFailure::fatal(FramingError::UnexpectedEof {
            pending: src.len(),
        }))
    }

    pub(crate) fn bytes_examined(&self) -> u64 {
        self.examined
    }
}

/// Where the item of format `F` at the front of `bytes` ends: `Ok(None)`
/// when `bytes` holds only part of one.
pub(crate) fn item_end<F: ItemFormat>(bytes: &[u8]) -> Result<Option<usize>, FramingError> {
    let mut decoder = ItemDecoder::<F>::new(usize::MAX);
    match decoder.scan(bytes)? {
        Progress::Complete => Ok(Some(decoder.pos)),
        Progress::NeedMore | Progress::TooLong(_) => Ok(None),
    }
}

/// The framers' `encode_with`: let `write` append the item, then check it
/// is one whole item within `max` bytes, so the peer cuts the stream where
/// this item ends. On error `dst` is truncated back.
pub(crate) fn encode_item<F, W>(max: usize, dst: &mut BytesMut, write: W) -> Result<(), EncodeError>
where
    F: ItemFormat,
    W: FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
{
    let start = dst.len();
    let result = write(dst).and_then(|()| {
        let item = dst.get(start..).unwrap_or_default();
        if item.len() > max {
            return Err(EncodeError::FrameTooLong {
                length: item.len() as u64,
                limit: max,
            });
        }
        let name = F::NAME;
        match item_end::<F>(item) {
            _ if item.is_empty() => Err(EncodeError::serialize(format!("empty {name} item"))),
            Ok(Some(end)) if end == item.len() => Ok(()),
            Ok(Some(end)) => Err(EncodeError::serialize(format!(
                "{} after the {name} item of {}: a stream item is exactly one item",
                bytes(item.len() - end),
                bytes(end)
            ))),
            Ok(None) => Err(EncodeError::serialize(format!(
                "incomplete {name} item ({})",
                bytes(item.len())
            ))),
            Err(err) => Err(EncodeError::serialize(err.to_string())),
        }
    });
    result.inspect_err(|_| dst.truncate(start))
}

/// `n` bytes, in words.
fn bytes(n: usize) -> String {
    if n == 1 {
        "1 byte".into()
    } else {
        format!("{n} bytes")
    }
}

/// `FrameDecoder` for a public decoder type that wraps an `ItemDecoder` in
/// its `inner` field: written once for every self-delimiting item framer.
macro_rules! delegate_frame_decoder {
    ($decoder:ty) => {
        impl FrameDecoder for $decoder {
            fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, DecodeFailure> {
                self.inner.decode(src)
            }

            fn next_frame<'a>(
                &mut self,
                src: &'a mut BytesMut,
            ) -> Result<Option<Frame<'a>>, DecodeFailure> {
                self.inner.next_frame(src)
            }

            /// The end of an oversized item being discarded is a clean end
            /// (its error was reported already).
            fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, DecodeFailure> {
                self.inner.decode_eof(src)
            }

            /// Counts header bytes parsed (an incomplete header again each
            /// time it is retried) and payload bytes skipped.
            fn bytes_examined(&self) -> u64 {
                self.inner.bytes_examined()
            }
        }
    };
}

pub(crate) use delegate_frame_decoder;
