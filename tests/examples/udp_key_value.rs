//! `udp_key_value`: its client against its server, and its server against
//! a plain UDP socket that checks the datagrams.

#[allow(dead_code)]
#[path = "../../examples/udp_key_value.rs"]
mod example;

use std::net::UdpSocket;
use std::time::Duration;

use crate::support::{Output, args, run, spawn};

#[test]
fn the_client_gets_a_response_to_each_request() {
    let server_out = Output::new();
    let sink = server_out.sink();
    let server = spawn("udp_key_value server", &server_out, move || {
        example::run(args(&["server", "--requests", "5", "127.0.0.1:0"]), sink)
    });
    let address = server_out.listening_address().to_string();

    let client_out = Output::new();
    let sink = client_out.sink();
    run("udp_key_value client", &client_out, move || {
        example::run(args(&["client", &address]), sink)
    });
    server.join();

    client_out.assert_in_order(&[
        "talking to 127.0.0.1:",
        "request \"set colour blue\"",
        "response \"ok\"",
        "request \"get colour\"",
        "response \"value blue\"",
        "request \"del colour\"",
        "response \"ok\"",
        "request \"get colour\"",
        "response \"not found\"",
        "request \"fly\"",
        "response \"error unknown request \\\"fly\\\"\"",
        "done",
    ]);
    server_out.assert_in_order(&["request from 127.0.0.1:", "5 requests answered, stopping"]);
}

#[test]
fn the_server_answers_one_datagram_with_one_datagram() {
    let server_out = Output::new();
    let sink = server_out.sink();
    let server = spawn("udp_key_value server", &server_out, move || {
        example::run(args(&["server", "--requests", "4", "127.0.0.1:0"]), sink)
    });
    let at = server_out.listening_address();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let exchange = |request: &[u8]| {
        socket.send_to(request, at).unwrap();
        let mut buf = [0; 2048];
        let (n, from) = socket.recv_from(&mut buf).unwrap();
        assert_eq!(from, at);
        String::from_utf8(buf[..n].to_vec()).unwrap()
    };
    assert_eq!(exchange(b"set a one two"), "ok");
    // Not UTF-8: an error for that datagram only.
    assert_eq!(exchange(&[0xff, 0xfe]), "error not a text request");
    assert_eq!(exchange(b"get a"), "value one two");
    assert_eq!(exchange(b"keys"), "keys a");
    server.join();
}
