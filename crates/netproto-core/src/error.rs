//! Errors, split by who is at fault.
//!
//! * [`FramingError`] and [`DeserializeError`] — the **peer** sent bytes that
//!   do not follow the protocol.
//! * [`EncodeError`] — the **local caller** asked to send something that
//!   cannot cross the wire (too long, not serializable, ...).
//! * [`Error`] — what a driver returns: one of the above, or what happened to
//!   the connection (refused, timed out, reset, closed, TLS failure), each
//!   naming the peer and the numbers a user can act on.

use crate::addr::PeerAddr;
use crate::driver::InStream;
use std::fmt;
use std::io;
use std::time::Duration;

use bytes::Bytes;

/// A boxed error from a serializer or converter.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The peer sent a byte stream that cannot be cut into frames.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FramingError {
    /// A frame is longer than the framer allows.
    ///
    /// `length` is the length the header claimed (length-prefix framers) or
    /// the number of bytes seen without a delimiter (delimiter framers).
    #[error("frame of {length} bytes exceeds the limit of {limit}")]
    FrameTooLong {
        /// Claimed or observed frame length in bytes.
        length: u64,
        /// The configured maximum frame length.
        limit: usize,
    },
    /// A length header could not be read (varint overflow, negative length
    /// after adjustment, ...).
    #[error("invalid length header: {reason}")]
    InvalidHeader {
        /// What is wrong with the header.
        reason: String,
    },
    /// A byte that cannot start or continue a frame (JSON-document framer).
    #[error("invalid byte 0x{byte:02x} at offset {offset} outside of any JSON document")]
    InvalidByte {
        /// The offending byte.
        byte: u8,
        /// Its offset from the start of the receive buffer.
        offset: usize,
    },
    /// A self-delimiting item (MessagePack, CBOR, a zlib stream) is not
    /// well-formed, so where it ends cannot be known.
    #[error("malformed {format} item: {reason} (at byte {offset} of the item)")]
    Malformed {
        /// The format: `"MessagePack"`, `"CBOR"`, `"zlib"`.
        format: &'static str,
        /// Where in the item the bad header starts (0 for zlib: inflaters
        /// do not say where).
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// The stream ended inside a frame.
    #[error("connection closed with {pending} bytes of an incomplete frame pending")]
    UnexpectedEof {
        /// Bytes received for the frame that never completed.
        pending: usize,
    },
    /// A frame whose end is not in sight yet (no delimiter, an unfinished
    /// document or stream) already has more bytes than the framer allows.
    /// `at_least` is what was buffered when the framer gave up on it: the
    /// frame itself is longer.
    #[error("frame of at least {at_least} bytes exceeds the limit of {limit}")]
    FrameTooLongSoFar {
        /// The bytes of the frame seen so far.
        at_least: u64,
        /// The configured maximum frame length.
        limit: usize,
    },
}

impl FramingError {
    /// Whether this is the end-of-stream error ([`FramingError::UnexpectedEof`]).
    pub fn is_eof(&self) -> bool {
        matches!(self, FramingError::UnexpectedEof { .. })
    }

    /// Whether a frame exceeded the framer's limit
    /// ([`FramingError::FrameTooLong`] or [`FramingError::FrameTooLongSoFar`]).
    pub fn is_too_long(&self) -> bool {
        matches!(
            self,
            FramingError::FrameTooLong { .. } | FramingError::FrameTooLongSoFar { .. }
        )
    }
}

/// A frame was received whole but could not be turned into a packet.
///
/// This is an error for that packet only: the frame is carried here and the
/// next receive returns the next packet.
#[derive(Debug, thiserror::Error)]
#[error("frame of {} bytes: {source}", frame.len())]
pub struct DeserializeError {
    /// The frame that failed to deserialize.
    pub frame: Bytes,
    /// Why it failed.
    #[source]
    pub source: BoxError,
}

impl DeserializeError {
    /// Build an error for `frame` from any error type.
    pub fn new(frame: Bytes, source: impl Into<BoxError>) -> Self {
        DeserializeError {
            frame,
            source: source.into(),
        }
    }
}

/// The local caller asked to send something that cannot be sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The encoded frame is longer than the framer's limit.
    #[error("frame of {length} bytes exceeds the limit of {limit}")]
    FrameTooLong {
        /// Length of the encoded frame.
        length: u64,
        /// The configured maximum frame length.
        limit: usize,
    },
    /// The frame contains the delimiter, so the peer would cut it in two.
    #[error("frame contains the delimiter {delimiter:?} at offset {offset}")]
    ContainsDelimiter {
        /// The delimiter, as bytes.
        delimiter: Bytes,
        /// Where in the frame it was found.
        offset: usize,
    },
    /// A fixed-size framer was given a frame of another size.
    #[error("frame of {length} bytes does not match the fixed size of {expected}")]
    WrongSize {
        /// Length of the frame given.
        length: usize,
        /// The fixed size.
        expected: usize,
    },
    /// The serializer or a converter refused the packet.
    #[error("cannot serialize packet: {0}")]
    Serialize(#[source] BoxError),
    /// The encoded datagram is longer than the endpoint's maximum datagram
    /// size.
    #[error("datagram of {length} bytes exceeds the maximum datagram size of {limit}")]
    DatagramTooLong {
        /// Length of the encoded datagram.
        length: usize,
        /// The configured maximum datagram size.
        limit: usize,
    },
    /// The send buffer would exceed its bound.
    #[error("send buffer full: {pending} bytes pending, limit {limit}")]
    SendBufferFull {
        /// Bytes already waiting to be written.
        pending: usize,
        /// The configured bound.
        limit: usize,
    },
}

impl EncodeError {
    /// Wrap any error as a serialization failure.
    pub fn serialize(source: impl Into<BoxError>) -> Self {
        EncodeError::Serialize(source.into())
    }
}

/// Everything a client, server connection or endpoint can report.
///
/// Each variant is distinguishable in code, and converts into
/// [`std::io::Error`] with a matching [`io::ErrorKind`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The peer refused the connection.
    #[error("connection refused by {addr}")]
    ConnectionRefused {
        /// The address that refused.
        addr: PeerAddr,
    },
    /// The host name could not be resolved.
    #[error("cannot resolve host {host:?}: {source}")]
    Resolve {
        /// The host name that was looked up.
        host: String,
        /// The resolver's error.
        #[source]
        source: io::Error,
    },
    /// Connecting took longer than the connect timeout.
    #[error("connecting to {target} timed out after {timeout:?}")]
    ConnectTimeout {
        /// What we tried to connect to (`host:port`).
        target: String,
        /// The timeout that expired.
        timeout: Duration,
    },
    /// Every resolved address failed; the last error is kept.
    #[error("cannot connect to {target} after {attempts} attempt(s): {last}")]
    ConnectFailed {
        /// What we tried to connect to (`host:port`).
        target: String,
        /// How many connection attempts were made.
        attempts: u32,
        /// The error of the last attempt.
        #[source]
        last: Box<Error>,
    },
    /// An operation did not complete within its timeout. What that means
    /// for the connection depends on the [`TimeoutKind`]: a receive or send
    /// timeout loses nothing (buffered bytes stay for the next call); an
    /// idle timeout closed a served connection; a handshake timeout ended
    /// the connection's setup.
    #[error("{kind} timed out after {timeout:?}")]
    Timeout {
        /// What timed out.
        kind: TimeoutKind,
        /// The timeout that expired.
        timeout: Duration,
    },
    /// The peer reset the connection.
    #[error("connection reset by {peer}")]
    ConnectionReset {
        /// The peer.
        peer: PeerAddr,
    },
    /// The peer closed the connection cleanly, between packets.
    #[error("connection closed by {peer}")]
    ConnectionClosed {
        /// The peer.
        peer: PeerAddr,
    },
    /// The connection ended inside a frame.
    #[error("connection to {peer} closed with {pending} bytes of an incomplete frame pending")]
    UnexpectedEof {
        /// The peer.
        peer: PeerAddr,
        /// Bytes received for the frame that never completed.
        pending: usize,
    },
    /// This endpoint was closed locally (by `close`, possibly from another
    /// thread or task).
    #[error("connection is closed")]
    Closed,
    /// The write half was shut down by `send_eof`; sending is no longer possible.
    #[error("cannot send after send_eof")]
    SendAfterEof,
    /// The peer broke the framing; receiving is over unless the framer
    /// could resynchronise (see [`Error::is_recoverable`]).
    #[error("protocol error from {peer}: {source}")]
    Framing {
        /// The peer.
        peer: PeerAddr,
        /// What went wrong.
        #[source]
        source: FramingError,
        /// Whether the next receive can still succeed.
        recoverable: bool,
    },
    /// The first bytes the peer sent on this plain connection are a TLS
    /// record (a ClientHello, or a TLS server's alert): the peer speaks TLS
    /// and this side does not. `source` is what the framer made of them.
    #[error(
        "{peer} seems to speak TLS (its first bytes are a TLS record) but this connection is plain: {source}"
    )]
    PeerSpeaksTls {
        /// The peer.
        peer: PeerAddr,
        /// The framing error the TLS record caused.
        #[source]
        source: FramingError,
    },
    /// A frame arrived whole but did not deserialize. The next receive returns
    /// the next packet.
    #[error("invalid packet from {peer}: {source}")]
    Deserialize {
        /// The peer.
        peer: PeerAddr,
        /// The error, carrying the frame.
        #[source]
        source: DeserializeError,
    },
    /// A datagram longer than the endpoint's maximum datagram size arrived
    /// (the kernel truncated it to the receive buffer): it is refused
    /// whole, never delivered cut. The next receive returns the next
    /// datagram.
    #[error(
        "datagram from {peer} of at least {length} bytes exceeds the maximum datagram size of {limit}"
    )]
    DatagramTooLong {
        /// The sender.
        peer: PeerAddr,
        /// How many bytes of it were seen: the datagram was at least this
        /// long.
        length: usize,
        /// The configured maximum datagram size.
        limit: usize,
    },
    /// The packet given to `send_packet` cannot be sent. The connection is
    /// still usable.
    #[error("cannot send packet: {0}")]
    Encode(#[from] EncodeError),
    /// TLS failed (handshake, certificate, alert, truncation).
    #[error("TLS error with {peer}: {source}")]
    Tls {
        /// The peer.
        peer: PeerAddr,
        /// What went wrong.
        #[source]
        source: TlsError,
    },
    /// `close` had to give up on bytes that were queued for the peer: it
    /// did not take them within the close timeout (or the connection
    /// failed first). The connection is closed all the same.
    #[error("closed the connection to {peer} with {bytes} queued bytes not delivered")]
    Undelivered {
        /// The peer.
        peer: PeerAddr,
        /// How many queued bytes were thrown away.
        bytes: usize,
    },
    /// A bad argument or configuration given by the caller.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Any other I/O error, with the peer when one is known.
    #[error("I/O error{}: {source}", peer.as_ref().map(|p| format!(" with {p}")).unwrap_or_default())]
    Io {
        /// The peer, when known.
        peer: Option<PeerAddr>,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

impl Error {
    /// Whether a later receive on the same connection can still succeed.
    ///
    /// True for timeouts, per-packet deserialize errors, datagrams over the
    /// maximum size, encode errors and
    /// recoverable framing errors (a delimiter framer skipping an oversized
    /// line).
    /// A served connection's idle timeout is not: it closed the connection.
    pub fn is_recoverable(&self) -> bool {
        match self {
            Error::Timeout { kind, .. } => kind.is_recoverable(),
            Error::Deserialize { .. } | Error::DatagramTooLong { .. } | Error::Encode(_) => true,
            Error::Framing { recoverable, .. } => *recoverable,
            _ => false,
        }
    }

    /// What a stream of received packets does with this error, returned
    /// by the receive behind it. `bounded`: the stream waits at most a
    /// timeout per packet (`iter_received_packets(timeout)`); otherwise it
    /// is an async client's `Stream` of everything received.
    ///
    /// * An error for one packet only (recoverable, and not a timeout) is
    ///   yielded and the stream goes on.
    /// * Both end without yielding the error when the peer closes the
    ///   connection cleanly between packets; `iter_received_packets` also at
    ///   the end of its timeout, and a `Stream` when the connection is
    ///   closed locally.
    /// * Any other error — a served connection's idle timeout included — is
    ///   yielded, then the stream ends.
    ///
    /// ```
    /// use std::time::Duration;
    /// use netproto_core::Error;
    /// use netproto_core::driver::InStream;
    ///
    /// use netproto_core::error::TimeoutKind;
    ///
    /// let timeout = Error::Timeout { kind: TimeoutKind::Receive, timeout: Duration::ZERO };
    /// assert_eq!(timeout.in_stream(true), InStream::End);
    /// let peer = "127.0.0.1:9".parse::<std::net::SocketAddr>().unwrap();
    /// let closed = Error::ConnectionClosed { peer: peer.into() };
    /// assert_eq!(closed.in_stream(true), InStream::End);
    /// assert_eq!(closed.in_stream(false), InStream::End);
    /// ```
    pub fn in_stream(&self, bounded: bool) -> InStream {
        match self {
            Error::Timeout {
                kind: TimeoutKind::Receive,
                ..
            } if bounded => InStream::End,
            Error::ConnectionClosed { .. } => InStream::End,
            Error::Closed if !bounded => InStream::End,
            Error::Timeout { .. } => InStream::YieldThenEnd,
            err if err.is_recoverable() => InStream::Yield,
            _ => InStream::YieldThenEnd,
        }
    }

    /// Whether the peer (or the network between us) caused this error: a
    /// reset, a clean or unexpected close, a framing, packet or TLS
    /// failure, a refused or timed-out connect, an idle or handshake
    /// timeout. False for what happened on this side: a local `close`, a
    /// caller's timeout, a packet that cannot be encoded, a bad
    /// configuration.
    ///
    /// ```
    /// use netproto_core::Error;
    ///
    /// let peer = "10.0.0.5:8080".parse::<std::net::SocketAddr>().unwrap();
    /// assert!(Error::ConnectionReset { peer: peer.into() }.is_peer_fault());
    /// assert!(!Error::Closed.is_peer_fault());
    /// ```
    pub fn is_peer_fault(&self) -> bool {
        match self {
            Error::ConnectionRefused { .. }
            | Error::ConnectTimeout { .. }
            | Error::ConnectionReset { .. }
            | Error::ConnectionClosed { .. }
            | Error::UnexpectedEof { .. }
            | Error::Framing { .. }
            | Error::PeerSpeaksTls { .. }
            | Error::Deserialize { .. }
            | Error::DatagramTooLong { .. }
            | Error::Tls { .. }
            | Error::Undelivered { .. } => true,
            Error::ConnectFailed { last, .. } => last.is_peer_fault(),
            Error::Timeout { kind, .. } => {
                matches!(kind, TimeoutKind::Idle | TimeoutKind::Handshake)
            }
            Error::Io { source, .. } => matches!(
                source.kind(),
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::TimedOut
            ),
            _ => false,
        }
    }

    /// Map an I/O error from talking to `peer` into the matching variant
    /// (`ConnectionReset`, `ConnectionRefused`, or `Io`).
    pub fn from_io(source: io::Error, peer: impl Into<PeerAddr>) -> Error {
        let peer = peer.into();
        match source.kind() {
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe => Error::ConnectionReset { peer },
            io::ErrorKind::ConnectionRefused => Error::ConnectionRefused { addr: peer },
            _ => Error::Io {
                peer: Some(peer),
                source,
            },
        }
    }

    /// The [`io::ErrorKind`] this error maps to.
    pub fn io_kind(&self) -> io::ErrorKind {
        match self {
            Error::ConnectionRefused { .. } => io::ErrorKind::ConnectionRefused,
            Error::Resolve { .. } => io::ErrorKind::NotFound,
            Error::ConnectTimeout { .. } | Error::Timeout { .. } => io::ErrorKind::TimedOut,
            Error::ConnectFailed { last, .. } => last.io_kind(),
            Error::ConnectionReset { .. } => io::ErrorKind::ConnectionReset,
            Error::ConnectionClosed { .. } | Error::Closed => io::ErrorKind::NotConnected,
            Error::SendAfterEof => io::ErrorKind::BrokenPipe,
            Error::UnexpectedEof { .. } => io::ErrorKind::UnexpectedEof,
            Error::Framing { .. }
            | Error::PeerSpeaksTls { .. }
            | Error::Deserialize { .. }
            | Error::DatagramTooLong { .. }
            | Error::Tls { .. } => io::ErrorKind::InvalidData,
            Error::Encode(_) | Error::Config(_) => io::ErrorKind::InvalidInput,
            Error::Undelivered { .. } => io::ErrorKind::WriteZero,
            Error::Io { source, .. } => source.kind(),
        }
    }
}

/// What timed out, in an [`Error::Timeout`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// A receive waited longer than the caller's timeout; nothing was lost.
    Receive,
    /// A send waited longer than its timeout; the packet is queued whole or
    /// not at all, and the connection stays usable.
    Send,
    /// The TLS handshake did not finish in time; the connection was closed.
    Handshake,
    /// A served connection completed no packet within the server's idle
    /// timeout; the server closed it.
    Idle,
}

impl TimeoutKind {
    /// Whether the connection stays usable after this timeout.
    pub fn is_recoverable(self) -> bool {
        matches!(self, TimeoutKind::Receive | TimeoutKind::Send)
    }
}

impl fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutKind::Receive => "receive",
            TimeoutKind::Send => "send",
            TimeoutKind::Handshake => "TLS handshake",
            TimeoutKind::Idle => "idle",
        })
    }
}

impl From<Error> for io::Error {
    fn from(err: Error) -> io::Error {
        match err {
            Error::Io { source, peer: None } => source,
            other => io::Error::new(other.io_kind(), other),
        }
    }
}

/// A TLS failure.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// rustls reported an error (bad certificate, alert, protocol violation).
    #[cfg(feature = "tls")]
    #[error(transparent)]
    Rustls(#[from] rustls::Error),
    /// The peer closed TCP without sending close_notify: the data may have
    /// been truncated by an attacker or a crash.
    #[error("peer closed the connection without TLS close_notify (possible truncation)")]
    Truncated,
    /// The peer closed TCP without sending close_notify inside a frame:
    /// `pending` bytes of it had arrived. Truncation as
    /// [`TlsError::Truncated`] is, only not between frames.
    #[error(
        "peer closed the connection without TLS close_notify with {pending} bytes of an incomplete frame pending (possible truncation)"
    )]
    TruncatedFrame {
        /// Bytes received for the frame that never completed.
        pending: usize,
    },
    /// The TLS handshake failed because what the peer sent (or its closing
    /// the connection without an answer) is not TLS: it speaks plain text,
    /// or another protocol.
    #[error("the TLS handshake failed: the peer does not seem to speak TLS ({})", not_tls_detail(*.received))]
    NotTls {
        /// How many bytes the peer sent, none of them a TLS record.
        received: usize,
    },
    /// The server name is not a valid DNS name or IP address.
    #[error("invalid TLS server name {0:?}")]
    InvalidServerName(String),
    /// There is no server name to check the certificate against: a
    /// connection over a Unix socket needs `TlsClientConfig::server_name`.
    #[error(
        "no TLS server name to check the certificate against (a Unix socket has no host name: set TlsClientConfig::server_name)"
    )]
    NoServerName,
    /// rustls refused bytes in memory (its buffers are full).
    #[error("TLS I/O failure: {0}")]
    Io(String),
    /// The TLS configuration could not be built.
    #[error("invalid TLS configuration: {0}")]
    Config(String),
}

fn not_tls_detail(received: usize) -> String {
    match received {
        0 => "it closed the connection without sending a TLS record".to_owned(),
        n => format!("its first bytes are not a TLS record; {n} bytes received"),
    }
}

impl TlsError {
    /// Whether this is truncation: the peer closed TCP without
    /// close_notify ([`TlsError::Truncated`], [`TlsError::TruncatedFrame`]).
    pub fn is_truncation(&self) -> bool {
        matches!(self, TlsError::Truncated | TlsError::TruncatedFrame { .. })
    }
}

/// Whether `bytes` start with the header of a TLS record a peer opens a
/// connection with: a handshake record (a ClientHello, a ServerHello) or an
/// alert (a TLS server refusing plain text), of a TLS version from SSL 3.0
/// to TLS 1.3 (`0x16`/`0x15`, `0x03`, `0x00..=0x04`). Needs 3 bytes.
pub(crate) fn starts_with_tls_record(bytes: &[u8]) -> bool {
    matches!(bytes, [0x15 | 0x16, 0x03, 0x00..=0x04, ..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_numbers() {
        let e = FramingError::FrameTooLong {
            length: 9_437_184,
            limit: 8_388_608,
        };
        assert_eq!(
            e.to_string(),
            "frame of 9437184 bytes exceeds the limit of 8388608"
        );
        let peer: std::net::SocketAddr = "10.0.0.5:8080".parse().unwrap();
        // Says "invalid packet" once, with the frame's size.
        let e = Error::Deserialize {
            peer: peer.into(),
            source: DeserializeError::new(Bytes::from_static(b"{oops}"), "expected value"),
        };
        assert_eq!(
            e.to_string(),
            "invalid packet from 10.0.0.5:8080: frame of 6 bytes: expected value"
        );
        let e = Error::from_io(io::ErrorKind::ConnectionRefused.into(), peer);
        assert_eq!(e.to_string(), "connection refused by 10.0.0.5:8080");
        assert_eq!(io::Error::from(e).kind(), io::ErrorKind::ConnectionRefused);
    }

    #[test]
    fn recoverability() {
        let peer: std::net::SocketAddr = "127.0.0.1:1".parse().unwrap();
        let timeout = |kind| Error::Timeout {
            kind,
            timeout: Duration::from_secs(1),
        };
        assert!(timeout(TimeoutKind::Receive).is_recoverable());
        assert!(timeout(TimeoutKind::Send).is_recoverable());
        // The idle timeout closed the connection: the next receive is Closed.
        assert!(!timeout(TimeoutKind::Idle).is_recoverable());
        assert!(timeout(TimeoutKind::Idle).is_peer_fault());
        assert!(!timeout(TimeoutKind::Receive).is_peer_fault());
        assert!(!Error::ConnectionClosed { peer: peer.into() }.is_recoverable());
    }

    #[test]
    fn stream_end_rules() {
        let peer: std::net::SocketAddr = "127.0.0.1:1".parse().unwrap();
        let timeout = |kind| Error::Timeout {
            kind,
            timeout: Duration::from_secs(1),
        };
        let bad_packet = Error::Deserialize {
            peer: peer.into(),
            source: DeserializeError::new(Bytes::from_static(b"x"), "bad"),
        };
        let reset = Error::ConnectionReset { peer: peer.into() };
        for bounded in [true, false] {
            assert_eq!(bad_packet.in_stream(bounded), InStream::Yield);
            assert_eq!(reset.in_stream(bounded), InStream::YieldThenEnd);
            // A served connection's idle timeout closed it: say so.
            assert_eq!(
                timeout(TimeoutKind::Idle).in_stream(bounded),
                InStream::YieldThenEnd
            );
        }
        // iter_received_packets: its own timeout and the peer's clean close
        // end it quietly (a `?` loop does not fail on a normal close); a
        // local close is reported.
        assert_eq!(timeout(TimeoutKind::Receive).in_stream(true), InStream::End);
        assert_eq!(
            Error::ConnectionClosed { peer: peer.into() }.in_stream(true),
            InStream::End
        );
        assert_eq!(Error::Closed.in_stream(true), InStream::YieldThenEnd);
        // A Stream ends quietly when the connection is closed.
        assert_eq!(
            Error::ConnectionClosed { peer: peer.into() }.in_stream(false),
            InStream::End
        );
        assert_eq!(Error::Closed.in_stream(false), InStream::End);
        assert!(InStream::Yield.yields() && !InStream::Yield.ends());
        assert!(InStream::YieldThenEnd.yields() && InStream::YieldThenEnd.ends());
        assert!(!InStream::End.yields() && InStream::End.ends());
        let mut ended = false;
        assert!(matches!(
            InStream::item(Ok::<_, Error>(1), true, &mut ended),
            Some(Ok(1))
        ));
        assert!(!ended);
        assert!(
            InStream::item::<u8>(Err(timeout(TimeoutKind::Receive)), true, &mut ended).is_none()
        );
        assert!(ended);
    }
}
