//! The tokio backend: a current-thread runtime with a `LocalSet`, so futures of a caller may be
//! `!Send`.

use std::rc::Rc;
use std::time::Instant;

use tokio::task::LocalSet;

use super::{BackendOptions, LocalFuture, LocalSpawner};

/// A built current-thread runtime.
pub(crate) struct TokioRuntime {
    runtime: tokio::runtime::Runtime,
}

impl TokioRuntime {
    pub(crate) fn build(options: &BackendOptions) -> std::io::Result<Self> {
        let mut builder = tokio::runtime::Builder::new_current_thread();
        builder.enable_time();
        let tokio_options = match options {
            BackendOptions::Tokio(t) => t.clone(),
            BackendOptions::Default => Default::default(),
        };
        if tokio_options.enable_io {
            builder.enable_io();
        }
        if let Some(n) = tokio_options.event_interval {
            builder.event_interval(n);
        }
        Ok(TokioRuntime {
            runtime: builder.build()?,
        })
    }

    pub(crate) fn block_on<T: 'static>(
        self,
        make: impl FnOnce(Rc<dyn LocalSpawner>) -> LocalFuture<T>,
    ) -> T {
        let local = LocalSet::new();
        let out = local.block_on(&self.runtime, as_local_task(make(Rc::new(TokioSpawner))));
        // Drop leftover tasks inside the runtime, so their destructors may use it.
        let _guard = self.runtime.enter();
        drop(local);
        out
    }
}

/// Spawns onto the `LocalSet` being driven on this thread.
struct TokioSpawner;

impl LocalSpawner for TokioSpawner {
    fn spawn(&self, future: LocalFuture<()>) {
        drop(tokio::task::spawn_local(future));
    }

    fn sleep_until(&self, deadline: Instant) -> LocalFuture<()> {
        Box::pin(tokio::time::sleep_until(deadline.into()))
    }
}

/// Runs inside an existing tokio runtime on this thread, with a fresh `LocalSet`.
pub(crate) async fn run_local<T: 'static>(
    make: impl FnOnce(Rc<dyn LocalSpawner>) -> LocalFuture<T>,
) -> std::io::Result<T> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(std::io::Error::other(
            "Caller::run_async with the tokio backend must be awaited inside a tokio runtime",
        ));
    }
    let local = LocalSet::new();
    Ok(local
        .run_until(as_local_task(make(Rc::new(TokioSpawner))))
        .await)
}

/// Runs `future` as a task of the `LocalSet` rather than as the future that drives it: the
/// `LocalSet` then polls it together with the other local tasks, many per tick, instead of
/// handing control back to the runtime (and its I/O and timer driver) after every wake-up.
async fn as_local_task<T: 'static>(future: LocalFuture<T>) -> T {
    match tokio::task::spawn_local(future).await {
        Ok(value) => value,
        // The task cannot be cancelled while we wait for it; a panic is passed on as it was.
        Err(e) => std::panic::resume_unwind(
            e.try_into_panic()
                .unwrap_or_else(|e| Box::new(e.to_string())),
        ),
    }
}
