//! After every caller has stopped, no iopub socket is left (SPEC C15). Alone in its binary so
//! that no other test's callers are in the map.
#![cfg(feature = "zmq")]

mod iopub_support;

use async_kernel::caller::Caller;
use async_kernel::iopub::{IopubForwarder, ZmqContext};
use iopub_support::{Client, caller_with, publish_sequence, shutdown};

#[test]
fn the_socket_map_is_empty_after_every_caller_stopped() {
    // SPEC C15: sockets closed on stop; the map lists none.
    let context = ZmqContext::new();
    let forwarder = IopubForwarder::bind(&context, "tcp://127.0.0.1:0").unwrap();
    let client = Client::subscribe(&forwarder);
    let callers: Vec<_> = (0..4)
        .map(|i| caller_with(&format!("iopub-closed-{i}"), &context))
        .collect();
    for (i, caller) in callers.iter().enumerate() {
        publish_sequence(caller, i, 10);
    }
    client.expect_in_order(4, 10);
    assert_eq!(Caller::iopub_sockets().len(), 4);
    for caller in &callers {
        shutdown(caller);
    }
    assert!(Caller::iopub_sockets().is_empty());
    forwarder.stop();
}
