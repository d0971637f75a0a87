//! `futures_core::Stream` and `futures_sink::Sink` over a client.
//!
//! The client's methods take `&self` so that several tasks can use one
//! connection, so the adapters borrow it: [`StreamClient::stream`] and
//! [`StreamClient::iter_received_packets`] give a [`PacketStream`] of
//! received packets and [`StreamClient::sink`] a [`PacketSink`] for packets to
//! send. Each adapter keeps the one operation it has in flight; both can
//! exist at once — one task reading the stream while another feeds the
//! sink.

use std::borrow::Borrow;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use futures_core::Stream;
use futures_sink::Sink;
use netproto_core::driver::InStream;
use netproto_core::{Error, Protocol};

use crate::client::StreamClient;
use crate::rt::Runtime;
use netproto_core::addr::{StreamFamily, Tcp};

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

impl<R: Runtime, P: Protocol, T: StreamFamily> StreamClient<R, P, T> {
    /// Received packets as a [`Stream`].
    ///
    /// Each item is what [`recv_packet`](StreamClient::recv_packet) returns.
    /// The stream ends (`None`) when the peer closes the connection between
    /// packets or the client is closed; any other error that ends receiving
    /// is yielded once, then the stream ends. Per-packet errors
    /// ([`Error::Deserialize`], recoverable framing errors) are yielded and
    /// the stream goes on.
    ///
    /// Cancel safety: dropping the stream, or a `next()` future, loses no
    /// byte (see `recv_packet`).
    pub fn stream(&self) -> PacketStream<'_, R, P, T> {
        PacketStream::new(self, None)
    }

    /// What is buffered or arrives within `timeout`, as a [`Stream`]: the
    /// timeout is for the *whole* iteration, as in EasyNetwork (`None`:
    /// wait without limit). It ends quietly when the timeout passes or the
    /// peer closes the connection cleanly, and after yielding any other
    /// error that is not recoverable. `Duration::ZERO` yields only what is
    /// buffered or readable without waiting.
    ///
    /// Cancel safety: dropping the stream, or a `next()` future, loses no
    /// byte.
    pub fn iter_received_packets(
        &self,
        timeout: impl Into<Option<Duration>>,
    ) -> PacketStream<'_, R, P, T> {
        let end = timeout
            .into()
            .and_then(|timeout| Instant::now().checked_add(timeout));
        PacketStream::new(self, Some(end))
    }

    /// A [`Sink`] of packets to send: anything that borrows as `P::Sent`
    /// (a `String` or `&str` for a text protocol, `Vec<u8>` or `Bytes` for
    /// bytes).
    ///
    /// `start_send` takes the item; `poll_ready` and `poll_flush` drive its
    /// [`send_packet`](StreamClient::send_packet) to completion (so the sink
    /// holds at most one item); `poll_flush` also writes anything a
    /// cancelled send left queued; `poll_close` flushes and then
    /// [`send_eof`](StreamClient::send_eof)s — receiving keeps working.
    ///
    /// Cancel safety: dropping the sink with a send in flight is dropping a
    /// `send_packet` future: the packet was queued whole or not at all, and
    /// the next send, flush or `close` writes what remains.
    pub fn sink<Item>(&self) -> PacketSink<'_, R, P, Item, T>
    where
        Item: Borrow<P::Sent> + Send,
        P::Sent: Sync,
    {
        PacketSink {
            client: self,
            in_flight: None,
            busy: None,
            _item: PhantomData,
        }
    }
}

/// Received packets of a [`StreamClient`] as a [`Stream`]; made by
/// [`StreamClient::stream`] and [`StreamClient::iter_received_packets`].
pub struct PacketStream<'a, R: Runtime, P: Protocol, T: StreamFamily = Tcp> {
    client: &'a StreamClient<R, P, T>,
    next: Option<BoxFuture<'a, Result<P::Received, Error>>>,
    /// `None`: every packet until the connection ends (`stream`);
    /// `Some(end)`: `iter_received_packets`, until `end` (`None`: no end).
    bounded: Option<Option<Instant>>,
    done: bool,
}

impl<'a, R: Runtime, P: Protocol, T: StreamFamily> PacketStream<'a, R, P, T> {
    fn new(client: &'a StreamClient<R, P, T>, bounded: Option<Option<Instant>>) -> Self {
        PacketStream {
            client,
            next: None,
            bounded,
            done: false,
        }
    }

    fn receive(&self) -> BoxFuture<'a, Result<P::Received, Error>> {
        let client = self.client;
        match self.bounded {
            Some(Some(end)) => {
                Box::pin(client.recv_packet_timeout(end.saturating_duration_since(Instant::now())))
            }
            _ => Box::pin(client.recv_packet()),
        }
    }
}

impl<R: Runtime, P: Protocol, T: StreamFamily> Stream for PacketStream<'_, R, P, T> {
    type Item = Result<P::Received, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        if this.next.is_none() {
            this.next = Some(this.receive());
        }
        let next = this.next.as_mut().expect("set above");
        let result = ready!(next.as_mut().poll(cx));
        this.next = None;
        let bounded = this.bounded.is_some();
        Poll::Ready(InStream::item(result, bounded, &mut this.done))
    }
}

impl<R: Runtime, P: Protocol, T: StreamFamily> fmt::Debug for PacketStream<'_, R, P, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PacketStream")
            .field("client", self.client)
            .field("bounded", &self.bounded)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SinkOp {
    Send,
    Flush,
    Eof,
}

/// Packets to send through a [`StreamClient`], as a [`Sink`]; made by
/// [`StreamClient::sink`].
pub struct PacketSink<'a, R: Runtime, P: Protocol, Item, T: StreamFamily = Tcp> {
    client: &'a StreamClient<R, P, T>,
    in_flight: Option<BoxFuture<'a, Result<(), Error>>>,
    busy: Option<SinkOp>,
    _item: PhantomData<fn(Item)>,
}

impl<'a, R: Runtime, P: Protocol, Item, T: StreamFamily> PacketSink<'a, R, P, Item, T>
where
    Item: Borrow<P::Sent> + Send + 'a,
    P::Sent: Sync,
{
    fn start(&mut self, op: SinkOp, item: Option<Item>) {
        let client = self.client;
        self.in_flight = Some(Box::pin(async move {
            match (op, item) {
                (SinkOp::Send, Some(item)) => client.send_packet(item.borrow()).await,
                (SinkOp::Eof, _) => client.send_eof().await,
                _ => client.flush_pending().await,
            }
        }));
        self.busy = Some(op);
    }

    fn drive(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        match (&mut self.in_flight, self.busy) {
            (Some(in_flight), Some(_)) => {
                let result = ready!(in_flight.as_mut().poll(cx));
                self.busy = None;
                self.in_flight = None;
                Poll::Ready(result)
            }
            _ => Poll::Ready(Ok(())),
        }
    }
}

impl<'a, R: Runtime, P: Protocol, Item, T: StreamFamily> Sink<Item>
    for PacketSink<'a, R, P, Item, T>
where
    Item: Borrow<P::Sent> + Send + 'a,
    P::Sent: Sync,
{
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().drive(cx)
    }

    /// # Panics
    /// If called before `poll_ready` returned `Ready` (the `Sink` contract).
    fn start_send(self: Pin<&mut Self>, item: Item) -> Result<(), Error> {
        let this = self.get_mut();
        assert!(
            this.busy.is_none(),
            "PacketSink::start_send called before poll_ready returned Ready"
        );
        this.start(SinkOp::Send, Some(item));
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        if this.busy.is_none() {
            this.start(SinkOp::Flush, None);
        }
        this.drive(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        if this.busy.is_some_and(|op| op != SinkOp::Eof) {
            ready!(this.drive(cx))?;
        }
        if this.busy.is_none() {
            this.start(SinkOp::Eof, None);
        }
        this.drive(cx)
    }
}

impl<R: Runtime, P: Protocol, Item, T: StreamFamily> fmt::Debug for PacketSink<'_, R, P, Item, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PacketSink")
            .field("client", self.client)
            .field("busy", &self.busy)
            .finish_non_exhaustive()
    }
}
