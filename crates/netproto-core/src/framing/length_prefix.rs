//! Frames preceded by a length header.
//!
//! The layout follows tokio-util's `LengthDelimitedCodec` builder: a length
//! field of some width sits `length_field_offset` bytes into the frame head;
//! its value plus `length_adjustment` is the length of the frame that is
//! returned, which starts `num_skip` bytes after the start of the head:
//!
//! ```text
//! |<- offset ->|<- length field ->|<- ... ->|
//! |<------------- num_skip ---------------->|<- value + adjustment bytes ->|
//!                                            \_ the frame returned _______/
//! ```
//!
//! Two things differ from tokio-util, on purpose: the maximum frame length is
//! checked on the final length (after adjustment, tokio#4815), and nothing is
//! ever reserved for the length a header claims (tokio#333): the receive
//! buffer grows only as bytes really arrive.

use bytes::{BufMut, Bytes, BytesMut};

use super::{DecodeFailure, Frame, FrameDecoder, Framer};
use crate::error::{EncodeError, FramingError};

/// Width and encoding of a length header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LengthWidth {
    /// One byte.
    U8,
    /// Two bytes.
    U16,
    /// Four bytes.
    U32,
    /// Eight bytes.
    U64,
    /// Unsigned LEB128 varint (1 to 10 bytes).
    Varint,
}

impl LengthWidth {
    /// The header size in bytes, or `None` for a varint (1 to 10 bytes).
    pub fn fixed_len(self) -> Option<usize> {
        match self {
            LengthWidth::U8 => Some(1),
            LengthWidth::U16 => Some(2),
            LengthWidth::U32 => Some(4),
            LengthWidth::U64 => Some(8),
            LengthWidth::Varint => None,
        }
    }

    /// The largest value the header can hold.
    pub fn max_value(self) -> u64 {
        match self {
            LengthWidth::U8 => u8::MAX.into(),
            LengthWidth::U16 => u16::MAX.into(),
            LengthWidth::U32 => u32::MAX.into(),
            LengthWidth::U64 | LengthWidth::Varint => u64::MAX,
        }
    }
}

/// Length-prefixed frames: u8/u16/u32/u64 headers in big or little endian, or
/// an unsigned LEB128 varint.
///
/// Shortcuts cover the usual layouts ([`u32_be`](LengthPrefix::u32_be),
/// [`varint`](LengthPrefix::varint), ...); [`LengthPrefix::builder`] sets a
/// header offset, a length adjustment and the bytes to skip as tokio-util's
/// `LengthDelimitedCodec` builder does. The default is a big-endian u32
/// header and a maximum frame length of 8 MiB.
///
/// A header whose length (after adjustment) exceeds the limit, is negative,
/// or is a malformed varint is a fatal [`DecodeFailure`]: once the length of
/// a frame is unknown, the stream cannot be cut any more. The decoder never
/// reserves what a header claims.
///
/// ```
/// use bytes::BytesMut;
/// use netproto_core::framing::{FrameDecoder, Framer, LengthPrefix};
///
/// let framer = LengthPrefix::u16_be();
/// let mut wire = BytesMut::new();
/// framer.encode(b"hello", &mut wire).unwrap();
/// assert_eq!(&wire[..], b"\x00\x05hello");
///
/// let mut decoder = framer.decoder();
/// assert_eq!(decoder.decode(&mut wire).unwrap().unwrap(), "hello");
/// ```
#[derive(Clone, Debug)]
pub struct LengthPrefix {
    width: LengthWidth,
    big_endian: bool,
    offset: usize,
    adjustment: isize,
    num_skip: Option<usize>,
    /// The configured limit, capped by what the header can express.
    max_frame_length: usize,
}

impl Default for LengthPrefix {
    fn default() -> Self {
        LengthPrefix::builder().build()
    }
}

impl LengthPrefix {
    /// The default maximum frame length: 8 MiB.
    pub const DEFAULT_MAX_FRAME_LENGTH: usize = 8 * 1024 * 1024;

    /// A builder for any layout (defaults: big-endian u32 at offset 0, no
    /// adjustment, header skipped, 8 MiB limit).
    pub fn builder() -> LengthPrefixBuilder {
        LengthPrefixBuilder {
            width: LengthWidth::U32,
            big_endian: true,
            offset: 0,
            adjustment: 0,
            num_skip: None,
            max_frame_length: Self::DEFAULT_MAX_FRAME_LENGTH,
        }
    }

    /// A 1-byte header (frames of at most 255 bytes).
    pub fn u8() -> Self {
        Self::builder().length_field_width(LengthWidth::U8).build()
    }

    /// A big-endian 2-byte header.
    pub fn u16_be() -> Self {
        Self::builder().length_field_width(LengthWidth::U16).build()
    }

    /// A little-endian 2-byte header.
    pub fn u16_le() -> Self {
        Self::builder()
            .length_field_width(LengthWidth::U16)
            .little_endian()
            .build()
    }

    /// A big-endian 4-byte header (the default).
    pub fn u32_be() -> Self {
        Self::builder().build()
    }

    /// A little-endian 4-byte header.
    pub fn u32_le() -> Self {
        Self::builder().little_endian().build()
    }

    /// A big-endian 8-byte header.
    pub fn u64_be() -> Self {
        Self::builder().length_field_width(LengthWidth::U64).build()
    }

    /// A little-endian 8-byte header.
    pub fn u64_le() -> Self {
        Self::builder()
            .length_field_width(LengthWidth::U64)
            .little_endian()
            .build()
    }

    /// An unsigned LEB128 varint header (as protobuf's delimited messages).
    pub fn varint() -> Self {
        Self::builder()
            .length_field_width(LengthWidth::Varint)
            .build()
    }

    /// Set the largest frame accepted on receive and on send (after length
    /// adjustment). The header width may cap it further.
    pub fn max_frame_length(mut self, max: usize) -> Self {
        self.max_frame_length = effective_limit(self.width, self.adjustment, max);
        self
    }

    /// The header width.
    pub fn width(&self) -> LengthWidth {
        self.width
    }

    /// Whether a fixed-width header is big endian (always true for varints,
    /// which have no byte order).
    pub fn is_big_endian(&self) -> bool {
        self.big_endian
    }

    /// The frame head up to the end of a fixed-width field; for a varint, up
    /// to its first byte (what [`encode_with`](Framer::encode_with) writes
    /// before the payload, not counting a gap before `num_skip`).
    fn skip_before_payload(&self) -> usize {
        let head = self.offset + self.width.fixed_len().unwrap_or(1);
        self.num_skip.unwrap_or(head)
    }

    /// Check an encoded frame length and return the header value.
    fn header_value(&self, frame_len: usize, header_end: usize) -> Result<u64, EncodeError> {
        let skip = self.num_skip.unwrap_or(header_end);
        if frame_len > self.max_frame_length {
            return Err(EncodeError::FrameTooLong {
                length: frame_len as u64,
                limit: self.max_frame_length,
            });
        }
        let value = frame_len as i128 - self.adjustment as i128;
        if value < 0 || skip + frame_len < header_end {
            return Err(EncodeError::serialize(format!(
                "frame of {frame_len} bytes is too short for this length-prefix layout \
                 (length adjustment {}, header ends at byte {header_end}, frame starts at byte {skip})",
                self.adjustment
            )));
        }
        Ok(value as u64)
    }
}

/// The largest final frame length a header of `width` can express with
/// `adjustment`, capped by `max`.
fn effective_limit(width: LengthWidth, adjustment: isize, max: usize) -> usize {
    let expressible = i128::from(width.max_value()) + adjustment as i128;
    let expressible = usize::try_from(expressible.max(0)).unwrap_or(usize::MAX);
    max.min(expressible)
}

/// Bytes a LEB128 varint needs for `value`.
fn varint_len(value: u64) -> usize {
    let bits = 64 - value.leading_zeros() as usize;
    bits.div_ceil(7).max(1)
}

/// Builder for [`LengthPrefix`], with the knobs of tokio-util's
/// `LengthDelimitedCodec` builder.
///
/// ```
/// use netproto_core::framing::{LengthPrefix, LengthWidth};
///
/// // | version: u8 | length: u16 (counts the whole head) | payload |
/// let framer = LengthPrefix::builder()
///     .length_field_offset(1)
///     .length_field_width(LengthWidth::U16)
///     .length_adjustment(-3)
///     .max_frame_length(64 * 1024)
///     .build();
/// ```
#[derive(Clone, Debug)]
pub struct LengthPrefixBuilder {
    width: LengthWidth,
    big_endian: bool,
    offset: usize,
    adjustment: isize,
    num_skip: Option<usize>,
    max_frame_length: usize,
}

impl LengthPrefixBuilder {
    /// Bytes in the frame head before the length field (default 0). On
    /// encode they are written as zeros.
    pub fn length_field_offset(mut self, offset: usize) -> Self {
        self.offset = offset;
        self
    }

    /// The width of the length field (default [`LengthWidth::U32`]).
    pub fn length_field_width(mut self, width: LengthWidth) -> Self {
        self.width = width;
        self
    }

    /// Added to the header value to get the frame length (default 0): use
    /// `-(head length)` when the header counts the head, or a positive value
    /// when frames returned include bytes the header does not count.
    pub fn length_adjustment(mut self, adjustment: isize) -> Self {
        self.adjustment = adjustment;
        self
    }

    /// Where the returned frame starts, in bytes from the start of the head
    /// (default: just after the length field, so the head is stripped).
    ///
    /// With `num_skip` smaller than the end of the length field, returned
    /// frames contain (part of) the head, and frames given to
    /// [`encode_with`](Framer::encode_with) must contain it too: the framer
    /// overwrites the length field in place and leaves the other head bytes
    /// as written. Bytes before `num_skip` are written as zeros.
    pub fn num_skip(mut self, num_skip: usize) -> Self {
        self.num_skip = Some(num_skip);
        self
    }

    /// The largest frame (after adjustment) accepted on receive and on send
    /// (default 8 MiB). The header width may cap it further.
    pub fn max_frame_length(mut self, max: usize) -> Self {
        self.max_frame_length = max;
        self
    }

    /// Fixed-width headers in big endian (network order, the default).
    pub fn big_endian(mut self) -> Self {
        self.big_endian = true;
        self
    }

    /// Fixed-width headers in little endian.
    pub fn little_endian(mut self) -> Self {
        self.big_endian = false;
        self
    }

    /// Build the framer.
    ///
    /// # Panics
    /// If `num_skip` is set with a [`LengthWidth::Varint`] header: a varint
    /// has no fixed end, so the frame always starts right after it.
    pub fn build(self) -> LengthPrefix {
        assert!(
            !(self.width == LengthWidth::Varint && self.num_skip.is_some()),
            "num_skip cannot be set with a varint length header"
        );
        LengthPrefix {
            width: self.width,
            big_endian: self.big_endian || self.width == LengthWidth::Varint,
            offset: self.offset,
            adjustment: self.adjustment,
            num_skip: self.num_skip,
            max_frame_length: effective_limit(self.width, self.adjustment, self.max_frame_length),
        }
    }
}

impl Framer for LengthPrefix {
    type Decoder = LengthPrefixDecoder;

    fn decoder(&self) -> LengthPrefixDecoder {
        LengthPrefixDecoder {
            config: self.clone(),
            varint_read: 0,
            varint_value: 0,
            frame: None,
            failed: None,
            examined: 0,
        }
    }

    /// Writes the head (zeros for now), lets `write` append the payload, then
    /// back-patches the length field.
    ///
    /// A varint header gets one byte up front; when the length needs more,
    /// the payload is moved up with one `copy_within` (a memmove of the
    /// payload, for frames of 128 bytes or more).
    #[inline]
    fn encode_with<F>(&self, dst: &mut BytesMut, write: F) -> Result<(), EncodeError>
    where
        F: FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
    {
        let start = dst.len();
        let payload_start = start + self.skip_before_payload();
        dst.put_bytes(0, payload_start - start);
        let result = write(dst).and_then(|()| {
            let frame_len = dst.len().checked_sub(payload_start).ok_or_else(|| {
                EncodeError::serialize("the payload writer removed bytes from the send buffer")
            })?;
            match self.width.fixed_len() {
                Some(w) => {
                    let value = self.header_value(frame_len, self.offset + w)?;
                    let field = &mut dst[start + self.offset..start + self.offset + w];
                    let bytes = value.to_be_bytes();
                    field.copy_from_slice(&bytes[8 - w..]);
                    if !self.big_endian {
                        field.reverse();
                    }
                }
                None => {
                    // The value depends only on the frame length; the frame
                    // starts right after the varint whatever its length (no
                    // `num_skip` with varints), so its length is known now.
                    let value = self.header_value(frame_len, self.offset + 1)?;
                    let len = varint_len(value);
                    if len > 1 {
                        let end = dst.len();
                        dst.resize(end + len - 1, 0);
                        dst.copy_within(payload_start..end, payload_start + len - 1);
                    }
                    let mut v = value;
                    for byte in &mut dst[start + self.offset..start + self.offset + len] {
                        *byte = (v & 0x7f) as u8 | 0x80;
                        v >>= 7;
                    }
                    dst[start + self.offset + len - 1] &= 0x7f;
                }
            }
            Ok(())
        });
        result.inspect_err(|_| dst.truncate(start))
    }

    /// The largest final frame length: the configured limit, capped by what
    /// the header width can express with the length adjustment.
    fn max_frame_length(&self) -> usize {
        self.max_frame_length
    }
}

/// Decoding state of a [`LengthPrefix`] framer.
///
/// Once a header is parsed its result is kept, so a large frame arriving in
/// many reads costs one comparison per call; a varint header arriving byte by
/// byte is parsed incrementally too.
#[derive(Debug)]
pub struct LengthPrefixDecoder {
    config: LengthPrefix,
    /// Varint bytes parsed so far, and the value they hold.
    varint_read: usize,
    varint_value: u64,
    /// The parsed header: (bytes before the frame, frame length).
    frame: Option<(usize, usize)>,
    /// A fatal error, reported again on every call.
    failed: Option<FramingError>,
    examined: u64,
}

impl LengthPrefixDecoder {
    /// Parse the header at the front of `src`: `Ok(Some((skip, len)))` once
    /// it is complete.
    #[inline]
    fn parse_head(&mut self, src: &[u8]) -> Result<Option<(usize, usize)>, FramingError> {
        let cfg = &self.config;
        let offset = cfg.offset;
        let (value, header_end) = match cfg.width.fixed_len() {
            Some(w) => {
                if src.len() < offset + w {
                    return Ok(None);
                }
                let field = &src[offset..offset + w];
                self.examined += w as u64;
                let mut bytes = [0u8; 8];
                let value = if cfg.big_endian {
                    bytes[8 - w..].copy_from_slice(field);
                    u64::from_be_bytes(bytes)
                } else {
                    bytes[..w].copy_from_slice(field);
                    u64::from_le_bytes(bytes)
                };
                (value, offset + w)
            }
            None => loop {
                let Some(&byte) = src.get(offset + self.varint_read) else {
                    return Ok(None);
                };
                self.examined += 1;
                // The 10th byte may only hold bit 63, and must be the last.
                if self.varint_read == 9 && byte > 1 {
                    return Err(FramingError::InvalidHeader {
                        reason: "varint length longer than 10 bytes or above 2^64-1".into(),
                    });
                }
                self.varint_value |= u64::from(byte & 0x7f) << (7 * self.varint_read);
                self.varint_read += 1;
                if byte & 0x80 == 0 {
                    let parsed = (self.varint_value, offset + self.varint_read);
                    self.varint_read = 0;
                    self.varint_value = 0;
                    break parsed;
                }
            },
        };
        let adjustment = cfg.adjustment;
        let length = i128::from(value) + adjustment as i128;
        if length < 0 {
            return Err(FramingError::InvalidHeader {
                reason: format!("length {value} with adjustment {adjustment} is negative"),
            });
        }
        let limit = cfg.max_frame_length;
        if length > limit as i128 {
            return Err(FramingError::FrameTooLong {
                length: u64::try_from(length).unwrap_or(u64::MAX),
                limit,
            });
        }
        let length = length as usize;
        let skip = cfg.num_skip.unwrap_or(header_end);
        match skip.checked_add(length) {
            Some(end) if end >= header_end => Ok(Some((skip, length))),
            Some(_) => Err(FramingError::InvalidHeader {
                reason: format!(
                    "frame of {length} bytes starting at byte {skip} ends inside its \
                     {header_end}-byte head"
                ),
            }),
            None => Err(FramingError::FrameTooLong {
                length: length as u64,
                limit,
            }),
        }
    }
}

impl FrameDecoder for LengthPrefixDecoder {
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, DecodeFailure> {
        Ok(self.next_frame(src)?.map(Frame::into_bytes))
    }

    #[inline(always)]
    fn next_frame<'a>(
        &mut self,
        src: &'a mut BytesMut,
    ) -> Result<Option<Frame<'a>>, DecodeFailure> {
        if let Some(error) = &self.failed {
            return Err(DecodeFailure::fatal(error.clone()));
        }
        let (skip, length) = match self.frame {
            Some(frame) => frame,
            None => match self.parse_head(src) {
                Ok(Some(frame)) => {
                    self.frame = Some(frame);
                    frame
                }
                Ok(None) => return Ok(None),
                Err(error) => {
                    self.failed = Some(error.clone());
                    return Err(DecodeFailure::fatal(error));
                }
            },
        };
        if src.len() < skip + length {
            super::grow_toward(src, skip + length);
            return Ok(None);
        }
        self.frame = None;
        Ok(Some(Frame::borrowed(
            src,
            skip,
            skip + length,
            skip + length,
        )))
    }

    /// Counts header bytes parsed: each header is read once, however many
    /// reads its frame takes.
    fn bytes_examined(&self) -> u64 {
        self.examined
    }
}

#[cfg(test)]
mod tests;
