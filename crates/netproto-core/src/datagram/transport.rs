//! The socket interface of the datagram engine (public as
//! [`driver::datagram::DatagramTransport`](crate::driver::datagram::DatagramTransport)).

use std::io;
use std::time::Duration;

use crate::addr::PeerAddr;

/// What the datagram engine needs from a datagram socket.
///
/// Methods take `&self` so that a receive and a send can use one socket at
/// the same time. A non-blocking transport returns
/// [`io::ErrorKind::WouldBlock`] when the socket is not ready and ignores
/// `wait`; a blocking one waits at most `wait` (`None`: as long as it
/// takes), then returns `WouldBlock` (or `TimedOut`).
pub trait DatagramTransport {
    /// Receive one datagram into `buf`: its length (as much of it as fits)
    /// and its sender.
    fn recv_from(&self, buf: &mut [u8], wait: Option<Duration>) -> io::Result<(usize, PeerAddr)>;
    /// Send `datagram` to `to`, or to the connected peer with `None`;
    /// returns how many bytes the kernel took (all of them, for a
    /// datagram socket).
    fn send_to(
        &self,
        datagram: &[u8],
        to: Option<&PeerAddr>,
        wait: Option<Duration>,
    ) -> io::Result<usize>;
    /// Wake a receive blocked or waiting on the socket (the first step of
    /// a local close); errors are ignored.
    fn wake_receivers(&self);
}

impl<T: DatagramTransport + ?Sized> DatagramTransport for &T {
    fn recv_from(&self, buf: &mut [u8], wait: Option<Duration>) -> io::Result<(usize, PeerAddr)> {
        (**self).recv_from(buf, wait)
    }
    fn send_to(
        &self,
        datagram: &[u8],
        to: Option<&PeerAddr>,
        wait: Option<Duration>,
    ) -> io::Result<usize> {
        (**self).send_to(datagram, to, wait)
    }
    fn wake_receivers(&self) {
        (**self).wake_receivers()
    }
}
