//! Helpers of the iopub tests: a real libzmq SUB client over TCP, and callers with a context.

#![allow(dead_code)]

use std::collections::HashMap;
use std::time::Duration;

use async_kernel::Pending;
use async_kernel::caller::{Caller, CallerOptions, Modifier};
use async_kernel::iopub::{self, IopubError, IopubForwarder, ZmqContext};

/// How long a test waits for something that should happen before it calls the test hung.
pub const GUARD: Duration = Duration::from_secs(5);

/// A subscriber outside the process's iopub context, as a Jupyter client would be.
pub struct Client {
    pub socket: zmq::Socket,
    // Dropped after the socket (fields drop in order): terminating waits for the socket.
    _context: zmq::Context,
}

impl Client {
    /// Connects to the forwarder, subscribes to everything and waits until the forwarder has
    /// seen the subscription (messages published before that would not reach this client).
    pub fn subscribe(forwarder: &IopubForwarder) -> Client {
        let client = Client::connect(forwarder, 0);
        assert!(
            forwarder.wait_for_subscriber(Some(GUARD)),
            "the forwarder saw no subscription"
        );
        client
    }

    /// Connects and subscribes without waiting; `rcvhwm` 0 is unlimited.
    pub fn connect(forwarder: &IopubForwarder, rcvhwm: i32) -> Client {
        let context = zmq::Context::new();
        let socket = context.socket(zmq::SUB).unwrap();
        socket.set_linger(0).unwrap();
        socket.set_rcvhwm(rcvhwm).unwrap();
        socket.set_rcvtimeo(GUARD.as_millis() as i32).unwrap();
        socket.connect(forwarder.endpoint()).unwrap();
        socket.set_subscribe(b"").unwrap();
        Client {
            socket,
            _context: context,
        }
    }

    /// The next multipart message; panics when none arrives within the guard.
    pub fn recv(&self) -> Vec<Vec<u8>> {
        self.socket
            .recv_multipart(0)
            .expect("a message arrives within the guard")
    }

    /// Receives `threads × messages` messages `[b"iopub", thread, sequence]` and checks that
    /// each thread's arrive complete and in order.
    pub fn expect_in_order(&self, threads: usize, messages: usize) {
        let mut next: HashMap<usize, usize> = HashMap::new();
        for _ in 0..threads * messages {
            let parts = self.recv();
            assert_eq!(parts.len(), 3, "three parts: {parts:?}");
            assert_eq!(parts[0], b"iopub");
            let thread = number(&parts[1]);
            let seq = number(&parts[2]);
            assert!(thread < threads, "thread index {thread}");
            let expected = next.entry(thread).or_insert(0);
            assert_eq!(
                seq, *expected,
                "thread {thread}: message out of order or lost"
            );
            *expected += 1;
        }
        assert_eq!(next.len(), threads, "every thread was heard");
        assert!(next.values().all(|n| *n == messages));
    }

    /// True when nothing more arrives within `wait` (for "nothing was sent").
    pub fn quiet_for(&self, wait: Duration) -> bool {
        self.socket
            .poll(zmq::POLLIN, wait.as_millis() as i64)
            .unwrap()
            == 0
    }
}

/// A decimal ASCII number, as the messages carry them.
pub fn number(bytes: &[u8]) -> usize {
    std::str::from_utf8(bytes).unwrap().parse().unwrap()
}

/// A new caller on its own thread with `context`.
pub fn caller_with(name: &str, context: &ZmqContext) -> Caller {
    Caller::new(
        Modifier::NewThread,
        CallerOptions::named(name).zmq_context(context.clone()),
    )
    .expect("caller starts")
}

/// Schedules publishing `[b"iopub", thread, 0..messages]` on the caller; the pending ends once
/// every message is sent.
pub fn start_sequence(
    caller: &Caller,
    thread: usize,
    messages: usize,
) -> Pending<Result<(), IopubError>> {
    caller
        .call_soon(move || {
            let index = thread.to_string();
            for seq in 0..messages {
                iopub::publish([&b"iopub"[..], index.as_bytes(), seq.to_string().as_bytes()])?;
            }
            Ok(())
        })
        .unwrap()
}

/// Publishes `[b"iopub", thread, 0..messages]` from the caller's thread; returns once sent.
pub fn publish_sequence(caller: &Caller, thread: usize, messages: usize) {
    sent(&start_sequence(caller, thread, messages));
}

/// Waits until a publishing call has ended and checks that it sent everything.
pub fn sent(pending: &Pending<Result<(), IopubError>>) {
    pending
        .wait_sync(Some(GUARD))
        .expect("the call ends")
        .expect("every message is published");
}

pub fn shutdown(caller: &Caller) {
    caller.stop(true);
    caller.join().unwrap();
}

/// Runs `f` on another thread and waits for it at most [`GUARD`]; panics (leaving the thread
/// behind) when it hangs.
pub fn within_guard<R: Send + 'static>(what: &str, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(GUARD)
        .unwrap_or_else(|_| panic!("{what} did not finish within {GUARD:?}"))
}
