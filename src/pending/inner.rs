//! The state behind every [`Pending`] handle: the atomic state byte, the lock around the outcome
//! and the first waiter, and the lazily boxed extras. Also how waiters register and are woken.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::any_pending::{CallbackId, ErasedPending, Hook, WaiterKey};
use crate::error::PendingError;
use crate::metadata::Metadata;
use crate::sync::{AtomicU8, AtomicU16, AtomicU32, Mutex, Ordering, lock};

use super::core::Pending;
use super::state::{CANCELLED, DEFERRED, DONE, NOT_STARTED, SET};

/// A done-callback.
pub(crate) type Callback<T> = Box<dyn FnOnce(&Pending<T>) + Send + 'static>;
/// Stops the work of a pending when it is cancelled.
pub(crate) type Canceller = Arc<dyn Fn(Option<&str>) + Send + Sync + 'static>;

pub(crate) struct Inner<T: 'static> {
    pub(crate) state: AtomicU8,
    /// The id of the caller that must run the work (0: none). Blocking on the pending from
    /// that caller's thread would deadlock (SPEC P11). Lives in what would be padding.
    pub(crate) runner: AtomicU32,
    /// For a scheduled call, the interned name of its function (0: none; `call_names`). With
    /// `runner` it names the call in metadata and `Debug` (SPEC P2) without an allocation.
    pub(crate) function: AtomicU16,
    pub(crate) core: Mutex<Core<T>>,
}

pub(crate) struct Core<T: 'static> {
    /// The error is boxed: the common outcome is a value, and an inline `PendingError` (24
    /// bytes) would make every `Pending<()>` 80 bytes instead of 72 (the `futures` oneshot pair).
    pub(crate) outcome: Option<Result<T, Box<PendingError>>>,
    /// The first waiter's waker; more waiters go to `extras.wakers`.
    pub(crate) waker: Option<Waker>,
    /// Everything most pendings never need, allocated on first use.
    pub(crate) extras: Option<Box<Extras<T>>>,
}

pub(crate) struct Extras<T: 'static> {
    pub(crate) metadata: Metadata,
    pub(crate) cancel_message: Option<String>,
    pub(crate) canceller: Option<Canceller>,
    pub(crate) callbacks: Vec<(CallbackId, Callback<T>)>,
    /// Waiter slots 1.. (slot 0 is `Core::waker`).
    pub(crate) wakers: Vec<Option<Waker>>,
}

impl<T: 'static> Default for Extras<T> {
    fn default() -> Self {
        Extras {
            metadata: Metadata::default(),
            cancel_message: None,
            canceller: None,
            callbacks: Vec::new(),
            wakers: Vec::new(),
        }
    }
}

impl<T: 'static> Inner<T> {
    /// A running pending's state, with `extras` when it has metadata.
    pub(crate) fn new(extras: Option<Box<Extras<T>>>) -> Self {
        Inner {
            state: AtomicU8::new(0),
            runner: AtomicU32::new(0),
            function: AtomicU16::new(0),
            core: Mutex::new(Core {
                outcome: None,
                waker: None,
                extras,
            }),
        }
    }
}

impl<T: 'static> Inner<T> {
    /// Marks a scheduled call as started; false when it was cancelled or completed first
    /// (see `Pending::begin_run`).
    pub(crate) fn begin_run(&self) -> bool {
        // Lock-free: `cancel` publishes CANCELLED with a compare-exchange too, so exactly one
        // of the two wins (see `cancel`).
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            if state & (SET | CANCELLED) != 0 {
                return false;
            }
            let next = (state & !NOT_STARTED) | DEFERRED;
            match self
                .state
                .compare_exchange_weak(state, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return true,
                Err(now) => state = now,
            }
        }
    }
}

impl<T: 'static> Core<T> {
    pub(crate) fn extras(&mut self) -> &mut Extras<T> {
        self.extras.get_or_insert_with(Default::default)
    }
}

impl<T: 'static> Inner<T> {
    pub(crate) fn poll_done(&self, cx: &mut Context<'_>, key: &mut WaiterKey) -> Poll<()> {
        if self.state.load(Ordering::Acquire) & DONE != 0 {
            return Poll::Ready(());
        }
        let mut core = lock(&self.core);
        if self.state.load(Ordering::Acquire) & DONE != 0 {
            return Poll::Ready(());
        }
        let waker = cx.waker();
        if *key == Some(0) || (key.is_none() && core.waker.is_none()) {
            update_slot(&mut core.waker, waker);
            *key = Some(0);
            return Poll::Pending;
        }
        let slots = &mut core.extras().wakers;
        match key.and_then(|k| slots.get_mut(k - 1)) {
            Some(slot) => update_slot(slot, waker),
            None => {
                let index = match slots.iter().position(Option::is_none) {
                    Some(i) => {
                        slots[i] = Some(waker.clone());
                        i
                    }
                    None => {
                        slots.push(Some(waker.clone()));
                        slots.len() - 1
                    }
                };
                *key = Some(index + 1);
            }
        }
        Poll::Pending
    }

    /// Frees a waiter slot when its future goes away.
    pub(crate) fn forget_waiter(&self, key: &mut WaiterKey) {
        let Some(k) = key.take() else { return };
        if self.state.load(Ordering::Acquire) & DONE != 0 {
            return; // completion emptied every slot already
        }
        let mut core = lock(&self.core);
        if k == 0 {
            core.waker = None;
        } else if let Some(slot) = core.extras.as_mut().and_then(|x| x.wakers.get_mut(k - 1)) {
            *slot = None;
        }
    }
}

/// The wakers to wake. When the pending is done for good, every slot is emptied. Otherwise
/// (a running call being cancelled) the wakers are cloned and every slot keeps its waker:
/// a waiter owns its slot for as long as it holds its key, so an emptied slot must never be
/// handed to a new waiter, or the old owner's `forget_waiter` would erase the newcomer's
/// waker and it would never be woken.
pub(crate) fn take_wakers<T>(core: &mut Core<T>, done: bool) -> Wakers {
    if !done {
        return Wakers {
            first: core.waker.clone(),
            rest: core
                .extras
                .as_ref()
                .map(|x| x.wakers.clone())
                .unwrap_or_default(),
        };
    }
    let rest = match core.extras.as_mut() {
        Some(x) => std::mem::take(&mut x.wakers),
        None => Vec::new(),
    };
    Wakers {
        first: core.waker.take(),
        rest,
    }
}

/// Wakers taken out under the lock, woken after it is released. The common single waiter
/// needs no allocation.
#[derive(Default)]
pub(crate) struct Wakers {
    first: Option<Waker>,
    rest: Vec<Option<Waker>>,
}

impl Wakers {
    pub(crate) fn wake(self) {
        self.first
            .into_iter()
            .chain(self.rest.into_iter().flatten())
            .for_each(Waker::wake);
    }
}

fn update_slot(slot: &mut Option<Waker>, waker: &Waker) {
    match slot {
        Some(w) if w.will_wake(waker) => {}
        _ => *slot = Some(waker.clone()),
    }
}

impl<T: 'static> Inner<T> {
    pub(crate) fn remove_callback(&self, id: CallbackId) -> usize {
        let mut core = lock(&self.core);
        match core.extras.as_mut() {
            Some(x) => {
                let before = x.callbacks.len();
                x.callbacks.retain(|(cid, _)| *cid != id);
                before - x.callbacks.len()
            }
            None => 0,
        }
    }

    pub(crate) fn metadata(&self) -> Metadata {
        let core = lock(&self.core);
        let given = core
            .extras
            .as_ref()
            .map(|x| x.metadata.clone())
            .unwrap_or_default();
        drop(core);
        self.with_call_names(given)
    }

    /// `given` preceded by the names of the function and caller of a scheduled call, when
    /// this pending is one (rendered now: the pending stores only their ids).
    fn with_call_names(&self, given: Metadata) -> Metadata {
        let function = self.function.load(Ordering::Relaxed);
        if function == 0 {
            return given;
        }
        let mut pairs = Vec::with_capacity(given.len() + 2);
        if let Some(name) = crate::call_names::function_name(function) {
            pairs.push(("func".into(), name.into()));
        }
        let caller = self.runner.load(Ordering::Relaxed);
        // 0: no caller has the call yet (a `to_thread` call waiting for a worker).
        if caller != 0 {
            let caller_name = crate::call_names::caller_name(caller)
                .map_or_else(|| format!("#{caller}"), |n| n.to_string());
            pairs.push(("caller".into(), caller_name.into()));
        }
        pairs.extend(given.iter().map(|(k, v)| (k.to_owned().into(), v.clone())));
        Metadata::from_pairs(pairs)
    }

    /// The reference's `repr`; `addr` is the pending's identity (the address of its allocation).
    pub(crate) fn fmt_debug(&self, f: &mut fmt::Formatter<'_>, addr: usize) -> fmt::Result {
        let state = self.state.load(Ordering::Acquire);
        // `try_lock`: Debug may be called while the lock is held further up the stack.
        let (message, metadata) = match self.core.try_lock() {
            Ok(core) => (
                core.extras.as_ref().and_then(|x| x.cancel_message.clone()),
                core.extras
                    .as_ref()
                    .map(|x| x.metadata.clone())
                    .unwrap_or_default(),
            ),
            Err(_) => (None, Metadata::default()),
        };
        let metadata = self.with_call_names(metadata);
        f.write_str("<Pending")?;
        if state & CANCELLED != 0 {
            f.write_str(" ⛔")?;
            if let Some(m) = message.filter(|m| !m.is_empty()) {
                write!(f, " message={m:?}")?;
            }
        }
        f.write_str(if state & SET != 0 { " 🏁" } else { " 🏃" })?;
        write!(f, " at {addr:#x}")?;
        if !metadata.is_empty() {
            write!(f, " metadata: {metadata:?}")?;
        }
        f.write_str(">")
    }
}

/// What a [`Pending`] handle points at: the shared state of one pending, alone ([`Inner`]) or
/// inside a larger allocation that also holds the work of a scheduled call (one allocation
/// per call instead of two: `caller::scheduler::CallCell`).
pub(crate) trait Shared<T>: ErasedPending {
    fn inner(&self) -> &Inner<T>;
}

/// Implemented by every type a pending's state lives in; gives it [`Shared`] and
/// [`ErasedPending`].
pub(crate) trait HasInner: Send + Sync + Sized + 'static {
    type Value: Send + 'static;
    fn inner(&self) -> &Inner<Self::Value>;
}

impl<T: Send + 'static> HasInner for Inner<T> {
    type Value = T;
    fn inner(&self) -> &Inner<T> {
        self
    }
}

impl<S: HasInner> Shared<S::Value> for S {
    #[inline]
    fn inner(&self) -> &Inner<S::Value> {
        HasInner::inner(self)
    }
}

/// A counted reference to a pending's shared state; dereferences to its [`Inner`].
pub(crate) struct SharedRef<T: 'static>(pub(crate) Arc<dyn Shared<T>>);

impl<T: 'static> Clone for SharedRef<T> {
    fn clone(&self) -> Self {
        SharedRef(Arc::clone(&self.0))
    }
}

impl<T: 'static> std::ops::Deref for SharedRef<T> {
    type Target = Inner<T>;

    #[inline]
    fn deref(&self) -> &Inner<T> {
        self.0.inner()
    }
}

impl<T: 'static> SharedRef<T> {
    /// The address of the allocation: the pending's identity.
    pub(crate) fn addr(&self) -> usize {
        Arc::as_ptr(&self.0) as *const () as usize
    }
}

impl<S: HasInner> ErasedPending for S {
    fn is_done(&self) -> bool {
        HasInner::inner(self).state.load(Ordering::Acquire) & SET != 0
    }

    fn is_cancelled(&self) -> bool {
        HasInner::inner(self).state.load(Ordering::Acquire) & CANCELLED != 0
    }

    fn error(&self) -> Option<PendingError> {
        match &lock(&HasInner::inner(self).core).outcome {
            Some(Err(e)) => Some(PendingError::clone(e)),
            _ => None,
        }
    }

    fn cancel(self: Arc<Self>, msg: Option<&str>) -> bool {
        Pending::from_arc(self).cancel(msg)
    }

    fn add_hook(self: Arc<Self>, hook: Hook) -> Option<CallbackId> {
        let pen = Pending::from_arc(self);
        if pen.inner.state.load(Ordering::Acquire) & DONE != 0 {
            hook(&pen.erase());
            return None;
        }
        Some(pen.add_done_callback(move |p| hook(&p.erase())))
    }

    fn remove_callback(&self, id: CallbackId) -> usize {
        HasInner::inner(self).remove_callback(id)
    }

    fn metadata(&self) -> Metadata {
        HasInner::inner(self).metadata()
    }

    fn poll_done(&self, cx: &mut Context<'_>, key: &mut WaiterKey) -> Poll<()> {
        HasInner::inner(self).poll_done(cx, key)
    }

    fn forget_waiter(&self, key: &mut WaiterKey) {
        HasInner::inner(self).forget_waiter(key)
    }

    fn wait_done_sync(self: Arc<Self>, timeout: Option<Duration>) -> Result<(), PendingError> {
        Pending::from_arc(self).wait_sync_done(timeout)
    }

    fn fmt_debug(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        HasInner::inner(self).fmt_debug(f, self as *const Self as *const () as usize)
    }
}

// Loom's locks and atomics are larger than std's: the footprint holds for real builds only.
#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn heap_footprint_of_unit_pending() {
        // ArcInner = two counters + Inner; issue goal: at most 80 heap bytes.
        let bytes = 16 + std::mem::size_of::<Inner<()>>();
        assert!(bytes <= 80, "Pending<()> takes {bytes} heap bytes");
    }
}
