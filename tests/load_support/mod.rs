//! CPU load for the contention guard (`tests/contention_roundtrip.rs`) and the benchmark's
//! `_contended` rows (`benches/compare.rs`, which includes this file by path): one source, so
//! the test guards against exactly the load the benchmark measures under.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

/// One CPU-bound thread per core, each pinned to its core when possible: the load of a kernel
/// whose cells crunch numbers on every core. They stop when this is dropped.
pub struct Burners {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Burners {
    /// Starts one burner per core (at least as many as the available parallelism).
    pub fn start() -> Self {
        let cores = core_affinity::get_core_ids().unwrap_or_default();
        let n = cores
            .len()
            .max(std::thread::available_parallelism().map_or(1, |n| n.get()));
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..n)
            .map(|i| {
                let stop = stop.clone();
                let core = cores.get(i).copied();
                std::thread::spawn(move || {
                    if let Some(core) = core {
                        core_affinity::set_for_current(core);
                    }
                    let mut x = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        for _ in 0..1_000 {
                            x = black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                        }
                    }
                })
            })
            .collect();
        Burners { stop, threads }
    }
}

impl Drop for Burners {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
