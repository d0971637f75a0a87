//! The core's framers and protocols as `tokio_util::codec` decoders and
//! encoders (feature `codec`), for programs that already use
//! `tokio_util::codec::Framed` and want netproto's framing alone.
//!
//! * [`FramerCodec`] — a [`Framer`]: frames in (`Bytes`), frames out
//!   (anything that is `AsRef<[u8]>`).
//! * [`ProtocolCodec`] — a [`Protocol`]: packets in, packets out.
//!
//! Note that `Framed` ends its stream after the first error a decoder
//! returns, so a per-packet [`DeserializeError`] (which
//! [`TcpClient`](crate::TcpClient) reports and goes on from) ends a
//! `Framed` stream; use [`ProtocolCodec::lenient`] to receive such errors
//! as items instead.
//!
//! ```
//! use netproto_tokio::codec::ProtocolCodec;
//! use netproto_tokio::framing::Delimiter;
//! use netproto_tokio::serializer::Utf8;
//! use netproto_tokio::StreamProtocol;
//! use tokio_util::codec::{Decoder, Encoder};
//! use bytes::BytesMut;
//!
//! let mut codec = ProtocolCodec::new(StreamProtocol::new(Delimiter::lf(), Utf8));
//! let mut wire = BytesMut::new();
//! codec.encode("hello", &mut wire).unwrap();
//! assert_eq!(&wire[..], b"hello\n");
//! assert_eq!(codec.decode(&mut wire).unwrap().as_deref(), Some("hello"));
//! ```

use std::borrow::Borrow;
use std::fmt;
use std::io;

use bytes::{Bytes, BytesMut};
use netproto_core::framing::{FrameDecoder, Framer};
use netproto_core::{DeserializeError, EncodeError, FramingError, Protocol};
use tokio_util::codec::{Decoder, Encoder};

/// What a codec reports: the peer broke the framing or sent a packet that
/// does not deserialize, the caller gave a packet that cannot be sent, or
/// the I/O below `Framed` failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum CodecError {
    /// The byte stream cannot be cut into frames.
    Framing(FramingError),
    /// A frame did not deserialize (the error carries the frame).
    Deserialize(DeserializeError),
    /// The packet cannot be encoded.
    Encode(EncodeError),
    /// The transport failed.
    Io(io::Error),
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecError::Framing(err) => write!(f, "protocol error: {err}"),
            CodecError::Deserialize(err) => err.fmt(f),
            CodecError::Encode(err) => write!(f, "cannot send packet: {err}"),
            CodecError::Io(err) => write!(f, "I/O error: {err}"),
        }
    }
}

impl std::error::Error for CodecError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CodecError::Framing(err) => Some(err),
            CodecError::Deserialize(err) => Some(err),
            CodecError::Encode(err) => Some(err),
            CodecError::Io(err) => Some(err),
        }
    }
}

impl From<io::Error> for CodecError {
    fn from(err: io::Error) -> Self {
        CodecError::Io(err)
    }
}

impl From<EncodeError> for CodecError {
    fn from(err: EncodeError) -> Self {
        CodecError::Encode(err)
    }
}

/// Decode one frame with the core's decoder; a framing error that can be
/// recovered from is reported once and decoding goes on at the next call.
fn decode_frame<D: FrameDecoder>(
    decoder: &mut D,
    src: &mut BytesMut,
    eof: bool,
) -> Result<Option<Bytes>, CodecError> {
    let decoded = if eof {
        decoder.decode_eof(src)
    } else {
        decoder.decode(src)
    };
    decoded.map_err(|failure| CodecError::Framing(failure.error))
}

/// A [`Framer`] as a `tokio_util` codec: decodes frames as `Bytes` (cut off
/// the read buffer without copying), encodes any `AsRef<[u8]>` as one
/// frame.
pub struct FramerCodec<F: Framer> {
    framer: F,
    decoder: F::Decoder,
}

impl<F: Framer> FramerCodec<F> {
    /// A codec framing with `framer`.
    pub fn new(framer: F) -> Self {
        FramerCodec {
            decoder: framer.decoder(),
            framer,
        }
    }

    /// The framer.
    pub fn framer(&self) -> &F {
        &self.framer
    }
}

impl<F: Framer> Decoder for FramerCodec<F> {
    type Item = Bytes;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, CodecError> {
        decode_frame(&mut self.decoder, src, false)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, CodecError> {
        decode_frame(&mut self.decoder, src, true)
    }
}

impl<F: Framer, T: AsRef<[u8]>> Encoder<T> for FramerCodec<F> {
    type Error = CodecError;

    fn encode(&mut self, frame: T, dst: &mut BytesMut) -> Result<(), CodecError> {
        Ok(self.framer.encode(frame.as_ref(), dst)?)
    }
}

impl<F: Framer + fmt::Debug> fmt::Debug for FramerCodec<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FramerCodec")
            .field("framer", &self.framer)
            .finish_non_exhaustive()
    }
}

/// A [`Protocol`] as a `tokio_util` codec: decodes packets, encodes
/// anything that borrows as `P::Sent` (`&str` and `String` for a text
/// protocol, for instance).
pub struct ProtocolCodec<P: Protocol> {
    protocol: P,
    decoder: P::Decoder,
}

impl<P: Protocol> ProtocolCodec<P> {
    /// A codec speaking `protocol`.
    pub fn new(protocol: P) -> Self {
        ProtocolCodec {
            decoder: protocol.decoder(),
            protocol,
        }
    }

    /// A codec whose items are `Result<packet, DeserializeError>`, so that
    /// a packet that fails to deserialize does not end a `Framed` stream.
    pub fn lenient(protocol: P) -> LenientProtocolCodec<P> {
        LenientProtocolCodec(ProtocolCodec::new(protocol))
    }

    /// The protocol.
    pub fn protocol(&self) -> &P {
        &self.protocol
    }

    fn decode_packet(
        &mut self,
        src: &mut BytesMut,
        eof: bool,
    ) -> Result<Option<Result<P::Received, DeserializeError>>, CodecError> {
        Ok(decode_frame(&mut self.decoder, src, eof)?.map(|frame| self.protocol.decode(frame)))
    }
}

impl<P: Protocol> Decoder for ProtocolCodec<P> {
    type Item = P::Received;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<P::Received>, CodecError> {
        self.decode_packet(src, false)?
            .transpose()
            .map_err(CodecError::Deserialize)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<P::Received>, CodecError> {
        self.decode_packet(src, true)?
            .transpose()
            .map_err(CodecError::Deserialize)
    }
}

impl<P: Protocol, T: Borrow<P::Sent>> Encoder<T> for ProtocolCodec<P> {
    type Error = CodecError;

    fn encode(&mut self, packet: T, dst: &mut BytesMut) -> Result<(), CodecError> {
        Ok(self.protocol.encode(packet.borrow(), dst)?)
    }
}

impl<P: Protocol + fmt::Debug> fmt::Debug for ProtocolCodec<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProtocolCodec")
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

/// A [`ProtocolCodec`] that yields per-packet deserialize errors as items;
/// made by [`ProtocolCodec::lenient`].
pub struct LenientProtocolCodec<P: Protocol>(ProtocolCodec<P>);

impl<P: Protocol> Decoder for LenientProtocolCodec<P> {
    type Item = Result<P::Received, DeserializeError>;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, CodecError> {
        self.0.decode_packet(src, false)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, CodecError> {
        self.0.decode_packet(src, true)
    }
}

impl<P: Protocol, T: Borrow<P::Sent>> Encoder<T> for LenientProtocolCodec<P> {
    type Error = CodecError;

    fn encode(&mut self, packet: T, dst: &mut BytesMut) -> Result<(), CodecError> {
        self.0.encode(packet, dst)
    }
}

impl<P: Protocol + fmt::Debug> fmt::Debug for LenientProtocolCodec<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LenientProtocolCodec")
            .field(&self.0)
            .finish()
    }
}
