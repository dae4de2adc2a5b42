// Trees and pendings that mix backends (SPEC C6, C11; P1: a pending is awaited from any executor).
// Included by tests/caller_mixed_backends.rs once per backend; `BACKEND` is the parent's (or
// the first caller's) backend and `other_backend(BACKEND)` the other one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_kernel::caller::{
    Async, CallerError, CallerOptions, CallerState, Fallible, QueuedFunction,
};
use async_kernel::{Event, Pending, PendingError, PendingGroup};

use crate::common::{T, new_caller_on, other_backend, shutdown};

#[test]
fn get_with_the_other_backend_makes_a_child_of_that_backend() {
    // SPEC C11 (decision: a NEW child may name another backend; it does not inherit the
    // parent's backend options)
    let parent = new_caller_on(BACKEND, "mixed-child");
    let other = other_backend(BACKEND);
    let child = parent
        .get(CallerOptions::named("mixed-child-kid").backend(other))
        .unwrap();
    assert_eq!(child.backend(), other);
    assert_eq!(child.backend_options(), &async_kernel::caller::BackendOptions::Default);
    assert_eq!(parent.children(), vec![child.clone()]);
    assert_eq!(child.parent(), Some(parent.clone()));
    let pen = child.call_soon(Async(|| async { 7 })).unwrap();
    assert_eq!(pen.wait_sync(T).unwrap(), 7);
    shutdown(&parent);
    assert_eq!(child.state(), CallerState::Stopped);
}

#[test]
fn a_child_of_the_other_backend_is_found_by_name_and_a_mismatch_is_an_error() {
    // SPEC C11: a child by name with a different backend is an error
    let parent = new_caller_on(BACKEND, "mixed-by-name");
    let other = other_backend(BACKEND);
    let child = parent
        .get(CallerOptions::named("mixed-by-name-kid").backend(other))
        .unwrap();
    // Without a backend, the name finds it.
    assert_eq!(
        parent.get(CallerOptions::named("mixed-by-name-kid")).unwrap(),
        child
    );
    assert_eq!(
        parent
            .get(CallerOptions::named("mixed-by-name-kid").backend(other))
            .unwrap(),
        child
    );
    match parent.get(CallerOptions::named("mixed-by-name-kid").backend(BACKEND)) {
        Err(CallerError::BackendMismatch {
            existing,
            requested,
            ..
        }) => {
            assert_eq!(existing, other);
            assert_eq!(requested, BACKEND);
        }
        other => panic!("expected BackendMismatch, got {other:?}"),
    }
    assert_eq!(parent.children().len(), 1);
    shutdown(&parent);
}

#[test]
fn a_grandchild_inherits_the_backend_of_its_own_parent() {
    // SPEC C11: a new child inherits its parent's backend
    let parent = new_caller_on(BACKEND, "mixed-grand");
    let other = other_backend(BACKEND);
    let child = parent
        .get(CallerOptions::named("mixed-grand-kid").backend(other))
        .unwrap();
    let grandchild = child
        .get(CallerOptions::named("mixed-grand-grandkid"))
        .unwrap();
    assert_eq!(grandchild.backend(), other);
    assert_eq!(grandchild.call_soon(|| 3).unwrap().wait_sync(T).unwrap(), 3);
    shutdown(&parent);
    assert_eq!(grandchild.state(), CallerState::Stopped);
}

#[test]
fn stopping_a_parent_stops_its_children_of_the_other_backend_and_their_calls() {
    // SPEC C6 across backends
    let parent = new_caller_on(BACKEND, "mixed-stop");
    let child = parent
        .get(CallerOptions::named("mixed-stop-kid").backend(other_backend(BACKEND)))
        .unwrap();
    let started = Event::new();
    let signal = started.clone();
    let running = child
        .call_soon(Async(move || async move {
            signal.set();
            std::future::pending::<()>().await
        }))
        .unwrap();
    started.wait_sync(T).unwrap();
    parent.stop(false);
    parent.join().unwrap();
    assert!(running.wait_sync(T).unwrap_err().is_cancelled());
    assert_eq!(child.state(), CallerState::Stopped);
    assert!(child.stopped().is_set());
}

#[test]
fn a_pending_of_this_backend_is_awaited_in_a_call_on_the_other_backend() {
    // SPEC P1: a Pending is awaitable from any executor, in both directions
    let here = new_caller_on(BACKEND, "mixed-await-here");
    let there = new_caller_on(other_backend(BACKEND), "mixed-await-there");
    let gate = Event::new();
    let open = gate.clone();
    let made_here: Pending<String> = here
        .call_soon(Async(move || async move {
            open.wait().await.unwrap();
            format!("from {BACKEND}")
        }))
        .unwrap();
    let awaited = there
        .call_soon(Async(move || made_here))
        .unwrap();
    gate.set();
    assert_eq!(awaited.wait_sync(T).unwrap().unwrap(), format!("from {BACKEND}"));
    shutdown(&here);
    shutdown(&there);
}

#[test]
fn cancelling_a_call_that_owns_a_pending_of_the_other_backend_cancels_that_one_too() {
    // SPEC P10: giving up what you own cancels it, across backends
    let here = new_caller_on(BACKEND, "mixed-cancel-here");
    let there = new_caller_on(other_backend(BACKEND), "mixed-cancel-there");
    let started = Event::new();
    let signal = started.clone();
    let reached = Arc::new(AtomicBool::new(false));
    let flag = reached.clone();
    let inner: Pending<()> = here
        .call_soon(Async(move || async move {
            signal.set();
            std::future::pending::<()>().await;
            flag.store(true, Ordering::SeqCst);
        }))
        .unwrap();
    let owned = inner.clone();
    let awaiting = Event::new();
    let outer_signal = awaiting.clone();
    let outer = there
        .call_soon(Async(move || async move {
            outer_signal.set();
            owned.await
        }))
        .unwrap();
    started.wait_sync(T).unwrap();
    // Once the outer call has started, its cancellation reaches it at its await, which drops
    // (gives up) the pending it owns.
    awaiting.wait_sync(T).unwrap();
    outer.cancel(Some("outer gives up"));
    assert!(outer.wait_sync(T).unwrap_err().is_cancelled());
    let err = inner.wait_sync(T).unwrap_err();
    assert!(err.is_cancelled(), "{err:?}");
    assert!(!reached.load(Ordering::SeqCst));
    shutdown(&here);
    shutdown(&there);
}

#[test]
fn a_queue_on_this_backend_is_awaited_from_the_other() {
    // SPEC Q5 across backends
    let here = new_caller_on(BACKEND, "mixed-queue-here");
    let there = new_caller_on(other_backend(BACKEND), "mixed-queue-there");
    let add = QueuedFunction::new(Async(|(a, b): (u32, u32)| async move { a + b }));
    here.queue_call(&add, (1, 2)).unwrap();
    let pen = here.queue_call(&add, (20, 22)).unwrap();
    let awaited = there
        .call_soon(Async(move || pen))
        .unwrap();
    assert_eq!(awaited.wait_sync(T).unwrap().unwrap(), 42);
    shutdown(&here);
    shutdown(&there);
}

#[test]
fn a_group_in_a_call_on_one_backend_cancels_work_on_the_other_when_one_fails() {
    // SPEC G-rules across backends: a group tracks pendings made in its context on any caller
    let here = new_caller_on(BACKEND, "mixed-group-here");
    let there = new_caller_on(other_backend(BACKEND), "mixed-group-there");
    let remote = there.clone();
    let out = here
        .call_soon(Async(move || async move {
            let sibling_slot = Arc::new(std::sync::Mutex::new(None));
            let slot = sibling_slot.clone();
            let result = PendingGroup::new()
                .run(move |_| async move {
                    let sibling = remote
                        .call_soon(Async(|| async { std::future::pending::<()>().await }))
                        .unwrap();
                    *slot.lock().unwrap() = Some(sibling);
                    remote
                        .call_soon(Fallible(|| Err::<(), _>(std::io::Error::other("boom"))))
                        .unwrap();
                })
                .await;
            let sibling = sibling_slot.lock().unwrap().take().unwrap();
            (result.map_err(|e| e.to_string()), sibling)
        }))
        .unwrap()
        .wait_sync(T)
        .unwrap();
    let (result, sibling) = out;
    assert!(result.is_err(), "the group reports the failure: {result:?}");
    let err: PendingError = sibling.wait_sync(T).unwrap_err();
    assert!(err.is_cancelled(), "{err:?}");
    shutdown(&here);
    shutdown(&there);
}
