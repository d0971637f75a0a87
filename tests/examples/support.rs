//! What every example test needs: a captured output, a way to wait for a
//! line in it, and deadlines so that a broken example fails instead of
//! hanging the test run.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// What an example's `run` returns.
pub type Outcome = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// How long one example may take before its test fails.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Everything an example printed, shared with the example while it runs.
#[derive(Clone, Default)]
pub struct Output(Arc<Mutex<Vec<u8>>>);

impl Output {
    pub fn new() -> Self {
        Output::default()
    }

    /// The writer to give to an example's `run` (its `Out` type).
    pub fn sink(&self) -> Arc<Mutex<dyn Write + Send>> {
        self.0.clone()
    }

    /// What was printed so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Wait until a printed line contains `needle`; return that line.
    pub fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(line) = self.text().lines().find(|line| line.contains(needle)) {
                return line.to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "no line containing {needle:?} within {DEADLINE:?}; output so far:\n{}",
                self.text()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Wait for a server's `listening on ADDRESS` line; return the address.
    pub fn listening_address(&self) -> SocketAddr {
        let line = self.wait_for("listening on ");
        let (_, address) = line.split_once("listening on ").unwrap();
        address
            .trim()
            .parse()
            .unwrap_or_else(|err| panic!("bad address in {line:?}: {err}"))
    }

    /// Assert that the output contains each of `needles`, in this order.
    pub fn assert_in_order(&self, needles: &[&str]) {
        let text = self.text();
        let mut rest = text.as_str();
        for needle in needles {
            match rest.find(needle) {
                Some(at) => rest = &rest[at + needle.len()..],
                None => panic!("expected {needle:?} (after the previous lines) in:\n{text}"),
            }
        }
    }
}

/// Command-line arguments.
pub fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|arg| arg.to_string()).collect()
}

/// An example running on its own thread.
pub struct Running {
    name: String,
    output: Output,
    done: mpsc::Receiver<Outcome>,
}

/// Run an example on its own thread (a server, or a client that waits for
/// one); `join` it later.
pub fn spawn(
    name: &str,
    output: &Output,
    run: impl FnOnce() -> Outcome + Send + 'static,
) -> Running {
    let (sender, done) = mpsc::channel();
    thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let _ = sender.send(run());
        })
        .unwrap();
    Running {
        name: name.to_owned(),
        output: output.clone(),
        done,
    }
}

impl Running {
    /// Wait for the example to return `Ok` within [`DEADLINE`].
    pub fn join(self) {
        match self.done.recv_timeout(DEADLINE) {
            Ok(Ok(())) => {}
            Ok(Err(err)) => panic!(
                "{} failed: {err}\noutput:\n{}",
                self.name,
                self.output.text()
            ),
            Err(_) => panic!(
                "{} did not finish within {DEADLINE:?}\noutput:\n{}",
                self.name,
                self.output.text()
            ),
        }
    }
}

/// Run an example to completion on this test's behalf, within [`DEADLINE`].
pub fn run(name: &str, output: &Output, run: impl FnOnce() -> Outcome + Send + 'static) {
    spawn(name, output, run).join();
}

/// A loopback address with a port that nothing listens on right now.
pub fn free_address() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// A fresh, empty directory under the system's temporary directory.
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "netproto-examples-{}-{name}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
