//! The connection engine (`netproto_core::driver::connection`) against a peer that
//! does anything, with a clock that jumps: see `netproto_fuzz::connection`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| netproto_fuzz::connection::run(data));
