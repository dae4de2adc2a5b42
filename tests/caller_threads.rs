//! No thread is left behind once a caller with children has stopped and been joined
//! (no thread is leaked: SPEC C6, C11; BEHAVIOUR CX3).
//!
//! One test only: this binary's thread count must not be disturbed by other tests.

mod common;

use std::time::{Duration, Instant};

use async_kernel::caller::CallerOptions;

use common::{T, backends, new_caller_on};

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("Linux /proc")
        .count()
}

/// The kernel removes a joined thread from /proc a moment after `pthread_join` returns (the
/// thread id is released before the task is reaped), so allow a short settling time. This
/// is the only wait by polling in the suite: there is nothing to synchronise with.
fn settled_threads(expected: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let n = threads();
        if n == expected || Instant::now() >= deadline {
            return n;
        }
        std::thread::yield_now();
    }
}

#[test]
fn stopping_and_joining_a_caller_with_children_leaves_no_thread() {
    // SPEC C6, C11 — on every backend, one after the other (the thread count is global)
    for backend in backends() {
        // Warm up anything created once per process.
        let warm = new_caller_on(backend, "threads-warm");
        let warm_task = warm
            .call_soon(|| std::fs::read_link("/proc/thread-self").expect("Linux /proc"))
            .unwrap()
            .wait_sync(T)
            .unwrap();
        warm.stop(false);
        warm.join().unwrap();
        // Count only once the joined warm-up thread has left /proc (see `settled_threads`).
        let warm_task = std::path::Path::new("/proc").join(warm_task);
        let deadline = Instant::now() + Duration::from_secs(1);
        while warm_task.exists() && Instant::now() < deadline {
            std::thread::yield_now();
        }

        let before = threads();
        let parent = new_caller_on(backend, "threads-parent");
        let a = parent.get(CallerOptions::named("threads-a")).unwrap();
        let b = parent.get(CallerOptions::named("threads-b")).unwrap();
        let grandchild = a.get(CallerOptions::named("threads-grandchild")).unwrap();
        for caller in [&parent, &a, &b, &grandchild] {
            assert_eq!(caller.backend(), backend);
            caller.call_soon(|| ()).unwrap().wait_sync(T).unwrap();
        }
        assert_eq!(threads(), before + 4, "one thread per caller ({backend})");
        parent.stop(false);
        parent.join().unwrap();
        assert_eq!(settled_threads(before), before, "{backend}");
    }
}
