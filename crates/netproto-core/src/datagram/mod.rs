//! Datagrams: the protocol of a datagram socket (UDP, Unix datagrams) and the sans-IO
//! datagram engine every driver runs.
//!
//! A datagram is one packet: there is no framing, only a
//! [`Serializer`] ([`DatagramProtocol`]) and the converters every
//! protocol has ([`Protocol::map_sent`], [`Protocol::try_map_received`],
//! ...). A protocol that fits a datagram socket implements
//! [`ForDatagrams`]: [`DatagramProtocol`] and the converters over it do.
//!
//! The [`DatagramEngine`](crate::driver::datagram::DatagramEngine) decides what a datagram client or endpoint
//! does, with the socket passed in as a
//! [`DatagramTransport`](crate::driver::datagram::DatagramTransport) and the
//! time as an `Instant`:
//!
//! * a received datagram is one packet, or an error for that datagram
//!   only ([`Error::Deserialize`], [`Error::DatagramTooLong`]): the next
//!   receive returns the next datagram;
//! * a datagram longer than the maximum datagram size is never delivered
//!   cut: the engine receives into a buffer one byte longer than the
//!   maximum, and a datagram that fills it is refused as
//!   [`Error::DatagramTooLong`] naming both sizes;
//! * a packet that encodes to more than the maximum is refused before
//!   anything is sent ([`EncodeError::DatagramTooLong`]);
//! * receive and send timeouts, and a local close that wakes a waiting
//!   receive.
//!
//! [`Dispatcher`](crate::driver::datagram::Dispatcher) is a datagram server's core: a handler per remote
//! peer over a [`PeerTable`], with the server [`Lifecycle`](crate::server::Lifecycle)'s
//! graceful shutdown (see its module for the driver's serve loop).
//!
//! [`PeerTable`] is the per-peer state of a datagram server: a bounded
//! queue per peer, a bound on the number of peers, idle expiry, and the
//! count of what was dropped, reported as
//! [`ConnectionEvent::DatagramsDropped`](crate::options::ConnectionEvent::DatagramsDropped).
//!
//! ```
//! use netproto_core::datagram::{DatagramProtocol, ForDatagrams};
//! use netproto_core::protocol::Protocol;
//! use netproto_core::serializer::Utf8;
//!
//! /// Numbers, one per datagram.
//! let protocol = DatagramProtocol::new(Utf8)
//!     .map_sent(|n: &u32| n.to_string())
//!     .try_map_received(|text: String| text.parse::<u32>());
//! fn for_datagrams(_: &impl ForDatagrams) {}
//! for_datagrams(&protocol);
//!
//! let mut datagram = bytes::BytesMut::new();
//! protocol.encode(&42, &mut datagram).unwrap();
//! assert_eq!(&datagram[..], b"42");
//! assert_eq!(protocol.decode(datagram.freeze()).unwrap(), 42);
//! ```

use bytes::{Bytes, BytesMut};

#[cfg(doc)]
use crate::error::Error;
use crate::error::{BoxError, DeserializeError, EncodeError};
use crate::framing::{Frame, Framer, Raw, RawDecoder};
use crate::protocol::{MapReceived, MapSent, Protocol, TryMapReceived, TryMapSent};
use crate::serializer::Serializer;

pub(crate) mod engine;
pub(crate) mod peers;
pub(crate) mod server;
pub(crate) mod transport;

pub(crate) use peers::{PeerLimits, PeerTable, Pushed};
pub use server::DatagramServerOptions;

/// A protocol whose encoding of a packet is one whole datagram: no
/// framing on the wire. Datagram clients and endpoints take only these.
///
/// Implemented by [`DatagramProtocol`] and by the converters
/// ([`MapSent`], [`TryMapSent`], [`MapReceived`], [`TryMapReceived`]) over
/// a protocol that implements it.
pub trait ForDatagrams: Protocol {}

impl<S: Serializer> ForDatagrams for DatagramProtocol<S> {}

impl<P, A, W, F> ForDatagrams for MapSent<P, A, F>
where
    P: ForDatagrams,
    A: ?Sized + 'static,
    W: std::borrow::Borrow<P::Sent>,
    F: Fn(&A) -> W + Clone + Send + Sync + 'static,
{
}

impl<P, A, W, E, F> ForDatagrams for TryMapSent<P, A, F>
where
    P: ForDatagrams,
    A: ?Sized + 'static,
    W: std::borrow::Borrow<P::Sent>,
    E: Into<BoxError>,
    F: Fn(&A) -> Result<W, E> + Clone + Send + Sync + 'static,
{
}

impl<P, B, F> ForDatagrams for MapReceived<P, F>
where
    P: ForDatagrams,
    F: Fn(P::Received) -> B + Clone + Send + Sync + 'static,
{
}

impl<P, B, E, F> ForDatagrams for TryMapReceived<P, F>
where
    P: ForDatagrams,
    E: Into<BoxError>,
    F: Fn(P::Received) -> Result<B, E> + Clone + Send + Sync + 'static,
{
}

/// A [`Serializer`] alone: each packet is one datagram (EasyNetwork's
/// `DatagramProtocol`).
///
/// It is a [`Protocol`], so the converters apply to it. Its frame decoder
/// is [`Raw`]'s (on a datagram socket every datagram is a frame); the
/// maximum datagram size is an option of the socket
/// ([`DatagramOptions`](crate::options::DatagramOptions)), not of the
/// protocol.
#[derive(Clone, Debug, Default)]
pub struct DatagramProtocol<S> {
    serializer: S,
}

impl<S: Serializer> DatagramProtocol<S> {
    /// Packets made by `serializer`, one per datagram.
    pub fn new(serializer: S) -> Self {
        DatagramProtocol { serializer }
    }

    /// The serializer.
    pub fn serializer(&self) -> &S {
        &self.serializer
    }
}

impl<S: Serializer> Protocol for DatagramProtocol<S> {
    type Sent = S::Sent;
    type Received = S::Received;
    type Decoder = RawDecoder;

    fn decoder(&self) -> RawDecoder {
        Raw::new().decoder()
    }

    fn encode(&self, packet: &S::Sent, dst: &mut BytesMut) -> Result<(), EncodeError> {
        let start = dst.len();
        self.serializer
            .serialize(packet, dst)
            .inspect_err(|_| dst.truncate(start))
    }

    fn decode(&self, frame: Bytes) -> Result<S::Received, DeserializeError> {
        self.serializer.deserialize(frame)
    }

    #[inline]
    fn decode_frame(&self, frame: Frame<'_>) -> Result<S::Received, DeserializeError> {
        self.serializer.deserialize_frame(frame)
    }

    fn max_frame_length(&self) -> usize {
        Framer::max_frame_length(&Raw::new())
    }
}
