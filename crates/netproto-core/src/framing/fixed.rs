//! Frames of one fixed size.

use bytes::{Bytes, BytesMut};

use super::{DecodeFailure, Frame, FrameDecoder, Framer};
use crate::error::EncodeError;

/// Every frame is exactly `size` bytes, with no header or delimiter (the
/// layout of fixed binary structs).
///
/// Encoding a frame of another size is refused with
/// [`EncodeError::WrongSize`]; the end of the stream inside a frame is
/// reported as [`FramingError::UnexpectedEof`](crate::error::FramingError).
///
/// ```
/// use bytes::BytesMut;
/// use netproto_core::framing::{FixedSize, FrameDecoder, Framer};
///
/// let framer = FixedSize::new(4);
/// let mut wire = BytesMut::new();
/// framer.encode(&7u32.to_be_bytes(), &mut wire).unwrap();
/// wire.extend_from_slice(b"\x00\x00");
/// let mut decoder = framer.decoder();
/// assert_eq!(&decoder.decode(&mut wire).unwrap().unwrap()[..], b"\x00\x00\x00\x07");
/// assert_eq!(decoder.decode(&mut wire).unwrap(), None);
/// ```
#[derive(Clone, Debug)]
pub struct FixedSize {
    size: usize,
}

impl FixedSize {
    /// Frames of `size` bytes.
    ///
    /// # Panics
    /// If `size` is zero.
    pub fn new(size: usize) -> Self {
        assert!(size > 0, "a fixed frame size must be positive");
        FixedSize { size }
    }

    /// The frame size.
    pub fn size(&self) -> usize {
        self.size
    }
}

impl Framer for FixedSize {
    type Decoder = FixedSizeDecoder;

    fn decoder(&self) -> FixedSizeDecoder {
        FixedSizeDecoder { size: self.size }
    }

    fn encode_with<F>(&self, dst: &mut BytesMut, write: F) -> Result<(), EncodeError>
    where
        F: FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
    {
        let start = dst.len();
        let result = write(dst).and_then(|()| {
            let length = dst.len() - start;
            if length == self.size {
                Ok(())
            } else {
                Err(EncodeError::WrongSize {
                    length,
                    expected: self.size,
                })
            }
        });
        result.inspect_err(|_| dst.truncate(start))
    }

    fn max_frame_length(&self) -> usize {
        self.size
    }
}

/// Decoding state of a [`FixedSize`] framer.
#[derive(Debug)]
pub struct FixedSizeDecoder {
    size: usize,
}

impl FrameDecoder for FixedSizeDecoder {
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, DecodeFailure> {
        Ok(self.next_frame(src)?.map(Frame::into_bytes))
    }

    fn next_frame<'a>(
        &mut self,
        src: &'a mut BytesMut,
    ) -> Result<Option<Frame<'a>>, DecodeFailure> {
        if src.len() < self.size {
            return Ok(None);
        }
        Ok(Some(Frame::borrowed(src, 0, self.size, self.size)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FramingError;
    use crate::framing::decode_all;

    #[test]
    fn cuts_fixed_frames_and_reports_a_partial_one() {
        let (frames, err) = decode_all(&mut FixedSize::new(2).decoder(), b"abcde");
        assert_eq!(frames, vec!["ab", "cd"]);
        assert_eq!(
            err.unwrap().error,
            FramingError::UnexpectedEof { pending: 1 }
        );
    }

    #[test]
    fn encode_refuses_other_sizes() {
        let mut dst = BytesMut::new();
        let err = FixedSize::new(2).encode(b"abc", &mut dst).unwrap_err();
        assert!(matches!(
            err,
            EncodeError::WrongSize {
                length: 3,
                expected: 2
            }
        ));
        assert!(dst.is_empty());
    }
}
