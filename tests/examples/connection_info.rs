//! `connection_info`: both ends of one connection in one process.

#[allow(dead_code)]
#[path = "../../examples/connection_info.rs"]
mod example;

use crate::support::{Output, args, run};

#[test]
fn both_ends_report_mirrored_addresses_and_read_exact_counts() {
    let out = Output::new();
    let sink = out.sink();
    run("connection_info", &out, move || {
        example::run(args(&[]), sink)
    });
    out.assert_in_order(&[
        "server addresses: [127.0.0.1:",
        "client end: local 127.0.0.1:",
        "server end: local 127.0.0.1:",
        "the two ends mirror each other",
        "server read exactly 3 bytes: b\"123\"",
        "client read exactly 3 bytes: b\"321\"",
        "sending 2 bytes is refused: ",
        "closed both ends and the server",
    ]);
    let text = out.text();
    for needle in [
        "server callback: new connection, local 127.0.0.1:",
        "server event: connected, local 127.0.0.1:",
        "client event: connected, local 127.0.0.1:",
        "client event: disconnected from 127.0.0.1:",
        "server event: disconnected from 127.0.0.1:",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
}
