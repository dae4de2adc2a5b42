//! `Fallible(|| Ok(1))` needs no turbofish through `Fallible::boxed` (issue 6, point 5; SPEC C9).

mod common;

use async_kernel::PendingError;
use async_kernel::caller::{Fallible, FallibleAsync};

use async_kernel::Backend;
use common::{backends, new_caller_on, shutdown};

// BEHAVIOUR C9: a boxed fallible closure gives its value, and `?` turns any error into a failure.
#[test]
fn boxed_fallible_closures_need_no_annotation() {
    for backend in backends() {
        boxed_fallible_closures_need_no_annotation_on(backend);
    }
}

fn boxed_fallible_closures_need_no_annotation_on(backend: Backend) {
    let caller = new_caller_on(backend, "fallible-boxed");
    let one = caller.call_soon(Fallible::boxed(|| Ok(1))).unwrap();
    assert_eq!(one.wait_sync(None).unwrap(), 1);
    let bad = caller
        .call_soon(Fallible::boxed(|| {
            let n: u32 = "x".parse()?;
            Ok(n)
        }))
        .unwrap();
    match bad.wait_sync(None) {
        Err(PendingError::Failed(e)) => assert!(e.to_string().contains("invalid digit"), "{e}"),
        other => panic!("expected a failure, got {other:?}"),
    }
    let two = caller
        .call_soon(FallibleAsync::boxed(|| async { Ok(2) }))
        .unwrap();
    assert_eq!(two.wait_sync(None).unwrap(), 2);
    shutdown(&caller);
}
