//! Concatenated JSON documents without separators.

use bytes::{Buf, Bytes, BytesMut};

use super::{DecodeFailure, Frame, FrameDecoder, Framer};
use crate::error::{EncodeError, FramingError};

/// JSON documents with no separator between them, as EasyNetwork's
/// `JSONSerializer(use_lines=False)` sends them.
///
/// The decoder finds where each value ends without parsing it: it counts the
/// document's brackets (`{}` for an object, `[]` for an array) outside
/// strings, and follows strings and their `\` escapes. Whitespace between
/// documents is skipped. Validating the document is the serializer's job: a
/// malformed document still yields a frame (and a per-packet deserialize
/// error).
///
/// * Objects, arrays and strings end at their closing byte.
/// * Other top-level values (numbers, `true`, `false`, `null`, and Python's
///   `NaN`/`Infinity`) have no closing byte: as in EasyNetwork they run over
///   printable ASCII and end at the first other byte (whitespace), or at the
///   end of the stream. [`encode_with`](Framer::encode_with) therefore
///   appends `\n` after such a value, as EasyNetwork does.
///
/// A document longer than [`max_frame_length`](JsonDocument::max_frame_length)
/// (default 64 KiB, EasyNetwork's default limit) is reported once as a
/// recoverable [`FramingError::FrameTooLong`] (or
/// [`FramingError::FrameTooLongSoFar`] when its end has not arrived yet); the decoder keeps following it,
/// discarding its bytes as they arrive, and carries on after it. A byte that
/// cannot start a document (a stray `}`, a letter, a control or non-ASCII
/// byte) is a fatal [`FramingError::InvalidByte`]: the stream is not a
/// sequence of JSON documents and there is no reliable point to resume from.
///
/// Each byte is examined once, however the stream is split into reads.
///
/// ```
/// use bytes::BytesMut;
/// use netproto_core::framing::{FrameDecoder, Framer, JsonDocument};
///
/// let framer = JsonDocument::new();
/// let mut wire = BytesMut::from(&br#"{"a":"}"}  [1,[2]]"#[..]);
/// let mut decoder = framer.decoder();
/// assert_eq!(decoder.decode(&mut wire).unwrap().unwrap(), r#"{"a":"}"}"#);
/// assert_eq!(decoder.decode(&mut wire).unwrap().unwrap(), "[1,[2]]");
/// assert_eq!(decoder.decode(&mut wire).unwrap(), None);
/// ```
#[derive(Clone, Debug)]
pub struct JsonDocument {
    max_frame_length: usize,
}

impl Default for JsonDocument {
    fn default() -> Self {
        JsonDocument {
            max_frame_length: Self::DEFAULT_MAX_FRAME_LENGTH,
        }
    }
}

impl JsonDocument {
    /// The default maximum document length: 64 KiB.
    pub const DEFAULT_MAX_FRAME_LENGTH: usize = 64 * 1024;

    /// Documents of at most 64 KiB.
    pub fn new() -> Self {
        JsonDocument::default()
    }

    /// Set the largest document accepted on receive and on send.
    pub fn max_frame_length(mut self, max: usize) -> Self {
        self.max_frame_length = max;
        self
    }
}

fn is_whitespace(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

/// Bytes a bare top-level value may start with.
fn starts_bare_value(byte: u8) -> bool {
    matches!(byte, b'-' | b'0'..=b'9' | b't' | b'f' | b'n' | b'N' | b'I')
}

/// Bytes a bare value runs over: printable ASCII but space.
fn continues_bare_value(byte: u8) -> bool {
    matches!(byte, 0x21..=0x7e)
}

impl Framer for JsonDocument {
    type Decoder = JsonDocumentDecoder;

    fn decoder(&self) -> JsonDocumentDecoder {
        JsonDocumentDecoder {
            max_frame_length: self.max_frame_length,
            doc: Doc::Between,
            pos: 0,
            depth: 0,
            in_string: false,
            escape: false,
            discarding: false,
            failed: None,
            examined: 0,
        }
    }

    /// Writes the document as it is (it is not validated), followed by `\n`
    /// when it is a bare value (a number or literal) that would otherwise run
    /// into the next document. An empty document, or one starting with a
    /// byte that cannot start a JSON value, is refused: the peer's decoder
    /// would treat it as a fatal error.
    fn encode_with<F>(&self, dst: &mut BytesMut, write: F) -> Result<(), EncodeError>
    where
        F: FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
    {
        let start = dst.len();
        let result = write(dst).and_then(|()| {
            let document = dst.get(start..).unwrap_or_default();
            if document.len() > self.max_frame_length {
                return Err(EncodeError::FrameTooLong {
                    length: document.len() as u64,
                    limit: self.max_frame_length,
                });
            }
            let first = document.iter().copied().find(|b| !is_whitespace(*b));
            match first {
                Some(b'{' | b'[' | b'"') => Ok(()),
                Some(b) if starts_bare_value(b) => {
                    if !document.last().copied().is_some_and(is_whitespace) {
                        dst.extend_from_slice(b"\n");
                    }
                    Ok(())
                }
                Some(b) => Err(EncodeError::serialize(format!(
                    "a JSON document cannot start with byte 0x{b:02x}"
                ))),
                None => Err(EncodeError::serialize("empty JSON document")),
            }
        });
        result.inspect_err(|_| dst.truncate(start))
    }

    fn max_frame_length(&self) -> usize {
        self.max_frame_length
    }
}

/// What kind of document the decoder is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Doc {
    /// Between documents: skipping whitespace.
    Between,
    /// An object or array, counting this bracket pair.
    Container { open: u8, close: u8 },
    /// A top-level string.
    String,
    /// A bare value (number or literal).
    Bare,
}

/// Decoding state of a [`JsonDocument`] framer.
///
/// The scan state (document kind, bracket depth, inside a string, after a
/// backslash, and how far the scan got) is kept across calls, so each byte
/// is examined once.
#[derive(Debug)]
pub struct JsonDocumentDecoder {
    max_frame_length: usize,
    doc: Doc,
    /// Bytes of the current document (at the front of the buffer) already
    /// scanned.
    pos: usize,
    depth: usize,
    in_string: bool,
    escape: bool,
    /// Following an oversized document to its end, dropping its bytes.
    discarding: bool,
    failed: Option<FramingError>,
    examined: u64,
}

impl JsonDocumentDecoder {
    /// Scan `src[self.pos..]`: `Some(end)` when the document ends there
    /// (`end` is one past its last byte), else `None` with everything
    /// scanned.
    fn scan(&mut self, src: &[u8]) -> Option<usize> {
        let from = self.pos;
        let found = match self.doc {
            Doc::Bare => src[from..]
                .iter()
                .position(|&b| !continues_bare_value(b))
                .map(|i| from + i),
            _ => self.scan_quoted(src),
        };
        // A bare value's terminator is not part of it: it is counted when
        // the next document starts.
        self.pos = found.unwrap_or(src.len());
        self.examined += (self.pos - from) as u64;
        found
    }

    /// The scan for containers and strings.
    fn scan_quoted(&mut self, src: &[u8]) -> Option<usize> {
        let mut i = self.pos;
        while i < src.len() {
            if self.in_string {
                if self.escape {
                    self.escape = false;
                    i += 1;
                    continue;
                }
                // Jump to the next byte that matters inside a string.
                match memchr::memchr2(b'"', b'\\', &src[i..]) {
                    None => return None,
                    Some(j) => i += j,
                }
                if src[i] == b'\\' {
                    self.escape = true;
                } else {
                    self.in_string = false;
                    if self.depth == 0 {
                        return Some(i + 1);
                    }
                }
            } else {
                let byte = src[i];
                match (self.doc, byte) {
                    (_, b'"') => self.in_string = true,
                    (Doc::Container { open, .. }, _) if byte == open => self.depth += 1,
                    (Doc::Container { close, .. }, _) if byte == close => {
                        self.depth -= 1;
                        if self.depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
            }
            i += 1;
        }
        None
    }

    fn reset(&mut self) {
        self.doc = Doc::Between;
        self.pos = 0;
        self.depth = 0;
        self.in_string = false;
        self.escape = false;
        self.discarding = false;
    }

    /// Skip whitespace and look at the first byte of the next document.
    fn start_document(&mut self, src: &mut BytesMut) -> Result<bool, FramingError> {
        let ws = src.iter().take_while(|&&b| is_whitespace(b)).count();
        self.examined += ws as u64;
        src.advance(ws);
        let Some(&first) = src.first() else {
            return Ok(false);
        };
        self.doc = match first {
            b'{' => Doc::Container {
                open: b'{',
                close: b'}',
            },
            b'[' => Doc::Container {
                open: b'[',
                close: b']',
            },
            b'"' => Doc::String,
            b if starts_bare_value(b) => Doc::Bare,
            byte => {
                self.examined += 1;
                return Err(FramingError::InvalidByte { byte, offset: 0 });
            }
        };
        // The scan starts at the first byte: it opens the bracket or string.
        self.pos = 0;
        self.depth = 0;
        self.in_string = false;
        self.escape = false;
        Ok(true)
    }
}

impl FrameDecoder for JsonDocumentDecoder {
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, DecodeFailure> {
        Ok(self.next_frame(src)?.map(Frame::into_bytes))
    }

    fn next_frame<'a>(
        &mut self,
        src: &'a mut BytesMut,
    ) -> Result<Option<Frame<'a>>, DecodeFailure> {
        let max = self.max_frame_length;
        loop {
            if let Some(error) = &self.failed {
                return Err(DecodeFailure::fatal(error.clone()));
            }
            if self.doc == Doc::Between {
                match self.start_document(src) {
                    Ok(true) => {}
                    Ok(false) => return Ok(None),
                    Err(error) => {
                        self.failed = Some(error.clone());
                        return Err(DecodeFailure::fatal(error));
                    }
                }
            }
            if self.discarding {
                match self.scan(src) {
                    Some(end) => {
                        src.advance(end);
                        self.reset();
                        continue;
                    }
                    None => {
                        src.advance(self.pos);
                        self.pos = 0;
                        return Ok(None);
                    }
                }
            }
            // Look at no more than max + 1 bytes: enough to tell the
            // document is too long (a bare value's terminator included).
            let window = src.len().min(max.saturating_add(1));
            return match self.scan(&src[..window]) {
                Some(end) if end > max => {
                    src.advance(end);
                    self.reset();
                    Err(DecodeFailure::recoverable(FramingError::FrameTooLong {
                        length: end as u64,
                        limit: max,
                    }))
                }
                Some(end) => {
                    self.reset();
                    Ok(Some(Frame::borrowed(src, 0, end, end)))
                }
                None if self.pos > max => {
                    let length = self.pos as u64;
                    src.advance(self.pos);
                    self.pos = 0;
                    self.discarding = true;
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

    /// At the end of the stream a bare value ends with it; the end of an
    /// oversized document being discarded is a clean end (its error was
    /// reported already).
    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, DecodeFailure> {
        if let Some(frame) = self.decode(src)? {
            return Ok(Some(frame));
        }
        if self.discarding {
            src.clear();
            self.reset();
            return Ok(None);
        }
        if src.is_empty() {
            return Ok(None);
        }
        if self.doc == Doc::Bare && self.pos == src.len() {
            let frame = src.split().freeze();
            self.reset();
            return Ok(Some(frame));
        }
        Err(DecodeFailure::fatal(FramingError::UnexpectedEof {
            pending: src.len(),
        }))
    }

    fn bytes_examined(&self) -> u64 {
        self.examined
    }
}

#[cfg(test)]
mod tests;
