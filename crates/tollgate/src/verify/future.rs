//! [`VerifyFuture`]: the inner service's future, a rejection, or a key-set refresh first.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use http::Response;
use pin_project_lite::pin_project;

use super::layer::VerifyConfig;
use crate::{
    body::RejectionBody,
    middleware::{Decision, LayerFuture},
    response::Responder,
};

/// A token signed with a key the remote key set does not have yet: refresh it, then decide.
pub(super) type RefreshFirst<F> = Pin<Box<dyn Future<Output = Decision<F>> + Send>>;

pin_project! {
    /// The response future of [`Verify`](super::Verify).
    ///
    /// # Panics
    ///
    /// When polled again after it completed.
    pub struct VerifyFuture<F, R> {
        #[pin]
        inner: LayerFuture<F, RefreshFirst<F>, Arc<VerifyConfig<R>>>,
    }
}

impl<F, R> VerifyFuture<F, R> {
    pub(super) fn new(inner: LayerFuture<F, RefreshFirst<F>, Arc<VerifyConfig<R>>>) -> Self {
        Self { inner }
    }
}

impl<F, R, B, E> Future for VerifyFuture<F, R>
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

impl<F, R> fmt::Debug for VerifyFuture<F, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyFuture")
            .field("state", &self.inner.state_name())
            .finish_non_exhaustive()
    }
}
