//! `tls_echo`: the one-process demo, and its server and client as separate
//! ends with certificate files.

#[allow(dead_code)]
#[path = "../../examples/tls_echo.rs"]
mod example;

use crate::support::{Output, args, run, spawn, temp_dir};

#[test]
fn the_demo_echoes_over_tls_and_turns_away_an_untrusting_client() {
    let out = Output::new();
    let sink = out.sink();
    run("tls_echo", &out, move || example::run(args(&[]), sink));
    out.assert_in_order(&[
        "generated a self-signed certificate",
        "listening on 127.0.0.1:",
        "client: sent \"hello over TLS\", got back \"hello over TLS\"",
        "client: sent \"every byte encrypted\", got back \"every byte encrypted\"",
        "client without the certificate: refused (TLS error with 127.0.0.1:",
        "server stopped",
    ]);
    let text = out.text();
    assert!(
        text.contains("server: echoing \"every byte encrypted\""),
        "{text}"
    );
    assert!(text.contains("UnknownIssuer"), "{text}");
}

#[test]
fn server_and_client_with_certificate_files() {
    let dir = temp_dir("tls_echo");
    let names = vec!["localhost".to_owned()];
    let certified = rcgen::generate_simple_self_signed(names).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let cert = cert.to_str().unwrap().to_owned();
    let key = key.to_str().unwrap().to_owned();

    let server_out = Output::new();
    let sink = server_out.sink();
    let server = spawn("tls_echo server", &server_out, move || {
        example::run(
            args(&[
                "server",
                "--cert",
                &cert,
                "--key",
                &key,
                "--once",
                "127.0.0.1:0",
            ]),
            sink,
        )
    });
    let address = server_out.listening_address().to_string();

    let client_out = Output::new();
    let sink = client_out.sink();
    let ca = dir.join("cert.pem").to_str().unwrap().to_owned();
    run("tls_echo client", &client_out, move || {
        example::run(
            args(&[
                "client",
                "--ca",
                &ca,
                "--server-name",
                "localhost",
                "--message",
                "first",
                "--message",
                "second",
                &address,
            ]),
            sink,
        )
    });
    server.join();

    client_out.assert_in_order(&[
        "client: connected to 127.0.0.1:",
        "client: sent \"first\", got back \"first\"",
        "client: sent \"second\", got back \"second\"",
    ]);
    server_out.assert_in_order(&[
        "server: TLS connection from 127.0.0.1:",
        "server: echoing \"first\"",
        "server: echoing \"second\"",
        " left",
    ]);
    // A clean TLS close: the server saw close_notify, not a truncation.
    assert!(
        !server_out.text().contains("ended:"),
        "{}",
        server_out.text()
    );
    let _ = std::fs::remove_dir_all(dir);
}
