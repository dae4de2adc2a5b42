// Per-function queues: order, results, context, arguments (SPEC Q1, Q2, Q5, Q6, P13).
// Included by tests/queue_calls.rs once per backend; `BACKEND` is defined there.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use async_kernel::caller::{Async, Caller, CallerState, Fallible, QueuedFunction};
use async_kernel::{ContextVar, Pending};

use crate::common::{T, block, block_on, new_caller_on, shutdown};

#[test]
fn calls_run_in_fifo_order_on_the_caller_thread() {
    // SPEC Q1
    let caller = new_caller_on(BACKEND, "queue-fifo");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let record = QueuedFunction::new(move |i: u32| {
        log.lock().unwrap().push((i, thread::current().id()));
        i
    });
    let mut last = None;
    for i in 0..500 {
        last = Some(caller.queue_call(&record, i).unwrap());
    }
    assert_eq!(last.unwrap().wait_sync(T).unwrap(), 499);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.iter().map(|(i, _)| *i).collect::<Vec<_>>(), (0..500).collect::<Vec<_>>());
    assert!(seen.iter().all(|(_, t)| *t == caller.thread()));
    shutdown(&caller);
}

#[test]
fn calls_from_four_threads_keep_each_threads_order_and_never_overlap() {
    // SPEC Q1: FIFO, one at a time, under calls from 4 threads at once
    let caller = new_caller_on(BACKEND, "queue-fifo-threads");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let running = Arc::new(AtomicUsize::new(0));
    let (log, busy) = (seen.clone(), running.clone());
    let record = QueuedFunction::new(move |(t, i): (usize, usize)| {
        assert_eq!(busy.fetch_add(1, Ordering::SeqCst), 0, "two calls at once");
        log.lock().unwrap().push((t, i));
        busy.fetch_sub(1, Ordering::SeqCst);
    });
    let barrier = Arc::new(std::sync::Barrier::new(4));
    let producers: Vec<_> = (0..4)
        .map(|t| {
            let (caller, record, barrier) = (caller.clone(), record.clone(), barrier.clone());
            thread::spawn(move || {
                barrier.wait();
                for i in 0..1000 {
                    caller.queue_call(&record, (t, i)).unwrap();
                }
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    // Every call queued: one more, and the queue's pending ends once all have run.
    let pen = caller.queue_call(&record, (9, 0)).unwrap();
    pen.wait_sync(T).unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 4001);
    for t in 0..4 {
        let order: Vec<usize> = seen.iter().filter(|(s, _)| *s == t).map(|(_, i)| *i).collect();
        assert_eq!(order, (0..1000).collect::<Vec<_>>(), "thread {t} out of order");
    }
    assert_eq!(*seen.last().unwrap(), (9, 0));
    shutdown(&caller);
}

#[test]
fn async_calls_run_one_at_a_time_and_the_pending_gives_the_awaited_value() {
    // SPEC Q1, Q5 (the reference's bug #306 stored the coroutine, not its value)
    let caller = new_caller_on(BACKEND, "queue-async");
    let running = Arc::new(AtomicUsize::new(0));
    let order = Arc::new(Mutex::new(Vec::new()));
    let (busy, log) = (running.clone(), order.clone());
    let work = QueuedFunction::new(Async(move |(i, gate): (u32, Pending<()>)| {
        let (busy, log) = (busy.clone(), log.clone());
        async move {
            assert_eq!(busy.fetch_add(1, Ordering::SeqCst), 0, "two async calls at once");
            let _ = gate.await;
            log.lock().unwrap().push(i);
            busy.fetch_sub(1, Ordering::SeqCst);
            i * 10
        }
    }));
    let gates: Vec<Pending<()>> = (0..5).map(|_| Pending::new()).collect();
    let mut pen = None;
    for (i, gate) in gates.iter().enumerate() {
        pen = Some(caller.queue_call(&work, (i as u32, gate.clone())).unwrap());
    }
    // Release the gates in reverse: the calls still finish in queue order.
    for gate in gates.iter().rev() {
        gate.set_result(()).unwrap();
    }
    assert_eq!(pen.unwrap().wait_sync(T).unwrap(), 40);
    assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4]);
    shutdown(&caller);
}

#[test]
fn every_call_of_a_round_returns_the_same_pending() {
    // SPEC Q1: every call returns the queue's pending
    let caller = new_caller_on(BACKEND, "queue-same-pending");
    let id = QueuedFunction::new(|x: u8| x);
    let (_blocker, release) = block(&caller);
    let a = caller.queue_call(&id, 1).unwrap();
    let b = caller.queue_call(&id, 2).unwrap();
    assert_eq!(a, b);
    assert_eq!(caller.queue_get(&id), Some(a.clone()));
    drop(release);
    assert_eq!(b.wait_sync(T).unwrap(), 2);
    shutdown(&caller);
}

#[test]
fn the_queue_pending_waits_until_the_queue_is_empty() {
    // SPEC Q5: awaiting waits until the queue is next empty, then gives the last result
    let caller = new_caller_on(BACKEND, "queue-until-empty");
    let gate: Pending<()> = Pending::new();
    let g = gate.clone();
    let work = QueuedFunction::new(move |x: u32| {
        if x == 2 {
            g.wait_sync(T).unwrap();
        }
        x
    });
    // Hold the loop while the calls are queued, so that they form one round.
    let (_held, release) = block(&caller);
    let first = caller.queue_call(&work, 1).unwrap();
    caller.queue_call(&work, 2).unwrap();
    caller.queue_call(&work, 3).unwrap();
    drop(release);
    assert!(!first.done(), "not done while calls remain");
    gate.set_result(()).unwrap();
    assert_eq!(first.wait_sync(T).unwrap(), 3);
    shutdown(&caller);
}

#[test]
fn awaiting_the_queue_pending_from_another_executor_gives_the_last_result() {
    // SPEC Q5 (async wait), P1: awaitable from any executor
    let caller = new_caller_on(BACKEND, "queue-await");
    let work = QueuedFunction::new(Async(|x: u64| async move { x + 1 }));
    for x in 0..10 {
        caller.queue_call(&work, x).unwrap();
    }
    let pen = caller.queue_call(&work, 41).unwrap();
    assert_eq!(block_on(pen.wait()).unwrap(), 42);
    shutdown(&caller);
}

#[test]
fn wait_sync_on_the_queue_pending_from_the_caller_thread_is_an_error() {
    // SPEC P11 on the queue's pending
    let caller = new_caller_on(BACKEND, "queue-deadlock");
    let work = QueuedFunction::new(|x: u8| x);
    caller.queue_call(&work, 1).unwrap().wait_sync(T).unwrap();
    // The idle queue's pending: it would only end when the caller runs the next round.
    let probe = caller.queue_get(&work).unwrap();
    let out = caller
        .call_soon(move || probe.wait_sync(T).map_err(|e| e.to_string()))
        .unwrap()
        .wait_sync(T)
        .unwrap();
    assert!(out.unwrap_err().contains("deadlock"));
    shutdown(&caller);
}

#[test]
fn a_round_ends_with_its_value_and_the_next_round_has_a_new_pending() {
    // SPEC P13: no reset; each round's pending completes once and stays done
    let caller = new_caller_on(BACKEND, "queue-rounds");
    let work = QueuedFunction::new(|x: u32| x);
    let first = caller.queue_call(&work, 1).unwrap();
    assert_eq!(first.wait_sync(T).unwrap(), 1);
    let next = caller.queue_get(&work).expect("the queue stays open");
    assert_ne!(next, first);
    assert!(!next.done());
    let second = caller.queue_call(&work, 2).unwrap();
    assert_eq!(second, next);
    assert_eq!(second.wait_sync(T).unwrap(), 2);
    // The first round's pending still holds its own value.
    assert_eq!(first.result().unwrap(), 1);
    shutdown(&caller);
}

#[test]
fn a_waiter_on_an_idle_queue_gets_the_next_rounds_result() {
    // SPEC Q5, P13: the queue's pending of an idle queue waits for the next round
    let caller = new_caller_on(BACKEND, "queue-idle-wait");
    let work = QueuedFunction::new(|x: u32| x * 3);
    caller.queue_call(&work, 1).unwrap().wait_sync(T).unwrap();
    let idle = caller.queue_get(&work).unwrap();
    let waiter = thread::spawn(move || idle.wait_sync(T));
    caller.queue_call(&work, 5).unwrap();
    assert_eq!(waiter.join().unwrap().unwrap(), 15);
    shutdown(&caller);
}

#[test]
fn a_round_without_a_success_keeps_waiting_for_one() {
    // SPEC Q5: the pending gives the last *successful* result
    let caller = new_caller_on(BACKEND, "queue-no-success");
    let work = QueuedFunction::new(Fallible(|x: i32| {
        if x < 0 { Err("negative") } else { Ok(x) }
    }));
    let pen = caller.queue_call(&work, -1).unwrap();
    // A marker call on the caller runs after the failing round has ended.
    caller.call_soon(|| ()).unwrap().wait_sync(T).unwrap();
    assert!(!pen.done(), "a round of failures sets nothing");
    let again = caller.queue_call(&work, 7).unwrap();
    assert_eq!(again, pen);
    assert_eq!(pen.wait_sync(T).unwrap(), 7);
    shutdown(&caller);
}

#[test]
fn inside_plain_and_async_queued_calls_the_current_pending_is_the_queues() {
    // SPEC C9 inside queues: `current_pending()` is the queue's pending (the reference runs the
    // queue in a task whose pending it hands out)
    let caller = new_caller_on(BACKEND, "queue-current-pending");
    let plain = QueuedFunction::new(|()| Caller::current_pending().map(|p| p.id()));
    let asynchronous = QueuedFunction::new(Async(|()| async {
        let before = Caller::current_pending().map(|p| p.id());
        futures::future::ready(()).await;
        (before, Caller::current_pending().map(|p| p.id()))
    }));
    let (_blocker, release) = block(&caller);
    let p = caller.queue_call(&plain, ()).unwrap();
    let a = caller.queue_call(&asynchronous, ()).unwrap();
    let a2 = caller.queue_call(&asynchronous, ()).unwrap();
    drop(release);
    assert_eq!(p.wait_sync(T).unwrap(), Some(p.id()));
    let (before, after) = a2.wait_sync(T).unwrap();
    assert_eq!(before, Some(a.id()));
    assert_eq!(after, Some(a.id()));
    shutdown(&caller);
}

#[test]
fn an_async_queue_keeps_values_set_in_its_context_from_call_to_call() {
    // SPEC Q2: every call runs in the one context of the queue
    static COUNT: std::sync::LazyLock<ContextVar<u32>> =
        std::sync::LazyLock::new(|| ContextVar::new("queue-count"));
    let caller = new_caller_on(BACKEND, "queue-context-async");
    let bump = QueuedFunction::new(Async(|()| async {
        let n = COUNT.get().unwrap_or(0) + 1;
        futures::future::ready(()).await;
        let _ = COUNT.set(n);
        n
    }));
    let mut last = None;
    for _ in 0..3 {
        last = Some(caller.queue_call(&bump, ()).unwrap());
    }
    assert_eq!(last.unwrap().wait_sync(T).unwrap(), 3);
    shutdown(&caller);
}

#[test]
fn calls_run_in_the_context_of_the_first_call() {
    // SPEC Q2
    static VAR: std::sync::LazyLock<ContextVar<&'static str>> =
        std::sync::LazyLock::new(|| ContextVar::new("queue-var"));
    let caller = new_caller_on(BACKEND, "queue-context");
    let read = QueuedFunction::new(|()| VAR.get());
    let token = VAR.set("first");
    let (_blocker, release) = block(&caller);
    caller.queue_call(&read, ()).unwrap();
    VAR.reset(token).unwrap();
    let _second = VAR.set("second");
    let pen = caller.queue_call(&read, ()).unwrap();
    drop(release);
    assert_eq!(pen.wait_sync(T).unwrap(), Some("first"));
    shutdown(&caller);
}

#[test]
fn arguments_are_dropped_once_their_call_has_run() {
    // SPEC Q6: no reference is kept to calls that have run
    let caller = new_caller_on(BACKEND, "queue-drop-args");
    let payload = Arc::new(());
    let work = QueuedFunction::new(|p: Arc<()>| Arc::strong_count(&p));
    let pen = caller.queue_call(&work, payload.clone()).unwrap();
    assert!(pen.wait_sync(T).unwrap() >= 2, "the call held the argument");
    assert_eq!(Arc::strong_count(&payload), 1, "the queue let go of it");
    shutdown(&caller);
}

#[test]
fn one_function_has_one_queue_per_caller() {
    // SPEC Q1: one queue per (caller, function)
    let a = new_caller_on(BACKEND, "queue-per-caller-a");
    let b = new_caller_on(BACKEND, "queue-per-caller-b");
    let whoami = QueuedFunction::new(|()| Caller::current().map(|c| c.name().to_owned()));
    let on_a = a.queue_call(&whoami, ()).unwrap();
    let on_b = b.queue_call(&whoami, ()).unwrap();
    assert_ne!(on_a, on_b);
    assert_eq!(on_a.wait_sync(T).unwrap().as_deref(), Some("queue-per-caller-a"));
    assert_eq!(on_b.wait_sync(T).unwrap().as_deref(), Some("queue-per-caller-b"));
    assert_eq!(a.queue_count(), 1);
    // Hold the loop: a round that ends hands the queue a fresh pending.
    let (_held, release) = block(&a);
    // A second function is a second queue on the same caller.
    let other = QueuedFunction::new(|()| 0u8);
    assert_ne!(a.queue_call(&other, ()).unwrap().id(), a.queue_get(&whoami).unwrap().id());
    assert_eq!(a.queue_count(), 2);
    // Clones of the handle are the same function.
    assert_eq!(a.queue_call(&whoami.clone(), ()).unwrap(), a.queue_get(&whoami).unwrap());
    drop(release);
    shutdown(&a);
    shutdown(&b);
}

#[test]
fn a_long_queue_lets_other_calls_of_the_caller_run_in_between() {
    // Beyond SPEC (queue fairness): a drain runs a bounded batch, then waits its turn
    let caller = new_caller_on(BACKEND, "queue-fair");
    let ran = Arc::new(AtomicUsize::new(0));
    let count = ran.clone();
    let work = QueuedFunction::new(move |()| count.fetch_add(1, Ordering::SeqCst) + 1);
    let (_blocker, release) = block(&caller);
    let mut last = None;
    for _ in 0..5000 {
        last = Some(caller.queue_call(&work, ()).unwrap());
    }
    let probe = ran.clone();
    let seen_by_other_call = caller.call_soon(move || probe.load(Ordering::SeqCst)).unwrap();
    drop(release);
    assert!(seen_by_other_call.wait_sync(T).unwrap() < 5000);
    assert_eq!(last.unwrap().wait_sync(T).unwrap(), 5000);
    shutdown(&caller);
}

#[test]
fn calls_queued_before_the_caller_runs_run_once_it_starts() {
    // SPEC C5, Q1
    let caller = crate::common::manual_on(BACKEND, "queue-before-start");
    let work = QueuedFunction::new(|x: u32| x + 1);
    let pen = caller.queue_call(&work, 1).unwrap();
    let out = caller
        .run(move |_| pen)
        .unwrap();
    assert_eq!(out.unwrap(), 2);
    assert_eq!(caller.state(), CallerState::Stopped);
}
