//! ZeroMQ iopub: a publishing socket per caller thread and the forwarder that carries their
//! messages to subscribers over TCP (SPEC C15; the reference's `iopub_sockets`/`iopub_url`,
//! plus the forwarder the reference leaves to its kernel). Behind the `zmq` feature.
//!
//! A caller created with a [`ZmqContext`] (option [`CallerOptions::zmq_context`], inherited by
//! its children, SPEC C11) opens its own socket connected to [`IOPUB_URL`] when its loop starts
//! and closes it when the loop ends. Code running on that thread — a call, a `to_thread` worker's
//! job — publishes with [`publish`]. An [`IopubForwarder`] binds [`IOPUB_URL`] in the same
//! context and forwards everything to the subscribers of its TCP endpoint.
//!
//! ```
//! use async_kernel::caller::{Caller, CallerOptions, Modifier};
//! use async_kernel::iopub::{self, IopubForwarder, ZmqContext};
//!
//! let context = ZmqContext::new();
//! let forwarder = IopubForwarder::bind(&context, "tcp://127.0.0.1:0").unwrap();
//! assert!(forwarder.port() > 0);
//!
//! let options = CallerOptions::named("publisher").zmq_context(context.clone());
//! let caller = Caller::new(Modifier::NewThread, options).unwrap();
//! let sent = caller.call_soon(|| iopub::publish([&b"iopub"[..], b"hello"])).unwrap();
//! sent.wait_sync(None).unwrap().unwrap();
//! assert!(Caller::iopub_sockets().contains_key(&caller.thread()));
//!
//! caller.stop(false);
//! caller.join().unwrap();
//! forwarder.stop();
//! ```
//!
//! [`CallerOptions::zmq_context`]: crate::caller::CallerOptions::zmq_context

mod context;
mod forwarder;
mod socket;

pub use self::context::ZmqContext;
pub use self::forwarder::IopubForwarder;
pub use self::socket::{publish, sockets, with_socket};

pub(crate) use self::socket::open_thread_socket;

/// The in-process endpoint every caller socket connects to and the forwarder binds (the
/// reference's `Caller.iopub_url`).
pub const IOPUB_URL: &str = "inproc://iopub";

/// Linger of every socket this crate opens: a closing socket gives queued messages this long,
/// so that terminating the context never waits for a peer that does not read.
pub const LINGER: std::time::Duration = std::time::Duration::from_millis(LINGER_MS as u64);

/// [`LINGER`] in ZeroMQ's unit (milliseconds).
const LINGER_MS: i32 = 50;

/// What went wrong publishing or forwarding. Cheap to clone, so a call's pending can carry it.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum IopubError {
    /// This thread has no iopub socket: no caller with a ZeroMQ context runs its loop here.
    #[error("this thread has no iopub socket (no caller with a zmq context is running on it)")]
    NoSocket,
    /// The socket is in use: publishing from inside [`with_socket`].
    #[error("this thread's iopub socket is in use (publishing from inside with_socket)")]
    InUse,
    /// A ZeroMQ call failed.
    #[error("could not {action}")]
    Zmq {
        /// What was attempted.
        action: &'static str,
        /// ZeroMQ's error.
        #[source]
        source: zmq::Error,
    },
    /// An address did not name a TCP endpoint with a port.
    #[error("the forwarder's endpoint {0:?} has no port")]
    NoPort(String),
    /// The forwarder's thread could not be started.
    #[error("could not start the forwarder's thread")]
    Thread(#[source] std::sync::Arc<std::io::Error>),
}

impl IopubError {
    fn zmq(action: &'static str) -> impl FnOnce(zmq::Error) -> IopubError {
        move |source| IopubError::Zmq { action, source }
    }
}
