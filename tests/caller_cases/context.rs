// Included by tests/caller_context.rs once per backend; `BACKEND` is defined there.

use async_kernel::caller::{Async, CallOptions, Fallible, Plain};
use async_kernel::{Context, ContextVar, Event, PendingGroup};

use crate::common::{T, block, new_caller_on, shutdown};

#[test]
fn a_call_runs_in_the_context_captured_when_it_was_scheduled() {
    // SPEC C8, T2
    let caller = new_caller_on(BACKEND, "ctx-captured");
    let var: ContextVar<u32> = ContextVar::new("request");
    let token = var.set(7);
    let inside = var.clone();
    let pen = caller.call_soon(move || inside.get()).unwrap();
    var.reset(token).unwrap();
    assert_eq!(pen.wait_sync(T).unwrap(), Some(7));
    shutdown(&caller);
}

#[test]
fn the_context_is_a_snapshot_later_changes_are_not_seen() {
    // SPEC C8, T2
    let caller = new_caller_on(BACKEND, "ctx-snapshot");
    let var: ContextVar<u32> = ContextVar::new("request");
    let (_blocker, release) = block(&caller);
    let first = var.set(1);
    let inside = var.clone();
    let pen = caller.call_soon(move || inside.get()).unwrap();
    let second = var.set(2);
    drop(release);
    assert_eq!(pen.wait_sync(T).unwrap(), Some(1));
    var.reset(second).unwrap();
    var.reset(first).unwrap();
    shutdown(&caller);
}

#[test]
fn call_options_context_runs_the_call_in_the_given_context() {
    // SPEC C8
    let caller = new_caller_on(BACKEND, "ctx-given");
    let var: ContextVar<&'static str> = ContextVar::new("who");
    let token = var.set("scheduler");
    let given = Context::new().with_value(&var, "given");
    let inside = var.clone();
    let pen = caller
        .schedule_call(move || inside.get(), CallOptions::new().context(given))
        .unwrap();
    assert_eq!(pen.wait_sync(T).unwrap(), Some("given"));
    var.reset(token).unwrap();
    shutdown(&caller);
}

#[test]
fn an_async_call_keeps_its_context_across_awaits() {
    // SPEC T2: the context is entered around every poll
    let caller = new_caller_on(BACKEND, "ctx-async");
    let var: ContextVar<u32> = ContextVar::new("n");
    let gate = Event::new();
    let started = Event::new();
    let token = var.set(5);
    let (inside, open, signal) = (var.clone(), gate.clone(), started.clone());
    let a = caller
        .call_soon(Async(move || async move {
            let before = inside.get();
            signal.set();
            open.wait().await.unwrap();
            (before, inside.get())
        }))
        .unwrap();
    var.reset(token).unwrap();
    started.wait_sync(T).unwrap();
    // A call in another context runs while `a` waits.
    let token = var.set(99);
    let other = var.clone();
    let b = caller
        .call_soon(move || {
            let seen = other.get();
            gate.set();
            seen
        })
        .unwrap();
    var.reset(token).unwrap();
    assert_eq!(b.wait_sync(T).unwrap(), Some(99));
    assert_eq!(a.wait_sync(T).unwrap(), (Some(5), Some(5)));
    shutdown(&caller);
}

#[test]
fn values_set_inside_a_call_stay_inside_it() {
    // SPEC T2 (a call runs in a copy of the context)
    let caller = new_caller_on(BACKEND, "ctx-isolated");
    let var: ContextVar<u32> = ContextVar::new("n");
    let setter = var.clone();
    caller
        .call_soon(move || {
            let _token = setter.set(42);
        })
        .unwrap()
        .wait_sync(T)
        .unwrap();
    let reader = var.clone();
    assert_eq!(
        caller
            .call_soon(move || reader.get())
            .unwrap()
            .wait_sync(T)
            .unwrap(),
        None
    );
    assert_eq!(var.get(), None);
    shutdown(&caller);
}

#[test]
fn allow_tracking_false_keeps_a_call_out_of_the_group() {
    // SPEC P3
    let caller = new_caller_on(BACKEND, "ctx-untracked");
    let c = caller.clone();
    let (tracked, untracked) = futures::executor::block_on(async move {
        PendingGroup::new()
            .run(|pg| async move {
                // A done pending leaves its group: the first call holds the loop (calls run in
                // order) until membership is checked.
                let (checked_tx, checked_rx) = std::sync::mpsc::channel::<()>();
                let untracked = c
                    .schedule_call(
                        move || {
                            let _ = checked_rx.recv();
                            1
                        },
                        CallOptions::new().allow_tracking(false),
                    )
                    .unwrap();
                let tracked = c.schedule_call(|| 2, CallOptions::new()).unwrap();
                let out = (
                    pg.contains(&tracked.erase()),
                    pg.contains(&untracked.erase()),
                );
                checked_tx.send(()).unwrap();
                tracked.await.unwrap();
                untracked.await.unwrap();
                out
            })
            .await
            .unwrap()
    });
    assert!(tracked);
    assert!(!untracked);
    shutdown(&caller);
}

#[test]
fn an_untracked_failing_call_does_not_cancel_the_group() {
    // SPEC P3, G2 (only members cancel the group)
    let caller = new_caller_on(BACKEND, "ctx-untracked-failure");
    let c = caller.clone();
    let outcome = futures::executor::block_on(async move {
        PendingGroup::new()
            .run(|_| async move {
                let bad = c
                    .schedule_call(
                        Fallible(|| Err::<u32, _>("ignored failure")),
                        CallOptions::new().allow_tracking(false),
                    )
                    .unwrap();
                assert!(bad.wait().await.is_err());
                let good = c.call_soon(|| 5).unwrap();
                good.await.unwrap()
            })
            .await
    });
    assert_eq!(outcome.unwrap(), 5);
    shutdown(&caller);
}

#[test]
fn pendings_made_by_a_tracked_call_are_members_too() {
    // SPEC T2 (context travels with scheduled work, recursively)
    let caller = new_caller_on(BACKEND, "ctx-recursive");
    let c = caller.clone();
    let gate = Event::new();
    let open = gate.clone();
    let (inner_is_member, value) = futures::executor::block_on(async move {
        PendingGroup::new()
            .run(|pg| async move {
                let c2 = c.clone();
                // A call that schedules another call; the inner one waits for the gate, so it
                // is still running when membership is checked.
                // `Plain`: the closure returns a pending as its value (a plain closure
                // returning a future is otherwise refused, issue 6 point 4).
                let outer = c
                    .call_soon(Plain(move || {
                        c2.call_soon(Async(move || async move {
                            open.wait().await.unwrap();
                            8
                        }))
                        .unwrap()
                    }))
                    .unwrap();
                let inner = outer.await.unwrap();
                let member = pg.contains(&inner.erase());
                gate.set();
                (member, inner.await.unwrap())
            })
            .await
            .unwrap()
    });
    assert!(inner_is_member);
    assert_eq!(value, 8);
    shutdown(&caller);
}
