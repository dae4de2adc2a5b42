// Closing per-function queues, failures inside them, and caller stop (SPEC Q3, Q4, C6).
// Included by tests/queue_close.rs once per backend; `BACKEND` is defined there.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_kernel::caller::{Async, CallerError, Fallible, FallibleAsync, QueuedFunction};
use async_kernel::{Pending, PendingError};

use crate::common::{OnDrop, T, block, capture_logs, logs, new_caller_on, shutdown};

fn cancel_message<T: std::fmt::Debug>(out: Result<T, PendingError>) -> String {
    match out {
        Err(PendingError::Cancelled(c)) => c.message().to_owned(),
        other => panic!("expected cancelled, got {other:?}"),
    }
}

#[test]
fn queue_get_is_none_before_the_first_call_and_after_close() {
    // SPEC Q4
    let caller = new_caller_on(BACKEND, "queue-get");
    let work = QueuedFunction::new(|x: u8| x);
    assert!(caller.queue_get(&work).is_none());
    assert!(!caller.queue_close(&work), "nothing to close");
    let pen = caller.queue_call(&work, 1).unwrap();
    assert_eq!(pen.wait_sync(T).unwrap(), 1);
    assert!(caller.queue_get(&work).is_some());
    assert!(caller.queue_close(&work));
    assert!(caller.queue_get(&work).is_none());
    assert_eq!(caller.queue_count(), 0);
    shutdown(&caller);
}

#[test]
fn queue_close_cancels_the_pending_and_unrun_calls_never_run() {
    // SPEC Q4: calls not yet run are dropped unrun
    let caller = new_caller_on(BACKEND, "queue-close-unrun");
    let ran = Arc::new(AtomicUsize::new(0));
    let count = ran.clone();
    let work = QueuedFunction::new(move |()| count.fetch_add(1, Ordering::SeqCst));
    let (_blocker, release) = block(&caller);
    let pen = caller.queue_call(&work, ()).unwrap();
    for _ in 0..9 {
        caller.queue_call(&work, ()).unwrap();
    }
    assert!(caller.queue_close(&work));
    drop(release);
    let msg = cancel_message(pen.wait_sync(T));
    assert!(msg.contains("closed"), "{msg}");
    // The caller has passed the point where the drain would have run.
    caller.call_soon(|| ()).unwrap().wait_sync(T).unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    shutdown(&caller);
}

#[test]
fn calls_already_taken_by_a_running_drain_never_run_after_close() {
    // SPEC Q4: calls not yet run when the queue closes never run
    let caller = new_caller_on(BACKEND, "queue-close-mid-drain");
    let ran = Arc::new(AtomicUsize::new(0));
    let started: Pending<()> = Pending::new();
    let gate: Pending<()> = Pending::new();
    let (count, s, g) = (ran.clone(), started.clone(), gate.clone());
    let work = QueuedFunction::new(move |i: u32| {
        count.fetch_add(1, Ordering::SeqCst);
        if i == 0 {
            let _ = s.set_result(());
            let _ = g.wait_sync(T);
        }
    });
    // All queued while the caller is busy, so the drain takes them in one go.
    let (_blocker, release) = block(&caller);
    let pen = caller.queue_call(&work, 0).unwrap();
    for i in 1..10 {
        caller.queue_call(&work, i).unwrap();
    }
    drop(release);
    started.wait_sync(T).unwrap();
    assert!(caller.queue_close(&work));
    gate.set_result(()).unwrap();
    assert!(cancel_message(pen.wait_sync(T)).contains("closed"));
    caller.call_soon(|| ()).unwrap().wait_sync(T).unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 1, "only the call already running ran");
    shutdown(&caller);
}

#[test]
fn a_new_call_after_close_opens_a_new_queue() {
    // SPEC Q4: close removes the queue; the next call makes another
    let caller = new_caller_on(BACKEND, "queue-reopen");
    let work = QueuedFunction::new(|x: u8| x);
    let old = caller.queue_call(&work, 1).unwrap();
    old.wait_sync(T).unwrap();
    caller.queue_close(&work);
    let new = caller.queue_call(&work, 2).unwrap();
    assert_ne!(new, old);
    assert_eq!(new.wait_sync(T).unwrap(), 2);
    shutdown(&caller);
}

#[test]
fn dropping_the_last_handle_closes_the_queue_and_unrun_calls_never_run() {
    // SPEC Q4: the queue closes when its function is gone
    let caller = new_caller_on(BACKEND, "queue-owner-drop");
    let ran = Arc::new(AtomicUsize::new(0));
    let count = ran.clone();
    let work = QueuedFunction::new(move |()| count.fetch_add(1, Ordering::SeqCst));
    let clone = work.clone();
    let (_blocker, release) = block(&caller);
    let pen = caller.queue_call(&work, ()).unwrap();
    caller.queue_call(&work, ()).unwrap();
    drop(work);
    assert!(!pen.done(), "a clone still owns the queue");
    drop(clone);
    let msg = cancel_message(pen.wait_sync(T));
    assert!(msg.contains("function was dropped"), "{msg}");
    drop(release);
    caller.call_soon(|| ()).unwrap().wait_sync(T).unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    assert_eq!(caller.queue_count(), 0);
    shutdown(&caller);
}

#[test]
fn unrun_arguments_are_dropped_on_close_and_a_panicking_drop_is_contained() {
    // SPEC Q4, Q6: arguments of unrun calls are dropped; user destructors may panic
    capture_logs();
    let caller = new_caller_on(BACKEND, "queue-drop-panics");
    let dropped = Arc::new(AtomicUsize::new(0));
    let work = QueuedFunction::new(|_guard: OnDrop<Box<dyn FnMut() + Send>>| ());
    let (_blocker, release) = block(&caller);
    for i in 0..3 {
        let d = dropped.clone();
        let guard: OnDrop<Box<dyn FnMut() + Send>> = OnDrop(Box::new(move || {
            d.fetch_add(1, Ordering::SeqCst);
            if i == 1 {
                panic!("argument destructor boom");
            }
        }));
        caller.queue_call(&work, guard).unwrap();
    }
    assert!(caller.queue_close(&work));
    assert_eq!(dropped.load(Ordering::SeqCst), 3, "every argument dropped, past the panic");
    drop(release);
    assert_eq!(caller.call_soon(|| 5).unwrap().wait_sync(T).unwrap(), 5);
    assert!(logs().contains("argument destructor boom"));
    shutdown(&caller);
}

#[test]
fn cancelling_the_queue_pending_closes_the_queue() {
    // SPEC Q3: only cancelling the queue's pending (or closing it) stops it
    let caller = new_caller_on(BACKEND, "queue-cancel-pending");
    let ran = Arc::new(AtomicUsize::new(0));
    let count = ran.clone();
    let work = QueuedFunction::new(move |()| count.fetch_add(1, Ordering::SeqCst));
    let (_blocker, release) = block(&caller);
    let pen = caller.queue_call(&work, ()).unwrap();
    caller.queue_call(&work, ()).unwrap();
    assert!(pen.cancel(Some("enough")));
    assert_eq!(cancel_message(pen.wait_sync(T)), "enough");
    assert!(caller.queue_get(&work).is_none());
    drop(release);
    caller.call_soon(|| ()).unwrap().wait_sync(T).unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    shutdown(&caller);
}

#[test]
fn closing_stops_a_running_async_call() {
    // SPEC Q4: close cancels the queue, including its running call
    let caller = new_caller_on(BACKEND, "queue-close-running");
    let started: Pending<()> = Pending::new();
    let dropped: Pending<()> = Pending::new();
    let reached = Arc::new(AtomicBool::new(false));
    let (s, d, r) = (started.clone(), dropped.clone(), reached.clone());
    let work = QueuedFunction::new(Async(move |()| {
        let (s, d, r) = (s.clone(), d.clone(), r.clone());
        async move {
            let _on_drop = OnDrop(move || {
                let _ = d.set_result(());
            });
            let _ = s.set_result(());
            std::future::pending::<()>().await;
            r.store(true, Ordering::SeqCst);
        }
    }));
    let pen = caller.queue_call(&work, ()).unwrap();
    started.wait_sync(T).unwrap();
    assert_eq!(caller.running_tasks(), 1);
    caller.queue_close(&work);
    assert!(cancel_message(pen.wait_sync(T)).contains("closed"));
    // The call's future is dropped (on the caller's thread) and never gets further.
    dropped.wait_sync(T).unwrap();
    assert!(!reached.load(Ordering::SeqCst));
    shutdown(&caller);
}

#[test]
fn a_failing_call_is_logged_and_the_queue_goes_on() {
    // SPEC Q3: failures (an Err, a panic, an async Err) are logged and swallowed
    capture_logs();
    let caller = new_caller_on(BACKEND, "queue-failures");
    let plain = QueuedFunction::new(Fallible(|x: i32| {
        if x == 2 {
            Err(std::io::Error::other("queue-fail-two"))
        } else if x == 3 {
            panic!("queue-panic-three")
        } else {
            Ok(x)
        }
    }));
    let mut pen = None;
    for x in 1..=4 {
        pen = Some(caller.queue_call(&plain, x).unwrap());
    }
    assert_eq!(pen.unwrap().wait_sync(T).unwrap(), 4);
    let asynchronous = QueuedFunction::new(FallibleAsync(|x: i32| async move {
        if x == 1 {
            Err(std::io::Error::other("queue-async-fail"))
        } else {
            Ok(x)
        }
    }));
    caller.queue_call(&asynchronous, 1).unwrap();
    let pen = caller.queue_call(&asynchronous, 2).unwrap();
    assert_eq!(pen.wait_sync(T).unwrap(), 2);
    let logged = logs();
    for needle in ["queue-fail-two", "queue-panic-three", "queue-async-fail"] {
        assert!(logged.contains(needle), "{needle} not logged");
    }
    shutdown(&caller);
}

#[test]
fn a_call_raising_its_own_cancellation_does_not_stop_the_queue() {
    // SPEC Q3: a call whose code raises a cancellation of its own is a failure like any other
    let caller = new_caller_on(BACKEND, "queue-own-cancel");
    let work = QueuedFunction::new(FallibleAsync(|x: u8| async move {
        if x == 0 {
            Err(PendingError::cancelled("inner"))
        } else {
            Ok(x)
        }
    }));
    caller.queue_call(&work, 0).unwrap();
    let pen = caller.queue_call(&work, 9).unwrap();
    assert_eq!(pen.wait_sync(T).unwrap(), 9);
    assert!(caller.queue_get(&work).is_some(), "the queue is still open");
    shutdown(&caller);
}

#[test]
fn stopping_the_caller_closes_its_queues() {
    // SPEC C6: every queue_call queue is closed; unrun calls never run
    let caller = new_caller_on(BACKEND, "queue-stop");
    let ran = Arc::new(AtomicUsize::new(0));
    let count = ran.clone();
    let work = QueuedFunction::new(move |()| count.fetch_add(1, Ordering::SeqCst));
    let other = QueuedFunction::new(|()| ());
    let (_blocker, release) = block(&caller);
    let pen = caller.queue_call(&work, ()).unwrap();
    let idle = caller.queue_call(&other, ()).unwrap();
    caller.stop(true);
    drop(release);
    caller.join().unwrap();
    for p in [pen.erase(), idle.erase()] {
        p.wait_sync_done(T).unwrap();
        assert!(p.cancelled());
    }
    assert!(cancel_message(pen.wait_sync(T)).contains("stopped"));
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    assert_eq!(caller.queue_count(), 0);
    assert!(caller.queue_get(&work).is_none());
}

#[test]
fn stopping_the_caller_closes_a_queue_reopened_after_close() {
    // SPEC C6, Q4: the reopened queue is the caller's too
    let caller = new_caller_on(BACKEND, "queue-stop-reopened");
    let work = QueuedFunction::new(|x: u8| x);
    caller.queue_call(&work, 1).unwrap().wait_sync(T).unwrap();
    assert!(caller.queue_close(&work));
    caller.queue_call(&work, 2).unwrap().wait_sync(T).unwrap();
    let idle = caller.queue_get(&work).unwrap();
    assert_eq!(caller.queue_count(), 1);
    shutdown(&caller);
    assert!(cancel_message(idle.wait_sync(T)).contains("stopped"));
    assert_eq!(caller.queue_count(), 0);
}

#[test]
fn queue_call_on_a_stopped_caller_is_an_error() {
    // SPEC C7 for queue_call
    let caller = new_caller_on(BACKEND, "queue-stopped");
    shutdown(&caller);
    let work = QueuedFunction::new(|x: u8| x);
    match caller.queue_call(&work, 1) {
        Err(CallerError::NotAccepting { caller: name, .. }) => assert_eq!(name, "queue-stopped"),
        other => panic!("expected NotAccepting, got {other:?}"),
    }
    assert!(caller.queue_get(&work).is_none());
}

#[test]
fn stopping_the_caller_stops_a_running_async_queue_call() {
    // SPEC C6: running tasks are cancelled, the queue's included
    let caller = new_caller_on(BACKEND, "queue-stop-running");
    let started: Pending<()> = Pending::new();
    let s = started.clone();
    let work = QueuedFunction::new(Async(move |()| {
        let s = s.clone();
        async move {
            let _ = s.set_result(());
            std::future::pending::<()>().await;
        }
    }));
    let pen = caller.queue_call(&work, ()).unwrap();
    started.wait_sync(T).unwrap();
    shutdown(&caller);
    assert!(pen.wait_sync_done(T).is_ok());
    assert!(pen.cancelled());
    assert_eq!(caller.running_tasks(), 0);
}

#[test]
fn closing_while_four_threads_queue_calls_leaves_no_pending_and_no_argument_behind() {
    // SPEC Q4, Q6: whatever the interleaving, every pending ends and every argument is dropped
    let caller = new_caller_on(BACKEND, "queue-close-race");
    let dropped = Arc::new(AtomicUsize::new(0));
    let work = QueuedFunction::new(|_arg: OnDrop<Box<dyn FnMut() + Send>>| ());
    let barrier = Arc::new(std::sync::Barrier::new(5));
    let producers: Vec<_> = (0..4)
        .map(|_| {
            let (caller, work, barrier, dropped) =
                (caller.clone(), work.clone(), barrier.clone(), dropped.clone());
            std::thread::spawn(move || {
                barrier.wait();
                (0..500)
                    .map(|_| {
                        let d = dropped.clone();
                        let arg: OnDrop<Box<dyn FnMut() + Send>> = OnDrop(Box::new(move || {
                            d.fetch_add(1, Ordering::SeqCst);
                        }));
                        caller.queue_call(&work, arg).unwrap()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    barrier.wait();
    for _ in 0..50 {
        caller.queue_close(&work);
        std::thread::yield_now();
    }
    let pendings: Vec<_> = producers
        .into_iter()
        .flat_map(|p| p.join().unwrap())
        .collect();
    // A last call after every producer: its round ends once all queued calls have run.
    caller.queue_call(&work, OnDrop(Box::new(|| ()))).unwrap().wait_sync(T).unwrap();
    for pen in &pendings {
        pen.wait_sync_done(T).unwrap();
    }
    assert_eq!(dropped.load(Ordering::SeqCst), 2000);
    shutdown(&caller);
}
