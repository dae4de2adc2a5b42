//! [`IopubForwarder`]: the one writer of the TCP iopub socket. It binds [`IOPUB_URL`] (XSUB)
//! and a TCP endpoint (XPUB) in the shared context, and forwards on its own thread.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::event::Event;

use super::context::ZmqContext;
use super::{IOPUB_URL, IopubError, LINGER_MS};

/// How many messages the forwarder moves per wake-up before it looks at the other sockets
/// (a stop request, new subscribers) again.
const BATCH: usize = 1024;

/// How long a stopping forwarder goes on forwarding what callers have sent.
const FINAL_FORWARD: Duration = Duration::from_secs(2);

/// Numbers the control endpoints of forwarders (inproc names are per context).
static NEXT_ID: AtomicU32 = AtomicU32::new(0);

/// Forwards every message the callers publish on [`IOPUB_URL`] to the subscribers of a TCP
/// endpoint (the part of the iopub path the reference leaves to its kernel).
///
/// * Upstream, an XSUB bound at [`IOPUB_URL`] subscribes to everything, so every caller socket
///   delivers everything to it; downstream, an XPUB bound at the TCP address. Subscriptions of
///   TCP clients are passed upstream as well; filtering happens at the XPUB.
/// * It runs on its own thread, named `iopub-forwarder`. Messages of one caller keep their
///   order; parts of a multipart message stay together.
/// * No high-water mark on either side: a burst waits in memory rather than being dropped.
///   A subscriber that cannot keep up therefore costs memory, not messages.
/// * One forwarder per context at a time (the endpoint is bound once). Callers started before
///   it reach it too.
/// * [`stop`](IopubForwarder::stop) (or dropping it) forwards what callers have already sent
///   (for at most 2 s, should they go on publishing), closes the sockets (linger
///   [`LINGER`](super::LINGER)) and joins the thread.
///
/// ```
/// use async_kernel::iopub::{IopubForwarder, ZmqContext};
/// use std::time::Duration;
///
/// let context = ZmqContext::new();
/// let forwarder = IopubForwarder::bind(&context, "tcp://127.0.0.1:0").unwrap();
/// assert!(forwarder.endpoint().starts_with("tcp://127.0.0.1:"));
///
/// // A subscriber anywhere (here: in another context of this process).
/// let client_context = zmq::Context::new();
/// let client = client_context.socket(zmq::SUB).unwrap();
/// client.set_linger(0).unwrap();
/// client.connect(forwarder.endpoint()).unwrap();
/// client.set_subscribe(b"").unwrap();
/// assert!(forwarder.wait_for_subscriber(Some(Duration::from_secs(10))));
/// forwarder.stop();
/// ```
pub struct IopubForwarder {
    endpoint: String,
    port: u16,
    subscribed: Event,
    /// The stop side of the control pair (the forwarder's thread holds the other side).
    control: Mutex<Option<zmq::Socket>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl IopubForwarder {
    /// Binds [`IOPUB_URL`] in `context` and an XPUB at `address` (for example
    /// `tcp://127.0.0.1:0`; port 0, or `*`, picks a free port: see [`port`](Self::port)), and
    /// starts forwarding.
    ///
    /// # Errors
    /// [`IopubError::Zmq`] when a socket cannot be opened or bound (another forwarder bound
    /// [`IOPUB_URL`] in this context already: `Address already in use`);
    /// [`IopubError::NoPort`] when the bound endpoint has no port; [`IopubError::Thread`].
    pub fn bind(context: &ZmqContext, address: &str) -> Result<IopubForwarder, IopubError> {
        let zmq_context = context.zmq();
        // The TCP side first: a busy port must fail before the iopub endpoint is taken.
        let downstream = socket(zmq_context, zmq::XPUB)?;
        downstream
            .set_sndhwm(0)
            .map_err(IopubError::zmq("set the forwarder's high-water mark"))?;
        downstream
            .bind(address)
            .map_err(IopubError::zmq("bind the forwarder's endpoint"))?;
        let endpoint = match downstream.get_last_endpoint() {
            Ok(Ok(endpoint)) => endpoint,
            _ => address.to_owned(),
        };
        let port = endpoint
            .rsplit(':')
            .next()
            .and_then(|p| p.parse::<u16>().ok())
            .filter(|p| *p != 0)
            .ok_or_else(|| IopubError::NoPort(endpoint.clone()))?;

        let control_url = format!(
            "inproc://async-kernel-iopub-control-{}",
            NEXT_ID.fetch_add(1, Ordering::Relaxed)
        );
        let control_in = socket(zmq_context, zmq::PAIR)?;
        control_in
            .bind(&control_url)
            .map_err(IopubError::zmq("bind the forwarder's control socket"))?;
        let control_out = socket(zmq_context, zmq::PAIR)?;
        control_out
            .connect(&control_url)
            .map_err(IopubError::zmq("connect the forwarder's control socket"))?;

        let upstream = socket(zmq_context, zmq::XSUB)?;
        upstream
            .set_rcvhwm(0)
            .map_err(IopubError::zmq("set the forwarder's high-water mark"))?;
        upstream
            .bind(IOPUB_URL)
            .map_err(IopubError::zmq("bind the iopub endpoint"))?;
        let subscribed = Event::new();
        // From here on, dropping `sockets` (on any failure) frees the iopub endpoint.
        let sockets = Sockets {
            upstream,
            downstream,
            control: control_in,
            context: context.clone(),
            subscribed: subscribed.clone(),
        };
        // Subscribe upstream to everything: every caller socket, connected now or later,
        // receives this subscription and delivers all its messages.
        sockets
            .upstream
            .send(&[1u8][..], 0)
            .map_err(IopubError::zmq("subscribe the forwarder upstream"))?;
        let generation = context.forwarder_bound();
        let thread = std::thread::Builder::new()
            .name("iopub-forwarder".to_owned())
            .spawn(move || sockets.run());
        let thread = match thread {
            Ok(thread) => thread,
            // The closure, and the sockets in it, are dropped: the endpoint is free again.
            Err(error) => return Err(IopubError::Thread(std::sync::Arc::new(error))),
        };
        tracing::debug!(%endpoint, generation, "iopub forwarder running");
        Ok(IopubForwarder {
            endpoint,
            port,
            subscribed,
            control: Mutex::new(Some(control_out)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// The bound TCP endpoint, for example `tcp://127.0.0.1:45123`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The bound TCP port (the one picked when the address asked for port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// True once a TCP client has subscribed (to anything).
    pub fn has_subscriber(&self) -> bool {
        self.subscribed.is_set()
    }

    /// Blocks until a TCP client has subscribed, at most `timeout`; true when one has. A
    /// publisher that must not lose its first messages to a client waits for this: until the
    /// client's subscription arrives, the XPUB drops what it would send to it.
    pub fn wait_for_subscriber(&self, timeout: Option<Duration>) -> bool {
        self.subscribed.wait_sync(timeout).is_ok()
    }

    /// Stops forwarding: forwards what callers have already sent, closes the sockets and joins
    /// the thread. Callers keep running; what they publish afterwards is discarded until another
    /// forwarder binds. Stopping again does nothing.
    pub fn stop(&self) {
        self.stop_with_linger(None);
    }

    /// As [`stop`](Self::stop), but the TCP socket lingers `linger` instead of
    /// [`LINGER`](super::LINGER): a process that exits right after publishing gives its
    /// subscribers that long to receive what is still queued for them. The context's
    /// termination (when its last clone drops) waits for it.
    pub fn stop_with_linger(&self, linger: Option<Duration>) {
        let control = self
            .control
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(control) = control {
            let linger_ms = linger.map_or(LINGER_MS, |l| {
                i32::try_from(l.as_millis()).unwrap_or(i32::MAX)
            });
            if let Err(error) = control.send(&linger_ms.to_le_bytes()[..], 0) {
                tracing::error!(%error, "could not ask the iopub forwarder to stop");
            }
        }
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = thread {
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

impl Drop for IopubForwarder {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Debug for IopubForwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IopubForwarder")
            .field("endpoint", &self.endpoint)
            .field("has_subscriber", &self.has_subscriber())
            .finish()
    }
}

/// A socket with the crate's linger.
fn socket(context: &zmq::Context, kind: zmq::SocketType) -> Result<zmq::Socket, IopubError> {
    let socket = context
        .socket(kind)
        .map_err(IopubError::zmq("open a forwarder socket"))?;
    socket
        .set_linger(LINGER_MS)
        .map_err(IopubError::zmq("set a forwarder socket's linger"))?;
    Ok(socket)
}

/// What the forwarder's thread owns. Dropping it frees the iopub endpoint.
struct Sockets {
    upstream: zmq::Socket,
    downstream: zmq::Socket,
    control: zmq::Socket,
    context: ZmqContext,
    subscribed: Event,
}

impl Sockets {
    fn run(self) {
        let linger = self.forward();
        // Callers see the forwarder gone before its endpoint is (below, and in `drop`): they
        // stop waiting for it.
        self.context.forwarder_gone();
        // Whatever callers sent before the stop has reached the upstream pipes: pass it on.
        // Bounded in time: callers that go on publishing must not keep the stop from ending.
        let deadline = Instant::now() + FINAL_FORWARD;
        loop {
            match self.forward_upstream(BATCH) {
                Ok(true) if Instant::now() < deadline => {}
                Ok(true) => {
                    tracing::warn!(
                        "iopub forwarder: callers still publishing {FINAL_FORWARD:?} after the stop; the rest is discarded"
                    );
                    break;
                }
                Ok(false) => break,
                Err(error) => {
                    tracing::warn!(%error, "iopub forwarder: could not forward on stop");
                    break;
                }
            }
        }
        if let Err(error) = self.downstream.set_linger(linger) {
            tracing::warn!(%error, "iopub forwarder: could not set the linger");
        }
        tracing::debug!("iopub forwarder stopped");
    }

    /// Forwards until a stop request arrives; returns the linger it asks for.
    fn forward(&self) -> i32 {
        loop {
            let mut items = [
                self.upstream.as_poll_item(zmq::POLLIN),
                self.downstream.as_poll_item(zmq::POLLIN),
                self.control.as_poll_item(zmq::POLLIN),
            ];
            match zmq::poll(&mut items, -1) {
                Ok(_) | Err(zmq::Error::EINTR) => {}
                Err(error) => {
                    tracing::error!(%error, "iopub forwarder: poll failed; stopping");
                    return LINGER_MS;
                }
            }
            let (up, down, stop) = (
                items[0].is_readable(),
                items[1].is_readable(),
                items[2].is_readable(),
            );
            if stop {
                return match self.control.recv_bytes(0) {
                    Ok(bytes) => bytes
                        .try_into()
                        .map(i32::from_le_bytes)
                        .unwrap_or(LINGER_MS),
                    Err(_) => LINGER_MS,
                };
            }
            if up {
                if let Err(error) = self.forward_upstream(BATCH) {
                    tracing::error!(%error, "iopub forwarder: could not forward; stopping");
                    return LINGER_MS;
                }
            }
            if down {
                if let Err(error) = self.forward_subscriptions() {
                    tracing::error!(%error, "iopub forwarder: could not forward a subscription; stopping");
                    return LINGER_MS;
                }
            }
        }
    }

    /// Moves up to `limit` whole messages from the callers to the TCP subscribers; true when
    /// it stopped at the limit (more may be waiting).
    fn forward_upstream(&self, limit: usize) -> Result<bool, zmq::Error> {
        for _ in 0..limit {
            let mut message = match self.upstream.recv_msg(zmq::DONTWAIT) {
                Ok(message) => message,
                Err(zmq::Error::EAGAIN) => return Ok(false),
                Err(error) => return Err(error),
            };
            // The rest of a multipart message is there once its first part is.
            while message.get_more() {
                let next = self.upstream.recv_msg(0)?;
                self.downstream.send(message, zmq::SNDMORE)?;
                message = next;
            }
            self.downstream.send(message, 0)?;
        }
        Ok(true)
    }

    /// Passes the TCP clients' subscriptions upstream and notes that a client subscribed.
    fn forward_subscriptions(&self) -> Result<(), zmq::Error> {
        loop {
            let message = match self.downstream.recv_msg(zmq::DONTWAIT) {
                Ok(message) => message,
                Err(zmq::Error::EAGAIN) => return Ok(()),
                Err(error) => return Err(error),
            };
            if message.first() == Some(&1) {
                self.subscribed.set();
            }
            self.upstream.send(message, 0)?;
        }
    }
}

impl Drop for Sockets {
    fn drop(&mut self) {
        // Before the endpoint is free: a forwarder binding next must not be reported gone.
        self.context.forwarder_gone();
        // Closing the socket alone frees the endpoint only once every caller socket has
        // acknowledged the end of its pipe, which a caller that publishes no more never does;
        // a new forwarder must be able to bind meanwhile.
        if let Err(error) = self.upstream.unbind(IOPUB_URL) {
            tracing::warn!(%error, "iopub forwarder: could not unbind the iopub endpoint");
        }
    }
}
