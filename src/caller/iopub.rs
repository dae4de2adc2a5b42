//! The caller's side of ZeroMQ iopub (SPEC C15): the reference's `iopub_url` and
//! `iopub_sockets`. The sockets themselves live in `crate::iopub`.

use std::collections::HashMap;
use std::thread::ThreadId;

use super::Caller;

impl Caller {
    /// The endpoint every caller's iopub socket connects to: `inproc://iopub` (the
    /// reference's `Caller.iopub_url`).
    pub const IOPUB_URL: &'static str = crate::iopub::IOPUB_URL;

    /// The endpoint every caller's iopub socket connects to (the reference's
    /// `Caller.iopub_url`).
    pub fn iopub_url() -> &'static str {
        crate::iopub::IOPUB_URL
    }

    /// The threads that have an iopub socket, with their caller's name (the reference's
    /// `Caller.iopub_sockets`). A libzmq socket cannot be shared between threads, so the
    /// sockets stay on their threads: code running there publishes with
    /// [`iopub::publish`](crate::iopub::publish).
    ///
    /// ```
    /// use async_kernel::caller::{Caller, CallerOptions, Modifier};
    /// use async_kernel::iopub::ZmqContext;
    ///
    /// let options = CallerOptions::named("with-socket").zmq_context(ZmqContext::new());
    /// let caller = Caller::new(Modifier::NewThread, options).unwrap();
    /// caller.call_soon(|| ()).unwrap().wait_sync(None).unwrap(); // it runs
    /// assert_eq!(Caller::iopub_sockets()[&caller.thread()], "with-socket");
    /// caller.stop(false);
    /// caller.join().unwrap();
    /// assert!(!Caller::iopub_sockets().contains_key(&caller.thread()));
    /// ```
    pub fn iopub_sockets() -> HashMap<ThreadId, String> {
        crate::iopub::sockets()
    }

    /// True while this caller's thread has an iopub socket (from its start until its loop
    /// ends, when it has a ZeroMQ context).
    pub fn has_iopub_socket(&self) -> bool {
        self.thread_id()
            .is_some_and(|thread| crate::iopub::sockets().contains_key(&thread))
    }
}
