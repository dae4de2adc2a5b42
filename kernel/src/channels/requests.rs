//! Requests other than `execute_request`, on shell and control: each is answered at once,
//! between `status: busy` and `status: idle`, whatever cells are running.

use std::sync::Arc;

use serde_json::{Value, json};

use super::execute;
use super::kernel::{State, lock};
use crate::history::HistoryQuery;
use crate::interpreter::Completeness;
use crate::messages::{self, PROTOCOL_VERSION};
use crate::wire::Message;

/// The comm target that echoes every `comm_msg` back (for front-ends and tests that check a
/// comm round trip while a cell runs).
pub const ECHO_TARGET: &str = "async_kernel.echo";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Channel {
    Shell,
    Control,
}

/// A request that arrived on shell (runs on the shell's caller).
pub(crate) fn dispatch_shell(state: &Arc<State>, message: Message) {
    if message.header.msg_type == "execute_request" {
        execute::submit(state, message);
    } else {
        answer(state, message, Channel::Shell);
    }
}

/// A request that arrived on control (runs on the control caller).
pub(crate) fn dispatch_control(state: &Arc<State>, message: Message) {
    answer(state, message, Channel::Control);
}

fn answer(state: &Arc<State>, message: Message, channel: Channel) {
    let msg_type = message.header.msg_type.clone();
    state.iopub.status(Some(&message.header), "busy");
    let content = match handle(state, &message, channel) {
        Ok(Some(content)) => Some(content),
        Ok(None) => None,
        Err(reason) => {
            tracing::warn!(%msg_type, %reason, "malformed request");
            Some(messages::error_reply("ValueError", &reason))
        }
    };
    if let Some(content) = content {
        let reply_type = messages::reply_type(&msg_type);
        let reply = state.session.reply(&message, &reply_type, content);
        let frames = state.session.encode(&reply);
        match channel {
            Channel::Shell => state.shell_out.send(frames),
            Channel::Control => state.control_out.send(frames),
        }
    }
    state.iopub.status(Some(&message.header), "idle");
    if msg_type == "shutdown_request" {
        state.shutdown.set();
    }
}

fn field<'a>(content: &'a Value, name: &str) -> Result<&'a Value, String> {
    content
        .get(name)
        .ok_or_else(|| format!("the request has no {name:?}"))
}

fn string<'a>(content: &'a Value, name: &str) -> Result<&'a str, String> {
    field(content, name)?
        .as_str()
        .ok_or_else(|| format!("{name:?} is not a string"))
}

fn cursor(content: &Value, code: &str) -> usize {
    content
        .get("cursor_pos")
        .and_then(Value::as_u64)
        .and_then(|c| usize::try_from(c).ok())
        .unwrap_or_else(|| code.chars().count())
}

/// The reply content of a request, `None` for messages that get no reply (`comm_msg`,
/// `comm_close`, unknown types), or why the request is malformed.
fn handle(
    state: &Arc<State>,
    message: &Message,
    channel: Channel,
) -> Result<Option<Value>, String> {
    let content = &message.content;
    let reply = match message.header.msg_type.as_str() {
        "kernel_info_request" => kernel_info(state),
        "complete_request" => {
            let code = string(content, "code")?;
            let c = state.interpreter.complete(code, cursor(content, code));
            json!({"status": "ok", "matches": c.matches, "cursor_start": c.cursor_start,
                   "cursor_end": c.cursor_end, "metadata": {}})
        }
        "inspect_request" => {
            let code = string(content, "code")?;
            let detail = content
                .get("detail_level")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            let found = state.interpreter.inspect(
                code,
                cursor(content, code),
                u8::try_from(detail).unwrap_or(1),
            );
            match found {
                Some(data) => json!({"status": "ok", "found": true, "data": data, "metadata": {}}),
                None => json!({"status": "ok", "found": false, "data": {}, "metadata": {}}),
            }
        }
        "is_complete_request" => {
            let code = string(content, "code")?;
            match state.interpreter.is_complete(code) {
                Completeness::Complete => json!({"status": "complete"}),
                Completeness::Incomplete(indent) => {
                    json!({"status": "incomplete", "indent": indent})
                }
                Completeness::Invalid => json!({"status": "invalid"}),
                Completeness::Unknown => json!({"status": "unknown"}),
            }
        }
        "history_request" => {
            let query: HistoryQuery =
                serde_json::from_value(content.clone()).map_err(|e| e.to_string())?;
            let history = lock(&state.history).answer(&query);
            json!({"status": "ok", "history": history})
        }
        "comm_info_request" => {
            let target = content.get("target_name").and_then(Value::as_str);
            let comms: serde_json::Map<String, Value> = lock(&state.comms)
                .iter()
                .filter(|(_, t)| target.is_none_or(|want| want == t.as_str()))
                .map(|(id, t)| (id.clone(), json!({"target_name": t})))
                .collect();
            json!({"status": "ok", "comms": comms})
        }
        "comm_open" => {
            let id = string(content, "comm_id")?.to_owned();
            let target = string(content, "target_name")?.to_owned();
            if target == ECHO_TARGET {
                lock(&state.comms).insert(id, target);
            } else {
                // No such target here: close it at once, as the protocol asks.
                state.iopub.publish(
                    Some(&message.header),
                    "comm_close",
                    json!({"comm_id": id, "data": {}}),
                );
            }
            return Ok(None);
        }
        "comm_msg" => {
            let id = string(content, "comm_id")?;
            let open = lock(&state.comms).contains_key(id);
            if open {
                let data = content.get("data").cloned().unwrap_or_else(|| json!({}));
                state.iopub.publish(
                    Some(&message.header),
                    "comm_msg",
                    json!({"comm_id": id, "data": data}),
                );
            } else {
                tracing::warn!(comm_id = %id, "comm_msg for no open comm");
            }
            return Ok(None);
        }
        "comm_close" => {
            let id = string(content, "comm_id")?;
            lock(&state.comms).remove(id);
            return Ok(None);
        }
        "interrupt_request" => {
            let interrupted = state.interrupt_all();
            tracing::info!(cells = interrupted, "interrupt");
            json!({"status": "ok"})
        }
        "shutdown_request" => {
            let restart = content
                .get("restart")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            state.interrupt_all();
            let reply = json!({"status": "ok", "restart": restart});
            state
                .iopub
                .publish(Some(&message.header), "shutdown_reply", reply.clone());
            reply
        }
        "debug_request" if channel == Channel::Control => {
            json!({"status": "error", "ename": "NotImplemented",
                   "evalue": "this kernel has no debugger", "traceback": []})
        }
        other => {
            tracing::warn!(msg_type = %other, "unknown message type; not answered");
            return Ok(None);
        }
    };
    Ok(Some(reply))
}

fn kernel_info(state: &Arc<State>) -> Value {
    json!({
        "status": "ok",
        "protocol_version": PROTOCOL_VERSION,
        "implementation": "async-kernel",
        "implementation_version": env!("CARGO_PKG_VERSION"),
        "language_info": state.interpreter.language_info(),
        "banner": state.interpreter.banner(),
        "help_links": [],
        "debugger": false,
        "supported_features": ["iopub_welcome"],
    })
}
