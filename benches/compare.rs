//! The project's one benchmark: each operation of ours against a peer construct, measured in the
//! same process and interleaved round by round, so that machine noise hits both sides alike.
//!
//! ```text
//! cargo bench --all-features --bench compare -- [--quick] [--list] [--with-python]
//!     [--json PATH] [--markdown PATH] [--chart PATH] [NAME...]
//! ```
//! * `--quick`: fewer, shorter rounds (the whole run stays well under a minute).
//! * `NAME...`: run only the ops whose name contains one of these strings.
//! * `--with-python`: also run the same operations on the Python async-kernel, newest release and
//!   0.10.3 (`bench/python/run.sh`, which makes its virtual environments under `target/python/`
//!   on first use), and add our speed-up over each.
//! * `--json PATH`: where the JSON report goes (default `target/compare.json`).
//! * `--markdown PATH`: where the Markdown table goes (default `target/compare.md`), ready to
//!   paste into the README.
//! * `--chart PATH`: where the SVG chart goes (default `docs/performance.svg` for a full run of
//!   every op, `target/performance.svg` otherwise).
//!
//! Prints a table (median per iteration of ours and of the peer, p10–p90 spread over the rounds,
//! ratio ours/peer, goal, in how many rounds the goal was met, pass/miss) and writes the same rows
//! as a JSON list of `{ "op", "ours_ns", "peer", "peer_ns", "ratio", "goal", "unit", ... }`.
//!
//! Rows marked `contended` run while one CPU-bound thread per core (started and stopped by the
//! benchmark, see [`Burners`]) competes for the CPUs.
//!
//! # Adding an op
//! Add an [`Op`] to [`ops`]. A timed op gives two factories ([`Factory`]); each builds a
//! [`Runner`] once (spawn helper threads there) that runs `iters` iterations per call and
//! returns the time they took. Set `pinned` for cross-thread ops: the op is then measured on a
//! thread pinned to core 0 ([`pin_to_core`]), and every thread its factories spawn inherits the
//! pin. An op with a natural unit (10k `to_thread` jobs through one stream, 100k `queue_call`s
//! then one wait) sets `batch`: every batch is then a whole multiple of it, and the figure is
//! still per item. A heap op gives two [`HeapProbe`]s. Per-item costs at growing sizes go in
//! [`scaling_ops`] (two factories, each runner called with `iters` = the size).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_kernel::Pending;
use async_kernel::caller::{
    Async, Backend, Caller, CallerOptions, Items, Modifier, QueuedFunction,
};
use futures::StreamExt;
use futures::channel::oneshot;
use futures::executor::block_on;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

// The CPU load of the `_contended` rows, shared with the guard test.
#[path = "../tests/load_support/mod.rs"]
mod load_support;
use load_support::Burners;

/// Counts every heap allocation of the process, for the heap ops. Both sides of a timed op pay
/// the same few relaxed atomic adds per allocation.
#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

// ---------------------------------------------------------------------------------------------
// Framework
// ---------------------------------------------------------------------------------------------

/// Runs `iters` iterations of one side of an op and returns the time they took (set-up that
/// should not count may happen before the clock starts).
type Runner = Box<dyn FnMut(u64) -> Duration>;

/// Builds a [`Runner`], once per op run: helper threads and shared state are made here.
type Factory = fn() -> Runner;

/// Heap bytes taken by `n` live items of one side (allocated minus freed, divided by `n`).
type HeapProbe = fn(usize) -> f64;

/// What an op measures, for ours and for the peer.
enum Measure {
    /// Nanoseconds per iteration.
    Time { ours: Factory, peer: Factory },
    /// Heap bytes per item.
    Heap { ours: HeapProbe, peer: HeapProbe },
}

/// When an op passes.
#[derive(Clone, Copy)]
enum Goal {
    /// Ours divided by the peer's is at most this.
    RatioAtMost(f64),
    /// Ours is at most this, in the op's unit; the peer is shown for scale.
    AbsoluteAtMost(f64),
    /// Ours per item is within this fraction (0.2: ±20%) of ours per item at the smallest size
    /// of the same scaling series.
    FlatWithin(f64),
    /// No goal: shown for information (for example an unpinned twin of a pinned op).
    Info,
}

impl Goal {
    /// Whether `ours` (and `ratio` = ours/peer; `baseline`, ours at the smallest size of a
    /// scaling series) meet the goal.
    fn passes(self, ours: f64, ratio: f64, baseline: Option<f64>) -> bool {
        match self {
            Goal::RatioAtMost(max) => ratio <= max,
            Goal::AbsoluteAtMost(max) => ours <= max,
            Goal::FlatWithin(frac) => baseline.is_none_or(|b| (ours / b - 1.0).abs() <= frac),
            Goal::Info => true,
        }
    }

    /// The goal as the table shows it.
    fn describe(self, unit: &str) -> String {
        match self {
            Goal::RatioAtMost(max) => format!("ratio <= {max:.2}"),
            Goal::AbsoluteAtMost(max) => format!("ours <= {max} {unit}"),
            Goal::FlatWithin(frac) => format!("flat ±{:.0}%", frac * 100.0),
            Goal::Info => "info".to_owned(),
        }
    }

    /// The goal's number, for the JSON report.
    fn value(self) -> f64 {
        match self {
            Goal::RatioAtMost(x) | Goal::AbsoluteAtMost(x) | Goal::FlatWithin(x) => x,
            Goal::Info => f64::NAN,
        }
    }

    /// `"ratio"`, `"absolute"`, `"flat"` or `"info"`, for the JSON report.
    fn kind(self) -> &'static str {
        match self {
            Goal::RatioAtMost(_) => "ratio",
            Goal::AbsoluteAtMost(_) => "absolute",
            Goal::FlatWithin(_) => "flat",
            Goal::Info => "info",
        }
    }
}

/// One comparison.
struct Op {
    /// Short name, used for filtering and in the report.
    name: &'static str,
    /// What ours is compared with.
    peer: &'static str,
    /// When it passes.
    goal: Goal,
    /// Measure with every thread pinned to core 0 (cross-thread ops: wake-ups across cores on
    /// small VMs are bimodal and would swamp the comparison).
    pinned: bool,
    /// Measure while one CPU-bound thread per core runs ([`Burners`]).
    contended: bool,
    /// Batches hold a whole multiple of this many iterations (1 for most ops): the op's natural
    /// unit, such as 10k `to_thread` jobs through one `as_completed` stream.
    batch: u64,
    /// What to run.
    measure: Measure,
}

/// How long and how often to measure.
struct Config {
    /// Measured rounds per op (each round: one batch of ours and one of the peer).
    rounds: usize,
    /// Wall time one batch of the slower side should take.
    batch_target: Duration,
    /// Items kept alive per heap measurement.
    heap_items: usize,
    /// Repetitions of a heap measurement.
    heap_rounds: usize,
    /// Sizes of the scaling series.
    scaling_sizes: &'static [usize],
    /// Items measured per scaling size and side (at least one whole run of the size).
    scaling_items: usize,
}

impl Config {
    /// Settings for `--quick` or a full run.
    fn new(quick: bool) -> Self {
        if quick {
            Config {
                rounds: 15,
                batch_target: Duration::from_millis(5),
                heap_items: 2_000,
                heap_rounds: 3,
                scaling_sizes: &[1_000, 10_000, 100_000],
                scaling_items: 200_000,
            }
        } else {
            Config {
                rounds: 61,
                batch_target: Duration::from_millis(20),
                heap_items: 20_000,
                heap_rounds: 7,
                scaling_sizes: &[1_000, 10_000, 100_000, 1_000_000],
                scaling_items: 3_000_000,
            }
        }
    }
}

/// Summary of one side's per-round figures.
#[derive(Clone, Copy)]
struct Stats {
    /// Median over the rounds.
    median: f64,
    /// 10th percentile.
    p10: f64,
    /// 90th percentile.
    p90: f64,
    /// Smallest round.
    min: f64,
    /// Largest round.
    max: f64,
}

/// Median, p10–p90 and min–max of `samples` (which must not be empty).
fn summarize(samples: &[f64]) -> Stats {
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    Stats {
        median: percentile(&v, 0.5),
        p10: percentile(&v, 0.1),
        p90: percentile(&v, 0.9),
        min: v[0],
        max: v[v.len() - 1],
    }
}

/// The `q` quantile of sorted `v`, interpolating linearly between neighbours.
fn percentile(v: &[f64], q: f64) -> f64 {
    let pos = q * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// Nanoseconds per iteration of a batch.
fn ns_per_iter(elapsed: Duration, iters: u64) -> f64 {
    elapsed.as_nanos() as f64 / iters as f64
}

/// The batch size that makes the slower of `ours` and `peer` take about `target`: doubles the
/// batch from 1 until it does (this also warms both sides up). Each size is tried twice and the
/// faster try counts: under load one stall of a few milliseconds would otherwise stop the
/// doubling early, and tiny batches would measure the stall instead of the op.
fn calibrate(ours: &mut Runner, peer: &mut Runner, target: Duration) -> u64 {
    let mut iters = 1u64;
    loop {
        let slower = (0..2)
            .map(|_| ours(iters).max(peer(iters)))
            .min()
            .unwrap_or_default();
        if slower >= target || iters >= 1 << 40 {
            // Scale to the target from the last measurement.
            let scale = target.as_secs_f64() / slower.as_secs_f64().max(1e-9);
            return ((iters as f64 * scale).ceil() as u64).max(1);
        }
        iters *= 2;
    }
}

/// Runs `rounds` rounds of one batch each of `ours` and `peer`, alternating which goes first
/// (ours, peer, peer, ours, …) so neither always benefits from a warm cache; returns the
/// ns/iter of every round for each side.
fn interleave(
    ours: &mut Runner,
    peer: &mut Runner,
    iters: u64,
    rounds: usize,
) -> (Vec<f64>, Vec<f64>) {
    let mut a = Vec::with_capacity(rounds);
    let mut b = Vec::with_capacity(rounds);
    for round in 0..rounds {
        if round % 2 == 0 {
            a.push(ns_per_iter(ours(iters), iters));
            b.push(ns_per_iter(peer(iters), iters));
        } else {
            b.push(ns_per_iter(peer(iters), iters));
            a.push(ns_per_iter(ours(iters), iters));
        }
    }
    (a, b)
}

/// In how many rounds ours met the goal by itself (round `i` of ours against round `i` of the
/// peer): how often a ratio goal holds, where the median alone hides it.
fn rounds_meeting(goal: Goal, ours: &[f64], peer: &[f64]) -> usize {
    ours.iter()
        .zip(peer)
        .filter(|(a, b)| goal.passes(**a, **a / **b, None))
        .count()
}

/// Net heap bytes allocated while `f` runs (what it keeps alive), divided by `n`.
fn heap_per_item(n: usize, f: impl FnOnce()) -> f64 {
    let region = Region::new(GLOBAL);
    f();
    let change = region.change();
    let net = change.bytes_allocated as f64 - change.bytes_deallocated as f64
        + change.bytes_reallocated as f64;
    net / n as f64
}

/// Pins the calling thread to CPU `core`; threads it spawns afterwards inherit the pin (Linux
/// affinity masks are inherited). Returns false when the core does not exist or pinning failed.
fn pin_to_core(core: usize) -> bool {
    core_affinity::set_for_current(core_affinity::CoreId { id: core })
}

/// One line of the report.
struct Row {
    /// The op's name.
    op: String,
    /// The peer's name.
    peer: &'static str,
    /// `"ns"` (per iteration or item) or `"bytes"` (per item).
    unit: &'static str,
    /// Our figures.
    ours: Stats,
    /// The peer's figures.
    theirs: Stats,
    /// The goal.
    goal: Goal,
    /// Ours at the smallest size of the row's scaling series (scaling rows only).
    baseline: Option<f64>,
    /// Rounds in which ours met the goal by itself.
    rounds_met: usize,
    /// Iterations per batch (0 for heap ops; items per size for scaling rows).
    iters: u64,
    /// Rounds measured.
    rounds: usize,
    /// Whether the op ran pinned to one core.
    pinned: bool,
    /// Whether CPU-bound threads competed with it.
    contended: bool,
    /// The Python async-kernel's figure for the same op, by version (`--with-python`).
    python: Vec<(String, f64)>,
}

impl Row {
    /// Median of ours over median of the peer's.
    fn ratio(&self) -> f64 {
        self.ours.median / self.theirs.median
    }

    /// Whether the goal is met.
    fn passes(&self) -> bool {
        self.goal
            .passes(self.ours.median, self.ratio(), self.baseline)
    }

    /// The row as a JSON object.
    fn to_json(&self) -> serde_json::Value {
        let python: serde_json::Map<String, serde_json::Value> = self
            .python
            .iter()
            .map(|(version, ns)| {
                (
                    version.clone(),
                    serde_json::json!({ "value": round2(*ns), "speedup": round2(ns / self.ours.median) }),
                )
            })
            .collect();
        serde_json::json!({
            "op": self.op,
            "ours_ns": round2(self.ours.median),
            "peer": self.peer,
            "peer_ns": round2(self.theirs.median),
            "ratio": (self.ratio() * 1000.0).round() / 1000.0,
            "goal": if self.goal.value().is_nan() { serde_json::Value::Null } else { self.goal.value().into() },
            "goal_kind": self.goal.kind(),
            "unit": self.unit,
            "pass": self.passes(),
            "rounds_met": self.rounds_met,
            "ours_p10": round2(self.ours.p10),
            "ours_p90": round2(self.ours.p90),
            "ours_min": round2(self.ours.min),
            "ours_max": round2(self.ours.max),
            "peer_p10": round2(self.theirs.p10),
            "peer_p90": round2(self.theirs.p90),
            "peer_min": round2(self.theirs.min),
            "peer_max": round2(self.theirs.max),
            "iters_per_round": self.iters,
            "rounds": self.rounds,
            "pinned": self.pinned,
            "contended": self.contended,
            "python": python,
        })
    }
}

/// `x` rounded to two decimals.
fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Measures one op (on the calling thread).
fn run_op(op: &Op, cfg: &Config) -> Row {
    let (ours, theirs, rounds_met, iters, rounds, unit) = match op.measure {
        Measure::Time { ours, peer } => {
            let (mut ours, mut peer) = (ours(), peer());
            let iters =
                calibrate(&mut ours, &mut peer, cfg.batch_target).div_ceil(op.batch) * op.batch;
            let (a, b) = interleave(&mut ours, &mut peer, iters, cfg.rounds);
            let met = rounds_meeting(op.goal, &a, &b);
            (summarize(&a), summarize(&b), met, iters, cfg.rounds, "ns")
        }
        Measure::Heap { ours, peer } => {
            let mut a = Vec::with_capacity(cfg.heap_rounds);
            let mut b = Vec::with_capacity(cfg.heap_rounds);
            for _ in 0..cfg.heap_rounds {
                a.push(ours(cfg.heap_items));
                b.push(peer(cfg.heap_items));
            }
            let met = rounds_meeting(op.goal, &a, &b);
            (
                summarize(&a),
                summarize(&b),
                met,
                0,
                cfg.heap_rounds,
                "bytes",
            )
        }
    };
    Row {
        op: op.name.to_owned(),
        peer: op.peer,
        unit,
        ours,
        theirs,
        goal: op.goal,
        baseline: None,
        rounds_met,
        iters,
        rounds,
        pinned: op.pinned,
        contended: op.contended,
        python: Vec::new(),
    }
}

/// Measures `op` on a fresh thread, pinned to core 0 when the op asks for it, so that the pin
/// never leaks into other ops; under load from [`Burners`] when the op is contended.
fn run_op_on_thread(op: &Op, cfg: &Config) -> Row {
    let _burners = op.contended.then(Burners::start);
    on_own_thread(op.name, op.pinned, || run_op(op, cfg))
}

/// Runs `f` on a fresh thread, pinned to core 0 when `pinned` (with every thread it spawns),
/// so that a pin never leaks into what runs next.
fn on_own_thread<R: Send>(name: &str, pinned: bool, f: impl FnOnce() -> R + Send) -> R {
    std::thread::scope(|s| {
        s.spawn(|| {
            if pinned && !pin_to_core(0) {
                eprintln!("warning: could not pin {name} to core 0");
            }
            f()
        })
        .join()
        .expect("benchmark thread panicked")
    })
}

/// Per-item cost of one operation at growing sizes: one whole run of `size` items per
/// measurement (the runner is called with `iters` = `size`), ours and the peer's alternating.
struct ScalingOp {
    /// Row names are this plus the size (`gather_scaling_10k`).
    name: &'static str,
    /// What ours is compared with.
    peer: &'static str,
    /// Builds our runner, once per series.
    ours: Factory,
    /// Builds the peer's runner, once per series.
    peer_run: Factory,
    /// Run on a thread pinned to core 0, with every thread the runners spawn (a cross-thread
    /// series, pinned like the cross-thread ops).
    pinned: bool,
}

/// A size as a row suffix: `1k`, `10k`, `1M`.
fn size_label(n: usize) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

/// Measures a scaling op at every size of `cfg`; the first size is the baseline of the rest.
/// Each size runs `scaling_items / size` times per side, at least 3 (so the 1M rows of a full
/// run are 3 repetitions, after one warm-up run) and at most 200.
fn run_scaling(op: &ScalingOp, cfg: &Config) -> Vec<Row> {
    on_own_thread(op.name, op.pinned, || run_scaling_here(op, cfg))
}

/// [`run_scaling`] on this thread.
fn run_scaling_here(op: &ScalingOp, cfg: &Config) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    let (mut ours, mut peer) = ((op.ours)(), (op.peer_run)());
    for &size in cfg.scaling_sizes {
        let reps = (cfg.scaling_items / size).clamp(3, 200);
        let n = size as u64;
        // Warm-up (and first-touch of the memory a run of this size needs).
        ours(n);
        peer(n);
        let mut a = Vec::with_capacity(reps);
        let mut b = Vec::with_capacity(reps);
        for rep in 0..reps {
            let per_item = |d: Duration| d.as_nanos() as f64 / size as f64;
            if rep % 2 == 0 {
                a.push(per_item(ours(n)));
                b.push(per_item(peer(n)));
            } else {
                b.push(per_item(peer(n)));
                a.push(per_item(ours(n)));
            }
        }
        let goal = Goal::FlatWithin(0.2);
        let baseline = rows.first().map(|r| r.ours.median);
        rows.push(Row {
            op: format!("{}_{}", op.name, size_label(size)),
            peer: op.peer,
            unit: "ns",
            ours: summarize(&a),
            theirs: summarize(&b),
            goal,
            baseline,
            rounds_met: a.iter().filter(|x| goal.passes(**x, 0.0, baseline)).count(),
            iters: size as u64,
            rounds: reps,
            pinned: op.pinned,
            contended: false,
            python: Vec::new(),
        });
    }
    rows
}

/// A figure with its unit, for the table.
fn show(x: f64, unit: &str) -> String {
    match unit {
        "bytes" => format!("{x:.0} B"),
        _ if x >= 10_000.0 => format!("{:.2} µs", x / 1000.0),
        _ => format!("{x:.1} ns"),
    }
}

/// A p10–p90 spread, for the table.
fn spread(s: &Stats, unit: &str) -> String {
    format!("{}–{}", show(s.p10, unit), show(s.p90, unit))
}

/// `pass`, `MISS` or `-` (no goal).
fn verdict(r: &Row) -> &'static str {
    match (r.goal, r.passes()) {
        (Goal::Info, _) => "-",
        (_, true) => "pass",
        (_, false) => "MISS",
    }
}

/// Prints the table header.
fn print_header() {
    println!(
        "{:<30} {:>10} {:>21}  {:<39} {:>10} {:>21} {:>6}  {:<14} {:>7} result",
        "op", "ours", "ours p10–p90", "peer", "peer", "peer p10–p90", "ratio", "goal", "met"
    );
}

/// Prints one row of the table.
fn print_row(r: &Row) {
    println!(
        "{:<30} {:>10} {:>21}  {:<39} {:>10} {:>21} {:>6.2}  {:<14} {:>7} {}",
        r.op,
        show(r.ours.median, r.unit),
        spread(&r.ours, r.unit),
        r.peer,
        show(r.theirs.median, r.unit),
        spread(&r.theirs, r.unit),
        r.ratio(),
        r.goal.describe(r.unit),
        format!("{}/{}", r.rounds_met, r.rounds),
        verdict(r),
    );
}

/// The target directory: `$CARGO_TARGET_DIR`, else `target/` in the package.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"),
    }
}

/// Command-line options.
struct Args {
    /// `--quick`.
    quick: bool,
    /// `--list`: only print the op names.
    list: bool,
    /// `--with-python`.
    with_python: bool,
    /// `--json PATH`.
    json: PathBuf,
    /// `--markdown PATH`.
    markdown: PathBuf,
    /// `--chart PATH`, if given.
    chart: Option<PathBuf>,
    /// Name filters (substrings); empty means every op.
    filters: Vec<String>,
}

/// Parses the arguments (cargo adds `--bench`, which is ignored).
fn parse_args() -> Args {
    let mut args = Args {
        quick: false,
        list: false,
        with_python: false,
        json: target_dir().join("compare.json"),
        markdown: target_dir().join("compare.md"),
        chart: None,
        filters: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => args.quick = true,
            "--list" => args.list = true,
            "--with-python" => args.with_python = true,
            "--json" => args.json = it.next().expect("--json needs a path").into(),
            "--markdown" => args.markdown = it.next().expect("--markdown needs a path").into(),
            "--chart" => args.chart = Some(it.next().expect("--chart needs a path").into()),
            "--bench" => {}
            s if s.starts_with("--") => eprintln!("ignoring unknown option {s}"),
            _ => args.filters.push(a),
        }
    }
    args
}

/// Whether `name` is selected by the filters.
fn selected(args: &Args, name: &str) -> bool {
    args.filters.is_empty() || args.filters.iter().any(|f| name.contains(f.as_str()))
}

/// Writes `text` to `path`, making its folder.
fn write_file(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("create the report's folder");
    }
    std::fs::write(path, text).expect("write the report");
}

/// Parses the arguments, runs the selected ops, prints the table and writes the reports.
fn main() {
    let args = parse_args();
    let all = ops();
    let scaling = scaling_ops();
    let chosen: Vec<&Op> = all.iter().filter(|op| selected(&args, op.name)).collect();
    let chosen_scaling: Vec<&ScalingOp> = scaling
        .iter()
        .filter(|op| selected(&args, op.name))
        .collect();
    if args.list {
        for op in &chosen {
            println!("{}", op.name);
        }
        for op in &chosen_scaling {
            println!("{}_<size>", op.name);
        }
        return;
    }
    let cfg = Config::new(args.quick);
    let started = Instant::now();
    print_header();
    let mut rows = Vec::new();
    for op in chosen {
        let row = run_op_on_thread(op, &cfg);
        print_row(&row);
        rows.push(row);
    }
    for op in chosen_scaling {
        for row in run_scaling(op, &cfg) {
            print_row(&row);
            rows.push(row);
        }
    }
    if args.with_python {
        python::add_columns(&mut rows, args.quick);
    }
    let report = serde_json::Value::Array(rows.iter().map(Row::to_json).collect());
    let text = serde_json::to_string_pretty(&report).expect("JSON of plain numbers and strings");
    write_file(&args.json, &(text + "\n"));
    write_file(&args.markdown, &report::markdown(&rows, args.quick));
    let full_run = !args.quick && args.filters.is_empty();
    let chart = args.chart.clone().unwrap_or_else(|| {
        if full_run {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/performance.svg")
        } else {
            target_dir().join("performance.svg")
        }
    });
    if let Err(e) = report::chart(&rows, &chart, args.quick) {
        eprintln!("warning: could not draw the chart {}: {e}", chart.display());
    }
    let misses = rows.iter().filter(|r| !r.passes()).count();
    println!(
        "{} rows, {} pass, {} miss, in {:.1} s{}; reports: {}, {}, {}",
        rows.len(),
        rows.len() - misses,
        misses,
        started.elapsed().as_secs_f64(),
        if args.quick { " (quick)" } else { "" },
        args.json.display(),
        args.markdown.display(),
        chart.display(),
    );
}

// ---------------------------------------------------------------------------------------------
// Reports: the Markdown table and the chart
// ---------------------------------------------------------------------------------------------

mod report {
    use std::path::Path;

    use plotters::prelude::*;

    use super::{Goal, Row, show, verdict};

    /// The machine, for the table's heading: CPU model and count.
    fn machine() -> String {
        let model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, m)| m.trim().to_owned())
            })
            .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        format!("{cpus} × {model}, {}", std::env::consts::OS)
    }

    /// Today's date (UTC), as `date` prints it.
    fn today() -> String {
        std::process::Command::new("date")
            .args(["-u", "+%Y-%m-%d"])
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "unknown date".to_owned())
    }

    /// The rows as a Markdown table (with a Python column per version when measured).
    pub(super) fn markdown(rows: &[Row], quick: bool) -> String {
        let versions: Vec<String> = rows
            .iter()
            .flat_map(|r| r.python.iter().map(|(v, _)| v.clone()))
            .fold(Vec::new(), |mut acc, v| {
                if !acc.contains(&v) {
                    acc.push(v);
                }
                acc
            });
        let mut out = format!(
            "Measured {} on {}{}: medians over the rounds, p10–p90 in brackets.\n\n",
            today(),
            machine(),
            if quick {
                " (`--quick`: indicative only)"
            } else {
                ""
            }
        );
        out += "| operation | ours | peer | peer figure | ratio (goal) | rounds met |";
        for v in &versions {
            out += &format!(" vs Python async-kernel {v} |");
        }
        out += "\n|---|---|---|---|---|---|";
        for _ in &versions {
            out += "---|";
        }
        out += "\n";
        for r in rows {
            let mut cond = Vec::new();
            if r.pinned {
                cond.push("pinned");
            }
            if r.contended {
                cond.push("contended");
            }
            let cond = if cond.is_empty() {
                String::new()
            } else {
                format!(" ({})", cond.join(", "))
            };
            out += &format!(
                "| `{}`{} | {} [{}–{}] | {} | {} [{}–{}] | {:.2} ({}: {}) | {}/{} |",
                r.op,
                cond,
                show(r.ours.median, r.unit),
                show(r.ours.p10, r.unit),
                show(r.ours.p90, r.unit),
                r.peer,
                show(r.theirs.median, r.unit),
                show(r.theirs.p10, r.unit),
                show(r.theirs.p90, r.unit),
                r.ratio(),
                r.goal.describe(r.unit),
                verdict(r),
                r.rounds_met,
                r.rounds,
            );
            for v in &versions {
                match r.python.iter().find(|(pv, _)| pv == v) {
                    Some((_, py)) => {
                        let what = if r.unit == "ns" { "faster" } else { "smaller" };
                        out += &format!(
                            " {} → {:.0}× {what} |",
                            show(*py, r.unit),
                            py / r.ours.median
                        )
                    }
                    None => out += " |",
                }
            }
            out += "\n";
        }
        out
    }

    /// One bar of the chart.
    struct Bar {
        label: String,
        ratio: f64,
        colour: RGBColor,
        /// A ratio goal, drawn as a tick.
        goal: Option<f64>,
    }

    /// Bars for no added load.
    const IDLE: RGBColor = RGBColor(52, 101, 164);
    /// Bars for rows under load.
    const BUSY: RGBColor = RGBColor(230, 140, 30);
    /// Bars against the Python async-kernel.
    const PYTHON: RGBColor = RGBColor(78, 154, 6);

    /// The bars: every row against its peer, then every time row against each Python version.
    fn bars(rows: &[Row]) -> Vec<Bar> {
        let short = |s: String| {
            if s.chars().count() > 58 {
                s.chars().take(57).collect::<String>() + "…"
            } else {
                s
            }
        };
        let mut bars: Vec<Bar> = rows
            .iter()
            .filter(|r| r.ratio().is_finite())
            .map(|r| Bar {
                label: short(format!("{} vs {}", r.op, r.peer)),
                ratio: r.ratio(),
                colour: if r.contended { BUSY } else { IDLE },
                goal: match r.goal {
                    Goal::RatioAtMost(g) => Some(g),
                    _ => None,
                },
            })
            .collect();
        for r in rows.iter().filter(|r| r.unit == "ns") {
            for (version, py) in &r.python {
                bars.push(Bar {
                    label: short(format!("{} vs Python {version}", r.op)),
                    ratio: r.ours.median / py,
                    colour: PYTHON,
                    // At least 20 times faster than the newest release.
                    goal: version.ends_with("(newest)").then_some(0.05),
                });
            }
        }
        bars
    }

    /// Draws ours/peer ratios as horizontal bars (no added load, under load, and against the
    /// Python async-kernel in three colours; the goal as a tick) into an SVG at `path`.
    pub(super) fn chart(rows: &[Row], path: &Path, quick: bool) -> Result<(), String> {
        let bars = bars(rows);
        if bars.is_empty() {
            return Ok(());
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        }
        let n = bars.len();
        let x_max = bars.iter().map(|b| b.ratio).fold(1.4f64, f64::max).min(4.0) * 1.12;
        let height = 90 + 26 * n as u32;
        let root = SVGBackend::new(path, (980, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let title = format!(
            "async-kernel vs peers: time (or heap) ours / peer, lower is better{}",
            if quick { " (quick run)" } else { "" }
        );
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .margin_bottom(30)
            .x_label_area_size(36)
            .y_label_area_size(420)
            .build_cartesian_2d(0f64..x_max, 0f64..n as f64)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .light_line_style(WHITE)
            .x_desc("ratio ours / peer (1.0 = the peer)")
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(|e| e.to_string())?;
        // Bar 0 at the top.
        let y = |i: usize| (n - 1 - i) as f64;
        chart
            .draw_series(bars.iter().enumerate().map(|(i, b)| {
                Rectangle::new(
                    [(0.0, y(i) + 0.2), (b.ratio.min(x_max), y(i) + 0.8)],
                    b.colour.filled(),
                )
            }))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(bars.iter().enumerate().filter_map(|(i, b)| {
                let g = b.goal.filter(|g| *g <= x_max)?;
                Some(PathElement::new(
                    vec![(g, y(i) + 0.05), (g, y(i) + 0.95)],
                    BLACK.stroke_width(2),
                ))
            }))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(1.0, 0.0), (1.0, n as f64)],
                RED.stroke_width(1),
            )))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(bars.iter().enumerate().map(|(i, b)| {
                let text = if b.ratio < 0.1 {
                    format!("{:.3} (1/{:.0})", b.ratio, 1.0 / b.ratio)
                } else {
                    format!("{:.2}", b.ratio)
                };
                Text::new(
                    text,
                    (b.ratio.min(x_max) + 0.02, y(i) + 0.7),
                    ("sans-serif", 12).into_font(),
                )
            }))
            .map_err(|e| e.to_string())?;
        // The labels, in the area left of the plot.
        let plot = chart.plotting_area();
        let (top, bottom) = (plot.get_pixel_range().1.start, plot.get_pixel_range().1.end);
        let row_px = (bottom - top) as f64 / n as f64;
        for (i, b) in bars.iter().enumerate() {
            let py = top + (row_px * (i as f64 + 0.5)) as i32 - 7;
            let colour = if b.colour == IDLE { BLACK } else { b.colour };
            root.draw(&Text::new(
                b.label.clone(),
                (14, py),
                ("sans-serif", 13).into_font().color(&colour),
            ))
            .map_err(|e| e.to_string())?;
        }
        let legend_y = height as i32 - 18;
        root.draw(&Text::new(
            "blue: no load added · orange: one CPU-bound thread per core · green: the Python \
             async-kernel · black tick: goal · red line: the peer",
            (14, legend_y),
            ("sans-serif", 12).into_font(),
        ))
        .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The Python async-kernel (`--with-python`)
// ---------------------------------------------------------------------------------------------

mod python {
    use super::Row;

    /// The versions compared: the newest release and the one the API was taken from.
    const VERSIONS: [&str; 2] = ["newest", "0.10.3"];

    /// Runs `bench/python/run.sh` for each version and attaches its figures to the rows of the
    /// same name. A failure (no python3, no network) is reported and leaves the rows alone.
    pub(super) fn add_columns(rows: &mut [Row], quick: bool) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/python/run.sh");
        for version in VERSIONS {
            eprintln!("running the Python async-kernel ({version}); the first run installs it");
            let mut cmd = std::process::Command::new("bash");
            cmd.arg(script);
            if quick {
                cmd.arg("--quick");
            }
            cmd.arg(version);
            cmd.stderr(std::process::Stdio::inherit());
            let out = match cmd.output() {
                Ok(o) if o.status.success() => o,
                Ok(o) => {
                    eprintln!("warning: {script} {version} failed ({})", o.status);
                    continue;
                }
                Err(e) => {
                    eprintln!("warning: could not run {script}: {e}");
                    continue;
                }
            };
            let text = String::from_utf8_lossy(&out.stdout);
            let Some(report) = text
                .lines()
                .rev()
                .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            else {
                eprintln!("warning: no JSON from {script} {version}");
                continue;
            };
            let label = format!(
                "{}{}",
                report["version"].as_str().unwrap_or(version),
                if version == "newest" { " (newest)" } else { "" }
            );
            let Some(ops) = report["ops"].as_object() else {
                continue;
            };
            for row in rows.iter_mut() {
                if let Some(x) = ops.get(&row.op).and_then(serde_json::Value::as_f64) {
                    row.python.push((label.clone(), x));
                }
            }
        }
        print_speedups(rows);
    }

    /// Prints our speed-up over each Python version, row by row (goal: at least 20× the newest).
    fn print_speedups(rows: &[Row]) {
        println!();
        println!(
            "{:<30} {:>10}  ours against the Python async-kernel (goal: >= 20x faster than the newest)",
            "op", "ours"
        );
        for r in rows.iter().filter(|r| !r.python.is_empty()) {
            let cols: Vec<String> = r
                .python
                .iter()
                .map(|(v, x)| {
                    let speedup = x / r.ours.median;
                    let goal = if v.ends_with("(newest)") && r.unit == "ns" {
                        if speedup >= 20.0 {
                            " pass"
                        } else {
                            " MISS (goal >= 20x)"
                        }
                    } else {
                        ""
                    };
                    let what = if r.unit == "ns" { "faster" } else { "smaller" };
                    format!(
                        "{v}: {} → {speedup:.0}x {what}{goal}",
                        super::show(*x, r.unit)
                    )
                })
                .collect();
            println!(
                "{:<30} {:>10}  {}",
                r.op,
                super::show(r.ours.median, r.unit),
                cols.join("; ")
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Ops
// ---------------------------------------------------------------------------------------------

/// Every op, in report order. Idle cross-thread rows come first: a false alarm of the waiting
/// policy (a slow yield while the loop runs a long batch) would slow waits for a moment after.
/// Per-item costs at growing sizes are in [`scaling_ops`].
fn ops() -> Vec<Op> {
    let mut all = every_op();
    if !Backend::Smol.is_available() {
        eprintln!("note: roundtrip_smol needs the smol feature (cargo bench --all-features)");
        all.retain(|op| op.name != "roundtrip_smol");
    }
    all
}

/// [`ops`] before leaving out what this build cannot run.
fn every_op() -> Vec<Op> {
    let time = |name, peer, goal, pinned, contended, ours, peer_f| Op {
        name,
        peer,
        goal,
        pinned,
        contended,
        batch: 1,
        measure: Measure::Time { ours, peer: peer_f },
    };
    // Unpinned, idle, in whole runs of `batch` items.
    let batched = |name, peer, goal, batch, ours, peer_f| Op {
        name,
        peer,
        goal,
        pinned: false,
        contended: false,
        batch,
        measure: Measure::Time { ours, peer: peer_f },
    };
    let heap = |name, peer, goal, ours, peer_f| Op {
        name,
        peer,
        goal,
        pinned: false,
        contended: false,
        batch: 1,
        measure: Measure::Heap { ours, peer: peer_f },
    };
    vec![
        time(
            "pending_set_await",
            "futures oneshot",
            Goal::RatioAtMost(1.0),
            false,
            false,
            ours_set_await,
            oneshot_send_await,
        ),
        time(
            "roundtrip_cross_thread",
            "crossbeam + tokio oneshot",
            Goal::RatioAtMost(0.75),
            true,
            false,
            ours_roundtrip,
            peer_roundtrip,
        ),
        time(
            "roundtrip_unpinned",
            "crossbeam + tokio oneshot",
            Goal::Info,
            false,
            false,
            ours_roundtrip,
            peer_roundtrip,
        ),
        time(
            "roundtrip_smol",
            "smol Executor::spawn + block_on",
            Goal::RatioAtMost(1.0),
            true,
            false,
            ours_roundtrip_smol,
            peer_roundtrip_smol,
        ),
        time(
            "throughput_cross_thread",
            "tokio Handle::spawn",
            Goal::RatioAtMost(0.25),
            true,
            false,
            ours_throughput,
            peer_throughput,
        ),
        time(
            "throughput_raw_limit",
            "crossbeam closures + oneshots",
            Goal::RatioAtMost(1.0),
            true,
            false,
            ours_throughput,
            raw_throughput,
        ),
        time(
            "throughput_unpinned",
            "tokio Handle::spawn",
            Goal::Info,
            false,
            false,
            ours_throughput,
            peer_throughput,
        ),
        time(
            "same_thread_call_soon",
            "tokio::spawn + await",
            Goal::RatioAtMost(1.0),
            false,
            false,
            ours_same_thread,
            peer_same_thread,
        ),
        time(
            "gather_same_thread",
            "tokio JoinSet",
            Goal::RatioAtMost(1.2),
            false,
            false,
            ours_gather,
            peer_gather,
        ),
        batched(
            "to_thread_as_completed",
            "tokio spawn_blocking + buffer_unordered",
            Goal::RatioAtMost(1.0),
            TO_THREAD_BATCH,
            ours_to_thread,
            peer_to_thread,
        ),
        batched(
            "queue_call_100k",
            "tokio unbounded mpsc + one task",
            Goal::RatioAtMost(3.0),
            QUEUE_BATCH,
            ours_queue_call,
            peer_queue_call,
        ),
        time(
            "roundtrip_contended",
            "crossbeam + tokio oneshot",
            Goal::RatioAtMost(1.0),
            false,
            true,
            ours_roundtrip,
            peer_roundtrip,
        ),
        time(
            "roundtrip_contended_tokio",
            "tokio Handle::spawn + block_on",
            Goal::Info,
            false,
            true,
            ours_roundtrip,
            peer_roundtrip_tokio,
        ),
        time(
            "throughput_contended",
            "tokio Handle::spawn",
            Goal::RatioAtMost(1.0),
            false,
            true,
            ours_throughput,
            peer_throughput,
        ),
        heap(
            "heap_per_queued_call",
            "unpolled tokio task",
            Goal::RatioAtMost(1.1),
            heap_queued_call,
            heap_unpolled_task,
        ),
        heap(
            "heap_pending_unit",
            "futures oneshot pair",
            Goal::AbsoluteAtMost(72.0),
            heap_pending_unit,
            heap_oneshot_unit,
        ),
    ]
}

/// Every per-item scaling series, run at each size of [`Config::scaling_sizes`] (goal: flat
/// within ±20% of the smallest size).
fn scaling_ops() -> Vec<ScalingOp> {
    vec![
        ScalingOp {
            name: "gather_scaling",
            peer: "tokio JoinSet",
            ours: ours_gather,
            peer_run: peer_gather,
            pinned: false,
        },
        ScalingOp {
            name: "as_completed_done_scaling",
            peer: "tokio JoinSet, tasks finished",
            ours: ours_as_completed_done,
            peer_run: peer_join_set_done,
            pinned: false,
        },
        ScalingOp {
            name: "queue_call_scaling",
            peer: "tokio unbounded mpsc + one task",
            ours: ours_queue_call_whole,
            peer_run: peer_queue_call_whole,
            pinned: true,
        },
    ]
}

/// Ours: create a `Pending<u64>`, set it, await it, all on one thread inside `block_on`.
fn ours_set_await() -> Runner {
    Box::new(|iters| {
        block_on(async move {
            let start = Instant::now();
            for i in 0..iters {
                let pen: Pending<u64> = Pending::new();
                pen.set_result(black_box(i)).expect("a fresh pending");
                black_box(pen.await.expect("the value just set"));
            }
            start.elapsed()
        })
    })
}

/// Peer: create a `futures::channel::oneshot`, send, await the receiver, inside `block_on`.
fn oneshot_send_await() -> Runner {
    Box::new(|iters| {
        block_on(async move {
            let start = Instant::now();
            for i in 0..iters {
                let (tx, rx) = oneshot::channel::<u64>();
                tx.send(black_box(i)).expect("the receiver is alive");
                black_box(rx.await.expect("the value just sent"));
            }
            start.elapsed()
        })
    })
}

/// Ours: heap bytes of one live `Pending<()>` without metadata.
fn heap_pending_unit(n: usize) -> f64 {
    let mut keep: Vec<Pending<()>> = Vec::with_capacity(n);
    let bytes = heap_per_item(n, || {
        for _ in 0..n {
            keep.push(Pending::new());
        }
    });
    drop(black_box(keep));
    bytes
}

/// Peer: heap bytes of one live `futures::channel::oneshot` pair.
fn heap_oneshot_unit(n: usize) -> f64 {
    let mut keep: Vec<(oneshot::Sender<()>, oneshot::Receiver<()>)> = Vec::with_capacity(n);
    let bytes = heap_per_item(n, || {
        for _ in 0..n {
            keep.push(oneshot::channel());
        }
    });
    drop(black_box(keep));
    bytes
}

// ---------------------------------------------------------------------------------------------
// Caller ops
// ---------------------------------------------------------------------------------------------

/// Calls per wait in the throughput ops (the issue's "100k calls, then wait for all").
const THROUGHPUT_BATCH: u64 = 100_000;

/// A caller on a new thread that stops when the runner holding it is dropped.
struct BenchCaller(Caller);

impl BenchCaller {
    fn start(name: &str) -> Self {
        Self::start_with(CallerOptions::named(name))
    }

    fn start_with(options: CallerOptions) -> Self {
        BenchCaller(Caller::new(Modifier::NewThread, options).expect("caller starts"))
    }
}

impl Drop for BenchCaller {
    fn drop(&mut self) {
        self.0.stop(true);
        let _ = self.0.join();
    }
}

/// A tokio current-thread runtime running on its own thread until the handle is dropped.
struct TokioThread {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TokioThread {
    fn start() -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let handle = rt.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let _ = rt.block_on(stopped);
        });
        TokioThread {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for TokioThread {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Ours: `call_soon` + `wait_sync` from a plain thread, one call at a time.
fn ours_roundtrip() -> Runner {
    roundtrip_on(BenchCaller::start("bench-roundtrip"))
}

/// `call_soon` + `wait_sync` round trips from this thread to `caller`, one call at a time.
fn roundtrip_on(caller: BenchCaller) -> Runner {
    Box::new(move |iters| {
        let start = Instant::now();
        for i in 0..iters {
            let pen = caller
                .0
                .call_soon(move || black_box(i))
                .expect("running caller");
            black_box(pen.wait_sync(None).expect("the call's value"));
        }
        start.elapsed()
    })
}

/// A closure sent to [`closure_worker`].
type Job = Box<dyn FnOnce() + Send>;

/// A thread that runs the boxed closures sent on the returned channel, in order; it ends when
/// the sender is dropped.
fn closure_worker() -> crossbeam_channel::Sender<Job> {
    let (tx, rx) = crossbeam_channel::unbounded::<Job>();
    std::thread::spawn(move || {
        while let Ok(job) = rx.recv() {
            job();
        }
    });
    tx
}

/// Peer: a boxed closure sent over crossbeam to a loop thread, replying on a tokio oneshot.
fn peer_roundtrip() -> Runner {
    let tx = closure_worker();
    // The worker ends when the runner (holding `tx`) is dropped.
    Box::new(move |iters| {
        let start = Instant::now();
        for i in 0..iters {
            let (reply, answer) = tokio::sync::oneshot::channel::<u64>();
            tx.send(Box::new(move || {
                let _ = reply.send(black_box(i));
            }))
            .expect("worker alive");
            black_box(answer.blocking_recv().expect("the reply"));
        }
        start.elapsed()
    })
}

/// Peer: `Handle::spawn` onto a current-thread runtime's thread, then `block_on` the
/// `JoinHandle` here (a runtime thread woken per call, like ours).
fn peer_roundtrip_tokio() -> Runner {
    let rt = TokioThread::start();
    Box::new(move |iters| {
        let start = Instant::now();
        for i in 0..iters {
            black_box(block_on(rt.handle.spawn(async move { black_box(i) })).expect("task value"));
        }
        start.elapsed()
    })
}

/// Ours: `call_soon` + `wait_sync` from a plain thread on a caller with the smol backend.
fn ours_roundtrip_smol() -> Runner {
    roundtrip_on(BenchCaller::start_with(
        CallerOptions::named("bench-roundtrip-smol").backend(Backend::Smol),
    ))
}

/// A smol `Executor` run by its own thread until this is dropped.
struct SmolThread {
    executor: Arc<smol::Executor<'static>>,
    stop: Option<smol::channel::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SmolThread {
    fn start() -> Self {
        let executor = Arc::new(smol::Executor::new());
        let (stop, stopped) = smol::channel::bounded::<()>(1);
        let ex = executor.clone();
        let thread = std::thread::spawn(move || {
            smol::block_on(ex.run(async move {
                let _ = stopped.recv().await;
            }))
        });
        SmolThread {
            executor,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for SmolThread {
    fn drop(&mut self) {
        // Closing the channel ends the executor's `run`.
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Peer: `Executor::spawn` onto a smol executor's thread, then `block_on(task)` here.
fn peer_roundtrip_smol() -> Runner {
    let smol_thread = SmolThread::start();
    Box::new(move |iters| {
        let start = Instant::now();
        for i in 0..iters {
            let task = smol_thread.executor.spawn(async move { black_box(i) });
            black_box(smol::block_on(task));
        }
        start.elapsed()
    })
}

/// The raw limit of a cross-thread call: boxed closures over a crossbeam channel to a worker
/// thread, each answering through its own tokio oneshot; `THROUGHPUT_BATCH` sent, then the
/// answers waited for in order. No futures, no tasks, no cancellation: what any scheduler
/// must pay at least.
fn raw_throughput() -> Runner {
    let tx = closure_worker();
    Box::new(move |iters| {
        let mut answers = Vec::with_capacity(iters.min(THROUGHPUT_BATCH) as usize);
        let start = Instant::now();
        let mut left = iters;
        while left > 0 {
            let n = left.min(THROUGHPUT_BATCH);
            for i in 0..n {
                let (reply, answer) = tokio::sync::oneshot::channel::<u64>();
                tx.send(Box::new(move || {
                    let _ = reply.send(black_box(i));
                }))
                .expect("worker alive");
                answers.push(answer);
            }
            for answer in answers.drain(..) {
                black_box(answer.blocking_recv().expect("the reply"));
            }
            left -= n;
        }
        start.elapsed()
    })
}

/// Ours: `THROUGHPUT_BATCH` `call_soon`s from a plain thread, then wait for all.
fn ours_throughput() -> Runner {
    let caller = BenchCaller::start("bench-throughput");
    Box::new(move |iters| {
        let mut pens = Vec::with_capacity(iters.min(THROUGHPUT_BATCH) as usize);
        let start = Instant::now();
        let mut left = iters;
        while left > 0 {
            let n = left.min(THROUGHPUT_BATCH);
            for i in 0..n {
                pens.push(
                    caller
                        .0
                        .call_soon(move || black_box(i))
                        .expect("running caller"),
                );
            }
            for pen in pens.drain(..) {
                black_box(pen.wait_sync(None).expect("the call's value"));
            }
            left -= n;
        }
        start.elapsed()
    })
}

/// Peer: `Handle::spawn` onto a current-thread runtime thread, then wait for every JoinHandle.
fn peer_throughput() -> Runner {
    let rt = TokioThread::start();
    Box::new(move |iters| {
        let mut handles = Vec::with_capacity(iters.min(THROUGHPUT_BATCH) as usize);
        let start = Instant::now();
        let mut left = iters;
        while left > 0 {
            let n = left.min(THROUGHPUT_BATCH);
            for i in 0..n {
                handles.push(rt.handle.spawn(async move { black_box(i) }));
            }
            for h in handles.drain(..) {
                black_box(block_on(h).expect("task value"));
            }
            left -= n;
        }
        start.elapsed()
    })
}

/// Ours: inside a task on the caller, `call_soon(f).await` one after another (timed there).
fn ours_same_thread() -> Runner {
    let caller = BenchCaller::start("bench-same-thread");
    Box::new(move |iters| {
        let pen = caller
            .0
            .call_soon(Async(move || async move {
                let me = Caller::current().expect("running on a caller");
                let start = Instant::now();
                for i in 0..iters {
                    let pen = me.call_soon(move || black_box(i)).expect("running caller");
                    black_box(pen.await.expect("the call's value"));
                }
                start.elapsed()
            }))
            .expect("running caller");
        pen.wait_sync(None).expect("timing task")
    })
}

/// Peer: inside a spawned tokio task, `tokio::spawn(f).await` one after another.
fn peer_same_thread() -> Runner {
    let rt = TokioThread::start();
    Box::new(move |iters| {
        let timing = rt.handle.spawn(async move {
            let start = Instant::now();
            for i in 0..iters {
                black_box(
                    tokio::spawn(async move { black_box(i) })
                        .await
                        .expect("task value"),
                );
            }
            start.elapsed()
        });
        block_on(timing).expect("timing task")
    })
}

/// Ours: inside a task on the caller, `iters` pendings from `call_soon`, then all awaited.
fn ours_gather() -> Runner {
    let caller = BenchCaller::start("bench-gather");
    Box::new(move |iters| {
        let pen = caller
            .0
            .call_soon(Async(move || async move {
                let me = Caller::current().expect("running on a caller");
                let start = Instant::now();
                let pens: Vec<Pending<u64>> = (0..iters)
                    .map(|i| me.call_soon(move || black_box(i)).expect("running caller"))
                    .collect();
                for pen in pens {
                    black_box(pen.await.expect("the call's value"));
                }
                start.elapsed()
            }))
            .expect("running caller");
        pen.wait_sync(None).expect("timing task")
    })
}

/// Peer: inside a spawned tokio task, `iters` tasks in a `JoinSet`, then all joined.
fn peer_gather() -> Runner {
    let rt = TokioThread::start();
    Box::new(move |iters| {
        let timing = rt.handle.spawn(async move {
            let start = Instant::now();
            let mut set = tokio::task::JoinSet::new();
            for i in 0..iters {
                set.spawn(async move { black_box(i) });
            }
            while let Some(v) = set.join_next().await {
                black_box(v.expect("task value"));
            }
            start.elapsed()
        });
        block_on(timing).expect("timing task")
    })
}

/// `to_thread` jobs per `as_completed` stream in `to_thread_as_completed`.
const TO_THREAD_BATCH: u64 = 10_000;

/// Jobs unfinished at once in `to_thread_as_completed` (`max_concurrent`).
const TO_THREAD_AT_ONCE: usize = 10;

/// Ours: `TO_THREAD_BATCH` `Caller::to_thread` jobs from a lazy source through
/// `as_completed(.., Some(TO_THREAD_AT_ONCE), true)`, driven by `block_on` on this thread.
fn ours_to_thread() -> Runner {
    let caller = BenchCaller::start("bench-to-thread");
    Box::new(move |iters| {
        let start = Instant::now();
        let mut left = iters;
        while left > 0 {
            let n = left.min(TO_THREAD_BATCH);
            let parent = caller.0.clone();
            let jobs = (0..n).map(move |i| {
                parent
                    .to_thread(move || black_box(i))
                    .expect("running caller")
            });
            block_on(
                caller
                    .0
                    .as_completed(Items::lazy(jobs), Some(TO_THREAD_AT_ONCE), true)
                    .for_each(|pen| {
                        black_box(pen.expect("a job").result().expect("the job's value"));
                        async {}
                    }),
            );
            left -= n;
        }
        start.elapsed()
    })
}

/// Peer: `TO_THREAD_BATCH` `tokio::task::spawn_blocking` jobs through
/// `buffer_unordered(TO_THREAD_AT_ONCE)`, driven by a current-thread runtime's `block_on` on
/// this thread (like ours: the stream is polled here, the jobs run on pool threads).
fn peer_to_thread() -> Runner {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    Box::new(move |iters| {
        let start = Instant::now();
        let mut left = iters;
        while left > 0 {
            let n = left.min(TO_THREAD_BATCH);
            rt.block_on(
                futures::stream::iter(0..n)
                    .map(|i| tokio::task::spawn_blocking(move || black_box(i)))
                    .buffer_unordered(TO_THREAD_AT_ONCE)
                    .for_each(|r| {
                        black_box(r.expect("the job's value"));
                        async {}
                    }),
            );
            left -= n;
        }
        start.elapsed()
    })
}

/// `queue_call`s per wait in `queue_call_100k`.
const QUEUE_BATCH: u64 = 100_000;

/// Ours: `queue_call` ×`batch` from this (plain) thread onto one queue, then `wait_sync` on the
/// last call's pending (the queue's, done with the last result once the queue is empty).
fn ours_queue_call_batched(batch: u64) -> Runner {
    let caller = BenchCaller::start("bench-queue-call");
    let sink = QueuedFunction::new(|i: u64| black_box(i));
    Box::new(move |iters| {
        let start = Instant::now();
        let mut left = iters;
        while left > 0 {
            let n = left.min(batch);
            let mut last = None;
            for i in 0..n {
                last = Some(caller.0.queue_call(&sink, i).expect("running caller"));
            }
            if let Some(pen) = last {
                black_box(pen.wait_sync(None).expect("the queue's last result"));
            }
            left -= n;
        }
        start.elapsed()
    })
}

/// A message to the peer's drain task.
enum DrainMsg {
    /// One item to handle.
    Item(u64),
    /// Reply with the last item handled (sent after the last item of a batch).
    Flush(tokio::sync::oneshot::Sender<u64>),
}

/// Peer: an unbounded tokio mpsc drained by one task on a current-thread runtime thread; `batch`
/// items sent from this thread, then a reply awaited (`blocking_recv`) after the last.
fn peer_queue_call_batched(batch: u64) -> Runner {
    let rt = TokioThread::start();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<DrainMsg>();
    rt.handle.spawn(async move {
        let mut last = 0;
        while let Some(msg) = rx.recv().await {
            match msg {
                DrainMsg::Item(v) => last = black_box(v),
                DrainMsg::Flush(reply) => {
                    let _ = reply.send(last);
                }
            }
        }
    });
    Box::new(move |iters| {
        // The runtime (and with it the drain task) lives as long as the runner.
        let _runtime = &rt;
        let start = Instant::now();
        let mut left = iters;
        while left > 0 {
            let n = left.min(batch);
            for i in 0..n {
                tx.send(DrainMsg::Item(i)).expect("drain task alive");
            }
            let (reply, answer) = tokio::sync::oneshot::channel();
            tx.send(DrainMsg::Flush(reply)).expect("drain task alive");
            black_box(answer.blocking_recv().expect("the last item"));
            left -= n;
        }
        start.elapsed()
    })
}

/// Ours for `queue_call_100k`: waits after every `QUEUE_BATCH` calls.
fn ours_queue_call() -> Runner {
    ours_queue_call_batched(QUEUE_BATCH)
}

/// Peer for `queue_call_100k`: a reply after every `QUEUE_BATCH` items.
fn peer_queue_call() -> Runner {
    peer_queue_call_batched(QUEUE_BATCH)
}

/// Ours for the scaling series: all `iters` calls, then one wait.
fn ours_queue_call_whole() -> Runner {
    ours_queue_call_batched(u64::MAX)
}

/// Peer for the scaling series: all `iters` items, then one reply.
fn peer_queue_call_whole() -> Runner {
    peer_queue_call_batched(u64::MAX)
}

/// Ours: `iters` pendings of `call_soon`s made from this thread and all done (not timed), then
/// timed: every one yielded by `as_completed` over the collection, driven by `block_on` here.
fn ours_as_completed_done() -> Runner {
    let caller = BenchCaller::start("bench-as-completed");
    Box::new(move |iters| {
        let pens: Vec<Pending<u64>> = (0..iters)
            .map(|i| {
                caller
                    .0
                    .call_soon(move || black_box(i))
                    .expect("running caller")
            })
            .collect();
        for pen in &pens {
            pen.wait_sync_done(None).expect("the call ends");
        }
        let start = Instant::now();
        block_on(caller.0.as_completed(pens, None, true).for_each(|pen| {
            black_box(
                pen.expect("a done call")
                    .result()
                    .expect("the call's value"),
            );
            async {}
        }));
        start.elapsed()
    })
}

/// Peer: `iters` tasks spawned into a `JoinSet` on a current-thread runtime thread and all
/// finished (not timed: a marker task spawned after them has run, and the runtime runs them in
/// order), then timed: every one joined with `join_next`, driven by `block_on` here.
fn peer_join_set_done() -> Runner {
    let rt = TokioThread::start();
    Box::new(move |iters| {
        let mut set = tokio::task::JoinSet::new();
        for i in 0..iters {
            set.spawn_on(async move { black_box(i) }, &rt.handle);
        }
        block_on(rt.handle.spawn(async {})).expect("marker task");
        let start = Instant::now();
        block_on(async {
            while let Some(v) = set.join_next().await {
                black_box(v.expect("task value"));
            }
        });
        start.elapsed()
    })
}

/// Ours: heap bytes per call queued on a caller that has not started (so none runs).
fn heap_queued_call(n: usize) -> f64 {
    // A manual caller is bound to the thread that makes it: use a scratch thread.
    std::thread::spawn(move || {
        let caller = Caller::new(
            Modifier::Manual,
            CallerOptions::named("bench-heap").backend(Backend::Tokio),
        )
        .expect("manual caller");
        let mut keep: Vec<Pending<u64>> = Vec::with_capacity(n);
        let bytes = heap_per_item(n, || {
            for i in 0..n as u64 {
                keep.push(
                    caller
                        .call_soon(move || black_box(i))
                        .expect("accepting caller"),
                );
            }
        });
        caller.stop(true);
        drop(black_box(keep));
        bytes
    })
    .join()
    .expect("heap probe thread")
}

/// Peer: heap bytes per task spawned onto a current-thread runtime that is not running (so no
/// task is polled).
fn heap_unpolled_task(n: usize) -> f64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut keep = Vec::with_capacity(n);
    let bytes = heap_per_item(n, || {
        for i in 0..n as u64 {
            keep.push(rt.spawn(async move { black_box(i) }));
        }
    });
    drop(black_box(keep));
    drop(rt);
    bytes
}
