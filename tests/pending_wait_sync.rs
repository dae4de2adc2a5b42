//! Blocking on a pending from plain threads (SPEC P1, P10, P11).

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use async_kernel::{Pending, PendingError};

use common::{GUARD, SHORT};

// SPEC P11: a plain thread blocks until another thread sets the value.
#[test]
fn wait_sync_from_a_plain_thread_gets_the_value() {
    let pen: Pending<u64> = Pending::new();
    let waiter = pen.clone();
    let (started_tx, started_rx) = crossbeam_channel::bounded::<()>(1);
    let t = std::thread::spawn(move || {
        started_tx.send(()).unwrap();
        waiter.wait_sync(Some(GUARD))
    });
    started_rx.recv_timeout(GUARD).unwrap();
    pen.set_result(99).unwrap();
    assert_eq!(t.join().unwrap().unwrap(), 99);
}

// SPEC P11: a timeout is a timeout error and does NOT cancel the pending.
#[test]
fn wait_sync_timeout_does_not_cancel() {
    let pen: Pending<u64> = Pending::new();
    let err = pen.wait_sync(Some(SHORT)).unwrap_err();
    assert!(
        matches!(err, PendingError::TimedOut(d) if d == SHORT),
        "{err:?}"
    );
    assert!(!pen.cancelled());
    assert!(!pen.done());
    pen.set_result(1).unwrap();
    assert_eq!(pen.wait_sync(Some(GUARD)).unwrap(), 1);
}

// SPEC P11: wait_sync returns the pending's failure.
#[test]
fn wait_sync_returns_the_failure() {
    let pen: Pending<u64> = Pending::new();
    let setter = pen.clone();
    std::thread::spawn(move || setter.set_exception("no route").unwrap());
    match pen.wait_sync(Some(GUARD)) {
        Err(PendingError::Failed(e)) => assert_eq!(e.to_string(), "no route"),
        other => panic!("expected Failed, got {other:?}"),
    }
}

// SPEC P11: wait_sync returns the cancellation with its message.
#[test]
fn wait_sync_returns_the_cancellation() {
    let pen: Pending<u64> = Pending::new();
    let canceller = pen.clone();
    std::thread::spawn(move || canceller.cancel(Some("abandoned")));
    let err = pen.wait_sync(Some(GUARD)).unwrap_err();
    assert_eq!(err.cancel_message(), Some("abandoned"));
}

// SPEC P11: wait_sync_done (result = false) waits but never returns the pending's error.
#[test]
fn wait_sync_done_ignores_the_pendings_error() {
    let pen: Pending<u64> = Pending::new();
    let setter = pen.clone();
    std::thread::spawn(move || setter.set_exception("ignored").unwrap());
    assert!(pen.wait_sync_done(Some(GUARD)).is_ok());
    assert!(pen.done());
    // An AnyPending handle blocks the same way.
    assert!(pen.erase().wait_sync_done(Some(GUARD)).is_ok());
}

// SPEC P11: AnyPending::wait_sync_done times out without cancelling.
#[test]
fn any_pending_wait_sync_done_times_out_without_cancelling() {
    let pen: Pending<()> = Pending::new();
    let err = pen.erase().wait_sync_done(Some(SHORT)).unwrap_err();
    assert!(err.is_timeout());
    assert!(!pen.cancelled());
}

// SPEC P10, P11: a blocked thread is released only after every done-callback has run.
#[test]
fn wait_sync_is_released_after_every_callback_ran() {
    let pen: Pending<u32> = Pending::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let probe_timed_out = Arc::new(AtomicBool::new(true));
    let l = log.clone();
    let probe = probe_timed_out.clone();
    pen.add_done_callback(move |p| {
        // Blocking while callbacks run must not see the pending as released.
        let r = p.wait_sync_done(Some(Duration::ZERO));
        probe.fetch_and(
            matches!(r, Err(PendingError::TimedOut(_))),
            Ordering::SeqCst,
        );
        for _ in 0..50 {
            std::thread::yield_now();
        }
        l.lock().unwrap().push("callback");
    });
    let waiter = pen.clone();
    let wl = log.clone();
    let barrier = Arc::new(Barrier::new(2));
    let b = barrier.clone();
    let t = std::thread::spawn(move || {
        b.wait();
        let v = waiter.wait_sync(Some(GUARD));
        wl.lock().unwrap().push("waiter");
        v
    });
    barrier.wait();
    pen.set_result(3).unwrap();
    assert_eq!(t.join().unwrap().unwrap(), 3);
    assert_eq!(*log.lock().unwrap(), vec!["callback", "waiter"]);
    assert!(probe_timed_out.load(Ordering::SeqCst));
}

// SPEC P1, P11: many threads blocked on one pending all get the value.
#[test]
fn many_blocked_threads_all_get_the_value() {
    const N: usize = 16;
    let pen: Pending<Arc<str>> = Pending::new();
    let barrier = Arc::new(Barrier::new(N + 1));
    let threads: Vec<_> = (0..N)
        .map(|_| {
            let p = pen.clone();
            let b = barrier.clone();
            std::thread::spawn(move || {
                b.wait();
                p.wait_sync(Some(GUARD))
            })
        })
        .collect();
    barrier.wait();
    pen.set_result(Arc::from("shared")).unwrap();
    for t in threads {
        assert_eq!(&*t.join().unwrap().unwrap(), "shared");
    }
}
