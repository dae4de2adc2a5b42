//! What can be scheduled: plain closures, async closures, and their fallible forms.
//!
//! A plain closure `|| 2 + 2` is scheduled as it is. The other forms are marked with a wrapper,
//! because Rust cannot tell a closure returning a future from one returning a value:
//!
//! | form | wrapper | pending |
//! |---|---|---|
//! | `\|\| value` | none | `Pending<T>` |
//! | `\|\| future_or_pending` (the value is the future itself) | [`Plain`] | `Pending<F>` |
//! | `\|\| async { value }` | [`Async`] | `Pending<T>` |
//! | `\|\| -> Result<T, E>` | [`Fallible`] | `Pending<T>`, an `Err` fails it |
//! | `\|\| async { Result<T, E> }` | [`FallibleAsync`] | `Pending<T>`, an `Err` fails it |
//!
//! Every closure is `Send` (it travels to the caller's thread); the future an async closure
//! returns runs only there and may be `!Send`.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;

use futures_util::FutureExt as _;

use crate::error::{BoxError, InvalidStateError, InvalidStateKind, PendingError};

/// A future producing a call's outcome, on the caller's thread.
pub(crate) type OutcomeFuture<T> = Pin<Box<dyn Future<Output = Result<T, PendingError>> + 'static>>;

/// What starting a call gives: its outcome at once, or a future to drive.
pub(crate) enum Started<T> {
    Done(Result<T, PendingError>),
    Future(OutcomeFuture<T>),
}

/// Something a caller can run. Implemented for plain closures and for the wrappers of this
/// module; `M` only tells the implementations apart.
///
/// A plain closure that returns a future would hand back the future unpolled, so it is
/// refused: with a `Send` future it does not compile (two implementations apply), and with a
/// future that is not `Send` its pending fails with
/// [`InvalidStateKind::UnmarkedAsyncClosure`](crate::InvalidStateKind::UnmarkedAsyncClosure).
/// Mark it with [`Async`]; use [`Plain`] when the future (or pending) really is the value.
///
/// ```compile_fail,E0283
/// use async_kernel::caller::{Caller, CallerOptions, Modifier};
///
/// let caller = Caller::new(Modifier::NewThread, CallerOptions::named("doc-refused")).unwrap();
/// let pen = caller.call_soon(|| async { 1 }).unwrap(); // error: type annotations needed
/// # let _ = pen.wait_sync(None);
/// ```
pub trait IntoCall<M>: Send + 'static {
    /// The value the call produces.
    type Output: Send + 'static;

    /// Starts the call on the caller's thread: runs a plain closure to the end (panics become
    /// [`PendingError::Panicked`]), or calls an async closure and returns its future.
    #[doc(hidden)]
    fn start(self) -> StartedCall<Self::Output>;
}

/// Opaque result of [`IntoCall::start`].
#[doc(hidden)]
pub struct StartedCall<T>(pub(crate) Started<T>);

/// Marker for plain closures.
#[doc(hidden)]
pub struct PlainMarker<R>(std::marker::PhantomData<fn() -> R>);
/// Marker for [`Async`].
#[doc(hidden)]
pub struct AsyncMarker<R>(std::marker::PhantomData<fn() -> R>);
/// Marker for [`Plain`].
#[doc(hidden)]
pub struct PlainValueMarker<R>(std::marker::PhantomData<fn() -> R>);
/// Marker for [`Fallible`].
#[doc(hidden)]
pub struct FallibleMarker<R>(std::marker::PhantomData<fn() -> R>);
/// Marker for a plain closure that returns a future (rejected: see [`IntoCall`]).
#[doc(hidden)]
pub struct UnmarkedAsyncMarker<R>(std::marker::PhantomData<fn() -> R>);
/// Marker for [`FallibleAsync`].
#[doc(hidden)]
pub struct FallibleAsyncMarker<R>(std::marker::PhantomData<fn() -> R>);

/// Runs `f`, turning a panic into the pending's error (also used by function queues).
pub(super) fn guarded<R>(f: impl FnOnce() -> Result<R, PendingError>) -> Result<R, PendingError> {
    catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|payload| Err(PendingError::from_panic(&*payload)))
}

/// Boxes `future`, turning a panic during any poll into the pending's error (also used by
/// function queues).
pub(super) fn guarded_future<T: 'static>(
    future: impl Future<Output = Result<T, PendingError>> + 'static,
) -> OutcomeFuture<T> {
    Box::pin(
        AssertUnwindSafe(future)
            .catch_unwind()
            .map(|r| r.unwrap_or_else(|payload| Err(PendingError::from_panic(&*payload)))),
    )
}

impl<F, R> IntoCall<PlainMarker<R>> for F
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    type Output = R;

    fn start(self) -> StartedCall<R> {
        StartedCall(Started::Done(guarded(|| Ok(self()))))
    }
}

/// Marks a plain closure whose value is itself a future or a [`Pending`](crate::Pending):
/// `Plain(|| other_caller.call_soon(f).unwrap())`. The closure runs inline and its return
/// value becomes the pending's value, unpolled. Unmarked, such a closure does not compile (see
/// [`IntoCall`]).
///
/// ```
/// use async_kernel::caller::{Caller, CallerOptions, Modifier, Plain};
/// use async_kernel::Pending;
///
/// let caller = Caller::new(Modifier::NewThread, CallerOptions::named("doc-plain")).unwrap();
/// let outer: Pending<Pending<u32>> = caller
///     .call_soon(Plain(|| {
///         let inner = Pending::new();
///         inner.set_result(3).unwrap();
///         inner
///     }))
///     .unwrap();
/// assert_eq!(outer.wait_sync(None).unwrap().wait_sync(None).unwrap(), 3);
/// caller.stop(true);
/// ```
pub struct Plain<F>(pub F);

impl<F, R> IntoCall<PlainValueMarker<R>> for Plain<F>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    type Output = R;

    fn start(self) -> StartedCall<R> {
        let f = self.0;
        StartedCall(Started::Done(guarded(|| Ok(f()))))
    }
}

/// A plain closure that returns a future: `call_soon(|| async { .. })`.
///
/// This impl exists so that such a closure never runs silently as a plain one (its future
/// would be dropped unpolled). When the future is `Send`, both this impl and the plain one
/// apply and the call does not compile ("type annotations needed ... `IntoCall<_>`"): wrap the
/// closure in [`Async`]. When the future is not `Send`, only this impl applies and the pending
/// fails at once with [`InvalidStateKind::UnmarkedAsyncClosure`](crate::InvalidStateKind::UnmarkedAsyncClosure)
/// and an error is logged.
impl<F, Fut> IntoCall<UnmarkedAsyncMarker<Fut>> for F
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future + 'static,
    Fut::Output: Send + 'static,
{
    type Output = Fut::Output;

    fn start(self) -> StartedCall<Fut::Output> {
        const WHY: &str =
            "a plain closure returned a future, which would never run; wrap it in `Async(..)`";
        tracing::error!(closure = std::any::type_name::<F>(), "{WHY}");
        StartedCall(Started::Done(Err(InvalidStateError::new(
            InvalidStateKind::UnmarkedAsyncClosure,
            WHY,
        )
        .into())))
    }
}

/// Marks an async closure: `Async(|| async { .. })`. The closure is `Send`; its future runs on
/// the caller's thread and may be `!Send`.
///
/// ```
/// use async_kernel::caller::{Async, Caller, CallerOptions, Modifier};
///
/// let caller = Caller::new(Modifier::NewThread, CallerOptions::named("doc-async")).unwrap();
/// let pen = caller
///     .call_soon(Async(|| async {
///         let local = std::rc::Rc::new(20); // !Send is fine on the caller's thread
///         *local + 1
///     }))
///     .unwrap();
/// assert_eq!(pen.wait_sync(None).unwrap(), 21);
/// caller.stop(true);
/// ```
pub struct Async<F>(pub F);

impl<F, Fut> IntoCall<AsyncMarker<Fut>> for Async<F>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future + 'static,
    Fut::Output: Send + 'static,
{
    type Output = Fut::Output;

    fn start(self) -> StartedCall<Fut::Output> {
        let f = self.0;
        StartedCall(match guarded(|| Ok(f())) {
            Ok(future) => Started::Future(guarded_future(async move { Ok(future.await) })),
            Err(e) => Started::Done(Err(e)),
        })
    }
}

/// Marks a fallible closure: `Fallible(|| std::fs::read("x"))`. An `Err` fails the pending
/// with [`PendingError::Failed`] (a [`PendingGroup`](crate::PendingGroup) sees a failure).
///
/// The error type comes from the closure. When nothing names it (`Fallible(|| Ok(1))`), use
/// [`Fallible::boxed`], whose error type is [`BoxError`] (and `?` converts any error into it):
///
/// ```
/// use async_kernel::caller::{Caller, CallerOptions, Fallible, Modifier};
///
/// let caller = Caller::new(Modifier::NewThread, CallerOptions::named("doc-fallible")).unwrap();
/// let read = caller.call_soon(Fallible(|| std::fs::read("/no/such/file"))).unwrap();
/// assert!(read.wait_sync(None).is_err()); // an io::Error: the type is named by `fs::read`
/// let parsed = caller
///     .call_soon(Fallible::boxed(|| {
///         let n: u32 = "41".parse()?; // no turbofish needed
///         Ok(n + 1)
///     }))
///     .unwrap();
/// assert_eq!(parsed.wait_sync(None).unwrap(), 42);
/// // Without `boxed`, name the error once: `Fallible(|| Ok::<_, std::io::Error>(1))`.
/// caller.stop(true);
/// ```
pub struct Fallible<F>(pub F);

impl<F> Fallible<F> {
    /// A fallible closure whose error type is [`BoxError`]: `Fallible::boxed(|| Ok(1))`
    /// needs no annotation.
    pub fn boxed<T>(f: F) -> Self
    where
        F: FnOnce() -> Result<T, BoxError> + Send + 'static,
    {
        Fallible(f)
    }
}

impl<F, T, E> IntoCall<FallibleMarker<(T, E)>> for Fallible<F>
where
    F: FnOnce() -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: Into<BoxError> + 'static,
{
    type Output = T;

    fn start(self) -> StartedCall<T> {
        let f = self.0;
        StartedCall(Started::Done(guarded(|| f().map_err(PendingError::failed))))
    }
}

/// Marks a fallible async closure: `FallibleAsync(|| async { Ok::<_, io::Error>(1) })`.
/// [`FallibleAsync::boxed`] fixes the error type to [`BoxError`], as [`Fallible::boxed`] does.
pub struct FallibleAsync<F>(pub F);

impl<F> FallibleAsync<F> {
    /// A fallible async closure whose error type is [`BoxError`]:
    /// `FallibleAsync::boxed(|| async { Ok(1) })` needs no annotation.
    pub fn boxed<Fut, T>(f: F) -> Self
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, BoxError>> + 'static,
    {
        FallibleAsync(f)
    }
}

impl<F, Fut, T, E> IntoCall<FallibleAsyncMarker<(Fut, T, E)>> for FallibleAsync<F>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, E>> + 'static,
    T: Send + 'static,
    E: Into<BoxError> + 'static,
{
    type Output = T;

    fn start(self) -> StartedCall<T> {
        let f = self.0;
        StartedCall(match guarded(|| Ok(f())) {
            Ok(future) => Started::Future(guarded_future(async move {
                future.await.map_err(PendingError::failed)
            })),
            Err(e) => Started::Done(Err(e)),
        })
    }
}
