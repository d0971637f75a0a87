//! Reaching a served connection from outside its handler.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Weak;
use std::time::Duration;

use netproto_core::addr::{StreamFamily, Tcp};
use netproto_core::{Error, Protocol};

use crate::io::Shared;
use crate::rt::Runtime;

/// A served connection, reached from another task than its handler's (see
/// [`TcpServer::connections`](crate::TcpServer::connections)): send to it
/// or close it. It does not keep the connection open: once the connection
/// is gone (its handler returned, the peer left, the server shut down),
/// every call returns [`Error::Closed`]. `Clone + Send + Sync`.
///
/// `T` is the transport ([`Tcp`], or `Unix` for a `UnixStreamServer`).
pub struct ConnectionHandle<R: Runtime, P: Protocol, T: StreamFamily = Tcp> {
    pub(crate) shared: Weak<Shared<R, P>>,
    pub(crate) peer: T::Addr,
    pub(crate) local: T::Addr,
    pub(crate) family: PhantomData<T>,
}

impl<R: Runtime, P: Protocol, T: StreamFamily> Clone for ConnectionHandle<R, P, T> {
    fn clone(&self) -> Self {
        ConnectionHandle {
            shared: self.shared.clone(),
            peer: self.peer.clone(),
            local: self.local.clone(),
            family: PhantomData,
        }
    }
}

impl<R: Runtime, P: Protocol, T: StreamFamily> ConnectionHandle<R, P, T> {
    /// As the connection's `send_packet`; sends from several tasks (the
    /// handler's included) are each written whole.
    ///
    /// Cancel safety: as `send_packet`.
    pub async fn send_packet(&self, packet: &P::Sent) -> Result<(), Error> {
        let shared = self.shared.upgrade().ok_or(Error::Closed)?;
        shared.send_packet(packet, None).await
    }

    /// As the connection's `send_packet_timeout`.
    ///
    /// Cancel safety: as `send_packet`.
    pub async fn send_packet_timeout(
        &self,
        packet: &P::Sent,
        timeout: Duration,
    ) -> Result<(), Error> {
        let shared = self.shared.upgrade().ok_or(Error::Closed)?;
        shared.send_packet(packet, Some(timeout)).await
    }

    /// As the connection's `close`: its handler's pending receive returns
    /// [`Error::Closed`]. `Ok(())` when it was gone already.
    pub async fn close(&self) -> Result<(), Error> {
        match self.shared.upgrade() {
            Some(shared) => shared.close().await,
            None => Ok(()),
        }
    }

    /// Whether the connection is closed or gone.
    pub fn is_closed(&self) -> bool {
        self.shared
            .upgrade()
            .is_none_or(|shared| shared.conn.is_closed())
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

impl<R: Runtime, P: Protocol, T: StreamFamily> fmt::Debug for ConnectionHandle<R, P, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionHandle")
            .field("peer", &self.peer)
            .field("local", &self.local)
            .field("closed", &self.is_closed())
            .finish()
    }
}
