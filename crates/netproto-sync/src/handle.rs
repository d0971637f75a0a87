//! Reaching a served connection from outside its handler.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Weak;
use std::time::Duration;

use netproto_core::Error;
use netproto_core::addr::{StreamFamily, Tcp};
use netproto_core::protocol::Protocol;

use crate::inner::Inner;

/// A served connection, reached from another thread than its handler's
/// (see [`TcpServer::connections`](crate::TcpServer::connections)): send to
/// it or close it. It does not keep the connection open: once the
/// connection is gone (its handler returned, the peer left, the server shut
/// down), every call returns [`Error::Closed`]. `Clone + Send + Sync`.
/// `T` is the transport ([`Tcp`], or `Unix` for a `UnixStreamServer`).
pub struct ConnectionHandle<P: Protocol, T: StreamFamily = Tcp> {
    pub(crate) inner: Weak<Inner<P>>,
    pub(crate) peer: T::Addr,
    pub(crate) local: T::Addr,
    pub(crate) family: PhantomData<T>,
}

impl<P: Protocol, T: StreamFamily> Clone for ConnectionHandle<P, T> {
    fn clone(&self) -> Self {
        ConnectionHandle {
            inner: self.inner.clone(),
            peer: self.peer.clone(),
            local: self.local.clone(),
            family: PhantomData,
        }
    }
}

impl<P: Protocol, T: StreamFamily> ConnectionHandle<P, T> {
    /// As the connection's `send_packet`; sends from several threads (the
    /// handler's included) are each written whole.
    pub fn send_packet(&self, packet: &P::Sent) -> Result<(), Error> {
        self.inner
            .upgrade()
            .ok_or(Error::Closed)?
            .send_packet(packet, None)
    }

    /// As the connection's `send_packet_timeout`.
    pub fn send_packet_timeout(&self, packet: &P::Sent, timeout: Duration) -> Result<(), Error> {
        self.inner
            .upgrade()
            .ok_or(Error::Closed)?
            .send_packet(packet, Some(timeout))
    }

    /// As the connection's `close`: its handler's pending receive returns
    /// [`Error::Closed`]. `Ok(())` when it was gone already.
    pub fn close(&self) -> Result<(), Error> {
        match self.inner.upgrade() {
            Some(inner) => inner.close(),
            None => Ok(()),
        }
    }

    /// Whether the connection is closed or gone.
    pub fn is_closed(&self) -> bool {
        self.inner
            .upgrade()
            .is_none_or(|inner| inner.conn.is_closed())
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> T::Addr {
        self.peer.clone()
    }

    /// The connection's local address.
    pub fn local_addr(&self) -> T::Addr {
        self.local.clone()
    }
}

impl<P: Protocol, T: StreamFamily> fmt::Debug for ConnectionHandle<P, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionHandle")
            .field("peer", &self.peer)
            .field("local", &self.local)
            .field("closed", &self.is_closed())
            .finish()
    }
}
