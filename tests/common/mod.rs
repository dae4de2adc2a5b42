//! Helpers shared by the integration tests (each `tests/*.rs` file declares `mod common;`).
//!
//! Every test file is its own binary and compiles this module on its own, so each gets its own
//! copy of the statics below (the captured log included), as when the helpers were local.

// Each binary uses only some of these helpers; the rest would warn as unused in that binary.
#![allow(dead_code)]

use std::future::Future;
use std::io::Write;
use std::sync::{Mutex, Once, mpsc};
use std::time::Duration;

use async_kernel::caller::{Backend, Caller, CallerOptions, Modifier};
use async_kernel::{Pending, PendingError};

// ---------------------------------------------------------------------------------------------
// Time limits
// ---------------------------------------------------------------------------------------------

/// How long a test waits for something that should happen before it calls the test hung.
pub const GUARD: Duration = Duration::from_secs(5);

/// [`GUARD`] as the timeout argument of `wait_sync`.
pub const T: Option<Duration> = Some(GUARD);

/// A timeout meant to expire.
pub const SHORT: Duration = Duration::from_millis(20);

// ---------------------------------------------------------------------------------------------
// Callers
// ---------------------------------------------------------------------------------------------

pub fn new_caller(name: &str) -> Caller {
    Caller::new(Modifier::NewThread, CallerOptions::named(name)).expect("caller starts")
}

/// The backend other than `backend` (for mixed trees and mismatch errors).
pub fn other_backend(backend: Backend) -> Backend {
    match backend {
        Backend::Tokio => Backend::Smol,
        Backend::Smol => Backend::Tokio,
    }
}

/// Every backend compiled into this build, for tests that must run them one after another.
pub fn backends() -> Vec<Backend> {
    [Backend::Tokio, Backend::Smol]
        .into_iter()
        .filter(|b| b.is_available())
        .collect()
}

/// A caller on a new thread running `backend`.
pub fn new_caller_on(backend: Backend, name: &str) -> Caller {
    Caller::new(
        Modifier::NewThread,
        CallerOptions::named(name).backend(backend),
    )
    .expect("caller starts")
}

/// A caller on a new thread running `backend`, named `{name}-{backend}` (the same test on
/// another backend gets another name).
pub fn caller(name: &str, backend: Backend) -> Caller {
    Caller::new(
        Modifier::NewThread,
        CallerOptions::named(format!("{name}-{backend}")).backend(backend),
    )
    .expect("caller starts")
}

/// Instantiates every test once per backend (modules `on_tokio` and `on_smol`): each
/// `fn name(backend) { body }` becomes `on_tokio::name` and `on_smol::name`, with `backend`
/// bound to that backend. Only for test files built with both features; the generated modules
/// `use super::*`, so the body sees the file's imports and helpers.
#[allow(unused_macros)] // only the files built with both backends use it
macro_rules! on_both_backends {
    ($(fn $name:ident($backend:ident) $body:block)*) => {
        mod on_tokio {
            use super::*;
            $( #[test] fn $name() { let $backend = ::async_kernel::caller::Backend::Tokio; $body } )*
        }
        mod on_smol {
            use super::*;
            $( #[test] fn $name() { let $backend = ::async_kernel::caller::Backend::Smol; $body } )*
        }
    };
}

/// A caller of `backend` bound to this thread and not started.
pub fn manual_on(backend: Backend, name: &str) -> Caller {
    Caller::new(
        Modifier::Manual,
        CallerOptions::named(name).backend(backend),
    )
    .expect("manual caller")
}

/// A tokio caller bound to this thread and not started.
pub fn manual(name: &str) -> Caller {
    Caller::new(
        Modifier::Manual,
        CallerOptions::named(name).backend(Backend::Tokio),
    )
    .expect("manual caller")
}

pub fn shutdown(caller: &Caller) {
    caller.stop(true);
    caller.join().unwrap();
}

/// Returns once the caller has run a call (it is then in the running state).
pub fn ensure_running(caller: &Caller) {
    caller.call_soon(|| ()).unwrap().wait_sync(T).unwrap();
}

/// Blocks the caller's loop in a plain call until the returned sender is dropped (or sent to).
pub fn block(caller: &Caller) -> (Pending<()>, mpsc::Sender<()>) {
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let pen = caller
        .call_soon(move || {
            started_tx.send(()).unwrap();
            let _ = release_rx.recv();
        })
        .unwrap();
    started_rx
        .recv_timeout(GUARD)
        .expect("the blocking call started");
    (pen, release_tx)
}

/// A `to_thread` job that blocks its worker until the returned sender is dropped (or sent to);
/// its value is the worker's thread.
pub fn blocking_job(caller: &Caller) -> (Pending<std::thread::ThreadId>, mpsc::Sender<()>) {
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let pen = caller
        .to_thread(move || {
            started_tx.send(()).unwrap();
            let _ = release_rx.recv();
            std::thread::current().id()
        })
        .unwrap();
    started_rx.recv_timeout(GUARD).expect("the job started");
    (pen, release_tx)
}

/// Runs a closure when dropped.
pub struct OnDrop<F: FnMut()>(pub F);

impl<F: FnMut()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        (self.0)()
    }
}

// ---------------------------------------------------------------------------------------------
// Captured logs
// ---------------------------------------------------------------------------------------------

/// Everything logged in this test binary (the subscriber is global: the caller logs on its
/// own thread).
static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs (once per binary) a global subscriber that writes into [`logs`].
pub fn capture_logs() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_writer(|| Capture)
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
    });
}

/// What has been logged so far in this binary.
pub fn logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap()).into_owned()
}

// ---------------------------------------------------------------------------------------------
// Watchdogs: a hang fails the test instead of blocking it
// ---------------------------------------------------------------------------------------------

/// Fails the test instead of hanging it when `fut` never finishes (a watchdog, not a sleep).
pub async fn guarded<F: Future>(fut: F) -> F::Output {
    smol::future::or(fut, async {
        smol::Timer::after(GUARD).await;
        panic!("the test hung")
    })
    .await
}

/// `futures::executor::block_on` under the watchdog.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    futures::executor::block_on(guarded(fut))
}

/// Drives `fut` on a current-thread tokio runtime; a hang fails the test instead of blocking it.
pub fn run<F: Future>(fut: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(async {
            tokio::time::timeout(GUARD, fut)
                .await
                .expect("the test hung")
        })
}

// ---------------------------------------------------------------------------------------------
// Groups
// ---------------------------------------------------------------------------------------------

/// The message of a cancelled outcome; panics on any other outcome.
pub fn cancel_message<T>(out: Result<T, PendingError>) -> String {
    match out {
        Err(PendingError::Cancelled(c)) => c.message().to_owned(),
        // A group that a member's failure cancelled reports the failure, with the same message.
        Err(PendingError::GroupFailed(g)) => g.message().to_owned(),
        Err(e) => panic!("expected the group to report cancellation, got {e:?}"),
        Ok(_) => panic!("expected the group to report cancellation, got Ok"),
    }
}
