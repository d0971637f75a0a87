//! The connection state machine that every driver runs.
//!
//! An [`Endpoint`] owns a connection's receive buffer, send buffer, half-close
//! state and (with the `tls` feature) its TLS session. It never touches a
//! socket: a driver moves bytes between the socket and the endpoint, and waits
//! when the endpoint says it needs more input or has output pending.
//!
//! # The calling contract
//!
//! Split the endpoint with [`Endpoint::split`] so that receiving and sending
//! can run at the same time (each half behind its own lock in the driver).
//!
//! **Receiving** ([`RecvHalf`]):
//!
//! 1. Call [`RecvHalf::next_packet`]. `Some(Ok(packet))` is the next packet;
//!    `Some(Err(e))` is an error (see [`Error::is_recoverable`](crate::Error::is_recoverable) for whether
//!    receiving can go on); `None` means more bytes are needed.
//! 2. On `None`, read from the socket into [`RecvHalf::read_buf`] (at most
//!    `max_recv_size` bytes), then call [`RecvHalf::commit`] with the count
//!    read; `0` means the peer closed its write half (EOF). If the read times
//!    out or is cancelled, just don't commit: nothing buffered is lost. If it
//!    fails for good (a reset, any I/O error but a timeout or an
//!    interruption), hand the error to [`RecvHalf::fail_io`]: receiving is
//!    over, and `next_packet` reports that error on every later call.
//! 3. If [`RecvHalf::tls_wants_write`] is true after a commit, TLS has output
//!    for the peer (a handshake message, an alert): flush the send half (step
//!    3 below) before reading again.
//! 4. Go back to 1. Several packets may come out of one read.
//!
//! **Sending** ([`SendHalf`]):
//!
//! 1. Write out anything [`SendHalf::pending`] still holds (a previous write
//!    that was interrupted), calling [`SendHalf::advance`] after each write.
//! 2. [`SendHalf::push_packet`] encodes (and encrypts) one packet into the
//!    send buffer. On error nothing is queued.
//! 3. Write [`SendHalf::pending`] to the socket until it is empty — a send is
//!    complete only when every byte was handed to the kernel. With TLS, call
//!    [`SendHalf::pull_tls`] first whenever the receive half asked for a flush.
//! 4. For `send_eof`: [`SendHalf::push_eof`], write everything pending, then
//!    shut down the socket's write half. Receiving keeps working.
//!
//! With TLS, run the handshake first: while [`SendHalf::is_handshaking`],
//! `pull_tls` and write what is pending, then read and `commit`.
//!
//! Drivers build endpoints through [`ConnectionSetup`], which turns client or
//! server options into a plain or TLS endpoint, so that no driver decides on
//! its own whether a connection is encrypted.
//!
//! ```
//! use netproto_core::driver::endpoint::{Endpoint, EndpointConfig};
//! use netproto_core::framing::Delimiter;
//! use netproto_core::serializer::Utf8;
//! use netproto_core::StreamProtocol;
//!
//! let peer = "127.0.0.1:9".parse::<std::net::SocketAddr>().unwrap();
//! let protocol = StreamProtocol::new(Delimiter::lf(), Utf8);
//! let (mut recv, mut send) = Endpoint::new(protocol, peer, &EndpointConfig::default()).split();
//!
//! send.push_packet("hello").unwrap();
//! let wire = send.pending().to_vec();
//! send.advance(wire.len());
//! assert_eq!(wire, b"hello\n");
//!
//! // A "socket read" that delivers two packets at once.
//! let input = b"one\ntwo\n";
//! recv.read_buf()[..input.len()].copy_from_slice(input);
//! recv.commit(input.len());
//! assert_eq!(recv.next_packet().unwrap().unwrap(), "one");
//! assert_eq!(recv.next_packet().unwrap().unwrap(), "two");
//! assert!(recv.next_packet().is_none()); // need more bytes
//! ```

use crate::addr::PeerAddr;
use std::fmt;

use crate::protocol::Protocol;
#[cfg(feature = "tls")]
use crate::tls::{SharedTls, TlsSession};

mod events;
mod limit;
mod pipe;
mod recv;
mod send;
mod setup;

pub use events::ConnectionEvents;
pub use limit::RecvLimit;
pub use recv::RecvHalf;
pub use send::SendHalf;
pub use setup::{ConnectionSetup, TlsRole};

/// Buffer sizes and limits of one connection.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct EndpointConfig {
    /// The most bytes one socket read asks for (default 16 KiB).
    pub max_recv_size: usize,
    /// The bound on bytes waiting in the send buffer before `push_packet`
    /// refuses more (default 1 MiB); drivers flush before pushing, so it is
    /// reached only when a previous send was interrupted.
    pub send_buffer_limit: usize,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            max_recv_size: Self::DEFAULT_MAX_RECV_SIZE,
            send_buffer_limit: 1024 * 1024,
        }
    }
}

impl EndpointConfig {
    /// Default for [`EndpointConfig::max_recv_size`]: 16 KiB.
    pub const DEFAULT_MAX_RECV_SIZE: usize = 16 * 1024;

    /// Set the most bytes one socket read asks for.
    ///
    /// # Panics
    /// If `size` is zero.
    pub fn max_recv_size(mut self, size: usize) -> Self {
        assert!(size > 0, "max_recv_size must be positive");
        self.max_recv_size = size;
        self
    }

    /// Set the send buffer bound.
    pub fn send_buffer_limit(mut self, limit: usize) -> Self {
        self.send_buffer_limit = limit;
        self
    }
}

/// A connection's state: a receive half and a send half. See the
/// [module documentation](self) for the calling contract.
pub struct Endpoint<P: Protocol> {
    recv: RecvHalf<P>,
    send: SendHalf<P>,
}

impl<P: Protocol> Endpoint<P> {
    /// A plain (unencrypted) connection to `peer` speaking `protocol`.
    pub fn new(protocol: P, peer: impl Into<PeerAddr>, config: &EndpointConfig) -> Self {
        let peer = peer.into();
        Endpoint {
            recv: RecvHalf::new(protocol.clone(), peer.clone(), config),
            send: SendHalf::new(protocol, peer, config),
        }
    }

    /// A TLS connection: socket bytes pass through `session`.
    #[cfg(feature = "tls")]
    pub fn with_tls(
        protocol: P,
        peer: impl Into<PeerAddr>,
        config: &EndpointConfig,
        session: TlsSession,
    ) -> Self {
        let peer = peer.into();
        let mut endpoint = Endpoint::new(protocol, peer, config);
        let shared = SharedTls::new(session);
        endpoint.recv.set_tls(shared.clone());
        endpoint.send.set_tls(shared);
        endpoint
    }

    /// Split into the receive and send halves, which can be used at the
    /// same time (by two threads or tasks, each half behind its own lock).
    pub fn split(self) -> (RecvHalf<P>, SendHalf<P>) {
        (self.recv, self.send)
    }

    /// The receive half.
    pub fn recv_half(&mut self) -> &mut RecvHalf<P> {
        &mut self.recv
    }

    /// The send half.
    pub fn send_half(&mut self) -> &mut SendHalf<P> {
        &mut self.send
    }
}

impl<P: Protocol> fmt::Debug for Endpoint<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("recv", &self.recv)
            .field("send", &self.send)
            .finish()
    }
}

#[cfg(test)]
mod tests;
