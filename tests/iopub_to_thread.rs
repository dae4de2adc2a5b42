//! `to_thread` workers publish through the iopub forwarder like any caller (SPEC C11, C12, C15):
//! a worker is a child caller, so it inherits its parent's zmq context and opens its own socket.
#![cfg(all(feature = "zmq", feature = "tokio", feature = "smol"))]

mod iopub_support;

use std::collections::HashSet;

use async_kernel::caller::{Backend, Caller, CallerOptions, Modifier};
use async_kernel::iopub::{self, IopubError, IopubForwarder, ZmqContext};
use iopub_support::{Client, GUARD, shutdown};

/// Per backend: `JOBS` jobs at once on `JOBS` workers of one parent, each publishing `MESSAGES`
/// messages `[b"iopub", job, seq]` from its worker thread; a SUB over TCP receives them all, in
/// order per job.
fn workers_publish_through_the_forwarder(backend: Backend) {
    const JOBS: usize = 4;
    const MESSAGES: usize = 500;
    let context = ZmqContext::new();
    let forwarder = IopubForwarder::bind(&context, "tcp://127.0.0.1:0").unwrap();
    let client = Client::subscribe(&forwarder);
    let parent = Caller::new(
        Modifier::NewThread,
        CallerOptions::named(format!("iopub-pool-{backend}"))
            .backend(backend)
            .zmq_context(context.clone()),
    )
    .unwrap();
    // Every job waits at the barrier, so the JOBS jobs run on JOBS distinct workers.
    let gate = std::sync::Arc::new(std::sync::Barrier::new(JOBS));
    let jobs: Vec<_> = (0..JOBS)
        .map(|job| {
            let gate = gate.clone();
            parent
                .to_thread(move || {
                    gate.wait();
                    let worker = Caller::current().expect("a worker caller");
                    let index = job.to_string();
                    for seq in 0..MESSAGES {
                        iopub::publish([
                            &b"iopub"[..],
                            index.as_bytes(),
                            seq.to_string().as_bytes(),
                        ])?;
                    }
                    Ok::<_, IopubError>((worker, std::thread::current().id()))
                })
                .unwrap()
        })
        .collect();
    client.expect_in_order(JOBS, MESSAGES);
    let mut threads = HashSet::new();
    for job in &jobs {
        let (worker, thread) = job
            .wait_sync(Some(GUARD))
            .expect("the job ends")
            .expect("every message is published");
        // SPEC C11: the worker shares its parent's context, and has its own socket (C15).
        assert_eq!(worker.zmq_context(), Some(&context), "{backend}");
        assert_eq!(worker.backend(), backend);
        assert!(worker.has_iopub_socket(), "{backend}");
        assert_ne!(thread, parent.thread());
        threads.insert(thread);
    }
    assert_eq!(threads.len(), JOBS, "{backend}: one worker per job");
    assert!(
        threads
            .iter()
            .all(|t| Caller::iopub_sockets().contains_key(t))
    );
    shutdown(&parent);
    // SPEC C6, C15: stopping the parent stops its workers, whose sockets close.
    let sockets = Caller::iopub_sockets();
    assert!(
        threads.iter().all(|t| !sockets.contains_key(t)),
        "{backend}"
    );
    forwarder.stop();
}

#[test]
fn to_thread_workers_publish_through_the_forwarder_on_tokio() {
    // SPEC C11, C12, C15; IOPUB-NOLOSS, IOPUB-ORDER
    workers_publish_through_the_forwarder(Backend::Tokio);
}

#[test]
fn to_thread_workers_publish_through_the_forwarder_on_smol() {
    // SPEC C11, C12, C15; IOPUB-NOLOSS, IOPUB-ORDER
    workers_publish_through_the_forwarder(Backend::Smol);
}
