//! The iopub channel: an XPUB socket on its own thread. Publishers on any thread hand it
//! messages through an [`Outbox`]; each new subscription is answered with an `iopub_welcome`
//! message (JEP 65) before anything else reaches that subscriber, so a client knows when it
//! stops missing messages.

use std::thread::JoinHandle;

use jupyter_protocol::Header;
use serde::Serialize;

use super::socket::{LINGER_MS, Outbox, pipe};
use crate::messages::Session;

/// Publishes on iopub from any thread.
#[derive(Clone, Debug)]
pub struct Iopub {
    outbox: Outbox,
    session: Session,
}

impl Iopub {
    /// Publishes a message of `msg_type` whose parent is `parent`.
    pub fn publish(&self, parent: Option<&Header>, msg_type: &str, content: impl Serialize) {
        let message = self.session.iopub(parent, msg_type, content);
        self.outbox.send(self.session.encode(&message));
    }

    /// `status` with `execution_state` `busy` or `idle`.
    pub fn status(&self, parent: Option<&Header>, state: &str) {
        self.publish(
            parent,
            "status",
            serde_json::json!({"execution_state": state}),
        );
    }

    pub(crate) fn stop(&self) {
        self.outbox.stop();
    }
}

/// Binds the XPUB at `endpoint` and starts its thread.
///
/// # Errors
/// ZeroMQ's error when the socket cannot be created or bound; the thread's spawn error.
pub fn spawn(
    context: &zmq::Context,
    endpoint: &str,
    session: Session,
) -> Result<(Iopub, JoinHandle<()>), Box<dyn std::error::Error + Send + Sync>> {
    let xpub = context.socket(zmq::XPUB)?;
    xpub.set_linger(LINGER_MS)?;
    xpub.set_sndhwm(0)?;
    // Every subscription reaches us, also a second client's to the same topic: each gets its
    // welcome.
    xpub.set_xpub_verbose(true)?;
    xpub.bind(endpoint)?;
    let (pull, outbox) = pipe(context, "iopub")?;
    let thread_session = session.clone();
    let thread = std::thread::Builder::new()
        .name("iopub-socket".into())
        .spawn(move || {
            let session = thread_session;
            loop {
                let mut items = [
                    xpub.as_poll_item(zmq::POLLIN),
                    pull.as_poll_item(zmq::POLLIN),
                ];
                if let Err(error) = zmq::poll(&mut items, -1) {
                    tracing::error!(%error, "iopub poll failed; iopub stops");
                    return;
                }
                // Subscriptions first: a welcome precedes what is published after it arrived.
                if items[0].is_readable() {
                    while let Ok(frame) = xpub.recv_bytes(zmq::DONTWAIT) {
                        if frame.first() == Some(&1) {
                            let topic = &frame[1..];
                            let subscription = String::from_utf8_lossy(topic).into_owned();
                            tracing::debug!(%subscription, "iopub subscriber");
                            let mut welcome = session.iopub(
                                None,
                                "iopub_welcome",
                                serde_json::json!({"subscription": subscription}),
                            );
                            welcome.identities = vec![topic.to_vec()];
                            if let Err(error) = xpub.send_multipart(session.encode(&welcome), 0) {
                                tracing::warn!(%error, "could not send iopub_welcome");
                            }
                        }
                    }
                }
                if items[1].is_readable() {
                    while let Ok(frames) = pull.recv_multipart(zmq::DONTWAIT) {
                        if frames.len() == 1 && frames[0] == super::socket::STOP {
                            return;
                        }
                        if let Err(error) = xpub.send_multipart(frames, 0) {
                            tracing::warn!(%error, "could not publish");
                        }
                    }
                }
            }
        })?;
    Ok((Iopub { outbox, session }, thread))
}
