//! `Stream` and `Sink` over a [`TcpClient`], and
//! [`TcpClient::iter_received_packets`].
//!
//! A client's methods take `&self`, so it cannot hold the state of a
//! receive or send in progress itself; the adapters here do, borrowing the
//! client. Any number of them may exist next to direct calls from other
//! tasks: each receive (or send) still takes the receive (or send) lock
//! for its duration, so every packet goes to exactly one caller, and
//! packets are never interleaved on the wire.

use std::borrow::Borrow;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use futures_core::Stream;
use futures_sink::Sink;
use netproto_core::error::InStream;
use netproto_core::{Error, Protocol};

use crate::client::TcpClient;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

impl<P: Protocol> TcpClient<P> {
    /// The packets that are buffered or arrive within `timeout` of each
    /// other, as a `Stream`. It ends at the first timeout, and after
    /// yielding an error that is not recoverable (the peer closing is
    /// yielded as [`Error::ConnectionClosed`]). `Duration::ZERO` yields only
    /// what is already buffered or readable without waiting.
    ///
    /// ```no_run
    /// # async fn run(client: netproto_async_std::TcpClient<
    /// #     netproto_async_std::StreamProtocol<
    /// #         netproto_async_std::framing::Delimiter, netproto_async_std::serializer::Utf8>>,
    /// # ) {
    /// use std::time::Duration;
    /// use futures_lite::StreamExt;
    ///
    /// let mut packets = client.iter_received_packets(Duration::from_millis(100));
    /// while let Some(packet) = packets.next().await {
    ///     println!("{:?}", packet);
    /// }
    /// # }
    /// ```
    ///
    /// # Cancel safety
    /// Dropping the stream, or a `next()` future, loses no byte.
    pub fn iter_received_packets(
        &self,
        timeout: Duration,
    ) -> impl Stream<Item = Result<P::Received, Error>> + '_ {
        PacketStream {
            client: self,
            timeout: Some(timeout),
            receiving: None,
            done: false,
        }
    }

    /// The received packets as a `Stream`, until the connection ends.
    ///
    /// Each item is what [`recv_packet`](TcpClient::recv_packet) returns.
    /// The stream ends (`None`) when the peer closes the connection between
    /// packets or the client is closed; any other error that ends receiving
    /// (a timeout included) is yielded once, then the stream ends.
    /// Per-packet errors ([`Error::Deserialize`], recoverable framing
    /// errors) are yielded and the stream goes on. The stream borrows the client, so the
    /// client stays usable from other tasks meanwhile.
    ///
    /// # Cancel safety
    /// Dropping the stream, or a `next()` future, loses no byte.
    pub fn stream(&self) -> PacketStream<'_, P> {
        PacketStream {
            client: self,
            timeout: None,
            receiving: None,
            done: false,
        }
    }

    /// A `Sink` of packets: anything that borrows as `P::Sent` (for example
    /// `String` or `&str` for a text protocol). Each packet is sent as by
    /// [`send_packet`](TcpClient::send_packet); closing the sink calls
    /// [`send_eof`](TcpClient::send_eof), leaving the receive side open.
    ///
    /// ```no_run
    /// # async fn run(client: netproto_async_std::TcpClient<
    /// #     netproto_async_std::StreamProtocol<
    /// #         netproto_async_std::framing::Delimiter, netproto_async_std::serializer::Utf8>>,
    /// # ) -> Result<(), netproto_async_std::Error> {
    /// use futures_util::SinkExt;
    ///
    /// let mut sink = client.sink::<String>();
    /// sink.send("hello".to_owned()).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Cancel safety
    /// As for `send_packet`: a packet is queued whole or not at all, and a
    /// dropped send is finished by the next send, `send_eof` or `close`.
    pub fn sink<Item>(&self) -> PacketSink<'_, P, Item>
    where
        Item: Borrow<P::Sent> + Send,
        P::Sent: Sync,
    {
        PacketSink {
            client: self,
            sending: None,
            closed: false,
            _item: PhantomData,
        }
    }
}

/// The packets a [`TcpClient`] receives, as a `Stream` (see
/// [`TcpClient::stream`]).
pub struct PacketStream<'a, P: Protocol> {
    client: &'a TcpClient<P>,
    /// `Some`: the `iter_received_packets` flavour.
    timeout: Option<Duration>,
    receiving: Option<BoxFuture<'a, Result<P::Received, Error>>>,
    done: bool,
}

impl<P: Protocol> Stream for PacketStream<'_, P> {
    type Item = Result<P::Received, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let (client, timeout) = (this.client, this.timeout);
        let receiving = this.receiving.get_or_insert_with(|| match timeout {
            Some(timeout) => Box::pin(client.recv_packet_timeout(timeout)),
            None => Box::pin(client.recv_packet()),
        });
        let result = ready!(receiving.as_mut().poll(cx));
        this.receiving = None;
        let bounded = this.timeout.is_some();
        Poll::Ready(InStream::item(result, bounded, &mut this.done))
    }
}

impl<P: Protocol> fmt::Debug for PacketStream<'_, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PacketStream")
            .field("client", self.client)
            .field("timeout", &self.timeout)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

/// A `Sink` of packets into a [`TcpClient`] (see [`TcpClient::sink`]).
pub struct PacketSink<'a, P: Protocol, Item> {
    client: &'a TcpClient<P>,
    sending: Option<BoxFuture<'a, Result<(), Error>>>,
    closed: bool,
    _item: PhantomData<fn(Item)>,
}

impl<P: Protocol, Item> PacketSink<'_, P, Item> {
    fn poll_sending(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let Some(sending) = &mut self.sending else {
            return Poll::Ready(Ok(()));
        };
        let result = ready!(sending.as_mut().poll(cx));
        self.sending = None;
        Poll::Ready(result)
    }
}

impl<'a, P, Item> Sink<Item> for PacketSink<'a, P, Item>
where
    P: Protocol,
    P::Sent: Sync,
    Item: Borrow<P::Sent> + Send + 'a,
{
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_sending(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: Item) -> Result<(), Error> {
        let this = self.get_mut();
        if this.closed {
            return Err(Error::SendAfterEof);
        }
        let client = this.client;
        this.sending = Some(Box::pin(
            async move { client.send_packet(item.borrow()).await },
        ));
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_sending(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        ready!(this.poll_sending(cx))?;
        if !this.closed {
            this.closed = true;
            let client = this.client;
            this.sending = Some(Box::pin(client.send_eof()));
        }
        this.poll_sending(cx)
    }
}

impl<P: Protocol, Item> fmt::Debug for PacketSink<'_, P, Item> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PacketSink")
            .field("client", self.client)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}
