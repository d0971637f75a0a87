//! A decoded frame, borrowed in place from the receive buffer.

use std::fmt;
use std::ops::Deref;

use bytes::{Buf, Bytes, BytesMut};

/// One decoded frame, read in place in the receive buffer.
///
/// [`FrameDecoder::next_frame`](super::FrameDecoder::next_frame) returns a
/// `Frame` instead of splitting the frame off into [`Bytes`]: a packet that
/// is parsed straight from the frame's bytes (a string, a JSON value, a
/// struct) then costs no reference counting and no copy beyond the parse
/// itself. Dropping the frame consumes it: the receive buffer advances past
/// the frame (and its header or delimiter). [`Frame::into_bytes`] takes it as
/// `Bytes` when the packet must own the frame, still without copying.
///
/// Forgetting a frame (`std::mem::forget`) leaves its bytes in the buffer.
///
/// ```
/// use bytes::BytesMut;
/// use netproto_core::framing::{Delimiter, FrameDecoder, Framer};
///
/// let mut decoder = Delimiter::lf().decoder();
/// let mut buf = BytesMut::from(&b"one\ntwo\n"[..]);
/// let frame = decoder.next_frame(&mut buf).unwrap().unwrap();
/// assert_eq!(&frame[..], b"one");
/// drop(frame); // consumed
/// assert_eq!(&buf[..], b"two\n");
/// let two = decoder.next_frame(&mut buf).unwrap().unwrap().into_bytes();
/// assert_eq!(two, "two");
/// assert!(buf.is_empty());
/// ```
pub struct Frame<'a> {
    repr: Repr<'a>,
}

enum Repr<'a> {
    /// `src[start..end]` is the frame; `src[..consumed]` is what the frame
    /// took from the stream (header, payload, delimiter).
    Borrowed {
        src: &'a mut BytesMut,
        start: usize,
        end: usize,
        consumed: usize,
    },
    /// A frame already split off (from a decoder that only implements
    /// [`decode`](super::FrameDecoder::decode)).
    Owned(Bytes),
}

impl<'a> Frame<'a> {
    /// The frame `src[start..end]`, which took `src[..consumed]` off the
    /// stream.
    ///
    /// # Panics
    /// Unless `start <= end <= consumed <= src.len()`.
    #[inline]
    pub fn borrowed(src: &'a mut BytesMut, start: usize, end: usize, consumed: usize) -> Self {
        assert!(
            start <= end && end <= consumed && consumed <= src.len(),
            "frame {start}..{end} (consuming {consumed}) out of a {}-byte buffer",
            src.len()
        );
        Frame {
            repr: Repr::Borrowed {
                src,
                start,
                end,
                consumed,
            },
        }
    }

    /// A frame already split off the stream.
    #[inline]
    pub fn owned(frame: Bytes) -> Self {
        Frame {
            repr: Repr::Owned(frame),
        }
    }

    /// The frame's bytes.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match &self.repr {
            Repr::Borrowed {
                src, start, end, ..
            } => &src[*start..*end],
            Repr::Owned(frame) => frame,
        }
    }

    /// Take the frame out of the receive buffer as [`Bytes`], without
    /// copying.
    #[inline]
    pub fn into_bytes(mut self) -> Bytes {
        match &mut self.repr {
            Repr::Borrowed {
                src,
                start,
                end,
                consumed,
            } => {
                src.advance(*start);
                let frame = src.split_to(*end - *start).freeze();
                src.advance(*consumed - *end);
                // Nothing left for `drop` to consume.
                *consumed = 0;
                *start = 0;
                *end = 0;
                frame
            }
            Repr::Owned(frame) => std::mem::take(frame),
        }
    }
}

impl Drop for Frame<'_> {
    #[inline]
    fn drop(&mut self) {
        if let Repr::Borrowed { src, consumed, .. } = &mut self.repr {
            src.advance(*consumed);
        }
    }
}

impl Deref for Frame<'_> {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for Frame<'_> {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl fmt::Debug for Frame<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Frame")
            .field(&Bytes::copy_from_slice(self.as_slice()))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropping_consumes_header_payload_and_trailer() {
        let mut buf = BytesMut::from(&b"\x03abc\nrest"[..]);
        let frame = Frame::borrowed(&mut buf, 1, 4, 5);
        assert_eq!(&frame[..], b"abc");
        drop(frame);
        assert_eq!(&buf[..], b"rest");
    }

    #[test]
    fn into_bytes_splits_without_touching_what_follows() {
        let mut buf = BytesMut::from(&b"\x03abc\nrest"[..]);
        let bytes = Frame::borrowed(&mut buf, 1, 4, 5).into_bytes();
        assert_eq!(bytes, "abc");
        assert_eq!(&buf[..], b"rest");
    }

    #[test]
    fn owned_frames_read_and_convert() {
        let frame = Frame::owned(Bytes::from_static(b"xyz"));
        assert_eq!(frame.as_slice(), b"xyz");
        assert_eq!(frame.into_bytes(), "xyz");
    }

    #[test]
    #[should_panic(expected = "out of a 2-byte buffer")]
    fn a_frame_past_the_buffer_is_refused() {
        let mut buf = BytesMut::from(&b"ab"[..]);
        let _ = Frame::borrowed(&mut buf, 0, 3, 3);
    }
}
