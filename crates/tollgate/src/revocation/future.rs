//! [`RevocationFuture`]: the inner service's future, a rejection, or the store's answer first.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;
use tracing::Span;

use super::{
    failure::verdict,
    layer::RevocationConfig,
    store::{RevocationStatus, RevocationStoreError},
};
use crate::{
    body::RejectionBody,
    middleware::{Decision, LayerFuture, POLLED_AFTER_COMPLETION, Rejection, content_type},
    response::Responder,
    telemetry::{self, CheckTimer, Layer},
};

/// The shared future, over the store's check as the pending step.
type Inner<S, F, B, C, St, R> = LayerFuture<F, Check<S, B, C, St, R>, Arc<RevocationConfig<St, R>>>;

pin_project! {
    /// The response future of [`Revocation`](super::Revocation).
    ///
    /// When the store answered at once ([`check_now`](super::RevocationStore::check_now)),
    /// it is the inner service's future (or the rejection). Otherwise it first waits for the
    /// store's answer, then calls the inner service (the instance that was ready when the
    /// request arrived) or renders the rejection.
    ///
    /// # Panics
    ///
    /// When polled again after it completed.
    pub struct RevocationFuture<S, F, B, C, St, R> {
        #[pin]
        inner: Inner<S, F, B, C, St, R>,
    }
}

impl<S, F, B, C, St, R> RevocationFuture<S, F, B, C, St, R> {
    pub(super) fn new(inner: Inner<S, F, B, C, St, R>) -> Self {
        Self { inner }
    }
}

impl<S, B, C, St, R, ResBody> Future for RevocationFuture<S, S::Future, B, C, St, R>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    C: Future<Output = Result<RevocationStatus, RevocationStoreError>>,
    R: Responder,
    ResBody: RejectionBody,
{
    type Output = Result<Response<ResBody>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx)
    }
}

impl<S, F, B, C, St, R> fmt::Debug for RevocationFuture<S, F, B, C, St, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationFuture")
            .field("state", &self.inner.state_name())
            .finish_non_exhaustive()
    }
}

pin_project! {
    /// Waits for the store's answer about the request's token, then calls the ready inner
    /// service or refuses.
    pub(super) struct Check<S, B, C, St, R> {
        #[pin]
        check: C,
        call: Option<(S, Request<B>)>,
        config: Arc<RevocationConfig<St, R>>,
        // The layer's span: entered while the store is awaited.
        span: Span,
        timer: CheckTimer,
    }
}

impl<S, B, C, St, R> Check<S, B, C, St, R> {
    pub(super) fn new(
        check: C,
        inner: S,
        request: Request<B>,
        config: Arc<RevocationConfig<St, R>>,
        span: Span,
        timer: CheckTimer,
    ) -> Self {
        Self {
            check,
            call: Some((inner, request)),
            config,
            span,
            timer,
        }
    }
}

impl<S, B, C, St, R> Future for Check<S, B, C, St, R>
where
    S: Service<Request<B>>,
    C: Future<Output = Result<RevocationStatus, RevocationStoreError>>,
{
    type Output = Decision<S::Future>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let span = &*this.span;
        let judged = {
            let _entered = span.enter();
            let answer = ready!(this.check.poll(cx));
            this.timer.stop(&this.config.recorded);
            verdict(answer, this.config, span)
        };
        let (mut inner, mut request) = this.call.take().expect(POLLED_AFTER_COMPLETION);
        Poll::Ready(match judged {
            Ok(()) => {
                telemetry::decided(
                    span,
                    &this.config.recorded,
                    Layer::Revocation,
                    telemetry::Decision::Allowed,
                );
                let content_type = content_type(request.headers());
                Decision::Call(inner.call(request), content_type)
            }
            Err(error) => {
                telemetry::decided(
                    span,
                    &this.config.recorded,
                    Layer::Revocation,
                    telemetry::Decision::Refused(error.kind()),
                );
                Decision::Reject(Rejection::new(error, std::mem::take(request.headers_mut())))
            }
        })
    }
}
