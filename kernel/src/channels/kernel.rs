//! [`Kernel`]: binds the channels of a connection file, runs requests until a
//! `shutdown_request`, then stops everything in order.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_kernel::caller::{Caller, CallerOptions, Modifier, QueuedFunction};
use async_kernel::{Event, Pending};

use super::execute::{self, Job};
use super::heartbeat::Heartbeat;
use super::iopub::{self, Iopub};
use super::requests;
use super::socket::{self, Outbox};
use super::stdin::{Stdin, Waiting};
use crate::connection::{ChannelKind, ConnectionInfo};
use crate::history::History;
use crate::interpreter::{CellContext, Interpreter, Outcome};
use crate::messages::Session;

/// Why the kernel could not start.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    /// A socket could not be opened or bound.
    #[error("cannot open the {channel} channel at {endpoint}: {source}")]
    Bind {
        /// Which channel.
        channel: &'static str,
        /// Its endpoint.
        endpoint: String,
        /// The reason.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A caller could not be started.
    #[error("cannot start the {0} caller: {1}")]
    Caller(&'static str, #[source] async_kernel::CallerError),
}

/// A cell that is running: its context (to interrupt it) and the pending of its execution.
pub(crate) struct RunningCell {
    pub(crate) cell: CellContext,
    pub(crate) pending: Option<Pending<Outcome>>,
}

/// Everything the handlers share.
pub(crate) struct State {
    pub(crate) session: Session,
    pub(crate) interpreter: Arc<dyn Interpreter>,
    pub(crate) iopub: Iopub,
    pub(crate) shell_out: Outbox,
    pub(crate) control_out: Outbox,
    pub(crate) stdin: Stdin,
    pub(crate) shell: Caller,
    pub(crate) execution_count: AtomicUsize,
    pub(crate) history: Mutex<History>,
    pub(crate) running: Mutex<HashMap<u64, RunningCell>>,
    pub(crate) next_cell: AtomicU64,
    /// Queue-mode cells, run by the shell's `queue_call`.
    pub(crate) cells: QueuedFunction<Job, ()>,
    /// Queue-mode cells submitted so far.
    pub(crate) submitted: AtomicU64,
    /// Queue-mode cells submitted before this number are aborted (`stop_on_error`).
    pub(crate) abort_below: AtomicU64,
    pub(crate) named: Mutex<HashMap<String, Caller>>,
    pub(crate) comms: Mutex<HashMap<String, String>>,
    pub(crate) shutdown: Event,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    /// Interrupts every running cell: its context sees the cancellation and its pending is
    /// cancelled (an awaiting cell stops there; a busy one at the interpreter's next check).
    pub(crate) fn interrupt_all(&self) -> usize {
        let running = lock(&self.running);
        for cell in running.values() {
            cell.cell.cancel();
            if let Some(pending) = &cell.pending {
                pending.cancel(Some("KeyboardInterrupt"));
            }
        }
        running.len()
    }
}

/// Interrupts a kernel's running cells; see [`Kernel::interrupter`].
#[derive(Clone)]
pub struct Interrupter {
    state: Arc<State>,
}

impl std::fmt::Debug for Interrupter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Interrupter")
    }
}

impl Interrupter {
    /// Interrupts every running cell; returns how many there were.
    pub fn interrupt(&self) -> usize {
        self.state.interrupt_all()
    }
}

/// A running kernel.
pub struct Kernel {
    state: Arc<State>,
    control: Caller,
    heartbeat: Option<Heartbeat>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Kernel {
    /// Binds every channel the connection file names (and nothing else) and starts serving
    /// with `interpreter`.
    ///
    /// # Errors
    /// [`KernelError`] when a socket cannot be bound or a caller cannot start.
    pub fn start(
        connection: &ConnectionInfo,
        interpreter: Arc<dyn Interpreter>,
    ) -> Result<Kernel, KernelError> {
        let context = zmq::Context::new();
        let session = Session::new(connection.key.as_bytes());
        let bind_error = |channel: &'static str, kind: ChannelKind| {
            let endpoint = connection.endpoint(kind);
            move |source: Box<dyn std::error::Error + Send + Sync>| KernelError::Bind {
                channel,
                endpoint,
                source,
            }
        };
        let pipe = |name: &'static str, kind| {
            socket::pipe(&context, name).map_err(|e| bind_error(name, kind)(Box::new(e)))
        };

        let (iopub, iopub_thread) = iopub::spawn(
            &context,
            &connection.endpoint(ChannelKind::Iopub),
            session.clone(),
        )
        .map_err(bind_error("iopub", ChannelKind::Iopub))?;
        let heartbeat = Heartbeat::spawn(&context, &connection.endpoint(ChannelKind::Heartbeat))
            .map_err(bind_error("heartbeat", ChannelKind::Heartbeat))?;
        let (shell_pull, shell_out) = pipe("shell", ChannelKind::Shell)?;
        let (control_pull, control_out) = pipe("control", ChannelKind::Control)?;
        let (stdin_pull, stdin_out) = pipe("stdin", ChannelKind::Stdin)?;

        let shell = Caller::new(Modifier::NewThread, CallerOptions::named("shell"))
            .map_err(|e| KernelError::Caller("shell", e))?;
        let control = Caller::new(Modifier::NewThread, CallerOptions::named("control"))
            .map_err(|e| KernelError::Caller("control", e))?;

        let waiting = Arc::new(Waiting::default());
        let state = Arc::new_cyclic(|weak| State {
            stdin: Stdin {
                outbox: stdin_out,
                session: session.clone(),
                waiting: waiting.clone(),
            },
            session: session.clone(),
            interpreter,
            iopub,
            shell_out,
            control_out,
            shell: shell.clone(),
            execution_count: AtomicUsize::new(0),
            history: Mutex::new(History::new()),
            running: Mutex::new(HashMap::new()),
            next_cell: AtomicU64::new(0),
            cells: execute::queued_cells(weak.clone()),
            submitted: AtomicU64::new(0),
            abort_below: AtomicU64::new(0),
            named: Mutex::new(HashMap::new()),
            comms: Mutex::new(HashMap::new()),
            shutdown: Event::new(),
        });

        let mut threads = vec![iopub_thread];
        let signer = session.signer().clone();

        let to_shell = state.clone();
        threads.push(
            socket::spawn_router(
                &context,
                "shell",
                &connection.endpoint(ChannelKind::Shell),
                signer.clone(),
                shell_pull,
                move |message| {
                    let state = to_shell.clone();
                    if let Err(error) = to_shell
                        .shell
                        .call_soon(move || requests::dispatch_shell(&state, message))
                    {
                        tracing::warn!(%error, "shell caller refused a request");
                    }
                },
            )
            .map_err(bind_error("shell", ChannelKind::Shell))?,
        );
        let to_control = state.clone();
        let control_caller = control.clone();
        threads.push(
            socket::spawn_router(
                &context,
                "control",
                &connection.endpoint(ChannelKind::Control),
                signer.clone(),
                control_pull,
                move |message| {
                    let state = to_control.clone();
                    if let Err(error) = control_caller
                        .call_soon(move || requests::dispatch_control(&state, message))
                    {
                        tracing::warn!(%error, "control caller refused a request");
                    }
                },
            )
            .map_err(bind_error("control", ChannelKind::Control))?,
        );
        threads.push(
            socket::spawn_router(
                &context,
                "stdin",
                &connection.endpoint(ChannelKind::Stdin),
                signer,
                stdin_pull,
                move |message| waiting.deliver(message),
            )
            .map_err(bind_error("stdin", ChannelKind::Stdin))?,
        );

        tracing::info!(session = %session.id(), "kernel started");
        Ok(Kernel {
            state,
            control,
            heartbeat: Some(heartbeat),
            threads,
        })
    }

    /// Interrupts every running cell (what `interrupt_request` and SIGINT do).
    pub fn interrupt(&self) {
        self.state.interrupt_all();
    }

    /// A handle that interrupts the running cells from any thread (a signal handler's).
    pub fn interrupter(&self) -> Interrupter {
        Interrupter {
            state: self.state.clone(),
        }
    }

    /// An event set when a `shutdown_request` was answered.
    pub fn shutdown_requested(&self) -> Event {
        self.state.shutdown.clone()
    }

    /// Blocks until a `shutdown_request`, then stops: cells are cancelled, the callers stop
    /// (shell and its workers, then control), the sockets close.
    pub fn run_until_shutdown(self) {
        let _ = self.state.shutdown.wait_sync(None);
        self.stop();
    }

    /// Stops at once (as after a `shutdown_request`).
    pub fn stop(mut self) {
        self.state.interrupt_all();
        let named: Vec<Caller> = lock(&self.state.named).drain().map(|(_, c)| c).collect();
        for caller in named.iter().chain([&self.state.shell, &self.control]) {
            caller.stop(true);
        }
        for caller in named.iter().chain([&self.state.shell, &self.control]) {
            if let Err(error) = caller.join() {
                tracing::warn!(%error, "a caller did not stop cleanly");
            }
        }
        self.state.shell_out.stop();
        self.state.control_out.stop();
        self.state.stdin.outbox.stop();
        self.state.iopub.stop();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.stop();
        }
        // The sockets are closed; give ZeroMQ's I/O thread a moment to put the last replies
        // (shutdown_reply) on the wire before the process ends.
        std::thread::sleep(Duration::from_millis(20));
        tracing::info!("kernel stopped");
    }
}
