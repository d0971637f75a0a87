//! TLS records from a peer that does anything, into the engine's TLS pump
//! (handshaking server, handshaking client, records spliced after a real
//! handshake): see `netproto_fuzz::tls`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| netproto_fuzz::tls::run(data));
