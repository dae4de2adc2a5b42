//! `wait_sync(Some(Duration::MAX))` saturates instead of panicking on `Instant` overflow
//! (issue 6, point 8; BEHAVIOUR P11).

use std::time::Duration;

use async_kernel::Pending;

// BEHAVIOUR P11: a timeout too large for the clock waits without a deadline.
#[test]
fn wait_sync_with_duration_max_waits() {
    let pen: Pending<u8> = Pending::new();
    let setter = pen.clone();
    let t = std::thread::spawn(move || setter.set_result(9).unwrap());
    assert_eq!(pen.wait_sync(Some(Duration::MAX)).unwrap(), 9);
    assert!(pen.wait_sync_done(Some(Duration::MAX)).is_ok());
    t.join().unwrap();
}

// BEHAVIOUR P10: an async wait with a timeout too large for the clock waits without a deadline.
#[test]
fn async_wait_with_duration_max_waits() {
    use futures::FutureExt as _;
    let pen: Pending<u8> = Pending::new();
    let mut wait = pen.wait().timeout(Duration::MAX);
    assert!((&mut wait).now_or_never().is_none());
    pen.set_result(3).unwrap();
    assert_eq!(futures::executor::block_on(wait).unwrap(), 3);
}
