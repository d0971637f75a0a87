//! The endpoint state machine: an arbitrary sequence of reads, abandoned
//! reads, EOFs, socket failures (`fail_io`), `next_packet` calls, sends,
//! socket writes, `send_eof` and stray commits, on endpoints speaking seven
//! protocols. No panic; the calling contract's promises hold (a read
//! abandoned loses nothing, a fatal error sticks, "need more" never holds more than the limit plus a
//! header, a driver that drains before reading never buffers more than the
//! limit plus one read, a refused packet queues nothing); and a peer fed
//! what the send half wrote receives exactly the packets queued.
//!
//! Input: protocol choice, limit byte, max_recv_size, send buffer limit,
//! then operations.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use netproto_core::framing::{Delimiter, JsonDocument, LengthPrefix, Raw};
use netproto_core::protocol::{Protocol, StreamProtocol};
use netproto_core::serializer::{
    Base64, BytesSerializer, CborValue, JsonValue, MsgPackValue, Serializer, StructFormat, Utf8,
};
use netproto_fuzz::Input;
use netproto_fuzz::endpoint::{Case, run};

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let choice = input.byte();
    // Small limits are reached quickly; 0 means the framer's default.
    let max = match input.byte() {
        0 => None,
        n => Some(usize::from(n)),
    };
    match choice % 7 {
        0 => {
            let (framer, dlen) = if choice & 0x80 != 0 {
                (Delimiter::crlf(), 2)
            } else {
                (Delimiter::lf(), 1)
            };
            let max = max.unwrap_or(Delimiter::DEFAULT_MAX_FRAME_LENGTH);
            let protocol = StreamProtocol::new(framer.max_frame_length(max), Utf8);
            let case = Case {
                protocol,
                retained: max + dlen - 1,
                framed: true,
            };
            run(&case, &mut input, |data, send| {
                send(&String::from_utf8_lossy(data))
            });
        }
        1 => {
            let (framer, head) = if choice & 0x80 != 0 {
                (LengthPrefix::varint(), 10)
            } else {
                (LengthPrefix::u16_be(), 2)
            };
            let framer =
                framer.max_frame_length(max.unwrap_or(LengthPrefix::DEFAULT_MAX_FRAME_LENGTH));
            let retained = head + netproto_core::framing::Framer::max_frame_length(&framer);
            let protocol = StreamProtocol::new(framer, BytesSerializer);
            let case = Case {
                protocol,
                retained,
                framed: true,
            };
            run(&case, &mut input, |data, send| send(data));
        }
        2 => {
            let max = max.unwrap_or(JsonDocument::DEFAULT_MAX_FRAME_LENGTH);
            let protocol =
                StreamProtocol::new(JsonDocument::new().max_frame_length(max), JsonValue::new());
            let case = Case {
                protocol,
                retained: max,
                framed: true,
            };
            run(&case, &mut input, |data, send| {
                if let Ok(value) = JsonValue::new().deserialize(Bytes::copy_from_slice(data)) {
                    send(&value);
                }
            });
        }
        3 => {
            let protocol = StructFormat::new("<hB?xq3s").unwrap().protocol();
            let size = protocol.framer().size();
            let case = Case {
                protocol: protocol.clone(),
                retained: size - 1,
                framed: true,
            };
            run(&case, &mut input, |data, send| {
                let frame: Bytes = data.iter().copied().cycle().take(size).collect();
                if let Ok(values) = protocol.decode(frame) {
                    send(&values);
                }
            });
        }
        4 => {
            let framer = Raw::new().max_frame_length(max.unwrap_or(64 * 1024));
            let protocol = StreamProtocol::new(framer, BytesSerializer);
            let case = Case {
                protocol,
                retained: 0,
                framed: false,
            };
            run(&case, &mut input, |data, send| send(data));
        }
        5 => {
            let max = max.unwrap_or(Delimiter::DEFAULT_MAX_FRAME_LENGTH);
            let framer = Delimiter::crlf().max_frame_length(max);
            let protocol = StreamProtocol::new(framer, Base64::new(MsgPackValue::new()));
            let case = Case {
                protocol,
                retained: max + 1,
                framed: true,
            };
            run(&case, &mut input, |data, send| {
                if let Ok(value) = MsgPackValue::new().deserialize(Bytes::copy_from_slice(data)) {
                    send(&value);
                }
            });
        }
        _ => {
            let framer = LengthPrefix::u32_le()
                .max_frame_length(max.unwrap_or(LengthPrefix::DEFAULT_MAX_FRAME_LENGTH));
            let retained = 4 + netproto_core::framing::Framer::max_frame_length(&framer);
            let protocol = StreamProtocol::new(framer, CborValue::new());
            let case = Case {
                protocol,
                retained,
                framed: true,
            };
            run(&case, &mut input, |data, send| {
                if let Ok(value) = CborValue::new().deserialize(Bytes::copy_from_slice(data)) {
                    send(&value);
                }
            });
        }
    }
});
