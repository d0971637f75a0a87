//! `interactive_client`: a REPL session against `echo_server`, against
//! `mock_controller` (CRLF), and against a server that never answers.

#[allow(dead_code)]
#[path = "../../examples/interactive_client.rs"]
mod example;

use std::io::Read;
use std::net::TcpListener;

use crate::echo::echo_server;
use crate::mock_controller::example as mock_controller;
use crate::support::{Output, args, run, spawn};

#[test]
fn a_session_with_the_echo_server() {
    let server_out = Output::new();
    let sink = server_out.sink();
    let server = spawn("echo_server", &server_out, move || {
        echo_server::run(args(&["--once", "127.0.0.1:0"]), sink)
    });
    let address = server_out.listening_address().to_string();

    let out = Output::new();
    let sink = out.sink();
    let input = "hello, this line is longer than one echo chunk\n\nsecond line\nquit\nnever sent\n";
    run("interactive_client", &out, move || {
        example::run(args(&[&address]), input.as_bytes(), sink)
    });
    server.join();

    out.assert_in_order(&[
        "connected to 127.0.0.1:",
        "server: hello, this line is longer than one echo chunk",
        "server: second line",
        "disconnected",
    ]);
    assert!(!out.text().contains("never sent"));
}

#[test]
fn a_session_with_the_mock_controller_over_crlf() {
    let server_out = Output::new();
    let sink = server_out.sink();
    let server = spawn("mock_controller", &server_out, move || {
        mock_controller::run(args(&["--once", "127.0.0.1:0"]), sink)
    });
    let address = server_out.listening_address().to_string();

    let out = Output::new();
    let sink = out.sink();
    let input = "help\nmove 400\nstop\nstatus\nexit\n";
    run("interactive_client --crlf", &out, move || {
        example::run(args(&["--crlf", &address]), input.as_bytes(), sink)
    });
    server.join();

    out.assert_in_order(&[
        "server: commands: status, move DEGREES, stop, help, quit",
        "server: error: azimuth \"400\" is not a number in [0, 360)",
        "server: ok stopped at 0.0",
        "server: azimuth=0.0 moving=no",
        "disconnected",
    ]);
}

#[test]
fn a_silent_server_gives_a_timeout_not_a_hang() {
    // A server that reads everything and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let _ = stream.read_to_end(&mut Vec::new());
    });

    let out = Output::new();
    let sink = out.sink();
    run("interactive_client", &out, move || {
        example::run(
            args(&["--timeout", "0.2", &address]),
            "anyone there?\nhello?\nq\n".as_bytes(),
            sink,
        )
    });
    out.assert_in_order(&[
        "connected to 127.0.0.1:",
        "timeout waiting for response",
        "timeout waiting for response",
        "disconnected",
    ]);
}
