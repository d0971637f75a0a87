//! `binary_telemetry`: its client reads the samples its server streams.

#[allow(dead_code)]
#[path = "../../examples/binary_telemetry.rs"]
mod example;

use crate::support::{Output, args, run, spawn};

#[test]
fn the_client_reads_every_sample() {
    let server_out = Output::new();
    let sink = server_out.sink();
    let server = spawn("binary_telemetry server", &server_out, move || {
        example::run(
            args(&[
                "server",
                "--count",
                "4",
                "--interval",
                "0",
                "--once",
                "127.0.0.1:0",
            ]),
            sink,
        )
    });
    let address = server_out.listening_address().to_string();

    let client_out = Output::new();
    let sink = client_out.sink();
    run("binary_telemetry client", &client_out, move || {
        example::run(args(&["client", &address]), sink)
    });
    server.join();

    client_out.assert_in_order(&[
        "connected to 127.0.0.1:",
        // time (a double), then 1, -2 and 1 as big-endian 64-bit integers.
        " 0000000000000001 fffffffffffffffe 0000000000000001\n",
        "sample 1: time=",
        " encoders=[1, -2, 1]",
        "sample 4: time=",
        " encoders=[4, -8, 16]",
        "4 samples received",
    ]);
    server_out.assert_in_order(&[
        "each sample is 32 bytes",
        "streaming 4 samples to 127.0.0.1:",
        "done with 127.0.0.1:",
    ]);
}
