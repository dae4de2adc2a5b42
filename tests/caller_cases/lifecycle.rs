// Included by tests/caller_lifecycle.rs once per backend; `BACKEND` is defined there.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_kernel::caller::{Async, Caller, CallerError, CallerOptions, CallerState, Modifier};
use async_kernel::{Event, Pending};

use crate::common::{OnDrop, T, block, ensure_running, manual_on, new_caller_on};

#[test]
fn a_manual_caller_starts_in_the_initial_state() {
    // SPEC C4
    let caller = manual_on(BACKEND, "life-initial");
    assert_eq!(caller.state(), CallerState::Initial);
    assert!(!caller.running());
    assert!(!caller.stopped().is_set());
    caller.stop(true);
}

#[test]
fn a_new_thread_caller_is_starting_or_running_then_running() {
    // SPEC C4
    let caller = new_caller_on(BACKEND, "life-new-running");
    let first = caller.state();
    assert!(
        matches!(first, CallerState::StartSync | CallerState::Running),
        "right after creation: {first:?}"
    );
    ensure_running(&caller);
    assert_eq!(caller.state(), CallerState::Running);
    assert!(caller.running());
    caller.stop(false);
    caller.join().unwrap();
}

#[test]
fn stop_goes_running_to_stopping_to_stopped() {
    // SPEC C4, C6
    let caller = new_caller_on(BACKEND, "life-transitions");
    ensure_running(&caller);
    let (_blocker, release) = block(&caller);
    // The loop is busy in a call: the caller cannot finish stopping yet.
    assert_eq!(caller.stop(false), CallerState::Stopping);
    assert_eq!(caller.state(), CallerState::Stopping);
    assert!(!caller.running());
    assert!(!caller.stopped().is_set());
    drop(release);
    caller.join().unwrap();
    assert_eq!(caller.state(), CallerState::Stopped);
    assert!(caller.stopped().is_set());
}

#[test]
fn a_task_cancelled_by_stop_sees_the_stopping_state() {
    // SPEC C4, C6: stopping lasts while running tasks wind down
    let caller = manual_on(BACKEND, "life-stopping-seen");
    let seen: Arc<Mutex<Option<(CallerState, bool)>>> = Arc::new(Mutex::new(None));
    let record = seen.clone();
    caller
        .run(move |c| async move {
            let started = Event::new();
            let signal = started.clone();
            let me = c.clone();
            let _pen = c
                .call_soon(Async(move || async move {
                    let _guard = OnDrop(move || {
                        *record.lock().unwrap() = Some((me.state(), me.stopped().is_set()));
                    });
                    signal.set();
                    std::future::pending::<()>().await
                }))
                .unwrap();
            started.wait().await.unwrap();
        })
        .unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        Some((CallerState::Stopping, false)),
        "the task was dropped while the caller was stopping, before `stopped` fired"
    );
    assert_eq!(caller.state(), CallerState::Stopped);
}

#[test]
fn start_sync_on_a_caller_bound_to_an_existing_thread_is_an_error() {
    // SPEC C4
    let caller = manual_on(BACKEND, "life-start-sync-bound");
    match caller.start_sync() {
        Err(CallerError::WrongState { caller: name, .. }) => {
            assert_eq!(name, "life-start-sync-bound")
        }
        other => panic!("expected WrongState, got {other:?}"),
    }
    assert_eq!(caller.state(), CallerState::Initial);
    caller.stop(true);
}

#[test]
fn start_sync_on_a_running_new_thread_caller_does_nothing() {
    // SPEC C4
    let caller = new_caller_on(BACKEND, "life-start-sync-again");
    ensure_running(&caller);
    let thread = caller.thread();
    caller.start_sync().unwrap();
    assert_eq!(caller.thread(), thread);
    assert_eq!(caller.state(), CallerState::Running);
    caller.stop(false);
    caller.join().unwrap();
}

#[test]
fn work_scheduled_before_start_runs_once_the_caller_runs() {
    // SPEC C5
    let caller = manual_on(BACKEND, "life-before-start");
    let order = Arc::new(Mutex::new(Vec::new()));
    let pens: Vec<Pending<usize>> = (0..5)
        .map(|i| {
            let order = order.clone();
            caller
                .call_soon(move || {
                    order.lock().unwrap().push(i);
                    i * 10
                })
                .unwrap()
        })
        .collect();
    assert!(
        order.lock().unwrap().is_empty(),
        "nothing runs before start"
    );
    assert!(pens.iter().all(|p| !p.done()));
    let values = caller
        .run(move |_| async move {
            let mut values = Vec::new();
            for p in pens {
                values.push(p.await.unwrap());
            }
            values
        })
        .unwrap();
    assert_eq!(values, vec![0, 10, 20, 30, 40]);
    assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4]);
}

#[test]
fn queue_depth_counts_work_waiting_for_the_loop() {
    // SPEC C5 (observability)
    let caller = manual_on(BACKEND, "life-queue-depth");
    assert_eq!(caller.queue_depth(), 0);
    for i in 0..7 {
        caller.call_soon(move || i).unwrap();
    }
    caller.call_direct(|| ()).unwrap();
    assert_eq!(caller.queue_depth(), 8);
    caller.stop(true);
    assert_eq!(caller.queue_depth(), 0);
}

#[test]
fn every_call_queued_at_stop_ends_cancelled_and_none_runs() {
    // SPEC C6: every queued call not yet started ends cancelled; none is lost
    let caller = new_caller_on(BACKEND, "life-queued-at-stop");
    ensure_running(&caller);
    let ran = Arc::new(AtomicUsize::new(0));
    let (_blocker, release) = block(&caller);
    let pens: Vec<Pending<usize>> = (0..200)
        .map(|i| {
            let ran = ran.clone();
            if i % 2 == 0 {
                caller
                    .call_soon(move || {
                        ran.fetch_add(1, Ordering::SeqCst);
                        i
                    })
                    .unwrap()
            } else {
                caller
                    .call_soon(Async(move || async move {
                        ran.fetch_add(1, Ordering::SeqCst);
                        i
                    }))
                    .unwrap()
            }
        })
        .collect();
    assert_eq!(caller.queue_depth(), 200);
    caller.stop(false);
    // Cancelled by `stop` itself, before the loop gets to them.
    assert_eq!(pens.iter().filter(|p| p.done()).count(), 200);
    drop(release);
    caller.join().unwrap();
    let mut cancelled = 0;
    for p in &pens {
        let err = p.wait_sync(T).unwrap_err();
        let msg = err.cancel_message().expect("cancelled");
        assert!(msg.contains("life-queued-at-stop"), "{msg}");
        assert!(msg.contains("Cancelled before started."), "{msg}");
        cancelled += 1;
    }
    assert_eq!(cancelled, 200);
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

#[test]
fn calls_queued_on_a_caller_that_never_started_end_cancelled_at_stop() {
    // SPEC C5, C6
    let caller = manual_on(BACKEND, "life-never-started-queue");
    let ran = Arc::new(AtomicBool::new(false));
    let pens: Vec<Pending<()>> = (0..10)
        .map(|_| {
            let ran = ran.clone();
            caller
                .call_soon(move || ran.store(true, Ordering::SeqCst))
                .unwrap()
        })
        .collect();
    assert_eq!(caller.stop(true), CallerState::Stopped);
    for p in &pens {
        assert!(p.wait_sync(T).unwrap_err().is_cancelled());
    }
    assert!(!ran.load(Ordering::SeqCst));
}

#[test]
fn running_tasks_are_cancelled_at_stop_and_dropped_before_stopped() {
    // SPEC C6
    let caller = new_caller_on(BACKEND, "life-running-at-stop");
    let dropped = Arc::new(AtomicUsize::new(0));
    let mut pens = Vec::new();
    for _ in 0..3 {
        let started = Event::new();
        let signal = started.clone();
        let dropped = dropped.clone();
        pens.push(
            caller
                .call_soon(Async(move || async move {
                    let _guard = OnDrop(move || {
                        dropped.fetch_add(1, Ordering::SeqCst);
                    });
                    signal.set();
                    std::future::pending::<u32>().await
                }))
                .unwrap(),
        );
        started.wait_sync(T).unwrap();
    }
    assert_eq!(caller.running_tasks(), 3);
    caller.stop(false);
    caller.stopped().wait_sync(T).unwrap();
    assert_eq!(dropped.load(Ordering::SeqCst), 3);
    for p in &pens {
        let err = p.wait_sync(T).unwrap_err();
        let msg = err.cancel_message().expect("cancelled");
        assert!(msg.contains("life-running-at-stop"), "{msg}");
    }
    caller.join().unwrap();
    assert_eq!(caller.running_tasks(), 0);
}

#[test]
fn stopping_a_caller_that_never_started_goes_straight_to_stopped() {
    // SPEC C6
    let caller = manual_on(BACKEND, "life-never-started");
    assert_eq!(caller.stop(false), CallerState::Stopped);
    assert_eq!(caller.state(), CallerState::Stopped);
    assert!(caller.stopped().is_set());
    assert_eq!(Caller::current(), None, "it left the registry");
}

#[test]
fn stop_on_a_protected_caller_does_nothing_unless_forced() {
    // SPEC C6
    let caller = Caller::new(
        Modifier::NewThread,
        CallerOptions::named("life-protected")
            .backend(BACKEND)
            .protected(true),
    )
    .unwrap();
    ensure_running(&caller);
    assert_eq!(caller.stop(false), CallerState::Running);
    assert!(caller.running());
    assert_eq!(caller.call_soon(|| 3).unwrap().wait_sync(T).unwrap(), 3);
    let state = caller.stop(true);
    assert!(state >= CallerState::Stopping, "{state:?}");
    caller.join().unwrap();
    assert_eq!(caller.state(), CallerState::Stopped);
}

#[test]
fn stop_on_a_stopped_caller_returns_stopped_and_changes_nothing() {
    // SPEC C6
    let caller = new_caller_on(BACKEND, "life-stop-twice");
    ensure_running(&caller);
    caller.stop(false);
    caller.join().unwrap();
    assert_eq!(caller.stop(false), CallerState::Stopped);
    assert_eq!(caller.stop(true), CallerState::Stopped);
    assert!(caller.stopped().is_set());
}

#[test]
fn a_call_can_stop_its_own_caller() {
    // SPEC C6
    let caller = new_caller_on(BACKEND, "life-stop-from-inside");
    let c = caller.clone();
    let state = caller
        .call_soon(move || c.stop(false))
        .unwrap()
        .wait_sync(T)
        .unwrap();
    assert_eq!(state, CallerState::Stopping);
    caller.join().unwrap();
    assert_eq!(caller.state(), CallerState::Stopped);
}

#[test]
fn scheduling_on_a_stopped_caller_is_not_accepting_and_names_caller_and_state() {
    // SPEC C7
    let caller = new_caller_on(BACKEND, "life-not-accepting");
    ensure_running(&caller);
    caller.stop(false);
    caller.join().unwrap();
    match caller.call_soon(|| 1) {
        Err(e @ CallerError::NotAccepting { .. }) => {
            let CallerError::NotAccepting {
                caller: name,
                state,
            } = &e
            else {
                unreachable!()
            };
            assert_eq!(name, "life-not-accepting");
            assert_eq!(*state, CallerState::Stopped);
            let text = e.to_string();
            assert!(
                text.contains("life-not-accepting") && text.contains("stopped"),
                "{text}"
            );
        }
        other => panic!("expected NotAccepting, got {other:?}"),
    }
}

#[test]
fn scheduling_on_a_stopping_caller_is_not_accepting() {
    // SPEC C7
    let caller = new_caller_on(BACKEND, "life-not-accepting-stopping");
    ensure_running(&caller);
    let (_blocker, release) = block(&caller);
    caller.stop(false);
    assert!(matches!(
        caller.call_soon(|| 1),
        Err(CallerError::NotAccepting {
            state: CallerState::Stopping,
            ..
        })
    ));
    assert!(matches!(
        caller.call_later(Duration::from_millis(1), || 1),
        Err(CallerError::NotAccepting { .. })
    ));
    assert!(matches!(
        caller.call_direct(|| ()),
        Err(CallerError::NotAccepting { .. })
    ));
    drop(release);
    caller.join().unwrap();
}

#[test]
fn join_from_the_callers_own_thread_is_an_error() {
    // SPEC C4 (misuse is an error, not a deadlock)
    let caller = new_caller_on(BACKEND, "life-join-self");
    let c = caller.clone();
    let result = caller
        .call_soon(move || match c.join() {
            Err(CallerError::JoinOwnThread { caller }) => Some(caller),
            _ => None,
        })
        .unwrap()
        .wait_sync(T)
        .unwrap();
    assert_eq!(result.as_deref(), Some("life-join-self"));
    caller.stop(false);
    caller.join().unwrap();
}

#[test]
fn stopping_a_new_thread_caller_right_after_creation_always_stops_it() {
    // SPEC C4, C6 (a stop that races with the thread's start)
    for i in 0..20 {
        let caller = new_caller_on(BACKEND, &format!("life-stop-at-start-{i}"));
        let pen = caller.call_soon(move || i).unwrap();
        let state = caller.stop(false);
        assert!(state >= CallerState::Stopping, "{state:?}");
        caller.join().unwrap();
        assert_eq!(caller.state(), CallerState::Stopped);
        // Whether it ran first or was cancelled, its pending ended.
        match pen.wait_sync(T) {
            Ok(v) => assert_eq!(v, i),
            Err(e) => assert!(e.is_cancelled(), "{e:?}"),
        }
    }
}

#[test]
fn concurrent_stops_all_return_a_stopping_or_stopped_state() {
    // SPEC C6
    let caller = new_caller_on(BACKEND, "life-concurrent-stop");
    ensure_running(&caller);
    let barrier = Arc::new(std::sync::Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (caller, barrier) = (caller.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                caller.stop(false)
            })
        })
        .collect();
    for h in handles {
        assert!(h.join().unwrap() >= CallerState::Stopping);
    }
    caller.join().unwrap();
    assert_eq!(caller.state(), CallerState::Stopped);
}

#[test]
fn a_caller_that_never_started_is_stopped_once_its_children_stopped() {
    // SPEC C6
    let parent = manual_on(BACKEND, "life-never-started-parent");
    let child = parent
        .get(CallerOptions::named("life-never-started-child"))
        .unwrap();
    let (_blocker, release) = block(&child);
    // The child is stuck in a call: the parent waits for it.
    assert_eq!(parent.stop(false), CallerState::Stopping);
    assert!(!parent.stopped().is_set());
    drop(release);
    child.join().unwrap();
    parent.stopped().wait_sync(T).unwrap();
    assert_eq!(parent.state(), CallerState::Stopped);
}

#[test]
fn the_stopped_event_can_be_awaited_from_another_executor() {
    // SPEC C14 (stopped: an event that can be awaited or blocked on)
    let caller = new_caller_on(BACKEND, "life-stopped-await");
    ensure_running(&caller);
    let stopped = caller.stopped();
    let waiter = std::thread::spawn(move || futures::executor::block_on(stopped.wait()));
    caller.stop(false);
    waiter.join().unwrap().unwrap();
    assert!(caller.stopped().is_set());
    caller.join().unwrap();
}
