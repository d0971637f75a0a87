//! Nothing here: the tests in `tests/plain.rs` run netproto's drivers built
//! without the `tls` feature (see `cargo xtask ci`).
