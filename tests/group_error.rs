//! A failed group reports the failure: the first member's error through `source()`, every
//! member failure in the `GroupError`, no addresses (issue 6, point 6; BEHAVIOUR G2).

mod common;

use std::error::Error as _;

use async_kernel::caller::Fallible;
use async_kernel::{Pending, PendingError, PendingGroup};

use common::{T, new_caller, run, shutdown};

#[derive(Debug)]
struct DiskFull;

impl std::fmt::Display for DiskFull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("disk full")
    }
}

impl std::error::Error for DiskFull {}

// BEHAVIOUR G2: the group's error carries the member's own error as its source.
#[test]
fn the_groups_error_carries_the_members_error() {
    let out = run(PendingGroup::new().run(|_| async move {
        let bad: Pending<u8> = Pending::builder()
            .metadata("name", "writer")
            .build()
            .unwrap();
        bad.set_exception(DiskFull).unwrap();
        std::future::pending::<()>().await;
    }));
    let err = out.unwrap_err();
    let group = err.group().expect("a group failure");
    assert_eq!(err.to_string(), "a member of the pending group failed");
    let source = err.source().expect("the member's error");
    assert_eq!(source.to_string(), "disk full");
    assert!(source.downcast_ref::<DiskFull>().is_some());
    assert!(matches!(group.first(), PendingError::Failed(_)));
    // The message the other members got names the member and its error, with no address.
    let msg = err.cancel_message().unwrap();
    assert!(msg.contains("writer") && msg.contains("disk full"), "{msg}");
    assert!(!msg.contains("0x"), "{msg}");
    assert!(!format!("{err}").contains("0x"));
}

// BEHAVIOUR G2: every member failure is available, the first first.
#[test]
fn every_member_failure_is_listed() {
    let out = run(PendingGroup::new().run(|_| async move {
        let a: Pending<u8> = Pending::new();
        a.set_exception("first").unwrap();
        // Made after the group cancelled itself (the body runs on to its next await point),
        // so nothing cancelled it: it fails too.
        let b: Pending<u8> = Pending::new();
        b.set_exception("second").unwrap();
    }));
    let err = out.unwrap_err();
    let texts: Vec<String> = err
        .group()
        .unwrap()
        .failures()
        .iter()
        .map(|e| e.source().unwrap().to_string())
        .collect();
    assert_eq!(texts, ["first", "second"]);
    assert_eq!(err.to_string(), "2 members of the pending group failed");
    assert_eq!(err.source().unwrap().to_string(), "first");
}

// BEHAVIOUR G2, C9: a scheduled call that fails inside a caller's group reports its error.
#[test]
fn a_failing_scheduled_call_reports_its_error_through_the_group() {
    let caller = new_caller("group-error");
    let c = caller.clone();
    let out = caller
        .call_soon(async_kernel::caller::Async(move || async move {
            c.create_pending_group(false)
                .run(|_| async move {
                    let _bad = c
                        .call_soon(Fallible(|| Err::<(), _>("bad thing happened")))
                        .unwrap();
                    std::future::pending::<()>().await
                })
                .await
        }))
        .unwrap();
    let err = out.wait_sync(T).unwrap().unwrap_err();
    assert_eq!(err.source().unwrap().to_string(), "bad thing happened");
    // BEHAVIOUR CX4: the message names the member by the function that wrote its closure.
    let msg = err.cancel_message().unwrap();
    assert!(
        msg.contains(
            "func=group_error::a_failing_scheduled_call_reports_its_error_through_the_group,"
        ),
        "{msg}"
    );
    assert!(!msg.contains("{{closure}}"), "{msg}");
    shutdown(&caller);
}

// BEHAVIOUR G2: a member that is cancelled (not failed) still cancels the group, as a
// cancellation naming the member.
#[test]
fn a_cancelled_member_reports_a_cancellation() {
    let out = run(PendingGroup::new().run(|_| async move {
        let victim: Pending<u8> = Pending::builder()
            .metadata("name", "victim")
            .build()
            .unwrap();
        victim.cancel(Some("user pressed stop"));
        std::future::pending::<()>().await;
    }));
    let err = out.unwrap_err();
    assert!(err.is_cancelled());
    let msg = err.cancel_message().unwrap();
    assert!(
        msg.contains("victim") && msg.contains("user pressed stop"),
        "{msg}"
    );
}
