//! `mock_controller`: one client served, a second one rejected, commands
//! answered, every connect and disconnect reported.

#[allow(dead_code)]
#[path = "../../examples/mock_controller.rs"]
pub(crate) mod example;

use std::time::Duration;

use netproto::StreamProtocol;
use netproto::framing::Delimiter;
use netproto::serializer::Utf8;
use netproto::sync::{Error, TcpClient};

use crate::support::{Output, args, spawn};

#[test]
fn serves_one_client_and_rejects_the_next() {
    let server_out = Output::new();
    let sink = server_out.sink();
    let server = spawn("mock_controller", &server_out, move || {
        example::run(args(&["--once", "127.0.0.1:0"]), sink)
    });
    let address = server_out.listening_address();
    let protocol = StreamProtocol::new(Delimiter::crlf(), Utf8);
    let timeout = Duration::from_secs(5);

    let first = TcpClient::connect(address, protocol.clone()).unwrap();
    first.send_packet("status").unwrap();
    assert_eq!(
        first.recv_packet_timeout(timeout).unwrap(),
        "azimuth=0.0 moving=no"
    );

    // A second client while the first is connected: closed at once.
    let second = TcpClient::connect(address, protocol).unwrap();
    match second.recv_packet_timeout(timeout) {
        Err(Error::ConnectionClosed { .. } | Error::ConnectionReset { .. }) => {}
        other => panic!("the second client was not rejected: {other:?}"),
    }
    server_out.wait_for("rejected 127.0.0.1:");

    // The first one is still served.
    let ask = |command: &str| {
        first.send_packet(command).unwrap();
        first.recv_packet_timeout(timeout).unwrap()
    };
    assert_eq!(ask("move 180"), "ok moving to 180.0");
    assert!(ask("status").ends_with("moving=yes"));
    assert!(ask("stop").starts_with("ok stopped at "));
    assert_eq!(ask("spin"), "error: unknown command \"spin\" (try help)");
    assert_eq!(ask("quit"), "bye");
    match first.recv_packet_timeout(timeout) {
        Err(Error::ConnectionClosed { .. }) => {}
        other => panic!("the controller did not hang up: {other:?}"),
    }
    server.join();

    server_out.assert_in_order(&[
        "listening on 127.0.0.1:",
        "client connected: 127.0.0.1:",
        "command: Status",
        "command: Move(180.0)",
        "command: Quit",
        "client disconnected: 127.0.0.1:",
    ]);
    let text = server_out.text();
    assert!(text.contains("rejected 127.0.0.1:"), "{text}");
    assert_eq!(text.matches("client connected:").count(), 1, "{text}");
}
