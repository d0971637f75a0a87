//! `quickstart`: the README demo, both ends in one process.

#[allow(dead_code)]
#[path = "../../examples/quickstart.rs"]
mod example;

use crate::support::{Output, args, run};

#[test]
fn quickstart_prints_the_whole_exchange() {
    let out = Output::new();
    let sink = out.sink();
    run("quickstart", &out, move || example::run(args(&[]), sink));
    out.assert_in_order(&[
        "server listening on 127.0.0.1:",
        "client connected from 127.0.0.1:",
        "client -> Sum { numbers: [1.0, 2.0, 3.5] }",
        "client <- Number(6.5)",
        "client -> Upper { text: \"hello, netproto\" }",
        "client <- Text(\"HELLO, NETPROTO\")",
        "client -> Max { numbers: [] }",
        "client <- Error(\"max of no numbers\")",
        "client closed, server stopped",
    ]);
    assert!(
        out.text()
            .contains("server <- Sum { numbers: [1.0, 2.0, 3.5] } from 127.0.0.1:")
    );
}
