//! [`CsrfGuardFuture`]: the inner service's future, or a refusal.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
};

use http::Response;
use pin_project_lite::pin_project;
use tollgate::response::RejectionBody;

use super::CsrfError;

pin_project! {
    /// The response future of [`CsrfGuard`](super::CsrfGuard): the inner service's future
    /// when the request passes, else the refusal, rendered when polled.
    ///
    /// # Panics
    ///
    /// When a refusal is polled again after it completed.
    pub struct CsrfGuardFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        Inner { #[pin] future: F },
        Refused { error: Option<CsrfError> },
    }
}

impl<F> CsrfGuardFuture<F> {
    pub(super) fn inner(future: F) -> Self {
        Self {
            state: State::Inner { future },
        }
    }

    pub(super) fn refused(error: CsrfError) -> Self {
        Self {
            state: State::Refused { error: Some(error) },
        }
    }
}

impl<F, B, E> Future for CsrfGuardFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: RejectionBody,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future } => Poll::Ready(Ok(ready!(future.poll(cx))?)),
            StateProj::Refused { error } => {
                let error = error
                    .take()
                    .expect("CsrfGuardFuture polled after it completed");
                Poll::Ready(Ok(error.to_response()))
            }
        }
    }
}

impl<F> fmt::Debug for CsrfGuardFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Inner { .. } => "inner",
            State::Refused { error: Some(_) } => "refused",
            State::Refused { error: None } => "done",
        };
        f.debug_struct("CsrfGuardFuture")
            .field("state", &state)
            .finish_non_exhaustive()
    }
}
