//! Misuse of a caller is a typed error at once, never a hang or a panic: joining or waiting for
//! `stopped` on the caller's own thread, `Duration::MAX` timeouts and delays, NUL in a name.

mod common;

use std::time::Duration;

use async_kernel::caller::{Backend, Caller, CallerError, CallerOptions, Modifier};
use async_kernel::{InvalidStateKind, PendingError};
use common::{T, backends, caller, manual_on, shutdown};

fn is_would_deadlock(e: &PendingError) -> bool {
    matches!(e, PendingError::InvalidState(s) if s.kind() == InvalidStateKind::WouldDeadlock)
}

#[test]
fn join_on_the_callers_own_thread_names_the_misuse() {
    // BEHAVIOUR CX1; SPEC C4, P11 (blocking on what only this thread can finish is an error)
    for backend in backends() {
        join_on_the_callers_own_thread_names_the_misuse_on(backend);
    }
}

fn join_on_the_callers_own_thread_names_the_misuse_on(backend: Backend) {
    let caller = caller("err-join-self", backend);
    let c = caller.clone();
    let (own_thread, text) = caller
        .call_soon(move || {
            let err = c.join().unwrap_err();
            (
                matches!(err, CallerError::JoinOwnThread { .. }),
                err.to_string(),
            )
        })
        .unwrap()
        .wait_sync(T)
        .unwrap();
    assert!(own_thread, "{text}");
    assert!(text.contains("own thread"), "{text}");
    assert!(!text.contains("another thread"), "{text}");
    shutdown(&caller);
}

#[test]
fn waiting_for_stopped_on_the_callers_own_thread_is_an_error_at_once() {
    // BEHAVIOUR CX1; SPEC P11 (the stopped event is set by the caller's own thread)
    for backend in backends() {
        let caller = caller("err-stopped-self", backend);
        let c = caller.clone();
        let (running, after_stop) = caller
            .call_soon(move || {
                let running = c.stopped().wait_sync(Some(common::GUARD));
                c.stop(true);
                let after_stop = c.stopped().wait_sync(Some(common::GUARD));
                (running, after_stop)
            })
            .unwrap()
            .wait_sync(T)
            // A running plain call finishes: stopping cancels only queued calls and tasks.
            .unwrap_or_else(|e| panic!("{backend}: {e:?}"));
        assert!(
            running.as_ref().is_err_and(is_would_deadlock),
            "{running:?}"
        );
        assert!(
            after_stop.as_ref().is_err_and(is_would_deadlock),
            "{after_stop:?}"
        );
        caller.join().unwrap();
        // From another thread, it is a plain wait.
        caller.stopped().wait_sync(T).unwrap();
    }
}

#[test]
fn waiting_for_stopped_on_the_thread_of_an_unentered_caller_is_an_error() {
    // BEHAVIOUR CX1; SPEC P11 (a manual caller can only run on its own thread)
    for backend in backends() {
        waiting_for_stopped_on_the_thread_of_an_unentered_caller_is_an_error_on(backend);
    }
}

fn waiting_for_stopped_on_the_thread_of_an_unentered_caller_is_an_error_on(backend: Backend) {
    let caller = manual_on(backend, "err-stopped-manual");
    let err = caller.stopped().wait_sync(Some(common::GUARD)).unwrap_err();
    assert!(is_would_deadlock(&err), "{err:?}");
    assert!(matches!(
        caller.join(),
        Err(CallerError::JoinOwnThread { .. })
    ));
    // Once stopped, waiting and joining are fine on that thread.
    caller.stop(true);
    caller.stopped().wait_sync(T).unwrap();
    caller.join().unwrap();
}

#[test]
fn event_wait_sync_with_duration_max_waits_without_limit() {
    // BEHAVIOUR CX1 (a saturated timeout, no panic); SPEC C14
    for backend in backends() {
        let caller = caller("err-event-max", backend);
        let stopped = caller.stopped();
        let waiter = std::thread::spawn(move || stopped.wait_sync(Some(Duration::MAX)));
        caller.stop(false);
        waiter.join().expect("no panic").unwrap();
        caller.join().unwrap();
    }
    // Already set: returns at once.
    let event = async_kernel::Event::new();
    event.set();
    event.wait_sync(Some(Duration::MAX)).unwrap();
}

#[test]
fn call_later_with_duration_max_is_scheduled_far_ahead_and_cancellable() {
    // BEHAVIOUR CX1 (a saturated deadline, no panic); SPEC C8, C6 (stop cancels it)
    for backend in backends() {
        let caller = caller("err-later-max", backend);
        let far = caller.call_later(Duration::MAX, || 1).unwrap();
        // The caller keeps serving while the far call waits.
        assert_eq!(caller.call_soon(|| 2).unwrap().wait_sync(T).unwrap(), 2);
        assert!(!far.done());
        let also_far = caller.call_later(Duration::MAX, || 3).unwrap();
        also_far.cancel(Some("not that long"));
        let err = also_far.wait_sync(T).unwrap_err();
        assert!(err.is_cancelled(), "{err:?}");
        caller.stop(false);
        let err = far.wait_sync(T).unwrap_err();
        assert!(err.is_cancelled(), "{backend}: {err:?}");
        caller.join().unwrap();
    }
}

#[test]
fn a_caller_name_with_a_nul_byte_is_an_error() {
    // BEHAVIOUR CX1 (NUL in a name); SPEC C1, C3 (the name names the caller's thread)
    for backend in backends() {
        a_caller_name_with_a_nul_byte_is_an_error_on(backend);
    }
}

fn a_caller_name_with_a_nul_byte_is_an_error_on(backend: Backend) {
    for modifier in [Modifier::NewThread, Modifier::Manual] {
        let err =
            Caller::new(modifier, CallerOptions::named("bad\0name").backend(backend)).unwrap_err();
        match &err {
            CallerError::InvalidName { name } => assert_eq!(name, "bad\0name"),
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("NUL"), "{err}");
    }
    // A child too.
    let parent = caller("err-nul-parent", backend);
    assert!(matches!(
        parent.get(CallerOptions::named("child\0")),
        Err(CallerError::InvalidName { .. })
    ));
    shutdown(&parent);
}
