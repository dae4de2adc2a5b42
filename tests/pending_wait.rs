//! Awaiting a pending: timeouts, protection, dropping and release order (SPEC P6, P10).

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_kernel::{Pending, PendingError};
use futures::FutureExt as _;

use common::{GUARD, SHORT, block_on};

// SPEC P10: awaiting gives the value set later by a plain thread.
#[test]
fn await_gives_value_set_by_a_plain_thread() {
    let pen: Pending<String> = Pending::new();
    let setter = pen.clone();
    let (go_tx, go_rx) = crossbeam_channel::bounded::<()>(1);
    let t = std::thread::spawn(move || {
        go_rx.recv_timeout(GUARD).unwrap();
        setter.set_result("hello".to_owned()).unwrap();
    });
    let value = block_on(async {
        let mut wait = pen.wait();
        assert!(futures::poll!(&mut wait).is_pending());
        go_tx.send(()).unwrap();
        wait.await
    });
    assert_eq!(value.unwrap(), "hello");
    t.join().unwrap();
}

// SPEC P10: awaiting a failed pending returns its failure.
#[test]
fn await_returns_the_failure() {
    let pen: Pending<u32> = Pending::new();
    pen.set_exception("bad input").unwrap();
    match block_on(pen.wait()) {
        Err(PendingError::Failed(e)) => assert_eq!(e.to_string(), "bad input"),
        other => panic!("expected Failed, got {other:?}"),
    }
}

// SPEC P10: a wait that times out returns a timeout error and cancels the pending.
#[test]
fn timeout_returns_timed_out_and_cancels() {
    let pen: Pending<u32> = Pending::new();
    let err = block_on(pen.wait().timeout(SHORT)).unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(matches!(err, PendingError::TimedOut(d) if d == SHORT));
    assert!(pen.cancelled());
    assert!(
        pen.done(),
        "no canceller, so cancellation completes at once"
    );
    let msg = pen.cancel_message().unwrap();
    assert!(msg.contains("timed out"), "{msg}");
}

// SPEC P10: a protected wait that times out leaves the pending running.
#[test]
fn protected_timeout_does_not_cancel() {
    let pen: Pending<u32> = Pending::new();
    let err = block_on(pen.wait().timeout(SHORT).protect(true)).unwrap_err();
    assert!(err.is_timeout());
    assert!(!pen.cancelled());
    assert!(!pen.done());
    pen.set_result(4).unwrap();
    assert_eq!(block_on(pen.wait()).unwrap(), 4);
}

// SPEC P10: dropping an unfinished wait cancels the pending with a message saying so.
#[test]
fn dropping_an_unfinished_wait_cancels() {
    let pen: Pending<u32> = Pending::new();
    assert!(pen.wait().now_or_never().is_none()); // polled once, then dropped
    assert!(pen.cancelled());
    let msg = pen.cancel_message().unwrap();
    assert!(msg.contains("dropped"), "{msg}");
}

// SPEC P10: a wait that was never polled never started waiting; dropping it cancels nothing.
#[test]
fn dropping_a_never_polled_wait_does_not_cancel() {
    let pen: Pending<u32> = Pending::new();
    let wait = pen.wait();
    drop(wait);
    assert!(!pen.cancelled());
    pen.set_result(3).unwrap();
    assert_eq!(pen.result().unwrap(), 3);
}

// SPEC P10: dropping an unfinished protected wait leaves the pending alone.
#[test]
fn dropping_a_protected_wait_does_not_cancel() {
    let pen: Pending<u32> = Pending::new();
    assert!(pen.wait().protect(true).now_or_never().is_none());
    // An un-polled wait dropped at once behaves the same.
    drop(pen.wait().protect(true));
    assert!(!pen.cancelled());
    pen.set_result(1).unwrap();
    assert_eq!(pen.result().unwrap(), 1);
}

// SPEC P10: dropping a Pending handle that was never polled never cancels: fire-and-forget.
#[test]
fn dropping_pending_handles_never_cancels() {
    let cancels = Arc::new(AtomicUsize::new(0));
    let pen: Pending<u32> = Pending::new();
    let c = cancels.clone();
    pen.set_canceller(move |_| {
        c.fetch_add(1, Ordering::SeqCst);
    })
    .unwrap();
    drop(pen.clone());
    assert!(!pen.cancelled());
    drop(pen); // the last handle
    assert_eq!(cancels.load(Ordering::SeqCst), 0);
}

// SPEC P10: without_result waits for completion but never returns the pending's own error.
#[test]
fn without_result_never_returns_the_pendings_error() {
    let failed: Pending<u32> = Pending::new();
    failed.set_exception("boom").unwrap();
    let cancelled: Pending<u32> = Pending::new();
    cancelled.cancel(Some("stop"));
    assert!(block_on(failed.wait().without_result()).is_ok());
    assert!(block_on(cancelled.wait().without_result()).is_ok());
}

// SPEC P10: without_result still reports its own timeout.
#[test]
fn without_result_reports_timeout() {
    let pen: Pending<u32> = Pending::new();
    let err = block_on(pen.wait().timeout(SHORT).protect(true).without_result()).unwrap_err();
    assert!(err.is_timeout());
    assert!(!pen.done());
}

// SPEC P10: a waiter is released only after every done-callback has run.
#[test]
fn waiter_is_released_after_every_callback_ran() {
    let pen: Pending<u32> = Pending::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let probe_ready = Arc::new(AtomicBool::new(true));
    for name in ["cb1", "cb2"] {
        let l = log.clone();
        let probe = probe_ready.clone();
        pen.add_done_callback(move |p| {
            // A wait polled while callbacks run must not be ready yet.
            let ready = p.wait().protect(true).now_or_never().is_some();
            probe.fetch_and(!ready, Ordering::SeqCst);
            for _ in 0..50 {
                std::thread::yield_now();
            }
            l.lock().unwrap().push(name);
        });
    }
    let setter = pen.clone();
    let t = std::thread::spawn(move || setter.set_result(1).unwrap());
    let value = block_on(pen.wait()).unwrap();
    log.lock().unwrap().push("waiter");
    t.join().unwrap();
    assert_eq!(value, 1);
    assert_eq!(*log.lock().unwrap(), vec!["cb1", "cb2", "waiter"]);
    assert!(
        probe_ready.load(Ordering::SeqCst),
        "a wait was ready before the callbacks finished"
    );
}

// SPEC P6, P10: "cancel, then wait" waits until the work has really stopped.
#[test]
fn wait_after_cancel_waits_for_the_work_to_stop() {
    let pen: Pending<u32> = Pending::new();
    let stopped = Arc::new(AtomicBool::new(false));
    let (tx, rx) = crossbeam_channel::bounded::<()>(1);
    pen.set_canceller(move |_| tx.send(()).unwrap()).unwrap();
    let work = pen.clone();
    let s = stopped.clone();
    let t = std::thread::spawn(move || {
        rx.recv_timeout(GUARD).unwrap();
        s.store(true, Ordering::SeqCst);
        work.set_result(9).unwrap();
    });
    pen.cancel(Some("please stop"));
    let err = block_on(pen.wait().timeout(GUARD)).unwrap_err();
    assert!(
        stopped.load(Ordering::SeqCst),
        "wait returned before the work stopped"
    );
    assert_eq!(err.cancel_message(), Some("please stop"));
    t.join().unwrap();
}

// SPEC P10: awaiting by reference is the same wait and gives the value.
#[test]
fn awaiting_a_reference_gives_the_value() {
    let pen: Pending<u32> = Pending::new();
    pen.set_result(12).unwrap();
    assert_eq!(block_on(async { (&pen).await }).unwrap(), 12);
}
