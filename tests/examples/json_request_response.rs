//! `json_request_response`: its client against its server, and its server
//! against a hand-written client that checks the bytes on the wire.

#[allow(dead_code)]
#[path = "../../examples/json_request_response.rs"]
mod example;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::support::{Output, args, run, spawn};

#[test]
fn the_client_gets_a_response_to_each_request() {
    let server_out = Output::new();
    let sink = server_out.sink();
    let server = spawn("json_request_response server", &server_out, move || {
        example::run(args(&["server", "--once", "127.0.0.1:0"]), sink)
    });
    let address = server_out.listening_address().to_string();

    let client_out = Output::new();
    let sink = client_out.sink();
    run("json_request_response client", &client_out, move || {
        example::run(args(&["client", &address]), sink)
    });
    server.join();

    client_out.assert_in_order(&[
        "sending Request { id: 1, command: \"get_status\", args: [] }",
        "received Response { id: 1, status: Ok, result: \"running for ",
        "1 requests served\" }",
        "sending Request { id: 2, command: \"echo\", args: [\"hello\", \"over\", \"JSON\"] }",
        "received Response { id: 2, status: Ok, result: \"hello over JSON\" }",
        "sending Request { id: 3, command: \"reboot\", args: [] }",
        "received Response { id: 3, status: Error, result: \"unknown command \\\"reboot\\\"\" }",
        "done",
    ]);
    server_out.assert_in_order(&[
        "client 127.0.0.1:",
        "request from 127.0.0.1:",
        "response to 127.0.0.1:",
        "disconnected",
    ]);
}

/// Send one length-prefixed message; read one back.
fn exchange(stream: &mut TcpStream, json: &[u8]) -> String {
    let mut message = (json.len() as u32).to_be_bytes().to_vec();
    message.extend_from_slice(json);
    stream.write_all(&message).unwrap();
    let mut header = [0; 4];
    stream.read_exact(&mut header).unwrap();
    let mut body = vec![0; u32::from_be_bytes(header) as usize];
    stream.read_exact(&mut body).unwrap();
    String::from_utf8(body).unwrap()
}

#[test]
fn the_server_speaks_a_4_byte_big_endian_length_then_json() {
    let server_out = Output::new();
    let sink = server_out.sink();
    let server = spawn("json_request_response server", &server_out, move || {
        example::run(args(&["server", "--once", "127.0.0.1:0"]), sink)
    });
    let mut stream = TcpStream::connect(server_out.listening_address()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();

    let reply = exchange(
        &mut stream,
        br#"{"id":7,"command":"echo","args":["on","the","wire"]}"#,
    );
    assert_eq!(reply, r#"{"id":7,"status":"ok","result":"on the wire"}"#);
    // Not a request: an error response, and the connection goes on.
    let reply = exchange(&mut stream, b"[1,2,3]");
    assert!(
        reply.starts_with(r#"{"id":0,"status":"error","result":"bad request: "#),
        "{reply}"
    );
    let reply = exchange(&mut stream, br#"{"id":8,"command":"echo"}"#);
    assert_eq!(reply, r#"{"id":8,"status":"ok","result":""}"#);

    drop(stream);
    server.join();
}
