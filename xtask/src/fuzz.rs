//! `cargo xtask fuzz [--seconds N] [--stable] [--sanitizer address|none] [TARGET...]`
//!
//! Runs each cargo-fuzz target in `fuzz/` (or only the ones named) for N
//! seconds (default 30), then prints per target the executions, execs/s,
//! corpus size and crashes, from libFuzzer's final stats. Exits non-zero if
//! any target crashed (or failed to build or run).
//!
//! * Installs cargo-fuzz (`cargo install cargo-fuzz --locked`) if missing.
//! * Uses the nightly toolchain when rustup has one (`cargo +nightly fuzz`),
//!   with AddressSanitizer. Otherwise (or with `--stable`) it runs on stable
//!   with `RUSTC_BOOTSTRAP=1 CARGO_CACHE_RUSTC_INFO=0`, trying
//!   AddressSanitizer first and falling back to `--sanitizer none` (which
//!   finds less) if that build fails. The summary says which mode ran.
//! * Builds are optimised with debug assertions and overflow checks on
//!   (`-O -a`), so arithmetic overflow is a crash, not a silent wrap.
//! * Every run of a target is appended to the campaign log
//!   `fuzz/campaign.tsv` (kept in the repository: date, target, sanitizer,
//!   seconds, executions, crashes), so that runs over several sessions add
//!   up; the summary gives each target's executions so far against the
//!   goal of [`GOAL`], and `cargo xtask fuzz --report` prints it alone.
//! * `--until-goal` runs every target named (or all) that is short of the
//!   goal, in runs of N seconds (default 300 in this mode), the targets
//!   closest to the goal first (by the rate the log shows), each until it
//!   reaches the goal; stop it at any time, every run is logged.
//! * Seeds committed under `fuzz/seeds/<target>/` and the minimised corpus
//!   committed under `fuzz/minimised/<target>/` are copied into the working
//!   corpus `fuzz/corpus/<target>/` (ignored by git) before a run; after the
//!   run, the inputs of the working corpus that reach coverage the
//!   minimised corpus lacks are merged into it (libFuzzer's `-merge=1`), so
//!   that later sessions start where this one ended. Crash inputs land in
//!   `fuzz/artifacts/<target>/`, logs in `fuzz/target/xtask-logs/`.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::{cargo, workspace_root};

const USAGE: &str = "usage: cargo xtask fuzz [--seconds N] [--until-goal] [--stable] [--sanitizer address|none] [--report] [TARGET...]";

/// Executions per target the campaign aims at, over all runs.
pub const GOAL: u64 = 10_000_000;

/// The campaign log, relative to the workspace root.
const CAMPAIGN_LOG: &str = "fuzz/campaign.tsv";

struct Options {
    seconds: Option<u64>,
    until_goal: bool,
    force_stable: bool,
    sanitizer: Option<String>,
    report: bool,
    targets: Vec<String>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        seconds: None,
        until_goal: false,
        force_stable: false,
        sanitizer: None,
        report: false,
        targets: Vec::new(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" | "-s" => {
                let value = args.next().ok_or("--seconds needs a value")?;
                options.seconds =
                    Some(
                        value.parse().ok().filter(|&n| n > 0).ok_or_else(|| {
                            format!("--seconds: {value:?} is not a positive number")
                        })?,
                    );
            }
            "--until-goal" => options.until_goal = true,
            "--stable" => options.force_stable = true,
            "--report" => options.report = true,
            "--sanitizer" => {
                let value = args.next().ok_or("--sanitizer needs a value")?;
                options.sanitizer = Some(value.clone());
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}\n{USAGE}")),
            target => options.targets.push(target.to_owned()),
        }
    }
    Ok(options)
}

impl Options {
    /// Seconds per run: as given, or 30 (300 with `--until-goal`).
    fn run_seconds(&self) -> u64 {
        self.seconds
            .unwrap_or(if self.until_goal { 300 } else { 30 })
    }
}

/// How cargo-fuzz is invoked.
struct Mode {
    /// `cargo +nightly fuzz`, or stable with `RUSTC_BOOTSTRAP=1`.
    nightly: bool,
    sanitizer: String,
}

impl Mode {
    fn describe(&self) -> String {
        let toolchain = if self.nightly {
            "nightly (cargo +nightly fuzz)"
        } else {
            "stable with RUSTC_BOOTSTRAP=1 CARGO_CACHE_RUSTC_INFO=0"
        };
        let sanitizer = match self.sanitizer.as_str() {
            "none" => "no sanitizer (--sanitizer none: finds less)".to_owned(),
            other => format!("sanitizer {other}"),
        };
        format!("{toolchain}, {sanitizer}, release with debug assertions (-O -a)")
    }

    /// `cargo fuzz <subcommand> ... <target>` in this mode, from the
    /// workspace root.
    fn cargo_fuzz(&self, subcommand: &str, target: &str) -> Command {
        let mut cmd = if self.nightly {
            // The rustup proxy; cargo-fuzz's own `cargo` calls then resolve
            // to nightly too.
            let mut cmd = Command::new("cargo");
            cmd.arg("+nightly").env_remove("RUSTUP_TOOLCHAIN");
            cmd
        } else {
            // The cargo running this xtask, first on PATH so that the
            // `cargo` cargo-fuzz calls (and its `rustc`) are the same
            // toolchain's, whatever rustup's default is.
            let cargo = cargo();
            let mut cmd = Command::new(cargo.get_program());
            if let Some(dir) = Path::new(cargo.get_program())
                .parent()
                .filter(|d| d.is_dir())
            {
                let path = std::env::var_os("PATH").unwrap_or_default();
                let paths = std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&path));
                if let Ok(joined) = std::env::join_paths(paths) {
                    cmd.env("PATH", joined);
                }
            }
            cmd.env("RUSTC_BOOTSTRAP", "1")
                .env("CARGO_CACHE_RUSTC_INFO", "0");
            cmd
        };
        // The toolchain that runs this xtask must not leak into the one
        // cargo-fuzz runs.
        for var in ["CARGO", "RUSTC", "RUSTDOC"] {
            cmd.env_remove(var);
        }
        cmd.args([
            "fuzz",
            subcommand,
            "-O",
            "-a",
            "--sanitizer",
            &self.sanitizer,
            target,
        ])
        .current_dir(workspace_root());
        cmd
    }
}

/// What one run of one target produced.
struct Outcome {
    target: String,
    executions: Option<u64>,
    execs_per_sec: Option<u64>,
    corpus_files: usize,
    new_artifacts: Vec<PathBuf>,
    /// Why the run counts as failed without an artifact (build failure,
    /// unexpected exit).
    failure: Option<String>,
    log: PathBuf,
}

impl Outcome {
    fn crashed(&self) -> bool {
        !self.new_artifacts.is_empty() || self.failure.is_some()
    }
}

pub fn run(args: &[String]) -> Result<(), String> {
    let options = parse(args)?;
    let root = workspace_root();
    let fuzz_dir = root.join("fuzz");
    let all = list_targets(&fuzz_dir)?;
    let targets = if options.targets.is_empty() {
        all.clone()
    } else {
        for target in &options.targets {
            if !all.contains(target) {
                return Err(format!(
                    "no fuzz target {target:?}; targets: {}",
                    all.join(", ")
                ));
            }
        }
        options.targets.clone()
    };
    let campaign = root.join(CAMPAIGN_LOG);
    if options.report {
        let text = fs::read_to_string(&campaign).unwrap_or_default();
        print!("{}", render_campaign(&all, &campaign_totals(&text)));
        return Ok(());
    }

    ensure_cargo_fuzz()?;
    let mut mode = choose_mode(&options);
    eprintln!("\nfuzz mode: {}", mode.describe());

    // Build every target up front, so build time does not eat fuzzing time
    // and a stable toolchain that cannot build with ASan falls back early.
    for target in &targets {
        if let Err(err) = build(&mode, target) {
            let can_fall_back =
                !mode.nightly && options.sanitizer.is_none() && mode.sanitizer != "none";
            if !can_fall_back {
                return Err(err);
            }
            eprintln!("\nAddressSanitizer build failed on stable ({err}); using --sanitizer none");
            mode.sanitizer = "none".to_owned();
            eprintln!("fuzz mode: {}", mode.describe());
            build(&mode, target)?;
        }
    }

    let logs = fuzz_dir.join("target").join("xtask-logs");
    fs::create_dir_all(&logs).map_err(|e| format!("cannot create {}: {e}", logs.display()))?;
    let seconds = options.run_seconds();
    let mut outcomes = Vec::new();
    if options.until_goal {
        let text = fs::read_to_string(&campaign).unwrap_or_default();
        let order = goal_order(&targets, &campaign_totals(&text));
        eprintln!(
            "\n{} targets short of the goal, closest first: {}",
            order.len(),
            order.join(", ")
        );
        for target in &order {
            loop {
                let text = fs::read_to_string(&campaign).unwrap_or_default();
                let done = campaign_totals(&text)
                    .get(target)
                    .is_some_and(|t| t.executions >= GOAL);
                if done {
                    break;
                }
                let outcome = fuzz_one(&mode, &fuzz_dir, &logs, target, seconds)?;
                log_run(&campaign, &mode, seconds, &outcome)?;
                let stop = outcome.crashed() || outcome.executions.unwrap_or(0) == 0;
                outcomes.push(outcome);
                if stop {
                    break;
                }
            }
        }
    } else {
        for target in &targets {
            let outcome = fuzz_one(&mode, &fuzz_dir, &logs, target, seconds)?;
            // Logged as each target ends, so an interrupted campaign keeps
            // what it did.
            log_run(&campaign, &mode, seconds, &outcome)?;
            outcomes.push(outcome);
        }
    }

    print_summary(&mode, seconds, &outcomes);
    let text = fs::read_to_string(&campaign).unwrap_or_default();
    print!("\n{}", render_campaign(&all, &campaign_totals(&text)));
    let crashed: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.crashed())
        .map(|o| o.target.as_str())
        .collect();
    if crashed.is_empty() {
        Ok(())
    } else {
        Err(format!("crashes or failures in: {}", crashed.join(", ")))
    }
}

/// The targets: one file each in `fuzz/fuzz_targets/`.
fn list_targets(fuzz_dir: &Path) -> Result<Vec<String>, String> {
    let dir = fuzz_dir.join("fuzz_targets");
    let entries = fs::read_dir(&dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut targets: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            name.strip_suffix(".rs").map(str::to_owned)
        })
        .collect();
    targets.sort();
    if targets.is_empty() {
        return Err(format!("no fuzz targets in {}", dir.display()));
    }
    Ok(targets)
}

fn ensure_cargo_fuzz() -> Result<(), String> {
    let installed = cargo()
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if installed {
        return Ok(());
    }
    eprintln!("cargo-fuzz is not installed: installing it");
    crate::run_cmd(cargo().args(["install", "cargo-fuzz", "--locked"]))
}

fn choose_mode(options: &Options) -> Mode {
    let toolchains = Command::new("rustup")
        .args(["toolchain", "list"])
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned());
    let has_nightly = toolchains
        .as_deref()
        .is_some_and(|list| list.lines().any(|line| line.starts_with("nightly")));
    let nightly = has_nightly && !options.force_stable;
    Mode {
        nightly,
        sanitizer: options
            .sanitizer
            .clone()
            .unwrap_or_else(|| "address".to_owned()),
    }
}

fn build(mode: &Mode, target: &str) -> Result<(), String> {
    crate::run_cmd(&mut mode.cargo_fuzz("build", target))
}

fn fuzz_one(
    mode: &Mode,
    fuzz_dir: &Path,
    logs: &Path,
    target: &str,
    seconds: u64,
) -> Result<Outcome, String> {
    let corpus = fuzz_dir.join("corpus").join(target);
    let artifacts = fuzz_dir.join("artifacts").join(target);
    for dir in [&corpus, &artifacts] {
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let minimised = fuzz_dir.join("minimised").join(target);
    let seeded = copy_seeds(&fuzz_dir.join("seeds").join(target), &corpus, "seed-")?
        + copy_seeds(&minimised, &corpus, "")?;
    let before = files_in(&artifacts);
    let log = logs.join(format!("{target}.log"));
    let log_file =
        fs::File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let log_err = log_file
        .try_clone()
        .map_err(|e| format!("cannot open {}: {e}", log.display()))?;

    let mut cmd = mode.cargo_fuzz("run", target);
    cmd.arg("--").args([
        format!("-max_total_time={seconds}"),
        "-print_final_stats=1".to_owned(),
        // A single input running this long is a hang, not slowness.
        "-timeout=25".to_owned(),
        "-rss_limit_mb=2560".to_owned(),
    ]);
    cmd.stdout(log_file).stderr(log_err);
    eprintln!(
        "\n==> fuzzing {target} for {seconds} s ({seeded} new seeds; log {})",
        log.display()
    );
    let started = Instant::now();
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start cargo fuzz run {target}: {e}"))?;
    let text = fs::read_to_string(&log).unwrap_or_default();
    // Inputs libFuzzer wrote this run: new files, and any it names in the
    // log (an input found again has the same name as last time).
    let mut new_artifacts: BTreeSet<PathBuf> =
        files_in(&artifacts).difference(&before).cloned().collect();
    new_artifacts.extend(written_units(&text));
    let new_artifacts: Vec<PathBuf> = new_artifacts.into_iter().collect();
    let failure = (!status.success() && new_artifacts.is_empty()).then(|| {
        format!(
            "cargo fuzz run exited with {status} after {:.0} s",
            started.elapsed().as_secs_f64()
        )
    });
    if !status.success() {
        eprintln!("--- {target} failed; end of its log:");
        let lines: Vec<&str> = text.lines().collect();
        for line in &lines[lines.len().saturating_sub(40)..] {
            eprintln!("{line}");
        }
    }
    if status.success() {
        merge_corpus(mode, logs, target, &corpus, &minimised)?;
    }
    Ok(Outcome {
        target: target.to_owned(),
        executions: final_stat(&text, "number_of_executed_units"),
        execs_per_sec: final_stat(&text, "average_exec_per_sec"),
        corpus_files: files_in(&corpus).len(),
        new_artifacts,
        failure,
        log,
    })
}

/// A value from libFuzzer's `-print_final_stats=1` output
/// (`stat::number_of_executed_units: 1234`), the last if there are several.
fn final_stat(log: &str, name: &str) -> Option<u64> {
    log.lines()
        .filter_map(|line| line.trim().strip_prefix("stat::")?.strip_prefix(name))
        .filter_map(|rest| rest.strip_prefix(':')?.trim().parse().ok())
        .next_back()
}

/// The inputs libFuzzer says it wrote (`... Test unit written to PATH`):
/// crashes, leaks, timeouts, out-of-memory.
fn written_units(log: &str) -> Vec<PathBuf> {
    log.lines()
        .filter_map(|line| {
            line.split_once("Test unit written to ")
                .map(|(_, path)| path.trim())
        })
        .filter(|path| !path.is_empty())
        .map(PathBuf::from)
        .collect()
}

/// Merge into the committed minimised corpus the inputs of the working
/// corpus that add coverage to it (libFuzzer's `-merge=1`: the first
/// directory keeps its files and gains only inputs with new features).
fn merge_corpus(
    mode: &Mode,
    logs: &Path,
    target: &str,
    corpus: &Path,
    minimised: &Path,
) -> Result<(), String> {
    fs::create_dir_all(minimised)
        .map_err(|e| format!("cannot create {}: {e}", minimised.display()))?;
    let before = files_in(minimised).len();
    let log = logs.join(format!("{target}.merge.log"));
    let log_file =
        fs::File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let log_err = log_file
        .try_clone()
        .map_err(|e| format!("cannot open {}: {e}", log.display()))?;
    let mut cmd = mode.cargo_fuzz("run", target);
    cmd.arg(minimised)
        .arg(corpus)
        .args(["--", "-merge=1", "-timeout=25", "-rss_limit_mb=2560"])
        .stdout(log_file)
        .stderr(log_err);
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start the corpus merge of {target}: {e}"))?;
    if !status.success() {
        return Err(format!(
            "merging the corpus of {target} failed ({status}); see {}",
            log.display()
        ));
    }
    eprintln!(
        "    minimised corpus of {target}: {before} -> {} inputs",
        files_in(minimised).len()
    );
    Ok(())
}

/// Copy committed inputs into the working corpus under `prefix` + their
/// name (keeping files already there); returns how many were copied.
fn copy_seeds(seeds: &Path, corpus: &Path, prefix: &str) -> Result<usize, String> {
    let mut copied = 0;
    for seed in files_in(seeds) {
        let Some(name) = seed.file_name() else {
            continue;
        };
        let dest = corpus.join(format!("{prefix}{}", name.to_string_lossy()));
        if !dest.exists() {
            fs::copy(&seed, &dest).map_err(|e| {
                format!("cannot copy {} to {}: {e}", seed.display(), dest.display())
            })?;
            copied += 1;
        }
    }
    Ok(copied)
}

fn files_in(dir: &Path) -> BTreeSet<PathBuf> {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.is_file())
                .collect()
        })
        .unwrap_or_default()
}

fn print_summary(mode: &Mode, seconds: u64, outcomes: &[Outcome]) {
    let show = |n: Option<u64>| n.map_or_else(|| "-".to_owned(), |n| n.to_string());
    println!(
        "\nfuzz summary: {seconds} s per target; {}",
        mode.describe()
    );
    println!(
        "{:<28} {:>12} {:>9} {:>8} {:>8}",
        "target", "executions", "execs/s", "corpus", "crashes"
    );
    for o in outcomes {
        let crashes = if o.failure.is_some() {
            "FAILED".to_owned()
        } else {
            o.new_artifacts.len().to_string()
        };
        println!(
            "{:<28} {:>12} {:>9} {:>8} {:>8}",
            o.target,
            show(o.executions),
            show(o.execs_per_sec),
            o.corpus_files,
            crashes
        );
    }
    let total: u64 = outcomes.iter().filter_map(|o| o.executions).sum();
    println!("{:<28} {:>12}", "total", total);
    for o in outcomes.iter().filter(|o| o.crashed()) {
        println!("\n{}: see {}", o.target, o.log.display());
        if let Some(failure) = &o.failure {
            println!("  {failure}");
        }
        for artifact in &o.new_artifacts {
            let toolchain = if mode.nightly { "+nightly " } else { "" };
            println!(
                "  reproduce: cargo {toolchain}fuzz run -O -a --sanitizer {} {} {}",
                mode.sanitizer,
                o.target,
                artifact.display()
            );
        }
    }
}

/// Append one run to the campaign log (its header first if it is new).
fn log_run(path: &Path, mode: &Mode, seconds: u64, outcome: &Outcome) -> Result<(), String> {
    use std::io::Write;
    let new = !path.exists();
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut text = String::new();
    if new {
        text.push_str("# date\ttarget\tsanitizer\tseconds\texecutions\tcrashes\n");
    }
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let crashes = outcome.new_artifacts.len() + usize::from(outcome.failure.is_some());
    text.push_str(&format!(
        "{}\t{}\t{}\t{}\t{}\t{}\n",
        date.trim(),
        outcome.target,
        mode.sanitizer,
        seconds,
        outcome.executions.unwrap_or(0),
        crashes
    ));
    file.write_all(text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// One target's runs in the campaign log, added up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Totals {
    executions: u64,
    crashes: u64,
    seconds: u64,
}

impl Totals {
    /// Seconds still needed to reach [`GOAL`] at the rate logged so far
    /// (`None` for a target never run).
    fn seconds_to_goal(&self) -> Option<u64> {
        let missing = GOAL.saturating_sub(self.executions);
        if missing == 0 {
            return Some(0);
        }
        (self.executions > 0 && self.seconds > 0)
            .then(|| missing.saturating_mul(self.seconds) / self.executions)
    }
}

/// Executions, crashes and seconds per target over every run in the
/// campaign log.
fn campaign_totals(log: &str) -> std::collections::BTreeMap<String, Totals> {
    let mut totals = std::collections::BTreeMap::new();
    for line in log
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let fields: Vec<&str> = line.split('\t').collect();
        if let [_, target, _, seconds, executions, crashes] = fields.as_slice() {
            let entry: &mut Totals = totals.entry((*target).to_owned()).or_default();
            entry.executions += executions.parse::<u64>().unwrap_or(0);
            entry.crashes += crashes.parse::<u64>().unwrap_or(0);
            entry.seconds += seconds.parse::<u64>().unwrap_or(0);
        }
    }
    totals
}

/// The targets short of the goal, the ones closest to it first (targets
/// never run last, in the order given).
fn goal_order(
    targets: &[String],
    totals: &std::collections::BTreeMap<String, Totals>,
) -> Vec<String> {
    let mut short: Vec<(u64, &String)> = targets
        .iter()
        .filter_map(|t| {
            let totals = totals.get(t).copied().unwrap_or_default();
            match totals.seconds_to_goal() {
                Some(0) => None,
                Some(s) => Some((s, t)),
                None => Some((u64::MAX, t)),
            }
        })
        .collect();
    short.sort_by_key(|&(seconds, _)| seconds);
    short.into_iter().map(|(_, t)| t.clone()).collect()
}

/// The campaign so far: every target, its executions against [`GOAL`].
fn render_campaign(
    targets: &[String],
    totals: &std::collections::BTreeMap<String, Totals>,
) -> String {
    let mut out = format!(
        "fuzz campaign so far ({CAMPAIGN_LOG}; goal {GOAL} executions per target)\n{:<28} {:>13} {:>9} {:>8} {:>11}\n",
        "target", "executions", "execs/s", "crashes", "goal"
    );
    let mut sum = 0;
    let mut to_goal = 0;
    for target in targets {
        let t = totals.get(target).copied().unwrap_or_default();
        sum += t.executions;
        let rate = t
            .executions
            .checked_div(t.seconds)
            .map_or_else(|| "-".to_owned(), |r| r.to_string());
        let goal = match t.seconds_to_goal() {
            Some(0) => "met".to_owned(),
            Some(s) => {
                to_goal += s;
                format!("{:.1} h more", s as f64 / 3600.0)
            }
            None => "not run".to_owned(),
        };
        out.push_str(&format!(
            "{target:<28} {:>13} {rate:>9} {:>8} {goal:>11}\n",
            t.executions, t.crashes
        ));
    }
    let met = targets
        .iter()
        .filter(|t| totals.get(*t).is_some_and(|t| t.executions >= GOAL))
        .count();
    out.push_str(&format!(
        "{:<28} {sum:>13}          {met}/{} targets at the goal\n",
        "total",
        targets.len()
    ));
    out.push_str(&format!(
        "(at the rates logged, the targets short of the goal need {:.1} core-hours more)\n",
        to_goal as f64 / 3600.0
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn options_parse() {
        let o = parse(&args(&["--seconds", "60", "endpoint", "framer_raw"])).unwrap();
        assert_eq!(o.run_seconds(), 60);
        assert!(!o.until_goal);
        assert_eq!(o.targets, ["endpoint", "framer_raw"]);
        assert!(!o.force_stable && o.sanitizer.is_none() && !o.report);
        assert!(parse(&args(&["--report"])).unwrap().report);
        let o = parse(&args(&["--stable", "--sanitizer", "none"])).unwrap();
        assert!(o.force_stable);
        assert_eq!(o.sanitizer.as_deref(), Some("none"));
        assert_eq!(parse(&[]).unwrap().run_seconds(), 30);
        let o = parse(&args(&["--until-goal"])).unwrap();
        assert!(o.until_goal);
        assert_eq!(o.run_seconds(), 300);
        assert!(parse(&args(&["--seconds", "0"])).is_err());
        assert!(parse(&args(&["--seconds"])).is_err());
        assert!(parse(&args(&["--bogus"])).is_err());
    }

    #[test]
    fn the_campaign_adds_runs_up() {
        let log = "# date\ttarget\tsanitizer\tseconds\texecutions\tcrashes\n\
                   2026-12-02T05:00:00Z\tframer_raw\tnone\t60\t6000000\t0\n\
                   2026-12-02T06:00:00Z\tframer_raw\taddress\t60\t5000000\t1\n\
                   2026-12-02T06:00:00Z\tendpoint\tnone\t60\t700\t0\n";
        let totals = campaign_totals(log);
        assert_eq!(
            totals["framer_raw"],
            Totals {
                executions: 11_000_000,
                crashes: 1,
                seconds: 120
            }
        );
        assert_eq!(totals["endpoint"].executions, 700);
        // 700 in 60 s: the rest of 10 M takes 857 082 s (rounded down).
        assert_eq!(totals["endpoint"].seconds_to_goal(), Some(857_082));
        assert_eq!(totals["framer_raw"].seconds_to_goal(), Some(0));
        let targets = [
            "endpoint".to_owned(),
            "framer_raw".to_owned(),
            "new".to_owned(),
        ];
        let report = render_campaign(&targets, &totals);
        assert!(report.contains("1/3 targets at the goal"), "{report}");
        let raw = report
            .lines()
            .find(|l| l.starts_with("framer_raw"))
            .unwrap();
        assert!(raw.contains("11000000") && raw.ends_with("met"), "{raw}");
        let new = report.lines().find(|l| l.starts_with("new")).unwrap();
        assert!(
            new.split_whitespace()
                .eq(["new", "0", "-", "0", "not", "run"]),
            "{new}"
        );
        assert!(report.contains("need 238.1 core-hours more"), "{report}");
        // Closest to the goal first; never run last; met left out.
        let log = format!("{log}2026-12-02T07:00:00Z\tfast\tnone\t10\t5000000\t0\n");
        let targets = targets.to_vec();
        let mut with_fast = targets.clone();
        with_fast.push("fast".to_owned());
        assert_eq!(
            goal_order(&with_fast, &campaign_totals(&log)),
            ["fast", "endpoint", "new"]
        );
    }

    #[test]
    fn final_stats_are_read_from_the_log() {
        let log = "#1000\tDONE   cov: 5 ft: 6 corp: 7/1Kb exec/s: 99 rss: 30Mb\n\
                   Done 1000 runs in 11 second(s)\n\
                   stat::number_of_executed_units: 1000\n\
                   stat::average_exec_per_sec:     90\n\
                   stat::new_units_added:          3\n";
        assert_eq!(final_stat(log, "number_of_executed_units"), Some(1000));
        assert_eq!(final_stat(log, "average_exec_per_sec"), Some(90));
        assert_eq!(final_stat(log, "peak_rss_mb"), None);
        assert_eq!(final_stat("", "average_exec_per_sec"), None);
    }

    #[test]
    fn written_units_are_read_from_the_log() {
        let log = "==1== ERROR: libFuzzer: deadly signal\n\
                   MS: 1 ChangeBit-; base unit: 0000\n\
                   artifact_prefix='/w/fuzz/artifacts/t/'; Test unit written to /w/fuzz/artifacts/t/crash-ab12\n\
                   Base64: AQAAAAA=\n";
        assert_eq!(
            written_units(log),
            [PathBuf::from("/w/fuzz/artifacts/t/crash-ab12")]
        );
        assert!(written_units("Done 10 runs in 1 second(s)").is_empty());
    }
}
