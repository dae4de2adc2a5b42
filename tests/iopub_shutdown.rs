//! Stopping callers, forwarders and the context never hangs (SPEC C15 and the beyond-reference
//! rules IOPUB-LINGER, IOPUB-FORWARDER, IOPUB-NO-FORWARDER).
#![cfg(feature = "zmq")]

mod iopub_support;

use std::time::{Duration, Instant};

use async_kernel::caller::Caller;
use async_kernel::iopub::{self, IopubForwarder, LINGER, ZmqContext};
use iopub_support::{
    Client, GUARD, caller_with, publish_sequence, sent, shutdown, start_sequence, within_guard,
};

#[test]
fn a_forwarder_without_subscribers_stops_and_frees_its_endpoint() {
    // IOPUB-FORWARDER: stop joins the forwarder's thread; the endpoint can be bound again.
    let context = ZmqContext::new();
    let forwarder = IopubForwarder::bind(&context, "tcp://127.0.0.1:0").unwrap();
    assert!(forwarder.port() > 0);
    assert!(
        forwarder
            .endpoint()
            .ends_with(&format!(":{}", forwarder.port()))
    );
    assert!(!forwarder.has_subscriber());
    // A second forwarder in the same context cannot bind the iopub endpoint.
    assert!(IopubForwarder::bind(&context, "tcp://127.0.0.1:0").is_err());
    let forwarder = within_guard("stopping a forwarder", move || {
        forwarder.stop();
        forwarder
    });
    forwarder.stop(); // again: nothing
    drop(forwarder);
    let again = IopubForwarder::bind(&context, "tcp://127.0.0.1:0").unwrap();
    within_guard("dropping a forwarder", move || drop(again));
    within_guard("terminating the context", move || drop(context));
}

#[test]
fn a_caller_publishes_and_stops_while_the_forwarder_is_gone() {
    // IOPUB-NO-FORWARDER: without a forwarder messages are discarded, publishing does not
    // block, and the caller stops.
    let context = ZmqContext::new();
    let forwarder = IopubForwarder::bind(&context, "tcp://127.0.0.1:0").unwrap();
    let client = Client::subscribe(&forwarder);
    let caller = caller_with("iopub-orphan", &context);
    publish_sequence(&caller, 0, 100);
    client.expect_in_order(1, 100);
    forwarder.stop();
    publish_sequence(&caller, 0, 10_000);
    assert!(caller.has_iopub_socket());
    let thread = caller.thread();
    let caller = within_guard("stopping the caller", move || {
        shutdown(&caller);
        caller
    });
    assert!(!Caller::iopub_sockets().contains_key(&thread));
    drop(caller);
    within_guard("terminating the context", move || drop(context));
}

#[test]
fn a_caller_without_any_forwarder_starts_and_stops() {
    // IOPUB-NO-FORWARDER: a caller does not wait for a forwarder that does not exist.
    let context = ZmqContext::new();
    let caller = caller_with("iopub-alone", &context);
    let caller = within_guard("publishing without a forwarder", move || {
        publish_sequence(&caller, 0, 1_000);
        shutdown(&caller);
        caller
    });
    drop(caller);
    within_guard("terminating the context", move || drop(context));
}

#[test]
fn shutdown_with_unsent_data_finishes_within_the_linger() {
    // SPEC C15 (linger 50 ms); IOPUB-LINGER: a subscriber that does not read never holds up
    // the end of the process: every socket closes and the context terminates.
    const MESSAGES: usize = 400;
    let context = ZmqContext::new();
    let forwarder = IopubForwarder::bind(&context, "tcp://127.0.0.1:0").unwrap();
    // Receives at most one message into its queue, then never reads: the rest stays queued in
    // the forwarder (tens of MiB, beyond what the TCP buffers hold).
    let stuck = Client::connect(&forwarder, 1);
    assert!(forwarder.wait_for_subscriber(Some(GUARD)));
    let caller = caller_with("iopub-unsent", &context);
    let payload = vec![7u8; 64 * 1024];
    let publishing = caller
        .call_soon(move || {
            for _ in 0..MESSAGES {
                iopub::publish([&b"iopub"[..], &payload])?;
            }
            Ok(())
        })
        .unwrap();
    sent(&publishing);
    let started = Instant::now();
    within_guard("shutting down with unsent data", move || {
        shutdown(&caller);
        drop(caller);
        forwarder.stop();
        drop(forwarder);
        drop(context);
    });
    let took = started.elapsed();
    // Generous: the linger is 50 ms; a socket without one would wait for the reader forever.
    assert!(took < GUARD, "shutdown took {took:?} (linger {LINGER:?})");
    drop(stuck);
}

#[test]
fn stopping_forwards_what_callers_sent_and_flushes_it() {
    // IOPUB-FORWARDER: stop_with_linger forwards what callers sent and gives the TCP
    // subscribers that long to receive it.
    let context = ZmqContext::new();
    let forwarder = IopubForwarder::bind(&context, "tcp://127.0.0.1:0").unwrap();
    let client = Client::subscribe(&forwarder);
    let caller = caller_with("iopub-flush", &context);
    sent(&start_sequence(&caller, 0, 5_000));
    shutdown(&caller);
    drop(caller);
    forwarder.stop_with_linger(Some(Duration::from_secs(5)));
    drop(forwarder);
    // Terminating the context waits for the TCP socket to flush (or the linger to end).
    within_guard("terminating the context", move || drop(context));
    client.expect_in_order(1, 5_000);
}

#[test]
fn a_forwarder_stops_while_callers_keep_publishing() {
    // IOPUB-FORWARDER: a stop ends although callers go on publishing.
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let context = ZmqContext::new();
    let forwarder = IopubForwarder::bind(&context, "tcp://127.0.0.1:0").unwrap();
    let client = Client::subscribe(&forwarder);
    let caller = caller_with("iopub-busy", &context);
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let done = Arc::new(AtomicBool::new(false));
    let keep_going = done.clone();
    let publishing = caller
        .call_soon(move || {
            let mut sent = 0u64;
            while !keep_going.load(Ordering::Relaxed) {
                iopub::publish([&b"iopub"[..], b"0", sent.to_string().as_bytes()])?;
                if sent == 0 {
                    let _ = started_tx.send(());
                }
                sent += 1;
            }
            Ok(())
        })
        .unwrap();
    started_rx.recv_timeout(GUARD).unwrap();
    client.recv();
    let forwarder = within_guard("stopping a busy forwarder", move || {
        forwarder.stop();
        forwarder
    });
    done.store(true, Ordering::Relaxed);
    sent(&publishing);
    shutdown(&caller);
    drop((forwarder, caller));
    within_guard("terminating the context", move || drop(context));
}

#[test]
fn a_forwarder_that_cannot_bind_its_port_leaves_the_iopub_endpoint_free() {
    // IOPUB-FORWARDER: a failed bind takes nothing; callers reach the next forwarder.
    let busy_context = ZmqContext::new();
    let busy = IopubForwarder::bind(&busy_context, "tcp://127.0.0.1:0").unwrap();
    let context = ZmqContext::new();
    let caller = caller_with("iopub-retry", &context);
    publish_sequence(&caller, 0, 10); // discarded: no forwarder yet
    let taken = format!("tcp://127.0.0.1:{}", busy.port());
    assert!(IopubForwarder::bind(&context, &taken).is_err());
    let forwarder = IopubForwarder::bind(&context, "tcp://127.0.0.1:0").unwrap();
    let client = Client::subscribe(&forwarder);
    publish_sequence(&caller, 0, 100);
    client.expect_in_order(1, 100);
    shutdown(&caller);
    forwarder.stop();
    busy.stop();
}
