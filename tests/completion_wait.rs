//! `Caller::wait` (SPEC W4), on both backends from one source.
#![cfg(all(feature = "tokio", feature = "smol"))]

#[macro_use]
mod common;

use std::sync::mpsc;
use std::time::Duration;

use async_kernel::caller::{Async, Backend, Caller, CallerError, Fallible, ReturnWhen, Schedule};
use async_kernel::{Pending, PendingError};
use common::{T, caller, shutdown};
use futures::FutureExt as _;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

on_both_backends! {
    fn a_thousand_done_pendings_are_all_done(backend) {
        // BEHAVIOUR W4: already done items all come back done
        let c = caller("w-done", backend);
        let pens: Vec<Pending<u32>> = (0..1000)
            .map(|i| {
                let p = Pending::new();
                p.set_result(i).unwrap();
                p
            })
            .collect();
        let (done, not_done) = block_on(c.wait(&pens, None, ReturnWhen::AllCompleted)).unwrap();
        assert_eq!(done, pens, "all of them, in the order given");
        assert!(not_done.is_empty());
        shutdown(&c);
    }

    fn all_completed_waits_for_every_item(backend) {
        // BEHAVIOUR W4: ALL_COMPLETED
        let c = caller("w-all", backend);
        let (tx, rx) = mpsc::channel::<()>();
        let slow = c.to_thread(move || rx.recv().is_ok()).unwrap();
        let quick = c.call_soon(|| true).unwrap();
        let mut waiting = Box::pin(c.wait([slow.clone(), quick.clone()], None, ReturnWhen::AllCompleted));
        quick.wait_sync(T).unwrap();
        assert!((&mut waiting).now_or_never().is_none(), "one item is still running");
        tx.send(()).unwrap();
        let (done, not_done) = block_on(waiting).unwrap();
        assert_eq!(done, vec![slow, quick]);
        assert!(not_done.is_empty());
        shutdown(&c);
    }

    fn first_completed_returns_with_the_first_and_cancels_nothing(backend) {
        // BEHAVIOUR W4: FIRST_COMPLETED; never cancels what is left
        let c = caller("w-first", backend);
        let never: Pending<u32> = Pending::new();
        let (tx, rx) = mpsc::channel::<()>();
        let job = c.to_thread(move || {
            rx.recv().unwrap();
            7u32
        })
        .unwrap();
        let waiting = c.wait([never.clone(), job.clone()], None, ReturnWhen::FirstCompleted);
        tx.send(()).unwrap();
        let (done, not_done) = block_on(waiting).unwrap();
        assert_eq!(done, vec![job]);
        assert_eq!(not_done, vec![never.clone()]);
        assert!(!never.cancelled());
        shutdown(&c);
    }

    fn first_exception_returns_at_a_failure(backend) {
        // BEHAVIOUR W4: FIRST_EXCEPTION stops at the first failed item
        let c = caller("w-exc", backend);
        let never: Pending<u32> = Pending::new();
        let ok = c.call_soon(|| 1u32).unwrap();
        ok.wait_sync(T).unwrap();
        let bad = c.to_thread(Fallible(|| Err::<u32, _>("broken"))).unwrap();
        let (done, not_done) =
            block_on(c.wait([ok.clone(), never.clone(), bad.clone()], None, ReturnWhen::FirstException))
                .unwrap();
        assert_eq!(done, vec![ok, bad.clone()]);
        assert_eq!(not_done, vec![never.clone()]);
        assert!(matches!(bad.result(), Err(PendingError::Failed(_))));
        assert!(!never.done());
        shutdown(&c);
    }

    fn first_exception_counts_a_cancelled_item(backend) {
        // BEHAVIOUR W4: FIRST_EXCEPTION stops at a cancelled item too
        let c = caller("w-exc-cancel", backend);
        let never: Pending<u32> = Pending::new();
        let doomed: Pending<u32> = Pending::new();
        let waiting = c.wait([never.clone(), doomed.clone()], None, ReturnWhen::FirstException);
        let canceller = std::thread::spawn(move || doomed.cancel(Some("no")));
        let (done, not_done) = block_on(waiting).unwrap();
        assert!(canceller.join().unwrap());
        assert_eq!(done.len(), 1);
        assert_eq!(not_done, vec![never]);
        shutdown(&c);
    }

    fn first_exception_without_failures_waits_for_all(backend) {
        // BEHAVIOUR W4: FIRST_EXCEPTION returns when all complete if none fails
        let c = caller("w-exc-none", backend);
        let pens: Vec<_> = (0..10u32).map(|i| c.to_thread(move || i).unwrap()).collect();
        let (done, not_done) = block_on(c.wait(&pens, None, ReturnWhen::FirstException)).unwrap();
        assert_eq!(done.len(), 10);
        assert!(not_done.is_empty());
        shutdown(&c);
    }

    fn a_timeout_returns_what_is_done_without_an_error(backend) {
        // BEHAVIOUR W4: never a timeout error, never cancels
        let c = caller("w-timeout", backend);
        let never: Pending<u32> = Pending::new();
        let ok = c.call_soon(|| 2u32).unwrap();
        ok.wait_sync(T).unwrap();
        let (done, not_done) = block_on(c.wait(
            [ok.clone(), never.clone()],
            Some(Duration::from_millis(20)),
            ReturnWhen::AllCompleted,
        ))
        .unwrap();
        assert_eq!(done, vec![ok]);
        assert_eq!(not_done, vec![never.clone()]);
        assert!(!never.done() && !never.cancelled());
        shutdown(&c);
    }

    fn no_items_return_at_once(backend) {
        // BEHAVIOUR W4: nothing to wait for
        let c = caller("w-empty", backend);
        for how in [ReturnWhen::AllCompleted, ReturnWhen::FirstCompleted, ReturnWhen::FirstException] {
            let out = c.wait(Vec::<Pending<u8>>::new(), None, how).now_or_never();
            let (done, not_done) = out.expect("ready at once").unwrap();
            assert!(done.is_empty() && not_done.is_empty());
        }
        shutdown(&c);
    }

    fn futures_are_scheduled_on_the_caller(backend) {
        // BEHAVIOUR W4 (as W1): futures are scheduled on the caller
        let c = caller("w-futures", backend);
        let items = (0..3).map(|_| Schedule(async { std::thread::current().id() }));
        let (done, _) = block_on(c.wait(items, None, ReturnWhen::AllCompleted)).unwrap();
        assert!(done.iter().all(|p| p.result().unwrap() == c.thread()));
        shutdown(&c);
    }

    fn the_current_pending_is_an_error(backend) {
        // BEHAVIOUR W4 (as W2): waiting for the running call itself is an error
        let c = caller("w-self", backend);
        let was_error = c
            .call_soon(Async(|| async {
                let me = Caller::current_pending().unwrap();
                let caller = Caller::current().unwrap();
                matches!(
                    caller.wait([me], None, ReturnWhen::AllCompleted).await,
                    Err(CallerError::WaitsForItself { .. })
                )
            }))
            .unwrap()
            .wait_sync(T)
            .unwrap();
        assert!(was_error);
        shutdown(&c);
    }

    fn awaited_inside_a_caller_of_the_other_backend(backend) {
        // BEHAVIOUR W4, P1: pendings of one backend waited on the other
        let other = match backend {
            Backend::Tokio => Backend::Smol,
            _ => Backend::Tokio,
        };
        let producer = caller("w-producer", backend);
        let consumer = caller("w-consumer", other);
        let pens: Vec<_> = (0..5u32).map(|i| producer.to_thread(move || i).unwrap()).collect();
        let n = consumer
            .call_soon(Async(move || async move {
                let me = Caller::current().unwrap();
                let (done, _) = me.wait(pens, None, ReturnWhen::AllCompleted).await.unwrap();
                done.len()
            }))
            .unwrap()
            .wait_sync(T)
            .unwrap();
        assert_eq!(n, 5);
        shutdown(&producer);
        shutdown(&consumer);
    }

    fn awaited_from_tokio_and_smol_executors(backend) {
        // BEHAVIOUR W4: the future works under any executor
        let c = caller("w-executors", backend);
        let pens: Vec<_> = (0..5u32).map(|i| c.to_thread(move || i).unwrap()).collect();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (a, _) = rt.block_on(c.wait(&pens, Some(Duration::from_secs(5)), ReturnWhen::AllCompleted)).unwrap();
        let (b, _) = smol::block_on(c.wait(&pens, Some(Duration::from_secs(5)), ReturnWhen::AllCompleted)).unwrap();
        assert_eq!((a.len(), b.len()), (5, 5));
        shutdown(&c);
    }
}
