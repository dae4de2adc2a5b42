//! How a thread waits a moment before it sleeps: the one policy behind every short busy wait of
//! the crate (the caller loop's idle wait and `Pending::wait_sync`, which `Event::wait_sync`
//! uses).
//!
//! On an idle machine, giving up the time slice a few times catches a result from another
//! thread more cheaply than sleeping and being woken (a futex call on each side and the
//! scheduler's wake-up latency; with both threads on one core a yield hands the core straight to
//! the thread we wait for). On a busy machine the same yield hands a whole time slice
//! (milliseconds) to a CPU-bound thread, while a sleeping thread that is woken is scheduled
//! promptly. Measured under load, any spinning at all — a few yields, even a few microseconds
//! of polling on the CPU, even an occasional probing yield — made round trips several times
//! slower than sleeping at once, so under load a wait sleeps at once:
//!
//! 1. **Runnable threads vs CPUs** (Linux): at most every [`CHECK_EVERY`], one waiting thread
//!    reads how many threads are runnable right now (`/proc/loadavg`). More than there are CPUs
//!    means a yield would hand the CPU to someone else: nobody spins until the next check.
//! 2. **Slow yields** (everywhere, and a safety net): every yield is timed; one that took
//!    longer than [`SLOW_YIELD`] gave a time slice away, and then nobody spins for a pause
//!    ([`PAUSE_MIN`], doubling up to [`PAUSE_MAX`] while slow yields keep coming right after a
//!    pause). A false alarm (a yield that was slow because the thread we wait for was busy with
//!    our own long job) only costs a wake-up per wait for one pause.
//!
//! Otherwise a wait yields at most [`MAX_YIELDS`] times and for at most [`YIELD_BUDGET`].
//!
//! Under loom nothing spins: loom runs the other threads to completion on a yield, so the sleep
//! path (the one that can lose a wake-up) would never be explored.

#[cfg(not(loom))]
use std::sync::OnceLock;
#[cfg(not(loom))]
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
#[cfg(not(loom))]
use std::time::{Duration, Instant};

/// Most yields in one wait before sleeping.
#[cfg(not(loom))]
const MAX_YIELDS: u32 = 16;

/// A wait stops yielding after this long, however many yields it made.
#[cfg(not(loom))]
const YIELD_BUDGET: Duration = Duration::from_micros(60);

/// How often the number of runnable threads is read (a few microseconds each time).
#[cfg(not(loom))]
const CHECK_EVERY: Duration = Duration::from_millis(1);

/// A yield that took longer than this gave the CPU to another thread for a time slice; a
/// sleep and a wake-up cost less.
#[cfg(not(loom))]
const SLOW_YIELD: Duration = Duration::from_micros(100);

/// The first pause of spinning after a slow yield.
#[cfg(not(loom))]
const PAUSE_MIN: Duration = Duration::from_millis(4);

/// The longest pause: under steady load the probing costs about one time slice per this long.
#[cfg(not(loom))]
const PAUSE_MAX: Duration = Duration::from_millis(256);

/// The highest [`PAUSE_LEVEL`].
#[cfg(not(loom))]
const MAX_LEVEL: u32 = 6;

/// Nanoseconds since [`epoch`] until which nobody spins after a slow yield (0: none yet).
#[cfg(not(loom))]
static PAUSED_UNTIL: AtomicU64 = AtomicU64::new(0);

/// How many pauses in a row ended with yields still slow (the pause is `PAUSE_MIN << level`).
/// A quick yield does not lower it: under load quick and slow yields alternate, and one slow
/// yield in a few hundred already costs more than all the quick ones saved.
#[cfg(not(loom))]
static PAUSE_LEVEL: AtomicU32 = AtomicU32::new(0);

/// Nanoseconds since [`epoch`] of the last read of the runnable threads (0: never).
#[cfg(not(loom))]
static CHECKED_AT: AtomicU64 = AtomicU64::new(0);

/// What the last read said: more runnable threads than CPUs.
#[cfg(not(loom))]
static OVERLOADED: AtomicBool = AtomicBool::new(false);

/// The process's reference instant for the timestamps above.
#[cfg(not(loom))]
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Nanoseconds from [`epoch`] to `t` (at least 1, so that 0 can mean "never").
#[cfg(not(loom))]
fn since_epoch(t: Instant) -> u64 {
    u64::try_from(t.saturating_duration_since(epoch()).as_nanos())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// Waits briefly for `ready` before the caller sleeps: true as soon as `ready()` is true, false
/// when the caller should go to sleep (register its wake-up and block). Never sleeps itself.
#[cfg(not(loom))]
pub(crate) fn spin_until(mut ready: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    let now_ns = since_epoch(start);
    if now_ns < PAUSED_UNTIL.load(Relaxed) || overloaded(now_ns) {
        return false;
    }
    let mut last = start;
    for _ in 0..MAX_YIELDS {
        std::thread::yield_now();
        if ready() {
            return true;
        }
        let now = Instant::now();
        if now - last > SLOW_YIELD {
            yields_are_slow(now);
            return false;
        }
        if now - start > YIELD_BUDGET {
            break;
        }
        last = now;
    }
    false
}

/// Under loom: never spins (see the module's notes).
#[cfg(loom)]
pub(crate) fn spin_until(_ready: impl FnMut() -> bool) -> bool {
    false
}

/// Whether more threads are runnable than there are CPUs, from a reading at most
/// [`CHECK_EVERY`] old. One thread at a time reads; the others use the last answer.
#[cfg(not(loom))]
fn overloaded(now_ns: u64) -> bool {
    let at = CHECKED_AT.load(Relaxed);
    let stale = at == 0 || now_ns.saturating_sub(at) >= CHECK_EVERY.as_nanos() as u64;
    if !stale
        || CHECKED_AT
            .compare_exchange(at, now_ns, Relaxed, Relaxed)
            .is_err()
    {
        return OVERLOADED.load(Relaxed);
    }
    let over = runnable_threads().is_some_and(|n| n > cpus());
    OVERLOADED.store(over, Relaxed);
    over
}

/// Threads runnable right now, the reading one included (Linux: the fourth field of
/// `/proc/loadavg`, "runnable/total"); `None` where that cannot be read.
#[cfg(not(loom))]
fn runnable_threads() -> Option<usize> {
    use std::io::Read;
    static READABLE: AtomicBool = AtomicBool::new(true);
    if !READABLE.load(Relaxed) {
        return None;
    }
    let mut buf = [0u8; 128];
    let n = std::fs::File::open("/proc/loadavg")
        .and_then(|mut f| f.read(&mut buf))
        .ok();
    let runnable = n.and_then(|n| {
        let text = std::str::from_utf8(&buf[..n]).ok()?;
        let field = text.split_whitespace().nth(3)?;
        field.split('/').next()?.parse().ok()
    });
    if runnable.is_none() {
        // Not Linux (or no /proc): rely on timing yields alone, without retrying the file.
        READABLE.store(false, Relaxed);
    }
    runnable
}

/// CPUs of the machine (not of this thread's affinity mask: a thread pinned to one core still
/// competes only if the machine's CPUs are all taken).
#[cfg(not(loom))]
fn cpus() -> usize {
    static CPUS: OnceLock<usize> = OnceLock::new();
    *CPUS.get_or_init(|| {
        std::fs::read_to_string("/sys/devices/system/cpu/online")
            .ok()
            .and_then(|s| count_cpu_list(s.trim()))
            .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
            .unwrap_or(1)
    })
}

/// The number of CPUs in a kernel CPU list such as `0-3,6,8-9`.
#[cfg(not(loom))]
fn count_cpu_list(list: &str) -> Option<usize> {
    let mut n = 0;
    for part in list.split(',') {
        n += match part.split_once('-') {
            Some((a, b)) => b.parse::<usize>().ok()?.checked_sub(a.parse().ok()?)? + 1,
            None => {
                part.parse::<usize>().ok()?;
                1
            }
        };
    }
    (n > 0).then_some(n)
}

/// A yield handed the CPU away for a time slice: pause spinning. A slow yield soon after the
/// last pause ended doubles the pause (the load goes on); one long after starts over.
#[cfg(not(loom))]
fn yields_are_slow(now: Instant) {
    let now_ns = since_epoch(now);
    let until = PAUSED_UNTIL.load(Relaxed);
    let level = PAUSE_LEVEL.load(Relaxed).min(MAX_LEVEL);
    let recent = until != 0 && now_ns < until.saturating_add(pause_at(level).as_nanos() as u64);
    let level = if recent {
        (level + 1).min(MAX_LEVEL)
    } else {
        0
    };
    PAUSE_LEVEL.store(level, Relaxed);
    let pause = pause_at(level);
    PAUSED_UNTIL.store(since_epoch(now + pause), Relaxed);
    tracing::trace!(
        ?pause,
        "yields are slow (busy CPUs): waits sleep at once for a while"
    );
}

/// The pause at `level`: [`PAUSE_MIN`] doubled `level` times, at most [`PAUSE_MAX`].
#[cfg(not(loom))]
fn pause_at(level: u32) -> Duration {
    (PAUSE_MIN * (1 << level.min(MAX_LEVEL))).min(PAUSE_MAX)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn ready_at_once_needs_no_sleep_or_asks_for_it() {
        // Ready at the first look, unless the machine is busy (then it asks to sleep at once).
        let mut polls = 0;
        let ready = spin_until(|| {
            polls += 1;
            true
        });
        assert!(ready || polls == 0);
    }

    #[test]
    fn never_ready_asks_to_sleep() {
        assert!(!spin_until(|| false));
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(count_cpu_list("0"), Some(1));
        assert_eq!(count_cpu_list("0-1"), Some(2));
        assert_eq!(count_cpu_list("0-3,6,8-9"), Some(7));
        assert_eq!(count_cpu_list("x"), None);
        assert_eq!(count_cpu_list("3-1"), None);
    }

    #[test]
    fn pauses_double_and_stop_at_the_longest() {
        assert_eq!(pause_at(0), PAUSE_MIN);
        assert_eq!(pause_at(1), PAUSE_MIN * 2);
        assert_eq!(pause_at(MAX_LEVEL), PAUSE_MAX);
        assert_eq!(pause_at(100), PAUSE_MAX);
    }
}
