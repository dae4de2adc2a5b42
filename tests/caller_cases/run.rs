// Included by tests/caller_run.rs once per backend; `BACKEND` is defined there.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::thread;

use async_kernel::caller::{
    Async, Caller, CallerError, CallerOptions, CallerState, Modifier,
};
use async_kernel::{Event, Pending};

use crate::common::{T, manual_on};

fn explode() -> u32 {
    panic!("body boom")
}

#[test]
fn run_returns_the_bodys_value_and_leaves_the_caller_stopped() {
    // SPEC C4, C6
    let caller = manual_on(BACKEND, "run-value");
    let out = caller
        .run(|c| async move {
            let pen = c.call_soon(|| 40 + 2).unwrap();
            pen.await.unwrap()
        })
        .unwrap();
    assert_eq!(out, 42);
    assert_eq!(caller.state(), CallerState::Stopped);
    assert!(caller.stopped().is_set());
    assert_eq!(Caller::current(), None);
}

#[test]
fn inside_run_the_caller_is_running_and_current_on_this_thread() {
    // SPEC C4, C14
    let caller = manual_on(BACKEND, "run-running");
    let (running, current, thread) = caller
        .run(|c| async move {
            (
                c.running(),
                Caller::current() == Some(c.clone()),
                c.thread(),
            )
        })
        .unwrap();
    assert!(running);
    assert!(current);
    assert_eq!(thread, thread::current().id());
}

#[test]
fn calls_from_other_threads_run_on_the_thread_that_runs_the_caller() {
    // SPEC C1, C4
    let caller = manual_on(BACKEND, "run-serves-others");
    let here = thread::current().id();
    let seen = caller
        .run(|c| async move {
            let other = c.clone();
            let pen = thread::spawn(move || other.call_soon(|| thread::current().id()).unwrap())
                .join()
                .unwrap();
            pen.await.unwrap()
        })
        .unwrap();
    assert_eq!(seen, here);
}

#[test]
fn run_stops_and_joins_the_children_made_in_the_body() {
    // SPEC C6, C11
    let caller = manual_on(BACKEND, "run-children");
    let (child, grandchild) = caller
        .run(|c| async move {
            let child = c.get(CallerOptions::named("run-children-kid")).unwrap();
            let grandchild = child
                .get(CallerOptions::named("run-children-grandkid"))
                .unwrap();
            assert_eq!(grandchild.call_soon(|| 1).unwrap().await.unwrap(), 1);
            (child, grandchild)
        })
        .unwrap();
    assert_eq!(child.state(), CallerState::Stopped);
    assert_eq!(grandchild.state(), CallerState::Stopped);
    assert!(child.stopped().is_set() && grandchild.stopped().is_set());
}

#[test]
fn run_cancels_calls_still_running_when_the_body_ends() {
    // SPEC C6
    let caller = manual_on(BACKEND, "run-cancels-leftovers");
    let pen = caller
        .run(|c| async move {
            let started = Event::new();
            let signal = started.clone();
            let pen = c
                .call_soon(Async(move || async move {
                    signal.set();
                    std::future::pending::<u32>().await
                }))
                .unwrap();
            started.wait().await.unwrap();
            pen
        })
        .unwrap();
    let err = pen.wait_sync(T).unwrap_err();
    assert!(err.is_cancelled(), "{err:?}");
}

#[test]
fn run_from_another_thread_is_wrong_thread() {
    // SPEC C4
    let caller = manual_on(BACKEND, "run-wrong-thread");
    let c = caller.clone();
    let result = thread::spawn(move || c.run(|_| async { 1 }).map(|_| ()))
        .join()
        .unwrap();
    match result {
        Err(CallerError::WrongThread { caller: name }) => assert_eq!(name, "run-wrong-thread"),
        other => panic!("expected WrongThread, got {other:?}"),
    }
    assert_eq!(caller.state(), CallerState::Initial, "nothing changed");
    caller.stop(true);
}

#[test]
fn entering_a_caller_that_is_already_entered_is_wrong_state() {
    // SPEC C4
    let caller = manual_on(BACKEND, "run-twice-nested");
    let inner = caller
        .run(|c| async move {
            match c.run(|_| async { 1 }) {
                Err(CallerError::WrongState { state, .. }) => Some(state),
                _ => None,
            }
        })
        .unwrap();
    assert_eq!(inner, Some(CallerState::Running));
}

#[test]
fn entering_a_caller_after_it_ran_is_wrong_state() {
    // SPEC C4
    let caller = manual_on(BACKEND, "run-twice-after");
    caller.run(|_| async {}).unwrap();
    match caller.run(|_| async { 1 }) {
        Err(CallerError::WrongState { state, .. }) => assert_eq!(state, CallerState::Stopped),
        other => panic!("expected WrongState, got {other:?}"),
    }
}

#[test]
fn entering_a_stopped_caller_is_wrong_state() {
    // SPEC C4
    let caller = manual_on(BACKEND, "run-after-stop");
    caller.stop(true);
    let result = caller.run(|_| async { 1 });
    assert!(
        matches!(
            result,
            Err(CallerError::WrongState {
                state: CallerState::Stopped,
                ..
            })
        ),
        "{result:?}"
    );
}

#[test]
fn entering_a_new_thread_caller_is_an_error() {
    // SPEC C4
    let caller = Caller::new(
        Modifier::NewThread,
        CallerOptions::named("run-new-thread").backend(BACKEND),
    ).unwrap();
    let result = caller.run(|_| async { 1 });
    assert!(
        matches!(result, Err(CallerError::WrongThread { .. })),
        "{result:?}"
    );
    assert_eq!(caller.call_soon(|| 2).unwrap().wait_sync(T).unwrap(), 2);
    caller.stop(false);
    caller.join().unwrap();
}

#[test]
fn a_panic_in_the_body_propagates_after_the_caller_stopped() {
    // SPEC C6 (the caller and its children stop before the panic goes on)
    let caller = manual_on(BACKEND, "run-panic");
    let child_slot: std::sync::Arc<std::sync::Mutex<Option<Caller>>> = Default::default();
    let slot = child_slot.clone();
    let payload = catch_unwind(AssertUnwindSafe(|| {
        caller.run(move |c| async move {
            *slot.lock().unwrap() = Some(c.get(CallerOptions::named("run-panic-kid")).unwrap());
            explode()
        })
    }))
    .expect_err("the panic propagates");
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned());
    assert_eq!(message.as_deref(), Some("body boom"));
    assert_eq!(caller.state(), CallerState::Stopped);
    assert!(caller.stopped().is_set());
    let child = child_slot.lock().unwrap().clone().unwrap();
    assert_eq!(child.state(), CallerState::Stopped);
}

#[test]
fn a_pending_of_the_body_can_wait_for_work_scheduled_from_other_threads() {
    // SPEC C4, C8: the loop serves while the body awaits
    let caller = manual_on(BACKEND, "run-body-waits");
    let gate: Pending<u32> = Pending::new();
    let (out, helper) = caller
        .run(move |c| async move {
            let setter = gate.clone();
            let other = c.clone();
            let helper = thread::spawn(move || {
                other
                    .call_soon(move || setter.set_result(9).unwrap())
                    .unwrap()
                    .wait_sync(T)
                    .unwrap();
            });
            (gate.await.unwrap(), helper)
        })
        .unwrap();
    helper.join().unwrap();
    assert_eq!(out, 9);
}
