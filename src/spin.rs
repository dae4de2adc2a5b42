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
//! 2. **What yields cost this thread** (everywhere; the only guard where `/proc` is missing):
//!    every yield is timed. A wait that caught its result while yielding earns the thread
//!    [`SAVED_PER_SPIN`] of credit (at most [`MAX_CREDIT`], which is also where a thread
//!    starts); a yield slower than [`SLOW_YIELD`] gave a time slice away and costs what it
//!    took, whether or not the result came meanwhile. Once the losses exceed the savings the
//!    thread stops spinning for a pause ([`PAUSE_MIN`], doubling up to [`PAUSE_MAX`] while losses
//!    come right after a pause). Rare slow yields on a machine that is mostly idle (another
//!    process passing through) are paid for by the many quick catches and change nothing.
//!    Per thread, so that waits never share a cache line.
//!
//! Otherwise a wait yields at most [`MAX_YIELDS`] times and for at most [`YIELD_BUDGET`].
//!
//! Under loom nothing spins: loom runs the other threads to completion on a yield, so the sleep
//! path (the one that can lose a wake-up) would never be explored.

#[cfg(not(loom))]
use std::sync::OnceLock;
#[cfg(not(loom))]
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
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

/// The highest pause level (see [`Account::level`]).
#[cfg(not(loom))]
const MAX_LEVEL: u32 = 6;

/// What a sleep and a wake-up cost beyond a wait that caught its result by yielding (pinned to
/// one core, idle: a cross-thread round trip of 3.0 µs instead of 4.7 µs).
#[cfg(not(loom))]
const SAVED_PER_SPIN: Duration = Duration::from_micros(2);

/// The most credit a thread can save up, and what it starts with: a long idle streak must not
/// excuse a later storm of slow yields (under load about one time slice of losses stops it).
#[cfg(not(loom))]
const MAX_CREDIT: Duration = Duration::from_millis(2);

/// What one thread's yields have earned and cost.
#[cfg(not(loom))]
#[derive(Clone, Copy)]
struct Account {
    /// Time saved by waits that caught their result while yielding, minus time lost in slow
    /// yields, in nanoseconds.
    credit_ns: i64,
    /// No spinning before this.
    paused_until: Option<Instant>,
    /// How many pauses in a row were followed by more losses (the pause is
    /// `PAUSE_MIN << level`).
    level: u32,
}

#[cfg(not(loom))]
thread_local! {
    /// This thread's [`Account`]: per thread, so that waits never share a cache line.
    static ACCOUNT: std::cell::Cell<Account> = const {
        std::cell::Cell::new(Account {
            credit_ns: MAX_CREDIT.as_nanos() as i64,
            paused_until: None,
            level: 0,
        })
    };
}

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
    // `try_with`: a wait may run in another thread-local's destructor, after ours is gone;
    // it then waits without spinning.
    let Ok(mut account) = ACCOUNT.try_with(std::cell::Cell::get) else {
        return false;
    };
    if account.paused_until.is_some_and(|t| start < t) || overloaded(since_epoch(start)) {
        return false;
    }
    let mut last = start;
    let mut caught = false;
    for _ in 0..MAX_YIELDS {
        std::thread::yield_now();
        caught = ready();
        let now = Instant::now();
        let took = now - last;
        if took > SLOW_YIELD {
            // A time slice went elsewhere. Where the load is visible (`overloaded` read
            // /proc/loadavg before we spun, and finds CPU hogs), a slow yield that found the
            // result gave the slice to the thread we wait for: a producer on the same core,
            // which is the point of yielding (pausing here made a pinned producer and the loop
            // ping-pong through a futex wake per call). Otherwise the slice may have gone to a
            // hog while the result came from another core: count it lost.
            if !caught || !load_visible() {
                account.credit_ns -= nanos(took);
                if account.credit_ns < 0 {
                    pause(&mut account, now);
                }
            }
            break;
        }
        if caught {
            account.credit_ns = (account.credit_ns + nanos(SAVED_PER_SPIN)).min(nanos(MAX_CREDIT));
            break;
        }
        if now - start > YIELD_BUDGET {
            break;
        }
        last = now;
    }
    let _ = ACCOUNT.try_with(|a| a.set(account));
    caught
}

/// `d` in nanoseconds, saturating.
#[cfg(not(loom))]
fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
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
/// Whether `/proc/loadavg` answers (cleared at the first failed read).
#[cfg(not(loom))]
static READABLE: AtomicBool = AtomicBool::new(true);

/// True while the load check can see runnable threads (Linux with /proc).
#[cfg(not(loom))]
fn load_visible() -> bool {
    READABLE.load(Relaxed)
}

#[cfg(not(loom))]
fn runnable_threads() -> Option<usize> {
    use std::io::Read;
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

/// Slow yields have cost this thread more than its yields saved: pause spinning. Losses soon
/// after the last pause ended double the pause (the load goes on); later ones start over.
#[cfg(not(loom))]
fn pause(account: &mut Account, now: Instant) {
    let recent = account
        .paused_until
        .is_some_and(|until| now < until + pause_at(account.level));
    account.level = if recent {
        (account.level + 1).min(MAX_LEVEL)
    } else {
        0
    };
    let pause = pause_at(account.level);
    account.paused_until = Some(now + pause);
    account.credit_ns = 0;
    tracing::trace!(
        ?pause,
        "slow yields cost more than they saved: waits sleep at once for a while"
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
