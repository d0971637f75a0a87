//! The driver interface: what netproto's drivers need from the core.
//!
//! netproto's drivers (`netproto-sync`, and `netproto-async` with its
//! bindings `netproto-tokio` and `netproto-async-std`) only move bytes
//! between a socket and the engines here; every decision is the core's.
//! **Users of netproto do not need this module**: clients, servers,
//! options, protocols and errors are at the top of the core and of each
//! driver.
//!
//! * [`connection`] — the connection engine: one stream connection's
//!   reads, writes, deadlines, close sequence, events and TLS, polled with
//!   a [`Transport`](connection::Transport) and the current time.
//! * [`endpoint`] — the buffers and framing state the engine is built on,
//!   and the setup of a connection from options
//!   ([`ConnectionSetup`](endpoint::ConnectionSetup)).
//! * [`datagram`] — the datagram engine and a datagram server's per-peer
//!   dispatch.
//! * [`server`] — the server lifecycle: admission, the registry of live
//!   connections, accept back-off, the shutdown plan.
#![cfg_attr(
    feature = "tls",
    doc = "* [`tls`] — a TLS session and its sharing between the halves of an endpoint."
)]
//! * [`InStream`] — the rule for an error in a stream of received packets.
//!
//! # Stability
//!
//! This module is public so that the drivers, which are separate crates,
//! can use it. It is versioned with `netproto-core` like everything else
//! (it changes only in a release that is breaking for Cargo: `0.x` to
//! `0.x+1`), but it is made for the drivers of the same release and
//! follows what they need: expect it to change in every such release,
//! with no deprecation period. Write a driver against it only if you are
//! prepared to follow it; the user-facing API is what netproto keeps
//! stable.

pub mod connection;
pub mod endpoint;
pub mod server;

/// The datagram engine and a datagram server's per-peer dispatch.
///
/// The user-facing side of datagrams (protocols, server options) is
/// [`crate::datagram`].
pub mod datagram {
    pub use crate::datagram::engine::{DatagramEngine, RecvDatagram, SendDatagram};
    pub use crate::datagram::peers::{PeerLimits, PeerTable, Pushed};
    pub use crate::datagram::server::{
        Dispatched, Dispatcher, PeerLink, PeerRecv, PeerRun, PeerStep, ServedPeer,
    };
    pub use crate::datagram::transport::DatagramTransport;
}

/// A TLS session and its sharing between the halves of an endpoint.
///
/// The user-facing side of TLS (the client and server configurations) is
/// [`crate::tls`].
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub mod tls {
    pub use crate::tls::session::{SharedTls, TlsSession};
}

use crate::error::Error;

/// What a stream of received packets does with an error: see
/// [`Error::in_stream`](crate::Error::in_stream).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InStream {
    /// Yield the error; the stream goes on.
    Yield,
    /// Yield the error, then end the stream.
    YieldThenEnd,
    /// End the stream without yielding the error.
    End,
}

impl InStream {
    /// The next item of a stream of received packets for the receive
    /// `result` (`None`: the stream ends here), setting `*ended` once the
    /// stream is over — the whole rule of [`Error::in_stream`](crate::Error::in_stream) for a
    /// driver's iterator or `Stream`.
    ///
    /// ```
    /// use netproto_core::Error;
    /// use netproto_core::driver::InStream;
    ///
    /// let mut ended = false;
    /// let peer = "127.0.0.1:9".parse::<std::net::SocketAddr>().unwrap();
    /// let item = InStream::item::<String>(Err(Error::ConnectionReset { peer: peer.into() }), true, &mut ended);
    /// assert!(matches!(item, Some(Err(Error::ConnectionReset { .. }))));
    /// assert!(ended);
    /// ```
    pub fn item<T>(
        result: Result<T, Error>,
        bounded: bool,
        ended: &mut bool,
    ) -> Option<Result<T, Error>> {
        match result {
            Ok(packet) => Some(Ok(packet)),
            Err(err) => {
                let step = err.in_stream(bounded);
                *ended = step.ends();
                step.yields().then_some(Err(err))
            }
        }
    }

    /// Whether the error is yielded as a stream item.
    pub fn yields(self) -> bool {
        self != InStream::End
    }

    /// Whether the stream ends with this error.
    pub fn ends(self) -> bool {
        self != InStream::Yield
    }
}
