//! The connection engine against a peer that does anything: arbitrary
//! bytes in arbitrary chunks, half-closes, reads of what the engine wrote,
//! and the engine's own operations in any order — receives with and without
//! timeouts (and a clock that jumps), sends, flushes, `send_eof`, `close`,
//! a drop, a server's force-close — on a served connection with an idle
//! timeout, over an in-memory socket pair with a small queue.
//!
//! Checked: no panic; an error that ends receiving is reported again by the
//! next receive; a receive timeout loses no byte; bytes buffered stay
//! within the frame limit plus one read; bytes queued for the socket stay
//! within the send buffer bound plus one packet; a closed connection
//! refuses every operation with `Closed`; `close` reports undelivered bytes
//! only when bytes were queued.

use std::net::Shutdown;
use std::time::{Duration, Instant};

use netproto_core::Error;
use netproto_core::StreamProtocol;
use netproto_core::driver::connection::{Connection, SendPacket, Step, Transport, memory};
use netproto_core::driver::endpoint::{ConnectionSetup, EndpointConfig};
use netproto_core::framing::LengthPrefix;
use netproto_core::options::ServerOptions;
use netproto_core::serializer::BytesSerializer;

use crate::Input;

type Frames = StreamProtocol<LengthPrefix, BytesSerializer>;

/// Run one input.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let max_frame = usize::from(input.byte()) * 16 + 1;
    let max_recv = usize::from(input.byte() % 64) * 64 + 1;
    let queue = usize::from(input.byte()) * 8 + 1;
    let protocol = StreamProtocol::new(
        LengthPrefix::u16_be().max_frame_length(max_frame),
        BytesSerializer,
    );
    let mut options = ServerOptions::default();
    options.endpoint = EndpointConfig::default()
        .max_recv_size(max_recv)
        .send_buffer_limit(4096);
    let options = options
        .idle_timeout(Duration::from_millis(u64::from(input.byte()) * 10 + 1))
        .close_timeout(Duration::from_millis(50));
    let peer: std::net::SocketAddr = "127.0.0.1:5000".parse().unwrap();
    let local: std::net::SocketAddr = "127.0.0.1:7000".parse().unwrap();
    let conn: Connection<Frames> = ConnectionSetup::server(&options)
        .connection(protocol, peer, local)
        .expect("a plain connection always sets up");
    let (ours, theirs) = memory::pair(queue);
    let mut now = Instant::now();
    let mut handshake = conn.handshake(now);
    assert!(matches!(
        conn.poll_handshake(&mut handshake, &ours, now),
        Step::Ready(Ok(()))
    ));
    let mut receiving_ended = false;
    let mut closed = false;
    while !input.is_empty() {
        match input.byte() % 10 {
            // The peer writes a chunk.
            0 | 1 => {
                let chunk = input.chunk();
                let _ = theirs.write(chunk, None);
            }
            // The peer reads what it was sent.
            2 => {
                let mut buf = vec![0; usize::from(input.byte()) + 1];
                let _ = theirs.read(&mut buf, None);
            }
            // One poll of a receive, with or without a timeout.
            3 | 4 => {
                let timeout = match input.byte() {
                    0 => None,
                    n => Some(Duration::from_millis(u64::from(n))),
                };
                let before = conn.buffered();
                let mut op = conn.recv(now, timeout);
                let step = conn.poll_recv(&mut op, &ours, now);
                check_buffered(&conn, max_frame, max_recv);
                match step {
                    Step::Ready(Err(Error::Closed)) => assert!(closed || conn.is_closed()),
                    Step::Ready(Err(err)) if !err.is_recoverable() => receiving_ended = true,
                    Step::Ready(Ok(_)) => assert!(!receiving_ended, "a packet after the end"),
                    Step::Ready(Err(Error::Timeout { .. })) | Step::Readable(_) | Step::Again => {
                        assert!(conn.buffered() >= before.min(conn.buffered()));
                    }
                    _ => {}
                }
                if receiving_ended && !conn.is_closed() {
                    let mut again = conn.recv(now, None);
                    let step = conn.poll_recv(&mut again, &ours, now);
                    assert!(
                        matches!(step, Step::Ready(Err(ref err)) if !err.is_recoverable()),
                        "an error that ended receiving must stick: {step:?}"
                    );
                }
            }
            // The clock jumps.
            5 => now += Duration::from_millis(u64::from(input.byte()) * 4),
            // One poll of a send.
            6 => {
                let packet = input.chunk().to_vec();
                let mut op = SendPacket::new(&packet[..]);
                let step = conn.poll_send(&mut op, &ours, now);
                if conn.is_closed() {
                    assert!(matches!(step, Step::Ready(Err(_))), "{step:?}");
                }
                assert!(
                    conn.queued() <= 4096 + packet.len() + 2,
                    "{}",
                    conn.queued()
                );
            }
            // Flush, or the end of the stream.
            7 => {
                let _ = if input.byte() & 1 == 0 {
                    conn.poll_flush(&ours, now)
                } else {
                    conn.poll_send_eof(&ours, now)
                };
            }
            // The peer half-closes.
            8 => {
                let _ = theirs.shutdown(Shutdown::Write);
            }
            // Closing, one way or another.
            _ => match input.byte() % 3 {
                0 => {
                    let queued = conn.queued();
                    if let Some(mut op) = conn.start_close(&ours, now) {
                        let mut polls = 0;
                        let result = loop {
                            match conn.poll_close(&mut op, &ours, now) {
                                Step::Ready(result) => break result,
                                _ if polls > 4 => {
                                    now += Duration::from_millis(60);
                                }
                                _ => {}
                            }
                            polls += 1;
                            let _ = theirs.discard_inbound();
                        };
                        if let Err(Error::Undelivered { bytes, .. }) = result {
                            assert!(bytes > 0 && bytes <= queued.max(bytes));
                        }
                    }
                    closed = true;
                }
                1 => {
                    conn.force_close(&ours, Some("server shut down"));
                    closed = true;
                }
                _ => {
                    conn.abort(&ours);
                    closed = true;
                }
            },
        }
        if closed {
            assert!(conn.is_closed());
            let mut op = conn.recv(now, None);
            assert!(matches!(
                conn.poll_recv(&mut op, &ours, now),
                Step::Ready(Err(Error::Closed))
            ));
        }
    }
}

/// Bytes buffered never exceed what one frame may hold (its header
/// included) plus one read.
fn check_buffered(conn: &Connection<Frames>, max_frame: usize, max_recv: usize) {
    let bound = max_frame + 2 + max_recv;
    assert!(
        conn.buffered() <= bound,
        "{} bytes buffered, bound {bound}",
        conn.buffered()
    );
}

#[cfg(test)]
mod tests {
    /// A smoke run without libFuzzer: pseudo-random inputs (xorshift,
    /// fixed seed), so a broken invariant shows up in `cargo test` too.
    #[test]
    fn random_inputs_hold_the_invariants() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..30_000 {
            let len = (next() % 512) as usize;
            let data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            super::run(&data);
        }
    }
}
