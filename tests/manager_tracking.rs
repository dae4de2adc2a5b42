//! PendingManager life cycle and tracking (SPEC P3, T1–T4).

mod common;

use async_kernel::{
    Context, InvalidStateKind, Pending, PendingGroup, PendingManager, PendingTrackerState,
};

use common::guarded;

fn active_manager() -> PendingManager {
    PendingManager::new().activate().unwrap()
}

// SPEC T4: a token goes back to the manager that handed it out; another manager's is an error
// and unbinds nothing.
#[test]
fn stop_tracking_with_another_managers_token_is_an_error() {
    let a = active_manager();
    let b = active_manager();
    let token_a = a.start_tracking().unwrap();
    let token_b = b.start_tracking().unwrap();
    let err = a.stop_tracking(token_b).unwrap_err();
    assert_eq!(err.kind(), InvalidStateKind::WrongToken);
    // b's binding is still in place: a new pending is tracked by b.
    let pen: Pending<()> = Pending::new();
    assert!(b.contains(&pen.erase()));
    drop(token_a);
}

// SPEC T4: activate from idle makes the manager active and returns (a handle to) itself.
#[test]
fn activate_from_idle_returns_itself_active() {
    let m = PendingManager::new();
    assert_eq!(m.state(), PendingTrackerState::Idle);
    let same = m.activate().unwrap();
    assert_eq!(same, m);
    assert_eq!(m.state(), PendingTrackerState::Active);
}

// SPEC T4: activate while active is an invalid-state error.
#[test]
fn activate_while_active_is_an_error() {
    let m = active_manager();
    let err = m.activate().unwrap_err();
    assert_eq!(err.kind(), InvalidStateKind::TrackerState);
    assert_eq!(m.state(), PendingTrackerState::Active);
}

// SPEC T4: a stopped manager can be activated again and tracks again.
#[test]
fn activate_again_after_stopped() {
    let m = active_manager();
    assert!(m.deactivate(true).unwrap().is_none());
    assert_eq!(m.state(), PendingTrackerState::Stopped);
    m.activate().unwrap();
    assert_eq!(m.state(), PendingTrackerState::Active);
    let token = m.start_tracking().unwrap();
    let pen: Pending<()> = Pending::new();
    m.stop_tracking(token).unwrap();
    assert!(m.contains(&pen.erase()));
}

// SPEC T4: activate does not bind the context; nothing is tracked before start_tracking.
#[test]
fn activate_does_not_bind_the_context() {
    let m = active_manager();
    let pen: Pending<()> = Pending::new();
    assert!(!m.contains(&pen.erase()));
    assert!(PendingManager::current().is_none());
}

// SPEC T4: start_tracking needs an active manager.
#[test]
fn start_tracking_needs_active() {
    let m = PendingManager::new();
    let err = m.start_tracking().unwrap_err();
    assert_eq!(err.kind(), InvalidStateKind::TrackerState);
    m.activate().unwrap();
    m.deactivate(false).unwrap();
    let err = m.start_tracking().unwrap_err();
    assert_eq!(err.kind(), InvalidStateKind::TrackerState);
}

// SPEC P3, T1: pendings created between start_tracking and stop_tracking are tracked, others not.
#[test]
fn pendings_created_while_bound_are_tracked() {
    let m = active_manager();
    let before: Pending<()> = Pending::new();
    let token = m.start_tracking().unwrap();
    let a: Pending<u8> = Pending::new();
    let b: Pending<String> = Pending::builder().build().unwrap();
    m.stop_tracking(token).unwrap();
    let after: Pending<()> = Pending::new();
    assert!(m.contains(&a.erase()));
    assert!(m.contains(&b.erase()));
    assert!(!m.contains(&before.erase()));
    assert!(!m.contains(&after.erase()));
    assert_eq!(m.pending().len(), 2);
}

// SPEC P3: allow_tracking(false) opts a new pending out of tracking.
#[test]
fn allow_tracking_false_opts_out() {
    let m = active_manager();
    let token = m.start_tracking().unwrap();
    let hidden: Pending<()> = Pending::builder().allow_tracking(false).build().unwrap();
    let seen: Pending<()> = Pending::builder().allow_tracking(true).build().unwrap();
    m.stop_tracking(token).unwrap();
    assert!(!m.contains(&hidden.erase()));
    assert!(m.contains(&seen.erase()));
}

// SPEC T3: a tracked pending leaves the set when it completes, however it completes.
#[test]
fn done_pendings_leave_the_set() {
    let m = active_manager();
    let token = m.start_tracking().unwrap();
    let ok: Pending<u8> = Pending::new();
    let failed: Pending<u8> = Pending::new();
    let cancelled: Pending<u8> = Pending::new();
    m.stop_tracking(token).unwrap();
    assert_eq!(m.pending().len(), 3);
    ok.set_result(1).unwrap();
    failed.set_exception("x").unwrap();
    cancelled.cancel(None);
    assert!(m.pending().is_empty());
}

// SPEC T3: track() ignores done and already tracked pendings and needs an active manager.
#[test]
fn track_ignores_done_and_duplicates_and_needs_active() {
    let idle = PendingManager::new();
    let pen: Pending<u8> = Pending::new();
    assert_eq!(
        idle.track(&pen).unwrap_err().kind(),
        InvalidStateKind::TrackerState
    );

    let m = active_manager();
    m.track(&pen).unwrap();
    m.track(pen.clone()).unwrap();
    assert_eq!(m.pending().len(), 1);
    let done: Pending<u8> = Pending::new();
    done.set_result(0).unwrap();
    m.track(&done).unwrap();
    assert!(!m.contains(&done.erase()));
}

// SPEC T3: discard removes a tracked pending (true) and is false otherwise; nothing is cancelled.
#[test]
fn discard_returns_whether_it_was_tracked() {
    let m = active_manager();
    let pen: Pending<u8> = Pending::new();
    m.track(&pen).unwrap();
    assert!(m.discard(&pen));
    assert!(!m.discard(&pen));
    assert!(!m.contains(&pen.erase()));
    // A discarded pending is not touched by deactivation.
    m.deactivate(true).unwrap();
    assert!(!pen.cancelled());
}

// SPEC T4: PendingManager::current() is the manager bound in this context, and only there.
#[test]
fn current_is_the_bound_manager() {
    let m = active_manager();
    assert!(PendingManager::current().is_none());
    let token = m.start_tracking().unwrap();
    assert_eq!(PendingManager::current(), Some(m.clone()));
    let seen_elsewhere = std::thread::spawn(|| PendingManager::current().is_some())
        .join()
        .unwrap();
    assert!(!seen_elsewhere, "another thread's context is not bound");
    m.stop_tracking(token).unwrap();
    assert!(PendingManager::current().is_none());
}

// SPEC T2: a context captured while bound tracks pendings created from it on another thread.
#[test]
fn captured_context_tracks_on_another_thread() {
    let m = active_manager();
    let token = m.start_tracking().unwrap();
    let ctx = Context::current();
    m.stop_tracking(token).unwrap();
    let (inside, outside) = std::thread::spawn(move || {
        let inside: Pending<()> = ctx.run(Pending::new);
        let outside: Pending<()> = Pending::new();
        (inside, outside)
    })
    .join()
    .unwrap();
    assert!(m.contains(&inside.erase()));
    assert!(!m.contains(&outside.erase()));
}

// SPEC T4: stop_tracking of a nested manager restores the outer one.
#[test]
fn nested_managers_unbind_in_order() {
    let outer = active_manager();
    let inner = active_manager();
    let t_outer = outer.start_tracking().unwrap();
    let t_inner = inner.start_tracking().unwrap();
    let p_inner: Pending<()> = Pending::new();
    inner.stop_tracking(t_inner).unwrap();
    let p_outer: Pending<()> = Pending::new();
    outer.stop_tracking(t_outer).unwrap();
    assert_eq!(PendingManager::current(), None);
    assert!(inner.contains(&p_inner.erase()));
    assert!(
        !outer.contains(&p_inner.erase()),
        "one slot per kind: the inner one wins"
    );
    assert!(outer.contains(&p_outer.erase()));
    assert!(!inner.contains(&p_outer.erase()));
}

// SPEC T1: a pending is tracked by a manager and a group at once.
#[test]
fn tracked_by_manager_and_group_at_once() {
    let m = active_manager();
    let token = m.start_tracking().unwrap();
    let both = futures::executor::block_on(guarded(PendingGroup::new().run(|g| async move {
        let p: Pending<u8> = Pending::new();
        let manager = PendingManager::current().expect("the manager is still bound");
        let r = (g.contains(&p.erase()), manager.contains(&p.erase()));
        p.set_result(0).unwrap();
        r
    })))
    .unwrap();
    m.stop_tracking(token).unwrap();
    assert_eq!(both, (true, true));
}

// SPEC T5: a manager ignores its members' failures: others keep running, it stays active.
#[test]
fn manager_ignores_member_failures() {
    let m = active_manager();
    let token = m.start_tracking().unwrap();
    let bad: Pending<()> = Pending::new();
    let good: Pending<()> = Pending::new();
    m.stop_tracking(token).unwrap();
    bad.set_exception("failure").unwrap();
    assert!(!good.cancelled());
    assert_eq!(m.state(), PendingTrackerState::Active);
    assert_eq!(m.pending(), vec![good.erase()]);
}
