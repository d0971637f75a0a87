//! `control_socket`: a daemon on a Unix socket file that a crashed
//! daemon left behind, its CLI's commands answered (the caller's
//! credentials included), and the socket file removed when it stops.

#[allow(dead_code)]
#[path = "../../examples/control_socket.rs"]
pub(crate) mod example;

use crate::support::{Output, args, run, spawn, temp_dir};

#[test]
fn the_cli_talks_to_the_daemon_over_a_unix_socket() {
    let path = temp_dir("control_socket").join("ctl.sock");
    // A daemon that crashed left its socket file behind.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let path = path.to_str().unwrap().to_owned();

    let daemon_out = Output::new();
    let sink = daemon_out.sink();
    let daemon_path = path.clone();
    let daemon = spawn("control_socket daemon", &daemon_out, move || {
        example::run(args(&["daemon", &daemon_path]), sink)
    });
    daemon_out.wait_for(&format!("listening on {path}"));

    let cli_out = Output::new();
    let sink = cli_out.sink();
    let cli_path = path.clone();
    run("control_socket cli", &cli_out, move || {
        example::run(
            args(&[
                "cli",
                &cli_path,
                "set colour blue",
                "get colour",
                "get size",
                "list",
                "who",
                "shutdown",
            ]),
            sink,
        )
    });
    daemon.join();

    let pid = std::process::id();
    cli_out.assert_in_order(&[
        "set colour blue -> ok",
        "get colour -> blue",
        "get size -> error: no size",
        "list -> colour=blue",
    ]);
    let who = cli_out.wait_for("who -> ");
    if cfg!(any(target_os = "linux", target_os = "android")) {
        assert!(who.starts_with(&format!("who -> pid={pid} uid=")), "{who}");
    }
    cli_out.assert_in_order(&["shutdown -> bye"]);
    daemon_out.assert_in_order(&[
        "command: set colour blue",
        "command: shutdown",
        "stopped; socket file removed: true",
    ]);
    assert!(!std::path::Path::new(&path).exists());
}
