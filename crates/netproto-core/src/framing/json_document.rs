//! Concatenated JSON documents without separators. (Being written.)

use bytes::{Bytes, BytesMut};

use super::{DecodeFailure, FrameDecoder, Framer};
use crate::error::EncodeError;

/// JSON documents with no separator between them.
#[derive(Clone, Debug)]
pub struct JsonDocument {
    max_frame_length: usize,
}

/// Decoding state of a [`JsonDocument`] framer.
#[derive(Debug)]
pub struct JsonDocumentDecoder {}

impl Framer for JsonDocument {
    type Decoder = JsonDocumentDecoder;
    fn decoder(&self) -> JsonDocumentDecoder {
        JsonDocumentDecoder {}
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

impl FrameDecoder for JsonDocumentDecoder {
    fn decode(&mut self, _src: &mut BytesMut) -> Result<Option<Bytes>, DecodeFailure> {
        unimplemented!()
    }
}
