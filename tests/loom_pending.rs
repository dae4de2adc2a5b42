//! Loom models of concurrent operations on one [`Pending`]: every interleaving (up to the
//! preemption bound) of the library's locks, atomics and condvar is explored.
//!
//! Run with:
//! `RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test --release --test loom_pending`
//!
//! The library swaps its `Mutex`, `Condvar` and `AtomicU8` for loom's under `cfg(loom)`
//! (`src/sync.rs`). Pendings are created on the model's main thread, in an empty context.
#![cfg(loom)]

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Waker};

use async_kernel::{Pending, PendingError};
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::{Arc, Mutex};
use loom::thread;

/// Runs `f` under loom with a preemption bound small enough to finish in seconds
/// (`LOOM_MAX_PREEMPTIONS` overrides it).
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(f);
}

/// Asserts that `outcome` is a cancellation whose message is `msg`.
fn assert_cancelled<T: std::fmt::Debug>(outcome: Result<T, PendingError>, msg: &str) {
    match outcome {
        Err(PendingError::Cancelled(e)) => assert_eq!(e.message(), msg, "cancel message"),
        other => panic!("expected a cancellation, got {other:?}"),
    }
}

/// A counter shared with callbacks, plus whether every run saw the pending done.
#[derive(Default)]
struct Calls {
    count: AtomicUsize,
    saw_not_done: AtomicBool,
}

impl Calls {
    /// Records one callback run on `pen`.
    fn record(&self, pen: &Pending<u64>) {
        if !pen.done() {
            self.saw_not_done.store(true, Ordering::SeqCst);
        }
        self.count.fetch_add(1, Ordering::SeqCst);
    }
}

/// (a) `set_result` races `cancel` (no canceller): exactly one outcome, cancellation wins when
/// it came first (SPEC P5–P7), the done-callback runs exactly once (SPEC P12).
#[test]
fn set_result_vs_cancel() {
    model(|| {
        let pen: Pending<u64> = Pending::new();
        let calls = Arc::new(Calls::default());
        let c = calls.clone();
        pen.add_done_callback(move |p| c.record(p));

        let setter = pen.clone();
        let t_set = thread::spawn(move || setter.set_result(7).is_ok());
        let canceller = pen.clone();
        let t_cancel = thread::spawn(move || canceller.cancel(Some("stop")));
        let set_ok = t_set.join().expect("setter thread");
        let cancel_won = t_cancel.join().expect("cancel thread");

        assert!(pen.done());
        // Exactly one of them decided the outcome.
        assert_ne!(
            set_ok, cancel_won,
            "set_ok={set_ok} cancel_won={cancel_won}"
        );
        if cancel_won {
            assert!(pen.cancelled());
            assert_cancelled(pen.result(), "stop");
            assert_cancelled(pen.wait_sync(None), "stop");
        } else {
            assert!(!pen.cancelled());
            assert_eq!(pen.result().expect("value"), 7);
            assert_eq!(pen.wait_sync(None).expect("value"), 7);
            // Cancelling a done pending reports whether it ended cancelled.
            assert!(!pen.cancel(Some("late")));
        }
        assert_eq!(calls.count.load(Ordering::SeqCst), 1, "callback runs once");
        assert!(!calls.saw_not_done.load(Ordering::SeqCst));
    });
}

/// (b) `add_done_callback` races `set_result` while the main thread blocks in `wait_sync`: the
/// callback runs exactly once, and when it runs on the completing thread it runs before the
/// waiter is released (SPEC P10, P12).
#[test]
fn add_done_callback_vs_set_result() {
    model(|| {
        let pen: Pending<u64> = Pending::new();
        let released = Arc::new(AtomicBool::new(false));
        let calls = Arc::new(Calls::default());
        // (thread id of the run, whether the waiter was already released then)
        let runs = Arc::new(Mutex::new(Vec::new()));

        let adder = pen.clone();
        let (c, r, rel) = (calls.clone(), runs.clone(), released.clone());
        let t_add = thread::spawn(move || {
            adder.add_done_callback(move |p| {
                let was_released = rel.load(Ordering::SeqCst);
                r.lock()
                    .expect("runs lock")
                    .push((thread::current().id(), was_released));
                c.record(p);
            });
            thread::current().id()
        });
        let setter = pen.clone();
        let t_set = thread::spawn(move || {
            setter.set_result(3).expect("only setter");
            thread::current().id()
        });

        assert_eq!(pen.wait_sync(None).expect("value"), 3);
        released.store(true, Ordering::SeqCst);
        let adder_id = t_add.join().expect("adder thread");
        let setter_id = t_set.join().expect("setter thread");

        assert_eq!(calls.count.load(Ordering::SeqCst), 1, "callback runs once");
        assert!(!calls.saw_not_done.load(Ordering::SeqCst));
        let runs = runs.lock().expect("runs lock");
        let (ran_on, was_released) = runs[0];
        if ran_on == setter_id {
            // Queued before completion: run by the completing thread, before any waiter.
            assert!(
                !was_released,
                "a waiter was released before the callback ran"
            );
        } else {
            // Added after completion: run at once by the adding thread.
            assert_eq!(ran_on, adder_id);
        }
    });
}

/// (c) `wait_sync(None)` races `set_result`: the waiter gets the value; no wake-up is lost
/// (loom reports a deadlock if the waiter parks forever).
#[test]
fn wait_sync_vs_set_result() {
    model(|| {
        let pen: Pending<u64> = Pending::new();
        let waiter = pen.clone();
        let t_wait = thread::spawn(move || waiter.wait_sync(None));
        pen.set_result(11).expect("only setter");
        assert_eq!(t_wait.join().expect("waiter thread").expect("value"), 11);
    });
}

/// (c') The async path: `pen.wait()` driven by loom's `block_on` races `set_result`; the waker
/// registered in `poll_done` is never lost.
#[test]
fn async_wait_vs_set_result() {
    model(|| {
        let pen: Pending<u64> = Pending::new();
        let waiter = pen.clone();
        let t_wait = thread::spawn(move || loom::future::block_on(waiter.wait()));
        pen.set_result(5).expect("only setter");
        assert_eq!(t_wait.join().expect("waiter thread").expect("value"), 5);
    });
}

/// (d) `cancel` with a canceller installed races `set_result` (the work finishing): the
/// canceller is called at most once per cancel, and the outcome is "cancelled" exactly when
/// the cancel came first (SPEC P6, P7).
#[test]
fn cancel_with_canceller_vs_set_result() {
    model(|| {
        let pen: Pending<u64> = Pending::new();
        let called = Arc::new(AtomicUsize::new(0));
        let messages = Arc::new(Mutex::new(Vec::new()));
        let (c, m) = (called.clone(), messages.clone());
        pen.set_canceller(move |msg| {
            c.fetch_add(1, Ordering::SeqCst);
            m.lock()
                .expect("messages lock")
                .push(msg.map(str::to_owned));
        })
        .expect("first canceller");

        let canceller = pen.clone();
        let t_cancel = thread::spawn(move || canceller.cancel(Some("halt")));
        let worker = pen.clone();
        // The work always finishes by setting its result; cancellation turns it into "cancelled".
        let t_work = thread::spawn(move || worker.set_result(9).is_ok());
        let cancel_first = t_cancel.join().expect("cancel thread");
        let set_ok = t_work.join().expect("worker thread");

        assert!(
            set_ok,
            "the work's set_result never fails: nothing else completes it"
        );
        assert!(pen.done());
        let n = called.load(Ordering::SeqCst);
        if cancel_first {
            assert_eq!(n, 1, "canceller called once for the one cancel");
            assert_eq!(
                *messages.lock().expect("messages lock"),
                vec![Some("halt".to_owned())]
            );
            assert!(pen.cancelled());
            assert_cancelled(pen.wait_sync(None), "halt");
        } else {
            assert_eq!(n, 0, "cancel on a done pending calls nothing");
            assert!(!pen.cancelled());
            assert_eq!(pen.wait_sync(None).expect("value"), 9);
        }
    });
}

/// (e) `set_canceller` races `cancel`: if the cancel came first the pending is done
/// (cancelled) and installing fails; otherwise the canceller is called exactly once and the
/// pending waits for the work (SPEC P6, P8).
#[test]
fn set_canceller_vs_cancel() {
    model(|| {
        let pen: Pending<u64> = Pending::new();
        let called = Arc::new(AtomicUsize::new(0));

        let installer = pen.clone();
        let c = called.clone();
        let t_install = thread::spawn(move || {
            installer
                .set_canceller(move |_| {
                    c.fetch_add(1, Ordering::SeqCst);
                })
                .is_ok()
        });
        let canceller = pen.clone();
        let t_cancel = thread::spawn(move || canceller.cancel(Some("bye")));
        let installed = t_install.join().expect("installer thread");
        assert!(
            t_cancel.join().expect("cancel thread"),
            "cancel of a running pending"
        );

        assert!(pen.cancelled());
        if installed {
            // The work has not stopped yet: not done until it sets its outcome.
            assert_eq!(called.load(Ordering::SeqCst), 1);
            assert!(!pen.done());
            pen.set_result(1).expect("work finishes");
        } else {
            assert_eq!(called.load(Ordering::SeqCst), 0);
        }
        assert_cancelled(pen.result(), "bye");
    });
}

/// (f) Two cancels race on a pending with a canceller: both are reported, the canceller is
/// called once per cancel, and the messages accumulate in the order the cancels happened.
#[test]
fn cancel_vs_cancel_with_canceller() {
    model(|| {
        let pen: Pending<u64> = Pending::new();
        let called = Arc::new(AtomicUsize::new(0));
        let c = called.clone();
        pen.set_canceller(move |_| {
            c.fetch_add(1, Ordering::SeqCst);
        })
        .expect("first canceller");

        let a = pen.clone();
        let t_a = thread::spawn(move || a.cancel(Some("a")));
        let b = pen.clone();
        let t_b = thread::spawn(move || b.cancel(Some("b")));
        assert!(t_a.join().expect("thread a"));
        assert!(t_b.join().expect("thread b"));

        assert_eq!(called.load(Ordering::SeqCst), 2);
        let msg = pen.cancel_message().expect("a message");
        assert!(msg == "a\nb" || msg == "b\na", "message {msg:?}");
        pen.set_result(0).expect("work finishes");
        assert_cancelled(pen.result(), &msg);
    });
}

/// (g) Two waiters (one blocking, one async) race `set_result`: the second waiter takes the
/// extra waker slot, and both are woken with the value.
#[test]
fn two_waiters_vs_set_result() {
    model(|| {
        let pen: Pending<u64> = Pending::new();
        let blocking = pen.clone();
        let t_sync = thread::spawn(move || blocking.wait_sync(None));
        let asynchronous = pen.clone();
        let t_async = thread::spawn(move || loom::future::block_on(asynchronous.wait()));
        pen.set_result(21).expect("only setter");
        assert_eq!(t_sync.join().expect("sync waiter").expect("value"), 21);
        assert_eq!(t_async.join().expect("async waiter").expect("value"), 21);
    });
}

/// (h) An unfinished `wait()` future is dropped while the work sets its result: either the
/// result came first, or dropping the waiter cancelled the pending and the late result is
/// refused (SPEC P4, P10).
#[test]
fn dropped_wait_vs_set_result() {
    model(|| {
        let pen: Pending<u64> = Pending::new();
        let waiter = pen.clone();
        let t_wait = thread::spawn(move || {
            let mut fut = waiter.wait();
            let mut cx = Context::from_waker(Waker::noop());
            let polled = Pin::new(&mut fut).poll(&mut cx);
            drop(fut);
            polled.is_ready()
        });
        let set_ok = pen.set_result(4).is_ok();
        let ready = t_wait.join().expect("waiter thread");

        assert!(pen.done());
        if ready {
            // The poll saw the value, so the drop cancelled nothing.
            assert!(set_ok);
        }
        if set_ok {
            assert_eq!(pen.result().expect("value"), 4);
        } else {
            assert_cancelled(
                pen.result(),
                "Cancelled because its waiter was dropped before it was done.",
            );
        }
    });
}

/// (i) A handle polled as a future (it owns its wait) is dropped while the work sets its result:
/// either the value came first, or dropping the handle cancelled the pending and the late
/// result is refused (SPEC P4, P10, the drop rule).
#[test]
fn dropped_polled_handle_vs_set_result() {
    model(|| {
        let pen: Pending<u64> = Pending::new();
        let mut handle = pen.clone();
        let t_wait = thread::spawn(move || {
            let mut cx = Context::from_waker(Waker::noop());
            let polled = Pin::new(&mut handle).poll(&mut cx);
            drop(handle);
            polled.is_ready()
        });
        let set_ok = pen.set_result(5).is_ok();
        let ready = t_wait.join().expect("waiter thread");

        assert!(pen.done());
        if ready {
            assert!(set_ok, "a handle that got its output gives nothing up");
        }
        if set_ok {
            assert_eq!(pen.result().expect("value"), 5);
        } else {
            assert_cancelled(
                pen.result(),
                "Cancelled because its waiter was dropped before it was done.",
            );
        }
    });
}

/// (j) Two consumers take the value while it is being set: exactly one gets it; the other
/// sees it not done yet or already taken (SPEC P9).
#[test]
fn take_vs_take_vs_set_result() {
    model(|| {
        let pen: Pending<u64> = Pending::new();
        let other = pen.clone();
        let t_take = thread::spawn(move || other.take().ok());
        pen.set_result(6).expect("first outcome");
        let mine = pen.take().ok();
        let theirs = t_take.join().expect("taker thread");
        match (mine, theirs) {
            (Some(6), None) | (None, Some(6)) => {}
            other => panic!("the value must leave exactly once, got {other:?}"),
        }
    });
}
