//! A tour of async-kernel, the first thing to run: `cargo run --example tour`.
//!
//! Each step prints what it shows on stdout; logs go to stderr (`RUST_LOG=debug` for more),
//! without colour codes when stderr is not a terminal. It takes a few seconds.

use std::error::Error;
use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

use async_kernel::caller::{
    Async, Caller, CallerOptions, Fallible, Items, Modifier, PendingGroup, QueuedFunction,
    ReturnWhen,
};
use async_kernel::{Pending, PendingError};
use futures::StreamExt as _;
use futures::executor::block_on;

/// How many `to_thread` jobs the last step runs.
const JOBS: u64 = 3_000;

fn step(title: &str, explanation: &str) {
    println!("\n== {title}\n   {explanation}");
}

fn main() -> Result<(), Box<dyn Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    step(
        "1. A caller on a new thread",
        "A Caller is a thread running its own event loop (tokio here; smol with the `smol` feature).\n   \
         Any thread can hand it work; every call returns a Pending, a thread-safe result.",
    );
    let caller = Caller::new(Modifier::NewThread, CallerOptions::named("tour"))?;
    println!("   made {caller:?} on thread {:?}", caller.thread());
    tracing::info!(
        caller = caller.name(),
        "logs go to stderr; RUST_LOG=debug shows more"
    );

    step(
        "2. call_soon and call_later",
        "Plain closures run inline on the caller's loop; Async(..) closures run as local tasks\n   \
         (their futures may hold an Rc); Fallible(..) turns an Err into a failed pending.",
    );
    let square = caller.call_soon(|| 12 * 12)?;
    let local = caller.call_soon(Async(|| async {
        let only_here = std::rc::Rc::new("lives on the caller's thread");
        only_here.len()
    }))?;
    let bad = caller.call_soon(Fallible(|| "not a number".parse::<u32>()))?;
    println!(
        "   12 * 12 = {} (blocking with wait_sync)",
        square.wait_sync(None)?
    );
    println!(
        "   async call gave {} (awaited from another executor)",
        block_on(local.wait())?
    );
    let failure = bad.wait_sync(None).unwrap_err();
    // `Failed` says "failed"; the function's own error is its `source()`.
    let cause = failure
        .source()
        .map(ToString::to_string)
        .unwrap_or_default();
    println!("   fallible call: {failure}: {cause}");
    let asked = Instant::now();
    let later = caller.call_later(Duration::from_millis(50), move || asked.elapsed())?;
    println!(
        "   call_later(50 ms) ran after {:?}",
        later.wait_sync(None)?
    );

    step(
        "3. Cancelling with a message",
        "Cancelling a pending stops its work at the next await point, and the message says why.",
    );
    let running: Pending<()> = Pending::new();
    let endless = caller.call_soon(Async({
        let running = running.clone();
        move || async move {
            let _ = running.set_result(());
            std::future::pending::<()>().await
        }
    }))?;
    running.wait_sync(None)?;
    endless.cancel(Some("the user pressed stop"));
    match endless.wait_sync(None) {
        Err(PendingError::Cancelled(c)) => println!("   cancelled: {:?}", c.message()),
        other => println!("   unexpected: {other:?}"),
    }

    step(
        "4. A group cancels its members when one fails",
        "Every pending created inside PendingGroup::run (also by work it started on other\n   \
         threads) is tracked; the first failure cancels the rest and the group reports it.",
    );
    let c = caller.clone();
    let outcome = block_on(PendingGroup::new().run(|pg| async move {
        let patient = c.call_soon(Async(|| async { std::future::pending::<u32>().await }))?;
        let _failing = c.to_thread(Fallible(|| Err::<u32, _>("the disk is full")))?;
        println!("   the group tracks {} pendings", pg.pending().len());
        Ok::<_, Box<dyn Error + Send + Sync>>(patient.await)
    }));
    match outcome {
        Err(PendingError::GroupFailed(g)) => {
            println!("   group failed: {}", g.message());
            println!(
                "   its first failure, as source(): {:?}",
                g.source().map(|e| e.to_string())
            );
        }
        Err(PendingError::Cancelled(c)) => println!("   group cancelled: {:?}", c.message()),
        other => println!("   unexpected: {other:?}"),
    }

    step(
        "5. wait with FirstCompleted",
        "Caller::wait returns (done, not_done) when the first item is done; it never raises a\n   \
         timeout and never cancels what is left.",
    );
    let quick = caller.to_thread(|| "quick")?;
    let slow: Pending<&str> = Pending::new();
    let (done, not_done) = block_on(caller.wait(
        [slow.clone(), quick.clone()],
        Some(Duration::from_secs(5)),
        ReturnWhen::FirstCompleted,
    ))?;
    println!(
        "   done: {:?}; still running: {} (not cancelled: {})",
        done.iter().map(|p| p.result()).collect::<Vec<_>>(),
        not_done.len(),
        !slow.cancelled()
    );
    slow.set_result("finished later")?;

    step(
        "6. A queue: one function, calls in order, one at a time",
        "QueuedFunction wraps a function once; queue_call appends a call with its arguments.\n   \
         Every call returns the queue's pending, which gives the last result once the queue\n   \
         is empty. Dropping the last QueuedFunction handle closes the queue.",
    );
    let log_line = QueuedFunction::new(|(n, word): (u32, &'static str)| format!("{n}: {word}"));
    let mut last = None;
    for (n, word) in ["queued", "calls", "run", "in", "order"]
        .into_iter()
        .enumerate()
    {
        last = Some(caller.queue_call(&log_line, (n as u32 + 1, word))?);
    }
    if let Some(last) = last {
        println!(
            "   the queue drained; its last result: {:?}",
            last.wait_sync(None)?
        );
    }
    println!("   closing it: {}", caller.queue_close(&log_line));

    step(
        "7. Thousands of to_thread jobs through as_completed",
        "to_thread runs work on pooled worker threads. A lazy source pulled by as_completed\n   \
         keeps at most max_concurrent jobs unfinished, which bounds the threads in use.",
    );
    let jobs = (0..JOBS).map({
        let caller = caller.clone();
        move |i| {
            caller
                .to_thread(move || (i * i) % 7)
                .expect("the caller runs")
        }
    });
    let bar = indicatif::ProgressBar::new(JOBS);
    bar.set_style(
        indicatif::ProgressStyle::with_template("   {bar:40} {pos}/{len} jobs ({per_sec})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let mut results = caller.as_completed(Items::lazy(jobs), Some(4), true);
    let mut total = 0;
    block_on(async {
        while let Some(pen) = results.next().await {
            total += pen?.result()?;
            bar.inc(1);
        }
        Ok::<_, Box<dyn Error>>(())
    })?;
    bar.finish_and_clear();
    println!(
        "   {JOBS} jobs in {:?} on {} worker threads; sum of results {total}",
        started.elapsed(),
        caller.pool().workers()
    );

    step(
        "8. Stopping",
        "stop() cancels what is left, stops the children (the workers too); join() waits for\n   \
         every thread of the tree.",
    );
    caller.stop(false);
    caller.join()?;
    tracing::info!(caller = caller.name(), "stopped and joined");
    println!("   {caller:?}; workers left: {}", caller.pool().workers());
    Ok(())
}
