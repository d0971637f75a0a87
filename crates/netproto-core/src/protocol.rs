//! Protocols: what an endpoint is given — the packet type it sends, the
//! packet type it receives, and how both cross the wire.
//!
//! The usual protocol is a [`StreamProtocol`]: a [`Framer`] plus a
//! [`Serializer`]. Converters map wire types to application types
//! ([`Protocol::map_sent`], [`Protocol::map_received`],
//! [`Protocol::try_map_received`]), the way EasyNetwork's converters do.
//!
//! ```
//! use bytes::BytesMut;
//! use netproto_core::framing::{Delimiter, Framer, FrameDecoder};
//! use netproto_core::protocol::{Protocol, StreamProtocol};
//! use netproto_core::serializer::Utf8;
//!
//! /// A command line protocol: numbers on the wire, `u32` in the program.
//! let protocol = StreamProtocol::new(Delimiter::crlf(), Utf8)
//!     .map_sent(|n: &u32| n.to_string())
//!     .try_map_received(|line: String| line.trim().parse::<u32>());
//!
//! let mut wire = BytesMut::new();
//! protocol.encode(&42, &mut wire).unwrap();
//! assert_eq!(&wire[..], b"42\r\n");
//!
//! let mut decoder = protocol.decoder();
//! let frame = decoder.decode(&mut wire).unwrap().unwrap();
//! assert_eq!(protocol.decode(frame).unwrap(), 42);
//! ```

use std::borrow::Borrow;
use std::fmt;
use std::marker::PhantomData;

use bytes::{Bytes, BytesMut};

use crate::error::{BoxError, DeserializeError, EncodeError};
use crate::framing::{Frame, FrameDecoder, Framer};
use crate::serializer::Serializer;

/// How packets cross the wire, for one kind of connection.
///
/// A protocol is configuration: it is cloned into each connection (and
/// shared by its send and receive halves), so it must be cheap to clone and
/// `Send + Sync`.
pub trait Protocol: Clone + Send + Sync + 'static {
    /// The type given to `send_packet`.
    type Sent: ?Sized;
    /// The type `recv_packet` returns.
    type Received;
    /// The per-connection frame decoder.
    type Decoder: FrameDecoder;

    /// A fresh frame decoder, for a new connection.
    fn decoder(&self) -> Self::Decoder;

    /// Append `packet`, framed, to the send buffer `dst`. On error `dst` is
    /// left as it was.
    fn encode(&self, packet: &Self::Sent, dst: &mut BytesMut) -> Result<(), EncodeError>;

    /// Turn one received frame into a packet.
    fn decode(&self, frame: Bytes) -> Result<Self::Received, DeserializeError>;

    /// Turn one received frame, lent in place by
    /// [`FrameDecoder::next_frame`], into a packet: the receive path's fast
    /// path, parsing without taking the frame out of the buffer. The default
    /// takes it out ([`Frame::into_bytes`], no copy) and calls
    /// [`decode`](Protocol::decode).
    #[inline]
    fn decode_frame(&self, frame: Frame<'_>) -> Result<Self::Received, DeserializeError> {
        self.decode(frame.into_bytes())
    }

    /// The largest frame this protocol accepts, in bytes.
    fn max_frame_length(&self) -> usize;

    /// Send application values of type `A`, converted by `convert` into what
    /// this protocol sends.
    fn map_sent<A, W, F>(self, convert: F) -> MapSent<Self, A, F>
    where
        Self: Sized,
        A: ?Sized,
        W: Borrow<Self::Sent>,
        F: Fn(&A) -> W + Clone + Send + Sync + 'static,
    {
        MapSent {
            inner: self,
            convert,
            _sent: PhantomData,
        }
    }

    /// Like [`map_sent`](Protocol::map_sent) for a conversion that can fail;
    /// a failure is an [`EncodeError::Serialize`] for that packet.
    fn try_map_sent<A, W, E, F>(self, convert: F) -> TryMapSent<Self, A, F>
    where
        Self: Sized,
        A: ?Sized,
        W: Borrow<Self::Sent>,
        E: Into<BoxError>,
        F: Fn(&A) -> Result<W, E> + Clone + Send + Sync + 'static,
    {
        TryMapSent {
            inner: self,
            convert,
            _sent: PhantomData,
        }
    }

    /// Receive application values converted by `convert` from what this
    /// protocol receives.
    fn map_received<B, F>(self, convert: F) -> MapReceived<Self, F>
    where
        Self: Sized,
        F: Fn(Self::Received) -> B + Clone + Send + Sync + 'static,
    {
        MapReceived {
            inner: self,
            convert,
        }
    }

    /// Like [`map_received`](Protocol::map_received) for a conversion that
    /// can fail; a failure is a per-packet [`DeserializeError`] carrying the
    /// frame, and the next packet is still delivered.
    fn try_map_received<B, E, F>(self, convert: F) -> TryMapReceived<Self, F>
    where
        Self: Sized,
        E: Into<BoxError>,
        F: Fn(Self::Received) -> Result<B, E> + Clone + Send + Sync + 'static,
    {
        TryMapReceived {
            inner: self,
            convert,
        }
    }
}

/// A [`Framer`] plus a [`Serializer`]: the usual protocol.
#[derive(Clone, Debug, Default)]
pub struct StreamProtocol<F, S> {
    framer: F,
    serializer: S,
}

impl<F: Framer, S: Serializer> StreamProtocol<F, S> {
    /// Frames cut by `framer`, packets made by `serializer`.
    pub fn new(framer: F, serializer: S) -> Self {
        StreamProtocol { framer, serializer }
    }

    /// The framer.
    pub fn framer(&self) -> &F {
        &self.framer
    }

    /// The serializer.
    pub fn serializer(&self) -> &S {
        &self.serializer
    }
}

impl<F: Framer, S: Serializer> Protocol for StreamProtocol<F, S> {
    type Sent = S::Sent;
    type Received = S::Received;
    type Decoder = F::Decoder;

    fn decoder(&self) -> F::Decoder {
        self.framer.decoder()
    }

    fn encode(&self, packet: &S::Sent, dst: &mut BytesMut) -> Result<(), EncodeError> {
        self.framer
            .encode_with(dst, |dst| self.serializer.serialize(packet, dst))
    }

    fn decode(&self, frame: Bytes) -> Result<S::Received, DeserializeError> {
        self.serializer.deserialize(frame)
    }

    #[inline]
    fn decode_frame(&self, frame: Frame<'_>) -> Result<S::Received, DeserializeError> {
        self.serializer.deserialize_frame(frame)
    }

    fn max_frame_length(&self) -> usize {
        self.framer.max_frame_length()
    }
}

macro_rules! delegate_receive {
    () => {
        type Decoder = P::Decoder;

        fn decoder(&self) -> P::Decoder {
            self.inner.decoder()
        }

        fn max_frame_length(&self) -> usize {
            self.inner.max_frame_length()
        }
    };
}

/// A protocol whose sent packets are converted first. See [`Protocol::map_sent`].
pub struct MapSent<P, A: ?Sized, F> {
    inner: P,
    convert: F,
    _sent: PhantomData<fn(&A)>,
}

impl<P: Clone, A: ?Sized, F: Clone> Clone for MapSent<P, A, F> {
    fn clone(&self) -> Self {
        MapSent {
            inner: self.inner.clone(),
            convert: self.convert.clone(),
            _sent: PhantomData,
        }
    }
}

impl<P: fmt::Debug, A: ?Sized, F> fmt::Debug for MapSent<P, A, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapSent")
            .field("inner", &self.inner)
            .finish()
    }
}

impl<P, A, W, F> Protocol for MapSent<P, A, F>
where
    P: Protocol,
    A: ?Sized + 'static,
    W: Borrow<P::Sent>,
    F: Fn(&A) -> W + Clone + Send + Sync + 'static,
{
    type Sent = A;
    type Received = P::Received;
    delegate_receive!();

    fn encode(&self, packet: &A, dst: &mut BytesMut) -> Result<(), EncodeError> {
        let wire = (self.convert)(packet);
        self.inner.encode(wire.borrow(), dst)
    }

    fn decode(&self, frame: Bytes) -> Result<P::Received, DeserializeError> {
        self.inner.decode(frame)
    }

    #[inline]
    fn decode_frame(&self, frame: Frame<'_>) -> Result<P::Received, DeserializeError> {
        self.inner.decode_frame(frame)
    }
}

/// A protocol whose sent packets are converted first, fallibly. See
/// [`Protocol::try_map_sent`].
pub struct TryMapSent<P, A: ?Sized, F> {
    inner: P,
    convert: F,
    _sent: PhantomData<fn(&A)>,
}

impl<P: Clone, A: ?Sized, F: Clone> Clone for TryMapSent<P, A, F> {
    fn clone(&self) -> Self {
        TryMapSent {
            inner: self.inner.clone(),
            convert: self.convert.clone(),
            _sent: PhantomData,
        }
    }
}

impl<P: fmt::Debug, A: ?Sized, F> fmt::Debug for TryMapSent<P, A, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryMapSent")
            .field("inner", &self.inner)
            .finish()
    }
}

impl<P, A, W, E, F> Protocol for TryMapSent<P, A, F>
where
    P: Protocol,
    A: ?Sized + 'static,
    W: Borrow<P::Sent>,
    E: Into<BoxError>,
    F: Fn(&A) -> Result<W, E> + Clone + Send + Sync + 'static,
{
    type Sent = A;
    type Received = P::Received;
    delegate_receive!();

    fn encode(&self, packet: &A, dst: &mut BytesMut) -> Result<(), EncodeError> {
        let wire = (self.convert)(packet).map_err(EncodeError::serialize)?;
        self.inner.encode(wire.borrow(), dst)
    }

    fn decode(&self, frame: Bytes) -> Result<P::Received, DeserializeError> {
        self.inner.decode(frame)
    }

    #[inline]
    fn decode_frame(&self, frame: Frame<'_>) -> Result<P::Received, DeserializeError> {
        self.inner.decode_frame(frame)
    }
}

/// A protocol whose received packets are converted. See
/// [`Protocol::map_received`].
#[derive(Clone, Debug)]
pub struct MapReceived<P, F> {
    inner: P,
    convert: F,
}

impl<P, B, F> Protocol for MapReceived<P, F>
where
    P: Protocol,
    F: Fn(P::Received) -> B + Clone + Send + Sync + 'static,
{
    type Sent = P::Sent;
    type Received = B;
    delegate_receive!();

    fn encode(&self, packet: &P::Sent, dst: &mut BytesMut) -> Result<(), EncodeError> {
        self.inner.encode(packet, dst)
    }

    fn decode(&self, frame: Bytes) -> Result<B, DeserializeError> {
        self.inner.decode(frame).map(&self.convert)
    }

    #[inline]
    fn decode_frame(&self, frame: Frame<'_>) -> Result<B, DeserializeError> {
        self.inner.decode_frame(frame).map(&self.convert)
    }
}

/// A protocol whose received packets are converted, fallibly. See
/// [`Protocol::try_map_received`].
#[derive(Clone, Debug)]
pub struct TryMapReceived<P, F> {
    inner: P,
    convert: F,
}

impl<P, B, E, F> Protocol for TryMapReceived<P, F>
where
    P: Protocol,
    E: Into<BoxError>,
    F: Fn(P::Received) -> Result<B, E> + Clone + Send + Sync + 'static,
{
    type Sent = P::Sent;
    type Received = B;
    delegate_receive!();

    fn encode(&self, packet: &P::Sent, dst: &mut BytesMut) -> Result<(), EncodeError> {
        self.inner.encode(packet, dst)
    }

    fn decode(&self, frame: Bytes) -> Result<B, DeserializeError> {
        // Keep a handle on the frame (a reference count, not a copy) so a
        // failed conversion can still hand it to the caller.
        let kept = frame.clone();
        let value = self.inner.decode(frame)?;
        (self.convert)(value).map_err(|err| DeserializeError::new(kept, err))
    }

    // `decode_frame` keeps the default: a failed conversion hands the frame
    // to the caller, so the frame is taken out of the buffer first.
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::Delimiter;
    use crate::serializer::{BytesSerializer, Utf8};

    #[derive(Debug, PartialEq)]
    enum Command {
        Ping,
        Say(String),
    }

    fn command_protocol() -> impl Protocol<Sent = Command, Received = Command> {
        StreamProtocol::new(Delimiter::lf(), Utf8)
            .map_sent(|c: &Command| match c {
                Command::Ping => "PING".to_owned(),
                Command::Say(s) => format!("SAY {s}"),
            })
            .try_map_received(|line: String| match line.split_once(' ') {
                None if line == "PING" => Ok(Command::Ping),
                Some(("SAY", rest)) => Ok(Command::Say(rest.to_owned())),
                _ => Err(format!("unknown command {line:?}")),
            })
    }

    #[test]
    fn converters_round_trip_and_fail_per_packet() {
        let p = command_protocol();
        let mut wire = BytesMut::new();
        p.encode(&Command::Say("hi".into()), &mut wire).unwrap();
        p.encode(&Command::Ping, &mut wire).unwrap();
        wire.extend_from_slice(b"BOGUS\n");
        let mut d = p.decoder();
        let f = d.decode(&mut wire).unwrap().unwrap();
        assert_eq!(p.decode(f).unwrap(), Command::Say("hi".into()));
        let f = d.decode(&mut wire).unwrap().unwrap();
        assert_eq!(p.decode(f).unwrap(), Command::Ping);
        let f = d.decode(&mut wire).unwrap().unwrap();
        let err = p.decode(f).unwrap_err();
        assert_eq!(err.frame, "BOGUS");
        assert!(err.to_string().contains("unknown command"));
    }

    #[test]
    fn try_map_sent_failure_leaves_buffer_untouched() {
        let p = StreamProtocol::new(Delimiter::lf(), BytesSerializer).try_map_sent(|n: &i32| {
            if *n >= 0 {
                Ok(n.to_string().into_bytes())
            } else {
                Err("negative")
            }
        });
        let mut wire = BytesMut::new();
        p.encode(&7, &mut wire).unwrap();
        assert!(matches!(
            p.encode(&-1, &mut wire),
            Err(EncodeError::Serialize(_))
        ));
        assert_eq!(&wire[..], b"7\n");
    }
}
