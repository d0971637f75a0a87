//! Frames that end with a delimiter.

use std::sync::Arc;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use memchr::memmem;

use super::{DecodeFailure, Frame, FrameDecoder, Framer};
use crate::error::{EncodeError, FramingError};

/// Frames separated by a delimiter: LF by default, or CR, CRLF, or any
/// non-empty byte string.
///
/// The delimiter is stripped from received frames unless
/// [`keep_delimiter`](Delimiter::keep_delimiter) is set, and appended to every
/// sent frame. A received frame longer than
/// [`max_frame_length`](Delimiter::max_frame_length) (default 64 KiB) is
/// reported once — as [`FramingError::FrameTooLong`] when its delimiter is
/// in the buffer, as [`FramingError::FrameTooLongSoFar`] with the bytes seen
/// so far when it is not yet —; the decoder then discards
/// input up to the next delimiter and carries on with the next frame.
///
/// ```
/// use bytes::BytesMut;
/// use netproto_core::framing::{Delimiter, FrameDecoder, Framer};
///
/// let framer = Delimiter::crlf();
/// let mut wire = BytesMut::new();
/// framer.encode(b"PING", &mut wire).unwrap();
/// assert_eq!(&wire[..], b"PING\r\n");
///
/// let mut decoder = framer.decoder();
/// assert_eq!(decoder.decode(&mut wire).unwrap().unwrap(), "PING");
/// ```
#[derive(Clone, Debug)]
pub struct Delimiter {
    delimiter: Bytes,
    /// Shared: the searcher is a few hundred bytes, and every connection
    /// holds a clone of the framer in each half.
    finder: Arc<memmem::Finder<'static>>,
    max_frame_length: usize,
    keep_delimiter: bool,
    skip_empty_frames: bool,
}

impl Default for Delimiter {
    fn default() -> Self {
        Delimiter::lf()
    }
}

impl Delimiter {
    /// The default maximum frame length: 64 KiB.
    pub const DEFAULT_MAX_FRAME_LENGTH: usize = 64 * 1024;

    /// Frames separated by `delimiter`.
    ///
    /// # Panics
    /// If `delimiter` is empty.
    pub fn new(delimiter: impl AsRef<[u8]>) -> Self {
        let delimiter = Bytes::copy_from_slice(delimiter.as_ref());
        assert!(!delimiter.is_empty(), "the delimiter must not be empty");
        let finder = Arc::new(memmem::Finder::new(&delimiter[..]).into_owned());
        Delimiter {
            delimiter,
            finder,
            max_frame_length: Self::DEFAULT_MAX_FRAME_LENGTH,
            keep_delimiter: false,
            skip_empty_frames: false,
        }
    }

    /// Lines ending with `\n`.
    pub fn lf() -> Self {
        Delimiter::new(b"\n")
    }

    /// Lines ending with `\r`.
    pub fn cr() -> Self {
        Delimiter::new(b"\r")
    }

    /// Lines ending with `\r\n`.
    pub fn crlf() -> Self {
        Delimiter::new(b"\r\n")
    }

    /// Set the largest frame (without its delimiter) that will be accepted.
    pub fn max_frame_length(mut self, max: usize) -> Self {
        self.max_frame_length = max;
        self
    }

    /// Keep the delimiter at the end of received frames (default: strip it).
    pub fn keep_delimiter(mut self, keep: bool) -> Self {
        self.keep_delimiter = keep;
        self
    }

    /// Send nothing at all for an empty frame (default: send a bare
    /// delimiter, an empty line).
    ///
    /// EasyNetwork's `StringLineSerializer` sends nothing for
    /// `send_packet("")`; set this to match it. The default stays an empty
    /// line: it is what the peer receives as an empty packet, and a line
    /// protocol where an empty line means something (the end of a header
    /// block, a keep-alive) needs it. Received empty lines are delivered
    /// either way.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use netproto_core::framing::{Delimiter, Framer};
    ///
    /// let mut wire = BytesMut::new();
    /// let framer = Delimiter::lf().skip_empty_frames(true);
    /// for line in ["a", "", "b"] {
    ///     framer.encode(line.as_bytes(), &mut wire).unwrap();
    /// }
    /// assert_eq!(&wire[..], b"a\nb\n");
    /// ```
    pub fn skip_empty_frames(mut self, skip: bool) -> Self {
        self.skip_empty_frames = skip;
        self
    }

    /// The delimiter.
    pub fn delimiter(&self) -> &[u8] {
        &self.delimiter
    }
}

impl Framer for Delimiter {
    type Decoder = DelimiterDecoder;

    fn decoder(&self) -> DelimiterDecoder {
        DelimiterDecoder {
            config: self.clone(),
            searched: 0,
            discarding: false,
            examined: 0,
        }
    }

    fn encode_with<F>(&self, dst: &mut BytesMut, write: F) -> Result<(), EncodeError>
    where
        F: FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
    {
        let start = dst.len();
        let result = write(dst).and_then(|()| {
            let length = dst.len() - start;
            if length == 0 && self.skip_empty_frames {
                return Ok(());
            }
            if length > self.max_frame_length {
                return Err(EncodeError::FrameTooLong {
                    length: length as u64,
                    limit: self.max_frame_length,
                });
            }
            // One byte cannot overlap itself: memchr on the payload.
            if let [byte] = self.delimiter[..] {
                return match memchr::memchr(byte, &dst[start..]) {
                    Some(offset) => Err(self.contains_delimiter(offset)),
                    None => {
                        dst.put_u8(byte);
                        Ok(())
                    }
                };
            }
            // Search the payload *with* its delimiter: the first occurrence
            // must be the one appended. With a delimiter that overlaps itself
            // ("\r\n\r\n", "aba") a payload ending with part of it would
            // otherwise make the peer cut the frame early.
            dst.extend_from_slice(&self.delimiter);
            match self.finder.find(&dst[start..]) {
                Some(offset) if offset < length => Err(self.contains_delimiter(offset)),
                _ => Ok(()),
            }
        });
        result.inspect_err(|_| dst.truncate(start))
    }

    /// Checked before anything is written (nothing to undo), and written
    /// with one reservation.
    fn encode(&self, frame: &[u8], dst: &mut BytesMut) -> Result<(), EncodeError> {
        let [byte] = self.delimiter[..] else {
            return self.encode_with(dst, |dst| {
                dst.extend_from_slice(frame);
                Ok(())
            });
        };
        if frame.is_empty() && self.skip_empty_frames {
            return Ok(());
        }
        if frame.len() > self.max_frame_length {
            return Err(EncodeError::FrameTooLong {
                length: frame.len() as u64,
                limit: self.max_frame_length,
            });
        }
        if frame.len() < SHORT {
            if let Some(offset) = find_in_short(byte, frame) {
                return Err(self.contains_delimiter(offset));
            }
            dst.reserve(frame.len() + 1);
            dst.put_slice(frame);
        } else {
            // Search each piece, then copy it while it is still in cache:
            // one trip through memory for a frame larger than the cache.
            let start = dst.len();
            dst.reserve(frame.len() + 1);
            for (i, piece) in frame.chunks(PIECE).enumerate() {
                if let Some(offset) = memchr::memchr(byte, piece) {
                    dst.truncate(start);
                    return Err(self.contains_delimiter(i * PIECE + offset));
                }
                dst.put_slice(piece);
            }
        }
        dst.put_u8(byte);
        Ok(())
    }

    fn max_frame_length(&self) -> usize {
        self.max_frame_length
    }
}

/// Frames shorter than this are searched for a one-byte delimiter eight
/// bytes at a time, without memchr's set-up.
const SHORT: usize = 32;

/// The piece a long frame is searched and copied in.
const PIECE: usize = 8 * 1024;

/// Where `byte` first is in `frame` (shorter than [`SHORT`]): a word at a
/// time, with the classic test for a zero byte in the word XORed with
/// `byte` in every lane.
fn find_in_short(byte: u8, frame: &[u8]) -> Option<usize> {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut words = frame.chunks_exact(8);
    for (i, word) in words.by_ref().enumerate() {
        let word = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        let x = word ^ (LOW * u64::from(byte));
        let zero = x.wrapping_sub(LOW) & !x & HIGH;
        if zero != 0 {
            // The lowest flagged lane is the first match (higher lanes may
            // be false positives after a borrow, never lower ones).
            return Some(i * 8 + (zero.trailing_zeros() / 8) as usize);
        }
    }
    let tail = words.remainder();
    let at = frame.len() - tail.len();
    tail.iter().position(|&b| b == byte).map(|i| at + i)
}

impl Delimiter {
    fn contains_delimiter(&self, offset: usize) -> EncodeError {
        EncodeError::ContainsDelimiter {
            delimiter: self.delimiter.clone(),
            offset,
        }
    }
}

/// Decoding state of a [`Delimiter`] framer.
#[derive(Debug)]
pub struct DelimiterDecoder {
    config: Delimiter,
    /// Offset in the buffer where the next search starts: everything before
    /// it has been examined and holds no delimiter.
    searched: usize,
    /// Discarding an oversized frame up to the next delimiter.
    discarding: bool,
    examined: u64,
}

impl DelimiterDecoder {
    /// Search `src` for the delimiter from where the last search stopped.
    #[inline(always)]
    fn find(&mut self, src: &[u8]) -> Option<usize> {
        let start = self.searched.min(src.len());
        let haystack = &src[start..];
        // One-byte delimiters (LF, CR) skip the substring searcher's dispatch.
        let found = match self.config.delimiter[..] {
            [byte] => memchr::memchr(byte, haystack),
            _ => self.config.finder.find(haystack),
        };
        let dlen = self.config.delimiter.len();
        match found {
            Some(i) => {
                self.examined += (i + dlen) as u64;
                Some(start + i)
            }
            None => {
                self.examined += haystack.len() as u64;
                // A delimiter may straddle the end: look again at its first
                // `dlen - 1` bytes when more arrive.
                self.searched = src.len().saturating_sub(dlen - 1);
                None
            }
        }
    }

    /// The frame ending at the delimiter found at `i`.
    #[inline]
    fn frame_at<'a>(&mut self, src: &'a mut BytesMut, i: usize) -> Frame<'a> {
        let dlen = self.config.delimiter.len();
        self.searched = 0;
        let end = if self.config.keep_delimiter {
            i + dlen
        } else {
            i
        };
        Frame::borrowed(src, 0, end, i + dlen)
    }

    /// Everything but a well-sized frame found while not discarding: an
    /// incomplete frame, an oversized one, or a discard in progress. Kept
    /// out of line so the common path inlines into its caller.
    #[cold]
    #[inline(never)]
    fn next_frame_slow<'a>(
        &mut self,
        src: &'a mut BytesMut,
        mut found: Option<usize>,
    ) -> Result<Option<Frame<'a>>, DecodeFailure> {
        let dlen = self.config.delimiter.len();
        let max = self.config.max_frame_length;
        loop {
            if self.discarding {
                match found {
                    Some(i) => {
                        src.advance(i + dlen);
                        self.discarding = false;
                        self.searched = 0;
                        found = self.find(src);
                        continue;
                    }
                    None => {
                        // Drop what cannot hold the start of a delimiter.
                        let drop = self.searched;
                        src.advance(drop);
                        self.searched = 0;
                        return Ok(None);
                    }
                }
            }
            return match found {
                Some(i) if i > max => {
                    src.advance(i + dlen);
                    self.searched = 0;
                    Err(DecodeFailure::recoverable(FramingError::FrameTooLong {
                        length: i as u64,
                        limit: max,
                    }))
                }
                Some(i) => Ok(Some(self.frame_at(src, i))),
                None if src.len() > max.saturating_add(dlen - 1) => {
                    // No delimiter can end a frame short enough any more.
                    let length = src.len() as u64;
                    self.discarding = true;
                    let drop = self.searched;
                    src.advance(drop);
                    self.searched = 0;
                    Err(DecodeFailure::recoverable(
                        FramingError::FrameTooLongSoFar {
                            at_least: length,
                            limit: max,
                        },
                    ))
                }
                None => Ok(None),
            };
        }
    }
}

impl FrameDecoder for DelimiterDecoder {
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, DecodeFailure> {
        Ok(self.next_frame(src)?.map(Frame::into_bytes))
    }

    #[inline(always)]
    fn next_frame<'a>(
        &mut self,
        src: &'a mut BytesMut,
    ) -> Result<Option<Frame<'a>>, DecodeFailure> {
        let found = self.find(src);
        match found {
            Some(i) if !self.discarding && i <= self.config.max_frame_length => {
                Ok(Some(self.frame_at(src, i)))
            }
            _ => self.next_frame_slow(src, found),
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, DecodeFailure> {
        match self.decode(src)? {
            Some(frame) => Ok(Some(frame)),
            None if src.is_empty() => Ok(None),
            None if self.discarding => {
                src.clear();
                self.discarding = false;
                self.searched = 0;
                Ok(None)
            }
            None => Err(DecodeFailure::fatal(FramingError::UnexpectedEof {
                pending: src.len(),
            })),
        }
    }

    fn bytes_examined(&self) -> u64 {
        self.examined
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::decode_all;

    #[test]
    fn splits_lines_and_strips() {
        let (frames, err) = decode_all(&mut Delimiter::lf().decoder(), b"a\nbc\n\nd\n");
        assert!(err.is_none());
        assert_eq!(frames, vec!["a", "bc", "", "d"]);
    }

    #[test]
    fn keeps_delimiter_when_asked() {
        let mut d = Delimiter::crlf().keep_delimiter(true).decoder();
        let (frames, _) = decode_all(&mut d, b"x\r\ny\r\n");
        assert_eq!(frames, vec!["x\r\n", "y\r\n"]);
    }

    #[test]
    fn delimiter_split_across_reads() {
        let mut d = Delimiter::crlf().decoder();
        let mut buf = BytesMut::from(&b"hello\r"[..]);
        assert_eq!(d.decode(&mut buf).unwrap(), None);
        buf.extend_from_slice(b"\nworld\r\n");
        assert_eq!(d.decode(&mut buf).unwrap().unwrap(), "hello");
        assert_eq!(d.decode(&mut buf).unwrap().unwrap(), "world");
    }

    #[test]
    fn eof_inside_frame_reports_pending() {
        let mut d = Delimiter::lf().decoder();
        let (frames, err) = decode_all(&mut d, b"ok\npartial");
        assert_eq!(frames, vec!["ok"]);
        let err = err.unwrap();
        assert_eq!(err.error, FramingError::UnexpectedEof { pending: 7 });
        assert!(!err.recoverable);
    }

    #[test]
    fn overrun_is_reported_once_then_resynchronises() {
        let mut d = Delimiter::lf().max_frame_length(4).decoder();
        let mut buf = BytesMut::new();
        buf.extend_from_slice(b"abcdefgh");
        let err = d.decode(&mut buf).unwrap_err();
        assert!(err.recoverable);
        assert_eq!(
            err.error,
            FramingError::FrameTooLongSoFar {
                at_least: 8,
                limit: 4
            }
        );
        // No delimiter yet: the line is longer than what was buffered.
        assert_eq!(
            err.error.to_string(),
            "frame of at least 8 bytes exceeds the limit of 4"
        );
        assert!(buf.is_empty(), "oversized bytes are discarded");
        buf.extend_from_slice(b"ijklmnop");
        assert_eq!(d.decode(&mut buf).unwrap(), None);
        assert!(buf.is_empty());
        buf.extend_from_slice(b"qr\nok\n");
        assert_eq!(d.decode(&mut buf).unwrap().unwrap(), "ok");
        assert_eq!(d.decode(&mut buf).unwrap(), None);
    }

    #[test]
    fn whole_oversized_frame_in_one_read() {
        let mut d = Delimiter::lf().max_frame_length(3).decoder();
        let mut buf = BytesMut::from(&b"toolong\nok\n"[..]);
        assert!(d.decode(&mut buf).unwrap_err().recoverable);
        assert_eq!(d.decode(&mut buf).unwrap().unwrap(), "ok");
    }

    /// The one-byte delimiter's search, short (a word at a time) and long
    /// (in pieces), finds the first delimiter wherever it is, and a
    /// refused frame leaves nothing behind.
    #[test]
    fn encode_finds_a_one_byte_delimiter_at_every_offset() {
        let framer = Delimiter::lf().max_frame_length(1 << 20);
        for len in (0..80).chain([8191, 8192, 8193, 20_000]) {
            let clean: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let mut dst = BytesMut::from(&b"q"[..]);
            framer.encode(&clean, &mut dst).unwrap();
            assert_eq!(dst[1..len + 1], clean[..]);
            assert_eq!(&dst[len + 1..], b"\n");
            let offsets = (0..len).filter(|&at| len < 100 || at % 997 == 0 || at + 1 == len);
            for at in offsets {
                let mut dirty = clean.clone();
                dirty[at] = b'\n';
                // A second one after it, and bytes that differ from '\n' by
                // one bit or a borrow, must not move the offset reported.
                if at + 2 < len {
                    dirty[at + 2] = b'\n';
                }
                if at > 0 {
                    dirty[at - 1] = b'\x0b';
                }
                let mut dst = BytesMut::from(&b"q"[..]);
                match framer.encode(&dirty, &mut dst) {
                    Err(EncodeError::ContainsDelimiter { offset, .. }) => {
                        assert_eq!(offset, at, "len {len}");
                    }
                    other => panic!("len {len} at {at}: {other:?}"),
                }
                assert_eq!(&dst[..], b"q");
            }
        }
    }

    #[test]
    fn encode_appends_and_refuses_delimiter_inside() {
        let framer = Delimiter::lf();
        let mut dst = BytesMut::from(&b"x\n"[..]);
        framer.encode(b"hi", &mut dst).unwrap();
        assert_eq!(&dst[..], b"x\nhi\n");
        let err = framer.encode(b"a\nb", &mut dst).unwrap_err();
        assert!(matches!(
            err,
            EncodeError::ContainsDelimiter { offset: 1, .. }
        ));
        assert_eq!(&dst[..], b"x\nhi\n", "a refused frame leaves nothing");
        let err = Delimiter::lf()
            .max_frame_length(2)
            .encode(b"abc", &mut dst)
            .unwrap_err();
        assert!(matches!(
            err,
            EncodeError::FrameTooLong {
                length: 3,
                limit: 2
            }
        ));
    }

    #[test]
    fn encode_refuses_a_tail_that_completes_an_earlier_delimiter() {
        // "x\r\n" + "\r\n\r\n" would be cut after "x" by the peer.
        let framer = Delimiter::new(b"\r\n\r\n");
        let mut dst = BytesMut::new();
        let err = framer.encode(b"x\r\n", &mut dst).unwrap_err();
        assert!(matches!(
            err,
            EncodeError::ContainsDelimiter { offset: 1, .. }
        ));
        assert!(dst.is_empty());
        let err = Delimiter::new(b"aba").encode(b"xab", &mut dst).unwrap_err();
        assert!(matches!(
            err,
            EncodeError::ContainsDelimiter { offset: 1, .. }
        ));
        // A partial match that does not complete one is fine.
        framer.encode(b"x\r", &mut dst).unwrap();
        let (frames, err) = decode_all(&mut framer.decoder(), &dst);
        assert!(err.is_none());
        assert_eq!(frames, vec!["x\r"]);
    }

    #[test]
    fn empty_frames_are_skipped_when_asked() {
        let mut dst = BytesMut::new();
        Delimiter::crlf().encode(b"", &mut dst).unwrap();
        assert_eq!(&dst[..], b"\r\n", "an empty line by default");
        let framer = Delimiter::crlf().skip_empty_frames(true);
        framer.encode(b"", &mut dst).unwrap();
        framer.encode(b"x", &mut dst).unwrap();
        assert_eq!(&dst[..], b"\r\nx\r\n");
        let (frames, err) = decode_all(&mut framer.decoder(), &dst);
        assert!(err.is_none());
        assert_eq!(frames, vec!["", "x"], "empty lines are still received");
    }

    #[test]
    fn unbounded_limit_does_not_overflow() {
        let mut d = Delimiter::crlf().max_frame_length(usize::MAX).decoder();
        let mut buf = BytesMut::from(&b"abc"[..]);
        assert_eq!(d.decode(&mut buf).unwrap(), None);
        buf.extend_from_slice(b"\r\n");
        assert_eq!(d.decode(&mut buf).unwrap().unwrap(), "abc");
    }
}
