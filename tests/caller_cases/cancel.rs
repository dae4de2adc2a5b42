// Included by tests/caller_cancel.rs once per backend; `BACKEND` is defined there.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::{self, ThreadId};
use std::time::Duration;

use async_kernel::caller::{Async, Caller, Fallible};
use async_kernel::{Event, Pending, PendingError, PendingGroup};

use crate::common::{OnDrop, T, block, new_caller_on, shutdown};

/// Schedules an async call that signals once it runs, then waits on `gate`; `reached` is set
/// if it ever gets past the gate.
fn gated_call(
    caller: &Caller,
    gate: &Pending<()>,
    reached: &Arc<AtomicBool>,
) -> (Pending<()>, Event) {
    let started = Event::new();
    let signal = started.clone();
    let gate = gate.clone();
    let reached = reached.clone();
    let pen = caller
        .call_soon(Async(move || async move {
            signal.set();
            let _ = gate.wait().protect(true).await;
            reached.store(true, Ordering::SeqCst);
        }))
        .unwrap();
    started.wait_sync(T).unwrap();
    (pen, started)
}

#[test]
fn cancelling_an_async_call_from_another_thread_stops_it_at_its_await() {
    // SPEC C9: stops the future at its next await point
    let caller = new_caller_on(BACKEND, "cancel-async");
    let gate: Pending<()> = Pending::new();
    let reached = Arc::new(AtomicBool::new(false));
    let (pen, _) = gated_call(&caller, &gate, &reached);
    let canceller = pen.clone();
    thread::spawn(move || assert!(canceller.cancel(Some("stop it"))))
        .join()
        .unwrap();
    let err = pen.wait_sync(T).unwrap_err();
    assert_eq!(err.cancel_message(), Some("stop it"));
    // Opening the gate now changes nothing: the future is gone.
    gate.set_result(()).unwrap();
    caller.call_soon(|| ()).unwrap().wait_sync(T).unwrap();
    assert!(!reached.load(Ordering::SeqCst));
    shutdown(&caller);
}

#[test]
fn cancel_messages_accumulate() {
    // SPEC P5
    let caller = new_caller_on(BACKEND, "cancel-accumulate");
    let gate: Pending<()> = Pending::new();
    let reached = Arc::new(AtomicBool::new(false));
    let (pen, _) = gated_call(&caller, &gate, &reached);
    // Keep the loop busy so that the task cannot stop between the two cancels.
    let (_blocker, release) = block(&caller);
    assert!(pen.cancel(Some("a")));
    assert!(pen.cancel(Some("b")));
    drop(release);
    let err = pen.wait_sync(T).unwrap_err();
    assert_eq!(err.cancel_message(), Some("a\nb"));
    assert_eq!(pen.cancel_message().as_deref(), Some("a\nb"));
    shutdown(&caller);
}

#[test]
fn a_sync_call_cancelled_from_inside_finishes_and_ends_cancelled() {
    // SPEC P7: a sync function already running finishes, the pending ends cancelled
    let caller = new_caller_on(BACKEND, "cancel-sync-self");
    let finished = Arc::new(AtomicBool::new(false));
    let f = finished.clone();
    let pen = caller
        .call_soon(move || {
            let me = Caller::current_pending().expect("inside a call");
            me.cancel(Some("from inside"));
            f.store(true, Ordering::SeqCst);
            5
        })
        .unwrap();
    let err = pen.wait_sync(T).unwrap_err();
    assert_eq!(err.cancel_message(), Some("from inside"));
    assert!(
        finished.load(Ordering::SeqCst),
        "the function ran to its end"
    );
    shutdown(&caller);
}

#[test]
fn a_running_sync_call_cancelled_from_another_thread_is_done_only_when_it_returns() {
    // SPEC P6, P7
    let caller = new_caller_on(BACKEND, "cancel-sync-other");
    let finished = Arc::new(AtomicBool::new(false));
    let f = finished.clone();
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let pen = caller
        .call_soon(move || {
            started_tx.send(()).unwrap();
            let _ = release_rx.recv();
            f.store(true, Ordering::SeqCst);
            5
        })
        .unwrap();
    started_rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(pen.cancel(Some("too late")));
    assert!(pen.cancelled());
    assert!(
        !pen.done(),
        "the function still runs, so the pending is not done"
    );
    drop(release_tx);
    let err = pen.wait_sync(T).unwrap_err();
    assert_eq!(err.cancel_message(), Some("too late"));
    assert!(finished.load(Ordering::SeqCst));
    shutdown(&caller);
}

#[test]
fn a_call_cancelled_before_it_started_never_runs() {
    // SPEC C9
    let caller = new_caller_on(BACKEND, "cancel-before-start");
    let ran = Arc::new(AtomicBool::new(false));
    let (_blocker, release) = block(&caller);
    let r = ran.clone();
    let pen = caller
        .call_soon(move || r.store(true, Ordering::SeqCst))
        .unwrap();
    assert!(pen.cancel(Some("changed my mind")));
    assert!(pen.done(), "a call that has not started is done at once");
    drop(release);
    caller.call_soon(|| ()).unwrap().wait_sync(T).unwrap();
    assert!(!ran.load(Ordering::SeqCst));
    let err = pen.wait_sync(T).unwrap_err();
    let msg = err.cancel_message().unwrap();
    assert!(msg.contains("changed my mind"), "{msg}");
    assert!(msg.contains("Cancelled before started."), "{msg}");
    shutdown(&caller);
}

#[test]
fn an_async_call_cancelled_before_it_started_never_runs() {
    // SPEC C9
    let caller = new_caller_on(BACKEND, "cancel-before-start-async");
    let ran = Arc::new(AtomicBool::new(false));
    let (_blocker, release) = block(&caller);
    let r = ran.clone();
    let pen = caller
        .call_soon(Async(
            move || async move { r.store(true, Ordering::SeqCst) },
        ))
        .unwrap();
    pen.cancel(None);
    drop(release);
    caller.call_soon(|| ()).unwrap().wait_sync(T).unwrap();
    assert!(!ran.load(Ordering::SeqCst));
    let err = pen.wait_sync(T).unwrap_err();
    assert!(
        err.cancel_message()
            .unwrap()
            .contains("Cancelled before started.")
    );
    shutdown(&caller);
}

#[test]
fn cancel_then_wait_returns_only_after_the_task_has_stopped() {
    // SPEC P6
    let caller = new_caller_on(BACKEND, "cancel-then-wait");
    let dropped = Arc::new(AtomicBool::new(false));
    let started = Event::new();
    let signal = started.clone();
    let d = dropped.clone();
    let pen = caller
        .call_soon(Async(move || async move {
            let _guard = OnDrop(move || {
                // A slow clean-up: a wait that returned early would not see it.
                thread::sleep(Duration::from_millis(50));
                d.store(true, Ordering::SeqCst);
            });
            signal.set();
            std::future::pending::<()>().await
        }))
        .unwrap();
    started.wait_sync(T).unwrap();
    pen.cancel(Some("now"));
    assert!(pen.wait_sync(T).unwrap_err().is_cancelled());
    assert!(
        dropped.load(Ordering::SeqCst),
        "wait returned before the future was dropped"
    );
    shutdown(&caller);
}

#[test]
fn a_cancelled_future_is_dropped_on_the_callers_thread() {
    // SPEC C9: the future is dropped on the caller's thread
    let caller = new_caller_on(BACKEND, "cancel-drop-thread");
    let dropped_on: Arc<Mutex<Option<ThreadId>>> = Arc::default();
    let started = Event::new();
    let signal = started.clone();
    let slot = dropped_on.clone();
    let pen = caller
        .call_soon(Async(move || async move {
            let _guard = OnDrop(move || *slot.lock().unwrap() = Some(thread::current().id()));
            signal.set();
            std::future::pending::<()>().await
        }))
        .unwrap();
    started.wait_sync(T).unwrap();
    pen.cancel(None);
    pen.wait_sync(T).unwrap_err();
    assert_eq!(*dropped_on.lock().unwrap(), Some(caller.thread()));
    shutdown(&caller);
}

#[test]
fn cancelling_a_finished_call_changes_nothing() {
    // SPEC P5
    let caller = new_caller_on(BACKEND, "cancel-done");
    let pen = caller.call_soon(|| 3).unwrap();
    assert_eq!(pen.wait_sync(T).unwrap(), 3);
    assert!(!pen.cancel(Some("late")));
    assert_eq!(pen.wait_sync(T).unwrap(), 3);
    assert_eq!(pen.cancel_message(), None);
    shutdown(&caller);
}

#[test]
fn a_shielded_group_inside_an_async_call_holds_cancellation_until_it_ends() {
    // SPEC G6
    let caller = new_caller_on(BACKEND, "cancel-shielded");
    let gate: Pending<()> = Pending::new();
    let started = Event::new();
    let group_done = Arc::new(AtomicBool::new(false));
    let after_group = Arc::new(AtomicBool::new(false));
    let (c, open, signal, g, a) = (
        caller.clone(),
        gate.clone(),
        started.clone(),
        group_done.clone(),
        after_group.clone(),
    );
    let pen = caller
        .call_soon(Async(move || async move {
            let group = c.create_pending_group(true);
            let out = group
                .run(|_| async move {
                    signal.set();
                    let _ = open.wait().protect(true).await;
                    g.store(true, Ordering::SeqCst);
                })
                .await;
            // Runs in the same poll as the end of the group; the held-back cancellation
            // arrives at the next await.
            a.store(true, Ordering::SeqCst);
            std::future::pending::<()>().await;
            out
        }))
        .unwrap();
    started.wait_sync(T).unwrap();
    assert!(pen.cancel(Some("outer")));
    gate.set_result(()).unwrap();
    let err = pen.wait_sync(T).unwrap_err();
    assert_eq!(err.cancel_message(), Some("outer"));
    assert!(
        group_done.load(Ordering::SeqCst),
        "the shielded group ran to its end"
    );
    assert!(after_group.load(Ordering::SeqCst));
    shutdown(&caller);
}

#[test]
fn an_unshielded_group_inside_an_async_call_is_stopped_at_once() {
    // SPEC G6 (counterpart)
    let caller = new_caller_on(BACKEND, "cancel-unshielded");
    let gate: Pending<()> = Pending::new();
    let started = Event::new();
    let group_done = Arc::new(AtomicBool::new(false));
    let (c, open, signal, g) = (
        caller.clone(),
        gate.clone(),
        started.clone(),
        group_done.clone(),
    );
    let pen = caller
        .call_soon(Async(move || async move {
            c.create_pending_group(false)
                .run(|_| async move {
                    signal.set();
                    let _ = open.wait().protect(true).await;
                    g.store(true, Ordering::SeqCst);
                })
                .await
        }))
        .unwrap();
    started.wait_sync(T).unwrap();
    assert!(pen.cancel(Some("outer")));
    let err = pen.wait_sync(T).unwrap_err();
    assert_eq!(err.cancel_message(), Some("outer"));
    gate.set_result(()).unwrap();
    caller.call_soon(|| ()).unwrap().wait_sync(T).unwrap();
    assert!(!group_done.load(Ordering::SeqCst));
    shutdown(&caller);
}

#[test]
fn calls_scheduled_in_a_group_body_are_members_of_the_group() {
    // SPEC G1, T2
    let caller = new_caller_on(BACKEND, "cancel-group-members");
    let c = caller.clone();
    let pen = caller
        .call_soon(Async(move || async move {
            PendingGroup::new()
                .run(|pg| async move {
                    let a = c.call_soon(|| 1).unwrap();
                    let b = c.call_soon(Async(|| async { 2 })).unwrap();
                    let members = (pg.contains(&a.erase()), pg.contains(&b.erase()));
                    (members, a.await.unwrap() + b.await.unwrap())
                })
                .await
        }))
        .unwrap();
    let (members, sum) = pen.wait_sync(T).unwrap().unwrap();
    assert_eq!(members, (true, true));
    assert_eq!(sum, 3);
    shutdown(&caller);
}

#[test]
fn a_failing_call_in_a_group_cancels_the_other_members() {
    // SPEC G2
    let caller = new_caller_on(BACKEND, "cancel-group-failure");
    let dropped = Arc::new(AtomicBool::new(false));
    let slow_slot: Arc<Mutex<Option<Pending<()>>>> = Arc::default();
    let (c, d, slot) = (caller.clone(), dropped.clone(), slow_slot.clone());
    let pen = caller
        .call_soon(Async(move || async move {
            PendingGroup::new()
                .run(|_| async move {
                    let slow = c
                        .call_soon(Async(move || {
                            // Owned by the future from the start: dropped with it even if
                            // it is cancelled before its first poll.
                            let guard = OnDrop(move || d.store(true, Ordering::SeqCst));
                            async move {
                                let _guard = guard;
                                std::future::pending::<()>().await
                            }
                        }))
                        .unwrap();
                    *slot.lock().unwrap() = Some(slow);
                    let _bad = c
                        .call_soon(Fallible(|| Err::<(), _>("bad thing happened")))
                        .unwrap();
                    std::future::pending::<()>().await
                })
                .await
        }))
        .unwrap();
    let group_outcome = pen.wait_sync(T).unwrap();
    let msg = match group_outcome {
        Err(PendingError::GroupFailed(g)) => g.message().to_owned(),
        other => panic!("expected the group to report the failure, got {other:?}"),
    };
    assert!(msg.contains("bad thing happened"), "{msg}");
    let slow = slow_slot.lock().unwrap().clone().unwrap();
    let err = slow.wait_sync(T).unwrap_err();
    assert!(err.is_cancelled(), "{err:?}");
    assert!(dropped.load(Ordering::SeqCst));
    shutdown(&caller);
}

#[test]
fn a_group_waits_for_calls_scheduled_from_a_plain_thread_executor() {
    // SPEC G1: the group returns only when its member calls are done
    let caller = new_caller_on(BACKEND, "cancel-group-waits");
    let finished = Arc::new(AtomicBool::new(false));
    let (c, f) = (caller.clone(), finished.clone());
    futures::executor::block_on(async move {
        PendingGroup::new()
            .run(|_| async move {
                // Not awaited by the body: the group itself waits for it.
                let _pen = c
                    .call_soon(move || {
                        thread::sleep(Duration::from_millis(20));
                        f.store(true, Ordering::SeqCst);
                    })
                    .unwrap();
            })
            .await
            .unwrap();
    });
    assert!(finished.load(Ordering::SeqCst));
    shutdown(&caller);
}
