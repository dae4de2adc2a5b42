//! No thread is left behind by a tree of callers holding worker pools (SPEC C6, C12), on both
//! backends from one source. Threads are counted by name in `/proc/self/task`, so tests running
//! beside each other do not disturb the count.
#![cfg(all(feature = "tokio", feature = "smol", target_os = "linux"))]

use std::sync::mpsc;
use std::time::Duration;

use async_kernel::caller::{Async, Backend, Caller, CallerOptions, Modifier};
use async_kernel::{Pending, PendingError};

const T: Option<Duration> = Some(Duration::from_secs(5));

/// Instantiates every test once per backend (modules `on_tokio` and `on_smol`).
macro_rules! on_both_backends {
    ($(fn $name:ident($backend:ident) $body:block)*) => {
        mod on_tokio {
            use super::*;
            $( #[test] fn $name() { let $backend = Backend::Tokio; $body } )*
        }
        mod on_smol {
            use super::*;
            $( #[test] fn $name() { let $backend = Backend::Smol; $body } )*
        }
    };
}

/// Threads whose name starts with `prefix` (names are cut to 15 bytes by the kernel).
fn threads_named(prefix: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim_end().starts_with(prefix))
        .count()
}

fn root(prefix: &str, backend: Backend) -> Caller {
    Caller::new(
        Modifier::NewThread,
        CallerOptions::named(prefix).backend(backend),
    )
    .expect("caller starts")
}

on_both_backends! {
    fn stopping_a_tree_with_pools_leaves_no_thread(backend) {
        // BEHAVIOUR C6, C12: stopping the parent stops its workers; join leaves no thread
        let prefix = match backend { Backend::Tokio => "thrT", _ => "thrS" };
        let top = root(prefix, backend);
        let child = top.get(CallerOptions::named(format!("{prefix}-child"))).unwrap();
        // Idle workers in both pools…
        for c in [&top, &child] {
            let pens: Vec<_> = (0..3).map(|i| c.to_thread(move || i).unwrap()).collect();
            for p in pens {
                p.wait_sync(T).unwrap();
            }
        }
        // …and busy ones, one plain and one async.
        let (tx, rx) = mpsc::channel::<()>();
        let (started_tx, started_rx) = mpsc::channel();
        let plain = child
            .to_thread({
                let started_tx = started_tx.clone();
                move || {
                    started_tx.send(()).unwrap();
                    let _ = rx.recv();
                }
            })
            .unwrap();
        let never: Pending<()> = Pending::new();
        let waiting = top
            .to_thread(Async({
                let never = never.clone();
                move || async move {
                    started_tx.send(()).unwrap();
                    never.wait().protect(true).await
                }
            }))
            .unwrap();
        started_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        started_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(threads_named(prefix) >= 2 + top.pool().workers() + child.pool().workers());
        top.stop(false);
        drop(tx); // the running plain job finishes
        top.join().unwrap();
        assert_eq!(threads_named(prefix), 0);
        assert!(matches!(waiting.wait_sync(T), Err(PendingError::Cancelled(_))));
        assert!(plain.done(), "every pending ended");
        assert_eq!(top.pool().workers() + child.pool().workers(), 0);
    }
}
