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
///
/// With the `checksum` feature, [`checksum`](Base64::checksum) appends a
/// SHA-256 digest or an HMAC-SHA256 of the packet before encoding it and
/// verifies it on receipt, as EasyNetwork's `checksum=` option does.
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
    #[cfg(feature = "checksum")]
    checksum: Option<Checksum>,
}

impl<S> Base64<S> {
    /// Wrap `inner`, with the URL-safe alphabet.
    pub fn new(inner: S) -> Self {
        Base64 {
            inner,
            alphabet: Alphabet::UrlSafe,
            #[cfg(feature = "checksum")]
            checksum: None,
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

    /// Append `checksum` to every packet before encoding it, and verify it
    /// on every packet received: EasyNetwork's
    /// `Base64EncoderSerializer(s, checksum=True)` is
    /// `Base64::new(s).checksum(Checksum::Sha256)`, and `checksum=key` is
    /// `checksum(Checksum::HmacSha256(HmacKey::from_base64(key)?))`.
    ///
    /// A received packet whose checksum does not match (compared in
    /// constant time), or that is shorter than the 32-byte checksum, is a
    /// per-packet [`DeserializeError`] carrying the received frame.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use netproto_core::serializer::{Base64, Checksum, HmacKey, Serializer, Utf8};
    ///
    /// let key = HmacKey::from_base64("_o4BBMp4fDjFdkgOYyV5iSlDsnlY7sbZAFgWTDb8YmI=").unwrap();
    /// let signed = Base64::new(Utf8).checksum(Checksum::HmacSha256(key));
    /// let mut wire = BytesMut::new();
    /// signed.serialize("hello", &mut wire).unwrap();
    /// assert_eq!(signed.deserialize(wire.clone().freeze()).unwrap(), "hello");
    ///
    /// let unsigned = Base64::new(Utf8).checksum(Checksum::Sha256);
    /// let err = unsigned.deserialize(wire.freeze()).unwrap_err();
    /// assert!(err.to_string().contains("checksum"), "{err}");
    /// ```
    #[cfg(feature = "checksum")]
    pub fn checksum(mut self, checksum: Checksum) -> Self {
        self.checksum = Some(checksum);
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
        #[cfg(feature = "checksum")]
        if let Some(checksum) = &self.checksum {
            let digest = checksum.digest(&raw);
            raw.extend_from_slice(&digest);
        }
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
        #[cfg_attr(not(feature = "checksum"), allow(unused_mut))]
        let mut decoded = match self.engine().decode(&frame[..]) {
            Ok(decoded) => decoded,
            Err(err) => return Err(DeserializeError::new(frame.into_bytes(), err)),
        };
        #[cfg(feature = "checksum")]
        if let Some(checksum) = &self.checksum {
            if let Err(err) = checksum.verify(&mut decoded) {
                return Err(DeserializeError::new(frame.into_bytes(), err));
            }
        }
        self.inner
            .deserialize(Bytes::from(decoded))
            .map_err(|mut err| {
                err.frame = frame.into_bytes();
                err
            })
    }
}

/// What [`Base64::checksum`] appends to each packet (32 bytes either way).
#[cfg(feature = "checksum")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Checksum {
    /// The packet's SHA-256 digest: EasyNetwork's `checksum=True`. It finds
    /// packets damaged on the way, not packets changed on purpose.
    Sha256,
    /// The packet's HMAC-SHA256 under a shared key: EasyNetwork's
    /// `checksum=key` (a signed checksum; a peer without the key can
    /// neither forge nor alter a packet unnoticed).
    HmacSha256(HmacKey),
}

/// The length of a [`Checksum`], in bytes.
#[cfg(feature = "checksum")]
const CHECKSUM_LENGTH: usize = 32;

#[cfg(feature = "checksum")]
impl Checksum {
    fn digest(&self, data: &[u8]) -> [u8; CHECKSUM_LENGTH] {
        use hmac::Mac;
        use sha2::Digest;
        match self {
            Checksum::Sha256 => sha2::Sha256::digest(data).into(),
            Checksum::HmacSha256(key) => {
                // HMAC pads a short key with zeros to the hash's 64-byte
                // block: the padded key is the same key, and takes the
                // infallible constructor.
                let mut block = [0u8; 64];
                block[..32].copy_from_slice(&key.0);
                let mut mac =
                    <hmac::Hmac<sha2::Sha256> as hmac::digest::KeyInit>::new(&block.into());
                mac.update(data);
                mac.finalize().into_bytes().into()
            }
        }
    }

    /// Check and strip the checksum at the end of `decoded`.
    fn verify(&self, decoded: &mut Vec<u8>) -> Result<(), ChecksumError> {
        use subtle::ConstantTimeEq;
        let Some(split) = decoded.len().checked_sub(CHECKSUM_LENGTH) else {
            return Err(ChecksumError::TooShort {
                length: decoded.len(),
            });
        };
        let expected = self.digest(&decoded[..split]);
        if !bool::from(expected.ct_eq(&decoded[split..])) {
            return Err(ChecksumError::Mismatch {
                signed: matches!(self, Checksum::HmacSha256(_)),
            });
        }
        decoded.truncate(split);
        Ok(())
    }
}

/// A received packet's checksum did not verify.
#[cfg(feature = "checksum")]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChecksumError {
    /// The decoded packet is shorter than the checksum.
    #[error("the decoded packet has {length} bytes, fewer than its 32-byte checksum")]
    TooShort {
        /// The decoded length.
        length: usize,
    },
    /// The checksum does not match the packet.
    #[error("{} checksum mismatch: the packet was damaged or altered{}", if *signed { "HMAC-SHA256" } else { "SHA-256" }, if *signed { ", or signed with another key" } else { "" })]
    Mismatch {
        /// The checksum is an HMAC (else a plain SHA-256 digest).
        signed: bool,
    },
}

/// The 32-byte key of an HMAC-SHA256 [`Checksum`]. Its `Debug` output does
/// not show the key.
#[cfg(feature = "checksum")]
#[derive(Clone, PartialEq, Eq)]
pub struct HmacKey([u8; 32]);

#[cfg(feature = "checksum")]
impl std::fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacKey(..)")
    }
}

/// A signing key that is not 32 bytes in URL-safe base64.
#[cfg(feature = "checksum")]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("signing key must be 32 URL-safe base64-encoded bytes ({reason})")]
pub struct InvalidHmacKey {
    reason: String,
}

#[cfg(feature = "checksum")]
impl HmacKey {
    /// A key from its 32 bytes.
    pub const fn new(key: [u8; 32]) -> Self {
        HmacKey(key)
    }

    /// A key from its URL-safe base64 text (44 characters, or 43 without
    /// the `=`), the form EasyNetwork's `checksum=` takes and its
    /// `Base64EncoderSerializer.generate_key()` returns.
    pub fn from_base64(text: impl AsRef<[u8]>) -> Result<Self, InvalidHmacKey> {
        let decoded = URL_SAFE
            .decode(text.as_ref())
            .map_err(|err| InvalidHmacKey {
                reason: err.to_string(),
            })?;
        let key: [u8; 32] = decoded
            .try_into()
            .map_err(|bytes: Vec<u8>| InvalidHmacKey {
                reason: format!("{} bytes", bytes.len()),
            })?;
        Ok(HmacKey(key))
    }

    /// The key as URL-safe base64 text with padding (what
    /// [`from_base64`](HmacKey::from_base64) reads).
    pub fn to_base64(&self) -> String {
        URL_SAFE.encode(self.0)
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
