//! The little socket plumbing `netproto-socket` leaves to each driver.

use std::io;
use std::net::Shutdown;

use netproto_socket::SocketOptions;
use tokio::net::TcpStream;

/// Shut down one or both directions; "not connected" (the peer is gone
/// already) is not an error.
pub(crate) fn shutdown(stream: &TcpStream, how: Shutdown) -> io::Result<()> {
    match SocketOptions::new(stream).sock_ref().shutdown(how) {
        Err(err) if err.kind() == io::ErrorKind::NotConnected => Ok(()),
        other => other,
    }
}

/// One non-blocking read straight from the socket, without waiting for
/// tokio to have seen readiness (for receives that must not wait).
pub(crate) fn read_now(stream: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    use std::io::Read;
    let options = SocketOptions::new(stream);
    let mut sock: &netproto_socket::socket2::Socket = options.sock_ref();
    sock.read(buf)
}
