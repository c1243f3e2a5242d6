//! [`Verify`]: the service that verifies the token before calling the inner service.

use std::{
    any::{TypeId, type_name},
    fmt,
    marker::PhantomData,
    mem,
    sync::Arc,
    task::{Context, Poll},
};

use http::{Request, Response};
use serde::de::DeserializeOwned;
use tower_service::Service;
#[cfg(feature = "jwks-remote")]
use tracing::Instrument;

use super::{
    future::VerifyFuture,
    layer::{VerifyConfig, VerifyLayer},
    verifier::{Outcome, Verified, Verifier},
};
use crate::{
    body::RejectionBody,
    claims::StandardClaims,
    error::{AuthError, AuthErrorKind},
    middleware::{LayerFuture, Rejection, content_type, inner_service_accessors},
    response::{DefaultResponder, Responder},
    telemetry::{
        self,
        Decision::{Allowed, Refused},
        Layer,
    },
};

/// Marks a request that passed an optional [`VerifyLayer`] without a token.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Anonymous;

/// The service built by [`VerifyLayer`]: verifies the token, then calls the inner service
/// with `Claims<StandardClaims>` and `Claims<C>` in the request extensions.
///
/// See the [module docs](crate::verify) for an example.
pub struct Verify<S, C = StandardClaims, R = DefaultResponder> {
    inner: S,
    config: Arc<VerifyConfig<R>>,
    claims: PhantomData<fn() -> C>,
}

impl<S> Verify<S> {
    /// Wrap `inner`, requiring a bearer token verified by `verifier` (the same as
    /// `VerifyLayer::new(verifier).layer(inner)`).
    pub fn new(inner: S, verifier: Verifier) -> Self {
        tower_layer::Layer::layer(&VerifyLayer::new(verifier), inner)
    }

    /// A [`VerifyLayer`] with `verifier` (the same as [`VerifyLayer::new`]).
    pub fn layer(verifier: Verifier) -> VerifyLayer {
        VerifyLayer::new(verifier)
    }
}

impl<S, C, R> Verify<S, C, R> {
    pub(super) fn from_config(inner: S, config: Arc<VerifyConfig<R>>) -> Self {
        Self {
            inner,
            config,
            claims: PhantomData,
        }
    }

    inner_service_accessors!();
}

/// A tonic service wrapped in [`Verify`] keeps its gRPC name, so it can be added to a tonic
/// server on its own (`Server::builder().add_service(..)`): tokens are then verified for that
/// service only.
#[cfg(feature = "tonic")]
#[cfg_attr(docsrs, doc(cfg(feature = "tonic")))]
impl<S, C, R> tonic::server::NamedService for Verify<S, C, R>
where
    S: tonic::server::NamedService,
{
    const NAME: &'static str = S::NAME;
}

/// Put the verified claims into the request extensions.
fn insert_claims<B, C: Send + Sync + 'static>(request: &mut Request<B>, verified: Verified<C>) {
    let (claims, standard) = verified.into_parts();
    let extensions = request.extensions_mut();
    // When the handlers' type is the standard one, both are the same value: inserting it
    // twice would box it twice and drop the first.
    if TypeId::of::<C>() != TypeId::of::<StandardClaims>() {
        extensions.insert(standard);
    }
    extensions.insert(claims);
}

impl<S, C, R, ReqBody, ResBody> Service<Request<ReqBody>> for Verify<S, C, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    C: DeserializeOwned + Send + Sync + 'static,
    R: Responder + Send + Sync + 'static,
    ResBody: RejectionBody,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = VerifyFuture<S::Future, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let config = Arc::clone(&self.config);
        let span = telemetry::span(Layer::Verify);
        match span.in_scope(|| decide::<C, _, _>(&config, &mut request)) {
            Step::Pass(decision) => {
                telemetry::decided(&span, &config.metrics, Layer::Verify, decision);
                self.pass(request, config)
            }
            Step::Refuse(error) => {
                telemetry::decided(&span, &config.metrics, Layer::Verify, Refused(error.kind()));
                refuse(error, request, config)
            }
            #[cfg(feature = "jwks-remote")]
            Step::Refresh(remote, token) => {
                // The ready service goes into the future; a fresh clone stays here.
                let clone = self.inner.clone();
                let mut inner = mem::replace(&mut self.inner, clone);
                let verifier = config.verifier.clone();
                let layer = Arc::clone(&config);
                let refresh = Box::pin(async move {
                    let judged = async {
                        remote.refresh_on_miss().await;
                        match verifier.attempt::<C>(&token, true) {
                            Outcome::Verified(verified) => {
                                insert_claims(&mut request, verified);
                                Ok(())
                            }
                            Outcome::Rejected(error) => Err(error),
                            Outcome::NeedsRefresh(_) => Err(AuthErrorKind::UnknownKey.into()),
                        }
                    }
                    .instrument(span.clone())
                    .await;
                    match judged {
                        Ok(()) => {
                            telemetry::decided(&span, &layer.metrics, Layer::Verify, Allowed);
                            let content_type = content_type(request.headers());
                            crate::middleware::Decision::Call(inner.call(request), content_type)
                        }
                        Err(error) => {
                            telemetry::decided(
                                &span,
                                &layer.metrics,
                                Layer::Verify,
                                Refused(error.kind()),
                            );
                            crate::middleware::Decision::Reject(Rejection::new(
                                error,
                                mem::take(request.headers_mut()),
                            ))
                        }
                    }
                });
                VerifyFuture::new(LayerFuture::pending(refresh, config))
            }
        }
    }
}

/// What the verify layer decided, before the inner service is called.
enum Step {
    /// Call the inner service (the claims, if any, are in the request extensions).
    Pass(telemetry::Decision),
    /// Refuse the request.
    Refuse(AuthError),
    /// The token names a key the remote key set does not have yet: refresh it, then decide.
    #[cfg(feature = "jwks-remote")]
    Refresh(crate::key::RemoteJwks, String),
}

/// The layer's own work on `request`: take the token, verify it, put the claims in.
fn decide<C, B, R>(config: &VerifyConfig<R>, request: &mut Request<B>) -> Step
where
    C: DeserializeOwned + Send + Sync + 'static,
{
    let found = match config.source.find_request(request) {
        Ok(Some(found)) => found,
        Ok(None) if config.optional => {
            request.extensions_mut().insert(Anonymous);
            return Step::Pass(telemetry::Decision::Anonymous);
        }
        Ok(None) => return Step::Refuse(AuthErrorKind::MissingToken.into()),
        Err(kind) => return Step::Refuse(kind.into()),
    };
    // A token the cache holds passed every check, its characters' too: the check of the
    // characters is for the others.
    if let Some(verified) = config.verifier.cached::<C>(found.as_str()) {
        insert_claims(request, verified);
        return Step::Pass(Allowed);
    }
    let token = match found.check_owned() {
        Ok(token) => token,
        Err(kind) => return Step::Refuse(kind.into()),
    };
    match config.verifier.attempt_uncached::<C>(&token, false) {
        Outcome::Verified(verified) => {
            insert_claims(request, verified);
            Step::Pass(Allowed)
        }
        Outcome::Rejected(error) => Step::Refuse(error),
        #[cfg(feature = "jwks-remote")]
        Outcome::NeedsRefresh(remote) => Step::Refresh(remote, token.into_owned()),
    }
}

impl<S, C, R> Verify<S, C, R> {
    /// Call the inner service (driven to readiness by `poll_ready`) with `request`.
    fn pass<B>(
        &mut self,
        request: Request<B>,
        config: Arc<VerifyConfig<R>>,
    ) -> VerifyFuture<S::Future, R>
    where
        S: Service<Request<B>>,
    {
        let content_type = content_type(request.headers());
        VerifyFuture::new(LayerFuture::call(
            self.inner.call(request),
            content_type,
            config,
        ))
    }
}

/// Refuse `request` with `error`; rendered when the future is polled.
fn refuse<F, B, R>(
    error: AuthError,
    mut request: Request<B>,
    config: Arc<VerifyConfig<R>>,
) -> VerifyFuture<F, R> {
    let rejection = Rejection::new(error, mem::take(request.headers_mut()));
    VerifyFuture::new(LayerFuture::reject(rejection, config))
}

impl<S: Clone, C, R> Clone for Verify<S, C, R> {
    fn clone(&self) -> Self {
        Self::from_config(self.inner.clone(), Arc::clone(&self.config))
    }
}

impl<S: fmt::Debug, C, R> fmt::Debug for Verify<S, C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verify")
            .field("inner", &self.inner)
            .field("config", &self.config)
            .field("claims", &type_name::<C>())
            .finish()
    }
}
