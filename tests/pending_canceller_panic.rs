//! A panicking canceller never unwinds out of `cancel()`, and the pending still ends
//! (issue 6, point 9; BEHAVIOUR P6, P8).

mod common;

use async_kernel::Pending;

use common::T;

// BEHAVIOUR P6: the canceller panics; `cancel` returns and the pending ends cancelled.
#[test]
fn a_panicking_canceller_does_not_unwind_out_of_cancel() {
    let pen: Pending<u8> = Pending::new();
    pen.set_canceller(|_| panic!("canceller bug")).unwrap();
    assert!(pen.cancel(Some("stop")));
    assert!(
        pen.done(),
        "the pending ended although its canceller panicked"
    );
    let err = pen.wait_sync(T).unwrap_err();
    assert_eq!(err.cancel_message(), Some("stop"));
    // The work's late outcome changes nothing (P4).
    assert!(pen.set_result(1).is_err());
}

// BEHAVIOUR P5, P6: a cancel without a message reaches the canceller too; its panic is
// contained the same way and the pending ends.
#[test]
fn a_canceller_panicking_on_a_cancel_without_message_is_contained() {
    let pen: Pending<u8> = Pending::new();
    pen.set_canceller(|m| assert!(m.is_some(), "no message"))
        .unwrap();
    pen.cancel(None);
    assert!(pen.done());
    assert!(pen.result().unwrap_err().is_cancelled());
}
