//! `Caller::to_thread` and its worker pool (SPEC C12, C6), on both backends from one source.
#![cfg(all(feature = "tokio", feature = "smol"))]

#[macro_use]
mod common;

use std::sync::mpsc;
use std::thread::ThreadId;
use std::time::Duration;

use async_kernel::caller::{Async, Caller, CallerError, Fallible, FallibleAsync};
use async_kernel::{Pending, PendingError, PendingGroup};
use common::{T, blocking_job, caller, shutdown};

fn here() -> ThreadId {
    std::thread::current().id()
}

on_both_backends! {
    fn runs_on_a_worker_child_with_the_parents_backend(backend) {
        // BEHAVIOUR C12: a new child worker caller with the parent's backend
        let parent = caller("tt-backend", backend);
        let (thread, worker) = parent
            .to_thread(|| (here(), Caller::current().expect("a worker caller")))
            .unwrap()
            .wait_sync(T)
            .unwrap();
        assert_ne!(thread, here());
        assert_ne!(thread, parent.thread());
        assert_eq!(worker.backend(), backend);
        assert_eq!(worker.backend_options(), parent.backend_options());
        assert!(worker.name().starts_with(parent.name()));
        assert_eq!(worker.parent(), Some(parent.clone()));
        assert!(parent.children().contains(&worker));
        shutdown(&parent);
    }

    fn takes_every_work_shape(backend) {
        // BEHAVIOUR C12: the same work shapes as call_soon
        let parent = caller("tt-shapes", backend);
        assert_eq!(parent.to_thread(|| 1).unwrap().wait_sync(T).unwrap(), 1);
        let local = parent
            .to_thread(Async(|| async {
                let rc = std::rc::Rc::new(2); // !Send is fine on the worker
                *rc
            }))
            .unwrap();
        assert_eq!(local.wait_sync(T).unwrap(), 2);
        let failed = parent.to_thread(Fallible(|| "x".parse::<u8>())).unwrap();
        assert!(matches!(failed.wait_sync(T), Err(PendingError::Failed(_))));
        let ok = parent
            .to_thread(FallibleAsync(|| async { Ok::<_, std::io::Error>(3) }))
            .unwrap();
        assert_eq!(ok.wait_sync(T).unwrap(), 3);
        shutdown(&parent);
    }

    fn a_panicking_job_fails_its_pending_and_the_worker_serves_on(backend) {
        // BEHAVIOUR C12: user panics never take a worker down
        let parent = caller("tt-panic", backend);
        let first = parent.to_thread(|| -> u8 { panic!("boom") }).unwrap();
        assert!(matches!(first.wait_sync(T), Err(PendingError::Panicked { .. })));
        let t1 = parent.to_thread(here).unwrap().wait_sync(T).unwrap();
        assert_eq!(parent.pool().workers(), 1);
        assert_ne!(t1, parent.thread());
        shutdown(&parent);
    }

    fn an_idle_worker_is_reused(backend) {
        // BEHAVIOUR C12: the worker returns to the pool when its job ends
        let parent = caller("tt-reuse", backend);
        let first = parent.to_thread(here).unwrap().wait_sync(T).unwrap();
        assert_eq!(parent.pool().idle(), 1, "back in the pool before waiters are released");
        for _ in 0..5 {
            assert_eq!(parent.to_thread(here).unwrap().wait_sync(T).unwrap(), first);
        }
        assert_eq!(parent.pool().workers(), 1);
        assert_eq!(parent.pool().busy(), 0);
        shutdown(&parent);
    }

    fn the_longest_idle_worker_is_taken_first(backend) {
        // BEHAVIOUR C12: idle pooled worker, oldest first
        let parent = caller("tt-oldest", backend);
        let (a, release_a) = blocking_job(&parent);
        let (b, release_b) = blocking_job(&parent);
        drop(release_a);
        let thread_a = a.wait_sync(T).unwrap();
        drop(release_b);
        let thread_b = b.wait_sync(T).unwrap();
        assert_ne!(thread_a, thread_b);
        assert_eq!(parent.pool().idle(), 2);
        assert_eq!(parent.to_thread(here).unwrap().wait_sync(T).unwrap(), thread_a);
        assert_eq!(parent.to_thread(here).unwrap().wait_sync(T).unwrap(), thread_b);
        shutdown(&parent);
    }

    fn busy_workers_make_the_pool_grow(backend) {
        // BEHAVIOUR C12: no idle worker, a new one
        let parent = caller("tt-grow", backend);
        let jobs: Vec<_> = (0..4).map(|_| blocking_job(&parent)).collect();
        assert_eq!(parent.pool().workers(), 4);
        assert_eq!(parent.pool().busy(), 4);
        let threads: std::collections::HashSet<ThreadId> = jobs
            .into_iter()
            .map(|(pen, release)| {
                drop(release);
                pen.wait_sync(T).unwrap()
            })
            .collect();
        assert_eq!(threads.len(), 4);
        assert_eq!(parent.pool().idle(), 4);
        shutdown(&parent);
    }

    fn workers_beyond_max_idle_stop(backend) {
        // BEHAVIOUR C12: returns while fewer than max idle are idle, otherwise stops
        let parent = caller("tt-maxidle", backend);
        parent.pool().set_max_idle(Some(1));
        assert_eq!(parent.pool().max_idle(), 1);
        let jobs: Vec<_> = (0..3).map(|_| blocking_job(&parent)).collect();
        let workers = parent.children();
        assert_eq!(workers.len(), 3);
        for (pen, release) in jobs {
            drop(release);
            pen.wait_sync(T).unwrap();
        }
        assert_eq!(parent.pool().idle(), 1);
        assert_eq!(parent.pool().workers(), 1);
        let mut stopped = 0;
        for w in &workers {
            if w.stopped().wait_sync(Some(Duration::from_millis(0))).is_ok()
                || w.state() >= async_kernel::CallerState::Stopping
            {
                stopped += 1;
            }
        }
        assert_eq!(stopped, 2);
        shutdown(&parent);
    }

    fn max_idle_zero_keeps_no_worker(backend) {
        // BEHAVIOUR C12: the pool holds fewer than max idle (0) workers, so each stops
        let parent = caller("tt-idle0", backend);
        parent.pool().set_max_idle(Some(0));
        let worker = parent
            .to_thread(|| Caller::current().unwrap())
            .unwrap()
            .wait_sync(T)
            .unwrap();
        worker.stopped().wait_sync(T).unwrap();
        assert_eq!(parent.pool().workers(), 0);
        parent.pool().set_max_idle(None);
        assert_eq!(parent.pool().max_idle(), Caller::max_idle_pool_instances());
        shutdown(&parent);
    }

    fn cancelling_the_pending_cancels_an_async_job(backend) {
        // BEHAVIOUR C12: cancelling the to_thread pending cancels the job
        let parent = caller("tt-cancel", backend);
        let never: Pending<()> = Pending::new();
        let (started_tx, started_rx) = mpsc::channel();
        let job = parent
            .to_thread(Async({
                let never = never.clone();
                move || async move {
                    started_tx.send(()).unwrap();
                    never.wait().protect(true).await
                }
            }))
            .unwrap();
        started_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(job.cancel(Some("enough")));
        let err = job.wait_sync(T).unwrap_err();
        assert!(matches!(&err, PendingError::Cancelled(c) if c.message().contains("enough")));
        assert_eq!(parent.pool().idle(), 1, "the worker is free again");
        assert!(!never.done());
        shutdown(&parent);
    }

    fn a_stopped_worker_leaves_the_pool(backend) {
        // BEHAVIOUR C12: a worker that is stopped leaves the pool
        let parent = caller("tt-leave", backend);
        let worker = parent
            .to_thread(|| Caller::current().unwrap())
            .unwrap()
            .wait_sync(T)
            .unwrap();
        assert_eq!(parent.pool().idle(), 1);
        worker.stop(false);
        worker.join().unwrap();
        assert_eq!(parent.pool().idle(), 0);
        assert_eq!(parent.pool().workers(), 0);
        let next = parent
            .to_thread(|| Caller::current().unwrap())
            .unwrap()
            .wait_sync(T)
            .unwrap();
        assert_ne!(next, worker);
        shutdown(&parent);
    }

    fn a_worker_stopped_during_its_job_does_not_return(backend) {
        // BEHAVIOUR C12: only running workers return to the pool
        let parent = caller("tt-stopjob", backend);
        let job = parent
            .to_thread(|| {
                Caller::current().unwrap().stop(false);
                1
            })
            .unwrap();
        assert_eq!(job.wait_sync(T).unwrap(), 1);
        assert_eq!(parent.pool().idle(), 0);
        assert_eq!(parent.pool().workers(), 0);
        shutdown(&parent);
    }

    fn stopping_the_parent_stops_its_workers_and_cancels_their_jobs(backend) {
        // BEHAVIOUR C6: stopping the parent stops its workers
        let parent = caller("tt-parent-stop", backend);
        let idle_worker = parent
            .to_thread(|| Caller::current().unwrap())
            .unwrap()
            .wait_sync(T)
            .unwrap();
        let never: Pending<()> = Pending::new();
        let (started_tx, started_rx) = mpsc::channel();
        let busy = parent
            .to_thread(Async({
                let never = never.clone();
                move || async move {
                    started_tx.send(Caller::current().unwrap()).unwrap();
                    never.wait().protect(true).await
                }
            }))
            .unwrap();
        let busy_worker = started_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(busy_worker, idle_worker, "the idle worker took the job");
        let second = parent.to_thread(|| Caller::current().unwrap()).unwrap().wait_sync(T).unwrap();
        shutdown(&parent);
        assert!(matches!(busy.wait_sync(T), Err(PendingError::Cancelled(_))));
        assert!(idle_worker.stopped().is_set());
        assert!(second.stopped().is_set());
        assert_eq!(parent.pool().workers(), 0);
    }

    fn no_to_thread_once_the_parent_stops(backend) {
        // BEHAVIOUR C7: a stopping caller accepts no work, to_thread included
        let parent = caller("tt-closed", backend);
        shutdown(&parent);
        assert!(matches!(
            parent.to_thread(|| 1),
            Err(CallerError::NotAccepting { .. })
        ));
    }

    fn the_job_sees_its_own_pending_as_current(backend) {
        // BEHAVIOUR C9: Caller::current_pending inside the job is the returned pending
        let parent = caller("tt-current", backend);
        let pen = parent
            .to_thread(|| Caller::current_pending().map(|p| p.id()))
            .unwrap();
        assert_eq!(pen.wait_sync(T).unwrap(), Some(pen.id()));
        shutdown(&parent);
    }

    fn a_group_tracks_to_thread_pendings(backend) {
        // BEHAVIOUR T2: the pending is created in the caller's context (the reference's
        // `pg.caller.to_thread(...) in pg.pending`)
        let parent = caller("tt-group", backend);
        let p = parent.clone();
        let tracked = futures::executor::block_on(PendingGroup::new().run(|pg| async move {
            // The job waits until membership was checked: a member that is done may already
            // have left the group.
            let (checked_tx, checked_rx) = mpsc::channel::<()>();
            let pen = p
                .to_thread(move || {
                    let _ = checked_rx.recv();
                    7
                })
                .unwrap();
            let inside = pg.contains(&pen.erase());
            drop(checked_tx);
            pen.await.map(|v| (v, inside))
        }))
        .unwrap()
        .unwrap();
        assert_eq!(tracked, (7, true));
        shutdown(&parent);
    }

    fn a_failing_to_thread_job_cancels_its_group(backend) {
        // BEHAVIOUR G2: the group sees a failed to_thread job as a member failure
        let parent = caller("tt-group-fail", backend);
        let p = parent.clone();
        let outcome = futures::executor::block_on(PendingGroup::new().run(|_pg| async move {
            let slow = p.to_thread(Async(|| async { Pending::<()>::new().await })).unwrap();
            let _bad = p.to_thread(Fallible(|| Err::<(), _>("disk full"))).unwrap();
            slow.await
        }));
        // The group reports the member's failure, its own text reachable as the source.
        match outcome {
            Err(PendingError::GroupFailed(g)) => {
                assert!(g.message().contains("disk full"), "{}", g.message())
            }
            other => panic!("expected the group to report the failure, got {other:?}"),
        }
        shutdown(&parent);
    }

    fn to_thread_from_a_worker_uses_the_workers_own_pool(backend) {
        // BEHAVIOUR C12: a worker is a caller; its to_thread makes its own workers
        let parent = caller("tt-nested", backend);
        let (outer, inner) = parent
            .to_thread(|| {
                let me = Caller::current().unwrap();
                let inner = me.to_thread(|| Caller::current().unwrap()).unwrap();
                let inner = inner.wait_sync(T).unwrap();
                (me, inner)
            })
            .unwrap()
            .wait_sync(T)
            .unwrap();
        assert_eq!(inner.parent(), Some(outer.clone()));
        assert_eq!(inner.backend(), backend);
        assert_eq!(outer.pool().workers(), 1);
        shutdown(&parent);
        assert!(inner.stopped().is_set());
    }
}
