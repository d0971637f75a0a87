//! `cargo xtask ci`: everything CI checks, in the order that fails fastest.

use crate::{cargo, run_cmd};

/// Feature sets of netproto-core that must compile on their own.
const CORE_FEATURE_SETS: &[&str] = &[
    "",
    "tls",
    "json",
    "cbor",
    "msgpack",
    "base64",
    "compression",
    "json,base64,compression",
];

/// Feature sets of the facade that users pick.
const FACADE_FEATURE_SETS: &[&str] = &[
    "sync",
    "tokio",
    "async-std",
    "smol",
    "sync,tls",
    "tokio,tls,json",
];

pub fn run(args: &[String]) -> Result<(), String> {
    let quick = args.iter().any(|a| a == "--quick");
    run_cmd(cargo().args(["fmt", "--all", "--check"]))?;
    run_cmd(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ]))?;
    if !quick {
        for features in CORE_FEATURE_SETS {
            run_cmd(cargo().args([
                "check",
                "--quiet",
                "-p",
                "netproto-core",
                "--no-default-features",
                "--features",
                features,
            ]))?;
        }
        for features in FACADE_FEATURE_SETS {
            run_cmd(cargo().args([
                "check",
                "--quiet",
                "-p",
                "netproto",
                "--no-default-features",
                "--features",
                features,
            ]))?;
        }
    }
    // The fuzz workspace is separate; check its shared harness so an API
    // change in the core cannot leave the fuzz targets behind unnoticed.
    run_cmd(cargo().args([
        "check",
        "--quiet",
        "--manifest-path",
        "fuzz/Cargo.toml",
        "--no-default-features",
        "--all-targets",
    ]))?;
    run_cmd(cargo().args(["test", "--workspace", "--all-features"]))?;
    run_cmd(
        cargo()
            .args(["doc", "--workspace", "--all-features", "--no-deps"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    eprintln!("\nxtask ci: all checks passed");
    Ok(())
}
