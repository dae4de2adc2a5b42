//! A value that is not `Clone` leaves a pending by move, exactly once (issue 6, point 3;
//! BEHAVIOUR P9).

mod common;

use async_kernel::caller::Async;
use async_kernel::{InvalidStateKind, Pending, PendingError};

use common::{T, new_caller, shutdown};

/// Not `Clone`: can only leave a pending by move.
#[derive(Debug, PartialEq)]
struct Handle(u32);

fn kind(e: PendingError) -> InvalidStateKind {
    match e {
        PendingError::InvalidState(e) => e.kind(),
        other => panic!("expected an invalid-state error, got {other:?}"),
    }
}

// BEHAVIOUR P9: one taker gets the value, the second a typed AlreadyTaken error.
#[test]
fn a_non_clone_value_is_taken_once() {
    let pen: Pending<Handle> = Pending::new();
    assert_eq!(kind(pen.take().unwrap_err()), InvalidStateKind::NotDone);
    pen.set_result(Handle(1)).unwrap();
    assert_eq!(pen.take().unwrap(), Handle(1));
    assert_eq!(
        kind(pen.take().unwrap_err()),
        InvalidStateKind::AlreadyTaken
    );
    // It produced a value: no failure to report.
    assert!(pen.exception().unwrap().is_none());
    assert!(pen.done() && !pen.cancelled());
}

// BEHAVIOUR P9: a value produced on a caller is taken with `wait().take()` or `wait_sync_take`.
#[test]
fn a_value_from_a_caller_is_taken_after_waiting() {
    let caller = new_caller("take");
    let a = caller.call_soon(|| Handle(2)).unwrap();
    assert_eq!(a.wait_sync_take(T).unwrap(), Handle(2));
    assert_eq!(
        kind(a.wait_sync_take(T).unwrap_err()),
        InvalidStateKind::AlreadyTaken
    );
    let b = caller.call_soon(Async(|| async { Handle(3) })).unwrap();
    let taken = futures::executor::block_on(b.wait().take()).unwrap();
    assert_eq!(taken, Handle(3));
    assert_eq!(
        kind(futures::executor::block_on(b.wait().take()).unwrap_err()),
        InvalidStateKind::AlreadyTaken
    );
    shutdown(&caller);
}

// BEHAVIOUR P9: for a Clone value, `result` and `.await` work until someone takes it.
#[test]
fn clone_readers_see_the_value_until_it_is_taken() {
    let pen: Pending<String> = Pending::new();
    pen.set_result("v".to_owned()).unwrap();
    assert_eq!(pen.result().unwrap(), "v");
    assert_eq!(futures::executor::block_on(pen.clone()).unwrap(), "v");
    assert_eq!(pen.take().unwrap(), "v");
    assert_eq!(
        kind(pen.result().unwrap_err()),
        InvalidStateKind::AlreadyTaken
    );
}

// BEHAVIOUR P9: a failure is not consumed: every taker sees it.
#[test]
fn a_failure_is_returned_to_every_taker() {
    let pen: Pending<Handle> = Pending::new();
    pen.set_exception("boom").unwrap();
    assert!(matches!(pen.take(), Err(PendingError::Failed(_))));
    assert!(matches!(pen.take(), Err(PendingError::Failed(_))));
}
