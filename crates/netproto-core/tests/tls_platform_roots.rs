//! `TlsClientConfig::platform_roots`: a client trusts what the platform's
//! store holds. The store is pointed at a generated CA with
//! `SSL_CERT_FILE` in a child process (the variable is read by the
//! platform loader; setting it in this process would race other tests),
//! which then runs a real TLS handshake against a server holding a
//! certificate from that CA — and one that fails against another CA.
#![cfg(feature = "native-roots")]

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use netproto_core::StreamProtocol;
use netproto_core::driver::connection::{Step, memory};
use netproto_core::driver::endpoint::ConnectionSetup;
use netproto_core::framing::Delimiter;
use netproto_core::options::{ClientOptions, ServerOptions};
use netproto_core::serializer::Utf8;
use netproto_core::tls::{TlsClientConfig, TlsServerConfig};

const CHILD: &str = "NETPROTO_PLATFORM_ROOTS_CHILD";
const TEST: &str = "platform_roots_trust_the_platform_store";

fn dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netproto-roots-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A handshake between a client with `client` and a server with `server`
/// over the memory transport: whether it succeeded.
fn handshake(client: TlsClientConfig, server: TlsServerConfig) -> Result<(), String> {
    let lines = || StreamProtocol::new(Delimiter::lf(), Utf8);
    let (a, b) = (
        "127.0.0.1:5000".parse::<std::net::SocketAddr>().unwrap(),
        "127.0.0.1:7000".parse::<std::net::SocketAddr>().unwrap(),
    );
    let client = ConnectionSetup::client(&ClientOptions::default().tls(client), Some("localhost"))
        .connection(lines(), b, a)
        .unwrap();
    let server = ConnectionSetup::server(&ServerOptions::default().tls(server))
        .connection(lines(), a, b)
        .unwrap();
    let (c, s) = memory::pair(64 * 1024);
    let now = Instant::now();
    let (mut hc, mut hs) = (client.handshake(now), server.handshake(now));
    let (mut rc, mut rs) = (None, None);
    for _ in 0..100 {
        if rc.is_none() {
            if let Step::Ready(r) = client.poll_handshake(&mut hc, &c, now) {
                rc = Some(r);
            }
        }
        if rs.is_none() {
            if let Step::Ready(r) = server.poll_handshake(&mut hs, &s, now) {
                rs = Some(r);
            }
        }
        if rc.is_some() && rs.is_some() {
            break;
        }
    }
    match rc {
        Some(Ok(())) => Ok(()),
        Some(Err(err)) => Err(err.to_string()),
        None => Err("the handshake did not finish".into()),
    }
}

#[test]
fn platform_roots_trust_the_platform_store() {
    if let Ok(role) = std::env::var(CHILD) {
        let dir = dir_of_parent();
        let cert = std::fs::read(dir.join("server.pem")).unwrap();
        let key = std::fs::read(dir.join("server.key")).unwrap();
        let server = TlsServerConfig::from_pem(&cert, &key).unwrap();
        let client = TlsClientConfig::platform_roots().expect("the store holds the test CA");
        let result = handshake(client, server);
        match role.as_str() {
            "trusted" => result.expect("a certificate from the store's CA is trusted"),
            _ => {
                let err = result.expect_err("a certificate from another CA is not");
                // (The two self-signed certificates share a subject: the other
                // one is tried as the issuer and its signature fails.)
                assert!(err.contains("invalid peer certificate"), "{err}");
            }
        }
        return;
    }
    let dir = dir();
    let server = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let other = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    std::fs::write(dir.join("server.pem"), server.cert.pem()).unwrap();
    std::fs::write(dir.join("server.key"), server.signing_key.serialize_pem()).unwrap();
    std::fs::write(dir.join("store.pem"), server.cert.pem()).unwrap();
    std::fs::write(dir.join("other.pem"), other.cert.pem()).unwrap();
    for (role, store) in [("trusted", "store.pem"), ("untrusted", "other.pem")] {
        let status = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
            .env(CHILD, role)
            .env("NETPROTO_PLATFORM_ROOTS_DIR", &dir)
            .env("SSL_CERT_FILE", dir.join(store))
            .env_remove("SSL_CERT_DIR")
            .status()
            .unwrap();
        assert!(status.success(), "the {role} child failed");
    }
    // An empty store is a clear error, not a client that trusts nothing.
    std::fs::write(dir.join("empty.pem"), b"").unwrap();
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "an_empty_platform_store_is_an_error",
            "--nocapture",
        ])
        .env(CHILD, "empty")
        .env("SSL_CERT_FILE", dir.join("empty.pem"))
        .env_remove("SSL_CERT_DIR")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

#[test]
fn an_empty_platform_store_is_an_error() {
    if std::env::var(CHILD).as_deref() != Ok("empty") {
        return; // run by the test above, in a child
    }
    let err = TlsClientConfig::platform_roots().expect_err("nothing to trust");
    assert!(
        err.to_string().contains("no usable root certificate"),
        "{err}"
    );
}

fn dir_of_parent() -> PathBuf {
    PathBuf::from(std::env::var("NETPROTO_PLATFORM_ROOTS_DIR").unwrap())
}
