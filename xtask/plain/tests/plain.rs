//! Every driver, built with TLS compiled out of the core and the drivers
//! (`cargo xtask ci` checks that rustls is not in this crate's graph): a
//! line client and server on loopback exchange packets, half-close and
//! close, through the plain-only code paths.

use netproto::framing::Delimiter;
use netproto::serializer::Utf8;
use netproto::{Error, StreamProtocol};

fn lines() -> StreamProtocol<Delimiter, Utf8> {
    StreamProtocol::new(Delimiter::lf(), Utf8)
}

/// What the client sends; the server echoes each line upper-cased.
const SENT: [&str; 3] = ["hello", "plain world", ""];

fn assert_closed(result: Result<String, Error>) {
    match result {
        Err(Error::ConnectionClosed { .. }) => {}
        other => panic!("expected the connection to be closed by the peer, got {other:?}"),
    }
}

#[test]
fn sync_round_trip_without_tls() -> Result<(), Error> {
    use netproto::sync::{ServerOptions, TcpClient, TcpServer};

    let server = TcpServer::bind("127.0.0.1:0", lines(), ServerOptions::default())?;
    let address = server.local_addrs()[0];
    let served = std::thread::spawn(move || -> Result<Vec<String>, Error> {
        let conn = server.accept()?;
        let mut got = Vec::new();
        loop {
            match conn.recv_packet() {
                Ok(line) => {
                    conn.send_packet(&line.to_uppercase())?;
                    got.push(line);
                }
                Err(Error::ConnectionClosed { .. }) => break,
                Err(err) => return Err(err),
            }
        }
        conn.close()?;
        Ok(got)
    });
    let client = TcpClient::connect(address, lines())?;
    for line in SENT {
        client.send_packet(line)?;
    }
    for line in SENT {
        assert_eq!(client.recv_packet()?, line.to_uppercase());
    }
    client.send_eof()?;
    assert_closed(client.recv_packet());
    assert_eq!(served.join().expect("the server thread panicked")?, SENT);
    client.close()
}

#[tokio::test]
async fn tokio_round_trip_without_tls() -> Result<(), Error> {
    use netproto::tokio::{ServerOptions, TcpClient, TcpServer};

    let server = TcpServer::bind("127.0.0.1:0", lines(), ServerOptions::default()).await?;
    let address = server.local_addrs()[0];
    let served = tokio::spawn(async move {
        let conn = server.accept().await?;
        let mut got = Vec::new();
        loop {
            match conn.recv_packet().await {
                Ok(line) => {
                    conn.send_packet(&line.to_uppercase()).await?;
                    got.push(line);
                }
                Err(Error::ConnectionClosed { .. }) => break,
                Err(err) => return Err(err),
            }
        }
        conn.close().await?;
        Ok::<_, Error>(got)
    });
    let client = TcpClient::connect(address, lines()).await?;
    for line in SENT {
        client.send_packet(line).await?;
    }
    for line in SENT {
        assert_eq!(client.recv_packet().await?, line.to_uppercase());
    }
    client.send_eof().await?;
    assert_closed(client.recv_packet().await);
    assert_eq!(served.await.expect("the server task panicked")?, SENT);
    client.close().await
}

#[async_std::test]
async fn async_io_round_trip_without_tls() -> Result<(), Error> {
    use netproto::async_std::{ServerOptions, TcpClient, TcpServer};

    let server = TcpServer::bind("127.0.0.1:0", lines(), ServerOptions::default()).await?;
    let address = server.local_addrs()[0];
    let served = async_std::task::spawn(async move {
        let conn = server.accept().await?;
        let mut got = Vec::new();
        loop {
            match conn.recv_packet().await {
                Ok(line) => {
                    conn.send_packet(&line.to_uppercase()).await?;
                    got.push(line);
                }
                Err(Error::ConnectionClosed { .. }) => break,
                Err(err) => return Err(err),
            }
        }
        conn.close().await?;
        Ok::<_, Error>(got)
    });
    let client = TcpClient::connect(address, lines()).await?;
    for line in SENT {
        client.send_packet(line).await?;
    }
    for line in SENT {
        assert_eq!(client.recv_packet().await?, line.to_uppercase());
    }
    client.send_eof().await?;
    assert_closed(client.recv_packet().await);
    assert_eq!(served.await?, SENT);
    client.close().await
}
