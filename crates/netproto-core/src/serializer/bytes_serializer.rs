//! Frames as raw bytes.

use bytes::{Bytes, BytesMut};

use super::Serializer;
use crate::error::{DeserializeError, EncodeError};

/// Packets are the frames' bytes, unchanged: send `&[u8]`, receive [`Bytes`]
/// (a zero-copy view of the receive buffer).
#[derive(Clone, Copy, Debug, Default)]
pub struct BytesSerializer;

impl Serializer for BytesSerializer {
    type Sent = [u8];
    type Received = Bytes;

    fn serialize(&self, packet: &[u8], dst: &mut BytesMut) -> Result<(), EncodeError> {
        dst.extend_from_slice(packet);
        Ok(())
    }

    fn deserialize(&self, frame: Bytes) -> Result<Bytes, DeserializeError> {
        Ok(frame)
    }
}
