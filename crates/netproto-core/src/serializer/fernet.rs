//! A Fernet encryption wrapper around any serializer.

use std::time::{SystemTime, UNIX_EPOCH};

use ::base64::Engine;
use ::base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::{Bytes, BytesMut};

use super::Serializer;
use crate::error::{DeserializeError, EncodeError};
use crate::framing::{Delimiter, Frame};
use crate::protocol::StreamProtocol;

/// How far in the future a token's timestamp may be (the clock skew the
/// Fernet specification and Python's `cryptography` allow).
const MAX_CLOCK_SKEW: u64 = 60;

/// Version byte, timestamp, IV, one AES block, HMAC: the shortest token.
const MIN_TOKEN: usize = 1 + 8 + 16 + 16 + 32;

/// A Fernet key: 32 bytes (a signing key and an AES-128 key), written as
/// URL-safe base64. Its `Debug` output does not show the key.
#[derive(Clone)]
pub struct FernetKey(::fernet::Fernet);

impl std::fmt::Debug for FernetKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FernetKey(..)")
    }
}

/// A key that is not 32 bytes in URL-safe base64.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a Fernet key must be 32 URL-safe base64-encoded bytes")]
pub struct InvalidFernetKey;

impl FernetKey {
    /// A key from its URL-safe base64 text (44 characters with the `=`),
    /// as Python's `Fernet.generate_key()` and EasyNetwork's
    /// `EncryptorSerializer.generate_key()` write it.
    pub fn from_base64(text: &str) -> Result<Self, InvalidFernetKey> {
        ::fernet::Fernet::new(text)
            .map(FernetKey)
            .ok_or(InvalidFernetKey)
    }

    /// A fresh random key, as URL-safe base64 text (keep it somewhere
    /// safe: whoever has it reads and forges packets).
    pub fn generate() -> String {
        ::fernet::Fernet::generate_key()
    }
}

/// A received Fernet token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FernetError {
    /// Not a Fernet token at all: not URL-safe base64, too short, or not
    /// version `0x80`.
    #[error("not a Fernet token ({0})")]
    Malformed(&'static str),
    /// The token's timestamp is more than 60 seconds ahead of this clock.
    #[error("the Fernet token is dated {ahead} seconds in the future")]
    FromTheFuture {
        /// Seconds ahead of this machine's clock.
        ahead: u64,
    },
    /// The token is older than the wrapper's time to live.
    #[error("the Fernet token expired: {age} seconds old, time to live {ttl} seconds")]
    Expired {
        /// The token's age, in seconds.
        age: u64,
        /// The configured time to live.
        ttl: u64,
    },
    /// The HMAC does not verify (another key, or an altered token) or the
    /// decrypted data is not validly padded.
    #[error("invalid Fernet token: encrypted with another key, or altered")]
    Invalid,
}

/// Wraps a serializer so its output travels encrypted and authenticated
/// as [Fernet](https://github.com/fernet/spec) tokens (AES-128-CBC with a
/// random IV, HMAC-SHA256, a timestamp, all in URL-safe base64), like
/// EasyNetwork's `EncryptorSerializer(s, key)` (Python `cryptography`'s
/// `Fernet`), whose frames end with `\r\n` ([`lines`](Fernet::lines)).
///
/// Tokens are random (a fresh IV each time), so the same packet never
/// gives the same bytes twice. A received token that is not one, was made
/// with another key or altered, is dated more than 60 seconds ahead, or is
/// older than the [`ttl`](Fernet::ttl) is a per-packet
/// [`DeserializeError`] ([`FernetError`]) carrying the received frame.
///
/// ```
/// use bytes::BytesMut;
/// use netproto_core::serializer::{Fernet, FernetKey, Serializer, Utf8};
///
/// let key = FernetKey::from_base64("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=").unwrap();
/// let fernet = Fernet::new(Utf8, key);
/// let mut wire = BytesMut::new();
/// fernet.serialize("secret", &mut wire).unwrap();
/// assert!(wire.starts_with(b"gAAAAA"));
/// assert_eq!(fernet.deserialize(wire.clone().freeze()).unwrap(), "secret");
///
/// let other = Fernet::new(Utf8, FernetKey::from_base64(&FernetKey::generate()).unwrap());
/// let err = other.deserialize(wire.freeze()).unwrap_err();
/// assert!(err.to_string().contains("another key"), "{err}");
/// ```
#[derive(Clone, Debug)]
pub struct Fernet<S> {
    inner: S,
    key: FernetKey,
    ttl: Option<u64>,
}

impl<S> Fernet<S> {
    /// Wrap `inner`, encrypting with `key`; tokens never expire.
    pub fn new(inner: S, key: FernetKey) -> Self {
        Fernet {
            inner,
            key,
            ttl: None,
        }
    }

    /// Refuse tokens older than `seconds` (EasyNetwork's `token_ttl`), by
    /// this machine's clock.
    pub fn ttl(mut self, seconds: u64) -> Self {
        self.ttl = Some(seconds);
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
    /// `EncryptorSerializer` frames them. Tokens never contain the
    /// delimiter.
    pub fn lines(self) -> StreamProtocol<Delimiter, Self>
    where
        Self: Serializer,
    {
        StreamProtocol::new(Delimiter::crlf(), self)
    }

    /// Check what the `fernet` crate leaves to the caller or checks with
    /// arithmetic a token could overflow: the format, the timestamp, the
    /// time to live.
    fn check(&self, frame: &[u8]) -> Result<(), FernetError> {
        let unpadded = frame
            .strip_suffix(b"==")
            .or_else(|| frame.strip_suffix(b"="));
        let decoded = URL_SAFE_NO_PAD
            .decode(unpadded.unwrap_or(frame))
            .map_err(|_| FernetError::Malformed("not URL-safe base64"))?;
        if decoded.len() < MIN_TOKEN {
            return Err(FernetError::Malformed("too short"));
        }
        if decoded[0] != 0x80 {
            return Err(FernetError::Malformed("not version 0x80"));
        }
        let mut stamp = [0; 8];
        stamp.copy_from_slice(&decoded[1..9]);
        let timestamp = u64::from_be_bytes(stamp);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        if timestamp > now.saturating_add(MAX_CLOCK_SKEW) {
            return Err(FernetError::FromTheFuture {
                ahead: timestamp - now,
            });
        }
        if let Some(ttl) = self.ttl {
            let age = now.saturating_sub(timestamp);
            if age > ttl {
                return Err(FernetError::Expired { age, ttl });
            }
        }
        Ok(())
    }
}

impl<S: Serializer> Serializer for Fernet<S> {
    type Sent = S::Sent;
    type Received = S::Received;

    fn serialize(&self, packet: &S::Sent, dst: &mut BytesMut) -> Result<(), EncodeError> {
        let mut raw = BytesMut::new();
        self.inner.serialize(packet, &mut raw)?;
        dst.extend_from_slice(self.key.0.encrypt(&raw).as_bytes());
        Ok(())
    }

    fn deserialize(&self, frame: Bytes) -> Result<S::Received, DeserializeError> {
        self.deserialize_frame(Frame::owned(frame))
    }

    fn deserialize_frame(&self, frame: Frame<'_>) -> Result<S::Received, DeserializeError> {
        let checked = self.check(&frame).and_then(|()| {
            // Base64 text (checked above) is ASCII.
            let token = std::str::from_utf8(&frame).map_err(|_| FernetError::Invalid)?;
            // Time checks are done: none here (`decrypt_with_ttl` adds a
            // timestamp from the token to the ttl unchecked).
            self.key.0.decrypt(token).map_err(|_| FernetError::Invalid)
        });
        let raw = match checked {
            Ok(raw) => raw,
            Err(err) => return Err(DeserializeError::new(frame.into_bytes(), err)),
        };
        self.inner.deserialize(Bytes::from(raw)).map_err(|mut err| {
            err.frame = frame.into_bytes();
            err
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serializer::BytesSerializer;

    fn fernet() -> Fernet<BytesSerializer> {
        let key = FernetKey::from_base64(&FernetKey::generate()).unwrap();
        Fernet::new(BytesSerializer, key)
    }

    #[test]
    fn any_altered_byte_is_refused() {
        let fernet = fernet();
        let mut wire = BytesMut::new();
        fernet.serialize(b"attack at dawn", &mut wire).unwrap();
        let token = wire.freeze();
        assert_eq!(fernet.deserialize(token.clone()).unwrap(), "attack at dawn");
        for at in 0..token.len() {
            let mut altered = token.to_vec();
            altered[at] = if altered[at] == b'A' { b'B' } else { b'A' };
            let err = fernet
                .deserialize(Bytes::from(altered.clone()))
                .unwrap_err();
            assert_eq!(err.frame, altered);
        }
    }

    #[test]
    fn malformed_future_and_overflowing_timestamps_are_errors_not_panics() {
        let fernet = fernet().ttl(10);
        for (frame, expect) in [
            (&b"not base64 !"[..], "not URL-safe base64"),
            (b"gAAAAA", "too short"),
        ] {
            let err = fernet.deserialize(Bytes::from_static(frame)).unwrap_err();
            assert!(err.to_string().contains(expect), "{err}");
        }
        // Version 0x80, timestamp u64::MAX, zero IV, block and HMAC.
        let mut token = vec![0x80];
        token.extend_from_slice(&u64::MAX.to_be_bytes());
        token.extend_from_slice(&[0; 64]);
        let text = ::base64::engine::general_purpose::URL_SAFE.encode(&token);
        let err = fernet.deserialize(Bytes::from(text)).unwrap_err();
        assert!(err.to_string().contains("in the future"), "{err}");
        token[0] = 0x81;
        let text = ::base64::engine::general_purpose::URL_SAFE.encode(&token);
        let err = fernet.deserialize(Bytes::from(text)).unwrap_err();
        assert!(err.to_string().contains("version"), "{err}");
        assert!(FernetKey::from_base64("short").is_err());
        let key = FernetKey::from_base64(&FernetKey::generate()).unwrap();
        assert_eq!(format!("{key:?}"), "FernetKey(..)");
    }
}
