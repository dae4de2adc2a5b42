//! The optional cap on a pool's workers (SPEC C13's decision, beyond the reference), on both
//! backends from one source.
#![cfg(all(feature = "tokio", feature = "smol"))]

#[macro_use]
mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;

use async_kernel::{PendingError, PendingGroup};
use common::{T, blocking_job, caller, shutdown};

on_both_backends! {
    fn the_cap_holds_under_a_burst_of_a_thousand_calls(backend) {
        // BEHAVIOUR C13 (cap): never more workers than the cap, whatever the burst
        let c = caller("cap-burst", backend);
        c.pool().set_max_workers(Some(3));
        assert_eq!(c.pool().max_workers(), Some(3));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads = Arc::new(Mutex::new(HashSet::<ThreadId>::new()));
        let pens: Vec<_> = (0..1000u32)
            .map(|i| {
                let (running, most, threads) = (running.clone(), most.clone(), threads.clone());
                let pen = c
                    .to_thread(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        threads.lock().unwrap().insert(std::thread::current().id());
                        std::thread::yield_now();
                        running.fetch_sub(1, Ordering::SeqCst);
                        i
                    })
                    .unwrap();
                assert!(c.pool().workers() <= 3);
                pen
            })
            .collect();
        let sum: u64 = pens.iter().map(|p| u64::from(p.wait_sync(T).unwrap())).sum();
        assert_eq!(sum, (0..1000u64).sum());
        assert!(most.load(Ordering::SeqCst) <= 3);
        assert!(threads.lock().unwrap().len() <= 3);
        assert!(c.pool().workers() <= 3);
        assert_eq!(c.pool().waiting(), 0);
        shutdown(&c);
    }

    fn waiting_calls_run_in_the_order_they_were_made(backend) {
        // BEHAVIOUR C13 (cap): calls wait for a free worker in FIFO order
        let c = caller("cap-fifo", backend);
        c.pool().set_max_workers(Some(1));
        let (first, release) = blocking_job(&c);
        let order = Arc::new(Mutex::new(Vec::new()));
        let pens: Vec<_> = (0..20)
            .map(|i| {
                let order = order.clone();
                c.to_thread(move || order.lock().unwrap().push(i)).unwrap()
            })
            .collect();
        assert_eq!(c.pool().waiting(), 20);
        assert_eq!(c.pool().workers(), 1);
        drop(release);
        first.wait_sync(T).unwrap();
        for p in &pens {
            p.wait_sync(T).unwrap();
        }
        assert_eq!(*order.lock().unwrap(), (0..20).collect::<Vec<_>>());
        shutdown(&c);
    }

    fn a_call_cancelled_while_waiting_never_runs(backend) {
        // BEHAVIOUR C12, C9: cancelling a waiting call ends it at once; it never runs
        let c = caller("cap-cancel", backend);
        c.pool().set_max_workers(Some(1));
        let (first, release) = blocking_job(&c);
        let ran = Arc::new(AtomicUsize::new(0));
        let doomed = c.to_thread({
            let ran = ran.clone();
            move || {
                ran.fetch_add(1, Ordering::SeqCst);
            }
        })
        .unwrap();
        let after = c.to_thread(|| 5).unwrap();
        assert!(doomed.cancel(Some("not needed")));
        assert!(doomed.done(), "done at once: it had not started");
        let err = doomed.result().unwrap_err();
        assert!(matches!(&err, PendingError::Cancelled(c) if c.message().contains("not needed")));
        drop(release);
        first.wait_sync(T).unwrap();
        assert_eq!(after.wait_sync(T).unwrap(), 5);
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        assert_eq!(c.pool().workers(), 1);
        shutdown(&c);
    }

    fn raising_the_cap_starts_waiting_calls(backend) {
        // BEHAVIOUR C13 (cap): adjustable at run time
        let c = caller("cap-raise", backend);
        c.pool().set_max_workers(Some(1));
        let (first, release) = blocking_job(&c);
        // Both jobs wait for each other: they can only end on two workers at once.
        let both = Arc::new(std::sync::Barrier::new(2));
        let (ga, gb) = (both.clone(), both);
        let a = c
            .to_thread(move || {
                ga.wait();
                1
            })
            .unwrap();
        let b = c
            .to_thread(move || {
                gb.wait();
                2
            })
            .unwrap();
        assert_eq!(c.pool().waiting(), 2);
        c.pool().set_max_workers(Some(3));
        assert_eq!(a.wait_sync(T).unwrap() + b.wait_sync(T).unwrap(), 3);
        assert!(!first.done(), "the first job still blocks its worker");
        assert_eq!(c.pool().workers(), 3);
        drop(release);
        first.wait_sync(T).unwrap();
        c.pool().set_max_workers(None);
        assert_eq!(c.pool().max_workers(), None);
        shutdown(&c);
    }

    fn stopping_the_parent_cancels_waiting_calls(backend) {
        // BEHAVIOUR C6: every pending ends when the caller stops, waiting to_thread calls too
        let c = caller("cap-stop", backend);
        c.pool().set_max_workers(Some(1));
        let (first, _release) = blocking_job(&c);
        let waiting = c.to_thread(|| 1).unwrap();
        c.stop(true);
        let err = waiting.wait_sync(T).unwrap_err();
        assert!(matches!(&err, PendingError::Cancelled(m) if m.message().contains("stopped")), "{err:?}");
        drop(_release);
        let _ = first.wait_sync(T);
        c.join().unwrap();
        assert_eq!(c.pool().workers(), 0);
        assert_eq!(c.pool().waiting(), 0);
    }

    fn a_waiting_call_is_tracked_by_its_group(backend) {
        // BEHAVIOUR T2: the pending of a waiting call is created in the caller's context
        let c = caller("cap-group", backend);
        c.pool().set_max_workers(Some(1));
        let (first, release) = blocking_job(&c);
        let p = c.clone();
        let release = Mutex::new(Some(release));
        let (value, inside) = futures::executor::block_on(PendingGroup::new().run(|pg| async move {
            let pen = p.to_thread(|| 9).unwrap();
            let inside = pg.contains(&pen.erase());
            drop(release.lock().unwrap().take());
            (pen.await.unwrap(), inside)
        }))
        .unwrap();
        assert_eq!((value, inside), (9, true));
        first.wait_sync(T).unwrap();
        shutdown(&c);
    }

    fn without_a_cap_every_busy_call_gets_a_worker(backend) {
        // BEHAVIOUR C12: no cap by default (the reference's behaviour)
        let c = caller("cap-none", backend);
        assert_eq!(c.pool().max_workers(), None);
        let jobs: Vec<_> = (0..6).map(|_| blocking_job(&c)).collect();
        assert_eq!(c.pool().workers(), 6);
        assert_eq!(c.pool().waiting(), 0);
        for (pen, release) in jobs {
            drop(release);
            pen.wait_sync(T).unwrap();
        }
        shutdown(&c);
    }
}
