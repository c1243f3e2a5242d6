//! [`CsrfGuard`]: the service that checks a request's origin before calling the inner
//! service.

use std::{
    fmt,
    sync::Arc,
    task::{Context, Poll},
};

use http::{Request, Response};
use tollgate::response::RejectionBody;
use tower_service::Service;

use super::{CsrfGuardConfig, future::CsrfGuardFuture, layer::CsrfGuardLayer};

/// Refuses cross-site requests before calling the inner service.
///
/// Built by [`CsrfGuardLayer`]; see the [module docs](crate::browser) for an example.
#[must_use]
pub struct CsrfGuard<S> {
    inner: S,
    config: Arc<CsrfGuardConfig>,
}

impl<S> CsrfGuard<S> {
    /// Guard `inner` with the default settings (the same as
    /// `CsrfGuardLayer::new().layer(inner)`).
    pub fn new(inner: S) -> Self {
        tower_layer::Layer::layer(&CsrfGuardLayer::new(), inner)
    }

    /// A [`CsrfGuardLayer`] (the same as [`CsrfGuardLayer::new`]).
    pub fn layer() -> CsrfGuardLayer {
        CsrfGuardLayer::new()
    }

    pub(super) fn from_config(inner: S, config: Arc<CsrfGuardConfig>) -> Self {
        Self { inner, config }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service, consuming this one.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for CsrfGuard<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: RejectionBody,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = CsrfGuardFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        match self.config.check(&request) {
            Ok(()) => CsrfGuardFuture::inner(self.inner.call(request)),
            Err(error) => {
                tracing::debug!(
                    target: "tollgate::session",
                    reason = %error.kind(),
                    "cross-site request refused"
                );
                CsrfGuardFuture::refused(error)
            }
        }
    }
}

impl<S: Clone> Clone for CsrfGuard<S> {
    fn clone(&self) -> Self {
        Self::from_config(self.inner.clone(), Arc::clone(&self.config))
    }
}

impl<S: fmt::Debug> fmt::Debug for CsrfGuard<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsrfGuard")
            .field("inner", &self.inner)
            .field("config", &self.config)
            .finish()
    }
}
