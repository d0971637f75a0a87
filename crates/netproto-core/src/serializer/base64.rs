//! A base64 wrapper around any serializer.

use ::base64::Engine;
use ::base64::alphabet;
use ::base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use bytes::{Bytes, BytesMut};

use super::Serializer;
use crate::error::{DeserializeError, EncodeError};
use crate::framing::{Delimiter, Frame};
use crate::protocol::StreamProtocol;

const CONFIG: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_encode_padding(true)
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, CONFIG);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, CONFIG);

/// The 64 characters a [`Base64`] wrapper writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Alphabet {
    /// `A-Z a-z 0-9 + /` (RFC 4648 §4, Python's `standard_b64encode`).
    Standard,
    /// `A-Z a-z 0-9 - _` (RFC 4648 §5, Python's `urlsafe_b64encode`);
    /// EasyNetwork's default.
    #[default]
    UrlSafe,
}

/// Wraps a serializer so its output travels as base64 text: the bytes of
/// `S` are encoded (padded with `=`) on the way out and decoded before `S`
/// sees them on the way in.
///
/// The default alphabet is URL-safe, as in EasyNetwork 1.2's
/// `Base64EncoderSerializer`, whose frames end with `\r\n`
/// ([`lines`](Base64::lines) builds that protocol). Received text may omit
/// the padding. Text that is not base64 in the chosen alphabet is a
/// per-packet [`DeserializeError`] carrying the received frame; so is an
/// error of the inner serializer (its error, the received frame).
/// EasyNetwork's optional SHA-256/HMAC checksum is not supported.
///
/// ```
/// use bytes::BytesMut;
/// use netproto_core::serializer::{Base64, Serializer, Utf8};
///
/// let b64 = Base64::new(Utf8);
/// let mut wire = BytesMut::new();
/// b64.serialize("ok?>", &mut wire).unwrap();
/// assert_eq!(&wire[..], b"b2s_Pg==");
/// assert_eq!(b64.deserialize(wire.freeze()).unwrap(), "ok?>");
/// ```
#[derive(Clone, Debug, Default)]
pub struct Base64<S> {
    inner: S,
    alphabet: Alphabet,
}

impl<S> Base64<S> {
    /// Wrap `inner`, with the URL-safe alphabet.
    pub fn new(inner: S) -> Self {
        Base64 {
            inner,
            alphabet: Alphabet::UrlSafe,
        }
    }

    /// Wrap `inner`, with the standard alphabet (`+` and `/`).
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use netproto_core::serializer::{Base64, BytesSerializer, Serializer};
    ///
    /// let mut wire = BytesMut::new();
    /// Base64::standard(BytesSerializer).serialize(b"\xfb\xff", &mut wire).unwrap();
    /// assert_eq!(&wire[..], b"+/8=");
    /// ```
    pub fn standard(inner: S) -> Self {
        Base64::new(inner).alphabet(Alphabet::Standard)
    }

    /// Choose the alphabet.
    pub fn alphabet(mut self, alphabet: Alphabet) -> Self {
        self.alphabet = alphabet;
        self
    }

    /// The wrapped serializer.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Unwrap the inner serializer.
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// This wrapper over `\r\n`-delimited frames, as EasyNetwork's
    /// `Base64EncoderSerializer` frames them. Base64 text never contains
    /// the delimiter.
    pub fn lines(self) -> StreamProtocol<Delimiter, Self>
    where
        Self: Serializer,
    {
        StreamProtocol::new(Delimiter::crlf(), self)
    }

    fn engine(&self) -> &'static GeneralPurpose {
        match self.alphabet {
            Alphabet::Standard => &STANDARD,
            Alphabet::UrlSafe => &URL_SAFE,
        }
    }
}

impl<S: Serializer> Serializer for Base64<S> {
    type Sent = S::Sent;
    type Received = S::Received;

    fn serialize(&self, packet: &S::Sent, dst: &mut BytesMut) -> Result<(), EncodeError> {
        let mut raw = BytesMut::new();
        self.inner.serialize(packet, &mut raw)?;
        let length = ::base64::encoded_len(raw.len(), true)
            .ok_or_else(|| EncodeError::serialize("packet too large to encode in base64"))?;
        let start = dst.len();
        dst.resize(start + length, 0);
        match self.engine().encode_slice(&raw, &mut dst[start..]) {
            Ok(_) => Ok(()),
            Err(err) => {
                dst.truncate(start);
                Err(EncodeError::serialize(err))
            }
        }
    }

    fn deserialize(&self, frame: Bytes) -> Result<S::Received, DeserializeError> {
        self.deserialize_frame(Frame::owned(frame))
    }

    fn deserialize_frame(&self, frame: Frame<'_>) -> Result<S::Received, DeserializeError> {
        let decoded = match self.engine().decode(&frame[..]) {
            Ok(decoded) => decoded,
            Err(err) => return Err(DeserializeError::new(frame.into_bytes(), err)),
        };
        self.inner
            .deserialize(Bytes::from(decoded))
            .map_err(|mut err| {
                err.frame = frame.into_bytes();
                err
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serializer::{BytesSerializer, Utf8};

    #[test]
    fn padding_is_optional_on_input_and_alphabets_are_strict() {
        let url = Base64::new(BytesSerializer);
        assert_eq!(
            url.deserialize(Bytes::from_static(b"-_8")).unwrap(),
            &b"\xfb\xff"[..]
        );
        assert_eq!(
            url.deserialize(Bytes::from_static(b"-_8=")).unwrap(),
            &b"\xfb\xff"[..]
        );
        assert!(url.deserialize(Bytes::from_static(b"+/8=")).is_err());
        let std = Base64::standard(BytesSerializer);
        assert!(std.deserialize(Bytes::from_static(b"-_8=")).is_err());
        assert!(std.deserialize(Bytes::from_static(b"A")).is_err());
        assert!(std.deserialize(Bytes::from_static(b"QQ==\n")).is_err());
    }

    #[test]
    fn inner_errors_carry_the_received_frame() {
        let b64 = Base64::new(Utf8);
        let err = b64.deserialize(Bytes::from_static(b"_w==")).unwrap_err();
        assert_eq!(err.frame, "_w==");
        assert!(err.to_string().contains("utf-8"), "{err}");
    }
}
