//! `Caller::as_completed` (SPEC W1–W3), on both backends from one source.
#![cfg(all(feature = "tokio", feature = "smol"))]

#[macro_use]
mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::ThreadId;
use std::time::Duration;

use async_kernel::caller::{Async, Backend, Caller, CallerError, Items, PendingOrFuture, Schedule};
use async_kernel::{AnyPending, Pending, PendingError};
use common::{T, caller, shutdown};
use futures::FutureExt as _;
use futures::StreamExt as _;

fn done(v: u32) -> Pending<u32> {
    let pen = Pending::new();
    pen.set_result(v).unwrap();
    pen
}

/// Collects every item of the stream (panics on a stream error).
fn collect<I: async_kernel::caller::IntoWatched>(
    stream: async_kernel::AsCompleted<I>,
) -> Vec<I::Pending> {
    futures::executor::block_on(stream.map(|r| r.expect("no stream error")).collect())
}

on_both_backends! {
    fn a_thousand_done_pendings_all_come_back(backend) {
        // BEHAVIOUR W1: items already done are yielded too
        let c = caller("ac-done", backend);
        let pens: Vec<_> = (0..1000).map(done).collect();
        let out = collect(c.as_completed(pens.clone(), None, true));
        assert_eq!(out.len(), 1000);
        let values: HashSet<u32> = out.iter().map(|p| p.result().unwrap()).collect();
        assert_eq!(values, (0..1000).collect());
        shutdown(&c);
    }

    fn a_thousand_done_pendings_from_a_lazy_source_all_come_back(backend) {
        // BEHAVIOUR W1, W2: already done items of a lazy source, pulled max_concurrent at a time
        let c = caller("ac-done-lazy", backend);
        let out = collect(c.as_completed(Items::lazy((0..1000).map(done)), Some(3), true));
        let values: HashSet<u32> = out.iter().map(|p| p.result().unwrap()).collect();
        assert_eq!(values.len(), 1000);
        shutdown(&c);
    }

    fn ten_thousand_to_thread_jobs_two_at_a_time_use_two_threads(backend) {
        // BEHAVIOUR W2, C12: a lazy source of to_thread calls bounds the threads in use
        let c = caller("ac-10k", backend);
        let threads = Arc::new(Mutex::new(HashSet::<ThreadId>::new()));
        let jobs = (0..10_000u32).map({
            let c = c.clone();
            let threads = threads.clone();
            move |i| {
                let threads = threads.clone();
                c.to_thread(move || {
                    threads.lock().unwrap().insert(std::thread::current().id());
                    i
                })
                .unwrap()
            }
        });
        let mut stream = c.as_completed(Items::lazy(jobs), Some(2), true);
        let mut seen = 0u64;
        let mut sum = 0u64;
        futures::executor::block_on(async {
            while let Some(pen) = stream.next().await {
                assert!(stream.unfinished() <= 2);
                sum += u64::from(pen.unwrap().result().unwrap());
                seen += 1;
            }
        });
        assert_eq!(seen, 10_000);
        assert_eq!(sum, (0..10_000u64).sum());
        assert_eq!(threads.lock().unwrap().len(), 2);
        assert_eq!(c.pool().workers(), 2);
        shutdown(&c);
    }

    fn a_lazy_source_is_pulled_up_to_max_concurrent(backend) {
        // BEHAVIOUR W2: at most max_concurrent items are unfinished
        let c = caller("ac-bound", backend);
        let pens: Vec<Pending<u32>> = (0..10).map(|_| Pending::new()).collect();
        let pulled = Arc::new(AtomicUsize::new(0));
        let source = pens.clone().into_iter().inspect({
            let pulled = pulled.clone();
            move |_| {
                pulled.fetch_add(1, Ordering::SeqCst);
            }
        });
        let mut stream = c.as_completed(Items::lazy(source), Some(3), true);
        assert_eq!(pulled.load(Ordering::SeqCst), 0, "nothing happens before the first poll");
        assert!(stream.next().now_or_never().is_none());
        assert_eq!(pulled.load(Ordering::SeqCst), 3);
        pens[1].set_result(1).unwrap();
        let first = stream.next().now_or_never().unwrap().unwrap().unwrap();
        assert_eq!(first, pens[1]);
        assert!(stream.next().now_or_never().is_none());
        assert_eq!(pulled.load(Ordering::SeqCst), 4);
        drop(stream);
        shutdown(&c);
    }

    fn the_default_bound_is_max_idle_pool_instances(backend) {
        // BEHAVIOUR W2: default max_concurrent is MAX_IDLE_POOL_INSTANCES
        let c = caller("ac-default", backend);
        let pulled = Arc::new(AtomicUsize::new(0));
        let source = (0..100).map({
            let pulled = pulled.clone();
            move |_| {
                pulled.fetch_add(1, Ordering::SeqCst);
                Pending::<u32>::new()
            }
        });
        let mut stream = c.as_completed(Items::lazy(source), None, false);
        assert!(stream.next().now_or_never().is_none());
        assert_eq!(pulled.load(Ordering::SeqCst), Caller::max_idle_pool_instances());
        assert_eq!(Caller::max_idle_pool_instances(), Caller::MAX_IDLE_POOL_INSTANCES);
        drop(stream);
        shutdown(&c);
    }

    fn a_collection_is_watched_all_at_once(backend) {
        // BEHAVIOUR W2: a collection ignores max_concurrent
        let c = caller("ac-all", backend);
        let pens: Vec<Pending<u32>> = (0..20).map(|_| Pending::new()).collect();
        let mut stream = c.as_completed(pens.clone(), Some(2), true);
        assert!(stream.next().now_or_never().is_none());
        assert_eq!(stream.unfinished(), 20);
        pens[19].set_result(19).unwrap();
        assert_eq!(stream.next().now_or_never().unwrap().unwrap().unwrap(), pens[19]);
        drop(stream);
        shutdown(&c);
    }

    fn items_come_in_the_order_they_complete(backend) {
        // BEHAVIOUR W1: yields pendings as they complete
        let c = caller("ac-order", backend);
        let pens: Vec<Pending<u32>> = (0..3).map(|_| Pending::new()).collect();
        let mut stream = c.as_completed(pens.clone(), None, true);
        let mut order = Vec::new();
        for i in [2usize, 0, 1] {
            assert!(stream.next().now_or_never().is_none());
            pens[i].set_result(i as u32).unwrap();
            let pen = futures::executor::block_on(stream.next()).unwrap().unwrap();
            order.push(pen.result().unwrap());
        }
        assert_eq!(order, vec![2, 0, 1]);
        assert!(futures::executor::block_on(stream.next()).is_none());
        shutdown(&c);
    }

    fn failed_and_cancelled_items_are_yielded_not_raised(backend) {
        // BEHAVIOUR W3: failed items are yielded
        let c = caller("ac-fail", backend);
        let bad = c.call_soon(async_kernel::caller::Fallible(|| Err::<u32, _>("nope"))).unwrap();
        let cancelled: Pending<u32> = Pending::new();
        cancelled.cancel(Some("stop"));
        let good = c.call_soon(|| 1u32).unwrap();
        let out = collect(c.as_completed(vec![bad.clone(), cancelled.clone(), good.clone()], None, true));
        assert_eq!(out.len(), 3);
        assert!(matches!(bad.result(), Err(PendingError::Failed(_))));
        assert!(out.contains(&cancelled) && out.contains(&good) && out.contains(&bad));
        shutdown(&c);
    }

    fn an_empty_source_ends_at_once(backend) {
        // BEHAVIOUR W2: an empty source ends at once
        let c = caller("ac-empty", backend);
        let empty: Vec<Pending<u32>> = Vec::new();
        assert!(c.as_completed(empty, None, true).next().now_or_never().unwrap().is_none());
        let lazy = Items::lazy(std::iter::empty::<Pending<u32>>());
        assert!(c.as_completed(lazy, Some(2), true).next().now_or_never().unwrap().is_none());
        let stream = Items::stream(futures::stream::empty::<Pending<u32>>());
        assert!(c.as_completed(stream, Some(2), true).next().now_or_never().unwrap().is_none());
        shutdown(&c);
    }

    fn dropping_the_stream_cancels_unfinished_items(backend) {
        // BEHAVIOUR W3: on exit unfinished items are cancelled ("Cancelled by as_completed")
        let c = caller("ac-drop", backend);
        let pens: Vec<Pending<u32>> = (0..5).map(|_| Pending::new()).collect();
        pens[0].set_result(0).unwrap();
        let mut stream = c.as_completed(pens.clone(), None, true);
        let first = futures::executor::block_on(stream.next()).unwrap().unwrap();
        assert_eq!(first, pens[0]);
        drop(stream);
        for pen in &pens[1..] {
            let err = pen.result().unwrap_err();
            assert!(
                matches!(&err, PendingError::Cancelled(c) if c.message().contains("Cancelled by as_completed")),
                "{err:?}"
            );
        }
        assert_eq!(pens[0].result().unwrap(), 0);
        shutdown(&c);
    }

    fn dropping_the_stream_leaves_items_running_without_cancel_unfinished(backend) {
        // BEHAVIOUR W3: cancel_unfinished false cancels nothing
        let c = caller("ac-keep", backend);
        let pens: Vec<Pending<u32>> = (0..3).map(|_| Pending::new()).collect();
        let mut stream = c.as_completed(pens.clone(), None, false);
        assert!(stream.next().now_or_never().is_none());
        drop(stream);
        assert!(pens.iter().all(|p| !p.done()));
        pens[0].set_result(3).unwrap();
        assert_eq!(pens[0].result().unwrap(), 3);
        shutdown(&c);
    }

    fn breaking_out_cancels_the_running_to_thread_jobs(backend) {
        // BEHAVIOUR W3, C12: unfinished to_thread jobs are cancelled when the loop is left
        let c = caller("ac-break", backend);
        let (started_tx, started_rx) = mpsc::channel();
        let slow = c
            .to_thread(Async(move || async move {
                started_tx.send(()).unwrap();
                let _ = Pending::<u32>::new().wait().protect(true).await;
                0u32
            }))
            .unwrap();
        started_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        let quick = c.to_thread(|| 1u32).unwrap();
        futures::executor::block_on(async {
            let mut stream = c.as_completed(vec![slow.clone(), quick.clone()], None, true);
            let first = stream.next().await.unwrap().unwrap();
            assert_eq!(first, quick);
        });
        assert!(matches!(slow.wait_sync(T), Err(PendingError::Cancelled(_))));
        shutdown(&c);
    }

    fn each_item_comes_with_its_callbacks_run(backend) {
        // BEHAVIOUR W1: each yielded pending is done with its callbacks run
        let c = caller("ac-callbacks", backend);
        let pen: Pending<u32> = Pending::new();
        let mut stream = c.as_completed(vec![pen.clone()], None, true);
        assert!(stream.next().now_or_never().is_none()); // watched now
        let ran = Arc::new(AtomicUsize::new(0));
        let (go_tx, go_rx) = mpsc::channel::<()>();
        pen.add_done_callback({
            let ran = ran.clone();
            move |_| {
                let _ = go_rx.recv();
                ran.store(1, Ordering::SeqCst);
            }
        });
        let setter = pen.clone();
        let t = std::thread::spawn(move || setter.set_result(5).unwrap());
        // The callback added after ours blocks: the item is set but not yet released.
        while !pen.done() {
            std::thread::yield_now();
        }
        assert!(stream.next().now_or_never().is_none());
        go_tx.send(()).unwrap();
        let out = futures::executor::block_on(stream.next()).unwrap().unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 1);
        assert_eq!(out.result().unwrap(), 5);
        t.join().unwrap();
        shutdown(&c);
    }

    fn futures_are_scheduled_on_the_caller(backend) {
        // BEHAVIOUR W1: items that are not pendings are scheduled on the caller
        let c = caller("ac-futures", backend);
        let items: Vec<_> = (0..5u32)
            .map(|i| Schedule(async move { (i, std::thread::current().id()) }))
            .collect();
        let out = collect(c.as_completed(items, None, true));
        assert_eq!(out.len(), 5);
        for pen in out {
            assert_eq!(pen.result().unwrap().1, c.thread());
        }
        shutdown(&c);
    }

    fn pendings_and_futures_mix(backend) {
        // BEHAVIOUR W1: a collection of pendings and futures
        let c = caller("ac-mix", backend);
        type Fut = std::pin::Pin<Box<dyn std::future::Future<Output = u32> + Send>>;
        let items: Vec<PendingOrFuture<u32, Fut>> = vec![
            PendingOrFuture::Pending(done(1)),
            PendingOrFuture::Future(Box::pin(async { 2 })),
            PendingOrFuture::Pending(c.call_soon(|| 3).unwrap()),
        ];
        let out = collect(c.as_completed(items, None, true));
        let mut values: Vec<u32> = out.iter().map(|p| p.result().unwrap()).collect();
        values.sort_unstable();
        assert_eq!(values, vec![1, 2, 3]);
        shutdown(&c);
    }

    fn erased_pendings_of_different_types(backend) {
        // BEHAVIOUR W1: AnyPending watches pendings of different value types
        let c = caller("ac-any", backend);
        let a = c.call_soon(|| 1u8).unwrap();
        let b = c.call_soon(|| String::from("two")).unwrap();
        let out = collect(c.as_completed(vec![a.erase(), b.erase()], None, true));
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(AnyPending::done));
        assert_eq!(b.result().unwrap(), "two");
        shutdown(&c);
    }

    fn a_stream_source_is_pulled_lazily(backend) {
        // BEHAVIOUR W2: a Stream source, max_concurrent at a time
        let c = caller("ac-stream", backend);
        let src = futures::stream::iter(0..50u32).map({
            let c = c.clone();
            move |i| c.to_thread(move || i).unwrap()
        });
        let mut stream = c.as_completed(Items::stream(src), Some(3), true);
        let mut n = 0;
        futures::executor::block_on(async {
            while let Some(pen) = stream.next().await {
                assert!(stream.unfinished() <= 3);
                pen.unwrap();
                n += 1;
            }
        });
        assert_eq!(n, 50);
        assert!(c.pool().workers() <= 3);
        shutdown(&c);
    }

    fn the_current_pending_is_an_error(backend) {
        // BEHAVIOUR W2: passing the current pending is an error (it would wait for itself)
        let c = caller("ac-self", backend);
        let other: Pending<u32> = Pending::new();
        let out = c
            .call_soon(Async({
                let other = other.clone();
                move || async move {
                    let me = Caller::current_pending().unwrap();
                    let caller = Caller::current().unwrap();
                    let mut stream = caller.as_completed(vec![other.erase(), me], None, true);
                    let first = stream.next().await;
                    let after = stream.next().await;
                    (matches!(first, Some(Err(CallerError::WaitsForItself { .. }))), after.is_none())
                }
            }))
            .unwrap()
            .wait_sync(T)
            .unwrap();
        assert_eq!(out, (true, true));
        assert!(other.cancelled(), "the stream ended early, cancelling what it watched");
        shutdown(&c);
    }

    fn awaited_on_a_caller_of_the_other_backend(backend) {
        // BEHAVIOUR W1, P1: pendings of one backend's caller are awaited
        // through as_completed on a caller of the other backend
        let other = match backend {
            Backend::Tokio => Backend::Smol,
            _ => Backend::Tokio,
        };
        let producer = caller("ac-producer", backend);
        let consumer = caller("ac-consumer", other);
        let pens: Vec<_> = (0..20u32)
            .map(|i| producer.to_thread(move || i).unwrap())
            .collect();
        let total = consumer
            .call_soon(Async(move || async move {
                let me = Caller::current().unwrap();
                let mut total = 0;
                let mut stream = me.as_completed(pens, None, true);
                while let Some(pen) = stream.next().await {
                    total += pen.unwrap().result().unwrap();
                }
                total
            }))
            .unwrap()
            .wait_sync(T)
            .unwrap();
        assert_eq!(total, (0..20).sum::<u32>());
        shutdown(&producer);
        shutdown(&consumer);
    }

    fn awaited_from_other_executors(backend) {
        // BEHAVIOUR W1: the stream works under any executor
        let c = caller("ac-executors", backend);
        let make = |c: &Caller| (0..10u32).map(|i| c.to_thread(move || i).unwrap()).collect::<Vec<_>>();
        let on_tokio = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap()
            .block_on(c.as_completed(make(&c), None, true).count());
        let on_smol = smol::block_on(c.as_completed(make(&c), None, true).count());
        assert_eq!((on_tokio, on_smol), (10, 10));
        shutdown(&c);
    }

    fn the_stream_is_send_and_fused(backend) {
        // BEHAVIOUR W1: awaited from any executor, a multi-threaded one included
        use futures::stream::FusedStream as _;
        let c = caller("ac-send", backend);
        let pens: Vec<_> = (0..10u32).map(|i| c.to_thread(move || i).unwrap()).collect();
        let stream = c.as_completed(Items::lazy(pens), Some(2), true);
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
        let (n, terminated) = rt
            .block_on(rt.spawn(async move {
                let mut stream = stream;
                let mut n = 0;
                while let Some(pen) = stream.next().await {
                    pen.unwrap().result().unwrap();
                    n += 1;
                }
                (n, stream.is_terminated())
            }))
            .unwrap();
        assert_eq!((n, terminated), (10, true));
        shutdown(&c);
    }

    fn items_finishing_while_they_are_taken_are_not_lost(backend) {
        // BEHAVIOUR W1: items that end before they are registered are yielded (reference bug)
        let c = caller("ac-race", backend);
        for _ in 0..20 {
            let pens: Vec<Pending<u32>> = (0..100).map(|_| Pending::new()).collect();
            let setter = {
                let pens = pens.clone();
                std::thread::spawn(move || {
                    for (i, p) in pens.iter().enumerate() {
                        p.set_result(i as u32).unwrap();
                    }
                })
            };
            let out = collect(c.as_completed(Items::lazy(pens), Some(7), true));
            setter.join().unwrap();
            assert_eq!(out.len(), 100);
        }
        shutdown(&c);
    }
}
