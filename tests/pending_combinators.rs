//! Pendings work directly in the combinators Rust users reach for, and what dropping them does
//! (issue 6, points 1 and 2; BEHAVIOUR P10: borrowing never cancels, giving up what you own does).

use std::time::Duration;

use async_kernel::{Pending, PendingError};
use futures::FutureExt as _;
use futures::StreamExt as _;
use futures::stream::FuturesUnordered;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

fn done(v: u32) -> Pending<u32> {
    let pen = Pending::new();
    pen.set_result(v).unwrap();
    pen
}

// BEHAVIOUR P10: a `select!` loop over `&mut job` keeps `job` running across iterations.
#[test]
fn select_loop_over_mut_job_keeps_it_running() {
    runtime().block_on(async {
        let mut job: Pending<u32> = Pending::new();
        let setter = job.clone();
        let mut ticks = 0;
        let out = loop {
            tokio::select! {
                r = &mut job => break r,
                _ = tokio::task::yield_now() => {
                    ticks += 1;
                    assert!(!setter.cancelled(), "a tick cancelled the job");
                    if ticks == 3 {
                        setter.set_result(7).unwrap();
                    }
                }
            }
        };
        assert_eq!(out.unwrap(), 7);
        assert!(ticks >= 3);
    });
}

// BEHAVIOUR P10: a `select!` loop over `&job` (a borrowed wait) keeps `job` running too.
#[test]
fn select_loop_over_shared_job_keeps_it_running() {
    runtime().block_on(async {
        let job: Pending<u32> = Pending::new();
        let mut ticks = 0;
        let out = loop {
            tokio::select! {
                r = &job => break r,
                _ = tokio::task::yield_now() => {
                    ticks += 1;
                    assert!(!job.cancelled(), "a tick cancelled the job");
                    if ticks == 3 {
                        job.set_result(8).unwrap();
                    }
                }
            }
        };
        assert_eq!(out.unwrap(), 8);
    });
}

// BEHAVIOUR P10: the owner that leaves the loop with `job` unfinished gives it up: cancelled.
#[test]
fn dropping_the_polled_job_after_the_loop_cancels_it() {
    runtime().block_on(async {
        let mut job: Pending<u32> = Pending::new();
        let watcher = job.clone();
        tokio::select! {
            biased;
            _ = &mut job => unreachable!("nobody sets the job"),
            _ = std::future::ready(()) => {}
        }
        assert!(!watcher.cancelled());
        drop(job);
        assert!(watcher.cancelled());
    });
}

// BEHAVIOUR P10: `tokio::join!` over pendings gives both values; dropped unfinished, it
// cancels the pending it still waited for.
#[test]
fn tokio_join_gives_both_values() {
    runtime().block_on(async {
        let (a, b) = tokio::join!(done(1), done(2));
        assert_eq!((a.unwrap(), b.unwrap()), (1, 2));
    });
    // Dropping an unfinished join gives up the pendings it owned.
    let open: Pending<u32> = Pending::new();
    let watcher = open.clone();
    let joined = async move { tokio::join!(open, done(1)) };
    assert!(joined.now_or_never().is_none());
    assert!(watcher.cancelled());
}

// BEHAVIOUR P10: `tokio::time::timeout` around an owned pending cancels it on timeout; around
// `&pen` it does not.
#[test]
fn tokio_timeout_cancels_owned_but_not_borrowed() {
    runtime().block_on(async {
        let pen: Pending<u32> = Pending::new();
        assert!(
            tokio::time::timeout(Duration::from_millis(1), &pen)
                .await
                .is_err()
        );
        assert!(!pen.cancelled(), "a borrowed wait cancelled the pending");
        let watcher = pen.clone();
        assert!(
            tokio::time::timeout(Duration::from_millis(1), pen)
                .await
                .is_err()
        );
        assert!(watcher.cancelled(), "the owned pending was given up");
        assert_eq!(
            tokio::time::timeout(Duration::from_secs(5), done(3))
                .await
                .unwrap()
                .unwrap(),
            3
        );
    });
}

// BEHAVIOUR P10: `join_all` takes pendings; dropping it unfinished cancels what it owned.
#[test]
fn join_all_gives_values_and_cancels_when_dropped() {
    let all = futures::executor::block_on(futures::future::join_all(vec![done(1), done(2)]));
    assert_eq!(
        all.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
        [1, 2]
    );
    let open: Pending<u32> = Pending::new();
    let watcher = open.clone();
    let mut joined = futures::future::join_all(vec![done(1), open]);
    assert!((&mut joined).now_or_never().is_none());
    assert!(!watcher.cancelled());
    drop(joined);
    assert!(watcher.cancelled());
}

// BEHAVIOUR P10: `try_join_all` stops at the first failure and cancels the others it owned.
#[test]
fn try_join_all_stops_at_a_failure_and_cancels_the_rest() {
    let ok = futures::executor::block_on(futures::future::try_join_all(vec![done(1), done(2)]));
    assert_eq!(ok.unwrap(), [1, 2]);
    let bad: Pending<u32> = Pending::new();
    bad.set_exception("boom").unwrap();
    let open: Pending<u32> = Pending::new();
    let watcher = open.clone();
    let out = futures::executor::block_on(futures::future::try_join_all(vec![open, bad]));
    assert!(matches!(out, Err(PendingError::Failed(_))));
    assert!(watcher.cancelled(), "the unfinished member was given up");
}

// BEHAVIOUR P10: `FuturesUnordered` yields pendings as they finish; dropping it cancels the rest.
#[test]
fn futures_unordered_yields_and_cancels_the_rest_when_dropped() {
    let open: Pending<u32> = Pending::new();
    let watcher = open.clone();
    let mut set: FuturesUnordered<Pending<u32>> = [open, done(4)].into_iter().collect();
    let first = futures::executor::block_on(set.next()).unwrap();
    assert_eq!(first.unwrap(), 4);
    assert!(!watcher.cancelled());
    drop(set);
    assert!(watcher.cancelled());
}

// BEHAVIOUR P10: `futures::select!` (here `select_biased!`) takes pendings (they are fused); the finished one is not
// polled again, the other is still owned by its variable.
#[test]
fn futures_select_over_fused_pendings() {
    let mut a = done(5);
    let mut b: Pending<u32> = Pending::new();
    let watcher = b.clone();
    let out = futures::executor::block_on(async {
        // Biased, so that `b` is polled (and starts its wait) before `a` is seen done.
        futures::select_biased! {
            r = b => r.unwrap() + 100,
            r = a => r.unwrap(),
        }
    });
    assert_eq!(out, 5);
    assert!(futures::future::FusedFuture::is_terminated(&a));
    assert!(!watcher.cancelled(), "b is still owned by its variable");
    drop(b);
    assert!(watcher.cancelled(), "b was polled and given up unfinished");
}
