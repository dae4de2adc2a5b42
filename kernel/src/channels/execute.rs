//! `execute_request`: a cell is numbered and announced on the shell's loop, then runs in its
//! mode — queued (one consumer runs queue-mode cells in order), as a task on the shell's loop,
//! or on a worker thread — and answers its request when it ends.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use async_kernel::caller::{Async, Caller, CallerOptions, Modifier, QueuedFunction};
use async_kernel::{Pending, PendingError};
use jupyter_protocol::{ReplyError, ReplyStatus};
use serde_json::{Value, json};

use super::kernel::{RunningCell, State, lock};
use crate::interpreter::{BoxFuture, CellContext, Outcome, OutputSink};
use crate::messages;
use crate::run_mode::RunMode;
use crate::wire::Message;

/// A cell waiting for or in execution.
pub(crate) struct Job {
    /// Order of submission of queue-mode cells (for `stop_on_error`).
    seq: u64,
    request: Message,
    code: String,
    count: usize,
    silent: bool,
    store_history: bool,
    stop_on_error: bool,
    allow_stdin: bool,
    mode: RunMode,
}

/// Output of one cell: iopub messages with the request as parent; input over stdin.
struct CellSink {
    state: Arc<State>,
    request: Message,
    allow_stdin: bool,
}

impl OutputSink for CellSink {
    fn publish(&self, msg_type: &str, content: Value) {
        self.state
            .iopub
            .publish(Some(&self.request.header), msg_type, content);
    }

    fn input(&self, prompt: &str, password: bool) -> BoxFuture<Option<String>> {
        if !self.allow_stdin {
            return Box::pin(async { None });
        }
        Box::pin(self.state.stdin.ask(&self.request, prompt, password))
    }
}

fn flag(content: &Value, name: &str, default: bool) -> bool {
    content
        .get(name)
        .and_then(Value::as_bool)
        .unwrap_or(default)
}

/// Handles an `execute_request` on the shell's loop: busy, `execute_input`, then hands the
/// cell to its mode. The reply and `idle` come when the cell ends.
pub(crate) fn submit(state: &Arc<State>, request: Message) {
    let parent = request.header.clone();
    state.iopub.status(Some(&parent), "busy");
    let Some(code) = request.content.get("code").and_then(Value::as_str) else {
        let reply = state.session.reply(
            &request,
            "execute_reply",
            messages::error_reply("ValueError", "execute_request without code"),
        );
        state.shell_out.send(state.session.encode(&reply));
        state.iopub.status(Some(&parent), "idle");
        return;
    };
    let code = code.to_owned();
    let silent = flag(&request.content, "silent", false);
    let store_history = flag(&request.content, "store_history", !silent) && !silent;
    let count = if store_history {
        state.execution_count.fetch_add(1, Ordering::AcqRel) + 1
    } else {
        state.execution_count.load(Ordering::Acquire)
    };
    if !silent {
        state.iopub.publish(
            Some(&parent),
            "execute_input",
            json!({"code": code, "execution_count": count}),
        );
    }
    if store_history {
        lock(&state.history).push(count, &code);
    }
    let mode = RunMode::of_cell(&code, &request.metadata);
    let job = Job {
        seq: state.submitted.fetch_add(1, Ordering::AcqRel),
        stop_on_error: flag(&request.content, "stop_on_error", true),
        allow_stdin: flag(&request.content, "allow_stdin", false),
        request,
        code,
        count,
        silent,
        store_history,
        mode,
    };
    match job.mode {
        RunMode::Queue => {
            if let Err(error) = state.shell.queue_call(&state.cells, job) {
                tracing::warn!(%error, "shell caller refused a cell (stopping)");
            }
        }
        RunMode::Task | RunMode::Thread(_) => {
            let runner = state.clone();
            let refused = state
                .shell
                .call_soon(Async(move || async move {
                    run_cell(&runner, job).await;
                }))
                .is_err();
            if refused {
                tracing::warn!("shell caller refused a cell (stopping)");
            }
        }
    }
}

/// The queued function of queue-mode cells: the shell's `queue_call` runs them one at a time,
/// in order. After a failed cell whose request asked for `stop_on_error`, every cell submitted
/// by then is answered `aborted` when its turn comes.
pub(crate) fn queued_cells(state: Weak<State>) -> QueuedFunction<Job, ()> {
    QueuedFunction::new(Async(move |job: Job| {
        let state = state.upgrade();
        async move {
            let Some(state) = state else { return };
            if job.seq < state.abort_below.load(Ordering::Acquire) {
                abort(&state, &job);
                return;
            }
            let stop_on_error = job.stop_on_error;
            if run_cell(&state, job).await && stop_on_error {
                let submitted = state.submitted.load(Ordering::Acquire);
                state.abort_below.fetch_max(submitted, Ordering::AcqRel);
            }
        }
    }))
}

fn abort(state: &Arc<State>, job: &Job) {
    let reply = messages::execute_reply_failed(job.count, ReplyStatus::Aborted, None);
    let reply = state.session.reply(&job.request, "execute_reply", reply);
    state.shell_out.send(state.session.encode(&reply));
    state.iopub.status(Some(&job.request.header), "idle");
}

/// The named caller of `-- thread name=NAME` cells: made by the first such cell, kept for later
/// ones (and stopped with the kernel).
fn named_worker(state: &Arc<State>, name: &str) -> Result<Caller, PendingError> {
    let mut named = lock(&state.named);
    if let Some(caller) = named.get(name).filter(|c| c.running()) {
        return Ok(caller.clone());
    }
    let caller = Caller::new(Modifier::NewThread, CallerOptions::named(name))
        .map_err(|e| PendingError::failed(e.to_string()))?;
    named.insert(name.to_owned(), caller.clone());
    Ok(caller)
}

/// Runs one cell to its end and answers its request; true when it failed.
async fn run_cell(state: &Arc<State>, job: Job) -> bool {
    let sink = Arc::new(CellSink {
        state: state.clone(),
        request: job.request.clone(),
        allow_stdin: job.allow_stdin,
    });
    let cell = CellContext::new(job.count, job.mode.clone(), sink);
    let execute = {
        let interpreter = state.interpreter.clone();
        let code = job.code.clone();
        let cell = cell.clone();
        move || interpreter.execute(code, cell)
    };
    // Registered before it is scheduled, so that an interrupt in between is not missed.
    let id = state.next_cell.fetch_add(1, Ordering::Relaxed);
    lock(&state.running).insert(
        id,
        RunningCell {
            cell: cell.clone(),
            pending: None,
        },
    );
    let scheduled: Result<Pending<Outcome>, PendingError> = match &job.mode {
        RunMode::Queue | RunMode::Task => state
            .shell
            .call_soon(Async(execute))
            .map_err(|e| PendingError::failed(e.to_string())),
        RunMode::Thread(None) => state
            .shell
            .to_thread(Async(execute))
            .map_err(|e| PendingError::failed(e.to_string())),
        RunMode::Thread(Some(name)) => named_worker(state, name).and_then(|caller| {
            caller
                .call_soon(Async(execute))
                .map_err(|e| PendingError::failed(e.to_string()))
        }),
    };
    if let Ok(pending) = &scheduled {
        if let Some(entry) = lock(&state.running).get_mut(&id) {
            entry.pending = Some(pending.clone());
        }
        if cell.is_cancelled() {
            pending.cancel(Some("KeyboardInterrupt"));
        }
    }
    let outcome = match scheduled {
        Ok(pending) => match pending.await {
            Ok(outcome) => outcome,
            Err(_) if cell.is_cancelled() => Outcome::interrupted(),
            Err(error) => Outcome::Error {
                ename: "KernelError".into(),
                evalue: error.to_string(),
                traceback: vec![format!("KernelError: {error}")],
            },
        },
        Err(error) => Outcome::Error {
            ename: "KernelError".into(),
            evalue: error.to_string(),
            traceback: vec![format!("KernelError: {error}")],
        },
    };
    lock(&state.running).remove(&id);
    let parent = &job.request.header;
    let (reply, failed) = match outcome {
        Outcome::Ok { result, payload } => {
            if let Some(data) = result {
                if job.store_history {
                    let text = serde_json::to_value(&data).ok().and_then(|v| {
                        v.get("text/plain")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                    });
                    if let Some(text) = text {
                        lock(&state.history).set_output(job.count, text);
                    }
                }
                if !job.silent {
                    state.iopub.publish(
                        Some(parent),
                        "execute_result",
                        messages::execute_result(job.count, data),
                    );
                }
            }
            (messages::execute_reply_ok(job.count, payload), false)
        }
        Outcome::Error {
            ename,
            evalue,
            traceback,
        } => {
            state.iopub.publish(
                Some(parent),
                "error",
                json!({"ename": ename, "evalue": evalue, "traceback": traceback}),
            );
            let error = ReplyError {
                ename,
                evalue,
                traceback,
            };
            (
                messages::execute_reply_failed(job.count, ReplyStatus::Error, Some(error)),
                true,
            )
        }
    };
    let reply = state.session.reply(&job.request, "execute_reply", reply);
    state.shell_out.send(state.session.encode(&reply));
    state.iopub.status(Some(parent), "idle");
    failed
}
