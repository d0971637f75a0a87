//! Frames preceded by a length header. (Being written; see the framing issue.)

use bytes::{Bytes, BytesMut};

use super::{DecodeFailure, FrameDecoder, Framer};
use crate::error::EncodeError;

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

/// Length-prefixed frames.
#[derive(Clone, Debug)]
pub struct LengthPrefix {
    max_frame_length: usize,
}

/// Builder for [`LengthPrefix`].
#[derive(Clone, Debug)]
pub struct LengthPrefixBuilder {}

/// Decoding state of a [`LengthPrefix`] framer.
#[derive(Debug)]
pub struct LengthPrefixDecoder {}

impl Framer for LengthPrefix {
    type Decoder = LengthPrefixDecoder;
    fn decoder(&self) -> LengthPrefixDecoder {
        LengthPrefixDecoder {}
    }
    fn encode_with<F>(&self, _dst: &mut BytesMut, _write: F) -> Result<(), EncodeError>
    where
        F: FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
    {
        unimplemented!()
    }
    fn max_frame_length(&self) -> usize {
        self.max_frame_length
    }
}

impl FrameDecoder for LengthPrefixDecoder {
    fn decode(&mut self, _src: &mut BytesMut) -> Result<Option<Bytes>, DecodeFailure> {
        unimplemented!()
    }
}
