//! Delivery through the iopub forwarder to a real SUB client over TCP (SPEC C15, and the
//! beyond-reference rules IOPUB-NOLOSS, IOPUB-ORDER, IOPUB-LATE-FORWARDER).
#![cfg(feature = "zmq")]

mod iopub_support;

use async_kernel::iopub::{IopubForwarder, ZmqContext};
use iopub_support::{Client, caller_with, publish_sequence, sent, shutdown, start_sequence};

#[test]
fn eight_callers_ten_thousand_messages_each_arrive_in_order() {
    // SPEC C15; IOPUB-NOLOSS (nothing lost once a caller runs, no high-water mark drops a
    // burst); IOPUB-ORDER (one caller's messages arrive in order).
    const THREADS: usize = 8;
    const MESSAGES: usize = 10_000;
    let context = ZmqContext::new();
    let forwarder = IopubForwarder::bind(&context, "tcp://127.0.0.1:0").unwrap();
    let client = Client::subscribe(&forwarder);
    // Each caller's first call, queued before its loop starts, publishes: it runs right
    // after the caller's socket connects, so only the wait for the forwarder's subscription
    // during the start keeps the first messages.
    let callers: Vec<_> = (0..THREADS)
        .map(|i| caller_with(&format!("iopub-burst-{i}"), &context))
        .collect();
    let publishing: Vec<_> = callers
        .iter()
        .enumerate()
        .map(|(i, caller)| start_sequence(caller, i, MESSAGES))
        .collect();
    client.expect_in_order(THREADS, MESSAGES);
    for pending in &publishing {
        sent(pending);
    }
    for caller in &callers {
        shutdown(caller);
    }
    forwarder.stop();
}

#[test]
fn a_caller_started_before_the_forwarder_reaches_it() {
    // IOPUB-LATE-FORWARDER: a caller that connected before any forwarder was bound delivers
    // everything it publishes once one is.
    let context = ZmqContext::new();
    let caller = caller_with("iopub-early", &context);
    assert!(
        caller
            .call_soon(|| ())
            .unwrap()
            .wait_sync(Some(iopub_support::GUARD))
            .is_ok()
    );
    assert!(caller.has_iopub_socket());
    let forwarder = IopubForwarder::bind(&context, "tcp://127.0.0.1:0").unwrap();
    let client = Client::subscribe(&forwarder);
    publish_sequence(&caller, 0, 1_000);
    client.expect_in_order(1, 1_000);
    shutdown(&caller);
}

#[test]
fn a_new_forwarder_receives_from_running_callers() {
    // IOPUB-LATE-FORWARDER: after a forwarder stops and another binds, running callers
    // reconnect to the new one and lose nothing.
    let context = ZmqContext::new();
    let first = IopubForwarder::bind(&context, "tcp://127.0.0.1:0").unwrap();
    let caller = caller_with("iopub-rebind", &context);
    let client = Client::subscribe(&first);
    publish_sequence(&caller, 0, 100);
    client.expect_in_order(1, 100);
    first.stop();

    let second = IopubForwarder::bind(&context, "tcp://127.0.0.1:0").unwrap();
    let client = Client::subscribe(&second);
    publish_sequence(&caller, 0, 1_000);
    client.expect_in_order(1, 1_000);
    shutdown(&caller);
    second.stop();
}

#[test]
fn subscriptions_filter_at_the_forwarder() {
    // IOPUB-FORWARDER: a client's subscription flows through the forwarder; it receives only
    // the topics it subscribed to.
    let context = ZmqContext::new();
    let forwarder = IopubForwarder::bind(&context, "tcp://127.0.0.1:0").unwrap();
    let client_context = zmq::Context::new();
    let client = client_context.socket(zmq::SUB).unwrap();
    client.set_linger(0).unwrap();
    client
        .set_rcvtimeo(iopub_support::GUARD.as_millis() as i32)
        .unwrap();
    client.connect(forwarder.endpoint()).unwrap();
    client.set_subscribe(b"stream").unwrap();
    assert!(forwarder.wait_for_subscriber(Some(iopub_support::GUARD)));
    let caller = caller_with("iopub-filter", &context);
    caller
        .call_soon(|| {
            async_kernel::iopub::publish([&b"status"[..], b"busy"])?;
            async_kernel::iopub::publish([&b"stream"[..], b"hello"])
        })
        .unwrap()
        .wait_sync(Some(iopub_support::GUARD))
        .unwrap()
        .unwrap();
    let parts = client.recv_multipart(0).unwrap();
    assert_eq!(parts, vec![b"stream".to_vec(), b"hello".to_vec()]);
    shutdown(&caller);
    forwarder.stop();
}

#[cfg(feature = "smol")]
#[test]
fn a_smol_caller_publishes_like_a_tokio_one() {
    // SPEC C15: the socket belongs to the caller's loop, whatever its backend.
    let context = ZmqContext::new();
    let forwarder = IopubForwarder::bind(&context, "tcp://127.0.0.1:0").unwrap();
    let client = Client::subscribe(&forwarder);
    let options = async_kernel::CallerOptions::named("iopub-smol")
        .backend(async_kernel::Backend::Smol)
        .zmq_context(context.clone());
    let caller = async_kernel::Caller::new(async_kernel::Modifier::NewThread, options).unwrap();
    sent(&start_sequence(&caller, 0, 1_000));
    client.expect_in_order(1, 1_000);
    shutdown(&caller);
    forwarder.stop();
}
