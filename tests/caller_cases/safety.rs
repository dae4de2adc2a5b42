// Included by tests/caller_safety.rs once per backend; `BACKEND` is defined there.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use async_kernel::caller::{Async, Caller, CallerError, CallerOptions, Modifier};
use async_kernel::{InvalidStateKind, Pending, PendingError};

use crate::common::{T, new_caller_on, shutdown};

fn deadlock_kind<T: std::fmt::Debug>(result: Result<T, PendingError>) -> Option<InvalidStateKind> {
    match result {
        Err(PendingError::InvalidState(e)) => Some(e.kind()),
        _ => None,
    }
}

#[test]
fn wait_sync_inside_a_plain_call_on_its_own_caller_is_would_deadlock() {
    // SPEC P11
    let caller = new_caller_on(BACKEND, "safe-deadlock-plain");
    let c = caller.clone();
    let kind = caller
        .call_soon(move || deadlock_kind(c.call_soon(|| 5).unwrap().wait_sync(None)))
        .unwrap()
        .wait_sync(T)
        .unwrap();
    assert_eq!(kind, Some(InvalidStateKind::WouldDeadlock));
    shutdown(&caller);
}

#[test]
fn wait_sync_inside_an_async_call_on_its_own_caller_is_would_deadlock() {
    // SPEC P11
    let caller = new_caller_on(BACKEND, "safe-deadlock-async");
    let c = caller.clone();
    let kind = caller
        .call_soon(Async(move || async move {
            let inner = c.call_soon(|| 5).unwrap();
            let kind = deadlock_kind(inner.wait_sync(None));
            // Awaiting it instead is fine.
            (kind, inner.await.unwrap())
        }))
        .unwrap()
        .wait_sync(T)
        .unwrap();
    assert_eq!(kind, (Some(InvalidStateKind::WouldDeadlock), 5));
    shutdown(&caller);
}

#[test]
fn wait_sync_inside_the_body_of_run_is_would_deadlock() {
    // SPEC P11
    let caller = Caller::new(
        Modifier::Manual,
        CallerOptions::named("safe-deadlock-run").backend(BACKEND),
    )
    .unwrap();
    let kind = caller
        .run(|c| async move { deadlock_kind(c.call_soon(|| 1).unwrap().wait_sync(None)) })
        .unwrap();
    assert_eq!(kind, Some(InvalidStateKind::WouldDeadlock));
}

#[test]
fn wait_sync_on_the_thread_of_a_caller_not_yet_running_is_would_deadlock() {
    // SPEC P11: this thread is the only one that can run the call
    let caller = Caller::new(
        Modifier::Manual,
        CallerOptions::named("safe-deadlock-manual").backend(BACKEND),
    )
    .unwrap();
    let pen = caller.call_soon(|| 1).unwrap();
    let result = pen.wait_sync(Some(Duration::from_secs(1)));
    caller.stop(true);
    assert_eq!(
        deadlock_kind(result),
        Some(InvalidStateKind::WouldDeadlock),
        "blocking here can only end when someone else cancels the call"
    );
}

#[test]
fn wait_sync_on_its_own_pending_from_a_call_direct_is_would_deadlock() {
    // SPEC P11
    let caller = new_caller_on(BACKEND, "safe-deadlock-direct");
    let c = caller.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    caller
        .call_direct(move || {
            tx.send(deadlock_kind(c.call_soon(|| 1).unwrap().wait_sync(None)))
                .unwrap()
        })
        .unwrap();
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(5)).unwrap(),
        Some(InvalidStateKind::WouldDeadlock)
    );
    shutdown(&caller);
}

#[test]
fn a_panic_in_a_plain_call_becomes_panicked_and_the_caller_keeps_serving() {
    // SPEC C9: a panic in user code becomes the pending's error
    let caller = new_caller_on(BACKEND, "safe-panic-plain");
    let bad = caller
        .call_soon(|| -> u32 { panic!("plain boom") })
        .unwrap();
    match bad.wait_sync(T) {
        Err(PendingError::Panicked { message }) => assert_eq!(&*message, "plain boom"),
        other => panic!("expected Panicked, got {other:?}"),
    }
    assert_eq!(caller.call_soon(|| 1).unwrap().wait_sync(T).unwrap(), 1);
    assert!(caller.running());
    shutdown(&caller);
}

#[test]
fn a_panic_in_an_async_call_becomes_panicked_and_the_caller_keeps_serving() {
    // SPEC C9: a panic in user code becomes the pending's error
    let caller = new_caller_on(BACKEND, "safe-panic-async");
    let bad = caller
        .call_soon(Async(|| async {
            futures::future::ready(()).await;
            let n: u32 = 7;
            if n == 7 {
                panic!("async boom {n}");
            }
            n
        }))
        .unwrap();
    match bad.wait_sync(T) {
        Err(PendingError::Panicked { message }) => assert_eq!(&*message, "async boom 7"),
        other => panic!("expected Panicked, got {other:?}"),
    }
    let ok = caller.call_soon(Async(|| async { 2 })).unwrap();
    assert_eq!(ok.wait_sync(T).unwrap(), 2);
    assert_eq!(caller.running_tasks(), 0);
    shutdown(&caller);
}

#[test]
fn a_panic_in_an_async_closure_before_its_future_becomes_panicked() {
    // SPEC C9: a panic in user code becomes the pending's error
    let caller = new_caller_on(BACKEND, "safe-panic-closure");
    let bad = caller
        .call_soon(Async(|| -> std::future::Ready<u32> {
            panic!("closure boom")
        }))
        .unwrap();
    match bad.wait_sync(T) {
        Err(PendingError::Panicked { message }) => assert_eq!(&*message, "closure boom"),
        other => panic!("expected Panicked, got {other:?}"),
    }
    assert_eq!(caller.call_soon(|| 3).unwrap().wait_sync(T).unwrap(), 3);
    shutdown(&caller);
}

#[test]
fn debug_shows_name_backend_state_and_children() {
    // SPEC C14; the reference's repr
    let caller = new_caller_on(BACKEND, "safe-debug");
    let _child = caller
        .get(CallerOptions::named("safe-debug-child"))
        .unwrap();
    caller.call_soon(|| ()).unwrap().wait_sync(T).unwrap();
    assert_eq!(
        format!("{caller:?}"),
        format!("Caller<safe-debug {BACKEND} 🏃 running 1 child>")
    );
    let _second = caller
        .get(CallerOptions::named("safe-debug-child-2"))
        .unwrap();
    assert_eq!(
        format!("{caller:?}"),
        format!("Caller<safe-debug {BACKEND} 🏃 running 2 children>")
    );
    caller.stop(false);
    caller.join().unwrap();
    assert_eq!(format!("{caller:?}"), format!("Caller<safe-debug {BACKEND} 🏁 stopped>"));
}

#[test]
fn stop_racing_with_submissions_loses_nothing() {
    // SPEC C6, C7: every accepted call ends; every refused one is NotAccepting
    const THREADS: usize = 4;
    const BEFORE: usize = 100;
    const AFTER_REFUSAL: usize = 10;
    let caller = new_caller_on(BACKEND, "safe-race");
    let executed = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::new(THREADS + 1));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (caller, executed, barrier) = (caller.clone(), executed.clone(), barrier.clone());
            thread::spawn(move || {
                let submit = |i: usize| -> Result<Pending<usize>, CallerError> {
                    let executed = executed.clone();
                    if i % 2 == 0 {
                        caller.call_soon(move || {
                            executed.fetch_add(1, Ordering::SeqCst);
                            i
                        })
                    } else {
                        caller.call_soon(Async(move || async move {
                            executed.fetch_add(1, Ordering::SeqCst);
                            i
                        }))
                    }
                };
                let mut accepted = Vec::new();
                let mut attempts = 0;
                let mut refused = 0;
                for i in 0..BEFORE {
                    attempts += 1;
                    accepted.push(submit(t * 1_000_000 + i).expect("accepted before stop"));
                }
                barrier.wait();
                // Keep submitting until refused, then a few more that must all be refused.
                let mut i = BEFORE;
                loop {
                    attempts += 1;
                    match submit(t * 1_000_000 + i) {
                        Ok(p) => accepted.push(p),
                        Err(CallerError::NotAccepting { .. }) => {
                            refused += 1;
                            break;
                        }
                        Err(other) => panic!("unexpected error {other:?}"),
                    }
                    i += 1;
                }
                for _ in 0..AFTER_REFUSAL {
                    attempts += 1;
                    match submit(0) {
                        Err(CallerError::NotAccepting { .. }) => refused += 1,
                        other => panic!("accepted after a refusal: {other:?}"),
                    }
                }
                (accepted, attempts, refused)
            })
        })
        .collect();
    barrier.wait();
    caller.stop(false);
    let mut accepted = Vec::new();
    let (mut attempts, mut refused) = (0, 0);
    for h in handles {
        let (a, n, r) = h.join().unwrap();
        accepted.extend(a);
        attempts += n;
        refused += r;
    }
    caller.join().unwrap();
    let (mut values, mut cancelled) = (0, 0);
    for p in &accepted {
        match p.wait_sync(T) {
            Ok(_) => values += 1,
            Err(e) if e.is_cancelled() => cancelled += 1,
            Err(e) => panic!("an accepted call ended with {e:?}"),
        }
    }
    assert_eq!(refused, THREADS * (1 + AFTER_REFUSAL));
    assert_eq!(accepted.len() + refused, attempts);
    assert_eq!(values + cancelled, accepted.len());
    assert!(accepted.len() >= THREADS * BEFORE);
    assert_eq!(
        values,
        executed.load(Ordering::SeqCst),
        "a value for every call that ran"
    );
}

#[test]
fn a_panicking_destructor_of_a_cancelled_call_is_contained() {
    // BEHAVIOUR CX2: panics in user code must not take a caller down; SPEC P6: the pending still ends
    let caller = new_caller_on(BACKEND, "safe-panic-drop");
    let started = async_kernel::Event::new();
    let signal = started.clone();
    let pen = caller
        .call_soon(Async(move || async move {
            let _guard = crate::common::OnDrop(|| panic!("destructor boom"));
            signal.set();
            std::future::pending::<u32>().await
        }))
        .unwrap();
    started.wait_sync(T).unwrap();
    pen.cancel(Some("stop"));
    assert_eq!(pen.wait_sync(T).unwrap_err().cancel_message(), Some("stop"));
    // The loop survived: it still serves calls and counts no task.
    assert_eq!(caller.call_soon(|| 5).unwrap().wait_sync(T).unwrap(), 5);
    assert_eq!(caller.running_tasks(), 0);
    assert!(caller.running());
    shutdown(&caller);
}
