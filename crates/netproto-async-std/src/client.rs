//! [`TcpClient`]: one connection, shareable between tasks.

use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use async_io::{Async, Timer};
use async_lock::Mutex;
use futures_lite::future;
use netproto_core::endpoint::{ConnectionSetup, RecvHalf, RecvLimit, SendHalf};
use netproto_core::options::CLOSE_FLUSH_TIMEOUT;
use netproto_core::{Error, Protocol};
use netproto_socket::SocketOptions;

use crate::io::{Link, flush, handshake, read_once, with_timeout, write_nowait};

/// A TCP (or TLS) connection that sends `P::Sent` packets and receives
/// `P::Received` packets.
///
/// Every method takes `&self`: one task may wait in
/// [`recv_packet`](TcpClient::recv_packet) while another calls
/// [`send_packet`](TcpClient::send_packet) (the receive and send halves sit
/// behind separate async locks, and the TLS session's own lock is never held
/// across an `.await`). Share it with `Arc<TcpClient<P>>` between spawned
/// tasks, or by reference between futures joined in one task.
///
/// Dropping the client closes the connection.
pub struct TcpClient<P: Protocol> {
    link: Arc<Link>,
    recv: Mutex<RecvHalf<P>>,
    send: Mutex<Sender<P>>,
    local: SocketAddr,
    max_recv_size: usize,
    idle_timeout: Option<Duration>,
}

/// A served connection: the whole client API, plus its addresses.
pub type Connection<P> = TcpClient<P>;

struct Sender<P: Protocol> {
    half: SendHalf<P>,
    /// The socket's write half is shut down.
    shut: bool,
}

impl<P: Protocol> TcpClient<P> {
    /// Set up a client over a connected `socket`: socket options, then the
    /// TLS handshake when the setup asks for TLS, then the `Connected` event.
    pub(crate) async fn establish(
        socket: Async<TcpStream>,
        protocol: P,
        setup: &ConnectionSetup,
    ) -> Result<Self, Error> {
        let (peer, local) = SocketOptions::new(socket.get_ref()).prepare(setup)?;
        let endpoint = setup.endpoint(protocol, peer)?;
        let (mut recv, mut send) = endpoint.split();
        let link = Arc::new(Link::new(socket, peer, setup.events(peer)));
        with_timeout(
            setup.handshake_timeout(),
            handshake(&link, &mut recv, &mut send),
            ConnectionSetup::handshake_timed_out,
        )
        .await?;
        let client = TcpClient {
            link,
            max_recv_size: recv.max_recv_size(),
            recv: Mutex::new(recv),
            send: Mutex::new(Sender {
                half: send,
                shut: false,
            }),
            local,
            idle_timeout: setup.idle_timeout(),
        };
        client.link.events.connected(local);
        Ok(client)
    }

    pub(crate) fn link(&self) -> &Arc<Link> {
        &self.link
    }

    /// Send one packet. Returns once every byte is handed to the kernel.
    ///
    /// # Cancel safety
    /// If the future is dropped, the packet was queued whole or not at all:
    /// what was queued but not yet written stays in the send buffer, and the
    /// next `send_packet`, `send_eof` or `close` writes it before anything
    /// else. Nothing is sent twice.
    ///
    /// # Errors
    /// [`Error::Encode`] when the packet cannot be encoded (nothing is
    /// queued and the connection stays usable), [`Error::SendAfterEof`]
    /// after [`send_eof`](TcpClient::send_eof), [`Error::Closed`] after
    /// [`close`](TcpClient::close), or what happened to the connection.
    pub async fn send_packet(&self, packet: &P::Sent) -> Result<(), Error> {
        let mut sender = self.send.lock().await;
        let result = self.send_locked(&mut sender, packet).await;
        self.note(&result);
        result
    }

    async fn send_locked(&self, sender: &mut Sender<P>, packet: &P::Sent) -> Result<(), Error> {
        if self.link.is_closed() {
            return Err(Error::Closed);
        }
        flush(&self.link, &mut sender.half, true).await?;
        sender.half.push_packet(packet)?;
        flush(&self.link, &mut sender.half, true).await
    }

    /// Receive the next packet. Bytes after it stay buffered for the next
    /// call. On a served connection with an idle timeout, a packet must
    /// complete within that timeout of the call, else the connection is
    /// closed with `Error::Timeout { kind: TimeoutKind::Idle, .. }`.
    ///
    /// # Cancel safety
    /// Dropping the future (for example in a `select`) loses nothing: every
    /// byte already read stays buffered and the next call returns the packet
    /// intact.
    ///
    /// # Errors
    /// [`Error::ConnectionClosed`] when the peer closed cleanly between
    /// packets, [`Error::Deserialize`] for a frame that does not deserialize
    /// (the next call returns the next packet), framing and TLS errors,
    /// [`Error::Closed`] once [`close`](TcpClient::close) was called (also
    /// from another task, which wakes this one at once).
    pub async fn recv_packet(&self) -> Result<P::Received, Error> {
        self.receive_within(RecvLimit::new(None, self.idle_timeout))
            .await
    }

    /// Receive within `limit` (the caller's timeout or the idle timeout).
    async fn receive_within(&self, limit: Option<RecvLimit>) -> Result<P::Received, Error> {
        let result = match limit {
            None => self.receive().await,
            Some(limit) => {
                let result =
                    with_timeout(Some(limit.timeout), self.receive(), |_| limit.expired()).await;
                if limit.idle && matches!(result, Err(Error::Timeout { .. })) {
                    // The server closes an idle connection.
                    self.link.events.note(&limit.expired());
                    self.link.force_close();
                }
                result
            }
        };
        self.note(&result);
        result
    }

    async fn receive(&self) -> Result<P::Received, Error> {
        let mut receiver = self.recv.lock().await;
        loop {
            if self.link.is_closed() {
                return Err(Error::Closed);
            }
            if let Some(result) = receiver.next_packet() {
                // A drained buffer is freed at once (as it is before
                // waiting): a connection that is not receiving holds none.
                receiver.release_memory();
                return result;
            }
            if receiver.tls_wants_write() {
                self.write_tls_output();
            }
            read_once(&self.link, &mut receiver).await?;
        }
    }

    /// TLS output produced while receiving (a key update, an alert): write
    /// what the socket takes now if no send is in progress; otherwise the
    /// running send (which pulls TLS output before each write) or the next
    /// one carries it. A write error is not reported here: the next read
    /// reports the connection's fate.
    fn write_tls_output(&self) {
        if let Some(mut sender) = self.send.try_lock() {
            if !sender.shut {
                let _ = write_nowait(&self.link, &mut sender.half);
            }
        }
    }

    /// Like [`recv_packet`](TcpClient::recv_packet), giving up after
    /// `timeout` with `Error::Timeout { kind: TimeoutKind::Receive, .. }`; the
    /// timeout loses nothing (a later call returns the packet whole).
    /// `Duration::ZERO` returns only a packet that is already buffered or
    /// readable without waiting.
    ///
    /// # Cancel safety
    /// As for `recv_packet`: dropping the future loses nothing.
    pub async fn recv_packet_timeout(&self, timeout: Duration) -> Result<P::Received, Error> {
        self.receive_within(RecvLimit::new(Some(timeout), self.idle_timeout))
            .await
    }

    /// Flush what is pending, end the stream (TLS close_notify), then shut
    /// down the socket's write half. Receiving keeps working; later sends
    /// fail with [`Error::SendAfterEof`]. Calling it again does nothing.
    ///
    /// # Cancel safety
    /// If dropped, the end of the stream may already be queued (later sends
    /// fail with `SendAfterEof`); calling `send_eof` again finishes it.
    pub async fn send_eof(&self) -> Result<(), Error> {
        let mut sender = self.send.lock().await;
        let result = self.send_eof_locked(&mut sender).await;
        self.note(&result);
        result
    }

    async fn send_eof_locked(&self, sender: &mut Sender<P>) -> Result<(), Error> {
        if self.link.is_closed() {
            return Err(Error::Closed);
        }
        if sender.shut {
            return Ok(());
        }
        flush(&self.link, &mut sender.half, true).await?;
        sender.half.push_eof();
        flush(&self.link, &mut sender.half, true).await?;
        match self.link.socket.get_ref().shutdown(Shutdown::Write) {
            // The peer is gone already: its write half is as closed as can be.
            Err(err) if err.kind() != io::ErrorKind::NotConnected => {
                return Err(self.link.error(err));
            }
            _ => {}
        }
        sender.shut = true;
        Ok(())
    }

    /// Close the connection: wake any task waiting in `recv_packet` or
    /// `send_packet` at once with [`Error::Closed`], write what is still
    /// queued (what a cancelled send left, TLS close_notify) for at most
    /// [`CLOSE_FLUSH_TIMEOUT`], shut the socket down and emit
    /// `Disconnected`. Calling it again does nothing; every later call of
    /// another method fails with [`Error::Closed`]. Dropping the client
    /// closes it too, writing only what the socket takes without waiting.
    ///
    /// # Cancel safety
    /// Other tasks are woken and the connection is closed as soon as the
    /// future is first polled; dropping it afterwards only cuts the final
    /// flush short.
    pub async fn close(&self) -> Result<(), Error> {
        if self.link.begin_close() {
            let _shutdown = ShutdownOnDrop(&self.link);
            let finish = async {
                let mut sender = self.send.lock().await;
                if !sender.shut && flush(&self.link, &mut sender.half, false).await.is_ok() {
                    sender.half.push_eof();
                    let _ = flush(&self.link, &mut sender.half, false).await;
                }
            };
            future::or(finish, async {
                Timer::after(CLOSE_FLUSH_TIMEOUT).await;
            })
            .await;
        }
        self.link.events.disconnected();
        Ok(())
    }

    /// Whether [`close`](TcpClient::close) was called (or a server shut
    /// this connection down).
    pub fn is_closed(&self) -> bool {
        self.link.is_closed()
    }

    /// The local address of the connection.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.link.peer
    }

    /// TCP options of the socket (nodelay, keep-alive, linger, buffer
    /// sizes, TTL) and `sock_ref()` for anything else.
    pub fn socket(&self) -> SocketOptions<'_> {
        SocketOptions::new(self.link.socket.get_ref())
    }

    /// The most bytes one socket read asks for.
    pub fn max_recv_size(&self) -> usize {
        self.max_recv_size
    }

    /// Remember why the connection failed, for the `Disconnected` event.
    fn note<T>(&self, result: &Result<T, Error>) {
        if let Err(err) = result {
            self.link.events.note(err);
        }
    }
}

impl<P: Protocol> Drop for TcpClient<P> {
    fn drop(&mut self) {
        let sender = self.send.get_mut();
        if !self.link.is_closed() && !sender.shut {
            sender.half.push_eof();
            let _ = write_nowait(&self.link, &mut sender.half);
        }
        self.link.force_close();
    }
}

impl<P: Protocol> fmt::Debug for TcpClient<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpClient")
            .field("local", &self.local)
            .field("peer", &self.link.peer)
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

/// Shuts the socket down when dropped, whether or not `close` finished
/// its flush.
struct ShutdownOnDrop<'a>(&'a Link);

impl Drop for ShutdownOnDrop<'_> {
    fn drop(&mut self) {
        self.0.shut_down();
    }
}
