//! JSON packets (serde_json), typed or dynamic.

use std::fmt;
use std::io;
use std::marker::PhantomData;

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::ser::Formatter;

use super::json_numbers::{NumberIssue, find_number_issue, may_hold_big_integer};
use super::{Serializer, parse_frame};
use crate::error::{BoxError, DeserializeError, EncodeError};
use crate::framing::{Delimiter, Frame, JsonDocument};
use crate::protocol::StreamProtocol;

/// Packets as compact JSON documents: send `S`, receive `R` (both
/// [`serde_json::Value`] by default, `R` defaults to `S`).
///
/// The output is compact (no spaces) and, by default, escapes every
/// non-ASCII character as `\uXXXX` and writes floats the way Python's
/// `repr` does (`1e+16`, `1.5e-07`), which is what EasyNetwork 1.2's
/// `JSONSerializer` sends: `{"a":1,"b":"\u00e9"}`. Turn the escaping off
/// with [`ensure_ascii(false)`](Json::ensure_ascii) to send UTF-8 as is.
/// Both forms are valid JSON and every peer reads either.
///
/// A frame that is not valid JSON for `R` is a per-packet
/// [`DeserializeError`]. Received numbers are never changed in silence: an
/// integer beyond 64 bits (Python has them), which serde_json could only
/// read as a rounded float, makes the packet a `DeserializeError` that
/// names it (see [`refuse_big_integers`](Json::refuse_big_integers)), and
/// so do Python's `NaN`, `Infinity` and `-Infinity`, which are not JSON.
/// On send, serde_json writes a NaN or infinite `f64` as `null`. JSON itself never contains a raw newline, so
/// JSON lines over a [`Delimiter`] framer ([`json_lines`]) is the usual
/// pairing; the JSON-document framer (no separator) works as well.
///
/// ```
/// use bytes::BytesMut;
/// use netproto_core::serializer::{Json, Serializer};
/// use serde_json::{Value, json};
///
/// let json = Json::<Value>::new();
/// let mut wire = BytesMut::new();
/// json.serialize(&json!({"a": 1, "b": "é"}), &mut wire).unwrap();
/// assert_eq!(&wire[..], br#"{"a":1,"b":"\u00e9"}"#);
/// assert_eq!(json.deserialize(wire.freeze()).unwrap()["b"], "é");
/// ```
///
/// Typed packets, one type each way:
///
/// ```
/// use bytes::BytesMut;
/// use netproto_core::serializer::{Json, Serializer};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize)]
/// struct Request { op: &'static str, n: u32 }
/// #[derive(Deserialize, Debug, PartialEq)]
/// struct Response { ok: bool }
///
/// let client = Json::<Request, Response>::new();
/// let mut wire = BytesMut::new();
/// client.serialize(&Request { op: "add", n: 2 }, &mut wire).unwrap();
/// assert_eq!(&wire[..], br#"{"op":"add","n":2}"#);
/// let reply = client.deserialize(r#"{"ok":true}"#.into()).unwrap();
/// assert_eq!(reply, Response { ok: true });
/// ```
pub struct Json<S: ?Sized = serde_json::Value, R = S> {
    ensure_ascii: bool,
    refuse_big_integers: bool,
    _types: PhantomData<fn(&S) -> R>,
}

/// Dynamic JSON packets: [`serde_json::Value`] both ways.
pub type JsonValue = Json<serde_json::Value, serde_json::Value>;

impl<S: ?Sized, R> Json<S, R> {
    /// Compact JSON with non-ASCII characters escaped (EasyNetwork's default).
    pub const fn new() -> Self {
        Json {
            ensure_ascii: true,
            refuse_big_integers: true,
            _types: PhantomData,
        }
    }

    /// Escape non-ASCII characters (and DEL) as `\uXXXX` (default `true`,
    /// like Python's `json.dumps`), or write them as UTF-8.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use netproto_core::serializer::{Json, Serializer};
    ///
    /// let mut wire = BytesMut::new();
    /// Json::<str, serde_json::Value>::new().ensure_ascii(false).serialize("é", &mut wire).unwrap();
    /// assert_eq!(&wire[..], "\"é\"".as_bytes());
    /// ```
    pub const fn ensure_ascii(mut self, yes: bool) -> Self {
        self.ensure_ascii = yes;
        self
    }

    /// Refuse a received packet holding an integer beyond 64 bits (default
    /// `true`), rather than let serde_json read it as a rounded float.
    ///
    /// A dynamic [`serde_json::Value`] (or a `Value` field, an untagged or
    /// flattened enum) would otherwise hold `1180591620717411303424` as
    /// `1.1805916207174113e21` and send it back so. Turn it off for typed
    /// packets that read such integers exactly (`u128`/`i128` fields, which
    /// serde_json parses digit by digit) or mean to round them (`f64`
    /// fields). The check costs one pass over the frame's digits; the
    /// integer is looked for only when a run of 19 digits is seen.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use netproto_core::serializer::{Json, JsonValue, Serializer};
    ///
    /// let frame = Bytes::from_static(br#"{"big": 1180591620717411303424}"#);
    /// let err = JsonValue::new().deserialize(frame.clone()).unwrap_err();
    /// assert!(err.to_string().contains("integer 1180591620717411303424 at byte 8"));
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Big { big: u128 }
    /// let typed = Json::<(), Big>::new().refuse_big_integers(false);
    /// let big = typed.deserialize(frame).unwrap();
    /// assert_eq!(big.big, 1 << 70);
    /// ```
    pub const fn refuse_big_integers(mut self, yes: bool) -> Self {
        self.refuse_big_integers = yes;
        self
    }

    /// Whether non-ASCII characters are escaped.
    pub const fn escapes_non_ascii(&self) -> bool {
        self.ensure_ascii
    }

    /// This serializer over newline-delimited frames (JSON lines), the
    /// EasyNetwork default (`use_lines=True`).
    pub fn lines(self) -> StreamProtocol<Delimiter, Self>
    where
        Self: Serializer,
    {
        StreamProtocol::new(Delimiter::lf(), self)
    }

    /// This serializer over the [`JsonDocument`] framer: documents with no
    /// separator (EasyNetwork's `use_lines=False`).
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use netproto_core::protocol::Protocol;
    /// use netproto_core::serializer::JsonValue;
    /// use serde_json::json;
    ///
    /// let protocol = JsonValue::new().documents();
    /// let mut wire = BytesMut::new();
    /// protocol.encode(&json!({"a": [1]}), &mut wire).unwrap();
    /// assert_eq!(&wire[..], br#"{"a":[1]}"#);
    /// ```
    pub fn documents(self) -> StreamProtocol<JsonDocument, Self>
    where
        Self: Serializer,
    {
        StreamProtocol::new(JsonDocument::new(), self)
    }
}

/// JSON lines: `T` both ways, one compact document per `\n`-terminated
/// line, as EasyNetwork's `JSONSerializer()` sends them.
///
/// ```
/// use bytes::BytesMut;
/// use netproto_core::framing::FrameDecoder;
/// use netproto_core::protocol::Protocol;
/// use netproto_core::serializer::json_lines;
///
/// let protocol = json_lines::<Vec<u8>>();
/// let mut wire = BytesMut::new();
/// protocol.encode(&vec![1, 2], &mut wire).unwrap();
/// assert_eq!(&wire[..], b"[1,2]\n");
/// let frame = protocol.decoder().decode(&mut wire).unwrap().unwrap();
/// assert_eq!(protocol.decode(frame).unwrap(), [1, 2]);
/// ```
pub fn json_lines<T>() -> StreamProtocol<Delimiter, Json<T, T>>
where
    T: Serialize + DeserializeOwned + 'static,
{
    Json::new().lines()
}

marker_serializer_impls!(Json);

impl<S: ?Sized, R> fmt::Debug for Json<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Json")
            .field("ensure_ascii", &self.ensure_ascii)
            .field("refuse_big_integers", &self.refuse_big_integers)
            .finish()
    }
}

impl<S, R> Serializer for Json<S, R>
where
    S: Serialize + ?Sized + 'static,
    R: DeserializeOwned + 'static,
{
    type Sent = S;
    type Received = R;

    fn serialize(&self, packet: &S, dst: &mut BytesMut) -> Result<(), EncodeError> {
        let start = dst.len();
        let formatter = WireFormatter {
            ensure_ascii: self.ensure_ascii,
        };
        let mut ser = serde_json::Serializer::with_formatter((&mut *dst).writer(), formatter);
        packet.serialize(&mut ser).map_err(|err| {
            dst.truncate(start);
            EncodeError::serialize(err)
        })
    }

    fn deserialize(&self, frame: Bytes) -> Result<R, DeserializeError> {
        self.deserialize_frame(Frame::owned(frame))
    }

    fn deserialize_frame(&self, frame: Frame<'_>) -> Result<R, DeserializeError> {
        parse_frame(frame, |bytes| -> Result<R, BoxError> {
            match serde_json::from_slice(bytes) {
                Ok(value) => {
                    if self.refuse_big_integers && may_hold_big_integer(bytes) {
                        if let Some(issue) = find_number_issue(bytes) {
                            return Err(issue.into());
                        }
                    }
                    Ok(value)
                }
                // Say why when the text holds NaN or Infinity.
                Err(err) => Err(match find_number_issue(bytes) {
                    Some(issue @ NumberIssue::NonFinite { .. }) => issue.into(),
                    _ => err.into(),
                }),
            }
        })
    }
}

/// Compact output; optionally ASCII-only; floats as Python's `repr`.
#[derive(Clone, Copy)]
struct WireFormatter {
    ensure_ascii: bool,
}

impl Formatter for WireFormatter {
    fn write_string_fragment<W>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        if !self.ensure_ascii {
            return writer.write_all(fragment.as_bytes());
        }
        let bytes = fragment.as_bytes();
        let mut start = 0;
        for (i, ch) in fragment.char_indices() {
            if ch.is_ascii() && ch != '\x7f' {
                continue;
            }
            writer.write_all(&bytes[start..i])?;
            let mut units = [0u16; 2];
            for unit in ch.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            start = i + ch.len_utf8();
        }
        writer.write_all(&bytes[start..])
    }

    fn write_f64<W>(&mut self, writer: &mut W, value: f64) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        write_python_float(writer, format_args!("{value:e}"))
    }

    fn write_f32<W>(&mut self, writer: &mut W, value: f32) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        write_python_float(writer, format_args!("{value:e}"))
    }
}

/// A small stack buffer for one formatted float.
struct FloatBuf {
    buf: [u8; 64],
    len: usize,
}

impl fmt::Write for FloatBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Rewrite Rust's shortest round-trip `{:e}` form (`-1.5e-7`) the way
/// Python's `float.__repr__` writes it: positional notation for exponents
/// in `-4..16` (`123.456`, `0.0001`, `1.0`), otherwise `1.5e-07` / `1e+16`.
/// Called for finite values only (serde_json writes NaN and infinities as
/// `null` itself).
fn write_python_float<W>(writer: &mut W, scientific: fmt::Arguments<'_>) -> io::Result<()>
where
    W: ?Sized + io::Write,
{
    let mut buf = FloatBuf {
        buf: [0; 64],
        len: 0,
    };
    fmt::write(&mut buf, scientific).map_err(io::Error::other)?;
    let text = &buf.buf[..buf.len];
    let (negative, text) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let e = text.iter().position(|&b| b == b'e').unwrap_or(text.len());
    let (mantissa, exponent) = (&text[..e], text.get(e + 1..).unwrap_or(b"0"));
    let exponent: i32 = std::str::from_utf8(exponent)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut digits = [0u8; 40];
    let mut n = 0;
    for &b in mantissa
        .iter()
        .filter(|b| b.is_ascii_digit())
        .take(digits.len())
    {
        digits[n] = b;
        n += 1;
    }
    let digits = &digits[..n.max(1)];
    if negative {
        writer.write_all(b"-")?;
    }
    if (-4..16).contains(&exponent) {
        if exponent >= 0 {
            let int_len = exponent as usize + 1;
            if digits.len() > int_len {
                writer.write_all(&digits[..int_len])?;
                writer.write_all(b".")?;
                writer.write_all(&digits[int_len..])
            } else {
                writer.write_all(digits)?;
                for _ in digits.len()..int_len {
                    writer.write_all(b"0")?;
                }
                writer.write_all(b".0")
            }
        } else {
            writer.write_all(b"0.")?;
            for _ in 0..(-exponent - 1) {
                writer.write_all(b"0")?;
            }
            writer.write_all(digits)
        }
    } else {
        writer.write_all(&digits[..1])?;
        if digits.len() > 1 {
            writer.write_all(b".")?;
            writer.write_all(&digits[1..])?;
        }
        let sign = if exponent < 0 { '-' } else { '+' };
        write!(writer, "e{sign}{:02}", exponent.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn encode<T: Serialize + ?Sized + 'static>(value: &T) -> String {
        let mut dst = BytesMut::new();
        Json::<T, Value>::new().serialize(value, &mut dst).unwrap();
        String::from_utf8(dst.to_vec()).unwrap()
    }

    #[test]
    fn floats_are_written_like_python_repr() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (0.1, "0.1"),
            (123.456, "123.456"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (9999999999999998.0, "9999999999999998.0"),
            (1e22, "1e+22"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (-2.5, "-2.5"),
        ];
        for &(value, python) in cases {
            assert_eq!(encode(&value), python, "{value:?}");
            assert_eq!(serde_json::from_str::<f64>(python).unwrap(), value);
        }
        assert_eq!(encode(&0.5f32), "0.5");
        assert_eq!(encode(&f64::NAN), "null");
    }

    #[test]
    fn non_ascii_and_del_are_escaped_like_python() {
        assert_eq!(
            encode(&json!({"k": "é€😀\u{7f}\n\"\\/\u{1}"})),
            r#"{"k":"\u00e9\u20ac\ud83d\ude00\u007f\n\"\\/\u0001"}"#
        );
        let mut dst = BytesMut::new();
        Json::<str, serde_json::Value>::new()
            .ensure_ascii(false)
            .serialize("é\u{7f}", &mut dst)
            .unwrap();
        assert_eq!(&dst[..], "\"é\u{7f}\"".as_bytes());
    }

    #[test]
    fn bad_frames_are_per_packet_errors() {
        let json = JsonValue::new();
        let err = json
            .deserialize(Bytes::from_static(b"{\"a\":"))
            .unwrap_err();
        assert_eq!(err.frame, "{\"a\":");
        assert!(json.deserialize(Bytes::from_static(b"[1] x")).is_err());
        assert_eq!(
            json.deserialize(Bytes::from_static(b" [1]\r")).unwrap(),
            json!([1])
        );
    }

    #[test]
    fn numbers_are_refused_rather_than_changed() {
        let json = JsonValue::new();
        let err = json
            .deserialize(Bytes::from_static(br#"{"big": 1180591620717411303424}"#))
            .unwrap_err();
        assert_eq!(err.frame, r#"{"big": 1180591620717411303424}"#);
        assert!(err.to_string().contains("does not fit in 64 bits"), "{err}");
        for (text, name) in [
            ("[1, NaN]", "NaN at byte 4"),
            ("Infinity", "Infinity at byte 0"),
            (r#"{"x": -Infinity}"#, "-Infinity at byte 6"),
        ] {
            let err = json.deserialize(Bytes::from(text)).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
        // 64-bit integers, floats and digits in strings are fine.
        let ok = r#"[18446744073709551615, -9223372036854775808, 1e300, "99999999999999999999"]"#;
        assert_eq!(
            json.deserialize(Bytes::from(ok)).unwrap(),
            serde_json::from_str::<Value>(ok).unwrap()
        );
        // Turned off, the integer is read as serde_json reads it.
        let off = json.refuse_big_integers(false);
        let value = off
            .deserialize(Bytes::from_static(b"[18446744073709551616]"))
            .unwrap();
        assert_eq!(value, json!([18446744073709551616.0]));
    }

    #[test]
    fn refused_packet_leaves_buffer_untouched() {
        use std::collections::HashMap;
        let mut map = HashMap::new();
        map.insert(vec![1u8], 1);
        let mut dst = BytesMut::from(&b"kept"[..]);
        let err = Json::<HashMap<Vec<u8>, i32>, Value>::new()
            .serialize(&map, &mut dst)
            .unwrap_err();
        assert!(matches!(err, EncodeError::Serialize(_)));
        assert_eq!(&dst[..], b"kept");
    }
}
