//! A group made by `caller.create_pending_group(..)` reports that caller from any thread
//! (issue 6, point 11; BEHAVIOUR W5).

mod common;

use async_kernel::PendingGroup;

use async_kernel::Backend;
use common::{backends, new_caller_on, shutdown};

// BEHAVIOUR W5: the group's caller is fixed when the group is made.
#[test]
fn a_group_reports_its_caller_from_any_thread() {
    for backend in backends() {
        a_group_reports_its_caller_from_any_thread_on(backend);
    }
}

fn a_group_reports_its_caller_from_any_thread_on(backend: Backend) {
    let caller = new_caller_on(backend, "group-owner");
    let pg = caller.create_pending_group(false);
    assert_eq!(
        pg.caller().map(|c| c.name().to_owned()).as_deref(),
        Some("group-owner")
    );
    let elsewhere = std::thread::spawn({
        let pg = pg.clone();
        move || pg.caller().map(|c| c.name().to_owned())
    })
    .join()
    .unwrap();
    assert_eq!(elsewhere.as_deref(), Some("group-owner"));
    // A plain group made on a thread without a caller has none, from anywhere.
    assert!(PendingGroup::new().caller().is_none());
    shutdown(&caller);
}
