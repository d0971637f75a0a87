//! `file_transfer`: its client sends a 3 MiB file to its server, which
//! stores an identical copy; and the server refuses names that would leave
//! its directory.

#[allow(dead_code)]
#[path = "../../examples/file_transfer.rs"]
mod example;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::support::{Output, args, run, spawn, temp_dir};

/// Bytes that are not all alike (xorshift), so a misplaced piece shows.
fn contents(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

#[test]
fn a_large_file_arrives_whole_with_a_matching_checksum() {
    let dir = temp_dir("file_transfer");
    let source = dir.join("telescope-log.bin");
    let original = contents(3 * 1024 * 1024 + 17);
    std::fs::write(&source, &original).unwrap();
    let inbox = dir.join("inbox");

    let server_out = Output::new();
    let sink = server_out.sink();
    let inbox_arg = inbox.to_str().unwrap().to_owned();
    let server = spawn("file_transfer server", &server_out, move || {
        example::run(
            args(&["server", "--dir", &inbox_arg, "--once", "127.0.0.1:0"]),
            sink,
        )
    });
    let address = server_out.listening_address().to_string();

    let client_out = Output::new();
    let sink = client_out.sink();
    let source_arg = source.to_str().unwrap().to_owned();
    run("file_transfer client", &client_out, move || {
        example::run(args(&["client", &source_arg, &address]), sink)
    });
    server.join();

    assert_eq!(
        std::fs::read(inbox.join("telescope-log.bin")).unwrap(),
        original
    );
    assert!(!inbox.join("telescope-log.bin.part").exists());
    client_out.assert_in_order(&[
        "sending telescope-log.bin (3145745 bytes) to 127.0.0.1:",
        "[####################] 100% 3.0/3.0 MiB\n",
        "server: stored telescope-log.bin: 3145745 bytes, fnv1a64 ",
        "checksums match",
    ]);
    server_out.assert_in_order(&[
        "receiving telescope-log.bin (3145745 bytes)",
        "] 100% 3.0/3.0 MiB\n",
        "stored telescope-log.bin (3145745 bytes) from 127.0.0.1:",
    ]);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_small_file_needs_no_progress_bar() {
    let dir = temp_dir("file_transfer_small");
    let source = dir.join("note.txt");
    std::fs::write(&source, "a small note\n").unwrap();
    let inbox = dir.join("inbox");

    let server_out = Output::new();
    let sink = server_out.sink();
    let inbox_arg = inbox.to_str().unwrap().to_owned();
    let server = spawn("file_transfer server", &server_out, move || {
        example::run(
            args(&["server", "--dir", &inbox_arg, "--once", "127.0.0.1:0"]),
            sink,
        )
    });
    let address = server_out.listening_address().to_string();
    let client_out = Output::new();
    let sink = client_out.sink();
    let source_arg = source.to_str().unwrap().to_owned();
    run("file_transfer client", &client_out, move || {
        example::run(args(&["client", &source_arg, &address]), sink)
    });
    server.join();

    assert_eq!(
        std::fs::read_to_string(inbox.join("note.txt")).unwrap(),
        "a small note\n"
    );
    assert!(client_out.text().contains("checksums match"));
    assert!(!client_out.text().contains('%'));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_server_refuses_a_name_that_leaves_its_directory() {
    let dir = temp_dir("file_transfer_escape");
    let inbox = dir.join("inbox");
    let server_out = Output::new();
    let sink = server_out.sink();
    let inbox_arg = inbox.to_str().unwrap().to_owned();
    let server = spawn("file_transfer server", &server_out, move || {
        example::run(
            args(&["server", "--dir", &inbox_arg, "--once", "127.0.0.1:0"]),
            sink,
        )
    });

    // The wire format by hand: name, newline, 8-byte size, contents.
    let mut stream = TcpStream::connect(server_out.listening_address()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut message = b"../escaped.txt\n".to_vec();
    message.extend_from_slice(&5u64.to_be_bytes());
    message.extend_from_slice(b"oops!");
    stream.write_all(&message).unwrap();
    let mut answer = String::new();
    let mut byte = [0];
    while !answer.ends_with('\n') && stream.read(&mut byte).unwrap() == 1 {
        answer.push(byte[0] as char);
    }
    assert_eq!(answer, "error: refusing file name \"../escaped.txt\"\n");
    drop(stream);
    server.join();
    assert!(!dir.join("escaped.txt").exists());
    let _ = std::fs::remove_dir_all(dir);
}
