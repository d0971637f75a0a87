//! Every example in `examples/`, run against its partner with its output
//! (or what it stored) checked, so that no example can rot silently.
//!
//! Each example is a `main` that calls `run(args, out)`; the modules here
//! include the example files themselves (`#[path = "../../examples/…"]`)
//! and call `run` on threads, with `out` captured. Servers print
//! `listening on ADDRESS` and take `--once`; they listen on 127.0.0.1 port
//! 0 here. A test that would need a feature is compiled only with it:
//! `cargo test` runs the default ones, `cargo test --all-features` all.

#[allow(dead_code)] // which helpers are used depends on the features
mod support;

#[cfg(any(feature = "sync", feature = "tokio", feature = "async-std"))]
mod echo;

#[cfg(feature = "sync")]
mod binary_telemetry;
#[cfg(feature = "sync")]
mod connection_info;
#[cfg(all(unix, feature = "sync"))]
mod control_socket;
#[cfg(feature = "sync")]
mod file_transfer;
#[cfg(feature = "sync")]
mod interactive_client;
#[cfg(all(feature = "sync", feature = "json"))]
mod json_request_response;
#[cfg(feature = "sync")]
mod mock_controller;
#[cfg(all(feature = "sync", feature = "json"))]
mod quickstart;
#[cfg(feature = "sync")]
mod resilient_client;
#[cfg(all(feature = "sync", feature = "tls"))]
mod tls_echo;
#[cfg(all(feature = "sync", feature = "tracing"))]
mod traced_echo;
#[cfg(feature = "sync")]
mod udp_key_value;
