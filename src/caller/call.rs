//! What can be scheduled: plain closures, async closures, and their fallible forms.
//!
//! A plain closure `|| 2 + 2` is scheduled as it is. The other forms are marked with a wrapper,
//! because Rust cannot tell a closure returning a future from one returning a value:
//!
//! | form | wrapper | pending |
//! |---|---|---|
//! | `\|\| value` | none | `Pending<T>` |
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

use crate::error::{BoxError, PendingError};

/// A future producing a call's outcome, on the caller's thread.
pub(crate) type OutcomeFuture<T> = Pin<Box<dyn Future<Output = Result<T, PendingError>> + 'static>>;

/// What starting a call gives: its outcome at once, or a future to drive.
pub(crate) enum Started<T> {
    Done(Result<T, PendingError>),
    Future(OutcomeFuture<T>),
}

/// Something a caller can run. Implemented for plain closures and for the wrappers of this
/// module; `M` only tells the implementations apart.
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
/// Marker for [`Fallible`].
#[doc(hidden)]
pub struct FallibleMarker<R>(std::marker::PhantomData<fn() -> R>);
/// Marker for [`FallibleAsync`].
#[doc(hidden)]
pub struct FallibleAsyncMarker<R>(std::marker::PhantomData<fn() -> R>);

/// Runs `f`, turning a panic into the pending's error.
fn guarded<R>(f: impl FnOnce() -> Result<R, PendingError>) -> Result<R, PendingError> {
    catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|payload| Err(PendingError::from_panic(&*payload)))
}

/// Boxes `future`, turning a panic during any poll into the pending's error.
fn guarded_future<T: 'static>(
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
pub struct Fallible<F>(pub F);

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
pub struct FallibleAsync<F>(pub F);

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
