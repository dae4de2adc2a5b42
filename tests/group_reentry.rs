//! Entering and leaving a group: re-entry, exiting state, panics and drops (SPEC P3, G4, G5).

mod common;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_kernel::{
    Context, InvalidStateKind, Pending, PendingError, PendingGroup, PendingTrackerState,
};
use crossbeam_channel::bounded;
use futures::FutureExt as _;

use common::{GUARD, guarded, run};

// SPEC G5: after a clean exit the group can be entered again, and tracks afresh.
#[test]
fn reentry_after_a_clean_exit() {
    let pg = PendingGroup::new();
    let first = run(pg.run(|g| async move {
        let p: Pending<u8> = Pending::new();
        p.set_result(1).unwrap();
        g.state()
    }))
    .unwrap();
    assert_eq!(first, PendingTrackerState::Active);
    assert_eq!(pg.state(), PendingTrackerState::Stopped);

    let (tracked, value) = run(pg.run(|g| async move {
        let p: Pending<u8> = Pending::new();
        let tracked = g.contains(&p.erase());
        let setter = p.clone();
        std::thread::spawn(move || setter.set_result(2).unwrap());
        (tracked, p.await.unwrap())
    }))
    .unwrap();
    assert!(tracked);
    assert_eq!(value, 2);
    assert_eq!(pg.state(), PendingTrackerState::Stopped);
}

// SPEC G5: entering a group while it is active is InvalidState of kind AlreadyActive.
#[test]
fn entering_while_active_is_already_active() {
    let pg = PendingGroup::new();
    let nested = run(pg.run(|g| async move { g.run(|_| async { "never runs" }).await })).unwrap();
    match nested {
        Err(PendingError::InvalidState(e)) => assert_eq!(e.kind(), InvalidStateKind::AlreadyActive),
        other => panic!("expected AlreadyActive, got {other:?}"),
    }
    assert!(
        !pg.cancelled(),
        "the refused entry did not disturb the running group"
    );
}

// SPEC G5: entering from another thread while it is active is refused too.
#[test]
fn entering_from_another_thread_while_active_is_refused() {
    let pg = PendingGroup::new();
    let out = run(pg.run(|g| async move {
        std::thread::spawn(move || futures::executor::block_on(guarded(g.run(|_| async {}))))
            .join()
            .unwrap()
    }))
    .unwrap();
    match out {
        Err(PendingError::InvalidState(e)) => assert_eq!(e.kind(), InvalidStateKind::AlreadyActive),
        other => panic!("expected AlreadyActive, got {other:?}"),
    }
}

// SPEC G4, P3: a pending created in the group's context while it is exiting is TrackerExiting.
#[test]
fn pending_created_while_exiting_is_tracker_exiting() {
    let (handoff_tx, handoff_rx) = bounded::<(Context, Pending<()>)>(1);
    let (stop_tx, stop_rx) = bounded::<()>(1);
    let helper = std::thread::spawn(move || {
        let (ctx, member) = handoff_rx.recv_timeout(GUARD).unwrap();
        // The canceller ran: the group is exiting and waits for `member`.
        stop_rx.recv_timeout(GUARD).unwrap();
        let built = ctx.run(|| Pending::<u8>::builder().build());
        let bare: Pending<u8> = ctx.run(Pending::new);
        member.set_result(()).unwrap();
        (built.map(|_| ()), bare)
    });
    let pg = PendingGroup::new();
    let out = run(pg.run(|g| async move {
        let member: Pending<()> = Pending::new();
        member
            .set_canceller(move |_| stop_tx.send(()).unwrap())
            .unwrap();
        handoff_tx.send((Context::current(), member)).unwrap();
        g.cancel(Some("leave"));
        std::future::pending::<()>().await;
    }));
    assert!(out.unwrap_err().is_cancelled());
    let (built, bare) = helper.join().unwrap();
    assert_eq!(built.unwrap_err().kind(), InvalidStateKind::TrackerExiting);
    match bare.result() {
        Err(PendingError::InvalidState(e)) => {
            assert_eq!(e.kind(), InvalidStateKind::TrackerExiting)
        }
        other => panic!("Pending::new should give an already-failed pending, got {other:?}"),
    }
    assert_eq!(pg.state(), PendingTrackerState::Stopped);
}

// SPEC G4: a body panic is re-raised by run, after the members were cancelled and waited for.
#[test]
fn body_panic_is_reraised_after_members_were_cancelled() {
    let finished = Arc::new(AtomicBool::new(false));
    let (member_tx, member_rx) = bounded::<Pending<u8>>(1);
    let f = finished.clone();
    let pg = PendingGroup::new();
    let caught = futures::executor::block_on(guarded(
        AssertUnwindSafe(pg.run(|_| async move {
            let member: Pending<u8> = Pending::new();
            let (stop_tx, stop_rx) = bounded::<()>(1);
            member
                .set_canceller(move |_| stop_tx.send(()).unwrap())
                .unwrap();
            let work = member.clone();
            std::thread::spawn(move || {
                stop_rx.recv_timeout(GUARD).unwrap();
                f.store(true, Ordering::SeqCst);
                work.set_result(0).unwrap();
            });
            member_tx.send(member).unwrap();
            panic!("body exploded");
        }))
        .catch_unwind(),
    ));
    let payload = caught.expect_err("the panic is re-raised");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"body exploded"));
    assert!(
        finished.load(Ordering::SeqCst),
        "re-raised before the member finished"
    );
    let member = member_rx.try_recv().unwrap();
    assert!(member.result().unwrap_err().is_cancelled());
    assert_eq!(pg.state(), PendingTrackerState::Stopped);
}

// SPEC G4: dropping the run future cancels the members (without waiting).
#[test]
fn dropping_the_run_future_cancels_the_members() {
    let (member_tx, member_rx) = bounded::<Pending<u8>>(1);
    let pg = PendingGroup::new();
    let polled_once = pg
        .run(|_| async move {
            member_tx.send(Pending::new()).unwrap();
            std::future::pending::<()>().await;
        })
        .now_or_never();
    assert!(polled_once.is_none());
    let member = member_rx.try_recv().unwrap();
    assert!(member.cancelled());
    let msg = member.cancel_message().unwrap();
    assert!(msg.contains("dropped"), "{msg}");
    assert_eq!(pg.state(), PendingTrackerState::Stopped);
}

// SPEC G5: a group ended from outside (its run dropped) does not count as cancelled itself,
// and can be entered again.
#[test]
fn group_dropped_from_outside_can_run_again() {
    let pg = PendingGroup::new();
    let dropped = pg
        .run(|_| async {
            let _member: Pending<u8> = Pending::new();
            std::future::pending::<()>().await;
        })
        .now_or_never();
    assert!(dropped.is_none());
    assert!(!pg.cancelled());
    let again = run(pg.run(|_| async { 5 }));
    assert_eq!(again.unwrap(), 5);
}

// SPEC T3: the group is idle before, active in the body, stopped after.
#[test]
fn state_goes_idle_active_stopped() {
    let pg = PendingGroup::new();
    assert_eq!(pg.state(), PendingTrackerState::Idle);
    let inside = run(pg.run(|g| async move { g.state() })).unwrap();
    assert_eq!(inside, PendingTrackerState::Active);
    assert_eq!(pg.state(), PendingTrackerState::Stopped);
}

// SPEC G5, G4: a group ended from outside while its body awaits a member does not count as
// cancelled itself: the member is cancelled by the group's exit, and the group can run again.
#[test]
fn group_dropped_while_awaiting_a_member_is_not_self_cancelled() {
    let (member_tx, member_rx) = bounded::<Pending<u8>>(1);
    let pg = PendingGroup::new();
    let dropped = pg
        .run(|_| async move {
            let member: Pending<u8> = Pending::new();
            member_tx.send(member.clone()).unwrap();
            let _ = member.await;
        })
        .now_or_never();
    assert!(dropped.is_none());
    let msg = member_rx.try_recv().unwrap().cancel_message().unwrap();
    assert!(msg.contains("PendingGroup was dropped"), "{msg}");
    assert!(!pg.cancelled());
    let again = run(pg.run(|_| async { 6 }));
    assert_eq!(again.unwrap(), 6);
}
