//! The iopub socket of a caller's thread: opened when the caller's loop starts, closed when it
//! ends, reachable only from that thread (a libzmq socket must not be shared between threads).
//!
//! The socket is an XPUB, not a PUB: a PUB cannot tell whether the forwarder's subscription has
//! arrived, and drops everything sent before it does. The XPUB receives that subscription as a
//! message, so the socket waits for it before its first message once a forwarder is bound.

use std::cell::RefCell;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::{LazyLock, Mutex, PoisonError};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use super::context::ZmqContext;
use super::{IOPUB_URL, IopubError, LINGER_MS};

/// How long a socket waits for the forwarder's subscription before it publishes anyway (and
/// logs a warning). The subscription crosses one in-process pipe; this only bounds a forwarder
/// thread that is stuck.
const SUBSCRIPTION_TIMEOUT: Duration = Duration::from_secs(5);

/// While waiting for the subscription, how often the caller's stop and the forwarder's state
/// are checked, in milliseconds.
const WAIT_SLICE_MS: i64 = 10;

/// How many uses of a ready socket pass between two reads of the subscriptions it received.
const READ_SUBSCRIPTIONS_EVERY: u32 = 1024;

thread_local! {
    /// The iopub socket of this thread's caller.
    static SOCKET: RefCell<Option<ThreadSocket>> = const { RefCell::new(None) };
}

/// Threads that have an iopub socket, with their caller's name (the reference's
/// `iopub_sockets`, whose sockets here stay on their threads).
static SOCKETS: LazyLock<Mutex<HashMap<ThreadId, String>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn sockets_map() -> std::sync::MutexGuard<'static, HashMap<ThreadId, String>> {
    SOCKETS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The threads that have an iopub socket now, each with the name of the caller running there
/// (the reference's `Caller.iopub_sockets`; also [`Caller::iopub_sockets`]). A socket is listed
/// from its caller's start until its loop ends.
///
/// [`Caller::iopub_sockets`]: crate::caller::Caller::iopub_sockets
pub fn sockets() -> HashMap<ThreadId, String> {
    sockets_map().clone()
}

/// Publishes one multipart message through the iopub socket of the current thread: from a
/// call running on a caller that has a [`ZmqContext`], including a `to_thread` worker.
///
/// Parts are sent in order as one atomic message; an empty `parts` sends nothing. While a
/// forwarder is bound in the context, nothing published after the caller reports running is
/// lost: before its first message to a forwarder the socket waits for that forwarder's
/// subscription (it has normally arrived while the caller started). While no forwarder is
/// bound, messages are discarded, as a PUB socket without subscribers discards them.
///
/// Publishing does not block on subscribers (no high-water mark: a burst waits in memory).
/// Only the first message to a newly bound forwarder may wait for its subscription, normally
/// for microseconds, at most 5 s should the forwarder's thread be stuck.
///
/// ```
/// use async_kernel::iopub::{self, IopubError};
///
/// // A plain thread has no caller, hence no socket.
/// assert!(matches!(iopub::publish([b"iopub"]), Err(IopubError::NoSocket)));
/// ```
///
/// # Errors
/// [`IopubError::NoSocket`] when this thread has no iopub socket; [`IopubError::InUse`] from
/// inside [`with_socket`]; [`IopubError::Zmq`] when libzmq refuses the message.
pub fn publish<I>(parts: I) -> Result<(), IopubError>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    with_ready_socket(|socket| {
        let mut parts = parts.into_iter().peekable();
        while let Some(part) = parts.next() {
            let flags = if parts.peek().is_some() {
                zmq::SNDMORE
            } else {
                0
            };
            socket
                .send(part.as_ref(), flags)
                .map_err(IopubError::zmq("publish on the iopub socket"))?;
        }
        Ok(())
    })?
}

/// Runs `f` with the iopub socket of the current thread, ready to publish (as for
/// [`publish`]). The socket is an XPUB: send on it; do not receive from it (the subscriptions
/// it receives are how it knows the forwarder is listening) and do not change its options.
///
/// # Errors
/// [`IopubError::NoSocket`] when this thread has no iopub socket; [`IopubError::InUse`] from
/// inside `f` (there `f` has the socket already).
pub fn with_socket<R>(f: impl FnOnce(&zmq::Socket) -> R) -> Result<R, IopubError> {
    with_ready_socket(f)
}

fn with_ready_socket<R>(f: impl FnOnce(&zmq::Socket) -> R) -> Result<R, IopubError> {
    SOCKET
        .try_with(|slot| {
            let mut slot = slot.try_borrow_mut().map_err(|_| IopubError::InUse)?;
            let socket = slot.as_mut().ok_or(IopubError::NoSocket)?;
            socket.make_ready(&|| false);
            // The TCP clients' subscriptions reach this socket too (the forwarder passes them
            // upstream); read them now and then so they do not pile up in it.
            socket.uses = socket.uses.wrapping_add(1);
            if socket.uses % READ_SUBSCRIPTIONS_EVERY == 0 {
                socket.read_subscriptions();
            }
            Ok(f(&socket.socket))
        })
        .unwrap_or(Err(IopubError::NoSocket))
}

/// Opens the iopub socket of the current thread for the caller `name` that starts here, and
/// waits (bounded) for the forwarder's subscription when one is bound, so that the caller
/// reports running only once its messages reach the forwarder. `stopping` ends the wait early.
///
/// A failure is logged and the caller runs without a socket ([`publish`] then reports
/// [`IopubError::NoSocket`]).
pub(crate) fn open_thread_socket(
    context: &ZmqContext,
    name: &str,
    stopping: &dyn Fn() -> bool,
) -> Option<ThreadSocketGuard> {
    if SOCKET.with(|slot| slot.borrow().is_some()) {
        tracing::warn!(caller = %name, "this thread already has an iopub socket; keeping it");
        return None;
    }
    let mut socket = match ThreadSocket::open(context) {
        Ok(socket) => socket,
        Err(error) => {
            let error = crate::error::error_chain(&error);
            tracing::error!(caller = %name, %error, "could not open the caller's iopub socket");
            return None;
        }
    };
    socket.make_ready(stopping);
    sockets_map().insert(socket.thread, name.to_owned());
    SOCKET.with(|slot| *slot.borrow_mut() = Some(socket));
    tracing::debug!(caller = %name, "iopub socket open");
    Some(ThreadSocketGuard {
        _this_thread: PhantomData,
    })
}

/// Closes the thread's iopub socket when dropped (at the end of the caller's loop, on its
/// thread). Not `Send`: it must drop where the socket was opened.
pub(crate) struct ThreadSocketGuard {
    _this_thread: PhantomData<Rc<()>>,
}

impl Drop for ThreadSocketGuard {
    fn drop(&mut self) {
        // Taken out first so the socket closes outside the borrow.
        let socket = SOCKET
            .try_with(|slot| slot.borrow_mut().take())
            .ok()
            .flatten();
        drop(socket);
    }
}

/// A caller thread's socket and what it knows about the forwarder.
struct ThreadSocket {
    socket: zmq::Socket,
    context: ZmqContext,
    /// The forwarder generation the socket is (or, connected before the bind, will be)
    /// attached to.
    generation: u64,
    /// Whether the subscription of that forwarder has arrived.
    subscribed: bool,
    /// Counts publications, to read the subscriptions now and then.
    uses: u32,
    thread: ThreadId,
}

impl ThreadSocket {
    fn open(context: &ZmqContext) -> Result<ThreadSocket, IopubError> {
        let socket = context
            .zmq()
            .socket(zmq::XPUB)
            .map_err(IopubError::zmq("open the iopub socket"))?;
        socket
            .set_linger(LINGER_MS)
            .map_err(IopubError::zmq("set the iopub socket's linger"))?;
        // No high-water mark: a burst waits in memory instead of being dropped (a PUB-type
        // socket drops at the mark, silently).
        socket
            .set_sndhwm(0)
            .map_err(IopubError::zmq("set the iopub socket's high-water mark"))?;
        // Every subscription is reported, also one for a topic already subscribed: a new
        // forwarder's subscription must be seen while an old one's pipe is still closing.
        socket
            .set_xpub_verbose(true)
            .map_err(IopubError::zmq("make the iopub socket verbose"))?;
        // Read before connecting: a forwarder that binds in between is a later generation,
        // and inproc connects a socket to a binder that comes after it (libzmq 4.x).
        let state = context.forwarder_state();
        socket
            .connect(IOPUB_URL)
            .map_err(IopubError::zmq("connect the iopub socket"))?;
        Ok(ThreadSocket {
            socket,
            context: context.clone(),
            generation: if state.bound {
                state.generation
            } else {
                state.generation + 1
            },
            subscribed: false,
            uses: 0,
            thread: std::thread::current().id(),
        })
    }

    /// Makes sure the bound forwarder (if any) receives what is sent next: reconnects to a
    /// forwarder newer than the one the socket attached to (inproc does not reconnect by
    /// itself), and waits for its subscription.
    fn make_ready(&mut self, stopping: &dyn Fn() -> bool) {
        let state = self.context.forwarder_state();
        if !state.bound {
            return;
        }
        if state.generation != self.generation {
            self.read_subscriptions();
            let _ = self.socket.disconnect(IOPUB_URL);
            if let Err(error) = self.socket.connect(IOPUB_URL) {
                tracing::warn!(%error, "could not reconnect the iopub socket to a new forwarder");
            }
            self.generation = state.generation;
            self.subscribed = false;
        }
        if self.subscribed {
            return;
        }
        let deadline = Instant::now() + SUBSCRIPTION_TIMEOUT;
        loop {
            self.read_subscriptions();
            if self.subscribed || stopping() || self.context.forwarder_state() != state {
                return;
            }
            if Instant::now() >= deadline {
                tracing::warn!(
                    timeout = ?SUBSCRIPTION_TIMEOUT,
                    "the iopub forwarder did not subscribe; publishing without waiting"
                );
                return;
            }
            let _ = self.socket.poll(zmq::POLLIN, WAIT_SLICE_MS);
        }
    }

    /// Reads the subscriptions that arrived: the forwarder subscribes to everything (an empty
    /// topic); an unsubscription of everything means its pipe closed.
    fn read_subscriptions(&mut self) {
        while let Ok(message) = self.socket.recv_msg(zmq::DONTWAIT) {
            match &*message {
                [1] => self.subscribed = true,
                [0] => self.subscribed = false,
                _ => {}
            }
        }
    }
}

impl Drop for ThreadSocket {
    fn drop(&mut self) {
        sockets_map().remove(&self.thread);
    }
}
