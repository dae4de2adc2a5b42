//! The project's one benchmark: each operation of ours against a peer construct, measured in the
//! same process and interleaved round by round, so that machine noise hits both sides alike.
//!
//! ```text
//! cargo bench --bench compare -- [--quick] [--list] [--json PATH] [NAME...]
//! ```
//! * `--quick`: fewer, shorter rounds (the whole run stays well under a minute).
//! * `NAME...`: run only the ops whose name contains one of these strings.
//! * `--json PATH`: where the JSON report goes (default `$CARGO_TARGET_DIR/compare.json`, else
//!   `target/compare.json` in the package).
//!
//! Prints a table (median per iteration of ours and of the peer, p10–p90 spread over the rounds,
//! ratio ours/peer, goal, pass/miss) and writes the same rows as a JSON list of
//! `{ "op", "ours_ns", "peer", "peer_ns", "ratio", "goal", "unit", ... }`.
//!
//! # Adding an op
//! Add an [`Op`] to [`ops`]. A timed op gives two factories ([`Factory`]); each builds a
//! [`Runner`] once (spawn helper threads there) that runs `iters` iterations per call and
//! returns the time they took. Set `pinned` for cross-thread ops: the op is then measured on a
//! thread pinned to core 0 ([`pin_to_core`]), and every thread its factories spawn inherits the
//! pin. A heap op gives two [`HeapProbe`]s.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use async_kernel::Pending;
use async_kernel::caller::{Async, Backend, Caller, CallerOptions, Modifier};
use futures::channel::oneshot;
use futures::executor::block_on;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

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
    /// No goal: shown for information (for example an unpinned twin of a pinned op).
    Info,
}

impl Goal {
    /// Whether `ours` (and `ratio` = ours/peer) meet the goal.
    fn passes(self, ours: f64, ratio: f64) -> bool {
        match self {
            Goal::RatioAtMost(max) => ratio <= max,
            Goal::AbsoluteAtMost(max) => ours <= max,
            Goal::Info => true,
        }
    }

    /// The goal as the table shows it.
    fn describe(self, unit: &str) -> String {
        match self {
            Goal::RatioAtMost(max) => format!("ratio <= {max:.2}"),
            Goal::AbsoluteAtMost(max) => format!("ours <= {max} {unit}"),
            Goal::Info => "info".to_owned(),
        }
    }

    /// The goal's number, for the JSON report.
    fn value(self) -> f64 {
        match self {
            Goal::RatioAtMost(x) | Goal::AbsoluteAtMost(x) => x,
            Goal::Info => f64::NAN,
        }
    }

    /// `"ratio"` or `"absolute"`, for the JSON report.
    fn kind(self) -> &'static str {
        match self {
            Goal::RatioAtMost(_) => "ratio",
            Goal::AbsoluteAtMost(_) => "absolute",
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
            }
        } else {
            Config {
                rounds: 61,
                batch_target: Duration::from_millis(20),
                heap_items: 20_000,
                heap_rounds: 7,
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
/// batch from 1 until it does (this also warms both sides up).
fn calibrate(ours: &mut Runner, peer: &mut Runner, target: Duration) -> u64 {
    let mut iters = 1u64;
    loop {
        let slower = ours(iters).max(peer(iters));
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
    op: &'static str,
    /// The peer's name.
    peer: &'static str,
    /// `"ns"` (per iteration) or `"bytes"` (per item).
    unit: &'static str,
    /// Our figures.
    ours: Stats,
    /// The peer's figures.
    theirs: Stats,
    /// The goal.
    goal: Goal,
    /// Iterations per batch (0 for heap ops).
    iters: u64,
    /// Rounds measured.
    rounds: usize,
    /// Whether the op ran pinned to one core.
    pinned: bool,
}

impl Row {
    /// Median of ours over median of the peer's.
    fn ratio(&self) -> f64 {
        self.ours.median / self.theirs.median
    }

    /// Whether the goal is met.
    fn passes(&self) -> bool {
        self.goal.passes(self.ours.median, self.ratio())
    }

    /// The row as a JSON object.
    fn to_json(&self) -> serde_json::Value {
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
        })
    }
}

/// `x` rounded to two decimals.
fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Measures one op (on the calling thread).
fn run_op(op: &Op, cfg: &Config) -> Row {
    let (ours, theirs, iters, rounds, unit) = match op.measure {
        Measure::Time { ours, peer } => {
            let (mut ours, mut peer) = (ours(), peer());
            let iters = calibrate(&mut ours, &mut peer, cfg.batch_target);
            let (a, b) = interleave(&mut ours, &mut peer, iters, cfg.rounds);
            (summarize(&a), summarize(&b), iters, cfg.rounds, "ns")
        }
        Measure::Heap { ours, peer } => {
            let mut a = Vec::with_capacity(cfg.heap_rounds);
            let mut b = Vec::with_capacity(cfg.heap_rounds);
            for _ in 0..cfg.heap_rounds {
                a.push(ours(cfg.heap_items));
                b.push(peer(cfg.heap_items));
            }
            (summarize(&a), summarize(&b), 0, cfg.heap_rounds, "bytes")
        }
    };
    Row {
        op: op.name,
        peer: op.peer,
        unit,
        ours,
        theirs,
        goal: op.goal,
        iters,
        rounds,
        pinned: op.pinned,
    }
}

/// Measures `op` on a fresh thread, pinned to core 0 when the op asks for it, so that the pin
/// never leaks into other ops.
fn run_op_on_thread(op: &Op, cfg: &Config) -> Row {
    std::thread::scope(|s| {
        s.spawn(|| {
            if op.pinned && !pin_to_core(0) {
                eprintln!("warning: could not pin {} to core 0", op.name);
            }
            run_op(op, cfg)
        })
        .join()
        .expect("benchmark thread panicked")
    })
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

/// Prints the table header.
fn print_header() {
    println!(
        "{:<22} {:>10} {:>21}  {:<24} {:>10} {:>21} {:>6}  {:<16} result",
        "op", "ours", "ours p10–p90", "peer", "peer", "peer p10–p90", "ratio", "goal"
    );
}

/// Prints one row of the table.
fn print_row(r: &Row) {
    println!(
        "{:<22} {:>10} {:>21}  {:<24} {:>10} {:>21} {:>6.2}  {:<16} {}",
        r.op,
        show(r.ours.median, r.unit),
        spread(&r.ours, r.unit),
        r.peer,
        show(r.theirs.median, r.unit),
        spread(&r.theirs, r.unit),
        r.ratio(),
        r.goal.describe(r.unit),
        match (r.goal, r.passes()) {
            (Goal::Info, _) => "-",
            (_, true) => "pass",
            (_, false) => "MISS",
        },
    );
}

/// Where the JSON report goes by default.
fn default_json_path() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir).join("compare.json"),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/compare.json"),
    }
}

/// Command-line options.
struct Args {
    /// `--quick`.
    quick: bool,
    /// `--list`: only print the op names.
    list: bool,
    /// `--json PATH`.
    json: PathBuf,
    /// Name filters (substrings); empty means every op.
    filters: Vec<String>,
}

/// Parses the arguments (cargo adds `--bench`, which is ignored).
fn parse_args() -> Args {
    let mut args = Args {
        quick: false,
        list: false,
        json: default_json_path(),
        filters: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => args.quick = true,
            "--list" => args.list = true,
            "--json" => args.json = it.next().expect("--json needs a path").into(),
            "--bench" => {}
            s if s.starts_with("--") => eprintln!("ignoring unknown option {s}"),
            _ => args.filters.push(a),
        }
    }
    args
}

/// Parses the arguments, runs the selected ops, prints the table and writes the JSON report.
fn main() {
    let args = parse_args();
    let all = ops();
    let selected: Vec<&Op> = all
        .iter()
        .filter(|op| args.filters.is_empty() || args.filters.iter().any(|f| op.name.contains(f)))
        .collect();
    if args.list {
        for op in &selected {
            println!("{}", op.name);
        }
        return;
    }
    let cfg = Config::new(args.quick);
    let started = Instant::now();
    print_header();
    let mut rows = Vec::new();
    for op in selected {
        let row = run_op_on_thread(op, &cfg);
        print_row(&row);
        rows.push(row);
    }
    let report = serde_json::Value::Array(rows.iter().map(Row::to_json).collect());
    let text = serde_json::to_string_pretty(&report).expect("JSON of plain numbers and strings");
    if let Some(dir) = args.json.parent() {
        std::fs::create_dir_all(dir).expect("create the report's folder");
    }
    std::fs::write(&args.json, text + "\n").expect("write the JSON report");
    let misses = rows.iter().filter(|r| !r.passes()).count();
    println!(
        "{} ops, {} pass, {} miss, in {:.1} s{}; report: {}",
        rows.len(),
        rows.len() - misses,
        misses,
        started.elapsed().as_secs_f64(),
        if args.quick { " (quick)" } else { "" },
        args.json.display()
    );
}

// ---------------------------------------------------------------------------------------------
// Ops
// ---------------------------------------------------------------------------------------------

/// Every op, in report order.
fn ops() -> Vec<Op> {
    vec![
        Op {
            name: "pending_set_await",
            peer: "futures oneshot",
            goal: Goal::RatioAtMost(1.0),
            pinned: false,
            measure: Measure::Time {
                ours: ours_set_await,
                peer: oneshot_send_await,
            },
        },
        Op {
            name: "roundtrip_cross_thread",
            peer: "crossbeam + tokio oneshot",
            goal: Goal::RatioAtMost(1.0),
            pinned: true,
            measure: Measure::Time {
                ours: ours_roundtrip,
                peer: peer_roundtrip,
            },
        },
        Op {
            name: "roundtrip_unpinned",
            peer: "crossbeam + tokio oneshot",
            goal: Goal::Info,
            pinned: false,
            measure: Measure::Time {
                ours: ours_roundtrip,
                peer: peer_roundtrip,
            },
        },
        Op {
            name: "throughput_cross_thread",
            peer: "tokio Handle::spawn",
            goal: Goal::RatioAtMost(0.25),
            pinned: true,
            measure: Measure::Time {
                ours: ours_throughput,
                peer: peer_throughput,
            },
        },
        Op {
            name: "throughput_unpinned",
            peer: "tokio Handle::spawn",
            goal: Goal::Info,
            pinned: false,
            measure: Measure::Time {
                ours: ours_throughput,
                peer: peer_throughput,
            },
        },
        Op {
            name: "same_thread_call_soon",
            peer: "tokio::spawn + await",
            goal: Goal::RatioAtMost(1.2),
            pinned: false,
            measure: Measure::Time {
                ours: ours_same_thread,
                peer: peer_same_thread,
            },
        },
        Op {
            name: "gather_same_thread",
            peer: "tokio JoinSet",
            goal: Goal::RatioAtMost(1.2),
            pinned: false,
            measure: Measure::Time {
                ours: ours_gather,
                peer: peer_gather,
            },
        },
        Op {
            name: "heap_per_queued_call",
            peer: "unpolled tokio task",
            goal: Goal::RatioAtMost(1.1),
            pinned: false,
            measure: Measure::Heap {
                ours: heap_queued_call,
                peer: heap_unpolled_task,
            },
        },
        Op {
            name: "heap_pending_unit",
            peer: "futures oneshot pair",
            goal: Goal::AbsoluteAtMost(80.0),
            pinned: false,
            measure: Measure::Heap {
                ours: heap_pending_unit,
                peer: heap_oneshot_unit,
            },
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
        BenchCaller(
            Caller::new(Modifier::NewThread, CallerOptions::named(name)).expect("caller starts"),
        )
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
    let caller = BenchCaller::start("bench-roundtrip");
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

/// Peer: a boxed closure sent over crossbeam to a loop thread, replying on a tokio oneshot.
fn peer_roundtrip() -> Runner {
    type Job = Box<dyn FnOnce() + Send>;
    let (tx, rx) = crossbeam_channel::unbounded::<Job>();
    std::thread::spawn(move || {
        while let Ok(job) = rx.recv() {
            job();
        }
    });
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
