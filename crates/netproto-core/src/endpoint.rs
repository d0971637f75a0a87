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
//!    `Some(Err(e))` is an error (see [`Error::is_recoverable`] for whether
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
//! use netproto_core::endpoint::{Endpoint, EndpointConfig};
//! use netproto_core::framing::Delimiter;
//! use netproto_core::serializer::Utf8;
//! use netproto_core::StreamProtocol;
//!
//! let peer = "127.0.0.1:9".parse().unwrap();
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
//! recv.commit(input.len()).unwrap();
//! assert_eq!(recv.next_packet().unwrap().unwrap(), "one");
//! assert_eq!(recv.next_packet().unwrap().unwrap(), "two");
//! assert!(recv.next_packet().is_none()); // need more bytes
//! ```

use std::fmt;
use std::io;
use std::net::SocketAddr;

use bytes::{Buf, BytesMut};

use crate::error::{EncodeError, Error, FramingError, TlsError};
use crate::framing::FrameDecoder;
use crate::protocol::Protocol;
#[cfg(feature = "tls")]
use crate::tls::{SharedTls, TlsSession};

mod events;
mod limit;
mod pipe;
mod setup;

pub use events::ConnectionEvents;
pub use limit::RecvLimit;
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
    pub fn new(protocol: P, peer: SocketAddr, config: &EndpointConfig) -> Self {
        Endpoint {
            recv: RecvHalf {
                decoder: protocol.decoder(),
                protocol: protocol.clone(),
                buf: BytesMut::new(),
                uncommitted: None,
                max_recv_size: config.max_recv_size,
                read_size: config.max_recv_size.min(MIN_READ_SIZE),
                peer,
                state: RecvState::Open,
                #[cfg(feature = "tls")]
                tls: None,
            },
            send: SendHalf {
                protocol,
                buf: BytesMut::new(),
                limit: config.send_buffer_limit,
                peer,
                eof: false,
                #[cfg(feature = "tls")]
                tls: None,
            },
        }
    }

    /// A TLS connection: socket bytes pass through `session`.
    #[cfg(feature = "tls")]
    pub fn with_tls(
        protocol: P,
        peer: SocketAddr,
        config: &EndpointConfig,
        session: TlsSession,
    ) -> Self {
        let mut endpoint = Endpoint::new(protocol, peer, config);
        let shared = SharedTls::new(session);
        endpoint.recv.tls = Some(RecvTls {
            session: shared.clone(),
            ciphertext: BytesMut::new(),
        });
        endpoint.send.tls = Some(SendTls {
            session: shared,
            plaintext: BytesMut::new(),
        });
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

#[derive(Debug)]
enum RecvState {
    Open,
    /// The peer's write half is closed (TCP EOF or TLS close_notify).
    Eof {
        truncated: bool,
    },
    /// Receiving is over for good: the error is reported on every call.
    Failed(Terminal),
}

#[derive(Debug)]
enum Terminal {
    Framing(FramingError),
    UnexpectedEof(usize),
    Closed,
    Tls(TlsError),
    /// A socket error (kept as kind and message: `io::Error` is not `Clone`).
    Io(io::ErrorKind, String),
}

#[cfg(feature = "tls")]
#[derive(Debug)]
struct RecvTls {
    session: SharedTls,
    /// The ciphertext read region. It keeps its length (and its stale
    /// bytes, never read: only the `n` bytes a read committed are) from one
    /// read to the next, so handing it out costs no zero-filling.
    ciphertext: BytesMut,
}

/// The smallest read region (unless `max_recv_size` is smaller).
const MIN_READ_SIZE: usize = 1024;

/// The read region after a read of `n` bytes into a region of `size`
/// bytes: twice as large after a full read, half as large after one that
/// used less than a quarter, within `[MIN_READ_SIZE, max]`.
fn next_read_size(size: usize, n: usize, max: usize) -> usize {
    let min = max.min(MIN_READ_SIZE);
    if n >= size {
        size.saturating_mul(2).min(max)
    } else if n > 0 && n < size / 4 {
        (size / 2).max(min)
    } else {
        size
    }
}

/// The receive side of an [`Endpoint`]: the receive buffer, the frame
/// decoder and the end-of-stream state.
pub struct RecvHalf<P: Protocol> {
    protocol: P,
    decoder: P::Decoder,
    buf: BytesMut,
    /// Length of the valid data while a read region is handed out.
    uncommitted: Option<usize>,
    max_recv_size: usize,
    /// The size of the next read region: adapts between
    /// 1 KiB and `max_recv_size` to what
    /// reads return, so that small packets do not pay for zero-filling a
    /// large region on every read.
    read_size: usize,
    peer: SocketAddr,
    state: RecvState,
    #[cfg(feature = "tls")]
    tls: Option<RecvTls>,
}

impl<P: Protocol> RecvHalf<P> {
    /// Buffers above this capacity are released once drained.
    const RELEASE_CAPACITY: usize = 256 * 1024;

    /// The next packet: `None` when more bytes are needed.
    pub fn next_packet(&mut self) -> Option<Result<P::Received, Error>> {
        self.discard_uncommitted();
        let peer = self.peer;
        let at_eof = match &self.state {
            RecvState::Open => false,
            RecvState::Eof { .. } => true,
            RecvState::Failed(terminal) => return Some(Err(self.terminal_error(terminal))),
        };
        // The frame is read in place; parsing it consumes it.
        let decoded = {
            let frame = if at_eof {
                self.decoder.next_frame_eof(&mut self.buf)
            } else {
                self.decoder.next_frame(&mut self.buf)
            };
            frame.map(|frame| frame.map(|frame| self.protocol.decode_frame(frame)))
        };
        match decoded {
            Ok(Some(packet)) => {
                self.release_if_drained();
                Some(packet.map_err(|source| Error::Deserialize { peer, source }))
            }
            Ok(None) if at_eof => {
                let terminal = match self.state {
                    RecvState::Eof { truncated: true } => Terminal::Tls(TlsError::Truncated),
                    _ => Terminal::Closed,
                };
                Some(Err(self.fail(terminal)))
            }
            Ok(None) => None,
            Err(failure) if failure.recoverable => Some(Err(Error::Framing {
                peer,
                source: failure.error,
                recoverable: true,
            })),
            Err(failure) => {
                let terminal = match failure.error {
                    FramingError::UnexpectedEof { pending } => Terminal::UnexpectedEof(pending),
                    other => Terminal::Framing(other),
                };
                Some(Err(self.fail(terminal)))
            }
        }
    }

    /// Where the driver reads socket bytes into, allocated on first use.
    /// Call [`commit`](RecvHalf::commit) with the number of bytes read.
    ///
    /// The region holds at most `max_recv_size` bytes. Its size adapts to
    /// the traffic: it doubles after a read that filled it and halves after
    /// reads that used less than a quarter of it (never below 1 KiB), so a
    /// connection exchanging small packets zero-fills a small region per
    /// read and a bulk transfer quickly reads `max_recv_size` at a time.
    pub fn read_buf(&mut self) -> &mut [u8] {
        self.discard_uncommitted();
        let max = self.read_size;
        #[cfg(feature = "tls")]
        if let Some(tls) = &mut self.tls {
            if tls.ciphertext.len() != max {
                tls.ciphertext.resize(max, 0);
            }
            self.uncommitted = Some(self.buf.len());
            return &mut tls.ciphertext[..];
        }
        let len = self.buf.len();
        let room = self.buf.capacity() - len;
        // Part of a frame larger than a read region is waiting: read into
        // the room left rather than copy it into a bigger buffer (the
        // decoder grows the buffer toward the frame's end in a few steps).
        let region = if len >= max && (MIN_READ_SIZE..max).contains(&room) {
            room
        } else {
            max
        };
        self.buf.resize(len + region, 0);
        self.uncommitted = Some(len);
        &mut self.buf[len..]
    }

    /// `n` bytes were read into [`read_buf`](RecvHalf::read_buf); `0` means
    /// the peer closed its write half.
    ///
    /// Errors only when no read region was handed out (a driver bug). TLS
    /// failures are reported by [`next_packet`](RecvHalf::next_packet) after
    /// the packets that arrived before them.
    pub fn commit(&mut self, n: usize) -> Result<(), Error> {
        let Some(len) = self.uncommitted.take() else {
            return Err(Error::Config(
                "commit called without a read_buf region".to_owned(),
            ));
        };
        #[cfg(feature = "tls")]
        if let Some(tls) = &mut self.tls {
            self.buf.truncate(len);
            let n = n.min(tls.ciphertext.len());
            self.read_size = next_read_size(self.read_size, n, self.max_recv_size);
            let outcome = tls
                .session
                .read_ciphertext(&tls.ciphertext[..n], &mut self.buf);
            if matches!(self.state, RecvState::Open) {
                match outcome {
                    Err(err) => self.state = RecvState::Failed(Terminal::Tls(err)),
                    Ok(true) => self.state = RecvState::Eof { truncated: false },
                    Ok(false) if n == 0 => self.state = RecvState::Eof { truncated: true },
                    Ok(false) => {}
                }
            }
            return Ok(());
        }
        let region = self.buf.len() - len;
        let n = n.min(region);
        // A region cut short by the room left says nothing about the traffic.
        if region == self.read_size {
            self.read_size = next_read_size(self.read_size, n, self.max_recv_size);
        }
        self.buf.truncate(len + n);
        if n == 0 && matches!(self.state, RecvState::Open) {
            self.state = RecvState::Eof { truncated: false };
        }
        Ok(())
    }

    /// Reading from the socket failed with `err` for good (reset, broken
    /// pipe, any I/O error that is not a timeout or an interruption):
    /// receiving is over. Returns the error to report now, naming the peer
    /// ([`Error::from_io`]); every later [`next_packet`](RecvHalf::next_packet)
    /// reports it again. If receiving had already failed, the first failure
    /// stays the one reported.
    pub fn fail_io(&mut self, err: io::Error) -> Error {
        self.discard_uncommitted();
        if !matches!(self.state, RecvState::Failed(_)) {
            self.state = RecvState::Failed(Terminal::Io(err.kind(), err.to_string()));
        }
        Error::from_io(err, self.peer)
    }

    /// During the TLS handshake: once receiving has ended — a TLS failure
    /// (a bad certificate, an alert, plain text from the peer) or the peer
    /// hanging up — the error the handshake fails with; `None` while it can
    /// go on. (Write what [`SendHalf::pull_tls`] queues first: rustls may
    /// have an alert for the peer.)
    pub fn handshake_error(&mut self) -> Option<Error> {
        if !self.is_eof() {
            return None;
        }
        Some(match self.next_packet() {
            Some(Err(err)) => err,
            _ => Error::ConnectionClosed { peer: self.peer },
        })
    }

    /// Whether TLS has output for the peer that the send half should flush.
    pub fn tls_wants_write(&self) -> bool {
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            return tls.session.wants_write();
        }
        false
    }

    /// Whether the peer has closed its write half (or receiving failed).
    pub fn is_eof(&self) -> bool {
        !matches!(self.state, RecvState::Open)
    }

    /// Bytes received and not yet returned as packets.
    pub fn buffered(&self) -> usize {
        self.uncommitted.unwrap_or(self.buf.len())
    }

    /// The peer's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The most bytes one read asks for.
    pub fn max_recv_size(&self) -> usize {
        self.max_recv_size
    }

    /// Free the receive buffer if it holds nothing, so an idle connection
    /// costs no buffer memory. The next read allocates again.
    pub fn release_memory(&mut self) {
        self.discard_uncommitted();
        if self.buf.is_empty() {
            self.buf = BytesMut::new();
            #[cfg(feature = "tls")]
            if let Some(tls) = &mut self.tls {
                tls.ciphertext = BytesMut::new();
            }
        }
    }

    fn discard_uncommitted(&mut self) {
        if let Some(len) = self.uncommitted.take() {
            self.buf.truncate(len);
        }
    }

    fn release_if_drained(&mut self) {
        if self.buf.is_empty() && self.buf.capacity() > Self::RELEASE_CAPACITY {
            self.buf = BytesMut::new();
        }
    }

    fn fail(&mut self, terminal: Terminal) -> Error {
        let err = self.terminal_error(&terminal);
        self.state = RecvState::Failed(terminal);
        err
    }

    fn terminal_error(&self, terminal: &Terminal) -> Error {
        let peer = self.peer;
        match terminal {
            Terminal::Framing(error) => Error::Framing {
                peer,
                source: error.clone(),
                recoverable: false,
            },
            Terminal::UnexpectedEof(pending) => Error::UnexpectedEof {
                peer,
                pending: *pending,
            },
            Terminal::Closed => Error::ConnectionClosed { peer },
            Terminal::Tls(error) => Error::Tls {
                peer,
                source: error.clone(),
            },
            Terminal::Io(kind, message) => {
                Error::from_io(io::Error::new(*kind, message.clone()), peer)
            }
        }
    }
}

#[cfg(feature = "tls")]
#[derive(Debug)]
struct SendTls {
    session: SharedTls,
    plaintext: BytesMut,
}

/// The send side of an [`Endpoint`]: the send buffer (wire bytes waiting
/// for the socket) and the half-close state.
pub struct SendHalf<P: Protocol> {
    protocol: P,
    buf: BytesMut,
    limit: usize,
    peer: SocketAddr,
    eof: bool,
    #[cfg(feature = "tls")]
    tls: Option<SendTls>,
}

impl<P: Protocol> SendHalf<P> {
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
            let peer = self.peer;
            return tls
                .session
                .encrypt(&tls.plaintext, &mut self.buf)
                .map_err(|source| Error::Tls { peer, source });
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
    pub fn peer(&self) -> SocketAddr {
        self.peer
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

impl<P: Protocol> fmt::Debug for RecvHalf<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvHalf")
            .field("peer", &self.peer)
            .field("buffered", &self.buffered())
            .field("state", &self.state)
            .finish_non_exhaustive()
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

#[cfg(test)]
mod tests;
