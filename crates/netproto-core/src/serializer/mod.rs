//! Serializers: turning a frame into a packet value and back.
//!
//! A [`Serializer`] knows nothing about framing; it writes a packet's bytes
//! into the send buffer (inside the frame the framer is building) and turns
//! one received frame into one packet. A frame that does not deserialize is
//! an error for that packet only ([`DeserializeError`] carries the frame),
//! and the next packet is still delivered.
//!
//! # The catalogue
//!
//! | serializer | feature | sent | received | usual framer |
//! |---|---|---|---|---|
//! | [`BytesSerializer`] | — | `[u8]` | [`Bytes`] | any |
//! | [`Utf8`], [`Ascii`], [`Latin1`] | — | `str` | `String` | [`Delimiter`](crate::framing::Delimiter) (text lines) |
//! | `Json<S, R>` (`json_lines`) | `json` | `S: Serialize` | `R: DeserializeOwned` | `Delimiter::lf()`, or `JsonDocument` |
//! | `Cbor<S, R>` | `cbor` | `S` | `R` | `CborItem` (`.stream()`), or a length prefix |
//! | `MsgPack<S, R>` | `msgpack` | `S` | `R` | `MsgPackItem` (`.stream()`), or a length prefix |
//! | [`FixedStruct<T>`] + [`binary_struct!`](crate::binary_struct) | — | `T` | `T` | [`FixedSize`](crate::framing::FixedSize) |
//! | [`StructFormat`] (`">d3q"`) | — | `[StructValue]` | `Vec<StructValue>` | [`FixedSize`](crate::framing::FixedSize) |
//! | `Base64<S>` (wrapper; [`Checksum`] with `checksum`) | `base64` | `S::Sent` | `S::Received` | `Delimiter::crlf()` |
//! | [`Stapled<S, R>`] | — | `S::Sent` | `R::Received` | that of the two |
//! | `Zlib<S>`, `Gzip<S>` (wrappers) | `compression` | `S::Sent` | `S::Received` | `ZlibStream` / `GzipStream` (bare), a length prefix, or inside `Base64` |
//! | `Fernet<S>` (wrapper) | `fernet` | `S::Sent` | `S::Received` | `Delimiter::crlf()` |
//! | `Bz2<S>` (wrapper) | `bzip2` | `S::Sent` | `S::Received` | `Bz2Stream`, a length prefix, or inside `Base64` |
//!
//! `Json`, `Cbor` and `MsgPack` default to their dynamic value type
//! (`serde_json::Value`, `ciborium::Value`, `rmpv::Value`; aliases
//! `JsonValue`, `CborValue`, `MsgPackValue`), and `R` defaults to `S`.
//! Wrappers compose around any serializer, other wrappers included:
//! `Base64::new(Zlib::new(JsonValue::new())).lines()` is EasyNetwork's
//! `Base64EncoderSerializer(ZlibCompressorSerializer(JSONSerializer()))`.
//!
//! # Wire compatibility with EasyNetwork 1.2
//!
//! Checked by the test vectors in `tests/vectors/` (produced by EasyNetwork
//! 1.2.0 with `tests/vectors/generate.py`): netproto decodes every vector,
//! and, where the column says "yes" (same bytes), encodes the same values
//! to the same bytes; "decodes both ways" means each side reads what the
//! other writes, though the bytes may differ; a row without a netproto
//! counterpart says why it is not supported. Features in parentheses.
//!
//! | EasyNetwork 1.2 | netproto | same bytes | notes |
//! |---|---|---|---|
//! | `StringLineSerializer("LF" / "CR" / "CRLF")` | `Delimiter::{lf,cr,crlf}().skip_empty_frames(true)` + [`Ascii`] | yes | strict ASCII both ways (EasyNetwork's default `encoding="ascii"`); `skip_empty_frames(true)` sends nothing for `""` as EasyNetwork does (without it netproto sends an empty line); a received empty line is `""` on both sides. EasyNetwork passes a packet already ending in the separator, netproto refuses a packet containing it |
//! | `StringLineSerializer(encoding="utf-8")` / `"latin-1"` | the same with [`Utf8`] / [`Latin1`] | yes | other encodings and `unicode_errors` other than `"strict"`: not supported, because UTF-8, ASCII and Latin-1 cover the codecs line protocols use, and a lossy decoder would change received text in silence |
//! | `StringLineSerializer(keep_end=True)`, `limit=` | `Delimiter::keep_delimiter(true)`, `max_frame_length` | yes | the framer carries them |
//! | `JSONSerializer()` | `json_lines`, `Json::new().lines()` | yes | non-ASCII escaped as `\uXXXX` and floats written as Python's `repr` (`1e+16`); `ensure_ascii(false)` matches `ensure_ascii=False`. Not representable: `NaN`/`Infinity` (Python sends them; netproto refuses such a packet with a `DeserializeError` naming the value, and serde_json writes a NaN `f64` as `null`) and integers beyond 64 bits (refused the same way rather than read as rounded floats; `refuse_big_integers(false)` lets typed `u128` fields read them). `serde_json::Value` objects are written with sorted keys; typed structs keep field order |
//! | `JSONSerializer(use_lines=False)` | `Json::new().documents()` (`JsonDocument` framer) | yes | as for lines; a top-level number, `true`, `false` or `null` is followed by `\n` in both |
//! | `JSONSerializer(encoder_config=…, decoder_config=…)` | `Json` with serde attributes | — | `ensure_ascii` as above; `allow_nan=False` is netproto's only behaviour (NaN refused); `skipkeys`, `default` and the decoder hooks (`object_hook`, `parse_float`, …) are Python callables: not supported as options, because serde's `Serialize`/`Deserialize` impls and the converters (`map_sent`, `try_map_received`) do that job; `strict=False` (control characters inside strings) is not supported, because serde_json always refuses them |
//! | `JSONSerializer(encoding=…, limit=…)` | — / the framer's `max_frame_length` | — | JSON text is UTF-8 only: other encodings are not supported, because RFC 8259 requires UTF-8 between systems |
//! | `StructSerializer(fmt)` | [`StructFormat::new(fmt)`](StructFormat::new) | yes | network order when `fmt` has no byte-order character, as EasyNetwork; all codes, `@` native alignment included |
//! | `NamedTupleStructSerializer(cls, field_formats, format_endianness)` | [`StructFormat`] (fields in order) or [`binary_struct!`](crate::binary_struct) | yes | the packed bytes are `StructSerializer`'s; `s` fields arrive as bytes (`StructValue::Bytes`, trailing `\0` kept) where EasyNetwork decodes them as UTF-8 and strips trailing `\0`s: do it in a converter (`try_map_received`), since only the application knows which fields are text |
//! | `ctypes.Structure` (lsst.ts.tcpip `read_into`/`write_from`) | [`binary_struct!`](crate::binary_struct) + [`FixedStruct`] | yes | packed layout: add `[u8; N]` fields where C inserts padding |
//! | `MessagePackSerializer()` | `MsgPack::new().stream()` (`MsgPackItem` framer) | yes | items back to back on the bare stream, each one's end read from its headers, as EasyNetwork's reader does; also inside any framer (`Base64` lines, a length prefix) |
//! | `CBORSerializer()` | `Cbor::new().stream()` (`CborItem` framer) | except floats | cbor2 always writes 64-bit floats, ciborium the shortest exact width (both read either); bare stream as for MessagePack |
//! | `Base64EncoderSerializer(s)` | `Base64::new(s).lines()` | yes | URL-safe alphabet and `\r\n` by default, `=` padding; `Base64::standard` = `alphabet="standard"`. Received text must be in the alphabet (Python's decoder drops stray characters) |
//! | `Base64EncoderSerializer(s, checksum=True)` | `.checksum(Checksum::Sha256)` (`checksum`) | yes | SHA-256 digest appended before encoding; a mismatch is a per-packet error |
//! | `Base64EncoderSerializer(s, checksum=key)` | `.checksum(Checksum::HmacSha256(HmacKey::from_base64(key)?))` (`checksum`) | yes | HMAC-SHA256, compared in constant time; the key is 32 bytes in URL-safe base64 as EasyNetwork's `generate_key()` writes it |
//! | `Base64EncoderSerializer(separator=…, limit=…)` | `StreamProtocol::new(Delimiter::new(sep).max_frame_length(limit), Base64::new(s))` | yes | the framer carries them |
//! | `ZlibCompressorSerializer(s)` (`compress_level=`) | `Zlib::new(s)` (`.level(n)`) | decodes both ways | level 9 as EasyNetwork; the streams decode both ways, but miniz_oxide and C zlib may choose different deflate blocks (4 of the 5 vectors come out identical); bare on a socket, as EasyNetwork sends them (streams back to back, each ending with its end-of-stream marker), frame them with `ZlibStream`: `Zlib::new(s).protocol(ZlibStream::new())`; inside `Base64` lines it is compatible too |
//! | `StapledPacketSerializer(sent, received)` | [`Stapled::new(sent, received)`](Stapled::new) | yes | over the framer both sides use (EasyNetwork takes the sent serializer's writer and the received one's reader) |
//! | `BZ2CompressorSerializer(s)` (`compress_level=`) | `Bz2::new(s)` (`.level(n)`) (`bzip2`) | yes | level 9 by default as EasyNetwork; bare on a socket, frame them with `Bz2Stream`: `Bz2::new(s).protocol(Bz2Stream::new())`; the pure-Rust libbz2-rs-sys writes the bytes C bzip2 does (all vectors identical); `Bz2Stream` refuses, as a fatal framing error, a stream that decompresses past its `max_decompressed_length` (8 MiB) while its end is sought, where EasyNetwork decompresses without limit |
//! | `EncryptorSerializer(s, key, token_ttl=…)` (EasyNetwork before 1.0; gone from 1.2) | `Fernet::new(s, FernetKey::from_base64(key)?).ttl(…).lines()` (`fernet`) | decodes both ways | Fernet tokens are random (a fresh IV each): netproto decodes Python's tokens, and its own have the layout Python's `cryptography` reads (checked field by field, and decoded back); expired, future-dated (over 60 s), foreign-key and altered tokens are per-packet errors |
//! | `*(debug=True)` | — | — | not supported, because a [`DeserializeError`] always carries the received frame and its cause |
//! | `PickleSerializer` | — | — | not supported, because unpickling what a peer sends runs the code it names |
//! | — | `Gzip`, `GzipStream` | — | no EasyNetwork counterpart (gzip members, bare on a stream with `GzipStream` as zlib's with `ZlibStream`) |
//!
//! # Converters: wire types and application types
//!
//! A serializer handles what travels on the wire; converters on the
//! [`Protocol`](crate::protocol::Protocol) turn that into the types the
//! program works with ([`map_sent`](crate::protocol::Protocol::map_sent),
//! [`try_map_received`](crate::protocol::Protocol::try_map_received), ...).
//! A failed conversion of a received packet is a per-packet error, like a
//! frame that does not deserialize.
//!
#![cfg_attr(
    not(feature = "json"),
    doc = "(This example needs the `json` feature.)"
)]
//!
//! ```
//! # #[cfg(feature = "json")] {
//! use bytes::BytesMut;
//! use netproto_core::framing::FrameDecoder;
//! use netproto_core::protocol::Protocol;
//! use netproto_core::serializer::Json;
//! use serde::{Deserialize, Serialize};
//!
//! /// What travels on the wire: `{"cmd":"move","dx":0,"dy":-1}`.
//! #[derive(Serialize, Deserialize)]
//! #[serde(tag = "cmd", rename_all = "snake_case")]
//! enum Request {
//!     Move { dx: i32, dy: i32 },
//!     Say { text: String },
//! }
//!
//! /// What the program works with.
//! #[derive(Debug, PartialEq)]
//! enum Command {
//!     Step(Direction),
//!     Say(String),
//! }
//!
//! #[derive(Debug, PartialEq, Clone, Copy)]
//! enum Direction { North, South, East, West }
//!
//! fn to_wire(command: &Command) -> Request {
//!     match command {
//!         Command::Say(text) => Request::Say { text: text.clone() },
//!         Command::Step(direction) => {
//!             let (dx, dy) = match direction {
//!                 Direction::North => (0, -1),
//!                 Direction::South => (0, 1),
//!                 Direction::East => (1, 0),
//!                 Direction::West => (-1, 0),
//!             };
//!             Request::Move { dx, dy }
//!         }
//!     }
//! }
//!
//! fn from_wire(request: Request) -> Result<Command, String> {
//!     Ok(match request {
//!         Request::Say { text } => Command::Say(text),
//!         Request::Move { dx: 0, dy: -1 } => Command::Step(Direction::North),
//!         Request::Move { dx: 0, dy: 1 } => Command::Step(Direction::South),
//!         Request::Move { dx: 1, dy: 0 } => Command::Step(Direction::East),
//!         Request::Move { dx: -1, dy: 0 } => Command::Step(Direction::West),
//!         Request::Move { dx, dy } => return Err(format!("not a single step: ({dx}, {dy})")),
//!     })
//! }
//!
//! let protocol = Json::<Request>::new()
//!     .lines()
//!     .map_sent(to_wire)
//!     .try_map_received(from_wire);
//!
//! let mut wire = BytesMut::new();
//! protocol.encode(&Command::Step(Direction::North), &mut wire).unwrap();
//! assert_eq!(&wire[..], b"{\"cmd\":\"move\",\"dx\":0,\"dy\":-1}\n");
//!
//! wire.extend_from_slice(b"{\"cmd\":\"move\",\"dx\":5,\"dy\":5}\n");
//! let mut decoder = protocol.decoder();
//! let frame = decoder.decode(&mut wire).unwrap().unwrap();
//! assert_eq!(protocol.decode(frame).unwrap(), Command::Step(Direction::North));
//! let frame = decoder.decode(&mut wire).unwrap().unwrap();
//! let err = protocol.decode(frame).unwrap_err(); // this packet only
//! assert!(err.to_string().contains("not a single step"));
//! # }
//! ```

use bytes::{Bytes, BytesMut};

use crate::error::{BoxError, DeserializeError, EncodeError};
use crate::framing::Frame;

/// `Clone`, `Copy` and `Default` for a serializer that is a type marker
/// `Name<S: ?Sized, R>` with a `const fn new()` (derives would demand
/// `S: Sized + Clone`).
#[cfg(any(feature = "json", feature = "cbor", feature = "msgpack"))]
macro_rules! marker_serializer_impls {
    ($name:ident) => {
        impl<S: ?Sized, R> Clone for $name<S, R> {
            fn clone(&self) -> Self {
                *self
            }
        }

        impl<S: ?Sized, R> Copy for $name<S, R> {}

        impl<S: ?Sized, R> Default for $name<S, R> {
            fn default() -> Self {
                $name::new()
            }
        }
    };
}

#[cfg(feature = "base64")]
mod base64;
mod binary_struct;
mod bytes_serializer;
#[cfg(feature = "cbor")]
mod cbor;
#[cfg(any(feature = "compression", feature = "bzip2"))]
mod compression;
#[cfg(feature = "fernet")]
mod fernet;
#[cfg(feature = "json")]
mod json;
#[cfg(feature = "json")]
mod json_numbers;
#[cfg(feature = "msgpack")]
mod msgpack;
mod stapled;
mod struct_format;
mod struct_value;
mod text;
mod utf8;

#[cfg(feature = "base64")]
pub use self::base64::{Alphabet, Base64};
#[cfg(feature = "checksum")]
pub use self::base64::{Checksum, ChecksumError, HmacKey, InvalidHmacKey};
#[doc(hidden)]
pub use binary_struct::__bytes;
pub use binary_struct::{BinaryStruct, BinaryStructError, ByteOrder, FixedStruct, check_size};
pub use bytes_serializer::BytesSerializer;
#[cfg(feature = "cbor")]
pub use cbor::{Cbor, CborValue};
#[cfg(feature = "bzip2")]
pub use compression::Bz2;
#[cfg(any(feature = "compression", feature = "bzip2"))]
pub use compression::{DEFAULT_MAX_DECOMPRESSED_LENGTH, DecompressedTooLong};
#[cfg(feature = "compression")]
pub use compression::{Gzip, Zlib};
#[cfg(feature = "fernet")]
pub use fernet::{Fernet, FernetError, FernetKey, InvalidFernetKey};
#[cfg(feature = "json")]
pub use json::{Json, JsonValue, json_lines};
#[cfg(feature = "msgpack")]
pub use msgpack::{MsgPack, MsgPackValue};
pub use stapled::Stapled;
pub use struct_format::{StructFormat, StructFormatError};
pub use struct_value::StructValue;
pub use text::{Ascii, Latin1};
pub use utf8::Utf8;

/// Turns packets into frame payloads and frames into packets.
///
/// Serializers are configuration: shared between the send and receive
/// halves of a connection and between connections, so both methods take
/// `&self`.
pub trait Serializer: Clone + Send + Sync + 'static {
    /// The type given to `send_packet` (may be unsized, like `str`).
    type Sent: ?Sized;
    /// The type `recv_packet` returns.
    type Received;

    /// Append the payload for `packet` to `dst`.
    fn serialize(&self, packet: &Self::Sent, dst: &mut BytesMut) -> Result<(), EncodeError>;

    /// Turn one received frame into a packet.
    fn deserialize(&self, frame: Bytes) -> Result<Self::Received, DeserializeError>;

    /// Turn one received frame, lent in place by the receive buffer, into a
    /// packet. Serializers that parse the frame's bytes (text, JSON, CBOR,
    /// structs) override it to read the frame where it lies; the default
    /// takes the frame out of the buffer ([`Frame::into_bytes`], no copy)
    /// and calls [`deserialize`](Serializer::deserialize).
    fn deserialize_frame(&self, frame: Frame<'_>) -> Result<Self::Received, DeserializeError> {
        self.deserialize(frame.into_bytes())
    }
}

/// Parse `frame` in place; on failure the error carries the frame (taken
/// out of the buffer without copying).
#[inline]
pub(crate) fn parse_frame<T, E: Into<BoxError>>(
    frame: Frame<'_>,
    parse: impl FnOnce(&[u8]) -> Result<T, E>,
) -> Result<T, DeserializeError> {
    match parse(&frame) {
        Ok(value) => Ok(value),
        Err(err) => Err(DeserializeError::new(frame.into_bytes(), err)),
    }
}

/// A frame held more than one item: `.0` bytes were left after the first.
#[cfg(any(feature = "cbor", feature = "msgpack"))]
#[derive(Debug)]
pub(crate) struct TrailingBytes(pub(crate) usize);

#[cfg(any(feature = "cbor", feature = "msgpack"))]
impl std::fmt::Display for TrailingBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plural = if self.0 == 1 { "" } else { "s" };
        write!(f, "{} byte{plural} left after the item", self.0)
    }
}

#[cfg(any(feature = "cbor", feature = "msgpack"))]
impl std::error::Error for TrailingBytes {}
