//! netproto: typed packets over TCP and TLS.
#![forbid(unsafe_code)]

pub use netproto_core as core;
