//! PendingManager deactivation and its countdown (SPEC P3, T3, T5).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_kernel::{
    Context, InvalidStateKind, Pending, PendingError, PendingManager, PendingTrackerState,
};

use common::GUARD;

/// An active manager and pendings created while it was bound.
fn manager_with<const N: usize>() -> (PendingManager, [Pending<u32>; N]) {
    let m = PendingManager::new().activate().unwrap();
    let token = m.start_tracking().unwrap();
    let pens = std::array::from_fn(|_| Pending::new());
    m.stop_tracking(token).unwrap();
    (m, pens)
}

/// Installs a canceller that counts calls and remembers the last message.
fn counting_canceller(pen: &Pending<u32>) -> (Arc<AtomicUsize>, Arc<std::sync::Mutex<String>>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let last = Arc::new(std::sync::Mutex::new(String::new()));
    let (c, l) = (calls.clone(), last.clone());
    pen.set_canceller(move |msg| {
        c.fetch_add(1, Ordering::SeqCst);
        *l.lock().unwrap() = msg.unwrap_or_default().to_owned();
    })
    .unwrap();
    (calls, last)
}

// SPEC T5: deactivate(true) cancels members with "<manager> has been deactivated" and stops.
#[test]
fn deactivate_true_cancels_members_with_message() {
    let (m, [a, b]) = manager_with::<2>();
    assert!(m.deactivate(true).unwrap().is_none());
    for pen in [&a, &b] {
        assert!(pen.cancelled());
        let msg = pen.cancel_message().unwrap();
        assert!(msg.contains("has been deactivated"), "{msg}");
        assert!(msg.contains("PendingManager"), "{msg}");
    }
    assert_eq!(m.state(), PendingTrackerState::Stopped);
}

// SPEC T5: deactivate(false) forgets members without cancelling them, and stops.
#[test]
fn deactivate_false_forgets_members() {
    let (m, [a]) = manager_with::<1>();
    let (calls, _) = counting_canceller(&a);
    assert!(m.deactivate(false).unwrap().is_none());
    assert!(!a.cancelled());
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert!(m.pending().is_empty());
    assert_eq!(m.state(), PendingTrackerState::Stopped);
    a.set_result(1).unwrap();
    assert_eq!(a.result().unwrap(), 1);
}

// SPEC T5: an empty manager stops at once.
#[test]
fn deactivate_empty_manager_stops_at_once() {
    let m = PendingManager::new().activate().unwrap();
    assert!(m.deactivate(true).unwrap().is_none());
    assert_eq!(m.state(), PendingTrackerState::Stopped);
}

// SPEC T5: a member with a canceller still finishing gives a countdown; the manager is exiting.
#[test]
fn deactivate_returns_countdown_while_members_finish() {
    let (m, [slow, quick]) = manager_with::<2>();
    let (calls, last) = counting_canceller(&slow);
    let countdown = m.deactivate(true).unwrap().expect("a countdown");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(last.lock().unwrap().contains("has been deactivated"));
    assert!(quick.done(), "no canceller: done at once");
    assert!(!slow.done());
    assert_eq!(countdown.value(), 1);
    assert_eq!(m.state(), PendingTrackerState::Exiting);
    let err = countdown
        .wait_sync(Some(Duration::from_millis(20)))
        .unwrap_err();
    assert!(err.is_timeout());
}

// SPEC T5: deactivating again while exiting returns the countdown again, cancelling nobody twice.
#[test]
fn deactivate_again_returns_the_countdown_again() {
    let (m, [slow]) = manager_with::<1>();
    let (calls, _) = counting_canceller(&slow);
    let first = m.deactivate(true).unwrap().expect("a countdown");
    let second = m.deactivate(true).unwrap().expect("the countdown again");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(second.value(), 1);
    slow.set_result(0).unwrap();
    // Both handles are the same countdown: both complete.
    first.wait_sync(Some(GUARD)).unwrap();
    second.wait_sync(Some(GUARD)).unwrap();
    assert_eq!(first.value(), 0);
}

// SPEC T5: the countdown completes when the members finish (on another thread); then stopped.
#[test]
fn countdown_completes_when_members_finish() {
    let (m, [slow]) = manager_with::<1>();
    let (tx, rx) = crossbeam_channel::bounded::<()>(1);
    slow.set_canceller(move |_| tx.send(()).unwrap()).unwrap();
    let work = slow.clone();
    let worker = std::thread::spawn(move || {
        rx.recv_timeout(GUARD).unwrap();
        work.set_result(1).unwrap();
    });
    let countdown = m.deactivate(true).unwrap().expect("a countdown");
    futures::executor::block_on(countdown.wait().timeout(GUARD)).unwrap();
    worker.join().unwrap();
    assert_eq!(m.state(), PendingTrackerState::Stopped);
    assert!(slow.result().unwrap_err().is_cancelled());
    assert!(
        m.deactivate(true).unwrap().is_none(),
        "stopped: nothing to do"
    );
}

// SPEC T5: deactivate on a stopped manager does nothing.
#[test]
fn deactivate_when_stopped_does_nothing() {
    let m = PendingManager::new().activate().unwrap();
    m.deactivate(true).unwrap();
    assert!(m.deactivate(true).unwrap().is_none());
    assert!(m.deactivate(false).unwrap().is_none());
    assert_eq!(m.state(), PendingTrackerState::Stopped);
}

// SPEC T4: deactivate on a manager that was never activated is an invalid-state error.
#[test]
fn deactivate_idle_is_an_error() {
    let m = PendingManager::new();
    assert_eq!(
        m.deactivate(true).unwrap_err().kind(),
        InvalidStateKind::TrackerState
    );
    assert_eq!(m.state(), PendingTrackerState::Idle);
}

// SPEC T4: activate while exiting is an invalid-state error.
#[test]
fn activate_while_exiting_is_an_error() {
    let (m, [slow]) = manager_with::<1>();
    let _calls = counting_canceller(&slow);
    let _countdown = m.deactivate(true).unwrap().expect("a countdown");
    assert_eq!(
        m.activate().unwrap_err().kind(),
        InvalidStateKind::TrackerState
    );
    slow.set_result(0).unwrap();
    assert_eq!(m.state(), PendingTrackerState::Stopped);
    assert!(m.activate().is_ok());
}

// SPEC P3: creating a pending in the context of an exiting manager is TrackerExiting.
#[test]
fn pending_in_exiting_manager_context_is_tracker_exiting() {
    let m = PendingManager::new().activate().unwrap();
    let token = m.start_tracking().unwrap();
    let slow: Pending<u32> = Pending::new();
    let ctx = Context::current();
    m.stop_tracking(token).unwrap();
    let _calls = counting_canceller(&slow);
    let _countdown = m.deactivate(true).unwrap().expect("a countdown");

    let err = ctx.run(|| Pending::<u32>::builder().build()).unwrap_err();
    assert_eq!(err.kind(), InvalidStateKind::TrackerExiting);
    // The bare constructor reports it as an already-failed pending.
    let failed: Pending<u32> = ctx.run(Pending::new);
    match failed.result() {
        Err(PendingError::InvalidState(e)) => {
            assert_eq!(e.kind(), InvalidStateKind::TrackerExiting)
        }
        other => panic!("expected InvalidState(TrackerExiting), got {other:?}"),
    }
    // Opting out of tracking still works.
    assert!(
        ctx.run(|| Pending::<u32>::builder().allow_tracking(false).build())
            .is_ok()
    );
    slow.set_result(0).unwrap();
}

// SPEC T3: once stopped, a context that still names the manager creates untracked pendings.
#[test]
fn stopped_manager_context_creates_untracked_pendings() {
    let m = PendingManager::new().activate().unwrap();
    let token = m.start_tracking().unwrap();
    m.deactivate(true).unwrap();
    let pen: Pending<u8> = Pending::builder().build().unwrap();
    m.stop_tracking(token).unwrap();
    assert!(!m.contains(&pen.erase()));
    assert!(!pen.done());
}
