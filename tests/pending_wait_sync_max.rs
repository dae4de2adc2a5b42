//! `wait_sync(Some(Duration::MAX))` saturates instead of panicking on `Instant` overflow
//! (issue 6, point 8; BEHAVIOUR P11).

use std::time::Duration;

use async_kernel::Pending;

// BEHAVIOUR P11: a timeout too large for the clock waits without a deadline. The value is set
// only once the waiting thread sleeps, so the wait really goes through its deadline
// computation (a value set earlier would return on the fast path).
#[test]
fn wait_sync_with_duration_max_waits() {
    let pen: Pending<u8> = Pending::new();
    let setter = pen.clone();
    let waiter = this_thread_id();
    let t = std::thread::spawn(move || {
        wait_until_sleeping(&waiter);
        setter.set_result(9).unwrap();
    });
    assert_eq!(pen.wait_sync(Some(Duration::MAX)).unwrap(), 9);
    assert!(pen.wait_sync_done(Some(Duration::MAX)).is_ok());
    t.join().unwrap();
}

/// This thread's kernel id (Linux), or `None` where `/proc` is missing.
fn this_thread_id() -> Option<String> {
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    Some(link.file_name()?.to_string_lossy().into_owned())
}

/// Returns once thread `tid` of this process sleeps (state `S`: blocked, as a parked waiter
/// is); at once where `/proc` is missing. Fails after a generous bound.
fn wait_until_sleeping(tid: &Option<String>) {
    let Some(tid) = tid else { return };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat"))
            .expect("the waiting thread is alive");
        // The state follows the command name, which is in parentheses and may hold spaces.
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next());
        if state == Some('S') {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the waiting thread never slept"
        );
        std::thread::yield_now();
    }
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
