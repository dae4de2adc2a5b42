//! The language side of the kernel: an [`Interpreter`] executes cells and answers completion,
//! inspection and completeness; the kernel gives each cell a [`CellContext`] to publish output,
//! read input and see cancellation.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_kernel::Event;

use jupyter_protocol::{LanguageInfo, Media, Payload};
use serde_json::Value;

use crate::run_mode::RunMode;

/// A boxed future that can move between threads.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What a cell ended with.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// It ran to its end.
    Ok {
        /// Its value, shown as `execute_result` (a cell that is an expression).
        result: Option<Media>,
        /// Front-end actions (a pager for `help`).
        payload: Vec<Payload>,
    },
    /// It failed; the kernel publishes an `error` output with these fields.
    Error {
        /// The error's name (`KeyboardInterrupt` after an interrupt).
        ename: String,
        /// Its message.
        evalue: String,
        /// Its traceback, one line per item.
        traceback: Vec<String>,
    },
}

impl Outcome {
    /// The outcome of an interrupted cell.
    pub fn interrupted() -> Outcome {
        Outcome::Error {
            ename: "KeyboardInterrupt".into(),
            evalue: "interrupted".into(),
            traceback: vec!["KeyboardInterrupt: interrupted".into()],
        }
    }
}

/// Completion candidates for the text between `cursor_start` and `cursor_end`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Completion {
    /// Replacements for the text between the two cursors.
    pub matches: Vec<String>,
    /// Start (in characters) of the text the matches replace.
    pub cursor_start: usize,
    /// End (in characters) of that text.
    pub cursor_end: usize,
}

/// Whether code is ready to run (`is_complete_reply`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completeness {
    /// Ready.
    Complete,
    /// More lines are needed; the indent suggests the next line's.
    Incomplete(String),
    /// It can never run (a syntax error that more text cannot fix).
    Invalid,
    /// The interpreter cannot tell.
    Unknown,
}

/// Where a cell's output goes: the kernel implements it over iopub with the request's header
/// as the parent; tests implement it over a vector.
pub trait OutputSink: Send + Sync {
    /// Publishes an iopub message of `msg_type` with `content` for this cell.
    fn publish(&self, msg_type: &str, content: Value);
    /// Asks the front-end for a line of input (`input_request` on stdin) and waits for it.
    /// `None` when the request did not allow stdin or the front-end went away.
    fn input(&self, prompt: &str, password: bool) -> BoxFuture<Option<String>>;
}

/// A cell's handle on the kernel: output, input, cancellation. Cheap to clone.
#[derive(Clone)]
pub struct CellContext {
    inner: Arc<CellInner>,
}

struct CellInner {
    execution_count: usize,
    mode: RunMode,
    sink: Arc<dyn OutputSink>,
    cancelled: Event,
}

impl std::fmt::Debug for CellContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CellContext")
            .field("execution_count", &self.inner.execution_count)
            .field("mode", &self.inner.mode)
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl CellContext {
    /// A context for the cell numbered `execution_count`, running in `mode`.
    pub fn new(execution_count: usize, mode: RunMode, sink: Arc<dyn OutputSink>) -> CellContext {
        CellContext {
            inner: Arc::new(CellInner {
                execution_count,
                mode,
                sink,
                cancelled: Event::new(),
            }),
        }
    }

    /// The cell's execution count.
    pub fn execution_count(&self) -> usize {
        self.inner.execution_count
    }

    /// How the cell runs (a worker thread may block; a loop must not).
    pub fn mode(&self) -> &RunMode {
        &self.inner.mode
    }

    /// True once the cell was interrupted; an interpreter stops the cell soon after.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.is_set()
    }

    /// Resolves once the cell is interrupted (for racing against a wait).
    pub fn cancelled(&self) -> BoxFuture<()> {
        let wait = self.inner.cancelled.wait();
        Box::pin(async move {
            let _ = wait.await;
        })
    }

    /// Marks the cell interrupted (the kernel does this on `interrupt_request`).
    pub fn cancel(&self) {
        self.inner.cancelled.set();
    }

    /// Writes to `stdout` or `stderr` (a `stream` output).
    pub fn stream(&self, name: &str, text: &str) {
        self.publish("stream", serde_json::json!({"name": name, "text": text}));
    }

    /// Shows a MIME bundle (a `display_data` output).
    pub fn display(&self, data: Media) {
        self.publish(
            "display_data",
            serde_json::json!({"data": data, "metadata": {}, "transient": {}}),
        );
    }

    /// Clears the cell's output, now or (with `wait`) when the next output arrives.
    pub fn clear_output(&self, wait: bool) {
        self.publish("clear_output", serde_json::json!({"wait": wait}));
    }

    /// Publishes any iopub message for this cell.
    pub fn publish(&self, msg_type: &str, content: Value) {
        self.inner.sink.publish(msg_type, content);
    }

    /// Asks the front-end for input; `None` when stdin is not allowed for this request.
    pub fn input(&self, prompt: &str, password: bool) -> BoxFuture<Option<String>> {
        self.inner.sink.input(prompt, password)
    }

    /// True when both handles are of the same cell.
    pub fn same_cell(&self, other: &CellContext) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

/// A language for the kernel. One interpreter serves every cell; cells of different run modes
/// may call it from different threads at once, so state it keeps is shared across them (as the
/// globals of one session are).
pub trait Interpreter: Send + Sync + 'static {
    /// `kernel_info_reply.language_info`.
    fn language_info(&self) -> LanguageInfo;

    /// `kernel_info_reply.banner`.
    fn banner(&self) -> String;

    /// Runs a cell. Output goes through `cell`; the future ends with the cell's outcome. The
    /// kernel may drop the future at an await point to cancel the cell (after
    /// [`CellContext::cancel`]): stop promptly and keep the session's state usable.
    fn execute(&self, code: String, cell: CellContext) -> BoxFuture<Outcome>;

    /// Completion candidates at `cursor_pos` (in characters).
    fn complete(&self, code: &str, cursor_pos: usize) -> Completion;

    /// Help on the name at `cursor_pos`: a MIME bundle, or `None` when nothing is found.
    fn inspect(&self, code: &str, cursor_pos: usize, detail_level: u8) -> Option<Media>;

    /// Whether `code` is ready to run.
    fn is_complete(&self, code: &str) -> Completeness;
}
