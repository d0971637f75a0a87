//! Serializers: turning a frame into a packet value and back.
//!
//! A [`Serializer`] knows nothing about framing; it writes a packet's bytes
//! into the send buffer (inside the frame the framer is building) and turns
//! one received frame into one packet. A frame that does not deserialize is
//! an error for that packet only ([`DeserializeError`] carries the frame).
//!
//! | serializer | sent | received |
//! |---|---|---|
//! | [`BytesSerializer`] | `[u8]` | [`Bytes`] |
//! | [`Utf8`] | `str` | `String` |

use bytes::{Bytes, BytesMut};

use crate::error::{DeserializeError, EncodeError};

mod bytes_serializer;
mod utf8;

pub use bytes_serializer::BytesSerializer;
pub use utf8::Utf8;

/// Turns packets into frame payloads and frames into packets.
///
/// Serializers are configuration: shared between the send and receive
/// halves of a connection and between connections, so both methods take
/// `&self`.
pub trait Serializer: Clone + Send + Sync + 'static {
    /// The type given to `send_packet` (may be unsized, like `str`).
    type Sent: ?Sized;
    /// The type `recv_packet` returns.
    type Received;

    /// Append the payload for `packet` to `dst`.
    fn serialize(&self, packet: &Self::Sent, dst: &mut BytesMut) -> Result<(), EncodeError>;

    /// Turn one received frame into a packet.
    fn deserialize(&self, frame: Bytes) -> Result<Self::Received, DeserializeError>;
}
