//! Shielded groups hold back cancellation from outside until they are done (SPEC G6).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_kernel::{InvalidStateKind, Pending, PendingError, PendingGroup};
use crossbeam_channel::bounded;

use common::{GUARD, run};

#[derive(Default)]
struct Counters {
    inner_done: AtomicUsize,
    after_inner: AtomicUsize,
    after_next_await: AtomicUsize,
}

impl Counters {
    fn get(&self) -> (usize, usize, usize) {
        (
            self.inner_done.load(Ordering::SeqCst),
            self.after_inner.load(Ordering::SeqCst),
            self.after_next_await.load(Ordering::SeqCst),
        )
    }
}

/// What the scenario leaves behind: the outer outcome, the counters, the inner member, and the
/// thread that failed the outer member (with the error it got setting the inner member, if any).
type Scenario = (
    Result<(), PendingError>,
    Arc<Counters>,
    Pending<u32>,
    std::thread::JoinHandle<Option<InvalidStateKind>>,
);

/// An outer group whose member "outer-member" fails (on a plain thread) while an inner group,
/// shielded or not, awaits `gate`. With a shield the same thread completes `gate` afterwards;
/// without one it waits for `gate` to be cancelled and reports whether it could still set it.
fn outer_failure_during_inner_group(shield: bool) -> Scenario {
    let counters = Arc::new(Counters::default());
    let c = counters.clone();
    let (gate_tx, gate_rx) = bounded::<Pending<u32>>(1);
    let (thread_tx, thread_rx) = bounded(1);
    let out = run(PendingGroup::new().run(|_| async move {
        let bad: Pending<()> = Pending::builder()
            .metadata("name", "outer-member")
            .build()
            .unwrap();
        let inner = PendingGroup::new().shield(shield);
        let c2 = c.clone();
        let inner_out = inner
            .run(|_| async move {
                let gate: Pending<u32> = Pending::new();
                gate_tx.send(gate.clone()).unwrap();
                let g = gate.clone();
                let t = std::thread::spawn(move || {
                    bad.set_exception("outer member failed").unwrap();
                    if shield {
                        g.set_result(5).unwrap();
                        None
                    } else {
                        g.erase().wait_sync_done(Some(GUARD)).unwrap();
                        g.set_result(5).err().map(|e| e.kind())
                    }
                });
                thread_tx.send(t).unwrap();
                let v = gate.await;
                c2.inner_done.fetch_add(1, Ordering::SeqCst);
                v
            })
            .await;
        c.after_inner.fetch_add(1, Ordering::SeqCst);
        assert_eq!(
            inner_out.unwrap().unwrap(),
            5,
            "the shielded group finished normally"
        );
        tokio::task::yield_now().await;
        c.after_next_await.fetch_add(1, Ordering::SeqCst);
    }));
    let gate = gate_rx.try_recv().unwrap();
    let thread = thread_rx.try_recv().unwrap();
    (out, counters, gate, thread)
}

// SPEC G6: an outer failure waits for the shielded inner group, whose body runs to completion;
// the outer group then reports cancellation and stops its body at the next await.
#[test]
fn shielded_inner_group_runs_to_completion() {
    let (out, counters, gate, thread) = outer_failure_during_inner_group(true);
    assert_eq!(thread.join().unwrap(), None);
    assert_eq!(counters.get(), (1, 1, 0));
    assert_eq!(gate.result().unwrap(), 5);
    let msg = out.unwrap_err().cancel_message().unwrap().to_owned();
    assert!(msg.contains("outer-member"), "{msg}");
}

// SPEC G6 (contrast): without a shield the outer failure drops the inner body at its await.
#[test]
fn unshielded_inner_group_is_dropped() {
    let (out, counters, gate, thread) = outer_failure_during_inner_group(false);
    assert_eq!(
        thread.join().unwrap(),
        Some(InvalidStateKind::AlreadyDone),
        "the gate was already cancelled when the thread tried to set it"
    );
    assert_eq!(counters.get(), (0, 0, 0));
    assert!(gate.cancelled());
    let msg = out.unwrap_err().cancel_message().unwrap().to_owned();
    assert!(msg.contains("outer-member"), "{msg}");
}

// SPEC G6, G3: cancel() of the outer group from another thread is held back by a shield too.
#[test]
fn outer_cancel_from_a_thread_waits_for_the_shielded_group() {
    let inner_done = Arc::new(AtomicUsize::new(0));
    let d = inner_done.clone();
    let out = run(PendingGroup::new().run(|outer| async move {
        PendingGroup::new()
            .shield(true)
            .run(|_| async move {
                let gate: Pending<u32> = Pending::new();
                let g = gate.clone();
                std::thread::spawn(move || {
                    outer.cancel(Some("outer cancelled"));
                    g.set_result(1).unwrap();
                });
                let v = gate.await.unwrap();
                d.fetch_add(v as usize, Ordering::SeqCst);
            })
            .await
            .unwrap();
        std::future::pending::<()>().await;
    }));
    assert_eq!(inner_done.load(Ordering::SeqCst), 1);
    assert_eq!(out.unwrap_err().cancel_message(), Some("outer cancelled"));
}

// SPEC G6: shield is a setting of the group.
#[test]
fn shield_setting_is_reported() {
    assert!(!PendingGroup::new().is_shielded());
    assert!(PendingGroup::new().shield(true).is_shielded());
    assert!(!PendingGroup::new().shield(true).shield(false).is_shielded());
}
