//! Zlib, gzip and bzip2 wrappers around any serializer, with a bounded
//! output.

#[cfg(feature = "compression")]
use std::io::Read;
use std::io::Write;

use bytes::{BufMut, Bytes, BytesMut};
#[cfg(feature = "compression")]
use flate2::{FlushDecompress, Status};

use super::Serializer;
use crate::error::{BoxError, DeserializeError, EncodeError};
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

            /// Set the compression level, up to 9 (the smallest output,
            /// and the default); values out of range are clamped. Zlib and
            /// gzip take 0 (stored, not compressed) to 9; bzip2 takes 1 to
            /// 9, its block size in units of 100 000 bytes.
            pub fn level(mut self, level: u32) -> Self {
                self.level = level.clamp(<Self as Format>::MIN_LEVEL, 9);
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
                let result = <Self as Format>::compress(&raw, self.level, dst);
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
                let raw = match <Self as Format>::decompress(&frame, self.max_decompressed_length) {
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

#[cfg(feature = "compression")]
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

#[cfg(feature = "compression")]
compression_wrapper!(
    /// Wraps a serializer so its output travels gzip-compressed (RFC 1952:
    /// a 10-byte header, deflate data, CRC-32 and length), one gzip member
    /// per frame. Written headers carry no file name and a zero timestamp,
    /// so the output is deterministic. On a bare stream (members back to
    /// back), frame them with [`GzipStream`](crate::framing::GzipStream).
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

#[cfg(feature = "bzip2")]
compression_wrapper!(
    /// Wraps a serializer so its output travels bzip2-compressed, like
    /// EasyNetwork 1.2's `BZ2CompressorSerializer` (level 9 by default, as
    /// there), one whole bzip2 stream per frame.
    ///
    /// On a bare stream, as EasyNetwork sends them (streams back to back,
    /// no separator), frame them with [`Bz2Stream`](crate::framing::Bz2Stream):
    /// `Bz2::new(s).protocol(Bz2Stream::new())`. A frame that is not exactly
    /// one bzip2 stream (corrupt, truncated, followed by extra bytes), or
    /// that would decompress past
    /// [`max_decompressed_length`](Bz2::max_decompressed_length), is a
    /// per-packet [`DeserializeError`] carrying the received frame; memory
    /// use never exceeds that limit, whatever the stream claims.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use netproto_core::serializer::{Bz2, Serializer, Utf8};
    ///
    /// let bz2 = Bz2::new(Utf8);
    /// let mut wire = BytesMut::new();
    /// bz2.serialize(&"hello ".repeat(100), &mut wire).unwrap();
    /// assert!(wire.starts_with(b"BZh9") && wire.len() < 60);
    /// assert_eq!(bz2.deserialize(wire.freeze()).unwrap().len(), 600);
    /// ```
    Bz2
);

/// How a wrapper compresses and decompresses.
trait Format {
    /// The lowest compression level.
    const MIN_LEVEL: u32;

    fn compress(raw: &[u8], level: u32, dst: &mut BytesMut) -> std::io::Result<()>;

    /// Decompress exactly one stream filling `frame`, into at most `limit`
    /// bytes.
    fn decompress(frame: &[u8], limit: usize) -> Result<Vec<u8>, BoxError>;
}

#[cfg(feature = "compression")]
impl<S> Format for Zlib<S> {
    const MIN_LEVEL: u32 = 0;

    fn compress(raw: &[u8], level: u32, dst: &mut BytesMut) -> std::io::Result<()> {
        reuse::deflate(raw, level, true, dst)
    }

    fn decompress(frame: &[u8], limit: usize) -> Result<Vec<u8>, BoxError> {
        inflate_zlib(frame, limit)
    }
}

#[cfg(feature = "compression")]
impl<S> Format for Gzip<S> {
    const MIN_LEVEL: u32 = 0;

    fn compress(raw: &[u8], level: u32, dst: &mut BytesMut) -> std::io::Result<()> {
        // RFC 1952's member, as flate2's `GzEncoder` writes it: no name, a
        // zero time, the "extra flags" of the level, "unknown" system.
        let extra_flags = match level {
            9.. => 2,
            ..=1 => 4,
            _ => 0,
        };
        dst.put_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, extra_flags, 255]);
        reuse::deflate(raw, level, false, dst)?;
        let mut crc = flate2::Crc::new();
        crc.update(raw);
        dst.put_u32_le(crc.sum());
        // ISIZE: the length modulo 2^32.
        dst.put_u32_le(raw.len() as u32);
        Ok(())
    }

    fn decompress(frame: &[u8], limit: usize) -> Result<Vec<u8>, BoxError> {
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
    }
}

#[cfg(feature = "bzip2")]
impl<S> Format for Bz2<S> {
    const MIN_LEVEL: u32 = 1;

    fn compress(raw: &[u8], level: u32, dst: &mut BytesMut) -> std::io::Result<()> {
        // Work factor 30, as Python's `bz2.BZ2Compressor`.
        let mut encoder =
            bzip2::write::BzEncoder::new(dst.writer(), bzip2::Compression::new(level));
        encoder.write_all(raw)?;
        encoder.finish().map(drop)
    }

    fn decompress(frame: &[u8], limit: usize) -> Result<Vec<u8>, BoxError> {
        let mut decompressor = bzip2::Decompress::new(false);
        decompress_bounded(frame, limit, "bzip2", |input, out| {
            let status = decompressor
                .decompress_vec(input, out)
                .map_err(|err| format!("bzip2: {err}"))?;
            Ok((
                decompressor.total_in() as usize,
                status == bzip2::Status::StreamEnd,
            ))
        })
    }
}

/// Decompress one stream that must fill `frame` exactly, growing the
/// output step by step and never past `limit + 1` bytes. `step(input,
/// out)` decompresses into `out`'s spare capacity and returns the total
/// input taken so far and whether the stream ended.
fn decompress_bounded(
    frame: &[u8],
    limit: usize,
    format: &str,
    mut step: impl FnMut(&[u8], &mut Vec<u8>) -> Result<(usize, bool), BoxError>,
) -> Result<Vec<u8>, BoxError> {
    let mut out: Vec<u8> = Vec::new();
    let mut consumed = 0;
    loop {
        if out.len() == out.capacity() {
            if out.len() > limit {
                return Err(DecompressedTooLong { limit }.into());
            }
            let grow = out.len().max(frame.len() * 2).clamp(256, 1 << 20);
            out.reserve_exact(grow.min(limit.saturating_add(1) - out.len()));
        }
        let produced = out.len();
        let (taken, ended) = step(&frame[consumed..], &mut out)?;
        let stalled = taken == consumed && out.len() == produced;
        consumed = taken;
        if out.len() > limit {
            return Err(DecompressedTooLong { limit }.into());
        }
        if ended {
            let extra = frame.len() - consumed;
            if extra > 0 {
                return Err(format!("{extra} bytes after the end of the {format} stream").into());
            }
            return Ok(out);
        }
        if stalled && out.len() < out.capacity() {
            return Err("compressed data ended before the end-of-stream marker".into());
        }
    }
}

/// Inflate one zlib stream that must fill `frame` exactly, into at most
/// `limit` bytes.
#[cfg(feature = "compression")]
fn inflate_zlib(frame: &[u8], limit: usize) -> Result<Vec<u8>, BoxError> {
    reuse::with_inflater(|inflater| {
        decompress_bounded(frame, limit, "zlib", |input, out| {
            let status = inflater.decompress_vec(input, out, FlushDecompress::None)?;
            Ok((inflater.total_in() as usize, status == Status::StreamEnd))
        })
    })
}

/// Deflaters and an inflater kept for reuse, one set per thread: making a
/// deflater allocates and zeroes about 300 KiB of tables (an inflater about
/// 40 KiB), far more work than compressing a small packet; a reset one is
/// ready again without allocating. Each is taken out of its slot while in
/// use and put back reset, so a panic mid-use drops it instead of leaving
/// it half-used, and a thread that is exiting just makes fresh ones.
#[cfg(feature = "compression")]
mod reuse {
    use std::cell::RefCell;

    use bytes::BytesMut;
    use flate2::{Compress, Compression, Decompress, FlushCompress, Status};

    thread_local! {
        /// Indexed by "has a zlib header" (gzip deflates raw); with the
        /// level each was made for.
        static DEFLATERS: RefCell<[Option<(u32, Compress)>; 2]> =
            const { RefCell::new([None, None]) };
        static INFLATER: RefCell<Option<Decompress>> = const { RefCell::new(None) };
    }

    /// Deflate all of `raw` into one stream at the end of `dst`, with a
    /// zlib header and checksum or raw (for gzip).
    pub(super) fn deflate(
        raw: &[u8],
        level: u32,
        zlib_header: bool,
        dst: &mut BytesMut,
    ) -> std::io::Result<()> {
        let slot = usize::from(zlib_header);
        let kept = DEFLATERS
            .try_with(|kept| kept.borrow_mut()[slot].take())
            .ok()
            .flatten()
            .filter(|(kept_level, _)| *kept_level == level);
        let mut deflater = match kept {
            Some((_, deflater)) => deflater,
            None => Compress::new(Compression::new(level), zlib_header),
        };
        let result = deflate_with(&mut deflater, raw, dst);
        deflater.reset();
        let _ = DEFLATERS.try_with(|kept| kept.borrow_mut()[slot] = Some((level, deflater)));
        result
    }

    /// Deflate `raw` with a fresh or reset `deflater` into room grown at
    /// the end of `dst` (deflate's worst case is the input plus 5 bytes per
    /// stored block and the header: one step for almost every packet).
    fn deflate_with(
        deflater: &mut Compress,
        raw: &[u8],
        dst: &mut BytesMut,
    ) -> std::io::Result<()> {
        let start = dst.len();
        let mut written = start;
        let mut room = raw.len() + raw.len() / 4096 * 5 + 64;
        loop {
            dst.resize(written + room, 0);
            let (before_in, before_out) = (deflater.total_in(), deflater.total_out());
            let status = deflater
                .compress(
                    &raw[before_in as usize..],
                    &mut dst[written..],
                    FlushCompress::Finish,
                )
                .map_err(|err| {
                    dst.truncate(start);
                    std::io::Error::other(err)
                })?;
            written += (deflater.total_out() - before_out) as usize;
            if status == Status::StreamEnd {
                dst.truncate(written);
                return Ok(());
            }
            room = (written - start).max(64);
        }
    }

    /// Run `f` with a zlib inflater, fresh or reset.
    pub(super) fn with_inflater<R>(f: impl FnOnce(&mut Decompress) -> R) -> R {
        let kept = INFLATER
            .try_with(|kept| kept.borrow_mut().take())
            .ok()
            .flatten();
        let mut inflater = kept.unwrap_or_else(|| Decompress::new(true));
        let result = f(&mut inflater);
        inflater.reset(true);
        let _ = INFLATER.try_with(|kept| *kept.borrow_mut() = Some(inflater));
        result
    }
}

#[cfg(all(test, feature = "compression"))]
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

    /// What flate2's own encoders write for `data` at `level`: zlib, gzip.
    fn flate2_encoders(data: &[u8], level: u32) -> (Vec<u8>, Vec<u8>) {
        let level = flate2::Compression::new(level);
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), level);
        zlib.write_all(data).unwrap();
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), level);
        gzip.write_all(data).unwrap();
        (zlib.finish().unwrap(), gzip.finish().unwrap())
    }

    /// Deflaters are kept per thread and reused across levels and formats:
    /// the bytes are still those of a fresh encoder, every time, and come
    /// after what `dst` held.
    #[test]
    fn reused_deflaters_write_what_fresh_encoders_write() {
        let mut noise = 0x2545_f491_u32;
        let random: Vec<u8> = (0..200_000)
            .map(|_| {
                noise ^= noise << 13;
                noise ^= noise >> 17;
                noise ^= noise << 5;
                noise as u8
            })
            .collect();
        let text = b"a packet, a packet, another packet; ".repeat(3000);
        let inputs: [&[u8]; 5] = [b"", b"x", &text[..100], &text, &random];
        for round in 0..2 {
            for level in [9, 0, 1, 6, 9] {
                for data in inputs {
                    let (zlib, gzip) = flate2_encoders(data, level);
                    let mut wire = BytesMut::from(&b"queued"[..]);
                    Zlib::new(BytesSerializer)
                        .level(level)
                        .serialize(data, &mut wire)
                        .unwrap();
                    assert_eq!(&wire[..6], b"queued");
                    assert!(
                        wire[6..] == zlib[..],
                        "zlib, level {level}, {} bytes, round {round}",
                        data.len()
                    );
                    let mut wire = BytesMut::new();
                    Gzip::new(BytesSerializer)
                        .level(level)
                        .serialize(data, &mut wire)
                        .unwrap();
                    assert!(
                        wire[..] == gzip[..],
                        "gzip, level {level}, {} bytes, round {round}",
                        data.len()
                    );
                    assert_eq!(
                        &Zlib::new(BytesSerializer).deserialize(zlib.into()).unwrap()[..],
                        data
                    );
                }
            }
        }
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

#[cfg(all(test, feature = "bzip2"))]
mod bz2_tests {
    use super::*;
    use crate::framing::Bz2Stream;
    use crate::serializer::{BytesSerializer, Utf8};

    fn bz2_of(data: &[u8]) -> Bytes {
        let mut wire = BytesMut::new();
        Bz2::new(BytesSerializer)
            .serialize(data, &mut wire)
            .unwrap();
        wire.freeze()
    }

    #[test]
    fn a_bomb_is_refused_at_the_limit_and_the_exact_size_passes() {
        let bomb = bz2_of(&vec![0u8; 10 * 1024 * 1024]);
        assert!(bomb.len() < 200, "{}", bomb.len());
        let err = Bz2::new(BytesSerializer)
            .max_decompressed_length(1 << 20)
            .deserialize(bomb.clone())
            .unwrap_err();
        assert_eq!(err.frame, bomb);
        assert!(err.to_string().contains("limit of 1048576"), "{err}");
        // The default limit is 8 MiB: 10 MiB is refused too.
        assert!(Bz2::new(BytesSerializer).deserialize(bomb).is_err());
        let exact = bz2_of(&[7u8; 1000]);
        let ok = Bz2::new(BytesSerializer)
            .max_decompressed_length(1000)
            .deserialize(exact.clone());
        assert_eq!(ok.unwrap().len(), 1000);
        let short = Bz2::new(BytesSerializer)
            .max_decompressed_length(999)
            .deserialize(exact);
        assert!(short.is_err());
    }

    #[test]
    fn truncated_trailing_and_corrupt_frames_are_errors() {
        let wire = bz2_of(b"some data, some data");
        let bz2 = Bz2::new(BytesSerializer);
        assert!(bz2.deserialize(wire.clone()).is_ok());
        for cut in 0..wire.len() {
            let err = bz2.deserialize(wire.slice(..cut)).unwrap_err();
            assert_eq!(err.frame, wire.slice(..cut));
        }
        let mut extra = wire.to_vec();
        extra.push(0);
        let err = bz2.deserialize(Bytes::from(extra)).unwrap_err();
        assert!(
            err.to_string()
                .contains("1 bytes after the end of the bzip2 stream"),
            "{err}"
        );
        let mut corrupt = wire.to_vec();
        corrupt[10] ^= 0x55;
        assert!(bz2.deserialize(Bytes::from(corrupt)).is_err());
        let err = bz2
            .deserialize(Bytes::from_static(b"not bzip2"))
            .unwrap_err();
        assert!(err.to_string().contains("bzip2"), "{err}");
    }

    #[test]
    fn levels_clamp_and_protocol_takes_the_framer_limit() {
        let mut one = BytesMut::new();
        Bz2::new(Utf8).level(0).serialize("x", &mut one).unwrap();
        assert!(one.starts_with(b"BZh1"));
        let mut nine = BytesMut::new();
        Bz2::new(Utf8).level(42).serialize("x", &mut nine).unwrap();
        assert!(nine.starts_with(b"BZh9"));
        let protocol = Bz2::new(Utf8).protocol(Bz2Stream::new().max_frame_length(4096));
        assert_eq!(protocol.serializer().max_decompressed_length_limit(), 4096);
        assert_eq!(Bz2::new(Utf8).deserialize(bz2_of(b"")).unwrap(), "");
    }
}
