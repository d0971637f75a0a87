//! `echo_server` and `echo_client` talking to each other, on each runtime.

#[cfg(feature = "sync")]
#[allow(dead_code)]
#[path = "../../examples/echo_client.rs"]
mod echo_client;
#[cfg(feature = "async-std")]
#[allow(dead_code)]
#[path = "../../examples/echo_client_async_std.rs"]
mod echo_client_async_std;
#[cfg(feature = "tokio")]
#[allow(dead_code)]
#[path = "../../examples/echo_client_tokio.rs"]
mod echo_client_tokio;
#[cfg(feature = "sync")]
#[allow(dead_code)]
#[path = "../../examples/echo_server.rs"]
pub(crate) mod echo_server;
#[cfg(feature = "async-std")]
#[allow(dead_code)]
#[path = "../../examples/echo_server_async_std.rs"]
mod echo_server_async_std;
#[cfg(feature = "tokio")]
#[allow(dead_code)]
#[path = "../../examples/echo_server_tokio.rs"]
mod echo_server_tokio;

use crate::support::{Output, args, run, spawn};

const MESSAGE: &str = "a message long enough to come back in pieces";

/// What the client and the server must have printed, whatever the runtime.
fn check(client_out: &Output, server_out: &Output) {
    client_out.assert_in_order(&[
        "connecting to 127.0.0.1:",
        &format!("sending {MESSAGE:?}"),
        "received b\"",
        "the whole message came back",
        "closing the connection",
    ]);
    server_out.assert_in_order(&[
        "waiting for a connection",
        "connection from 127.0.0.1:",
        "received b\"a message long e\"",
        "sent it back",
        "received b\"ck in pieces\"",
        "no more data from 127.0.0.1:",
    ]);
}

#[cfg(feature = "sync")]
mod sync {

    use super::*;

    #[test]
    fn echo_client_gets_its_message_back_from_echo_server() {
        let server_out = Output::new();
        let sink = server_out.sink();
        let server = spawn("echo_server", &server_out, move || {
            echo_server::run(args(&["--once", "127.0.0.1:0"]), sink)
        });
        let address = server_out.listening_address().to_string();

        let client_out = Output::new();
        let sink = client_out.sink();
        run("echo_client", &client_out, move || {
            echo_client::run(args(&["--message", MESSAGE, &address]), sink)
        });
        server.join();
        check(&client_out, &server_out);
    }
}

#[cfg(feature = "tokio")]
mod tokio {

    use super::*;

    fn block_on<F: Future>(future: F) -> F::Output {
        ::tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn echo_client_tokio_gets_its_message_back_from_echo_server_tokio() {
        let server_out = Output::new();
        let sink = server_out.sink();
        let server = spawn("echo_server_tokio", &server_out, move || {
            block_on(echo_server_tokio::run(
                args(&["--once", "127.0.0.1:0"]),
                sink,
            ))
        });
        let address = server_out.listening_address().to_string();

        let client_out = Output::new();
        let sink = client_out.sink();
        run("echo_client_tokio", &client_out, move || {
            block_on(echo_client_tokio::run(
                args(&["--message", MESSAGE, &address]),
                sink,
            ))
        });
        server.join();
        check(&client_out, &server_out);
    }
}

#[cfg(feature = "async-std")]
mod async_std {

    use super::*;

    #[test]
    fn echo_client_async_std_gets_its_message_back_from_echo_server_async_std() {
        let server_out = Output::new();
        let sink = server_out.sink();
        let server = spawn("echo_server_async_std", &server_out, move || {
            ::async_std::task::block_on(echo_server_async_std::run(
                args(&["--once", "127.0.0.1:0"]),
                sink,
            ))
        });
        let address = server_out.listening_address().to_string();

        let client_out = Output::new();
        let sink = client_out.sink();
        run("echo_client_async_std", &client_out, move || {
            ::async_std::task::block_on(echo_client_async_std::run(
                args(&["--message", MESSAGE, &address]),
                sink,
            ))
        });
        server.join();
        check(&client_out, &server_out);
    }
}
