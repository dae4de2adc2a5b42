//! The reaper that stops idle workers (SPEC C13), on both backends from one source.
//!
//! Its own test binary: one test changes the process-wide setting; every other test here sets
//! its pool's own duration, so they do not depend on it.
#![cfg(all(feature = "tokio", feature = "smol"))]

#[macro_use]
mod common;

use std::sync::Mutex;
use std::time::Duration;

use async_kernel::caller::{Backend, Caller};
use common::{T, shutdown};

const QUICK: Duration = Duration::from_millis(30);

/// Serialises the tests that read or change the process-wide setting.
static PROCESS_WIDE: Mutex<()> = Mutex::new(());

/// A caller whose pool keeps up to 10 idle workers whatever the process-wide setting (which
/// one test changes).
fn caller(name: &str, backend: Backend) -> Caller {
    let c = common::caller(name, backend);
    c.pool().set_max_idle(Some(10));
    c
}

/// Runs `n` jobs at once on `c`'s pool and returns the workers, idle afterwards.
fn idle_workers(c: &Caller, n: usize) -> Vec<Caller> {
    let gate = std::sync::Arc::new(std::sync::Barrier::new(n));
    let pens: Vec<_> = (0..n)
        .map(|_| {
            let gate = gate.clone();
            c.to_thread(move || {
                gate.wait(); // all n run at once: n workers
                Caller::current().unwrap()
            })
            .unwrap()
        })
        .collect();
    pens.into_iter().map(|p| p.wait_sync(T).unwrap()).collect()
}

on_both_backends! {
    fn idle_workers_are_stopped_and_the_count_returns_to_zero(backend) {
        // BEHAVIOUR C13: idle workers unused for the duration are stopped
        let c = caller("reap-zero", backend);
        // Long while the workers are made and counted (a loaded machine can take longer than
        // QUICK between the first job's end and the count), then short.
        c.pool().set_idle_shutdown(Some(Duration::from_secs(3600)));
        let workers = idle_workers(&c, 3);
        assert_eq!(c.pool().idle(), 3);
        c.pool().set_idle_shutdown(Some(QUICK));
        assert_eq!(c.pool().idle_shutdown(), QUICK);
        for w in &workers {
            w.stopped().wait_sync(T).expect("reaped");
        }
        assert_eq!(c.pool().workers(), 0);
        assert!(c.children().is_empty());
        assert!(c.running(), "the parent runs on");
        shutdown(&c);
    }

    fn a_reaped_pool_starts_new_workers_again(backend) {
        // BEHAVIOUR C13, C12: after reaping, to_thread makes a new worker
        let c = caller("reap-again", backend);
        c.pool().set_idle_shutdown(Some(QUICK));
        let first = idle_workers(&c, 1).remove(0);
        first.stopped().wait_sync(T).unwrap();
        let second = c.to_thread(|| Caller::current().unwrap()).unwrap().wait_sync(T).unwrap();
        assert_ne!(first, second);
        second.stopped().wait_sync(T).unwrap();
        assert_eq!(c.pool().workers(), 0);
        shutdown(&c);
    }

    fn a_zero_duration_disables_the_reaper(backend) {
        // BEHAVIOUR C13: 0 disables; checked against a peer pool that is reaped meanwhile
        let kept = caller("reap-off", backend);
        kept.pool().set_idle_shutdown(Some(Duration::ZERO));
        let reaped = caller("reap-on", backend);
        reaped.pool().set_idle_shutdown(Some(QUICK));
        let kept_worker = idle_workers(&kept, 1).remove(0);
        let reaped_worker = idle_workers(&reaped, 1).remove(0);
        reaped_worker.stopped().wait_sync(T).unwrap();
        assert!(!kept_worker.stopped().is_set());
        assert_eq!(kept.pool().idle(), 1);
        shutdown(&kept);
        shutdown(&reaped);
    }

    fn a_shorter_duration_applies_to_workers_already_idle(backend) {
        // BEHAVIOUR C13: adjustable at run time
        let c = caller("reap-change", backend);
        c.pool().set_idle_shutdown(Some(Duration::from_secs(3600)));
        let worker = idle_workers(&c, 1).remove(0);
        assert!(!worker.stopped().is_set());
        c.pool().set_idle_shutdown(Some(QUICK));
        worker.stopped().wait_sync(T).expect("reaped after the change");
        assert_eq!(c.pool().workers(), 0);
        shutdown(&c);
    }

    fn one_reaper_thread_serves_every_pool(backend) {
        // BEHAVIOUR C13: one reaper for the process, no thread per worker
        let pools: Vec<_> = (0..3).map(|i| caller(&format!("reap-many{i}"), backend)).collect();
        let mut workers = Vec::new();
        for p in &pools {
            p.pool().set_idle_shutdown(Some(QUICK));
            workers.extend(idle_workers(p, 2));
        }
        for w in &workers {
            w.stopped().wait_sync(T).unwrap();
        }
        assert_eq!(reaper_threads(), Some(1));
        for p in &pools {
            shutdown(p);
        }
    }

    fn the_process_wide_duration_applies_to_pools_without_their_own(backend) {
        // BEHAVIOUR C13: the process-wide setting, adjustable at run time
        let _serial = PROCESS_WIDE.lock().unwrap_or_else(|e| e.into_inner());
        let c = caller("reap-global", backend);
        assert_eq!(c.pool().idle_shutdown(), Caller::idle_worker_shutdown_duration());
        let worker = idle_workers(&c, 1).remove(0);
        let before = Caller::idle_worker_shutdown_duration();
        Caller::set_idle_worker_shutdown_duration(QUICK);
        assert_eq!(Caller::idle_worker_shutdown_duration(), QUICK);
        worker.stopped().wait_sync(T).expect("reaped under the process-wide setting");
        Caller::set_idle_worker_shutdown_duration(before);
        shutdown(&c);
    }

    fn the_process_wide_max_idle_applies_to_pools_without_their_own(backend) {
        // BEHAVIOUR C12: MAX_IDLE_POOL_INSTANCES adjustable at run time, process-wide
        let _serial = PROCESS_WIDE.lock().unwrap_or_else(|e| e.into_inner());
        let c = caller("reap-maxidle", backend);
        c.pool().set_max_idle(None);
        let before = Caller::max_idle_pool_instances();
        Caller::set_max_idle_pool_instances(1);
        assert_eq!(c.pool().max_idle(), 1);
        let workers = idle_workers(&c, 3);
        Caller::set_max_idle_pool_instances(before);
        assert_eq!(c.pool().idle(), 1);
        let stopping = workers
            .iter()
            .filter(|w| w.state() >= async_kernel::CallerState::Stopping)
            .count();
        assert_eq!(stopping, 2);
        shutdown(&c);
    }
}

/// Threads of this process named like the reaper (`/proc/self/task/*/comm`); `None` where
/// there is no `/proc`.
fn reaper_threads() -> Option<usize> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    Some(
        tasks
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .filter(|name| name.trim_end().starts_with("async_kernel_re"))
            .count(),
    )
}

#[test]
fn the_settings_default_to_the_reference_values() {
    // BEHAVIOUR C12, C13: MAX_IDLE_POOL_INSTANCES 10, IDLE_WORKER_SHUTDOWN_DURATION 60 s
    let _serial = PROCESS_WIDE.lock().unwrap_or_else(|e| e.into_inner());
    assert_eq!(Caller::MAX_IDLE_POOL_INSTANCES, 10);
    assert_eq!(
        Caller::IDLE_WORKER_SHUTDOWN_DURATION,
        Duration::from_secs(60)
    );
    assert_eq!(
        Caller::idle_worker_shutdown_duration(),
        Duration::from_secs(60)
    );
    assert_eq!(Caller::max_idle_pool_instances(), 10);
    // Per pool: its own values, or the process-wide ones.
    let c = caller("reap-defaults", Backend::Tokio);
    assert_eq!(c.pool().max_idle(), 10);
    c.pool().set_idle_shutdown(None);
    assert_eq!(c.pool().idle_shutdown(), Duration::from_secs(60));
    assert_eq!(c.pool().max_workers(), None);
    shutdown(&c);
}
