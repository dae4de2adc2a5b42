//! A panicking canceller is contained also when a caller's code cancels: a group running on a
//! caller cancels a member whose canceller panics, and the member, the group and the caller all
//! end or go on as usual, on every backend (issue 6, point 9).

mod common;

use async_kernel::caller::{Async, Fallible};
use async_kernel::{Pending, PendingError};
use common::{T, backends, new_caller_on, shutdown};

// BEHAVIOUR P6, G2, CX2: the group cancels its members on the caller's thread; the member's
// canceller panics there. The member ends cancelled, the group reports the failure, and the
// caller serves the next call.
#[test]
fn a_group_on_a_caller_cancelling_a_member_whose_canceller_panics() {
    for backend in backends() {
        let caller = new_caller_on(backend, "canceller-panic");
        let (member_tx, member_rx) = std::sync::mpsc::channel::<Pending<u8>>();
        let worker = caller.clone();
        let group = caller
            .call_soon(Async(move || async move {
                let group = worker.create_pending_group(false);
                let inner = worker.clone();
                group
                    .run(move |_pg| async move {
                        // Tracked by the group: it is made in the group's context.
                        let member: Pending<u8> = Pending::new();
                        member.set_canceller(|_| panic!("canceller bug")).unwrap();
                        member_tx.send(member.clone()).unwrap();
                        let _bad = inner
                            .call_soon(Fallible(|| Err::<u8, _>(std::io::Error::other("bad"))))
                            .unwrap();
                        std::future::pending::<()>().await
                    })
                    .await
            }))
            .unwrap();
        let out = group.wait_sync(T).unwrap();
        let member = member_rx.recv().unwrap();
        match out {
            Err(PendingError::GroupFailed(g)) => {
                assert_eq!(g.failures().len(), 1, "{backend}: {g:?}");
            }
            other => panic!("{backend}: expected the group to fail, got {other:?}"),
        }
        assert!(member.done(), "{backend}: the member did not end");
        assert!(
            member.cancelled(),
            "{backend}: the member was not cancelled"
        );
        // The caller goes on.
        assert!(caller.running(), "{backend}");
        assert_eq!(caller.call_soon(|| 5).unwrap().wait_sync(T).unwrap(), 5);
        shutdown(&caller);
    }
}
