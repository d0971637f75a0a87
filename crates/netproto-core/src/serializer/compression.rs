//! Zlib and gzip wrappers around any serializer, with a bounded output.

use std::io::{Read, Write};

use bytes::{BufMut, Bytes, BytesMut};
use flate2::{Compression, Decompress, FlushDecompress, Status};

use super::Serializer;
use crate::error::{DeserializeError, EncodeError};
use crate::framing::{Frame, Framer};
use crate::protocol::StreamProtocol;

/// The default bound on a decompressed packet: 8 MiB (the default maximum
/// frame length of the length-prefix framer).
pub const DEFAULT_MAX_DECOMPRESSED_LENGTH: usize = 8 * 1024 * 1024;

/// A packet would decompress to more than the configured limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("packet decompresses to more than the limit of {limit} bytes")]
pub struct DecompressedTooLong {
    /// The configured limit.
    pub limit: usize,
}

macro_rules! compression_wrapper {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $name<S> {
            inner: S,
            level: u32,
            max_decompressed_length: usize,
            /// The limit was set by the user: `protocol` may lower it to
            /// the framer's, never raise it.
            limit_set: bool,
        }

        impl<S> $name<S> {
            /// Wrap `inner`, compressing at level 9 (EasyNetwork's default)
            /// and accepting packets that decompress to at most
            /// [`DEFAULT_MAX_DECOMPRESSED_LENGTH`] bytes.
            pub fn new(inner: S) -> Self {
                $name {
                    inner,
                    level: 9,
                    max_decompressed_length: DEFAULT_MAX_DECOMPRESSED_LENGTH,
                    limit_set: false,
                }
            }

            /// Set the compression level, 0 (store) to 9 (smallest);
            /// higher values are treated as 9.
            pub fn level(mut self, level: u32) -> Self {
                self.level = level.min(9);
                self
            }

            /// Refuse (as a per-packet error) any received packet that
            /// decompresses to more than `max` bytes. Memory use while
            /// decompressing never exceeds it, whatever the packet claims.
            pub fn max_decompressed_length(mut self, max: usize) -> Self {
                self.max_decompressed_length = max;
                self.limit_set = true;
                self
            }

            /// The decompression limit, in bytes.
            pub fn max_decompressed_length_limit(&self) -> usize {
                self.max_decompressed_length
            }

            /// The wrapped serializer.
            pub fn inner(&self) -> &S {
                &self.inner
            }

            /// Unwrap the inner serializer.
            pub fn into_inner(self) -> S {
                self.inner
            }

            /// This wrapper over `framer`, with the decompression limit set
            /// to the framer's maximum frame length — or kept, if you set a
            /// smaller one with `max_decompressed_length` (a limit you set
            /// is never raised).
            pub fn protocol<F: Framer>(self, framer: F) -> StreamProtocol<F, Self>
            where
                Self: Serializer,
            {
                let framer_max = framer.max_frame_length();
                let max = if self.limit_set {
                    self.max_decompressed_length.min(framer_max)
                } else {
                    framer_max
                };
                let mut this = self;
                this.max_decompressed_length = max;
                StreamProtocol::new(framer, this)
            }
        }

        impl<S: Serializer> Serializer for $name<S> {
            type Sent = S::Sent;
            type Received = S::Received;

            fn serialize(&self, packet: &S::Sent, dst: &mut BytesMut) -> Result<(), EncodeError> {
                let mut raw = BytesMut::new();
                self.inner.serialize(packet, &mut raw)?;
                let start = dst.len();
                let result = compress::<Self>(&raw, Compression::new(self.level), dst);
                result.map_err(|err| {
                    dst.truncate(start);
                    EncodeError::serialize(err)
                })
            }

            fn deserialize(&self, frame: Bytes) -> Result<S::Received, DeserializeError> {
                self.deserialize_frame(Frame::owned(frame))
            }

            fn deserialize_frame(
                &self,
                frame: Frame<'_>,
            ) -> Result<S::Received, DeserializeError> {
                let raw = match decompress::<Self>(&frame, self.max_decompressed_length) {
                    Ok(raw) => raw,
                    Err(err) => return Err(DeserializeError::new(frame.into_bytes(), err)),
                };
                self.inner.deserialize(Bytes::from(raw)).map_err(|mut err| {
                    err.frame = frame.into_bytes();
                    err
                })
            }
        }

    };
}

compression_wrapper!(
    /// Wraps a serializer so its output travels zlib-compressed (RFC 1950:
    /// a 2-byte header, deflate data, an Adler-32 checksum), like
    /// EasyNetwork 1.2's `ZlibCompressorSerializer` (see the compatibility
    /// table for how the framing differs).
    ///
    /// Each frame holds one complete zlib stream. On a bare stream, as
    /// EasyNetwork sends them (streams back to back, no separator), frame
    /// them with [`ZlibStream`](crate::framing::ZlibStream):
    /// `Zlib::new(s).protocol(ZlibStream::new())`. A frame that is not one
    /// (corrupt, truncated, followed by extra bytes) or that would
    /// decompress past [`max_decompressed_length`](Zlib::max_decompressed_length)
    /// is a per-packet [`DeserializeError`] carrying the received frame.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use netproto_core::framing::LengthPrefix;
    /// use netproto_core::serializer::{Serializer, Utf8, Zlib};
    ///
    /// let zlib = Zlib::new(Utf8);
    /// let mut wire = BytesMut::new();
    /// zlib.serialize(&"hello ".repeat(100), &mut wire).unwrap();
    /// assert!(wire.starts_with(b"\x78\xda") && wire.len() < 40);
    /// assert_eq!(zlib.deserialize(wire.freeze()).unwrap().len(), 600);
    ///
    /// // Compressed bytes may hold any byte: frame them with a length prefix
    /// // (or inside `Base64` text lines). `protocol` sets the decompression
    /// // limit to the framer's maximum frame length.
    /// let framer = LengthPrefix::u32_be().max_frame_length(1 << 20);
    /// let protocol = Zlib::new(Utf8).protocol(framer);
    /// assert_eq!(protocol.serializer().max_decompressed_length_limit(), 1 << 20);
    /// ```
    Zlib
);

compression_wrapper!(
    /// Wraps a serializer so its output travels gzip-compressed (RFC 1952:
    /// a 10-byte header, deflate data, CRC-32 and length), one gzip member
    /// per frame. Written headers carry no file name and a zero timestamp,
    /// so the output is deterministic.
    ///
    /// A frame that is not exactly one valid member, or that would
    /// decompress past [`max_decompressed_length`](Gzip::max_decompressed_length),
    /// is a per-packet [`DeserializeError`] carrying the received frame.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use netproto_core::serializer::{Gzip, Serializer, Utf8};
    ///
    /// let gzip = Gzip::new(Utf8).level(6);
    /// let mut wire = BytesMut::new();
    /// gzip.serialize("hello", &mut wire).unwrap();
    /// assert!(wire.starts_with(b"\x1f\x8b"));
    /// assert_eq!(gzip.deserialize(wire.freeze()).unwrap(), "hello");
    /// ```
    Gzip
);

trait Format {
    const GZIP: bool;
}

impl<S> Format for Zlib<S> {
    const GZIP: bool = false;
}

impl<S> Format for Gzip<S> {
    const GZIP: bool = true;
}

fn compress<F: Format>(raw: &[u8], level: Compression, dst: &mut BytesMut) -> std::io::Result<()> {
    let writer = dst.writer();
    if F::GZIP {
        let mut encoder = flate2::write::GzEncoder::new(writer, level);
        encoder.write_all(raw)?;
        encoder.finish().map(drop)
    } else {
        let mut encoder = flate2::write::ZlibEncoder::new(writer, level);
        encoder.write_all(raw)?;
        encoder.finish().map(drop)
    }
}

fn decompress<F: Format>(
    frame: &[u8],
    limit: usize,
) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
    if F::GZIP {
        let mut decoder = flate2::bufread::GzDecoder::new(frame);
        let mut out = Vec::new();
        (&mut decoder)
            .take((limit as u64).saturating_add(1))
            .read_to_end(&mut out)?;
        if out.len() > limit {
            return Err(DecompressedTooLong { limit }.into());
        }
        let rest = decoder.into_inner();
        if !rest.is_empty() {
            return Err(format!("{} bytes after the end of the gzip member", rest.len()).into());
        }
        Ok(out)
    } else {
        inflate_zlib(frame, limit)
    }
}

/// Inflate one zlib stream that must fill `frame` exactly, growing the
/// output step by step and never past `limit + 1` bytes.
fn inflate_zlib(
    frame: &[u8],
    limit: usize,
) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
    let mut inflater = Decompress::new(true);
    let mut out: Vec<u8> = Vec::new();
    loop {
        if out.len() == out.capacity() {
            if out.len() > limit {
                return Err(DecompressedTooLong { limit }.into());
            }
            let step = out.len().max(frame.len() * 2).clamp(256, 1 << 20);
            out.reserve_exact(step.min(limit.saturating_add(1) - out.len()));
        }
        let consumed = inflater.total_in() as usize;
        let produced = out.len();
        let status =
            inflater.decompress_vec(&frame[consumed..], &mut out, FlushDecompress::None)?;
        if out.len() > limit {
            return Err(DecompressedTooLong { limit }.into());
        }
        match status {
            Status::StreamEnd => {
                let extra = frame.len() - inflater.total_in() as usize;
                if extra > 0 {
                    return Err(format!("{extra} bytes after the end of the zlib stream").into());
                }
                return Ok(out);
            }
            Status::Ok | Status::BufError => {
                let stalled = inflater.total_in() as usize == consumed && out.len() == produced;
                if stalled && out.len() < out.capacity() {
                    return Err("compressed data ended before the end-of-stream marker".into());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::LengthPrefix;
    use crate::serializer::{BytesSerializer, Utf8};

    fn zlib_of(data: &[u8]) -> Bytes {
        let mut wire = BytesMut::new();
        Zlib::new(BytesSerializer)
            .serialize(data, &mut wire)
            .unwrap();
        wire.freeze()
    }

    #[test]
    fn protocol_never_raises_a_limit_the_user_set() {
        let framer = || LengthPrefix::u32_be().max_frame_length(8 << 20);
        let kept = Zlib::new(BytesSerializer)
            .max_decompressed_length(1 << 20)
            .protocol(framer());
        assert_eq!(kept.serializer().max_decompressed_length_limit(), 1 << 20);
        let lowered = Zlib::new(BytesSerializer)
            .max_decompressed_length(64 << 20)
            .protocol(framer());
        assert_eq!(
            lowered.serializer().max_decompressed_length_limit(),
            8 << 20
        );
        // Not set: the framer's limit.
        let default = Gzip::new(BytesSerializer).protocol(framer());
        assert_eq!(
            default.serializer().max_decompressed_length_limit(),
            8 << 20
        );
    }

    #[test]
    fn truncated_trailing_and_corrupt_frames_are_errors() {
        for wrapper_gzip in [false, true] {
            let mut wire = BytesMut::new();
            if wrapper_gzip {
                Gzip::new(BytesSerializer)
                    .serialize(b"some data", &mut wire)
                    .unwrap();
            } else {
                Zlib::new(BytesSerializer)
                    .serialize(b"some data", &mut wire)
                    .unwrap();
            }
            let wire = wire.freeze();
            let decode = |frame: Bytes| {
                if wrapper_gzip {
                    Gzip::new(BytesSerializer).deserialize(frame).map(drop)
                } else {
                    Zlib::new(BytesSerializer).deserialize(frame).map(drop)
                }
            };
            assert!(decode(wire.clone()).is_ok());
            for cut in 0..wire.len() {
                assert!(
                    decode(wire.slice(..cut)).is_err(),
                    "cut at {cut} gzip={wrapper_gzip}"
                );
            }
            let mut extra = wire.to_vec();
            extra.push(0);
            let err = decode(Bytes::from(extra)).unwrap_err();
            assert!(err.to_string().contains("after the end"), "{err}");
            let mut corrupt = wire.to_vec();
            let last = corrupt.len() - 1;
            corrupt[last] ^= 1;
            assert!(decode(Bytes::from(corrupt)).is_err());
        }
    }

    #[test]
    fn a_small_bomb_is_refused_at_the_limit() {
        let bomb = zlib_of(&vec![0u8; 10 * 1024 * 1024]);
        assert!(bomb.len() < 20 * 1024);
        let err = Zlib::new(BytesSerializer)
            .max_decompressed_length(1 << 20)
            .deserialize(bomb.clone())
            .unwrap_err();
        assert_eq!(err.frame, bomb);
        assert!(err.to_string().contains("limit of 1048576"), "{err}");
        let exact = zlib_of(&[7u8; 1000]);
        let ok = Zlib::new(BytesSerializer)
            .max_decompressed_length(1000)
            .deserialize(exact.clone());
        assert_eq!(ok.unwrap().len(), 1000);
        let short = Zlib::new(BytesSerializer)
            .max_decompressed_length(999)
            .deserialize(exact);
        assert!(short.is_err());
        let mut gz = BytesMut::new();
        Gzip::new(BytesSerializer)
            .serialize(&[1u8; 5000], &mut gz)
            .unwrap();
        assert!(
            Gzip::new(BytesSerializer)
                .max_decompressed_length(4999)
                .deserialize(gz.clone().freeze())
                .is_err()
        );
        assert!(
            Gzip::new(BytesSerializer)
                .max_decompressed_length(5000)
                .deserialize(gz.freeze())
                .is_ok()
        );
    }

    #[test]
    fn inner_errors_carry_the_received_frame_and_empty_packets_work() {
        let frame = zlib_of(b"\xff");
        let err = Zlib::new(Utf8).deserialize(frame.clone()).unwrap_err();
        assert_eq!(err.frame, frame);
        assert_eq!(Zlib::new(Utf8).deserialize(zlib_of(b"")).unwrap(), "");
    }
}
