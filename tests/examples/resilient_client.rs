//! `resilient_client`: retrying until `echo_server` comes up, and giving
//! up when it never does.

#[allow(dead_code)]
#[path = "../../examples/resilient_client.rs"]
mod example;

use crate::echo::echo_server;
use crate::support::{Output, args, free_address, spawn};

#[test]
fn retries_until_the_server_is_up() {
    let address = free_address().to_string();
    let client_out = Output::new();
    let sink = client_out.sink();
    let target = address.clone();
    let client = spawn("resilient_client", &client_out, move || {
        example::run(
            args(&["--attempts", "40", "--delay", "0.02", &target]),
            sink,
        )
    });

    // Start the server only once the client has failed at least once.
    client_out.wait_for("attempt 1 to reach");
    let server_out = Output::new();
    let sink = server_out.sink();
    let server = spawn("echo_server", &server_out, move || {
        echo_server::run(args(&["--once", &address]), sink)
    });
    client.join();
    server.join();

    client_out.assert_in_order(&[
        "(up to 40 attempts)",
        "attempt 1 to reach 127.0.0.1:",
        "failed: connection refused by 127.0.0.1:",
        "; retrying in ",
        "connected to 127.0.0.1:",
        "reply: Hello!",
        "disconnected from 127.0.0.1:",
    ]);
}

#[test]
fn gives_up_after_the_last_attempt() {
    let address = free_address().to_string();
    let out = Output::new();
    let result = example::run(
        args(&["--attempts", "3", "--delay", "0.01", &address]),
        out.sink(),
    );
    let err = result.expect_err("nothing listens there").to_string();
    assert!(err.contains("after 3 attempt(s)"), "{err}");
    out.assert_in_order(&["attempt 1 to reach", "attempt 2 to reach", "giving up: "]);
    assert!(!out.text().contains("attempt 3 to reach"));
}
