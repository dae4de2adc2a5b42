//! A plain closure that returns a future never runs silently (issue 6, point 4; SPEC C9).
//! A `Send` future does not compile (see the `compile_fail` example on `IntoCall`); a future
//! that is not `Send` fails its pending at once.

mod common;

use async_kernel::caller::Async;
use async_kernel::{InvalidStateKind, PendingError};

use async_kernel::Backend;
use common::{backends, new_caller_on, shutdown};

/// Holds an `Rc` across an await: its future is not `Send`.
async fn local_work() -> i32 {
    let local = std::rc::Rc::new(1);
    std::future::ready(()).await;
    *local
}

// BEHAVIOUR C9: a plain closure returning a !Send future fails loudly instead of reporting done.
#[test]
fn a_plain_closure_returning_a_future_fails_its_pending() {
    for backend in backends() {
        a_plain_closure_returning_a_future_fails_its_pending_on(backend);
    }
}

fn a_plain_closure_returning_a_future_fails_its_pending_on(backend: Backend) {
    let caller = new_caller_on(backend, "async-closure");
    let pen = caller
        .call_soon(local_work) // forgot `Async(..)`
        .unwrap();
    match pen.wait_sync(None) {
        Err(PendingError::InvalidState(e)) => {
            assert_eq!(e.kind(), InvalidStateKind::UnmarkedAsyncClosure);
            assert!(e.to_string().contains("Async"), "{e}");
        }
        other => panic!("expected the unmarked async closure to fail, got {other:?}"),
    }
    // The marked form runs.
    let ok = caller.call_soon(Async(local_work)).unwrap();
    assert_eq!(ok.wait_sync(None).unwrap(), 1);
    shutdown(&caller);
}
