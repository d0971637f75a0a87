//! No framing: every received chunk is a frame.

use bytes::{Bytes, BytesMut};

use super::{DecodeFailure, FrameDecoder, Framer};
use crate::error::EncodeError;

/// No framing at all: whatever bytes are buffered form the next frame, and
/// sent frames are written as they are.
///
/// Useful for byte-stream protocols and echo servers. Frames are at most
/// [`max_frame_length`](Raw::max_frame_length) bytes (default 64 KiB); a
/// larger buffered chunk is delivered in several frames. Sending is not
/// limited: with no frames on the wire, a large send is simply received as
/// several chunks.
///
/// ```
/// use bytes::BytesMut;
/// use netproto_core::framing::{FrameDecoder, Framer, Raw};
///
/// let mut decoder = Raw::new().max_frame_length(4).decoder();
/// let mut buf = BytesMut::from(&b"abcdef"[..]);
/// assert_eq!(decoder.decode(&mut buf).unwrap().unwrap(), "abcd");
/// assert_eq!(decoder.decode(&mut buf).unwrap().unwrap(), "ef");
/// assert_eq!(decoder.decode(&mut buf).unwrap(), None);
/// ```
#[derive(Clone, Debug)]
pub struct Raw {
    max_frame_length: usize,
}

impl Default for Raw {
    fn default() -> Self {
        Raw {
            max_frame_length: 64 * 1024,
        }
    }
}

impl Raw {
    /// Raw chunks of at most 64 KiB.
    pub fn new() -> Self {
        Raw::default()
    }

    /// Set the largest chunk delivered as one frame.
    ///
    /// # Panics
    /// If `max` is zero.
    pub fn max_frame_length(mut self, max: usize) -> Self {
        assert!(max > 0, "max_frame_length must be positive");
        self.max_frame_length = max;
        self
    }
}

impl Framer for Raw {
    type Decoder = RawDecoder;

    fn decoder(&self) -> RawDecoder {
        RawDecoder {
            max_frame_length: self.max_frame_length,
        }
    }

    fn encode_with<F>(&self, dst: &mut BytesMut, write: F) -> Result<(), EncodeError>
    where
        F: FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
    {
        let start = dst.len();
        write(dst).inspect_err(|_| dst.truncate(start))
    }

    fn max_frame_length(&self) -> usize {
        self.max_frame_length
    }
}

/// Decoding state of a [`Raw`] framer (none but the chunk limit).
#[derive(Debug)]
pub struct RawDecoder {
    max_frame_length: usize,
}

impl FrameDecoder for RawDecoder {
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, DecodeFailure> {
        if src.is_empty() {
            return Ok(None);
        }
        let n = src.len().min(self.max_frame_length);
        Ok(Some(src.split_to(n).freeze()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_frames() {
        let mut d = Raw::new().max_frame_length(3).decoder();
        let mut buf = BytesMut::from(&b"abcdefg"[..]);
        assert_eq!(d.decode(&mut buf).unwrap().unwrap(), "abc");
        assert_eq!(d.decode(&mut buf).unwrap().unwrap(), "def");
        assert_eq!(d.decode_eof(&mut buf).unwrap().unwrap(), "g");
        assert_eq!(d.decode_eof(&mut buf).unwrap(), None);
    }
}
