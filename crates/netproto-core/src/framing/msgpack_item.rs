//! MessagePack items back to back, with no separator or length.

use bytes::{Bytes, BytesMut};

use super::item::{ItemDecoder, ItemFormat, Scan, encode_item};
use super::{DecodeFailure, Frame, FrameDecoder, Framer};
use crate::error::EncodeError;

/// MessagePack items with nothing between them, as EasyNetwork's
/// `StreamProtocol(MessagePackSerializer())` sends them: each frame is one
/// whole item, its end found from the item's own headers.
///
/// The decoder reads headers only: a string's, binary's or extension's bytes
/// and a number's value bytes are skipped without being looked at, and a map
/// or array adds its entries to a count of items still owed, so nesting
/// costs nothing and the decoder's state is a few integers. Its place is
/// kept between calls, so an item arriving in many reads costs O(n) however
/// it is cut. Validating the item (UTF-8 strings, what the type expects) is
/// the serializer's job.
///
/// * An item longer than [`max_frame_length`](MsgPackItem::max_frame_length)
///   (default 64 KiB, EasyNetwork's default limit) is reported once, as soon
///   as its headers show it cannot fit, as a recoverable
///   [`FramingError::FrameTooLong`](crate::error::FramingError::FrameTooLong);
///   the decoder follows it to its end, dropping its bytes as they arrive,
///   and carries on after it. Nothing is reserved for the length a header
///   claims.
/// * The byte `0xc1`, which MessagePack never uses, is a fatal
///   [`FramingError::Malformed`](crate::error::FramingError::Malformed):
///   there is no way to tell where the stream goes on.
/// * [`encode_with`](Framer::encode_with) writes the item as it is, after
///   checking it is exactly one item within the limit (the peer would cut
///   the stream wrongly otherwise).
///
/// ```
/// use bytes::BytesMut;
/// use netproto_core::framing::{FrameDecoder, Framer, MsgPackItem};
///
/// let framer = MsgPackItem::new();
/// let mut wire = BytesMut::new();
/// framer.encode(b"\x92\x01\xa2hi", &mut wire).unwrap(); // [1, "hi"]
/// framer.encode(b"\xc3", &mut wire).unwrap(); // true
/// assert_eq!(&wire[..], b"\x92\x01\xa2hi\xc3");
///
/// let mut decoder = framer.decoder();
/// assert_eq!(decoder.decode(&mut wire).unwrap().unwrap(), &b"\x92\x01\xa2hi"[..]);
/// assert_eq!(decoder.decode(&mut wire).unwrap().unwrap(), &b"\xc3"[..]);
/// assert_eq!(decoder.decode(&mut wire).unwrap(), None);
/// ```
#[derive(Clone, Debug)]
pub struct MsgPackItem {
    max_frame_length: usize,
}

impl Default for MsgPackItem {
    fn default() -> Self {
        MsgPackItem {
            max_frame_length: Self::DEFAULT_MAX_FRAME_LENGTH,
        }
    }
}

impl MsgPackItem {
    /// The default maximum item length: 64 KiB.
    pub const DEFAULT_MAX_FRAME_LENGTH: usize = 64 * 1024;

    /// Items of at most 64 KiB.
    pub fn new() -> Self {
        MsgPackItem::default()
    }

    /// Set the largest item accepted on receive and on send.
    pub fn max_frame_length(mut self, max: usize) -> Self {
        self.max_frame_length = max;
        self
    }
}

impl Framer for MsgPackItem {
    type Decoder = MsgPackItemDecoder;

    fn decoder(&self) -> MsgPackItemDecoder {
        MsgPackItemDecoder {
            inner: ItemDecoder::new(self.max_frame_length),
        }
    }

    /// Writes the item as it is, once it is checked to be exactly one
    /// MessagePack item of at most the limit.
    fn encode_with<F>(&self, dst: &mut BytesMut, write: F) -> Result<(), EncodeError>
    where
        F: FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
    {
        encode_item::<MsgPackHeaders, F>(self.max_frame_length, dst, write)
    }

    fn max_frame_length(&self) -> usize {
        self.max_frame_length
    }
}

/// Decoding state of a [`MsgPackItem`] framer: where the scan is, and how
/// many nested items the current item still owes.
#[derive(Debug)]
pub struct MsgPackItemDecoder {
    inner: ItemDecoder<MsgPackHeaders>,
}

super::item::delegate_frame_decoder!(MsgPackItemDecoder);

/// MessagePack's header rules: the items the current item still owes.
#[derive(Debug)]
pub(crate) struct MsgPackHeaders {
    owed: u64,
}

impl Default for MsgPackHeaders {
    fn default() -> Self {
        MsgPackHeaders { owed: 1 }
    }
}

/// The big-endian unsigned integer in `bytes` (at most 4 of them).
fn be(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0, |n, &b| n << 8 | u64::from(b))
}

impl ItemFormat for MsgPackHeaders {
    const NAME: &'static str = "MessagePack";
    /// `ext 32`: marker, 4-byte length, type.
    const MAX_HEADER: usize = 6;

    fn header(&mut self, bytes: &[u8]) -> Result<Scan, String> {
        let marker = bytes[0];
        // (header length, bytes of a length field after the marker, fixed
        // payload, children per counted unit)
        let (len, field, fixed, per_unit): (usize, usize, u64, u64) = match marker {
            0x00..=0x7f | 0xc0 | 0xc2 | 0xc3 | 0xe0..=0xff => (1, 0, 0, 0),
            0x80..=0x8f => return Ok(self.children(1, 2 * u64::from(marker & 0x0f))),
            0x90..=0x9f => return Ok(self.children(1, u64::from(marker & 0x0f))),
            0xa0..=0xbf => return Ok(self.payload(1, u64::from(marker & 0x1f))),
            0xc1 => return Err("byte 0xc1 is never used in MessagePack".into()),
            // bin 8/16/32, str 8/16/32: a length, then that many bytes.
            0xc4 | 0xd9 => (2, 1, 0, 0),
            0xc5 | 0xda => (3, 2, 0, 0),
            0xc6 | 0xdb => (5, 4, 0, 0),
            // ext 8/16/32: a length, a type byte, then the data.
            0xc7 => (3, 1, 0, 0),
            0xc8 => (4, 2, 0, 0),
            0xc9 => (6, 4, 0, 0),
            0xca => (1, 0, 4, 0),
            0xcb => (1, 0, 8, 0),
            // uint/int 8, 16, 32, 64.
            0xcc..=0xcf => (1, 0, 1 << (marker - 0xcc), 0),
            0xd0..=0xd3 => (1, 0, 1 << (marker - 0xd0), 0),
            // fixext 1, 2, 4, 8, 16: a type byte, then the data.
            0xd4..=0xd8 => (1, 0, 1 + (1 << (marker - 0xd4)), 0),
            // array 16/32, map 16/32: a count, then the entries.
            0xdc => (3, 2, 0, 1),
            0xdd => (5, 4, 0, 1),
            0xde => (3, 2, 0, 2),
            0xdf => (5, 4, 0, 2),
        };
        if bytes.len() < len {
            return Ok(Scan::Partial);
        }
        let value = be(&bytes[1..1 + field]);
        if per_unit > 0 {
            Ok(self.children(len, value * per_unit))
        } else if field > 0 {
            Ok(self.payload(len, value))
        } else {
            Ok(self.payload(len, fixed))
        }
    }

    fn complete(&self) -> bool {
        self.owed == 0
    }

    fn owed(&self) -> u64 {
        self.owed
    }

    fn reset(&mut self) {
        self.owed = 1;
    }
}

impl MsgPackHeaders {
    /// A header of `len` bytes followed by `payload` bytes.
    fn payload(&mut self, len: usize, payload: u64) -> Scan {
        self.owed -= 1;
        Scan::Header { len, payload }
    }

    /// A header of `len` bytes opening `children` nested items. Within the
    /// limit the count stays below it; while an oversized item is followed
    /// to its end it could grow past 2⁶⁴, so it saturates (an item owing
    /// that many items never ends on a real stream anyway).
    fn children(&mut self, len: usize, children: u64) -> Scan {
        self.owed = (self.owed - 1).saturating_add(children);
        Scan::Header { len, payload: 0 }
    }
}

#[cfg(test)]
mod tests;
