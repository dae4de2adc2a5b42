//! Calls scheduled on a caller from its own thread (a task or a plain call awaiting
//! `call_soon`) skip the shared submission queue: they go straight into the loop's batch
//! (BEHAVIOUR CX7). These tests check that nothing about order or ending changes for them.

#[macro_use]
mod common;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use async_kernel::caller::{Async, Caller};
use async_kernel::{Pending, PendingError};

use common::{T, new_caller_on, shutdown};

on_both_backends! {
    fn a_call_queued_by_another_thread_first_runs_first(backend) {
        // SPEC C8 (FIFO), CX7: a call another thread queued before a call from the loop's own
        // thread runs before it, although the second never enters the shared queue.
        let caller = new_caller_on(backend, "own-order-remote-first");
        let order = Arc::new(Mutex::new(Vec::new()));
        let (ask_tx, ask_rx) = mpsc::channel::<()>();
        let (queued_tx, queued_rx) = mpsc::channel::<Pending<()>>();
        let remote = {
            let (caller, order) = (caller.clone(), order.clone());
            std::thread::spawn(move || {
                ask_rx.recv().unwrap();
                let order = order.clone();
                let pen = caller
                    .call_soon(move || order.lock().unwrap().push("remote"))
                    .unwrap();
                queued_tx.send(pen).unwrap();
            })
        };
        let me = caller.clone();
        let order_in = order.clone();
        let local: Pending<Pending<()>> = caller
            .call_soon(async_kernel::caller::Plain(move || {
                // Running on the loop: have the other thread queue its call and wait until it
                // is in, then queue ours from here.
                ask_tx.send(()).unwrap();
                let remote_pen = queued_rx.recv().unwrap();
                drop(remote_pen);
                me.call_soon(move || order_in.lock().unwrap().push("local")).unwrap()
            }))
            .unwrap();
        local.wait_sync(T).unwrap().wait_sync(T).unwrap();
        remote.join().unwrap();
        assert_eq!(*order.lock().unwrap(), vec!["remote", "local"]);
        shutdown(&caller);
    }

    fn calls_from_a_task_run_in_order_and_give_their_values(backend) {
        // SPEC C8 (FIFO), P1: calls a task schedules on its own caller run in order, and each
        // pending ends with its value.
        let caller = new_caller_on(backend, "own-order-task");
        let order = Arc::new(Mutex::new(Vec::new()));
        let order_in = order.clone();
        let total = caller
            .call_soon(Async(move || async move {
                let me = Caller::current().expect("on a caller");
                let pens: Vec<Pending<usize>> = (0..200)
                    .map(|i| {
                        let order = order_in.clone();
                        me.call_soon(move || {
                            order.lock().unwrap().push(i);
                            i
                        })
                        .unwrap()
                    })
                    .collect();
                let mut total = 0;
                for pen in pens {
                    total += pen.await.unwrap();
                }
                total
            }))
            .unwrap();
        assert_eq!(total.wait_sync(T).unwrap(), (0..200).sum::<usize>());
        assert_eq!(*order.lock().unwrap(), (0..200).collect::<Vec<_>>());
        shutdown(&caller);
    }

    fn stopping_ends_the_calls_queued_from_the_loops_own_thread(backend) {
        // SPEC C6: calls still in the loop's batch when the caller stops are cancelled; every
        // pending ends.
        let caller = new_caller_on(backend, "own-stop");
        let me = caller.clone();
        let queued: Pending<Vec<Pending<u32>>> = caller
            .call_soon(async_kernel::caller::Plain(move || {
                let pens: Vec<Pending<u32>> =
                    (0..10).map(|i| me.call_soon(move || i).unwrap()).collect();
                // Stop from the loop's own thread, before any of them had a chance to run.
                me.stop(true);
                pens
            }))
            .unwrap();
        let pens = queued.wait_sync(T).unwrap();
        for pen in &pens {
            match pen.wait_sync(T) {
                Err(PendingError::Cancelled(_)) => {}
                other => panic!("expected the call to be cancelled, got {other:?}"),
            }
        }
        caller.join().unwrap();
    }

    fn a_call_from_the_loops_thread_while_it_stops_is_refused(backend) {
        // SPEC C6: once stopping, the caller takes no new call, from any thread.
        let caller = new_caller_on(backend, "own-refused");
        let me = caller.clone();
        let refused = caller
            .call_soon(move || {
                me.stop(true);
                me.call_soon(|| 1).map(|_| ()).unwrap_err().to_string()
            })
            .unwrap();
        assert!(refused.wait_sync(T).unwrap().contains("own-refused"));
        caller.join().unwrap();
    }
}
