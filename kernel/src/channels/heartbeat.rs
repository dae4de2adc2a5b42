//! The heartbeat channel: a REP socket on its own thread that echoes every message at once,
//! whatever the cells are doing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

/// How often the thread looks at its stop flag while no ping arrives.
const STOP_POLL_MS: i64 = 50;

/// The running heartbeat; [`stop`](Heartbeat::stop) ends it.
#[derive(Debug)]
pub struct Heartbeat {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Heartbeat {
    /// Binds a REP socket at `endpoint` and starts echoing.
    ///
    /// # Errors
    /// ZeroMQ's error when the socket cannot be created or bound; the thread's spawn error.
    pub fn spawn(
        context: &zmq::Context,
        endpoint: &str,
    ) -> Result<Heartbeat, Box<dyn std::error::Error + Send + Sync>> {
        let rep = context.socket(zmq::REP)?;
        rep.set_linger(0)?;
        rep.bind(endpoint)?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("heartbeat".into())
            .spawn(move || {
                while !flag.load(Ordering::Acquire) {
                    match rep.poll(zmq::POLLIN, STOP_POLL_MS) {
                        Ok(0) => continue,
                        Ok(_) => {
                            if let Ok(frames) = rep.recv_multipart(0) {
                                let _ = rep.send_multipart(frames, 0);
                            }
                        }
                        Err(error) => {
                            tracing::error!(%error, "heartbeat poll failed; heartbeat stops");
                            return;
                        }
                    }
                }
            })?;
        Ok(Heartbeat {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops echoing and joins the thread.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
