//! The smol backend: an `async_executor::LocalExecutor` driven by `async_io::block_on`.

use std::rc::Rc;
use std::time::Instant;

use async_executor::LocalExecutor;

use super::{BackendOptions, LocalFuture, LocalSpawner};

/// A smol loop: nothing to build ahead of time, the executor is created on its thread.
pub(crate) struct SmolRuntime;

impl SmolRuntime {
    pub(crate) fn build(_options: &BackendOptions) -> std::io::Result<Self> {
        Ok(SmolRuntime)
    }

    pub(crate) fn block_on<T: 'static>(
        self,
        make: impl FnOnce(Rc<dyn LocalSpawner>) -> LocalFuture<T>,
    ) -> T {
        async_io::block_on(run_local(make))
    }
}

/// Spawns onto this thread's `LocalExecutor`.
struct SmolSpawner {
    executor: Rc<LocalExecutor<'static>>,
}

impl LocalSpawner for SmolSpawner {
    fn spawn(&self, future: LocalFuture<()>) {
        self.executor.spawn(future).detach();
    }

    fn sleep_until(&self, deadline: Instant) -> LocalFuture<()> {
        Box::pin(async move {
            async_io::Timer::at(deadline).await;
        })
    }
}

/// Runs `make`'s future and the tasks it spawns on a fresh `LocalExecutor`, inside whatever
/// drives the current thread.
pub(crate) async fn run_local<T: 'static>(
    make: impl FnOnce(Rc<dyn LocalSpawner>) -> LocalFuture<T>,
) -> T {
    let executor = Rc::new(LocalExecutor::new());
    let spawner = Rc::new(SmolSpawner {
        executor: executor.clone(),
    });
    // As a task, the loop runs in the executor's batches with the tasks it spawns.
    let task = executor.spawn(make(spawner));
    let out = executor.run(task).await;
    // Leftover tasks are dropped with the executor, here on its thread.
    drop(executor);
    out
}
