//! `join()` on the root of a caller tree returns only when every descendant's thread has
//! exited, also a child that stopped before its parent.

mod common;

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_kernel::caller::{Backend, Caller, CallerOptions, Modifier};
use common::{T, backends, new_caller_on};

/// Threads of this process whose name starts with `prefix` (Linux: `/proc/self/task`).
/// Sets its flag when the thread holding it exits, slowly: it makes a thread's exit outlast
/// its caller's `stopped` event by far, so a `join` that does not wait for it is caught.
struct SlowExit(Arc<AtomicBool>, Duration);

/// How long a [`SlowExit`] holds its thread in the single-tree tests.
const SLOW_EXIT: Duration = Duration::from_millis(50);
/// The same in the thousand-tree test (a quarter of the trees use it).
const SHORT_EXIT: Duration = Duration::from_millis(2);

impl Drop for SlowExit {
    fn drop(&mut self) {
        // Not ordering the test: only widening the window in which a thread still runs
        // after its caller reported stopped.
        std::thread::sleep(self.1);
        self.0.store(true, Ordering::SeqCst);
    }
}

thread_local! {
    static ON_EXIT: RefCell<Option<SlowExit>> = const { RefCell::new(None) };
}

#[test]
fn join_on_the_root_waits_for_a_child_that_stopped_first() {
    // BEHAVIOUR CX3 (join leaves no thread behind); SPEC C6, C11
    for backend in backends() {
        let root = new_caller_on(backend, "jw-root");
        let child = root.get(CallerOptions::named("jw-child")).unwrap();
        let grandchild = child.get(CallerOptions::named("jw-grandchild")).unwrap();
        let exited = [
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        ];
        for (caller, flag) in [&child, &grandchild].into_iter().zip(&exited) {
            let flag = flag.clone();
            caller
                .call_soon(move || {
                    ON_EXIT.with(|e| *e.borrow_mut() = Some(SlowExit(flag, SLOW_EXIT)))
                })
                .unwrap()
                .wait_sync(T)
                .unwrap();
        }
        // The child (and with it the grandchild) stops first and reports stopped; its thread
        // is still exiting.
        child.stop(true);
        child.stopped().wait_sync(T).unwrap();
        assert!(!root.children().contains(&child), "{backend}");
        root.stop(true);
        root.join().unwrap();
        for flag in &exited {
            assert!(
                flag.load(Ordering::SeqCst),
                "{backend}: join returned while a descendant's thread was still alive"
            );
        }
    }
}

#[test]
fn join_on_a_caller_that_never_ran_waits_for_its_childrens_threads() {
    // BEHAVIOUR CX3 (join leaves no thread behind); SPEC C6 (a caller that never ran stops once its
    // children have)
    for backend in backends() {
        join_on_a_caller_that_never_ran_waits_for_its_childrens_threads_on(backend);
    }
}

fn join_on_a_caller_that_never_ran_waits_for_its_childrens_threads_on(backend: Backend) {
    std::thread::spawn(move || {
        let parent = Caller::new(
            Modifier::Manual,
            CallerOptions::named("jw-never-ran").backend(backend),
        )
        .unwrap();
        let child = parent
            .get(CallerOptions::named("jw-never-ran-child"))
            .unwrap();
        let exited = Arc::new(AtomicBool::new(false));
        let flag = exited.clone();
        child
            .call_soon(move || ON_EXIT.with(|e| *e.borrow_mut() = Some(SlowExit(flag, SLOW_EXIT))))
            .unwrap()
            .wait_sync(T)
            .unwrap();
        parent.stop(true);
        parent.join().unwrap();
        assert!(
            exited.load(Ordering::SeqCst),
            "the child's thread outlived join"
        );
    })
    .join()
    .unwrap();
}

/// Installs a [`SlowExit`] on `caller`'s thread; the flag tells when that thread has exited
/// (thread-local destructors run as the very last thing a thread does).
fn watch_exit(caller: &Caller, delay: Duration) -> Arc<AtomicBool> {
    let exited = Arc::new(AtomicBool::new(false));
    let flag = exited.clone();
    caller
        .call_soon(move || ON_EXIT.with(|e| *e.borrow_mut() = Some(SlowExit(flag, delay))))
        .unwrap()
        .wait_sync(T)
        .unwrap();
    exited
}

#[test]
fn a_thousand_tree_stops_leave_no_descendant_thread_behind() {
    // BEHAVIOUR CX3 (join leaves no thread behind); SPEC C6, C11
    const TREES: usize = 1000;
    let backends = backends();
    for i in 0..TREES {
        let backend = backends[i % backends.len()];
        let root = new_caller_on(backend, "jt-root");
        let child = root.get(CallerOptions::named("jt-child")).unwrap();
        // A quarter of the children take a moment to exit after reporting stopped, so a join
        // that forgets them is caught at once, not in a few trees in 1,000.
        let child_exit = if i % 4 == 2 {
            SHORT_EXIT
        } else {
            Duration::ZERO
        };
        let mut exits = vec![
            watch_exit(&root, Duration::ZERO),
            watch_exit(&child, child_exit),
        ];
        if i % 2 == 1 {
            let grandchild = child.get(CallerOptions::named("jt-grandchild")).unwrap();
            exits.push(watch_exit(&grandchild, Duration::ZERO));
        }
        match i % 4 {
            // The child stops first, on its own.
            0 | 1 => {
                child.stop(true);
            }
            // The child stops first and has reported stopped; its thread is still exiting.
            2 => {
                child.stop(true);
                child.stopped().wait_sync(T).unwrap();
            }
            // The root stops them.
            _ => {}
        }
        root.stop(true);
        root.join().unwrap();
        let alive = exits.iter().filter(|e| !e.load(Ordering::SeqCst)).count();
        assert_eq!(
            alive, 0,
            "tree {i} ({backend}): {alive} threads alive after join"
        );
    }
}

#[test]
fn get_by_name_never_returns_a_stopped_child_still_waiting_to_be_joined() {
    // SPEC C11 (`get` finds a running child by name, or makes a new one)
    for backend in backends() {
        get_by_name_never_returns_a_stopped_child_still_waiting_to_be_joined_on(backend);
    }
}

fn get_by_name_never_returns_a_stopped_child_still_waiting_to_be_joined_on(backend: Backend) {
    let root = new_caller_on(backend, "jw-get-root");
    let first = root.get(CallerOptions::named("jw-get-child")).unwrap();
    first.stop(true);
    first.stopped().wait_sync(T).unwrap();
    let second = root.get(CallerOptions::named("jw-get-child")).unwrap();
    assert_ne!(first, second);
    assert!(second.running() || second.state() < async_kernel::CallerState::Stopping);
    assert_eq!(root.children(), vec![second.clone()]);
    root.stop(true);
    root.join().unwrap();
    assert!(second.stopped().is_set());
}
