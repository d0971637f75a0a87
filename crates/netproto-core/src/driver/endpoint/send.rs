//! The send side of an endpoint: packets in, socket bytes out.

use crate::addr::PeerAddr;
use std::fmt;

use bytes::{Buf, BytesMut};

use super::EndpointConfig;
use crate::error::{EncodeError, Error};
use crate::protocol::Protocol;
#[cfg(feature = "tls")]
use crate::tls::SharedTls;

#[cfg(feature = "tls")]
#[derive(Debug)]
struct SendTls {
    session: SharedTls,
    plaintext: BytesMut,
}

/// The send side of an [`Endpoint`](super::Endpoint): the send buffer (wire bytes waiting
/// for the socket) and the half-close state.
pub struct SendHalf<P: Protocol> {
    protocol: P,
    buf: BytesMut,
    limit: usize,
    peer: PeerAddr,
    eof: bool,
    #[cfg(feature = "tls")]
    tls: Option<SendTls>,
}

impl<P: Protocol> SendHalf<P> {
    pub(super) fn new(protocol: P, peer: impl Into<PeerAddr>, config: &EndpointConfig) -> Self {
        let peer = peer.into();
        SendHalf {
            protocol,
            buf: BytesMut::new(),
            limit: config.send_buffer_limit,
            peer,
            eof: false,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// Encrypt through `session` from now on.
    #[cfg(feature = "tls")]
    pub(super) fn set_tls(&mut self, session: SharedTls) {
        self.tls = Some(SendTls {
            session,
            plaintext: BytesMut::new(),
        });
    }

    /// Encode (and, with TLS, encrypt) `packet` into the send buffer.
    ///
    /// On error nothing is queued and the connection stays usable.
    pub fn push_packet(&mut self, packet: &P::Sent) -> Result<(), Error> {
        if self.eof {
            return Err(Error::SendAfterEof);
        }
        if self.buf.len() >= self.limit {
            return Err(EncodeError::SendBufferFull {
                pending: self.buf.len(),
                limit: self.limit,
            }
            .into());
        }
        #[cfg(feature = "tls")]
        if let Some(tls) = &mut self.tls {
            tls.plaintext.clear();
            self.protocol.encode(packet, &mut tls.plaintext)?;
            let peer = &self.peer;
            return tls
                .session
                .encrypt(&tls.plaintext, &mut self.buf)
                .map_err(|source| Error::Tls {
                    peer: peer.clone(),
                    source,
                });
        }
        self.protocol.encode(packet, &mut self.buf)?;
        Ok(())
    }

    /// Queue the end of the stream: with TLS, a close_notify alert. After
    /// writing everything [`pending`](SendHalf::pending), the driver shuts
    /// down the socket's write half. Calling it twice is harmless.
    pub fn push_eof(&mut self) {
        if self.eof {
            return;
        }
        self.eof = true;
        #[cfg(feature = "tls")]
        if let Some(tls) = &mut self.tls {
            tls.session.close_notify(&mut self.buf);
        }
    }

    /// How long the TLS close_notify may take once everything else of a
    /// close is written (`None`: plain, or no TLS shutdown timeout set).
    pub fn tls_shutdown_timeout(&self) -> Option<std::time::Duration> {
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            return tls.session.shutdown_timeout();
        }
        None
    }

    /// Move any TLS output (handshake messages, alerts, session tickets)
    /// into the send buffer.
    pub fn pull_tls(&mut self) {
        #[cfg(feature = "tls")]
        if let Some(tls) = &mut self.tls {
            tls.session.write_output(&mut self.buf);
        }
    }

    /// Whether the TLS handshake is still in progress (always false for a
    /// plain connection).
    pub fn is_handshaking(&self) -> bool {
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            return tls.session.is_handshaking();
        }
        false
    }

    /// The shared TLS session, for inspection (protocol version, peer
    /// certificates, ALPN).
    #[cfg(feature = "tls")]
    pub fn tls_session(&self) -> Option<&SharedTls> {
        self.tls.as_ref().map(|tls| &tls.session)
    }

    /// Bytes waiting to be written to the socket.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// Whether bytes are waiting to be written.
    pub fn has_pending(&self) -> bool {
        !self.buf.is_empty()
    }

    /// `n` bytes of [`pending`](SendHalf::pending) were written.
    pub fn advance(&mut self, n: usize) {
        self.buf.advance(n.min(self.buf.len()));
        if self.buf.is_empty() && self.buf.capacity() > 4 * self.limit.max(64 * 1024) {
            self.buf = BytesMut::new();
        }
    }

    /// Whether [`push_eof`](SendHalf::push_eof) was called.
    pub fn is_eof(&self) -> bool {
        self.eof
    }

    /// The peer's address.
    pub fn peer(&self) -> &PeerAddr {
        &self.peer
    }
}

impl<P: Protocol> fmt::Debug for SendHalf<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendHalf")
            .field("peer", &self.peer)
            .field("pending", &self.buf.len())
            .field("eof", &self.eof)
            .finish_non_exhaustive()
    }
}
