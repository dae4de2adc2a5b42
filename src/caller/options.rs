//! How callers are created and how calls are scheduled: modifiers, options, states, errors.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use crate::backend::{Backend, BackendOptions};
use crate::context::Context;
use crate::error::InvalidStateError;
use crate::metadata::MetaValue;

/// How [`Caller::new`](super::Caller::new) finds or creates a caller (SPEC C1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Modifier {
    /// The caller of the current thread; created (not yet running) when there is none. A
    /// caller of an existing thread runs when that thread enters it with
    /// [`run`](super::Caller::run) or [`run_async`](super::Caller::run_async).
    #[default]
    CurrentThread,
    /// The caller of the thread that runs `fn main` (the thread named `"main"`).
    MainThread,
    /// A new caller on a new thread, named after the caller, started at once.
    NewThread,
    /// A new caller for the current thread, not started; an error if the thread has one.
    Manual,
}

#[cfg(feature = "zmq")]
pub use crate::iopub::ZmqContext;

/// Stands in for a ZeroMQ context when the `zmq` feature is off: no value of it can be made,
/// so `CallerOptions::zmq_context` is always `None`. With the feature this is
/// `iopub::ZmqContext`.
#[cfg(not(feature = "zmq"))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZmqContext {
    _private: (),
}

/// Options for creating a caller (SPEC C3; the reference's `CallerCreateOptions`).
#[derive(Debug, Clone, Default)]
pub struct CallerOptions {
    /// The caller's name (a new thread gets it as its name; default `async_kernel_caller`).
    pub name: Option<String>,
    /// The event loop; default: the backend running on this thread, or tokio for a new one.
    pub backend: Option<Backend>,
    /// Backend-specific options.
    pub backend_options: Option<BackendOptions>,
    /// A protected caller ignores [`stop`](super::Caller::stop) unless forced.
    pub protected: bool,
    /// ZeroMQ context: with one, the caller opens its own iopub socket while it runs
    /// (SPEC C15; the `zmq` feature, see `async_kernel::iopub`); children inherit it (SPEC C11).
    pub zmq_context: Option<ZmqContext>,
    /// The span every call of this caller runs under (the reference's `log`); default: a span
    /// named `caller` with the caller's name.
    pub log: Option<tracing::Span>,
}

impl CallerOptions {
    /// Options with `name` set.
    pub fn named(name: impl Into<String>) -> Self {
        CallerOptions {
            name: Some(name.into()),
            ..Default::default()
        }
    }

    /// Sets the name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the backend.
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = Some(backend);
        self
    }

    /// Sets the backend options.
    pub fn backend_options(mut self, options: BackendOptions) -> Self {
        self.backend_options = Some(options);
        self
    }

    /// Sets `protected`.
    pub fn protected(mut self, protected: bool) -> Self {
        self.protected = protected;
        self
    }

    /// Sets the ZeroMQ context (SPEC C15).
    pub fn zmq_context(mut self, context: ZmqContext) -> Self {
        self.zmq_context = Some(context);
        self
    }

    /// Sets the span calls run under.
    pub fn log(mut self, span: tracing::Span) -> Self {
        self.log = Some(span);
        self
    }
}

/// Options of one scheduled call (SPEC C8): the context it runs in, its metadata, whether
/// trackers see it, and a delay.
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    pub(crate) context: Option<Context>,
    pub(crate) metadata: Vec<(Cow<'static, str>, MetaValue)>,
    pub(crate) untracked: bool,
    pub(crate) delay: Option<Duration>,
}

impl CallOptions {
    /// Default options: the current context, tracked, no delay, no metadata.
    pub fn new() -> Self {
        CallOptions::default()
    }

    /// Runs the call in `context` instead of a snapshot of the current one.
    pub fn context(mut self, context: Context) -> Self {
        self.context = Some(context);
        self
    }

    /// Adds a metadata pair to the call's pending.
    pub fn metadata(
        mut self,
        key: impl Into<Cow<'static, str>>,
        value: impl Into<MetaValue>,
    ) -> Self {
        self.metadata.push((key.into(), value.into()));
        self
    }

    /// Whether trackers of the context see the call's pending (default true).
    pub fn allow_tracking(mut self, allow: bool) -> Self {
        self.untracked = !allow;
        self
    }

    /// Runs the call no sooner than `delay` after it was scheduled.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }
}

/// The life cycle of a caller (SPEC C4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CallerState {
    /// Created, not started.
    Initial = 0,
    /// Its thread is starting.
    StartSync = 1,
    /// Running calls.
    Running = 2,
    /// Cancelling its work and stopping its children.
    Stopping = 3,
    /// Done; it will not run again.
    Stopped = 4,
}

impl CallerState {
    pub(crate) fn from_u8(v: u8) -> CallerState {
        match v {
            0 => CallerState::Initial,
            1 => CallerState::StartSync,
            2 => CallerState::Running,
            3 => CallerState::Stopping,
            _ => CallerState::Stopped,
        }
    }

    /// How `Debug` shows the state.
    pub(crate) fn badge(self) -> &'static str {
        match self {
            CallerState::Initial => "❗ not running",
            CallerState::StartSync => "starting",
            CallerState::Running => "🏃 running",
            CallerState::Stopping => "🏁 stopping",
            CallerState::Stopped => "🏁 stopped",
        }
    }
}

impl fmt::Display for CallerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CallerState::Initial => "initial",
            CallerState::StartSync => "starting",
            CallerState::Running => "running",
            CallerState::Stopping => "stopping",
            CallerState::Stopped => "stopped",
        })
    }
}

/// What went wrong creating, entering or using a caller. Cheap to clone, like
/// [`PendingError`](crate::PendingError).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum CallerError {
    /// Work was handed to a caller that no longer accepts it (SPEC C7).
    #[error("caller {caller:?} is {state}; it no longer accepts work")]
    NotAccepting {
        /// The caller's name.
        caller: String,
        /// Its state.
        state: CallerState,
    },
    /// The thread's caller has another name (SPEC C2).
    #[error("the caller of this thread is named {existing:?}, not {requested:?}")]
    NameMismatch {
        /// The existing caller's name.
        existing: String,
        /// The name asked for.
        requested: String,
    },
    /// The existing caller runs another backend (SPEC C2, C11).
    #[error("the caller {caller:?} runs the {existing} backend, not {requested}")]
    BackendMismatch {
        /// The existing caller's name.
        caller: String,
        /// Its backend.
        existing: Backend,
        /// The backend asked for.
        requested: Backend,
    },
    /// No backend was given and none can be determined (SPEC C2).
    #[error(
        "no backend was given and none can be determined on this thread (no tokio runtime is running here and more than one backend is compiled in); pass a backend in CallerOptions or use Modifier::NewThread"
    )]
    NoBackend,
    /// The backend is not compiled into this build.
    #[error("the {0} backend is not compiled in; enable the `{0}` feature")]
    BackendUnavailable(Backend),
    /// `Modifier::Manual` on a thread that already has a caller (SPEC C1).
    #[error("thread {thread:?} already has a caller; Modifier::Manual creates a new one only")]
    AlreadyExists {
        /// The thread's name.
        thread: String,
    },
    /// `Modifier::MainThread` from another thread while the main thread has no caller.
    #[error("the main thread has no caller yet; create it from the main thread")]
    NoMainThreadCaller,
    /// The caller's thread or runtime could not be created.
    #[error("could not start caller {caller:?}")]
    Start {
        /// The caller's name.
        caller: String,
        /// Why (the error's `source`). In an `Arc`, so that the error can be cloned.
        #[source]
        source: std::sync::Arc<std::io::Error>,
    },
    /// The caller cannot be entered or started in its state (SPEC C4).
    #[error("caller {caller:?} cannot be {action} while it is {state}")]
    WrongState {
        /// The caller's name.
        caller: String,
        /// What was attempted.
        action: &'static str,
        /// Its state.
        state: CallerState,
    },
    /// A caller bound to another thread was entered from this one.
    #[error("caller {caller:?} belongs to another thread; enter it from its own thread")]
    WrongThread {
        /// The caller's name.
        caller: String,
    },
    /// The caller's name contains a NUL byte (it names the caller's thread, and thread names
    /// cannot hold one).
    #[error("caller name {name:?} contains a NUL byte, which a thread name cannot hold")]
    InvalidName {
        /// The name asked for.
        name: String,
    },
    /// [`join`](super::Caller::join) was called on the caller's own thread, which would wait for
    /// itself.
    #[error(
        "caller {caller:?} cannot be joined from its own thread; it would wait for itself (call stop and return instead)"
    )]
    JoinOwnThread {
        /// The caller's name.
        caller: String,
    },
    /// `as_completed` or `wait` was given the pending of the very call that waits (SPEC W2): it
    /// would wait for itself.
    #[error(
        "as_completed or wait was given the pending of the running call; it would wait for itself"
    )]
    WaitsForItself {
        /// The pending, as `Debug` shows it.
        pending: String,
    },
    /// The call's pending could not be created (a tracker of its context is exiting, SPEC P3).
    #[error(transparent)]
    InvalidState(#[from] InvalidStateError),
}
