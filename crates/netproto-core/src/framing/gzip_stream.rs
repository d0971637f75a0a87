//! Gzip members back to back, with no separator or length.

use bytes::BytesMut;
use flate2::{Crc, Decompress, FlushDecompress, Status};

use super::Framer;
use super::compressed_stream::{Decompressor, StreamEnds, stream_ends_decoder};
use crate::error::EncodeError;

/// Whole gzip members (RFC 1952) with nothing between them: the bare form
/// of the [`Gzip`](crate::serializer::Gzip) wrapper on a stream, each
/// frame one member, header to CRC-32 and length, its end found by reading
/// its header and inflating its deflate data.
///
/// EasyNetwork has no gzip serializer; this is [`ZlibStream`](super::ZlibStream)
/// for gzip, with the same costs and errors:
///
/// * A member longer than [`max_frame_length`](GzipStream::max_frame_length)
///   compressed bytes (default 64 KiB) is reported once as a recoverable
///   [`FramingError::FrameTooLong`](crate::error::FramingError::FrameTooLong)
///   (or `FrameTooLongSoFar`), followed to its end, and skipped; one whose
///   end is never found (corrupt, or the input ends inside it) is then a
///   fatal `Malformed`, as for `ZlibStream`.
/// * Bytes that are not a gzip member (a bad magic number, method or flag
///   bits, corrupt deflate data, a CRC-32 or length mismatch in the
///   trailer) are a fatal
///   [`FramingError::Malformed`](crate::error::FramingError::Malformed).
///   The optional header CRC (`FHCRC`) is left to the serializer, which
///   refuses a member whose header CRC is wrong as a per-packet error.
/// * [`encode_with`](Framer::encode_with) writes the member as it is, after
///   checking its length and its magic number and method.
///
/// ```
/// use bytes::BytesMut;
/// use netproto_core::framing::{FrameDecoder, Framer, GzipStream};
/// use netproto_core::serializer::{Gzip, Serializer, Utf8};
///
/// let gzip = Gzip::new(Utf8);
/// let framer = GzipStream::new();
/// let mut wire = BytesMut::new();
/// for text in ["hello", "world"] {
///     framer.encode_with(&mut wire, |dst| gzip.serialize(text, dst)).unwrap();
/// }
/// let mut decoder = framer.decoder();
/// let hello = decoder.decode(&mut wire).unwrap().unwrap();
/// assert_eq!(gzip.deserialize(hello).unwrap(), "hello");
/// let world = decoder.decode(&mut wire).unwrap().unwrap();
/// assert_eq!(gzip.deserialize(world).unwrap(), "world");
/// ```
#[derive(Clone, Debug)]
pub struct GzipStream {
    max_frame_length: usize,
}

impl Default for GzipStream {
    fn default() -> Self {
        GzipStream {
            max_frame_length: Self::DEFAULT_MAX_FRAME_LENGTH,
        }
    }
}

impl GzipStream {
    /// The default maximum compressed member length: 64 KiB.
    pub const DEFAULT_MAX_FRAME_LENGTH: usize = 64 * 1024;

    /// Members of at most 64 KiB compressed.
    pub fn new() -> Self {
        GzipStream::default()
    }

    /// Set the largest compressed member accepted on receive and on send.
    pub fn max_frame_length(mut self, max: usize) -> Self {
        self.max_frame_length = max;
        self
    }
}

impl Framer for GzipStream {
    type Decoder = GzipStreamDecoder;

    fn decoder(&self) -> GzipStreamDecoder {
        // As for zlib: deflate's ratio bounds the output, no output limit.
        GzipStreamDecoder(StreamEnds::new(self.max_frame_length, u64::MAX))
    }

    /// Writes the member as it is, once its length and its first three
    /// bytes (`1f 8b 08`: the magic number and deflate) are checked.
    fn encode_with<F>(&self, dst: &mut BytesMut, write: F) -> Result<(), EncodeError>
    where
        F: FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
    {
        let start = dst.len();
        let result = write(dst).and_then(|()| {
            let member = dst.get(start..).unwrap_or_default();
            if member.len() > self.max_frame_length {
                return Err(EncodeError::FrameTooLong {
                    length: member.len() as u64,
                    limit: self.max_frame_length,
                });
            }
            match member {
                [0x1f, 0x8b, 8, ..] => Ok(()),
                _ => Err(EncodeError::serialize(
                    "not a gzip member: the payload must start with 1f 8b 08",
                )),
            }
        });
        result.inspect_err(|_| dst.truncate(start))
    }

    fn max_frame_length(&self) -> usize {
        self.max_frame_length
    }
}

/// Decoding state of a [`GzipStream`] framer: where in the current member
/// it is, and the inflater of its deflate data.
#[derive(Debug)]
pub struct GzipStreamDecoder(StreamEnds<GzipMember>);

stream_ends_decoder!(GzipStreamDecoder);

const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;

/// Where in a member the reader is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    /// The 10 fixed header bytes: `seen` of them so far.
    Fixed { seen: u8 },
    /// The 2-byte length of the extra field.
    ExtraLength { seen: u8, length: u16 },
    /// The extra field: `left` bytes to go.
    Extra { left: u16 },
    /// A zero-terminated file name.
    Name,
    /// A zero-terminated comment.
    Comment,
    /// The header CRC: `left` bytes to go.
    HeaderCrc { left: u8 },
    /// The deflate data.
    Body,
    /// The 8-byte trailer: `seen` of them so far.
    Trailer { seen: u8 },
}

/// Reads one gzip member: its header byte by byte, its deflate data with
/// a raw inflater, its trailer against the CRC-32 and length of the output.
pub(crate) struct GzipMember {
    part: Part,
    flags: u8,
    inflater: Decompress,
    crc: Crc,
    trailer: [u8; 8],
}

impl GzipMember {
    /// The first optional field present from `order[from..]` on (in
    /// header order), or the deflate data.
    fn field_from(&self, from: usize) -> Part {
        const ORDER: [u8; 4] = [FEXTRA, FNAME, FCOMMENT, FHCRC];
        match ORDER[from.min(4)..]
            .iter()
            .find(|&&flag| self.flags & flag != 0)
        {
            Some(&FEXTRA) => Part::ExtraLength { seen: 0, length: 0 },
            Some(&FNAME) => Part::Name,
            Some(&FCOMMENT) => Part::Comment,
            Some(_) => Part::HeaderCrc { left: 2 },
            None => Part::Body,
        }
    }

    /// Take one header byte (the reader is in the header).
    fn header_byte(&mut self, byte: u8) -> Result<(), String> {
        self.part = match self.part {
            Part::Fixed { seen } => {
                match (seen, byte) {
                    (0, 0x1f) | (1, 0x8b) | (2, 8) => {}
                    (0 | 1, _) => return Err("not a gzip member (bad magic number)".into()),
                    (2, method) => return Err(format!("unknown compression method {method}")),
                    (3, flags) if flags & 0xe0 != 0 => {
                        return Err(format!("reserved header flags set (0x{flags:02x})"));
                    }
                    (3, flags) => self.flags = flags,
                    _ => {}
                }
                if seen < 9 {
                    Part::Fixed { seen: seen + 1 }
                } else {
                    self.field_from(0)
                }
            }
            Part::ExtraLength { seen: 0, .. } => Part::ExtraLength {
                seen: 1,
                length: u16::from(byte),
            },
            Part::ExtraLength { length, .. } => match length | (u16::from(byte) << 8) {
                0 => self.field_from(1),
                left => Part::Extra { left },
            },
            Part::Extra { left: 1 } => self.field_from(1),
            Part::Extra { left } => Part::Extra { left: left - 1 },
            Part::Name if byte == 0 => self.field_from(2),
            Part::Comment if byte == 0 => self.field_from(3),
            part @ (Part::Name | Part::Comment) => part,
            Part::HeaderCrc { left: 1 } => Part::Body,
            Part::HeaderCrc { left } => Part::HeaderCrc { left: left - 1 },
            part @ (Part::Body | Part::Trailer { .. }) => part,
        };
        Ok(())
    }
}

impl std::fmt::Debug for GzipMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GzipMember")
            .field("part", &self.part)
            .finish_non_exhaustive()
    }
}

impl Decompressor for GzipMember {
    const FORMAT: &'static str = "gzip";

    fn fresh() -> Self {
        GzipMember {
            part: Part::Fixed { seen: 0 },
            flags: 0,
            inflater: Decompress::new(false),
            crc: Crc::new(),
            trailer: [0; 8],
        }
    }

    fn restart(&mut self) {
        self.part = Part::Fixed { seen: 0 };
        self.flags = 0;
        self.inflater.reset(false);
        self.crc.reset();
    }

    fn step(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize, bool), String> {
        let mut taken = 0;
        loop {
            match self.part {
                Part::Body => {
                    let (before_in, before_out) =
                        (self.inflater.total_in(), self.inflater.total_out());
                    let status = self
                        .inflater
                        .decompress(&input[taken..], output, FlushDecompress::None)
                        .map_err(|err| err.to_string())?;
                    let produced = (self.inflater.total_out() - before_out) as usize;
                    self.crc.update(&output[..produced]);
                    taken += (self.inflater.total_in() - before_in) as usize;
                    if status == Status::StreamEnd {
                        self.part = Part::Trailer { seen: 0 };
                    }
                    if produced > 0 || taken == input.len() {
                        return Ok((taken, produced, false));
                    }
                    if status != Status::StreamEnd {
                        // Neither input taken nor output made: let the
                        // caller see it.
                        return Ok((taken, 0, false));
                    }
                }
                Part::Trailer { seen } => {
                    let Some(&byte) = input.get(taken) else {
                        return Ok((taken, 0, false));
                    };
                    taken += 1;
                    self.trailer[usize::from(seen)] = byte;
                    if seen < 7 {
                        self.part = Part::Trailer { seen: seen + 1 };
                        continue;
                    }
                    let [c0, c1, c2, c3, l0, l1, l2, l3] = self.trailer;
                    if u32::from_le_bytes([c0, c1, c2, c3]) != self.crc.sum() {
                        return Err("CRC-32 mismatch in the gzip trailer".into());
                    }
                    if u32::from_le_bytes([l0, l1, l2, l3]) != self.crc.amount() {
                        return Err("length mismatch in the gzip trailer".into());
                    }
                    return Ok((taken, 0, true));
                }
                _ => {
                    let Some(&byte) = input.get(taken) else {
                        return Ok((taken, 0, false));
                    };
                    taken += 1;
                    self.header_byte(byte)?;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
