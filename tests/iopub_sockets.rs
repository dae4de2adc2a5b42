//! Which callers have an iopub socket, and when (SPEC C15, C11).
#![cfg(feature = "zmq")]

mod iopub_support;

use async_kernel::caller::{Caller, CallerOptions, Modifier};
use async_kernel::iopub::{self, IopubError, IopubForwarder, ZmqContext};
use iopub_support::{Client, GUARD, caller_with, publish_sequence, shutdown};

fn running(caller: &Caller) {
    caller
        .call_soon(|| ())
        .unwrap()
        .wait_sync(Some(GUARD))
        .unwrap();
}

#[test]
fn a_running_caller_with_a_context_has_a_socket_until_it_stops() {
    // SPEC C15: listed under its thread while it runs, closed on stop.
    let context = ZmqContext::new();
    let caller = caller_with("iopub-listed", &context);
    running(&caller);
    assert_eq!(caller.zmq_context(), Some(&context));
    assert!(caller.has_iopub_socket());
    assert_eq!(Caller::iopub_sockets()[&caller.thread()], "iopub-listed");
    let thread = caller.thread();
    shutdown(&caller);
    assert!(!caller.has_iopub_socket());
    assert!(!Caller::iopub_sockets().contains_key(&thread));
}

#[test]
fn the_socket_belongs_to_the_callers_thread() {
    // SPEC C15: code on the caller's thread publishes; another thread has no socket.
    let context = ZmqContext::new();
    let caller = caller_with("iopub-own-thread", &context);
    let from_caller = caller
        .call_soon(|| iopub::with_socket(|socket| socket.get_linger().unwrap()))
        .unwrap()
        .wait_sync(Some(GUARD))
        .unwrap();
    // SPEC C15: linger 50 ms.
    assert_eq!(from_caller.unwrap(), 50);
    assert!(matches!(
        iopub::publish([b"iopub"]),
        Err(IopubError::NoSocket)
    ));
    shutdown(&caller);
}

#[test]
fn a_caller_without_a_context_has_no_socket() {
    // SPEC C15: no context, no socket.
    let caller = Caller::new(Modifier::NewThread, CallerOptions::named("iopub-none")).unwrap();
    let outcome = caller
        .call_soon(|| iopub::publish([b"iopub"]))
        .unwrap()
        .wait_sync(Some(GUARD))
        .unwrap();
    assert!(matches!(outcome, Err(IopubError::NoSocket)));
    assert_eq!(caller.zmq_context(), None);
    assert!(!caller.has_iopub_socket());
    assert!(!Caller::iopub_sockets().contains_key(&caller.thread()));
    shutdown(&caller);
}

#[test]
fn children_share_the_parents_context_and_publish_through_it() {
    // SPEC C11: a child inherits the zmq context; SPEC C15: it has its own socket.
    let context = ZmqContext::new();
    let forwarder = IopubForwarder::bind(&context, "tcp://127.0.0.1:0").unwrap();
    let client = Client::subscribe(&forwarder);
    let parent = caller_with("iopub-parent", &context);
    let child = parent.get(CallerOptions::named("iopub-child")).unwrap();
    let grandchild = child.get(CallerOptions::named("iopub-grandchild")).unwrap();
    assert_eq!(child.zmq_context(), Some(&context));
    assert_eq!(grandchild.zmq_context(), Some(&context));
    publish_sequence(&grandchild, 0, 100);
    client.expect_in_order(1, 100);
    running(&child);
    assert!(child.has_iopub_socket());
    assert_ne!(child.thread(), parent.thread());
    let threads = [parent.thread(), child.thread(), grandchild.thread()];
    shutdown(&parent);
    let sockets = Caller::iopub_sockets();
    assert!(threads.iter().all(|t| !sockets.contains_key(t)));
    forwarder.stop();
}

#[test]
fn a_child_given_its_own_context_keeps_it() {
    // SPEC C11: only a context that is not given is inherited.
    let parent_context = ZmqContext::new();
    let own = ZmqContext::new();
    let parent = caller_with("iopub-parent-own", &parent_context);
    let child = parent
        .get(CallerOptions::named("iopub-child-own").zmq_context(own.clone()))
        .unwrap();
    assert_eq!(child.zmq_context(), Some(&own));
    assert_ne!(child.zmq_context(), parent.zmq_context());
    shutdown(&parent);
}

#[test]
fn a_manual_caller_has_a_socket_while_it_runs() {
    // SPEC C15: a caller entered on an existing thread has the socket on that thread, for as
    // long as it runs.
    let context = ZmqContext::new();
    let options = CallerOptions::named("iopub-manual")
        .backend(async_kernel::Backend::Tokio)
        .zmq_context(context);
    let caller = Caller::new(Modifier::Manual, options).unwrap();
    let inside = caller
        .run(|caller| async move { (caller.has_iopub_socket(), iopub::publish([b"iopub"])) })
        .unwrap();
    assert!(inside.0);
    assert!(inside.1.is_ok());
    assert!(!caller.has_iopub_socket());
    assert!(matches!(
        iopub::publish([b"iopub"]),
        Err(IopubError::NoSocket)
    ));
}

#[test]
fn publishing_inside_with_socket_is_an_error() {
    // IOPUB-SOCKET: the thread's socket is used by one piece of code at a time; nesting is
    // reported, not a panic.
    let context = ZmqContext::new();
    let caller = caller_with("iopub-nested", &context);
    let nested = caller
        .call_soon(|| iopub::with_socket(|_| iopub::publish([b"iopub"])))
        .unwrap()
        .wait_sync(Some(GUARD))
        .unwrap();
    assert!(matches!(nested, Ok(Err(IopubError::InUse))));
    shutdown(&caller);
}
