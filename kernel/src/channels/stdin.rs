//! The stdin channel: the kernel asks the front-end for input (`input_request`) and a cell
//! waits for the matching `input_reply`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::oneshot;

use super::socket::Outbox;
use crate::messages::Session;
use crate::wire::Message;

/// Pending input requests by the `msg_id` of the `input_request`.
#[derive(Default)]
pub(crate) struct Waiting {
    replies: Mutex<HashMap<String, oneshot::Sender<String>>>,
}

impl Waiting {
    /// Hands an `input_reply` to the cell waiting for it (by its parent's msg_id).
    pub(crate) fn deliver(&self, message: Message) {
        if message.header.msg_type != "input_reply" {
            tracing::warn!(msg_type = %message.header.msg_type, "unexpected message on stdin");
            return;
        }
        let Some(parent) = message.parent_header else {
            tracing::warn!("input_reply without a parent header");
            return;
        };
        let value = message
            .content
            .get("value")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned();
        let sender = self
            .replies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&parent.msg_id);
        match sender {
            Some(sender) => {
                let _ = sender.send(value);
            }
            None => tracing::warn!("input_reply for no pending input_request"),
        }
    }
}

/// Asks front-ends for input on behalf of cells.
#[derive(Clone)]
pub struct Stdin {
    pub(crate) outbox: Outbox,
    pub(crate) session: Session,
    pub(crate) waiting: Arc<Waiting>,
}

impl std::fmt::Debug for Stdin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stdin")
    }
}

impl Stdin {
    /// Sends an `input_request` as a child of `request` (through its routing identities) and
    /// resolves with the answer; `None` when the kernel stops first.
    pub fn ask(
        &self,
        request: &Message,
        prompt: &str,
        password: bool,
    ) -> impl std::future::Future<Output = Option<String>> + Send + 'static {
        let message = self.session.reply(
            request,
            "input_request",
            serde_json::json!({"prompt": prompt, "password": password}),
        );
        let (sender, receiver) = oneshot::channel();
        self.waiting
            .replies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(message.header.msg_id.clone(), sender);
        self.outbox.send(self.session.encode(&message));
        async move { receiver.await.ok() }
    }
}
