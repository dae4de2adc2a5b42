//! A failing or cancelled member cancels the group (SPEC G2).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_kernel::{Context, Pending, PendingGroup, PendingTrackerState};
use crossbeam_channel::bounded;

use common::{GUARD, cancel_message, guarded, run};

fn named<T: Send + 'static>(name: &'static str) -> Pending<T> {
    Pending::builder().metadata("name", name).build().unwrap()
}

// SPEC G2: a failing member cancels the others with a message naming it; run reports it.
#[test]
fn failing_member_cancels_the_others_with_a_message_naming_it() {
    let (other_tx, other_rx) = bounded::<Pending<u8>>(1);
    let out = run(PendingGroup::new().run(|_| async move {
        let bad: Pending<u8> = named("bad-member");
        let other: Pending<u8> = named("innocent");
        other_tx.send(other).unwrap();
        std::thread::spawn(move || bad.set_exception("disk full").unwrap());
        std::future::pending::<()>().await;
    }));
    let msg = cancel_message(out);
    assert!(msg.contains("bad-member"), "{msg}");
    assert!(!msg.contains("innocent"), "{msg}");
    let other = other_rx.try_recv().unwrap();
    assert!(other.cancelled());
    assert_eq!(other.cancel_message().as_deref(), Some(msg.as_str()));
}

// SPEC G2: a member that is cancelled counts like a failure.
#[test]
fn cancelled_member_cancels_the_group() {
    let (other_tx, other_rx) = bounded::<Pending<u8>>(1);
    let pg = PendingGroup::new();
    let out = run(pg.run(|_| async move {
        let victim: Pending<u8> = named("victim");
        let other: Pending<u8> = Pending::new();
        other_tx.send(other).unwrap();
        std::thread::spawn(move || victim.cancel(Some("user pressed stop")));
        std::future::pending::<()>().await;
    }));
    let msg = cancel_message(out);
    assert!(msg.contains("victim"), "{msg}");
    assert!(other_rx.try_recv().unwrap().cancelled());
    assert!(pg.cancelled());
    assert_eq!(pg.state(), PendingTrackerState::Stopped);
}

// SPEC G2: after a failure the body runs on only up to its next await point.
#[test]
fn failure_stops_the_body_at_its_next_await() {
    let before = Arc::new(AtomicUsize::new(0));
    let after = Arc::new(AtomicUsize::new(0));
    let (b, a) = (before.clone(), after.clone());
    let out = run(PendingGroup::new().run(|_| async move {
        let bad: Pending<u8> = Pending::new();
        bad.set_exception("fails right away").unwrap();
        b.fetch_add(1, Ordering::SeqCst); // no await yet: still runs
        tokio::task::yield_now().await;
        a.fetch_add(1, Ordering::SeqCst);
    }));
    // A member failed: the group reports the failure (issue 6, point 6).
    assert!(out.unwrap_err().group().is_some());
    assert_eq!(before.load(Ordering::SeqCst), 1);
    assert_eq!(after.load(Ordering::SeqCst), 0);
}

// SPEC G2: a member failed by a task on a tokio multi-thread runtime cancels the group.
#[test]
fn failure_from_a_tokio_task() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let (other_tx, other_rx) = bounded::<Pending<u8>>(1);
    let out = rt.block_on(async {
        tokio::time::timeout(
            GUARD,
            PendingGroup::new().run(|_| async move {
                let bad: Pending<u8> = named("tokio-member");
                other_tx.send(Pending::new()).unwrap();
                tokio::spawn(async move {
                    tokio::task::yield_now().await;
                    bad.set_exception("tokio task failed").unwrap();
                });
                std::future::pending::<()>().await;
            }),
        )
        .await
        .expect("the test hung")
    });
    assert!(cancel_message(out).contains("tokio-member"));
    assert!(other_rx.try_recv().unwrap().cancelled());
}

// SPEC G2: a member failed by a smol task cancels the group.
#[test]
fn failure_from_a_smol_task() {
    let (other_tx, other_rx) = bounded::<Pending<u8>>(1);
    let out = smol::block_on(guarded(PendingGroup::new().run(|_| async move {
        let bad: Pending<u8> = named("smol-member");
        other_tx.send(Pending::new()).unwrap();
        smol::spawn(async move {
            smol::future::yield_now().await;
            bad.set_exception("smol task failed").unwrap();
        })
        .detach();
        std::future::pending::<()>().await;
    })));
    assert!(cancel_message(out).contains("smol-member"));
    assert!(other_rx.try_recv().unwrap().cancelled());
}

// SPEC G1, G2: a failure while the group waits for members after its body still cancels it.
#[test]
fn failure_after_the_body_while_waiting_for_members() {
    let (body_done_tx, body_done_rx) = bounded::<()>(1);
    let (other_tx, other_rx) = bounded::<Pending<u8>>(1);
    let out = run(PendingGroup::new().run(|_| async move {
        let bad: Pending<u8> = named("late-failure");
        let other: Pending<u8> = Pending::new();
        other_tx.send(other).unwrap();
        std::thread::spawn(move || {
            body_done_rx.recv_timeout(GUARD).unwrap();
            bad.set_exception("late").unwrap();
        });
        body_done_tx.send(()).unwrap();
        "body finished"
    }));
    assert!(cancel_message(out).contains("late-failure"));
    assert!(other_rx.try_recv().unwrap().cancelled());
}

// SPEC G2, T2: a member made by "scheduled work" on another thread fails and cancels the group.
#[test]
fn failure_of_a_member_created_in_a_captured_context() {
    let (other_tx, other_rx) = bounded::<Pending<u8>>(1);
    let out = run(PendingGroup::new().run(|_| async move {
        other_tx.send(Pending::new()).unwrap();
        let ctx = Context::current();
        std::thread::spawn(move || {
            let work: Pending<u8> = ctx.run(|| named("scheduled-work"));
            work.set_exception("scheduled work failed").unwrap();
        });
        std::future::pending::<()>().await;
    }));
    assert!(cancel_message(out).contains("scheduled-work"));
    assert!(other_rx.try_recv().unwrap().cancelled());
}

// SPEC G2: only the first failure names itself; the cancellations it causes stay quiet.
#[test]
fn only_the_first_failure_speaks() {
    let out = run(PendingGroup::new().run(|_| async move {
        let first: Pending<u8> = named("first-failure");
        let second: Pending<u8> = named("second-failure");
        // `second` has a canceller, so it is still running when the group cancels it.
        second.set_canceller(|_| {}).unwrap();
        first.set_exception("one").unwrap();
        second.set_exception("two").unwrap();
        assert!(second.result().unwrap_err().is_cancelled());
    }));
    let msg = cancel_message(out);
    assert!(msg.contains("first-failure"), "{msg}");
    assert!(!msg.contains("second-failure"), "{msg}");
}

// SPEC G2, T5 contrast: a member that completes with a value does not cancel anything.
#[test]
fn successful_members_do_not_cancel() {
    let pg = PendingGroup::new();
    let out = run(pg.run(|_| async {
        let a: Pending<u8> = Pending::new();
        let b: Pending<u8> = Pending::new();
        a.set_result(1).unwrap();
        let setter = b.clone();
        std::thread::spawn(move || setter.set_result(2).unwrap());
        b.await.unwrap()
    }));
    assert_eq!(out.unwrap(), 2);
    assert!(!pg.cancelled());
}
