//! `cargo xtask bench [--net] [--full] [--rounds N] [FILTER]`: run the
//! criterion benches, then print one table of netproto against its
//! baselines.
//!
//! * Parser benches (`benches/parsers.rs`) always run; `--net` adds the
//!   loopback network benches (`benches/network.rs`).
//! * Quick mode by default (short warm-up and measurement, 10 samples: a few
//!   minutes on two cores); `--full` uses criterion's default sampling.
//! * Rounds: the network benches run [`NETWORK_ROUNDS`] times by default
//!   and the parser benches once; `--rounds N` sets both. Criterion runs
//!   netproto and its baseline one after the other, so a burst of other
//!   work on a shared machine lands on one of them; with several rounds
//!   each row reports the round with the median ratio, and the spread of
//!   the ratio over the rounds.
//! * `FILTER` is passed to criterion (a regular expression on bench ids).
//! * With `--net` and no filter, the memory of idle connections is measured
//!   too: netproto-tokio's `idle_connections` example (release build) holds
//!   [`IDLE_PLAIN`] plain and [`IDLE_TLS`] TLS connections open on a
//!   server and reports the heap and resident memory each costs.
//!
//! The table is built from criterion's own files,
//! `target/criterion/<group>/<implementation>/<param>/new/{benchmark,estimates}.json`,
//! keeping only those written by this run. In a group, implementations whose
//! name starts with `netproto` are measured and every other one is a
//! baseline; rows pair them at equal parameters. The same table goes to
//! `target/bench-report.md` with the date and machine; criterion's HTML
//! report stays in `target/criterion/report/index.html`.
//!
//! No serde here: the two JSON files are scanned by hand for the few fields
//! needed.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use crate::{cargo, run_cmd, workspace_root};

/// Criterion options of the quick mode. Fewer bootstrap resamples than
/// criterion's 100,000 matter most: with them, analysing and plotting a
/// bench took ~8 s here, several times its measurement (only the mean is
/// reported, and it does not depend on resampling).
const QUICK: &[&str] = &[
    "--warm-up-time",
    "0.3",
    "--measurement-time",
    "0.8",
    "--sample-size",
    "10",
    "--nresamples",
    "5000",
];

/// Features each bench target is built with (the optional parts of the
/// benches are behind them).
const PARSER_FEATURES: &str = "json";
const NETWORK_FEATURES: &str = "sync,tokio,async-std,tls";

/// Rounds of the network benches unless `--rounds` says otherwise: a
/// round of them takes under a minute in quick mode, and loopback round
/// trips are what a busy machine disturbs most (one round's ratio swung
/// from 0.75 to 0.94 here while the median held).
const NETWORK_ROUNDS: usize = 5;

/// Idle connections held by the memory measurement, plain and TLS (each
/// costs a file descriptor in the server and one in the client process).
const IDLE_PLAIN: usize = 5000;
const IDLE_TLS: usize = 1000;
/// The tokio driver's goal for an idle plain connection's heap.
const IDLE_HEAP_GOAL: f64 = 4096.0;

const USAGE: &str = "usage: cargo xtask bench [--net] [--full] [--rounds N] [FILTER]";

struct Options {
    net: bool,
    full: bool,
    /// `--rounds N`: rounds of every bench target.
    rounds: Option<usize>,
    filter: Option<String>,
}

impl Options {
    fn parser_rounds(&self) -> usize {
        self.rounds.unwrap_or(1)
    }

    fn network_rounds(&self) -> usize {
        self.rounds.unwrap_or(NETWORK_ROUNDS)
    }
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        net: false,
        full: false,
        rounds: None,
        filter: None,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--net" => options.net = true,
            "--full" => options.full = true,
            "--rounds" => {
                let rounds = args
                    .next()
                    .and_then(|n| n.parse::<usize>().ok())
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("--rounds needs a positive count\n{USAGE}"))?;
                options.rounds = Some(rounds);
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            filter if options.filter.is_none() => options.filter = Some(filter.to_owned()),
            extra => return Err(format!("only one FILTER is allowed (got {extra:?} too)")),
        }
    }
    Ok(options)
}

pub fn run(args: &[String]) -> Result<(), String> {
    let options = parse_args(args)?;
    let load_before = load_average();
    let criterion = target_dir().join("criterion");
    let mut rows = rounds_of(
        "parsers",
        PARSER_FEATURES,
        options.parser_rounds(),
        &options,
    )?;
    if options.net {
        rows.extend(rounds_of(
            "network",
            NETWORK_FEATURES,
            options.network_rounds(),
            &options,
        )?);
    }
    if rows.is_empty() {
        return Err("no criterion results from this run (does the filter match any bench?)".into());
    }
    rows.sort_by_key(row_key);
    let mut table = render(&rows);
    if options.net && options.filter.is_none() {
        let idle = [
            idle_memory(IDLE_PLAIN, false)?,
            idle_memory(IDLE_TLS, true)?,
        ];
        table.push('\n');
        table.push_str(&render_idle(&idle));
    }
    println!("\n{table}");
    let load = format!("{load_before} before, {} after", load_average());
    let report = report(&options, &table, &rows, &load);
    let path = target_dir().join("bench-report.md");
    fs::write(&path, report).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("report: {}", path.display());
    println!(
        "criterion's HTML report: {}",
        criterion.join("report/index.html").display()
    );
    Ok(())
}

/// Run bench target `bench` `rounds` times; its rows, each the median
/// round's when there are several.
fn rounds_of(
    bench: &str,
    features: &str,
    rounds: usize,
    options: &Options,
) -> Result<Vec<Row>, String> {
    let criterion = target_dir().join("criterion");
    let mut all = Vec::new();
    for round in 1..=rounds {
        if rounds > 1 {
            println!("\n==> {bench} benches, round {round} of {rounds}");
        }
        // Criterion's files written from now on belong to this round (with
        // a margin for coarse file-system timestamps; a file of the round
        // before that falls in the margin is one this round rewrites).
        let started = SystemTime::now() - Duration::from_secs(2);
        run_bench(bench, features, options)?;
        let results: Vec<Measured> = collect(&criterion, started)?
            .into_iter()
            .filter(|m| m.target_is(bench))
            .collect();
        all.push(pair(&results));
    }
    Ok(median_rows(all))
}

fn run_bench(bench: &str, features: &str, options: &Options) -> Result<(), String> {
    let mut cmd = cargo();
    cmd.args([
        "bench",
        "-p",
        "netproto",
        "--bench",
        bench,
        "--features",
        features,
        "--",
    ]);
    if !options.full {
        cmd.args(QUICK);
    }
    if let Some(filter) = &options.filter {
        cmd.arg(filter);
    }
    run_cmd(&mut cmd)
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}

/// One criterion benchmark's result.
#[derive(Debug, Clone)]
struct Measured {
    group: String,
    function: String,
    param: String,
    /// Bytes per iteration.
    bytes: Option<f64>,
    /// Mean time per iteration, in nanoseconds.
    mean_ns: f64,
}

impl Measured {
    fn bytes_per_sec(&self) -> Option<f64> {
        self.bytes.map(|b| b / (self.mean_ns * 1e-9))
    }

    /// Packets per iteration, from a parameter such as `1KiB x512`.
    fn packets(&self) -> Option<f64> {
        let count = self.param.rsplit(" x").next()?;
        count.parse::<f64>().ok()
    }

    fn packets_per_sec(&self) -> Option<f64> {
        Some(self.packets()? / (self.mean_ns * 1e-9))
    }

    fn is_subject(&self) -> bool {
        self.function.starts_with("netproto")
    }

    /// Whether this result comes from bench target `bench` (`parsers` or
    /// `network`), told by its group: the network groups are the loopback
    /// scenarios and the in-memory TLS pump.
    fn target_is(&self, bench: &str) -> bool {
        let family = self.group.split('/').next().unwrap_or("");
        let network = ["echo_1client", "echo_8clients", "bulk", "tls_memory"].contains(&family);
        network == (bench == "network")
    }
}

/// Every `new/benchmark.json` under `dir` written after `since`.
fn collect(dir: &Path, since: SystemTime) -> Result<Vec<Measured>, String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "benchmark.json")
                && path.parent().is_some_and(|p| p.ends_with("new"))
            {
                let fresh = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t >= since);
                if fresh {
                    found.push(read_result(&path)?);
                }
            }
        }
    }
    found.sort_by(|a, b| {
        (&a.group, size_key(&a.param), &a.function).cmp(&(
            &b.group,
            size_key(&b.param),
            &b.function,
        ))
    });
    Ok(found)
}

/// Sort parameters by the size they start with (`16B` < `1KiB` < `1MiB`).
fn size_key(param: &str) -> (u64, String) {
    let head = param.split_whitespace().next().unwrap_or("");
    let digits: String = head.chars().take_while(char::is_ascii_digit).collect();
    let unit = &head[digits.len()..];
    let scale = match unit {
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => 1,
    };
    let value = digits.parse::<u64>().unwrap_or(u64::MAX / (1 << 30));
    (value * scale, param.to_owned())
}

fn read_result(benchmark_json: &Path) -> Result<Measured, String> {
    let read = |path: &Path| {
        fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let bench = read(benchmark_json)?;
    let estimates = read(&benchmark_json.with_file_name("estimates.json"))?;
    let bad = |what: &str| format!("{}: no {what}", benchmark_json.display());
    let group = json_string(&bench, "group_id").ok_or_else(|| bad("group_id"))?;
    let function = json_string(&bench, "function_id").unwrap_or_default();
    let param = json_string(&bench, "value_str").unwrap_or_default();
    let bytes = bench
        .find("\"throughput\"")
        .and_then(|at| json_number(&bench[at..], "Bytes"));
    let mean_at = estimates.find("\"mean\"").ok_or_else(|| bad("mean"))?;
    let mean_ns = json_number(&estimates[mean_at..], "point_estimate")
        .ok_or_else(|| bad("mean point_estimate"))?;
    Ok(Measured {
        group,
        function,
        param,
        bytes,
        mean_ns,
    })
}

/// The string value of the first `"key":` in `text` (`null` gives `None`).
fn json_string(text: &str, key: &str) -> Option<String> {
    let value = json_value_start(text, key)?;
    let rest = value.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

/// The number value of the first `"key":` in `text`.
fn json_number(text: &str, key: &str) -> Option<f64> {
    let value = json_value_start(text, key)?;
    let end = value
        .find(|c: char| !(c.is_ascii_digit() || "+-.eE".contains(c)))
        .unwrap_or(value.len());
    value[..end].parse().ok()
}

fn json_value_start<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let quoted = format!("\"{key}\"");
    let at = text.find(&quoted)? + quoted.len();
    let rest = text[at..].trim_start().strip_prefix(':')?;
    Some(rest.trim_start())
}

/// One line of the table.
struct Row {
    subject: Measured,
    baseline: Option<Measured>,
    goal: Option<f64>,
    /// Over several rounds: the lowest and highest ratio, and how many
    /// rounds measured this row.
    spread: Option<(f64, f64, usize)>,
}

impl Row {
    /// netproto throughput / baseline throughput (= baseline time / our
    /// time, as both move the same bytes).
    fn ratio(&self) -> Option<f64> {
        let baseline = self.baseline.as_ref()?;
        Some(baseline.mean_ns / self.subject.mean_ns)
    }

    fn met(&self) -> Option<bool> {
        Some(self.ratio()? >= self.goal?)
    }
}

/// Pair every subject with every baseline of the same group and parameter.
fn pair(results: &[Measured]) -> Vec<Row> {
    let mut rows = Vec::new();
    for subject in results.iter().filter(|r| r.is_subject()) {
        let baselines: Vec<&Measured> = results
            .iter()
            .filter(|r| !r.is_subject() && r.group == subject.group && r.param == subject.param)
            .collect();
        if baselines.is_empty() {
            rows.push(Row {
                subject: subject.clone(),
                baseline: None,
                goal: None,
                spread: None,
            });
        }
        for baseline in baselines {
            rows.push(Row {
                subject: subject.clone(),
                baseline: Some(baseline.clone()),
                goal: goal(subject, baseline),
                spread: None,
            });
        }
    }
    rows
}

/// What identifies a row from one round to the next: group, size,
/// implementation, baseline.
type RowKey = (String, (u64, String), String, String);

/// A row's key, in table order.
fn row_key(row: &Row) -> RowKey {
    let s = &row.subject;
    let baseline = row.baseline.as_ref().map_or("", |b| b.function.as_str());
    (
        s.group.clone(),
        size_key(&s.param),
        s.function.clone(),
        baseline.to_owned(),
    )
}

/// Fold the rows of several rounds into one row each: the round with the
/// median ratio (the median time, for a row without a baseline; the lower
/// middle one for an even count), with the ratio's spread.
fn median_rows(rounds: Vec<Vec<Row>>) -> Vec<Row> {
    if rounds.len() == 1 {
        return rounds.into_iter().next().unwrap_or_default();
    }
    let mut by_key: Vec<(RowKey, Vec<Row>)> = Vec::new();
    for row in rounds.into_iter().flatten() {
        let key = row_key(&row);
        match by_key.iter_mut().find(|(k, _)| *k == key) {
            Some((_, rows)) => rows.push(row),
            None => by_key.push((key, vec![row])),
        }
    }
    by_key
        .into_iter()
        .filter_map(|(_, mut rows)| {
            // Ordered by ratio, or by time when there is no baseline.
            let score = |r: &Row| r.ratio().unwrap_or(1.0 / r.subject.mean_ns);
            rows.sort_by(|a, b| score(a).total_cmp(&score(b)));
            let spread = match (rows.first()?.ratio(), rows.last()?.ratio()) {
                (Some(low), Some(high)) => Some((low, high, rows.len())),
                _ => None,
            };
            let mut median = rows.swap_remove((rows.len() - 1) / 2);
            median.spread = spread;
            Some(median)
        })
        .collect()
}

/// The goals of issue 7, reported against (never asserted).
fn goal(subject: &Measured, baseline: &Measured) -> Option<f64> {
    let group = subject.group.as_str();
    let size = subject.param.split_whitespace().next().unwrap_or("");
    let (family, mode) = group.split_once('/').unwrap_or((group, ""));
    let ours = subject.function == "netproto";
    match (family, baseline.function.as_str()) {
        // Delimiter framing on 64 B and 1 KiB lines (decoding).
        ("delimiter_lf", theirs)
            if ours && mode.starts_with("decode") && matches!(size, "64B" | "1KiB") =>
        {
            match theirs {
                "LinesCodec" => Some(2.0),
                "AnyDelimiterCodec" => Some(1.5),
                _ => None,
            }
        }
        // Length prefix at every size, decoding and encoding.
        ("length_u32_be", "LengthDelimitedCodec") if ours => Some(1.0),
        // One 16 MiB frame in 1 KiB reads within 2x of one read.
        ("worst_case", "one read (netproto)") if ours => Some(0.5),
        // Network: echo against the hand-written loop of the same runtime,
        // bulk against raw.
        (family, _) if family.starts_with("echo") || family.starts_with("udp_echo") => Some(0.95),
        (family, _) if family.starts_with("bulk") => Some(0.8),
        _ => None,
    }
}

/// What one idle-connection measurement reported.
struct IdleMemory {
    tls: bool,
    connections: usize,
    /// Live heap bytes per connection.
    heap: f64,
    /// Resident set growth per connection, where `/proc` tells.
    resident: Option<f64>,
}

/// Run the `idle_connections` example with `connections` connections and
/// read the per-connection figures it prints.
fn idle_memory(connections: usize, tls: bool) -> Result<IdleMemory, String> {
    let mut cmd = cargo();
    cmd.args([
        "run",
        "--release",
        "--quiet",
        "-p",
        "netproto-tokio",
        "--features",
        "tls",
        "--example",
        "idle_connections",
        "--",
    ]);
    cmd.arg(connections.to_string());
    if tls {
        cmd.arg("--tls");
    }
    let shown = format!("{cmd:?}").replace('"', "");
    eprintln!("\n==> {shown}");
    let output = cmd
        .current_dir(workspace_root())
        .output()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{shown} failed with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    parse_idle(&stdout, connections, tls)
        .ok_or_else(|| format!("{shown} printed no per-connection heap figure"))
}

/// The figures of the `idle_connections` example's output.
fn parse_idle(stdout: &str, connections: usize, tls: bool) -> Option<IdleMemory> {
    let figure = |prefix: &str| {
        stdout
            .lines()
            .find_map(|line| line.strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<f64>().ok())
    };
    Some(IdleMemory {
        tls,
        connections,
        heap: figure("heap per idle connection: ")?,
        resident: figure("resident memory per idle connection: "),
    })
}

fn render_idle(idle: &[IdleMemory]) -> String {
    let mut out = String::new();
    out.push_str("| idle tokio server connections | connections | heap per connection | resident per connection | goal |\n");
    out.push_str("|---|---:|---:|---:|---|\n");
    for m in idle {
        let goal = match (m.tls, m.heap <= IDLE_HEAP_GOAL) {
            (true, _) => String::new(),
            (false, true) => "≤ 4 KiB met".to_owned(),
            (false, false) => "≤ 4 KiB **missed**".to_owned(),
        };
        let resident = m
            .resident
            .map_or_else(|| "—".to_owned(), |r| format!("{r:.0} B"));
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} B | {resident} | {goal} |",
            if m.tls { "TLS" } else { "plain" },
            m.connections,
            m.heap,
        );
    }
    out
}

fn human(value: f64, unit: &str) -> String {
    let (scaled, prefix) = match value {
        v if v >= 1e9 => (v / 1e9, "G"),
        v if v >= 1e6 => (v / 1e6, "M"),
        v if v >= 1e3 => (v / 1e3, "k"),
        v => (v, ""),
    };
    format!("{scaled:.2} {prefix}{unit}")
}

/// Throughput in binary units (MiB/s), as criterion prints it.
fn human_bytes(value: Option<f64>) -> String {
    let Some(value) = value else {
        return "—".to_owned();
    };
    let (scaled, unit) = match value {
        v if v >= (1u64 << 30) as f64 => (v / (1u64 << 30) as f64, "GiB/s"),
        v if v >= (1u64 << 20) as f64 => (v / (1u64 << 20) as f64, "MiB/s"),
        v => (v / 1024.0, "KiB/s"),
    };
    format!("{scaled:.2} {unit}")
}

fn render(rows: &[Row]) -> String {
    let mut out = String::new();
    out.push_str(
        "| bench | size × packets | netproto | netproto packets/s | baseline | baseline throughput | ratio | goal |\n",
    );
    out.push_str("|---|---|---:|---:|---|---:|---:|---|\n");
    for row in rows {
        let s = &row.subject;
        let bench = if s.function == "netproto" {
            s.group.clone()
        } else {
            format!("{} — {}", s.group, s.function)
        };
        let packets = s
            .packets_per_sec()
            .map_or_else(|| "—".to_owned(), |p| human(p, "pkt/s"));
        let (baseline, baseline_tp) = match &row.baseline {
            Some(b) => (b.function.clone(), human_bytes(b.bytes_per_sec())),
            None => ("—".to_owned(), "—".to_owned()),
        };
        let ratio = match (row.ratio(), row.spread) {
            (None, _) => "—".to_owned(),
            (Some(r), None) => format!("{r:.2}×"),
            (Some(r), Some((low, high, n))) => format!("{r:.2}× ({low:.2}–{high:.2}, {n} rounds)"),
        };
        let goal = match (row.goal, row.met()) {
            (Some(goal), Some(true)) => format!("≥ {goal:.2}× met"),
            (Some(goal), _) => format!("≥ {goal:.2}× **missed**"),
            (None, _) => String::new(),
        };
        let _ = writeln!(
            out,
            "| {bench} | {} | {} | {packets} | {baseline} | {baseline_tp} | {ratio} | {goal} |",
            s.param,
            human_bytes(s.bytes_per_sec()),
        );
    }
    out
}

/// Output of a command, trimmed, or `unknown`.
fn command_output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

fn cpu_model() -> String {
    fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The 1-minute load average (`/proc/loadavg`): other work on the machine
/// makes latency-bound benches noisy, and the report says how busy it was.
fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}

fn report(options: &Options, table: &str, rows: &[Row], load: &str) -> String {
    let date = command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let arch = command_output("uname", &["-m"]);
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let rustc = command_output("rustc", &["--version"]);
    let mode = if options.full {
        "full (criterion's default sampling)"
    } else {
        "quick (warm-up 0.3 s, measurement 0.8 s, 10 samples, 5,000 resamples)"
    };
    let with_goal: Vec<&Row> = rows.iter().filter(|r| r.goal.is_some()).collect();
    let met = with_goal.iter().filter(|r| r.met() == Some(true)).count();
    let mut out = String::new();
    let _ = writeln!(out, "# netproto benchmarks\n");
    let _ = writeln!(out, "- date: {date}");
    let _ = writeln!(
        out,
        "- machine: `{arch}`, {cpu} ({cpus} CPUs)",
        cpu = cpu_model()
    );
    let _ = writeln!(out, "- {rustc}");
    let _ = writeln!(out, "- load average (1 min): {load}");
    let _ = writeln!(
        out,
        "- command: `cargo xtask bench{}{}{}`, {mode}",
        if options.net { " --net" } else { "" },
        if options.full { " --full" } else { "" },
        options
            .filter
            .as_ref()
            .map_or_else(String::new, |f| format!(" {f}")),
    );
    let _ = writeln!(
        out,
        "- rounds: parser benches {}{}",
        options.parser_rounds(),
        if options.net {
            format!(", network benches {}", options.network_rounds())
        } else {
            String::new()
        }
    );
    let _ = writeln!(out, "- goals met: {met} of {}\n", with_goal.len());
    out.push_str(
        "Throughput is wire bytes per second; ratio = netproto throughput / baseline \
         throughput, both measured in this run on identical input; with several rounds, \
         a row is the round with the median ratio, followed by the lowest and highest \
         ratio of the rounds. Sizes are packet payloads; `× N` is the packets per iteration (packets/s derives from it). \
         Criterion's HTML report, with plots, is in `target/criterion/report/index.html`.\n\n",
    );
    out.push_str(table);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_criterion_json() {
        let bench = r#"{"group_id":"delimiter_lf/decode_oneshot","function_id":"netproto (utf8)","value_str":"1KiB x512","throughput":{"Bytes":524800},"full_id":"x","directory_name":"y","title":"t \"q\""}"#;
        assert_eq!(
            json_string(bench, "group_id").unwrap(),
            "delimiter_lf/decode_oneshot"
        );
        assert_eq!(json_string(bench, "title").unwrap(), "t \"q\"");
        assert_eq!(json_number(bench, "Bytes"), Some(524800.0));
        let estimates = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":3.0},"point_estimate":2.5e3,"standard_error":0.1},"median":{"point_estimate":9.0}}"#;
        let at = estimates.find("\"mean\"").unwrap();
        assert_eq!(
            json_number(&estimates[at..], "point_estimate"),
            Some(2500.0)
        );
    }

    #[test]
    fn pairs_subjects_with_baselines_and_goals() {
        let r = |function: &str, mean_ns: f64| Measured {
            group: "delimiter_lf/decode_chunked".into(),
            function: function.into(),
            param: "64B x8192".into(),
            bytes: Some(532480.0),
            mean_ns,
        };
        let rows = pair(&[r("netproto", 100.0), r("LinesCodec", 250.0)]);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].ratio(), Some(2.5));
        assert_eq!(rows[0].goal, Some(2.0));
        assert_eq!(rows[0].met(), Some(true));
        assert_eq!(rows[0].subject.packets(), Some(8192.0));
        assert!(size_key("16B x1") < size_key("1KiB x1"));
        assert_eq!(rows[0].spread, None);
        assert!(size_key("64KiB x1") < size_key("1MiB x1"));
    }

    #[test]
    fn udp_echo_rows_pair_with_their_loop_against_the_echo_goal() {
        let r = |function: &str, mean_ns: f64| Measured {
            group: "udp_echo_8clients/tokio".into(),
            function: function.into(),
            param: "128B x8".into(),
            bytes: Some(1024.0),
            mean_ns,
        };
        let rows = pair(&[r("netproto", 100.0), r("tokio UdpSocket", 90.0)]);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].goal, Some(0.95));
        assert_eq!(rows[0].met(), Some(false));
    }

    #[test]
    fn several_rounds_report_the_median_ratio_and_its_spread() {
        let r = |function: &str, mean_ns: f64| Measured {
            group: "echo_1client/tokio".into(),
            function: function.into(),
            param: "128B x1".into(),
            bytes: Some(128.0),
            mean_ns,
        };
        // Ratios 0.5, 2.0 and 1.0 in three rounds.
        let rounds = vec![
            pair(&[r("netproto", 200.0), r("tokio Framed", 100.0)]),
            pair(&[r("netproto", 50.0), r("tokio Framed", 100.0)]),
            pair(&[r("netproto", 100.0), r("tokio Framed", 100.0)]),
        ];
        let rows = median_rows(rounds);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].ratio(), Some(1.0));
        assert_eq!(rows[0].spread, Some((0.5, 2.0, 3)));
        assert!(render(&rows).contains("1.00× (0.50–2.00, 3 rounds)"));
        assert!(r("netproto", 1.0).target_is("network"));
        assert!(!r("netproto", 1.0).target_is("parsers"));
    }

    #[test]
    fn reads_the_idle_connection_figures() {
        let stdout = "transport: Plain\nidle connections: 500\n\
            heap per idle connection: 3108 bytes (live heap bytes, counting allocator)\n\
            resident memory per idle connection: 3770 bytes (/proc/self/statm)\n";
        let m = parse_idle(stdout, 500, false).unwrap();
        assert_eq!((m.heap, m.resident), (3108.0, Some(3770.0)));
        assert!(render_idle(&[m]).contains("| plain | 500 | 3108 B | 3770 B | ≤ 4 KiB met |"));
        assert!(parse_idle("idle connections: 500\n", 500, false).is_none());
    }

    #[test]
    fn rounds_are_parsed() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let options = parse_args(&args(&["--net", "--rounds", "5", "echo"])).unwrap();
        assert_eq!((options.parser_rounds(), options.network_rounds()), (5, 5));
        assert_eq!(options.filter.as_deref(), Some("echo"));
        let options = parse_args(&args(&["--net"])).unwrap();
        assert_eq!(
            (options.parser_rounds(), options.network_rounds()),
            (1, NETWORK_ROUNDS)
        );
        assert!(parse_args(&args(&["--rounds", "0"])).is_err());
        assert!(parse_args(&args(&["--rounds"])).is_err());
    }
}
