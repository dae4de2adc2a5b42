//! No thread is left behind by a tree of callers holding worker pools (SPEC C6, C12), on both
//! backends from one source.
//!
//! Threads are identified by their kernel thread id (`/proc/thread-self`), recorded by code
//! running on each of them, and looked up in `/proc/self/task` after the tree was joined. Names
//! would not do: a new thread carries its creator's name until it has set its own.
#![cfg(all(feature = "tokio", feature = "smol", target_os = "linux"))]

#[macro_use]
mod common;

use std::collections::HashSet;
use std::sync::{Arc, Barrier, mpsc};
use std::time::Duration;

use async_kernel::caller::{Async, Caller, CallerOptions};
use async_kernel::{Pending, PendingError};
use common::{T, caller};

/// The kernel id of the calling thread.
fn tid() -> String {
    let link = std::fs::read_link("/proc/thread-self").expect("/proc/thread-self");
    link.file_name()
        .expect("a thread id")
        .to_string_lossy()
        .into_owned()
}

/// The kernel ids of the threads of this process.
fn live_threads() -> HashSet<String> {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|t| Some(t.ok()?.file_name().to_string_lossy().into_owned()))
        .collect()
}

/// The threads of `tree` still listed in /proc once joined threads have left it. The kernel
/// drops a thread's entry a moment after `pthread_join` returns, so a joined thread may still
/// be listed for an instant; one that was never joined stays (and is reported).
fn threads_left(tree: &[String]) -> Vec<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    loop {
        let live = live_threads();
        let left: Vec<String> = tree.iter().filter(|t| live.contains(*t)).cloned().collect();
        if left.is_empty() || std::time::Instant::now() >= deadline {
            return left;
        }
        std::thread::yield_now();
    }
}

/// Runs `n` jobs at once on `c`'s pool (so on `n` workers) and returns their threads' ids.
fn worker_tids(c: &Caller, n: usize) -> Vec<String> {
    let gate = Arc::new(Barrier::new(n));
    let pens: Vec<_> = (0..n)
        .map(|_| {
            let gate = gate.clone();
            c.to_thread(move || {
                gate.wait();
                tid()
            })
            .unwrap()
        })
        .collect();
    pens.into_iter().map(|p| p.wait_sync(T).unwrap()).collect()
}

on_both_backends! {
    fn stopping_a_tree_with_pools_leaves_no_thread(backend) {
        // BEHAVIOUR C6, C12: stopping the parent stops its workers; join leaves no thread
        let top = caller("threads", backend);
        let child = top.get(CallerOptions::named(format!("threads-{backend}-child"))).unwrap();
        let mut tree = vec![
            top.call_soon(tid).unwrap().wait_sync(T).unwrap(),
            child.call_soon(tid).unwrap().wait_sync(T).unwrap(),
        ];
        // Three idle workers in each pool…
        tree.extend(worker_tids(&top, 3));
        tree.extend(worker_tids(&child, 3));
        assert_eq!(tree.iter().collect::<HashSet<_>>().len(), 8, "eight threads");
        assert_eq!((top.pool().idle(), child.pool().idle()), (3, 3));
        // …then two of them busy, one with a plain job and one with an async one.
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (started_tx, started_rx) = mpsc::channel();
        let plain = child
            .to_thread({
                let started_tx = started_tx.clone();
                move || {
                    started_tx.send(()).unwrap();
                    let _ = release_rx.recv();
                }
            })
            .unwrap();
        let never: Pending<()> = Pending::new();
        let endless = top
            .to_thread(Async({
                let never = never.clone();
                move || async move {
                    started_tx.send(()).unwrap();
                    never.wait().protect(true).await
                }
            }))
            .unwrap();
        for _ in 0..2 {
            started_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        }
        assert_eq!((top.pool().busy(), child.pool().busy()), (1, 1));
        assert!(tree.iter().all(|t| live_threads().contains(t)));

        top.stop(false);
        drop(release_tx); // the plain job, which cannot be interrupted, finishes
        top.join().unwrap();

        let left = threads_left(&tree);
        assert!(left.is_empty(), "threads of the tree still alive: {left:?}");
        assert!(matches!(endless.wait_sync(T), Err(PendingError::Cancelled(_))));
        assert!(plain.done(), "every pending ended");
        assert_eq!(top.pool().workers() + child.pool().workers(), 0);
        assert!(child.stopped().is_set());
    }
}
