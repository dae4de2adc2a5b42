//! [`ZmqContext`]: the ZeroMQ context callers and the forwarder share, and what it knows about
//! the forwarder bound in it.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A ZeroMQ context shared by callers and an [`IopubForwarder`](super::IopubForwarder) (the
/// reference's `zmq_context`). Clones share it; equality is identity.
///
/// Besides the libzmq context it records whether a forwarder is bound in it, so that a caller
/// socket knows whether to wait for the forwarder's subscription before it publishes (no
/// message is lost once a forwarder is bound, see [`publish`](super::publish)). Bind
/// [`IOPUB_URL`](super::IOPUB_URL) only through the forwarder: callers do not wait for a
/// socket bound there by other code.
///
/// The libzmq context is terminated when the last clone, and the last socket made from it, is
/// dropped. Every socket this crate opens lingers at most [`LINGER`](super::LINGER), so the
/// termination never waits on a peer that does not read.
///
/// ```
/// use async_kernel::iopub::ZmqContext;
///
/// let context = ZmqContext::new();
/// assert_eq!(context, context.clone());
/// assert_ne!(context, ZmqContext::new());
/// ```
#[derive(Clone)]
pub struct ZmqContext {
    shared: Arc<Shared>,
}

struct Shared {
    context: zmq::Context,
    /// `generation << 1 | bound`: bumped by every forwarder that binds, the low bit set while it
    /// is bound. A socket attached to an older generation must reconnect.
    forwarder: AtomicU64,
}

/// What a caller socket sees of the forwarder: which one, and whether it is bound now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ForwarderState {
    pub(crate) generation: u64,
    pub(crate) bound: bool,
}

impl ZmqContext {
    /// A new libzmq context.
    pub fn new() -> Self {
        ZmqContext::from_zmq(zmq::Context::new())
    }

    /// Wraps an existing libzmq context. Only forwarders bound through this value (or its
    /// clones) are seen by the callers given it: wrap a context once and clone the wrapper.
    pub fn from_zmq(context: zmq::Context) -> Self {
        ZmqContext {
            shared: Arc::new(Shared {
                context,
                forwarder: AtomicU64::new(0),
            }),
        }
    }

    /// The libzmq context, to open further sockets in it (a kernel's shell or control sockets).
    pub fn zmq(&self) -> &zmq::Context {
        &self.shared.context
    }

    pub(crate) fn forwarder_state(&self) -> ForwarderState {
        let v = self.shared.forwarder.load(Ordering::Acquire);
        ForwarderState {
            generation: v >> 1,
            bound: v & 1 == 1,
        }
    }

    /// A forwarder has bound the iopub endpoint: a new generation starts.
    pub(crate) fn forwarder_bound(&self) -> u64 {
        let previous = self
            .shared
            .forwarder
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
                Some((((v >> 1) + 1) << 1) | 1)
            })
            .unwrap_or_else(|v| v);
        (previous >> 1) + 1
    }

    /// The forwarder is closing the iopub endpoint.
    pub(crate) fn forwarder_gone(&self) {
        self.shared.forwarder.fetch_and(!1, Ordering::AcqRel);
    }
}

impl Default for ZmqContext {
    fn default() -> Self {
        ZmqContext::new()
    }
}

impl PartialEq for ZmqContext {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl Eq for ZmqContext {}

impl fmt::Debug for ZmqContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.forwarder_state();
        f.debug_struct("ZmqContext")
            .field("forwarder_bound", &state.bound)
            .field("forwarder_generation", &state.generation)
            .finish()
    }
}
