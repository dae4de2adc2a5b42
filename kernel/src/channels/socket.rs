//! A ROUTER channel (shell, control, stdin): one thread owns the socket, receives requests and
//! hands them on; replies from any thread reach it through an in-process pipe ([`Outbox`]),
//! since a ZeroMQ socket must stay on one thread.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use crate::wire::{self, Message, Signer};

/// The frame that tells a socket thread to stop (never a valid Jupyter message: it has no
/// delimiter).
pub(crate) const STOP: &[u8] = b"\0async-kernel-stop";

static PIPES: AtomicUsize = AtomicUsize::new(0);

/// Linger of every socket: replies in flight at shutdown get this long, then are dropped.
pub const LINGER_MS: i32 = 200;

/// Sends multipart messages to a socket thread from any thread.
#[derive(Clone)]
pub struct Outbox {
    push: Arc<Mutex<zmq::Socket>>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Outbox")
    }
}

impl Outbox {
    /// Queues `frames` for the socket; errors are logged (the socket is gone at shutdown).
    pub fn send(&self, frames: Vec<Vec<u8>>) {
        let push = self.push.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(error) = push.send_multipart(frames, 0) {
            tracing::warn!(%error, "could not hand a message to its socket");
        }
    }

    /// Asks the socket thread to stop once it has sent what was queued before.
    pub fn stop(&self) {
        self.send(vec![STOP.to_vec()]);
    }
}

/// Opens the in-process pipe of a socket thread: the pulling end (for the thread) and an
/// [`Outbox`].
///
/// # Errors
/// ZeroMQ's error when a socket cannot be created, bound or connected.
pub fn pipe(context: &zmq::Context, name: &str) -> Result<(zmq::Socket, Outbox), zmq::Error> {
    let endpoint = format!(
        "inproc://async-kernel-{name}-{}",
        PIPES.fetch_add(1, Ordering::Relaxed)
    );
    let pull = context.socket(zmq::PULL)?;
    pull.set_linger(0)?;
    pull.set_rcvhwm(0)?;
    pull.bind(&endpoint)?;
    let push = context.socket(zmq::PUSH)?;
    push.set_linger(LINGER_MS)?;
    push.set_sndhwm(0)?;
    push.connect(&endpoint)?;
    Ok((
        pull,
        Outbox {
            push: Arc::new(Mutex::new(push)),
        },
    ))
}

/// Binds a ROUTER at `endpoint` and starts its thread, which also sends what arrives on `pull`
/// (the pulling end of a [`pipe`]): each verified message goes to
/// `on_message` (on that thread; it must hand work on quickly); messages with a wrong
/// signature or a broken structure are logged and dropped.
///
/// # Errors
/// ZeroMQ's error when the socket cannot be created or bound; the thread's spawn error.
pub fn spawn_router(
    context: &zmq::Context,
    name: &'static str,
    endpoint: &str,
    signer: Signer,
    pull: zmq::Socket,
    mut on_message: impl FnMut(Message) + Send + 'static,
) -> Result<JoinHandle<()>, Box<dyn std::error::Error + Send + Sync>> {
    let router = context.socket(zmq::ROUTER)?;
    router.set_linger(LINGER_MS)?;
    router.set_router_handover(true)?;
    router.set_sndhwm(0)?;
    router.bind(endpoint)?;
    let thread = std::thread::Builder::new()
        .name(format!("{name}-socket"))
        .spawn(move || {
            loop {
                let mut items = [
                    router.as_poll_item(zmq::POLLIN),
                    pull.as_poll_item(zmq::POLLIN),
                ];
                if let Err(error) = zmq::poll(&mut items, -1) {
                    tracing::error!(%error, channel = name, "poll failed; the channel stops");
                    return;
                }
                let (incoming, outgoing) = (items[0].is_readable(), items[1].is_readable());
                if outgoing {
                    while let Ok(frames) = pull.recv_multipart(zmq::DONTWAIT) {
                        if frames.len() == 1 && frames[0] == STOP {
                            return;
                        }
                        if let Err(error) = router.send_multipart(frames, 0) {
                            tracing::warn!(%error, channel = name, "could not send a message");
                        }
                    }
                }
                if incoming {
                    while let Ok(frames) = router.recv_multipart(zmq::DONTWAIT) {
                        match wire::decode(frames, &signer) {
                            Ok(message) => on_message(message),
                            Err(error) => {
                                tracing::warn!(%error, channel = name, "dropped a message");
                            }
                        }
                    }
                }
            }
        })?;
    Ok(thread)
}
