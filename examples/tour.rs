//! A short tour of async-kernel: pendings set on one thread and awaited on another, a group
//! that cancels its members when one fails, and a caller thread that runs plain and async
//! closures scheduled from anywhere.
//!
//! Run with `cargo run --example tour`.

use std::time::Duration;

use async_kernel::caller::{Async, Caller, CallerOptions, Fallible, Modifier};
use async_kernel::{Pending, PendingError, PendingGroup};

fn main() -> Result<(), PendingError> {
    tracing_subscriber::fmt().with_env_filter("info").init();

    // 1. A pending set by a plain thread, awaited from an executor on this thread.
    let answer: Pending<u64> = Pending::builder()
        .metadata("func", "compute_answer")
        .build()?;
    let setter = answer.clone();
    let worker = std::thread::spawn(move || {
        tracing::info!("worker: computing");
        setter.set_result(42).expect("set once");
    });
    let value = futures::executor::block_on(answer.wait().timeout(Duration::from_secs(5)))?;
    worker.join().expect("worker thread");
    tracing::info!(%value, pending = ?answer, "awaited on the main thread");

    // 2. Blocking on a pending from a plain thread.
    let later: Pending<&'static str> = Pending::new();
    let setter = later.clone();
    std::thread::spawn(move || setter.set_result("hello from another thread").unwrap());
    tracing::info!(
        value = later.wait_sync(Some(Duration::from_secs(5)))?,
        "blocked until done"
    );

    // 3. A group: one member fails, so the others are cancelled and the group reports it.
    let outcome = futures::executor::block_on(PendingGroup::new().run(|pg| async move {
        let slow: Pending<()> = Pending::new();
        let failing: Pending<()> = Pending::new();
        tracing::info!(members = pg.pending().len(), "group running");
        std::thread::spawn(move || failing.set_exception("the disk is full").unwrap());
        slow.await
    }));
    match outcome {
        Err(PendingError::Cancelled(c)) => tracing::info!(message = c.message(), "group cancelled"),
        other => tracing::warn!(?other, "unexpected group outcome"),
    }

    // 4. A caller: a thread with its own event loop. Plain closures run inline on it, async
    //    ones as local tasks (their futures may hold `Rc`s); all return pendings.
    let caller = Caller::new(Modifier::NewThread, CallerOptions::named("tour-worker"))
        .map_err(PendingError::failed)?;
    let square = caller.call_soon(|| 12 * 12).map_err(PendingError::failed)?;
    let local = caller
        .call_soon(Async(|| async {
            let shared = std::rc::Rc::new("only on the caller's thread");
            shared.len()
        }))
        .map_err(PendingError::failed)?;
    let bad = caller
        .call_soon(Fallible(|| "not a number".parse::<u32>()))
        .map_err(PendingError::failed)?;
    let slow = caller
        .call_soon(Async(|| async { std::future::pending::<()>().await }))
        .map_err(PendingError::failed)?;
    tracing::info!(value = square.wait_sync(None)?, "plain call");
    tracing::info!(value = local.wait_sync(None)?, "async call");
    let failure = bad.wait_sync(None).unwrap_err();
    // `Failed` says "failed"; the function's own error is its `source()`.
    let cause = std::error::Error::source(&failure).map(ToString::to_string);
    tracing::info!(error = %failure, cause = ?cause, "fallible call");
    slow.cancel(Some("the tour is over"));
    tracing::info!(error = %slow.wait_sync(None).unwrap_err(), "cancelled call");
    tracing::info!(caller = ?caller, "stopping");
    caller.stop(false);
    caller.join().map_err(PendingError::failed)?;
    tracing::info!(state = %caller.state(), "stopped");
    Ok(())
}
