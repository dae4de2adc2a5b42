//! Building the kernel's outgoing messages: headers of this kernel's session, replies to a
//! request, iopub publications; the content types come from `jupyter-protocol`.

use std::collections::HashMap;

use jupyter_protocol::{
    ExecuteReply, ExecuteResult, ExecutionCount, Header, Media, Payload, ReplyError, ReplyStatus,
    Transient,
};
use serde::Serialize;
use serde_json::Value;

use crate::wire::{Message, Signer};

/// The protocol version this kernel speaks.
pub const PROTOCOL_VERSION: &str = "5.4";

/// The kernel's side of the session: its id, its username and the signer.
#[derive(Debug, Clone)]
pub struct Session {
    id: String,
    signer: Signer,
}

impl Session {
    /// A session with a fresh id signing with `key`.
    pub fn new(key: &[u8]) -> Session {
        Session {
            id: uuid::Uuid::new_v4().to_string(),
            signer: Signer::new(key),
        }
    }

    /// The session id of every message this kernel sends.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The signer for this session's key.
    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    /// A new header of this session.
    pub fn header(&self, msg_type: &str) -> Header {
        Header {
            msg_id: uuid::Uuid::new_v4().to_string(),
            username: "kernel".to_owned(),
            session: self.id.clone(),
            date: chrono::Utc::now(),
            msg_type: msg_type.to_owned(),
            version: PROTOCOL_VERSION.to_owned(),
        }
    }

    /// A message of `msg_type` answering `parent` through its routing identities.
    pub fn reply(&self, parent: &Message, msg_type: &str, content: impl Serialize) -> Message {
        Message {
            identities: parent.identities.clone(),
            header: self.header(msg_type),
            parent_header: Some(parent.header.clone()),
            metadata: Value::Object(Default::default()),
            content: to_object(content),
            buffers: Vec::new(),
        }
    }

    /// An iopub message of `msg_type` (topic `kernel.<session>.<msg_type>`) with `parent` as
    /// its parent header.
    pub fn iopub(
        &self,
        parent: Option<&Header>,
        msg_type: &str,
        content: impl Serialize,
    ) -> Message {
        Message {
            identities: vec![format!("kernel.{}.{}", self.id, msg_type).into_bytes()],
            header: self.header(msg_type),
            parent_header: parent.cloned(),
            metadata: Value::Object(Default::default()),
            content: to_object(content),
            buffers: Vec::new(),
        }
    }

    /// Frames of `message`, signed.
    pub fn encode(&self, message: &Message) -> Vec<Vec<u8>> {
        crate::wire::encode(message, &self.signer)
    }
}

/// Serialises content; content types of this crate and `jupyter-protocol` always serialise
/// (string keys only), so the fallback `{}` is never used in practice.
pub fn to_object(content: impl Serialize) -> Value {
    match serde_json::to_value(content) {
        Ok(value @ Value::Object(_)) => value,
        _ => Value::Object(Default::default()),
    }
}

/// `x_request` → `x_reply` (anything else gets `_reply` appended).
pub fn reply_type(request_type: &str) -> String {
    match request_type.strip_suffix("_request") {
        Some(stem) => format!("{stem}_reply"),
        None => format!("{request_type}_reply"),
    }
}

/// A successful `execute_reply`. `user_expressions` is an object, never `null` (the message
/// schema rejects `null`, the `jupyter-protocol` default).
pub fn execute_reply_ok(count: usize, payload: Vec<Payload>) -> ExecuteReply {
    ExecuteReply {
        status: ReplyStatus::Ok,
        execution_count: ExecutionCount::new(count),
        payload,
        user_expressions: Some(HashMap::new()),
        error: None,
    }
}

/// A failed (`error`) or `aborted` `execute_reply`.
pub fn execute_reply_failed(
    count: usize,
    status: ReplyStatus,
    error: Option<ReplyError>,
) -> ExecuteReply {
    ExecuteReply {
        status,
        execution_count: ExecutionCount::new(count),
        payload: Vec::new(),
        user_expressions: Some(HashMap::new()),
        error: error.map(Box::new),
    }
}

/// An `execute_result` with `transient` set to `{}` (the schema rejects `null`).
pub fn execute_result(count: usize, data: Media) -> ExecuteResult {
    ExecuteResult {
        execution_count: ExecutionCount::new(count),
        data,
        metadata: Default::default(),
        transient: Some(Transient::default()),
    }
}

/// An error reply of any type: `status: error` with the error's fields.
pub fn error_reply(ename: &str, evalue: &str) -> Value {
    serde_json::json!({
        "status": "error",
        "ename": ename,
        "evalue": evalue,
        "traceback": [],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_types() {
        assert_eq!(reply_type("kernel_info_request"), "kernel_info_reply");
        assert_eq!(reply_type("bogus"), "bogus_reply");
    }

    #[test]
    fn execute_messages_never_carry_null() {
        let reply = to_object(execute_reply_ok(3, Vec::new()));
        assert_eq!(reply["user_expressions"], serde_json::json!({}));
        assert_eq!(reply["execution_count"], 3);
        let failed = to_object(execute_reply_failed(
            1,
            ReplyStatus::Error,
            Some(ReplyError {
                ename: "E".into(),
                evalue: "v".into(),
                traceback: vec![],
            }),
        ));
        assert_eq!(failed["status"], "error");
        assert_eq!(failed["ename"], "E");
        let result = to_object(execute_result(2, Media::default()));
        assert_eq!(result["transient"], serde_json::json!({}));
    }
}
