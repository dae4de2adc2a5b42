//! What a PendingGroup tracks and waits for (SPEC P3, T1, T2, T3, G1).

// A `Pending` is a future: bodies here hand one back on purpose, to inspect it afterwards.
#![allow(clippy::async_yields_async)]

mod common;

use async_kernel::{Context, Pending, PendingGroup, PendingTrackerState};
use crossbeam_channel::bounded;

use common::{GUARD, guarded, run};

// SPEC G1, T1: a pending created in the body is a member; current() is the group in the body only.
#[test]
fn body_pendings_are_members_and_current_is_the_group() {
    let pg = PendingGroup::new();
    assert!(PendingGroup::current().is_none());
    let (member, current, state) = run(pg.run(|g| async move {
        let member: Pending<u8> = Pending::new();
        let found = g.contains(&member.erase());
        member.set_result(1).unwrap();
        (found, PendingGroup::current(), g.state())
    }))
    .unwrap();
    assert!(member);
    assert_eq!(current, Some(pg.clone()));
    assert_eq!(state, PendingTrackerState::Active);
    assert!(PendingGroup::current().is_none());
}

// SPEC G1: run returns the body's value once the body and its members are done.
#[test]
fn run_returns_the_body_value() {
    let pg = PendingGroup::new();
    let out = run(pg.run(|_| async {
        let pen: Pending<u32> = Pending::new();
        pen.set_result(20).unwrap();
        pen.await.unwrap() + 1
    }));
    assert_eq!(out.unwrap(), 21);
    assert_eq!(pg.state(), PendingTrackerState::Stopped);
}

// SPEC G1: run waits for a member that a plain thread completes after the body returned.
#[test]
fn run_waits_for_a_member_completed_later_by_a_plain_thread() {
    let (body_done_tx, body_done_rx) = bounded::<()>(1);
    let member = run(PendingGroup::new().run(|_| async move {
        let member: Pending<u32> = Pending::new();
        let setter = member.clone();
        std::thread::spawn(move || {
            body_done_rx.recv_timeout(GUARD).unwrap();
            setter.set_result(5).unwrap();
        });
        body_done_tx.send(()).unwrap();
        member
    }))
    .unwrap();
    assert!(member.done(), "run returned before its member was done");
    assert_eq!(member.result().unwrap(), 5);
}

// SPEC T2: a context captured in the body and used on a plain thread creates members.
#[test]
fn captured_context_on_a_plain_thread_creates_members() {
    let (tracked, untracked_seen, scheduled) = run(PendingGroup::new().run(|pg| async move {
        let ctx = Context::current();
        // Simulated scheduled work: it runs in the captured context on another thread.
        let (scheduled, untracked) = std::thread::spawn(move || {
            let scheduled: Pending<u8> = ctx.run(Pending::new);
            let untracked: Pending<u8> = Pending::new();
            (scheduled, untracked)
        })
        .join()
        .unwrap();
        let r = (
            pg.contains(&scheduled.erase()),
            pg.contains(&untracked.erase()),
            scheduled.clone(),
        );
        let setter = scheduled.clone();
        std::thread::spawn(move || setter.set_result(9).unwrap());
        r
    }))
    .unwrap();
    assert!(tracked);
    assert!(
        !untracked_seen,
        "a pending made outside the context is not a member"
    );
    assert_eq!(scheduled.result().unwrap(), 9, "the group waited for it");
}

// SPEC G1, T2: members created by tracked work after the body ended are waited for too.
#[test]
fn members_created_after_the_body_are_waited_for() {
    let (body_done_tx, body_done_rx) = bounded::<()>(1);
    let (later_tx, later_rx) = bounded::<(Pending<u8>, bool)>(1);
    let out = run(PendingGroup::new().run(|pg| async move {
        let first: Pending<()> = Pending::new();
        let ctx = Context::current();
        std::thread::spawn(move || {
            body_done_rx.recv_timeout(GUARD).unwrap();
            // The body is over; `first` keeps the group active, so this is a new member.
            let later: Pending<u8> = ctx.run(Pending::new);
            later_tx
                .send((later.clone(), pg.contains(&later.erase())))
                .unwrap();
            first.set_result(()).unwrap();
            later.set_result(3).unwrap();
        });
        body_done_tx.send(()).unwrap();
    }));
    out.unwrap();
    let (later, was_member) = later_rx.try_recv().unwrap();
    assert!(was_member);
    assert!(
        later.done(),
        "run returned before the later member was done"
    );
}

// SPEC P3: allow_tracking(false) keeps a pending out of the group; run does not wait for it.
#[test]
fn untracked_pending_is_not_waited_for() {
    let pg = PendingGroup::new();
    let free = run(pg.run(|g| async move {
        let free: Pending<u8> = Pending::builder().allow_tracking(false).build().unwrap();
        assert!(!g.contains(&free.erase()));
        free
    }))
    .unwrap();
    assert!(!free.done());
    assert!(!free.cancelled(), "a non-member is not cancelled at exit");
}

// SPEC T3: a member leaves the set as soon as it completes, while the body still runs.
#[test]
fn completed_members_leave_the_set() {
    let out = run(PendingGroup::new().run(|pg| async move {
        let a: Pending<u8> = Pending::new();
        let b: Pending<u8> = Pending::new();
        let before = pg.pending().len();
        a.set_result(1).unwrap();
        let after = pg.pending();
        b.set_result(2).unwrap();
        (before, after == vec![b.erase()], pg.pending().is_empty())
    }));
    assert_eq!(out.unwrap(), (2, true, true));
}

// SPEC G1: a member completed by a task spawned on a tokio multi-thread runtime is waited for.
#[test]
fn member_completed_by_a_tokio_task() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let member = rt
        .block_on(async {
            tokio::time::timeout(
                GUARD,
                PendingGroup::new().run(|_| async {
                    let member: Pending<u32> = Pending::new();
                    let setter = member.clone();
                    tokio::spawn(async move {
                        tokio::task::yield_now().await;
                        setter.set_result(31).unwrap();
                    });
                    member
                }),
            )
            .await
        })
        .expect("the test hung")
        .unwrap();
    assert_eq!(member.result().unwrap(), 31);
}

// SPEC G1: a member completed by a smol task is waited for.
#[test]
fn member_completed_by_a_smol_task() {
    let member = smol::block_on(guarded(PendingGroup::new().run(|_| async {
        let member: Pending<u32> = Pending::new();
        let setter = member.clone();
        smol::spawn(async move {
            smol::future::yield_now().await;
            setter.set_result(17).unwrap();
        })
        .detach();
        member
    })))
    .unwrap();
    assert_eq!(member.result().unwrap(), 17);
}

// SPEC G1, T2: the body's members may be awaited from tokio tasks the body spawned.
#[test]
fn member_awaited_by_a_spawned_task_inside_the_body() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let got = rt
        .block_on(guarded(PendingGroup::new().run(|pg| async move {
            let member: Pending<u32> = Pending::new();
            let waiter = tokio::spawn(member.clone().wait());
            let setter = member.clone();
            std::thread::spawn(move || setter.set_result(8).unwrap());
            let v = waiter.await.unwrap();
            (v, pg.pending().is_empty())
        })))
        .unwrap();
    assert_eq!(got.0.unwrap(), 8);
    assert!(got.1);
}
