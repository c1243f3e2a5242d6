//! [`Revocation`]: the service that asks the store before calling the inner service.

use std::{
    fmt, mem,
    sync::Arc,
    task::{Context, Poll},
};

use http::{Request, Response};
use tower_service::Service;

use super::{
    failure::verdict,
    future::{Check, RevocationFuture},
    layer::{RevocationConfig, RevocationLayer},
    store::{RevocationStore, TokenRef},
};
use crate::{
    body::RejectionBody,
    claims::{Claims, StandardClaims},
    error::{AuthError, AuthErrorKind},
    middleware::{LayerFuture, Rejection, content_type, inner_service_accessors},
    response::{DefaultResponder, Responder},
    telemetry::{self, CheckTimer, Decision, Layer},
};

/// The service of [`RevocationLayer`]: refuses requests whose verified token is revoked.
///
/// See the [module docs](crate::revocation) for an example.
pub struct Revocation<S, St, R = DefaultResponder> {
    inner: S,
    config: Arc<RevocationConfig<St, R>>,
}

impl<S, St> Revocation<S, St> {
    /// Wrap `inner`, checking tokens against `store` (the same as
    /// `RevocationLayer::new(store).layer(inner)`).
    pub fn new(inner: S, store: St) -> Self {
        tower_layer::Layer::layer(&RevocationLayer::new(store), inner)
    }

    /// A [`RevocationLayer`] checking tokens against `store` (the same as
    /// [`RevocationLayer::new`]).
    pub fn layer(store: St) -> RevocationLayer<St> {
        RevocationLayer::new(store)
    }
}

impl<S, St, R> Revocation<S, St, R> {
    pub(super) fn from_config(inner: S, config: Arc<RevocationConfig<St, R>>) -> Self {
        Self { inner, config }
    }

    inner_service_accessors!();

    /// The store this service asks.
    pub fn store(&self) -> &St {
        &self.config.store
    }
}

impl<S, St, R, ReqBody, ResBody> Service<Request<ReqBody>> for Revocation<S, St, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    St: RevocationStore,
    R: Responder,
    ResBody: RejectionBody,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = RevocationFuture<S, S::Future, ReqBody, St::CheckFuture, St, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let config = Arc::clone(&self.config);
        let span = telemetry::span(Layer::Revocation);
        let step = span.in_scope(
            || match request.extensions().get::<Claims<StandardClaims>>() {
                None => Err(AuthErrorKind::MissingToken.into()),
                Some(claims) => match TokenRef::from_claims(claims) {
                    None => Err(AuthErrorKind::MissingJti.into()),
                    Some(token) => {
                        let timer = CheckTimer::start();
                        match config.store.check_now(&token) {
                            Some(answer) => {
                                timer.stop(&config.recorded);
                                verdict(answer, &config, &span).map(|()| None)
                            }
                            None => Ok(Some((config.store.check(&token), timer))),
                        }
                    }
                },
            },
        );
        let future = match step {
            // Answered at once: the inner service was driven to readiness, call it now.
            Ok(None) => {
                telemetry::decided(
                    &span,
                    &config.recorded,
                    Layer::Revocation,
                    Decision::Allowed,
                );
                let content_type = content_type(request.headers());
                LayerFuture::call(self.inner.call(request), content_type, config)
            }
            Ok(Some((check, timer))) => {
                // The inner service was driven to readiness, its clone was not: keep the ready
                // one for this request, leave the clone for the next `poll_ready`.
                let clone = self.inner.clone();
                let inner = mem::replace(&mut self.inner, clone);
                let check = Check::new(check, inner, request, Arc::clone(&config), span, timer);
                LayerFuture::pending(check, config)
            }
            Err(error) => {
                let error: AuthError = error;
                telemetry::decided(
                    &span,
                    &config.recorded,
                    Layer::Revocation,
                    Decision::Refused(error.kind()),
                );
                let rejection = Rejection::new(error, mem::take(request.headers_mut()));
                LayerFuture::reject(rejection, config)
            }
        };
        RevocationFuture::new(future)
    }
}

/// A tonic service wrapped in [`Revocation`] keeps its gRPC name, so it can be added to a
/// tonic server on its own (`Server::builder().add_service(..)`): revocation is then checked
/// for that service only.
#[cfg(feature = "tonic")]
#[cfg_attr(docsrs, doc(cfg(feature = "tonic")))]
impl<S, St, R> tonic::server::NamedService for Revocation<S, St, R>
where
    S: tonic::server::NamedService,
{
    const NAME: &'static str = S::NAME;
}

impl<S: Clone, St, R> Clone for Revocation<S, St, R> {
    fn clone(&self) -> Self {
        Self::from_config(self.inner.clone(), Arc::clone(&self.config))
    }
}

impl<S: fmt::Debug, St: fmt::Debug, R> fmt::Debug for Revocation<S, St, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Revocation")
            .field("inner", &self.inner)
            .field("config", &self.config)
            .finish()
    }
}
