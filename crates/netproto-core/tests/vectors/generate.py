#!/usr/bin/env python3
"""Produce the EasyNetwork wire-compatibility vectors for netproto's tests.

Run with EasyNetwork 1.2 installed (the tests themselves never need Python):

    python3 -m venv /tmp/en
    /tmp/en/bin/pip install "easynetwork[cbor,msgpack]==1.2.0" cryptography
    /tmp/en/bin/python crates/netproto-core/tests/vectors/generate.py

Every file written here is JSON: a list of vectors, each with the value
EasyNetwork was given, what it decodes back to, and the exact bytes
(hex) it put on the wire. Dict keys are given in sorted order where netproto
compares bytes through a dynamic (sorted-map) value.

The Fernet vectors also need `cryptography` (`pip install cryptography`):
EasyNetwork 1.2 has no `EncryptorSerializer` (its pre-1.0 versions had
one: `Fernet(key).encrypt(inner.serialize(packet))` followed by
`\r\n`, `decrypt(token, ttl=token_ttl)` on receipt), so they are written
here the way it wrote them.
"""

from __future__ import annotations

import ctypes
import json
import pathlib
import struct

import easynetwork
import easynetwork.exceptions
from easynetwork.serializers import (
    CBORSerializer,
    JSONSerializer,
    MessagePackSerializer,
    StringLineSerializer,
    StructSerializer,
)
from easynetwork.serializers.composite import StapledPacketSerializer
from easynetwork.serializers.json import JSONEncoderConfig
from easynetwork.serializers.wrapper import (
    Base64EncoderSerializer,
    BZ2CompressorSerializer,
    ZlibCompressorSerializer,
)

HERE = pathlib.Path(__file__).resolve().parent


def stream(serializer, packets) -> str:
    """The bytes a stream endpoint sends for `packets`, one after another."""
    return b"".join(b"".join(serializer.incremental_serialize(p)) for p in packets).hex()


def write(name: str, vectors) -> None:
    path = HERE / name
    path.write_text(json.dumps(vectors, indent=1, ensure_ascii=True) + "\n")
    print(f"wrote {path.name}: {len(vectors)} vectors")


# Values representable in JSON, with dict keys sorted.
JSON_VALUES = {
    "object_non_ascii": {"a": 1, "b": "\u00e9"},
    "nested": {"list": [1, 2.5, None, True, False], "obj": {"k": "v"}, "s": ""},
    "escapes": {"ctl": "tab\tnl\ncr\r\x01\x1f\x7f", "quote": "\"\\/"},
    "astral_and_bmp": ["\U0001f600", "\u20ac", "\u4e2d\u6587", "\ufeff"],
    "integers": [0, -1, 9007199254740993, -9223372036854775808, 18446744073709551615],
    "floats": [0.0, -0.0, 1.0, 0.1, 123.456, 1e-05, 0.0001, 1.5e-07, 1e16, 1.5e16,
               9999999999999998.0, 1.7976931348623157e308, 5e-324, -2.5],
    "string_top_level": "plain \u00e9",
    "number_top_level": 42,
    "float_top_level": 2.5,
    "true_top_level": True,
    "null_top_level": None,
    "empty_object": {},
    "empty_array": [],
}


def json_vectors():
    lines = JSONSerializer()
    documents = JSONSerializer(use_lines=False)
    utf8 = JSONSerializer(encoder_config=JSONEncoderConfig(ensure_ascii=False))
    out = []
    for name, value in JSON_VALUES.items():
        out.append({
            "name": name,
            "value": value,
            "lines_hex": stream(lines, [value]),
            "documents_hex": stream(documents, [value]),
            "utf8_lines_hex": stream(utf8, [value]),
        })
    # Field order that is not alphabetical: compared through a typed struct.
    typed = {"zeta": 1, "alpha": "x", "mid": [1.5, -3]}
    out.append({
        "name": "typed_field_order",
        "value": typed,
        "lines_hex": stream(lines, [typed]),
        "documents_hex": stream(documents, [typed]),
        "utf8_lines_hex": stream(utf8, [typed]),
    })
    return out


# What Python's json writes and serde_json cannot read as sent: netproto
# refuses these packets (the values are kept as text: not all are JSON).
JSON_REFUSED = {
    "integer_beyond_64_bits": ({"big": 2 ** 70}, "integer 1180591620717411303424"),
    "negative_beyond_64_bits": ([-(2 ** 63) - 1], "integer -9223372036854775809"),
    "huge_integer": (10 ** 60, "... (61 characters)"),
    "nan": ([1.0, float("nan")], "NaN"),
    "infinity": ({"x": float("inf")}, "Infinity"),
    "negative_infinity": (float("-inf"), "-Infinity"),
}


def json_refused_vectors():
    lines, documents = JSONSerializer(), JSONSerializer(use_lines=False)
    return [{"name": name, "python": repr(value), "reason_contains": reason,
             "lines_hex": stream(lines, [value]), "documents_hex": stream(documents, [value])}
            for name, (value, reason) in JSON_REFUSED.items()]


def string_line_vectors():
    out = []
    packets = ["hello", "two words", " spaced ", "tab\there", "x" * 300]
    for newline in ("LF", "CR", "CRLF"):
        s = StringLineSerializer(newline)
        out.append({"name": f"ascii_{newline}", "newline": newline, "packets": packets,
                    "wire_hex": stream(s, packets)})
    utf8 = StringLineSerializer("CRLF", encoding="utf-8")
    unicode_packets = ["caf\u00e9", "\u4e2d\u6587", "\U0001f600 ok"]
    out.append({"name": "utf8_CRLF", "newline": "CRLF", "packets": unicode_packets,
                "wire_hex": stream(utf8, unicode_packets)})
    # EasyNetwork sends nothing for an empty string (netproto sends a bare
    # delimiter); and it does not add a second separator to a line that
    # already ends with one (netproto refuses a line containing it).
    out.append({"name": "quirk_empty_packet", "newline": "LF", "packets": ["a", "", "b"],
                "wire_hex": stream(StringLineSerializer("LF"), ["a", "", "b"])})
    out.append({"name": "quirk_trailing_separator", "newline": "LF", "packets": ["a\n"],
                "wire_hex": stream(StringLineSerializer("LF"), ["a\n"])})
    # Received empty lines are empty packets (only sending skips them).
    got = StringLineSerializer("LF").deserialize(b"")
    out.append({"name": "received_empty_line", "newline": "LF", "packets": ["a", got, "b"],
                "wire_hex": b"a\n\nb\n".hex(), "receive_only": True})
    latin1 = StringLineSerializer("CRLF", encoding="latin-1")
    latin1_packets = ["caf\u00e9", "\u00ff\u00fe\u00a0\u0080", "plain", "\x00\x7f"]
    out.append({"name": "latin1_CRLF", "newline": "CRLF", "encoding": "latin-1",
                "packets": latin1_packets, "wire_hex": stream(latin1, latin1_packets)})
    return out


def text_refused_vectors():
    """What EasyNetwork's strict ASCII and Latin-1 refuse, sending or receiving."""
    out = []
    for encoding, sent, received in (
        ("ascii", ["caf\u00e9", "\u0080", "\U0001f600"], [b"caf\xc3\xa9", b"\x80", b"ok\xff"]),
        ("latin-1", ["\u0100", "\u20ac", "\U0001f600"], []),
    ):
        s = StringLineSerializer("LF", encoding=encoding)
        for packet in sent:
            try:
                s.serialize(packet)
            except UnicodeEncodeError as exc:
                out.append({"encoding": encoding, "send": packet, "python_error": str(exc)})
            else:
                raise AssertionError((encoding, packet))
        for frame in received:
            try:
                s.deserialize(frame)
            except easynetwork.exceptions.DeserializeError as exc:
                out.append({"encoding": encoding, "receive_hex": frame.hex(), "python_error": str(exc)})
            else:
                raise AssertionError((encoding, frame))
    return out


def stapled_vectors():
    """StapledPacketSerializer: JSON lines out, ASCII string lines in (and the reverse)."""
    out = []
    json_out = StapledPacketSerializer(JSONSerializer(), StringLineSerializer("LF"))
    sent = [{"cmd": "ping", "n": 1}, [1, "two"], "text"]
    received_wire = b"pong 1\nok\n"
    got = []
    consumer = json_out.incremental_deserialize()
    next(consumer)
    chunk = received_wire
    while chunk:
        try:
            consumer.send(chunk)
            chunk = b""
        except StopIteration as done:
            packet, chunk = done.value
            got.append(packet)
            consumer = json_out.incremental_deserialize()
            next(consumer)
    out.append({"name": "json_out_lines_in", "sent": sent, "sent_wire_hex": stream(json_out, sent),
                "received_wire_hex": received_wire.hex(), "received": got})
    lines_out = StapledPacketSerializer(StringLineSerializer("LF"), JSONSerializer())
    sent = ["hello", "world"]
    received_wire = b'{"a":1}\n[true,null]\n'
    out.append({"name": "lines_out_json_in", "sent": sent, "sent_wire_hex": stream(lines_out, sent),
                "received_wire_hex": received_wire.hex(),
                "received": [lines_out.deserialize(line) for line in received_wire.split(b"\n")[:-1]]})
    return out


def encode_struct_value(v):
    if isinstance(v, bytes):
        return {"bytes": v.hex()}
    if isinstance(v, float) and v != v:
        return {"float": "nan"}
    if isinstance(v, float) and v in (float("inf"), float("-inf")):
        return {"float": "inf" if v > 0 else "-inf"}
    return v


STRUCT_CASES = [
    ("telemetry_big", ">d3q", (1.5, 1, -2, 3)),
    ("telemetry_little", "<d3q", (1.5, 1, -2, 3)),
    ("default_is_network_order", "qq", (10, -20)),
    ("all_integers_network", "!bBhHiIqQ", (-128, 255, -32768, 65535, -2**31, 2**32 - 1, -2**63, 2**64 - 1)),
    ("all_integers_little", "<bBhHiIlLqQ", (-1, 1, -2, 2, -3, 3, -4, 4, -5, 5)),
    ("standard_native_order", "=hId", (-7, 7, 0.25)),
    ("floats", ">efd", (0.1, 0.1, 0.1)),
    ("float_specials", "<eefdd", (65504.0, -0.0, float("inf"), float("-inf"), 5e-324)),
    ("half_subnormal_and_rounding", ">eee", (2.0 ** -24, 2.0 ** -25 * 1.5, 1.0009765625)),
    ("bool_and_char", ">?c?", (True, b"Z", False)),
    ("bytes_padded_and_truncated", ">5s3s", (b"ab", b"abcdef")),
    ("pascal_strings", ">5p1p", (b"abcdefgh", b"x")),
    ("pad_bytes_and_counts", ">b3xh2x", (1, -2)),
    ("whitespace_in_format", "> i h", (1, 2)),
]


def struct_vectors():
    out = []
    for name, fmt, values in STRUCT_CASES:
        s = StructSerializer(fmt)
        wire = s.serialize(values)
        back = s.deserialize(wire)
        out.append({
            "name": name,
            "format": fmt,
            "normalized_format": s.struct.format,
            "size": s.struct.size,
            "values_in": [encode_struct_value(v) for v in values],
            "values_out": [encode_struct_value(v) for v in back],
            "wire_hex": wire.hex(),
        })
    # Native mode ('@'): C sizes and alignment of the machine this ran on.
    fmt = "@bhbqlc"
    values = (1, -2, 3, -4, 5, b"!")
    s = StructSerializer(fmt)
    wire = s.serialize(values)
    out.append({
        "name": "native_alignment",
        "format": fmt,
        "normalized_format": s.struct.format,
        "size": s.struct.size,
        "values_in": [encode_struct_value(v) for v in values],
        "values_out": [encode_struct_value(v) for v in s.deserialize(wire)],
        "wire_hex": wire.hex(),
        "native": {"byteorder": struct.pack("=H", 1).hex(), "long": struct.calcsize("l"),
                   "pointer": struct.calcsize("P")},
    })
    return out


class Telemetry(ctypes.LittleEndianStructure):
    """lsst.ts.tcpip's read_into/write_from example structure."""

    _fields_ = [("a_double", ctypes.c_double), ("three_ints", ctypes.c_int64 * 3)]


class TelemetryBE(ctypes.BigEndianStructure):
    _fields_ = [("a_double", ctypes.c_double), ("three_ints", ctypes.c_int64 * 3)]


def ctypes_vectors():
    out = []
    for name, cls in (("telemetry_little", Telemetry), ("telemetry_big", TelemetryBE)):
        t = cls(a_double=-0.125, three_ints=(1, -2, 2**40))
        out.append({"name": name, "a_double": t.a_double, "three_ints": list(t.three_ints),
                    "wire_hex": bytes(t).hex()})
    return out


WRAPPED_VALUES = {
    "object": {"a": 1, "b": "\u00e9"},
    "needs_padding_1": "ab",
    "needs_padding_2": "abcd",
    "url_unsafe_chars": {"k": "\u00fb\u00ff~~~>>>???"},
    "longer": {"items": list(range(40)), "text": "compress me " * 8},
}


# The signing key of the HMAC checksum vectors (URL-safe base64 of 32 bytes).
HMAC_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="


def wrapper_vectors():
    assert len(__import__("base64").urlsafe_b64decode(HMAC_KEY)) == 32
    out = []
    for name, value in WRAPPED_VALUES.items():
        out.append({
            "name": name,
            "value": value,
            "json_hex": JSONSerializer().serialize(value).hex(),
            "base64_urlsafe_lines_hex": stream(Base64EncoderSerializer(JSONSerializer()), [value]),
            "base64_standard_lines_hex": stream(
                Base64EncoderSerializer(JSONSerializer(), alphabet="standard"), [value]),
            "zlib_hex": ZlibCompressorSerializer(JSONSerializer()).serialize(value).hex(),
            "zlib_level6_hex": ZlibCompressorSerializer(JSONSerializer(), compress_level=6).serialize(value).hex(),
            "base64_zlib_lines_hex": stream(
                Base64EncoderSerializer(ZlibCompressorSerializer(JSONSerializer())), [value]),
            "base64_sha256_lines_hex": stream(
                Base64EncoderSerializer(JSONSerializer(), checksum=True), [value]),
            "base64_hmac_lines_hex": stream(
                Base64EncoderSerializer(JSONSerializer(), checksum=HMAC_KEY), [value]),
            "base64_standard_hmac_lines_hex": stream(
                Base64EncoderSerializer(JSONSerializer(), alphabet="standard", checksum=HMAC_KEY.encode()),
                [value]),
            "hmac_key": HMAC_KEY,
            "bz2_hex": BZ2CompressorSerializer(JSONSerializer()).serialize(value).hex(),
            "bz2_level1_hex": BZ2CompressorSerializer(JSONSerializer(), compress_level=1).serialize(value).hex(),
            "base64_bz2_lines_hex": stream(
                Base64EncoderSerializer(BZ2CompressorSerializer(JSONSerializer())), [value]),
        })
    return out


BINARY_VALUES = {
    "small_ints": [0, 1, -1, 23, 24, -24, -25, 255, 256, 65535, 65536, -129],
    "big_ints": [4294967295, 4294967296, -4294967296, 9223372036854775807, -9223372036854775808,
                 18446744073709551615],
    "strings": ["", "a", "\u00e9", "x" * 31, "y" * 32, "z" * 255, "w" * 256],
    "map": {"a": 1, "b": [True, False, None], "c": {"d": "e"}},
    "floats": [0.0, 1.5, -2.25, 0.1, 1e300],
    "nested_empty": [[], {}, [[]]],
}


def binary_vectors():
    cbor, msgpack = CBORSerializer(), MessagePackSerializer()
    out = []
    for name, value in BINARY_VALUES.items():
        out.append({"name": name, "value": value,
                    "cbor_hex": cbor.serialize(value).hex(),
                    "msgpack_hex": msgpack.serialize(value).hex()})
    raw = {"bin": b"\x00\xff", "list": [b"", b"abc"]}
    out.append({"name": "bytes", "value": None,
                "bytes_value": {"bin": "00ff", "list": ["", "616263"]},
                "cbor_hex": cbor.serialize(raw).hex(),
                "msgpack_hex": msgpack.serialize(raw).hex()})
    return out


# Packets sent one after the other on one bare stream (dict keys sorted).
STREAM_CASES = {
    "mixed": [0, "a", [1, 2, [3]], {"k": "v", "n": None}, True, None, -129, "x" * 300,
              list(range(20)), {}],
    "integers": [18446744073709551615, -9223372036854775808, 255, 65536, -1, 24],
    "nested": [{"a": {"b": {"c": [1, {"d": []}]}}}, [[[[]]]], {"e": [{"f": "g"}] * 3}],
    "floats": [1.5, -0.0, 1e300, [0.1, 2.5]],
    "long_items": ["w" * 70, "z" * 1000, list(range(300)), {"k" + str(i): i for i in sorted(range(40), key=str)}],
}


def stream_vectors():
    """Bare streams: `StreamProtocol(serializer)` writes items back to back."""
    cbor, msgpack = CBORSerializer(), MessagePackSerializer()
    zlib = ZlibCompressorSerializer(JSONSerializer())
    bz2 = BZ2CompressorSerializer(JSONSerializer())
    out = []
    for name, packets in STREAM_CASES.items():
        vector = {"name": name, "packets": packets}
        for key, s in (("msgpack", msgpack), ("cbor", cbor), ("zlib_json", zlib), ("bz2_json", bz2)):
            vector[f"{key}_items_hex"] = [stream(s, [p]) for p in packets]
            vector[f"{key}_stream_hex"] = stream(s, packets)
            # EasyNetwork reads its own stream back, cut anywhere.
            wire = bytes.fromhex(vector[f"{key}_stream_hex"])
            got = []
            consumer = s.incremental_deserialize()
            next(consumer)
            for i in range(0, len(wire), 7):
                chunk = wire[i:i + 7]
                while chunk:
                    try:
                        consumer.send(chunk)
                        chunk = b""
                    except StopIteration as done:
                        packet, chunk = done.value
                        got.append(packet)
                        consumer = s.incremental_deserialize()
                        next(consumer)
            assert got == packets, (name, key)
        out.append(vector)
    return out


# The key of the Fernet vectors, and another one.
FERNET_KEY = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4="
OTHER_FERNET_KEY = "4Bd3_oC-UfnIDCbnsQpjHb2wtvV6vEhM3s1v7gPZFWM="
# When the tokens were made (November 2023): a ttl shorter than their
# age refuses them.
FERNET_TIME = 1_700_000_000


def fernet_vectors():
    from cryptography.fernet import Fernet

    fernet, other = Fernet(FERNET_KEY), Fernet(OTHER_FERNET_KEY)
    out = []
    for name, value in WRAPPED_VALUES.items():
        data = JSONSerializer().serialize(value)
        token = fernet.encrypt_at_time(data, FERNET_TIME)
        assert fernet.decrypt(token) == data
        out.append({"name": name, "value": value, "json_hex": data.hex(), "key": FERNET_KEY,
                    "timestamp": FERNET_TIME,
                    "token_lines_hex": (token + b"\r\n").hex(),
                    "other_key_token_lines_hex": (other.encrypt_at_time(data, FERNET_TIME) + b"\r\n").hex()})
    return out


if __name__ == "__main__":
    assert easynetwork.__version__.startswith("1.2"), easynetwork.__version__
    write("easynetwork_json.json", json_vectors())
    write("easynetwork_string_lines.json", string_line_vectors())
    write("easynetwork_struct.json", struct_vectors())
    write("ctypes_struct.json", ctypes_vectors())
    write("easynetwork_wrappers.json", wrapper_vectors())
    write("easynetwork_cbor_msgpack.json", binary_vectors())
    write("easynetwork_streams.json", stream_vectors())
    write("easynetwork_json_refused.json", json_refused_vectors())
    write("easynetwork_text_refused.json", text_refused_vectors())
    write("easynetwork_stapled.json", stapled_vectors())
    write("fernet_encryptor.json", fernet_vectors())
