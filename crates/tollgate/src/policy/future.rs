//! [`RequirePolicyFuture`]: the inner service's future, or a rejection.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use http::Response;
use pin_project_lite::pin_project;

use super::layer::RequirePolicyConfig;
use crate::{
    body::RejectionBody,
    middleware::{LayerFuture, NeverPending},
    response::Responder,
};

pin_project! {
    /// The response future of [`RequirePolicy`](super::RequirePolicy): the inner service's
    /// future when the policy is met, else the rejection, rendered when polled.
    ///
    /// # Panics
    ///
    /// When polled again after it completed.
    pub struct RequirePolicyFuture<F, R> {
        #[pin]
        inner: LayerFuture<F, NeverPending<F>, Arc<RequirePolicyConfig<R>>>,
    }
}

impl<F, R> RequirePolicyFuture<F, R> {
    pub(super) fn new(inner: LayerFuture<F, NeverPending<F>, Arc<RequirePolicyConfig<R>>>) -> Self {
        Self { inner }
    }
}

impl<F, R, B, E> Future for RequirePolicyFuture<F, R>
where
    F: Future<Output = Result<Response<B>, E>>,
    R: Responder,
    B: RejectionBody,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx)
    }
}

impl<F, R> fmt::Debug for RequirePolicyFuture<F, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequirePolicyFuture")
            .field("state", &self.inner.state_name())
            .finish_non_exhaustive()
    }
}
