//! CBOR items back to back, with no separator or length.

use bytes::{Bytes, BytesMut};

use super::item::{ItemDecoder, ItemFormat, Scan, encode_item};
use super::{DecodeFailure, Frame, FrameDecoder, Framer};
use crate::error::EncodeError;

/// CBOR items (RFC 8949) with nothing between them, as EasyNetwork's
/// `StreamProtocol(CBORSerializer())` sends them: each frame is one whole
/// item, its end found from the item's own headers.
///
/// The decoder reads headers only: string bytes and number values are
/// skipped without being looked at, and a definite-length array, map or tag
/// adds its contents to a count of items still owed. Indefinite-length
/// strings, arrays and maps (ended by a `0xff` break) are followed on a
/// small stack, nested at most [`MAX_INDEFINITE_NESTING`](Self::MAX_INDEFINITE_NESTING)
/// deep. The decoder keeps its place between calls, so an item arriving in
/// many reads costs O(n) however it is cut. Validating the item (UTF-8
/// text, what the type expects) is the serializer's job.
///
/// * An item longer than [`max_frame_length`](CborItem::max_frame_length)
///   (default 64 KiB, EasyNetwork's default limit) is reported once, as soon
///   as its headers show it cannot fit, as a recoverable
///   [`FramingError::FrameTooLong`](crate::error::FramingError::FrameTooLong);
///   the decoder follows it to its end, dropping its bytes as they arrive,
///   and carries on after it. Nothing is reserved for the length a header
///   claims.
/// * A header that is not well-formed CBOR in a way that hides where the
///   item ends (reserved additional information 28 to 30, an
///   indefinite-length integer or tag, a misplaced break, a chunk of another
///   type inside an indefinite-length string, an indefinite map with a key
///   and no value) or nesting deeper than the limit is a fatal
///   [`FramingError::Malformed`](crate::error::FramingError::Malformed):
///   there is no way to tell where the stream goes on.
///   Other rules of well-formedness that leave the item's length clear (a
///   two-byte simple value below 32) are left to the serializer, as is
///   validity.
/// * [`encode_with`](Framer::encode_with) writes the item as it is, after
///   checking it is exactly one item within the limit.
///
/// ```
/// use bytes::BytesMut;
/// use netproto_core::framing::{CborItem, FrameDecoder, Framer};
///
/// let framer = CborItem::new();
/// let mut wire = BytesMut::new();
/// framer.encode(b"\x82\x01\x62hi", &mut wire).unwrap(); // [1, "hi"]
/// framer.encode(b"\x9f\x01\xff", &mut wire).unwrap(); // [_ 1]
/// assert_eq!(&wire[..], b"\x82\x01\x62hi\x9f\x01\xff");
///
/// let mut decoder = framer.decoder();
/// assert_eq!(decoder.decode(&mut wire).unwrap().unwrap(), &b"\x82\x01\x62hi"[..]);
/// assert_eq!(decoder.decode(&mut wire).unwrap().unwrap(), &b"\x9f\x01\xff"[..]);
/// assert_eq!(decoder.decode(&mut wire).unwrap(), None);
/// ```
#[derive(Clone, Debug)]
pub struct CborItem {
    max_frame_length: usize,
}

impl Default for CborItem {
    fn default() -> Self {
        CborItem {
            max_frame_length: Self::DEFAULT_MAX_FRAME_LENGTH,
        }
    }
}

impl CborItem {
    /// The default maximum item length: 64 KiB.
    pub const DEFAULT_MAX_FRAME_LENGTH: usize = 64 * 1024;

    /// How deep indefinite-length items may nest in one another (definite
    /// ones nest without limit: they cost the decoder nothing).
    pub const MAX_INDEFINITE_NESTING: usize = 256;

    /// Items of at most 64 KiB.
    pub fn new() -> Self {
        CborItem::default()
    }

    /// Set the largest item accepted on receive and on send.
    pub fn max_frame_length(mut self, max: usize) -> Self {
        self.max_frame_length = max;
        self
    }
}

impl Framer for CborItem {
    type Decoder = CborItemDecoder;

    fn decoder(&self) -> CborItemDecoder {
        CborItemDecoder {
            inner: ItemDecoder::new(self.max_frame_length),
        }
    }

    /// Writes the item as it is, once it is checked to be exactly one
    /// well-formed CBOR item of at most the limit.
    fn encode_with<F>(&self, dst: &mut BytesMut, write: F) -> Result<(), EncodeError>
    where
        F: FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
    {
        encode_item::<CborHeaders, F>(self.max_frame_length, dst, write)
    }

    fn max_frame_length(&self) -> usize {
        self.max_frame_length
    }
}

/// Decoding state of a [`CborItem`] framer: where the scan is, how many
/// nested items the current item still owes, and the indefinite-length
/// items it is inside.
#[derive(Debug)]
pub struct CborItemDecoder {
    inner: ItemDecoder<CborHeaders>,
}

super::item::delegate_frame_decoder!(CborItemDecoder);

/// What an indefinite-length item holds until its break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    /// Definite-length chunks of this major type (2: bytes, 3: text).
    Chunks(u8),
    Array,
    /// A map, and whether a key is waiting for its value.
    Map {
        key_pending: bool,
    },
}

/// An indefinite-length item being read, and the definite items owed
/// inside it (by the entry being read).
#[derive(Debug, Clone, Copy)]
struct Level {
    open: Open,
    owed: u64,
}

/// CBOR's header rules.
#[derive(Debug)]
pub(crate) struct CborHeaders {
    /// Items owed at the top level (1 until the item's first header).
    top_owed: u64,
    /// The indefinite-length items being read, innermost last.
    open: Vec<Level>,
    /// All items owed, plus one break per open indefinite item: a lower
    /// bound of the bytes still to come.
    total_owed: u64,
}

impl Default for CborHeaders {
    fn default() -> Self {
        CborHeaders {
            top_owed: 1,
            open: Vec::new(),
            total_owed: 1,
        }
    }
}

impl CborHeaders {
    /// The owed count of the innermost level.
    fn owed_here(&mut self) -> &mut u64 {
        match self.open.last_mut() {
            Some(level) => &mut level.owed,
            None => &mut self.top_owed,
        }
    }

    /// Add `n` owed items at the innermost level (saturating: see
    /// `MsgPackHeaders::children`).
    fn owe(&mut self, n: u64) {
        let here = self.owed_here();
        *here = here.saturating_add(n);
        self.total_owed = self.total_owed.saturating_add(n);
    }
}

impl ItemFormat for CborHeaders {
    const NAME: &'static str = "CBOR";
    /// Initial byte and an 8-byte argument.
    const MAX_HEADER: usize = 9;

    fn header(&mut self, bytes: &[u8]) -> Result<Scan, String> {
        let initial = bytes[0];
        let major = initial >> 5;
        let info = initial & 0x1f;
        let owed_here = match self.open.last() {
            Some(level) => level.owed,
            None => self.top_owed,
        };
        // A direct entry of an indefinite-length item (or its break).
        let direct = owed_here == 0;
        if initial == 0xff {
            let Some(level) = self.open.last().filter(|_| direct) else {
                return Err("break (0xff) where an item was expected".into());
            };
            if level.open == (Open::Map { key_pending: true }) {
                return Err("indefinite-length map ends with a key and no value".into());
            }
            self.open.pop();
            self.total_owed = self.total_owed.saturating_sub(1);
            return Ok(Scan::Header { len: 1, payload: 0 });
        }
        let chunks_of = match self.open.last() {
            Some(Level {
                open: Open::Chunks(chunk_major),
                ..
            }) => Some(*chunk_major),
            _ => None,
        };
        // A chunk of another major type hides where the string ends; a
        // nested indefinite chunk of the same type (not well-formed by RFC
        // 8949, but ciborium reads it) does not, so it is left to the
        // serializer, like other values the framer can delimit.
        if let Some(chunk_major) = chunks_of.filter(|&m| major != m) {
            let kind = if chunk_major == 2 { "byte" } else { "text" };
            return Err(format!(
                "a chunk of an indefinite-length {kind} string must be a definite-length \
                 {kind} string, not initial byte 0x{initial:02x}"
            ));
        }
        let len = match info {
            0..=23 | 31 => 1,
            24 => 2,
            25 => 3,
            26 => 5,
            27 => 9,
            _ => {
                return Err(format!(
                    "reserved additional information {info} in initial byte 0x{initial:02x}"
                ));
            }
        };
        if info == 31 && matches!(major, 0 | 1 | 6 | 7) {
            return Err(format!(
                "initial byte 0x{initial:02x}: major type {major} has no indefinite length"
            ));
        }
        if bytes.len() < len {
            return Ok(Scan::Partial);
        }
        let argument = match info {
            0..=23 => u64::from(info),
            _ => bytes[1..len].iter().fold(0, |n, &b| n << 8 | u64::from(b)),
        };
        let indefinite = info == 31;
        if indefinite && self.open.len() >= CborItem::MAX_INDEFINITE_NESTING {
            return Err(format!(
                "indefinite-length items nested deeper than {}",
                CborItem::MAX_INDEFINITE_NESTING
            ));
        }

        // Well-formed: take this item off what is owed.
        if direct {
            if let Some(Level {
                open: Open::Map { key_pending },
                ..
            }) = self.open.last_mut()
            {
                *key_pending = !*key_pending;
            }
        } else {
            *self.owed_here() -= 1;
            self.total_owed = self.total_owed.saturating_sub(1);
        }
        let payload = match (major, indefinite) {
            (2 | 3, false) => argument,
            (2 | 3, true) | (4 | 5, true) => {
                let open = match major {
                    2 | 3 => Open::Chunks(major),
                    4 => Open::Array,
                    _ => Open::Map { key_pending: false },
                };
                self.open.push(Level { open, owed: 0 });
                self.total_owed = self.total_owed.saturating_add(1);
                0
            }
            (4, false) => {
                self.owe(argument);
                0
            }
            (5, false) => {
                self.owe(argument.saturating_mul(2));
                0
            }
            (6, _) => {
                self.owe(1);
                0
            }
            // Integers and simple values: the argument was all of it.
            _ => 0,
        };
        Ok(Scan::Header { len, payload })
    }

    fn complete(&self) -> bool {
        self.top_owed == 0 && self.open.is_empty()
    }

    fn owed(&self) -> u64 {
        self.total_owed
    }

    fn reset(&mut self) {
        self.top_owed = 1;
        self.open.clear();
        self.total_owed = 1;
    }
}

#[cfg(test)]
mod tests;
