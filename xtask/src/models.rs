//! `cargo xtask models` (also a step of `cargo xtask ci`) and
//! `cargo xtask miri`: the core's concurrency models under shuttle, and
//! its unit tests under Miri.

use std::process::Command;
use std::time::Instant;

use crate::{cargo, run_cmd, workspace_root};

/// Run netproto-core's model-checking tests (`src/models/`): its unit tests
/// built with `--cfg shuttle`, which swaps the library's locks and atomics
/// for shuttle's. A target directory of their own, as the flag changes
/// every crate's build.
pub fn models() -> Result<(), String> {
    let started = Instant::now();
    run_cmd(
        cargo()
            .args([
                "test",
                "-p",
                "netproto-core",
                "--features",
                "tls",
                "--lib",
                "models::",
            ])
            .env("RUSTFLAGS", "--cfg shuttle")
            .env("CARGO_TARGET_DIR", workspace_root().join("target/shuttle")),
    )?;
    eprintln!(
        "xtask models: the concurrency models passed in {:.0} s (build included)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Run netproto-core's unit tests under Miri on the nightly toolchain
/// (`rustup component add --toolchain nightly miri` first). Tests marked
/// `#[cfg_attr(miri, ignore)]` (real I/O, long property runs) are skipped.
/// Not part of `ci`: it takes minutes.
pub fn miri(args: &[String]) -> Result<(), String> {
    let started = Instant::now();
    // Through rustup: the `cargo` running this xtask is the stable one.
    let mut cmd = Command::new("rustup");
    cmd.args([
        "run",
        "nightly",
        "cargo",
        "miri",
        "test",
        "-p",
        "netproto-core",
        "--lib",
    ])
    .args(args)
    .env_remove("CARGO")
    .env_remove("RUSTC")
    .env("CARGO_TARGET_DIR", workspace_root().join("target/miri"));
    run_cmd(&mut cmd)?;
    eprintln!(
        "xtask miri: netproto-core's unit tests passed under Miri in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
