//! A `to_thread` call that waited for a free worker (the pool at its cap) is refused, like any
//! other call, when its job blocks on its own pending: the worker that runs it is its runner
//! from the moment it is handed over (BEHAVIOUR P11, C13).

use std::sync::mpsc;
use std::time::Duration;

use async_kernel::caller::{Caller, CallerOptions, Modifier};
use async_kernel::{InvalidStateKind, Pending, PendingError};

const T: Option<Duration> = Some(Duration::from_secs(5));

// BEHAVIOUR P11: a job that waited for a worker and then blocks on its own pending gets
// `WouldDeadlock` at once (before, its runner stayed unknown and the wait only timed out).
#[test]
fn a_waiting_to_thread_call_cannot_block_on_its_own_pending() {
    let caller = Caller::new(Modifier::NewThread, CallerOptions::named("pool-self-wait")).unwrap();
    caller.pool().set_max_workers(Some(1));

    // Occupy the only worker until told to go.
    let (release, released) = mpsc::channel::<()>();
    let first = caller.to_thread(move || released.recv().unwrap()).unwrap();

    // The second call finds the pool full and waits for the worker.
    let (send_self, own) = mpsc::channel::<Pending<String>>();
    let second = caller
        .to_thread(move || {
            let me = own.recv().unwrap();
            // With the runner unset this wait would time out after the full second.
            match me.wait_sync(Some(Duration::from_secs(1))) {
                Err(PendingError::InvalidState(e)) => format!("{:?}", e.kind()),
                Err(other) => format!("other error: {other}"),
                Ok(v) => format!("a value: {v}"),
            }
        })
        .unwrap();
    assert_eq!(
        caller.pool().waiting(),
        1,
        "the second call waits for the worker"
    );
    // BEHAVIOUR CX4: no caller has it yet, so its metadata names none (not `#0`).
    let keys: Vec<String> = second
        .metadata()
        .iter()
        .map(|(k, _)| k.to_owned())
        .collect();
    assert_eq!(keys, ["func"], "{second:?}");
    send_self.send(second.clone()).unwrap();
    release.send(()).unwrap();
    first.wait_sync(T).unwrap();

    let out = second.wait_sync(T).unwrap();
    assert_eq!(out, format!("{:?}", InvalidStateKind::WouldDeadlock));
    // Once a worker took it, the metadata names that worker.
    let named = match second.metadata().get("caller") {
        Some(async_kernel::MetaValue::Str(s)) => s.to_string(),
        other => panic!("expected the worker's name, got {other:?}"),
    };
    assert!(named.starts_with("pool-self-wait-worker"), "{named}");
    caller.stop(false);
    caller.join().unwrap();
}
