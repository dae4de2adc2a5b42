// Included by tests/caller_children.rs once per backend; `BACKEND` is defined there.

use async_kernel::caller::{
    Backend, BackendOptions, Caller, CallerError, CallerOptions, CallerState, Modifier,
    TokioOptions,
};

use crate::common::{T, block, new_caller_on, other_backend, shutdown};

#[test]
fn get_by_name_returns_the_same_child() {
    // SPEC C11
    let parent = new_caller_on(BACKEND, "kids-same");
    let a = parent.get(CallerOptions::named("kids-same-child")).unwrap();
    let b = parent.get(CallerOptions::named("kids-same-child")).unwrap();
    assert_eq!(a, b);
    assert_eq!(
        parent.children().iter().filter(|c| **c == a).count(),
        1,
        "one child, listed once"
    );
    shutdown(&parent);
}

#[test]
fn get_without_a_name_makes_a_new_child_each_time() {
    // SPEC C11
    let parent = new_caller_on(BACKEND, "kids-unnamed");
    let a = parent.get(CallerOptions::default()).unwrap();
    let b = parent.get(CallerOptions::default()).unwrap();
    assert_ne!(a, b);
    assert_eq!(a.name(), "async_kernel_caller");
    let children = parent.children();
    assert!(children.contains(&a) && children.contains(&b));
    shutdown(&parent);
}

#[test]
fn get_by_name_with_another_backend_is_backend_mismatch() {
    // SPEC C11
    let parent = new_caller_on(BACKEND, "kids-mismatch");
    let child = parent
        .get(CallerOptions::named("kids-mismatch-child"))
        .unwrap();
    let other = other_backend(BACKEND);
    match parent.get(CallerOptions::named("kids-mismatch-child").backend(other)) {
        Err(CallerError::BackendMismatch {
            caller,
            existing,
            requested,
        }) => {
            assert_eq!(caller, "kids-mismatch-child");
            assert_eq!(existing, BACKEND);
            assert_eq!(requested, other);
        }
        other => panic!("expected BackendMismatch, got {other:?}"),
    }
    assert_eq!(parent.children(), vec![child]);
    shutdown(&parent);
}

#[test]
fn a_new_child_inherits_backend_and_backend_options() {
    // SPEC C11
    let options = match BACKEND {
        Backend::Tokio => BackendOptions::Tokio(TokioOptions {
            enable_io: false,
            event_interval: Some(11),
            thread_stack_size: None,
        }),
        Backend::Smol => BackendOptions::Default,
    };
    let parent = Caller::new(
        Modifier::NewThread,
        CallerOptions::named("kids-inherit")
            .backend(BACKEND)
            .backend_options(options.clone()),
    )
    .unwrap();
    let child = parent
        .get(CallerOptions::named("kids-inherit-child"))
        .unwrap();
    assert_eq!(child.backend(), BACKEND);
    assert_eq!(child.backend_options(), &options);
    assert!(child.zmq_context().is_none());
    assert_eq!(child.call_soon(|| 1).unwrap().wait_sync(T).unwrap(), 1);
    let pen = child
        .call_soon(async_kernel::caller::Async(|| async { 4 }))
        .unwrap();
    assert_eq!(pen.wait_sync(T).unwrap(), 4);
    shutdown(&parent);
}

#[test]
fn a_new_child_runs_on_a_new_thread_named_after_it() {
    // SPEC C11, C1
    let parent = new_caller_on(BACKEND, "kids-thread");
    let child = parent
        .get(CallerOptions::named("kids-thread-child"))
        .unwrap();
    let name = child
        .call_soon(|| std::thread::current().name().map(str::to_owned))
        .unwrap()
        .wait_sync(T)
        .unwrap();
    assert_eq!(name.as_deref(), Some("kids-thread-child"));
    assert_ne!(child.thread(), parent.thread());
    shutdown(&parent);
}

#[test]
fn children_lists_the_new_child() {
    // SPEC C14
    let parent = new_caller_on(BACKEND, "kids-list");
    assert!(parent.children().is_empty());
    let child = parent.get(CallerOptions::named("kids-list-child")).unwrap();
    assert_eq!(parent.children(), vec![child]);
    shutdown(&parent);
}

#[test]
fn parent_of_a_child_is_the_caller_that_made_it() {
    // SPEC C14
    let parent = new_caller_on(BACKEND, "kids-parent");
    let child = parent
        .get(CallerOptions::named("kids-parent-child"))
        .unwrap();
    assert_eq!(child.parent(), Some(parent.clone()));
    assert_eq!(
        parent.parent(),
        None,
        "a caller made with new has no parent"
    );
    shutdown(&parent);
}

#[test]
fn parent_is_none_once_the_parent_stopped() {
    // SPEC C14
    let parent = new_caller_on(BACKEND, "kids-parent-gone");
    let child = parent
        .get(CallerOptions::named("kids-parent-gone-child"))
        .unwrap();
    parent.stop(false);
    parent.join().unwrap();
    assert_eq!(child.parent(), None);
}

#[test]
fn children_stop_with_their_parent_even_when_protected() {
    // SPEC C6, C11
    let parent = new_caller_on(BACKEND, "kids-protected");
    let child = parent
        .get(CallerOptions::named("kids-protected-child").protected(true))
        .unwrap();
    assert!(child.protected());
    child.call_soon(|| ()).unwrap().wait_sync(T).unwrap();
    assert_eq!(
        child.stop(false),
        CallerState::Running,
        "protected on its own"
    );
    parent.stop(false);
    parent.join().unwrap();
    assert_eq!(child.state(), CallerState::Stopped);
    assert!(child.stopped().is_set());
}

#[test]
fn a_childs_child_is_not_the_parents_child() {
    // SPEC C11
    let parent = new_caller_on(BACKEND, "kids-grand");
    let child = parent
        .get(CallerOptions::named("kids-grand-child"))
        .unwrap();
    let grandchild = child
        .get(CallerOptions::named("kids-grand-grandchild"))
        .unwrap();
    assert!(!parent.children().contains(&grandchild));
    assert_eq!(child.children(), vec![grandchild.clone()]);
    assert_eq!(grandchild.parent(), Some(child.clone()));
    // Looking it up by name on the parent makes a new child instead.
    let other = parent
        .get(CallerOptions::named("kids-grand-grandchild"))
        .unwrap();
    assert_ne!(other, grandchild);
    shutdown(&parent);
    assert_eq!(grandchild.state(), CallerState::Stopped);
}

#[test]
fn a_stopped_child_leaves_its_parents_children() {
    // SPEC C14 (children lists children that have not stopped)
    let parent = new_caller_on(BACKEND, "kids-leave");
    let child = parent
        .get(CallerOptions::named("kids-leave-child"))
        .unwrap();
    child.stop(false);
    child.join().unwrap();
    assert!(!parent.children().contains(&child));
    assert_eq!(child.parent(), Some(parent.clone()));
    shutdown(&parent);
}

#[test]
fn the_parent_is_stopped_only_after_its_children_stopped() {
    // SPEC C6
    let parent = new_caller_on(BACKEND, "kids-order");
    let child = parent
        .get(CallerOptions::named("kids-order-child"))
        .unwrap();
    let (_blocker, release) = block(&child);
    parent.stop(false);
    // The child is stuck in a call, so the parent cannot be stopped yet.
    assert!(!parent.stopped().is_set());
    assert_ne!(parent.state(), CallerState::Stopped);
    drop(release);
    parent.join().unwrap();
    assert_eq!(child.state(), CallerState::Stopped);
    assert!(parent.stopped().is_set());
}

#[test]
fn get_on_a_stopped_caller_is_not_accepting() {
    // SPEC C7, C11
    let parent = new_caller_on(BACKEND, "kids-after-stop");
    parent.stop(false);
    parent.join().unwrap();
    let result = parent.get(CallerOptions::named("kids-after-stop-child"));
    assert!(
        matches!(result, Err(CallerError::NotAccepting { .. })),
        "{result:?}"
    );
}
