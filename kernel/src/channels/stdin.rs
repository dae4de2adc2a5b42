//! The stdin channel: the kernel asks the front-end for input (`input_request`) and a cell
//! waits for the matching `input_reply`.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::oneshot;

use super::socket::Outbox;
use crate::messages::Session;
use crate::wire::Message;

/// Pending input requests by the `msg_id` of the `input_request`, oldest first.
#[derive(Default)]
pub(crate) struct Waiting {
    replies: Mutex<Vec<(String, oneshot::Sender<String>)>>,
}

impl Waiting {
    /// Hands an `input_reply` to the cell waiting for it (by its parent's msg_id).
    pub(crate) fn deliver(&self, message: Message) {
        if message.header.msg_type != "input_reply" {
            tracing::warn!(msg_type = %message.header.msg_type, "unexpected message on stdin");
            return;
        }
        let value = message
            .content
            .get("value")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned();
        // The reply names its request as parent; front-ends that leave the parent out
        // (`jupyter_client`'s `input()`) answer the oldest request, as the channel is used
        // one request at a time.
        let sender = {
            let mut replies = self.replies.lock().unwrap_or_else(PoisonError::into_inner);
            let at = match &message.parent_header {
                Some(parent) => replies.iter().position(|(id, _)| *id == parent.msg_id),
                None => (!replies.is_empty()).then_some(0),
            };
            at.map(|i| replies.remove(i).1)
        };
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
            .push((message.header.msg_id.clone(), sender));
        self.outbox.send(self.session.encode(&message));
        async move { receiver.await.ok() }
    }
}
