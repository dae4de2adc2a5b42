//! Event-loop backends (the reference's anyio backends): which single-threaded executor runs a
//! caller's thread. Everything backend-specific lives in one file per backend; the scheduler
//! sees only [`LocalSpawner`] and [`Runtime`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Instant;

#[cfg(feature = "smol")]
mod smol;
#[cfg(feature = "tokio")]
mod tokio;

/// A boxed future that stays on its thread.
pub(crate) type LocalFuture<T> = Pin<Box<dyn Future<Output = T> + 'static>>;

/// The event loop a caller runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// A tokio current-thread runtime with a `LocalSet` (feature `tokio`, the default).
    Tokio,
    /// smol's `LocalExecutor` driven by `async-io` (feature `smol`).
    Smol,
}

impl Backend {
    /// The backend used when none is given for a new thread: tokio when compiled in.
    pub fn default_for_new_thread() -> Option<Backend> {
        if cfg!(feature = "tokio") {
            Some(Backend::Tokio)
        } else if cfg!(feature = "smol") {
            Some(Backend::Smol)
        } else {
            None
        }
    }

    /// The backend compiled into this build, when exactly one is (a caller of an existing
    /// thread then needs no [`CallerOptions::backend`](crate::caller::CallerOptions::backend)).
    pub fn only_compiled() -> Option<Backend> {
        match (cfg!(feature = "tokio"), cfg!(feature = "smol")) {
            (true, false) => Some(Backend::Tokio),
            (false, true) => Some(Backend::Smol),
            _ => None,
        }
    }

    /// The backend running on the current thread, when it can be told: a tokio runtime
    /// context is visible; smol has no such marker.
    pub fn detect() -> Option<Backend> {
        #[cfg(feature = "tokio")]
        if ::tokio::runtime::Handle::try_current().is_ok() {
            return Some(Backend::Tokio);
        }
        None
    }

    /// True when this build includes the backend.
    pub fn is_available(self) -> bool {
        match self {
            Backend::Tokio => cfg!(feature = "tokio"),
            Backend::Smol => cfg!(feature = "smol"),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Tokio => "tokio",
            Backend::Smol => "smol",
        })
    }
}

/// Typed options for a backend (the reference's `backend_options`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum BackendOptions {
    /// The backend's defaults.
    #[default]
    Default,
    /// Options for [`Backend::Tokio`].
    Tokio(TokioOptions),
}

/// Options for a tokio caller runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokioOptions {
    /// Enable the I/O driver (sockets, pipes). Default true.
    pub enable_io: bool,
    /// Polls of local tasks between checks for I/O and timer events (tokio's
    /// `event_interval`). `None` keeps tokio's default.
    pub event_interval: Option<u32>,
    /// Stack size of a new caller thread, in bytes. `None` keeps the platform default.
    pub thread_stack_size: Option<usize>,
}

impl Default for TokioOptions {
    fn default() -> Self {
        TokioOptions {
            enable_io: true,
            event_interval: None,
            thread_stack_size: None,
        }
    }
}

impl BackendOptions {
    /// The stack size a new caller thread asks for.
    pub(crate) fn thread_stack_size(&self) -> Option<usize> {
        match self {
            BackendOptions::Tokio(t) => t.thread_stack_size,
            BackendOptions::Default => None,
        }
    }
}

/// What the scheduler needs from the loop it runs in.
pub(crate) trait LocalSpawner {
    /// Runs `future` as a task of this thread's loop.
    fn spawn(&self, future: LocalFuture<()>);
    /// A future that resolves at `deadline`.
    fn sleep_until(&self, deadline: Instant) -> LocalFuture<()>;
}

/// A built, not yet running event loop, ready to be moved to its thread.
pub(crate) enum Runtime {
    #[cfg(feature = "tokio")]
    Tokio(self::tokio::TokioRuntime),
    #[cfg(feature = "smol")]
    Smol(self::smol::SmolRuntime),
}

impl Runtime {
    /// Builds the loop for `backend` (on any thread: runtimes are `Send` until they run).
    // Without any backend compiled in, every argument goes unused.
    #[cfg_attr(not(any(feature = "tokio", feature = "smol")), allow(unused_variables))]
    pub(crate) fn build(backend: Backend, options: &BackendOptions) -> std::io::Result<Runtime> {
        match backend {
            #[cfg(feature = "tokio")]
            Backend::Tokio => Ok(Runtime::Tokio(self::tokio::TokioRuntime::build(options)?)),
            #[cfg(feature = "smol")]
            Backend::Smol => Ok(Runtime::Smol(self::smol::SmolRuntime::build(options)?)),
            #[allow(unreachable_patterns)]
            other => Err(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                format!("the {other} backend is not compiled in (enable the `{other}` feature)"),
            )),
        }
    }

    /// Runs `make(spawner)` to completion on this thread, with local tasks.
    // Without any backend compiled in, every argument goes unused.
    #[cfg_attr(not(any(feature = "tokio", feature = "smol")), allow(unused_variables))]
    pub(crate) fn block_on<T: 'static>(
        self,
        make: impl FnOnce(Rc<dyn LocalSpawner>) -> LocalFuture<T>,
    ) -> T {
        match self {
            #[cfg(feature = "tokio")]
            Runtime::Tokio(rt) => rt.block_on(make),
            #[cfg(feature = "smol")]
            Runtime::Smol(rt) => rt.block_on(make),
        }
    }
}

/// Runs `make(spawner)` inside the executor already running this thread (the async form of
/// entering a caller).
// Without any backend compiled in, every argument goes unused.
#[cfg_attr(not(any(feature = "tokio", feature = "smol")), allow(unused_variables))]
pub(crate) async fn run_local<T: 'static>(
    backend: Backend,
    make: impl FnOnce(Rc<dyn LocalSpawner>) -> LocalFuture<T>,
) -> std::io::Result<T> {
    match backend {
        #[cfg(feature = "tokio")]
        Backend::Tokio => self::tokio::run_local(make).await,
        #[cfg(feature = "smol")]
        Backend::Smol => Ok(self::smol::run_local(make).await),
        #[allow(unreachable_patterns)]
        other => Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            format!("the {other} backend is not compiled in (enable the `{other}` feature)"),
        )),
    }
}
