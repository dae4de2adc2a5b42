//! Cancelling a group from outside, `cancelled()` and `remove` (SPEC G3, G4, G5).

// A `Pending` is a future: bodies here hand one back on purpose, to inspect it afterwards.
#![allow(clippy::async_yields_async)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_kernel::{Pending, PendingGroup, PendingTrackerState};
use crossbeam_channel::bounded;

use common::{GUARD, cancel_message, run};

// SPEC G3: cancel from another thread stops the body at its await; run reports the message.
#[test]
fn cancel_from_another_thread_stops_the_body() {
    let after_await = Arc::new(AtomicUsize::new(0));
    let (member_tx, member_rx) = bounded::<Pending<u8>>(1);
    let a = after_await.clone();
    let out = run(PendingGroup::new().run(|pg| async move {
        member_tx.send(Pending::new()).unwrap();
        let gate: Pending<()> = Pending::builder().allow_tracking(false).build().unwrap();
        std::thread::spawn(move || pg.cancel(Some("stop now")));
        let _ = gate.wait().protect(true).await;
        a.fetch_add(1, Ordering::SeqCst);
    }));
    assert_eq!(cancel_message(out), "stop now");
    assert_eq!(after_await.load(Ordering::SeqCst), 0);
    let member = member_rx.try_recv().unwrap();
    assert_eq!(member.cancel_message().as_deref(), Some("stop now"));
}

// SPEC G3: cancel messages accumulate like a pending's ("a" then "b" gives "a\nb").
#[test]
fn cancel_messages_accumulate() {
    let (member_tx, member_rx) = bounded::<Pending<u8>>(1);
    let out = run(PendingGroup::new().run(|pg| async move {
        member_tx.send(Pending::new()).unwrap();
        let g = pg.clone();
        std::thread::spawn(move || {
            g.cancel(Some("a"));
            g.cancel(None);
            g.cancel(Some("b"));
        })
        .join()
        .unwrap();
        std::future::pending::<()>().await;
    }));
    assert_eq!(cancel_message(out), "a\nb");
    assert_eq!(
        member_rx.try_recv().unwrap().cancel_message().as_deref(),
        Some("a\nb")
    );
}

// SPEC G3: cancelled() is false until the group is cancelled, then stays true.
#[test]
fn cancelled_reports_whether_the_group_was_cancelled() {
    let pg = PendingGroup::new();
    assert!(!pg.cancelled());
    let out = run(pg.run(|g| async move {
        let before = g.cancelled();
        g.cancel(Some("x"));
        let after = g.cancelled();
        assert_eq!((before, after), (false, true));
    }));
    assert!(out.unwrap_err().is_cancelled());
    assert!(pg.cancelled());
}

// SPEC G3: remove takes a member out without cancelling it; run no longer waits for it.
#[test]
fn remove_takes_a_member_out_without_cancelling() {
    let pg = PendingGroup::new();
    let removed = run(pg.run(|g| async move {
        let pen: Pending<u8> = Pending::new();
        assert!(g.remove(&pen));
        assert!(!g.remove(&pen), "already removed");
        assert!(!g.contains(&pen.erase()));
        pen
    }))
    .unwrap();
    assert!(!removed.done(), "run did not wait for it");
    assert!(!removed.cancelled());
}

// SPEC G3: a removed member's failure no longer cancels the group.
#[test]
fn removed_member_failure_does_not_cancel_the_group() {
    let pg = PendingGroup::new();
    let out = run(pg.run(|g| async move {
        let pen: Pending<u8> = Pending::new();
        let other: Pending<u8> = Pending::new();
        g.remove(pen.clone());
        pen.set_exception("not our business").unwrap();
        other.set_result(1).unwrap();
        other.await.unwrap()
    }));
    assert_eq!(out.unwrap(), 1);
    assert!(!pg.cancelled());
}

// SPEC G4: on cancellation, members still running are cancelled AND waited for.
#[test]
fn cancel_waits_for_members_with_a_canceller_to_finish() {
    let finished = Arc::new(AtomicBool::new(false));
    let (member_tx, member_rx) = bounded::<Pending<u8>>(1);
    let f = finished.clone();
    let out = run(PendingGroup::new().run(|pg| async move {
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
        pg.cancel(Some("shutting down"));
        std::future::pending::<()>().await;
    }));
    assert_eq!(cancel_message(out), "shutting down");
    assert!(
        finished.load(Ordering::SeqCst),
        "run returned before the member finished"
    );
    let member = member_rx.try_recv().unwrap();
    assert!(member.done());
    assert_eq!(
        member.result().unwrap_err().cancel_message(),
        Some("shutting down")
    );
}

// SPEC G5: a group that cancelled itself stays cancelled: running it again reports it at once.
#[test]
fn cancelled_group_reports_cancellation_without_running_the_body() {
    let pg = PendingGroup::new();
    pg.cancel(Some("cancelled before entry"));
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let out = run(pg.run(|_| async move {
        r.fetch_add(1, Ordering::SeqCst);
    }));
    assert_eq!(cancel_message(out), "cancelled before entry");
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    assert_ne!(pg.state(), PendingTrackerState::Active);
}

// SPEC G3, G4: cancel without a message reports an empty message; members get the exit message.
#[test]
fn cancel_without_message() {
    let (member_tx, member_rx) = bounded::<Pending<u8>>(1);
    let out = run(PendingGroup::new().run(|pg| async move {
        member_tx.send(Pending::new()).unwrap();
        pg.cancel(None);
        std::future::pending::<()>().await;
    }));
    assert_eq!(cancel_message(out), "");
    let member = member_rx.try_recv().unwrap();
    assert!(member.cancelled());
    assert!(
        !member.cancel_message().unwrap().is_empty(),
        "members learn why"
    );
}

// SPEC G3: the accumulated cancel message is readable from the group, not only from `run`.
#[test]
fn cancel_message_accumulates_and_is_readable() {
    let pg = PendingGroup::new();
    assert_eq!(pg.cancel_message(), None);
    pg.cancel(Some("first"));
    pg.cancel(Some("second"));
    assert_eq!(pg.cancel_message().as_deref(), Some("first\nsecond"));
    assert!(pg.cancelled());
}
