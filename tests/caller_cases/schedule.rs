// Included by tests/caller_schedule.rs once per backend; `BACKEND` is defined there.

use std::future::IntoFuture;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use async_kernel::caller::{Async, CallOptions, Fallible, FallibleAsync};
use async_kernel::{Event, MetaValue, Pending, PendingError};

use crate::common::{T, block, new_caller_on, shutdown};

#[derive(Debug)]
struct Oops;

impl std::fmt::Display for Oops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("oops from user code")
    }
}

impl std::error::Error for Oops {}

#[test]
fn call_soon_runs_a_plain_closure_and_gives_its_value() {
    // SPEC C8
    let caller = new_caller_on(BACKEND, "sched-plain");
    let pen = caller.call_soon(|| "a".repeat(3)).unwrap();
    assert_eq!(pen.wait_sync(T).unwrap(), "aaa");
    shutdown(&caller);
}

#[test]
fn call_soon_runs_an_async_closure_whose_future_holds_an_rc() {
    // SPEC C8: the future runs on the caller's thread and may be !Send
    let caller = new_caller_on(BACKEND, "sched-async-rc");
    let pen = caller
        .call_soon(Async(|| async {
            let shared = Rc::new(std::cell::Cell::new(1));
            let again = shared.clone();
            // An await point while the Rc is alive.
            futures::future::ready(()).await;
            again.set(again.get() + 41);
            shared.get()
        }))
        .unwrap();
    assert_eq!(pen.wait_sync(T).unwrap(), 42);
    shutdown(&caller);
}

#[test]
fn fallible_ok_gives_the_value() {
    // SPEC C8, C9
    let caller = new_caller_on(BACKEND, "sched-fallible-ok");
    let pen = caller.call_soon(Fallible(|| "17".parse::<u8>())).unwrap();
    assert_eq!(pen.wait_sync(T).unwrap(), 17);
    shutdown(&caller);
}

#[test]
fn fallible_err_fails_the_pending_with_the_users_error() {
    // SPEC C9 (a failure fails the pending)
    let caller = new_caller_on(BACKEND, "sched-fallible-err");
    let pen = caller.call_soon(Fallible(|| Err::<u8, _>(Oops))).unwrap();
    match pen.wait_sync(T) {
        Err(PendingError::Failed(e)) => {
            assert_eq!(e.to_string(), "oops from user code");
            assert!(e.downcast_ref::<Oops>().is_some());
        }
        other => panic!("expected Failed, got {other:?}"),
    }
    assert!(!pen.cancelled());
    shutdown(&caller);
}

#[test]
fn fallible_async_ok_gives_the_value() {
    // SPEC C8, C9
    let caller = new_caller_on(BACKEND, "sched-fallible-async-ok");
    let pen = caller
        .call_soon(FallibleAsync(|| async {
            let local = Rc::new(5u32);
            Ok::<_, Oops>(*local * 2)
        }))
        .unwrap();
    assert_eq!(pen.wait_sync(T).unwrap(), 10);
    shutdown(&caller);
}

#[test]
fn fallible_async_err_fails_the_pending_with_the_users_error() {
    // SPEC C9
    let caller = new_caller_on(BACKEND, "sched-fallible-async-err");
    let pen = caller
        .call_soon(FallibleAsync(|| async {
            futures::future::ready(()).await;
            Err::<u32, _>(Oops)
        }))
        .unwrap();
    match pen.wait_sync(T) {
        Err(PendingError::Failed(e)) => assert_eq!(e.to_string(), "oops from user code"),
        other => panic!("expected Failed, got {other:?}"),
    }
    shutdown(&caller);
}

#[test]
fn plain_calls_run_in_the_order_they_were_scheduled() {
    // SPEC C8 (FIFO)
    let caller = new_caller_on(BACKEND, "sched-fifo-plain");
    let order = Arc::new(Mutex::new(Vec::new()));
    let pens: Vec<Pending<()>> = (0..100)
        .map(|i| {
            let order = order.clone();
            caller
                .call_soon(move || order.lock().unwrap().push(i))
                .unwrap()
        })
        .collect();
    for p in &pens {
        p.wait_sync(T).unwrap();
    }
    assert_eq!(*order.lock().unwrap(), (0..100).collect::<Vec<_>>());
    shutdown(&caller);
}

#[test]
fn async_calls_start_in_the_order_they_were_scheduled() {
    // SPEC C8 (FIFO)
    let caller = new_caller_on(BACKEND, "sched-fifo-async");
    let order = Arc::new(Mutex::new(Vec::new()));
    let (_blocker, release) = block(&caller);
    let pens: Vec<Pending<()>> = (0..50)
        .map(|i| {
            let order = order.clone();
            caller
                .call_soon(Async(move || async move { order.lock().unwrap().push(i) }))
                .unwrap()
        })
        .collect();
    drop(release);
    for p in &pens {
        p.wait_sync(T).unwrap();
    }
    assert_eq!(*order.lock().unwrap(), (0..50).collect::<Vec<_>>());
    shutdown(&caller);
}

#[test]
fn plain_and_async_calls_start_in_the_order_they_were_scheduled() {
    // SPEC C8 (FIFO across work forms)
    let caller = new_caller_on(BACKEND, "sched-fifo-mixed");
    let order = Arc::new(Mutex::new(Vec::new()));
    // Queue everything while the loop is busy, so it all arrives in one batch.
    let (_blocker, release) = block(&caller);
    let mut pens: Vec<Pending<()>> = Vec::new();
    for i in 0..10 {
        let order = order.clone();
        pens.push(if i % 2 == 0 {
            caller
                .call_soon(Async(move || async move { order.lock().unwrap().push(i) }))
                .unwrap()
        } else {
            caller
                .call_soon(move || order.lock().unwrap().push(i))
                .unwrap()
        });
    }
    drop(release);
    for p in &pens {
        p.wait_sync(T).unwrap();
    }
    assert_eq!(*order.lock().unwrap(), (0..10).collect::<Vec<_>>());
    shutdown(&caller);
}

#[test]
fn schedule_call_metadata_appears_in_the_pending() {
    // SPEC C8, P2
    let caller = new_caller_on(BACKEND, "sched-metadata");
    let pen = caller
        .schedule_call(
            || 1,
            CallOptions::new()
                .metadata("kind", "request")
                .metadata("attempt", 3),
        )
        .unwrap();
    let metadata = pen.metadata();
    assert_eq!(
        metadata.get("kind"),
        Some(&MetaValue::Str("request".into()))
    );
    assert_eq!(metadata.get("attempt"), Some(&MetaValue::Int(3)));
    assert_eq!(metadata.get("missing"), None);
    assert_eq!(pen.wait_sync(T).unwrap(), 1);
    shutdown(&caller);
}

#[test]
fn calls_from_eight_threads_at_once_all_run_with_the_right_results() {
    // SPEC C8 (thread-safe scheduling)
    const THREADS: usize = 8;
    const CALLS: usize = 500;
    let caller = new_caller_on(BACKEND, "sched-many-threads");
    let ran = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let caller = caller.clone();
            let ran = ran.clone();
            thread::spawn(move || {
                let pens: Vec<(usize, Pending<usize>)> = (0..CALLS)
                    .map(|i| {
                        let n = t * CALLS + i;
                        let ran = ran.clone();
                        let pen = caller
                            .call_soon(move || {
                                ran.fetch_add(1, Ordering::Relaxed);
                                n * 2
                            })
                            .unwrap();
                        (n, pen)
                    })
                    .collect();
                let mut correct = 0;
                for (n, pen) in pens {
                    assert_eq!(pen.wait_sync(T).unwrap(), n * 2);
                    correct += 1;
                }
                correct
            })
        })
        .collect();
    let correct: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(correct, THREADS * CALLS);
    assert_eq!(ran.load(Ordering::Relaxed), THREADS * CALLS);
    shutdown(&caller);
}

#[test]
fn an_async_call_on_one_caller_awaits_a_call_scheduled_on_another() {
    // SPEC C8, P1: a pending is awaitable from any executor
    let a = new_caller_on(BACKEND, "sched-cross-a");
    let b = new_caller_on(BACKEND, "sched-cross-b");
    let target = b.clone();
    let pen = a
        .call_soon(Async(move || async move {
            let inner = target
                .call_soon(|| thread::current().name().map(str::to_owned))
                .unwrap();
            let name = inner.await.unwrap();
            (name, thread::current().name().map(str::to_owned))
        }))
        .unwrap();
    let (ran_on, awaited_on) = pen.wait_sync(T).unwrap();
    assert_eq!(ran_on.as_deref(), Some("sched-cross-b"));
    assert_eq!(awaited_on.as_deref(), Some("sched-cross-a"));
    shutdown(&a);
    shutdown(&b);
}

#[test]
fn a_plain_call_may_block_on_another_callers_pending() {
    // SPEC P11 (only blocking on one's own caller is refused)
    let a = new_caller_on(BACKEND, "sched-block-other-a");
    let b = new_caller_on(BACKEND, "sched-block-other-b");
    let target = b.clone();
    let pen = a
        .call_soon(move || target.call_soon(|| 7).unwrap().wait_sync(T))
        .unwrap();
    assert_eq!(pen.wait_sync(T).unwrap().unwrap(), 7);
    shutdown(&a);
    shutdown(&b);
}

#[test]
fn a_callers_pending_can_be_awaited_on_a_tokio_multi_thread_runtime() {
    // SPEC P1: a pending is awaited from any executor
    let caller = new_caller_on(BACKEND, "sched-await-tokio-mt");
    let pen = caller.call_soon(Async(|| async { 11 })).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let value = rt
        .block_on(async move { tokio::spawn(pen).await })
        .unwrap()
        .unwrap();
    assert_eq!(value, 11);
    drop(rt);
    shutdown(&caller);
}

#[test]
fn a_callers_pending_can_be_awaited_with_smol_block_on() {
    // SPEC P1: a pending is awaited from any executor
    let caller = new_caller_on(BACKEND, "sched-await-smol");
    let gate = Event::new();
    let open = gate.clone();
    let pen = caller
        .call_soon(Async(move || async move {
            open.wait().await.unwrap();
            12
        }))
        .unwrap();
    let waiter = thread::spawn(move || smol::block_on(pen.wait()));
    gate.set();
    assert_eq!(waiter.join().unwrap().unwrap(), 12);
    shutdown(&caller);
}

#[test]
fn a_callers_pending_can_be_awaited_with_futures_block_on() {
    // SPEC P1: a pending is awaited from any executor
    let caller = new_caller_on(BACKEND, "sched-await-futures");
    let pen = caller.call_soon(|| 13).unwrap();
    assert_eq!(futures::executor::block_on(pen.into_future()).unwrap(), 13);
    shutdown(&caller);
}

#[test]
fn running_tasks_counts_async_calls_in_flight() {
    // SPEC C14 (observability)
    let caller = new_caller_on(BACKEND, "sched-running-tasks");
    let gate = Event::new();
    let mut pens = Vec::new();
    for _ in 0..3 {
        let started = Event::new();
        let signal = started.clone();
        let open = gate.clone();
        pens.push(
            caller
                .call_soon(Async(move || async move {
                    signal.set();
                    open.wait().await.unwrap();
                }))
                .unwrap(),
        );
        started.wait_sync(T).unwrap();
    }
    assert_eq!(caller.running_tasks(), 3);
    gate.set();
    for p in &pens {
        p.wait_sync(T).unwrap();
    }
    // Read on the loop itself, after the tasks have ended.
    let c = caller.clone();
    let after = caller
        .call_soon(move || c.running_tasks())
        .unwrap()
        .wait_sync(T)
        .unwrap();
    assert_eq!(after, 0);
    shutdown(&caller);
}

#[test]
fn queue_depth_counts_calls_waiting_behind_a_busy_loop() {
    // SPEC C14 (observability)
    let caller = new_caller_on(BACKEND, "sched-queue-depth");
    let (_blocker, release) = block(&caller);
    let pens: Vec<Pending<usize>> = (0..5)
        .map(|i| caller.call_soon(move || i).unwrap())
        .collect();
    assert_eq!(caller.queue_depth(), 5);
    drop(release);
    for p in &pens {
        p.wait_sync(T).unwrap();
    }
    assert_eq!(caller.queue_depth(), 0);
    shutdown(&caller);
}
