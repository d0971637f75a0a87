//! [`DatagramEngine`]: what one datagram client or endpoint decides.

use std::fmt;
use std::io;
use std::net::SocketAddr;

use crate::addr::{PeerAddr, UnixAddr};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use super::ForDatagrams;
use super::transport::DatagramTransport;
use crate::connection::{Step, deadline_after, left, lock, would_block};
use crate::endpoint::RecvLimit;
use crate::error::{EncodeError, Error, TimeoutKind};
use crate::options::DatagramOptions;
use crate::sync::Mutex;
use crate::sync::atomic::{AtomicBool, Ordering};

/// One datagram socket's state machine: the protocol, the maximum
/// datagram size, the receive buffer and the closed flag.
///
/// # The calling contract (driver-facing)
///
/// As for the stream engine ([`crate::connection`]), each operation is a
/// value the driver creates and polls with the socket (a
/// [`DatagramTransport`]) and the current time until it is
/// [`Step::Ready`]; `Readable`/`Writable` ask it to wait for the socket
/// (or the deadline given), `Again` to poll again at once.
///
/// | operation | create | poll |
/// |---|---|---|
/// | receive one datagram | [`DatagramEngine::recv`] | [`DatagramEngine::poll_recv`] |
/// | send one datagram | [`SendDatagram::new`] | [`DatagramEngine::poll_send`] |
///
/// and [`DatagramEngine::close`], which finishes at once. Nothing is held
/// across a wait: a dropped receive loses no datagram (it stays in the
/// kernel's queue), a dropped send sent its datagram whole or not at all.
///
/// ```
/// use std::io;
/// use std::sync::Mutex;
/// use std::time::{Duration, Instant};
/// use netproto_core::addr::PeerAddr;
/// use netproto_core::driver::connection::Step;
/// use netproto_core::datagram::DatagramProtocol;
/// use netproto_core::driver::datagram::{DatagramEngine, DatagramTransport, SendDatagram};
/// use netproto_core::options::DatagramOptions;
/// use netproto_core::serializer::Utf8;
/// use netproto_core::Error;
///
/// /// A socket whose queue is a list of datagrams.
/// struct Queue(Mutex<Vec<(Vec<u8>, PeerAddr)>>);
/// impl DatagramTransport for Queue {
///     fn recv_from(&self, buf: &mut [u8], _: Option<Duration>) -> io::Result<(usize, PeerAddr)> {
///         let mut queue = self.0.lock().unwrap();
///         if queue.is_empty() {
///             return Err(io::ErrorKind::WouldBlock.into());
///         }
///         let (datagram, from) = queue.remove(0);
///         let n = datagram.len().min(buf.len());
///         buf[..n].copy_from_slice(&datagram[..n]);
///         Ok((n, from))
///     }
///     /// Loops back: what is sent to the connected peer comes back from it.
///     fn send_to(&self, datagram: &[u8], to: Option<&PeerAddr>, _: Option<Duration>) -> io::Result<usize> {
///         let from = to.cloned().unwrap_or_else(|| PeerAddr::Inet("127.0.0.1:7000".parse().unwrap()));
///         self.0.lock().unwrap().push((datagram.to_vec(), from));
///         Ok(datagram.len())
///     }
///     fn wake_receivers(&self) {}
/// }
///
/// let local: std::net::SocketAddr = "127.0.0.1:5000".parse()?;
/// let peer = PeerAddr::Inet("127.0.0.1:7000".parse()?);
/// let options = DatagramOptions::default().max_datagram_size(8);
/// let engine = DatagramEngine::new(DatagramProtocol::new(Utf8), &options, local, Some(peer.clone()));
/// let socket = Queue(Mutex::new(Vec::new()));
/// let now = Instant::now();
///
/// let mut send = SendDatagram::new("hello", None);
/// assert!(matches!(engine.poll_send(&mut send, &socket, now), Step::Ready(Ok(()))));
/// // Longer than the maximum: refused, nothing sent.
/// let mut send = SendDatagram::new("far too long", None);
/// assert!(matches!(engine.poll_send(&mut send, &socket, now), Step::Ready(Err(Error::Encode(_)))));
///
/// socket.0.lock().unwrap().push((b"a datagram of 21 bytes".to_vec(), peer.clone()));
/// let mut recv = engine.recv(now, None);
/// match engine.poll_recv(&mut recv, &socket, now) {
///     Step::Ready(Ok((text, from))) => assert_eq!((text.as_str(), &from), ("hello", &peer)),
///     _ => unreachable!(),
/// }
/// let mut recv = engine.recv(now, None);
/// match engine.poll_recv(&mut recv, &socket, now) {
///     Step::Ready(Err(err @ Error::DatagramTooLong { length: 9, limit: 8, .. })) => {
///         assert!(err.is_recoverable())
///     }
///     _ => unreachable!(),
/// }
/// let mut recv = engine.recv(now, None);
/// assert!(matches!(engine.poll_recv(&mut recv, &socket, now), Step::Readable(None)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct DatagramEngine<P: ForDatagrams> {
    protocol: P,
    max_datagram_size: usize,
    local: PeerAddr,
    peer: Option<PeerAddr>,
    closed: AtomicBool,
    /// One byte longer than the maximum datagram, so that a longer one is
    /// seen (it fills the buffer) rather than cut silently. Allocated by
    /// the first receive.
    recv_buf: Mutex<Vec<u8>>,
}

/// One receive in progress ([`DatagramEngine::recv`]).
#[derive(Debug)]
pub struct RecvDatagram {
    deadline: Option<Instant>,
    limit: Option<RecvLimit>,
    attempted: bool,
}

/// One send in progress: the packet, where it goes, and its deadline.
pub struct SendDatagram<'a, T: ?Sized> {
    packet: &'a T,
    to: Option<PeerAddr>,
    encoded: Option<Bytes>,
    deadline: Option<Instant>,
    timeout: Duration,
    attempted: bool,
}

impl<'a, T: ?Sized> SendDatagram<'a, T> {
    /// Send `packet` to `to` (`None`: the connected peer), waiting as long
    /// as the socket needs.
    pub fn new(packet: &'a T, to: Option<PeerAddr>) -> Self {
        SendDatagram {
            packet,
            to,
            encoded: None,
            deadline: None,
            timeout: Duration::ZERO,
            attempted: false,
        }
    }

    /// Give up after `timeout` from `now` with [`Error::Timeout`] of kind
    /// [`TimeoutKind::Send`] (the datagram was then not sent).
    pub fn timeout(mut self, now: Instant, timeout: Duration) -> Self {
        self.deadline = deadline_after(now, Some(timeout));
        self.timeout = timeout;
        self
    }
}

impl<T: ?Sized> fmt::Debug for SendDatagram<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendDatagram")
            .field("to", &self.to)
            .field("encoded", &self.encoded.as_ref().map(Bytes::len))
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl<P: ForDatagrams> DatagramEngine<P> {
    /// The engine of a socket bound to `local`, connected to `peer` (a
    /// client) or not (`None`: an endpoint).
    pub fn new(
        protocol: P,
        options: &DatagramOptions,
        local: impl Into<PeerAddr>,
        peer: Option<PeerAddr>,
    ) -> Self {
        DatagramEngine {
            protocol,
            max_datagram_size: options.max_datagram_size.max(1),
            local: local.into(),
            peer,
            closed: AtomicBool::new(false),
            recv_buf: Mutex::new(Vec::new()),
        }
    }

    /// Start receiving one datagram, waiting at most `timeout` (`None`: as
    /// long as it takes).
    pub fn recv(&self, now: Instant, timeout: Option<Duration>) -> RecvDatagram {
        let limit = RecvLimit::new(timeout, None);
        RecvDatagram {
            deadline: limit.and_then(|limit| deadline_after(now, Some(limit.timeout))),
            limit,
            attempted: false,
        }
    }

    /// Drive a receive: `Ready(Ok((packet, sender)))`, or an error. A
    /// datagram that does not deserialize ([`Error::Deserialize`], carrying
    /// it) or is longer than the maximum datagram size
    /// ([`Error::DatagramTooLong`]) is an error for that datagram only; a
    /// timeout ([`Error::Timeout`] of kind `Receive`) loses nothing.
    ///
    /// On an endpoint (not connected), a "connection reset" or "refused"
    /// reported by the socket is the network's answer to an earlier
    /// `send_to` (Windows reports ICMP "port unreachable" that way), not
    /// a receive failure: the receive goes on.
    pub fn poll_recv<T: DatagramTransport + ?Sized>(
        &self,
        op: &mut RecvDatagram,
        io: &T,
        now: Instant,
    ) -> Step<Result<(P::Received, PeerAddr), Error>> {
        let mut buf = lock(&self.recv_buf);
        buf.resize(self.max_datagram_size + 1, 0);
        loop {
            if self.is_closed() {
                return Step::Ready(Err(Error::Closed));
            }
            if let (Some(at), Some(limit)) = (op.deadline, op.limit) {
                if now >= at && op.attempted {
                    return Step::Ready(Err(limit.expired()));
                }
            }
            op.attempted = true;
            match io.recv_from(&mut buf, left(op.deadline, now)) {
                Ok(_) if self.is_closed() => return Step::Ready(Err(Error::Closed)),
                Ok((n, from)) => return Step::Ready(self.decode(&buf[..n], from)),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) if self.is_closed() => return Step::Ready(Err(Error::Closed)),
                Err(err) if would_block(&err) || err.kind() == io::ErrorKind::TimedOut => {
                    return Step::Readable(op.deadline);
                }
                Err(err) if is_message_too_long(&err) => {
                    return Step::Ready(Err(self.too_long(self.peer_or_unspecified())));
                }
                Err(err)
                    if self.peer.is_none()
                        && matches!(
                            err.kind(),
                            io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionRefused
                        ) => {}
                Err(err) => {
                    return Step::Ready(Err(match &self.peer {
                        Some(peer) => Error::from_io(err, peer.clone()),
                        None => Error::Io {
                            peer: None,
                            source: err,
                        },
                    }));
                }
            }
        }
    }

    /// One received datagram of `n` bytes from `from`, as a packet.
    fn decode(&self, datagram: &[u8], from: PeerAddr) -> Result<(P::Received, PeerAddr), Error> {
        if datagram.len() > self.max_datagram_size {
            return Err(self.too_long(from));
        }
        self.protocol
            .decode(Bytes::copy_from_slice(datagram))
            .map_err(|source| Error::Deserialize {
                peer: from.clone(),
                source,
            })
            .map(|packet| (packet, from))
    }

    fn too_long(&self, from: PeerAddr) -> Error {
        Error::DatagramTooLong {
            peer: from,
            length: self.max_datagram_size + 1,
            limit: self.max_datagram_size,
        }
    }

    /// The connected peer, or an address that names no sender (port 0,
    /// an unnamed Unix socket).
    fn peer_or_unspecified(&self) -> PeerAddr {
        match (&self.peer, &self.local) {
            (Some(peer), _) => peer.clone(),
            (None, PeerAddr::Inet(local)) => PeerAddr::Inet(SocketAddr::new(local.ip(), 0)),
            (None, PeerAddr::Unix(_)) => PeerAddr::Unix(UnixAddr::Unnamed),
        }
    }

    /// Drive a send: encode the packet (once; an [`Error::Encode`] sends
    /// nothing — [`EncodeError::DatagramTooLong`] for a packet longer than
    /// the maximum datagram size), then hand the datagram to the kernel
    /// whole.
    pub fn poll_send<T: DatagramTransport + ?Sized>(
        &self,
        op: &mut SendDatagram<'_, P::Sent>,
        io: &T,
        now: Instant,
    ) -> Step<Result<(), Error>> {
        if self.is_closed() {
            return Step::Ready(Err(Error::Closed));
        }
        let Some(to) = op.to.as_ref().or(self.peer.as_ref()).cloned() else {
            return Step::Ready(Err(Error::Config(
                "an unconnected datagram socket needs a destination address".into(),
            )));
        };
        let datagram = match &op.encoded {
            Some(datagram) => datagram.clone(),
            None => match self.encode(op.packet) {
                Ok(datagram) => op.encoded.insert(datagram).clone(),
                Err(err) => return Step::Ready(Err(Error::Encode(err))),
            },
        };
        loop {
            if let Some(at) = op.deadline {
                if now >= at && op.attempted {
                    return Step::Ready(Err(Error::Timeout {
                        kind: TimeoutKind::Send,
                        timeout: op.timeout,
                    }));
                }
            }
            op.attempted = true;
            match io.send_to(&datagram, op.to.as_ref(), left(op.deadline, now)) {
                Ok(n) if n == datagram.len() => return Step::Ready(Ok(())),
                Ok(n) => {
                    return Step::Ready(Err(Error::Io {
                        peer: Some(to),
                        source: io::Error::new(
                            io::ErrorKind::WriteZero,
                            format!(
                                "the socket took {n} of the datagram's {} bytes",
                                datagram.len()
                            ),
                        ),
                    }));
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) if self.is_closed() => return Step::Ready(Err(Error::Closed)),
                Err(err) if would_block(&err) || err.kind() == io::ErrorKind::TimedOut => {
                    return Step::Writable(op.deadline);
                }
                Err(err) => return Step::Ready(Err(Error::from_io(err, to))),
            }
        }
    }

    /// `packet` as one datagram, or why it cannot be one.
    fn encode(&self, packet: &P::Sent) -> Result<Bytes, EncodeError> {
        let mut datagram = BytesMut::new();
        self.protocol.encode(packet, &mut datagram)?;
        if datagram.len() > self.max_datagram_size {
            return Err(EncodeError::DatagramTooLong {
                length: datagram.len(),
                limit: self.max_datagram_size,
            });
        }
        Ok(datagram.freeze())
    }

    /// Close: every later operation returns [`Error::Closed`], and a
    /// receive waiting on the socket is woken. Returns `true` the first
    /// time.
    pub fn close<T: DatagramTransport + ?Sized>(&self, io: &T) -> bool {
        if self.closed.swap(true, Ordering::AcqRel) {
            return false;
        }
        io.wake_receivers();
        true
    }

    /// Whether [`close`](DatagramEngine::close) was called.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The socket's local address.
    pub fn local_addr(&self) -> &PeerAddr {
        &self.local
    }

    /// The connected peer (`None` for an endpoint).
    pub fn peer_addr(&self) -> Option<&PeerAddr> {
        self.peer.as_ref()
    }

    /// The largest datagram sent or received.
    pub fn max_datagram_size(&self) -> usize {
        self.max_datagram_size
    }

    /// The protocol.
    pub fn protocol(&self) -> &P {
        &self.protocol
    }
}

impl<P: ForDatagrams> fmt::Debug for DatagramEngine<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatagramEngine")
            .field("local", &self.local)
            .field("peer", &self.peer)
            .field("max_datagram_size", &self.max_datagram_size)
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

/// Whether the socket refused a receive because the datagram was longer
/// than the buffer (Windows: `WSAEMSGSIZE`; elsewhere the datagram is
/// truncated to the buffer, which is one byte longer than the maximum).
fn is_message_too_long(err: &io::Error) -> bool {
    cfg!(windows) && err.raw_os_error() == Some(10040)
}

#[cfg(test)]
mod tests;
