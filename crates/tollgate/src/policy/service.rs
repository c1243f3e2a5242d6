//! [`RequirePolicy`]: the service that checks a [`Policy`] before calling the inner service.

use std::{
    fmt, mem,
    sync::Arc,
    task::{Context, Poll},
};

use http::{Request, Response};
use tower_service::Service;

use super::{
    authorizer::Authorizer,
    future::RequirePolicyFuture,
    layer::{RequirePolicyConfig, RequirePolicyLayer},
    rule::Policy,
};
use crate::{
    body::RejectionBody,
    claims::{Claims, StandardClaims},
    error::{AuthError, AuthErrorKind},
    middleware::{LayerFuture, Rejection, content_type, inner_service_accessors},
    response::{DefaultResponder, Responder},
    telemetry::{self, Decision, Layer},
};

/// Requires a [`Policy`] of the verified claims before calling the inner service.
///
/// Built by [`RequirePolicyLayer`]; see the [module docs](crate::policy) for an example.
pub struct RequirePolicy<S, R = DefaultResponder> {
    inner: S,
    config: Arc<RequirePolicyConfig<R>>,
}

impl<S> RequirePolicy<S> {
    /// Wrap `inner`, requiring `policy` checked with `authorizer` (the same as
    /// `RequirePolicyLayer::new(authorizer, policy).layer(inner)`).
    pub fn new(inner: S, authorizer: &Authorizer, policy: Policy) -> Self {
        tower_layer::Layer::layer(&RequirePolicyLayer::new(authorizer, policy), inner)
    }

    /// A [`RequirePolicyLayer`] (the same as [`RequirePolicyLayer::new`]).
    pub fn layer(authorizer: &Authorizer, policy: Policy) -> RequirePolicyLayer {
        RequirePolicyLayer::new(authorizer, policy)
    }
}

impl<S, R> RequirePolicy<S, R> {
    pub(super) fn from_config(inner: S, config: Arc<RequirePolicyConfig<R>>) -> Self {
        Self { inner, config }
    }

    inner_service_accessors!();
}

/// A [`RequirePolicy`] around a tonic service is that service, so it can be given to
/// `Server::add_service` to require a policy of that service only.
#[cfg(feature = "tonic")]
#[cfg_attr(docsrs, doc(cfg(feature = "tonic")))]
impl<S, R> tonic::server::NamedService for RequirePolicy<S, R>
where
    S: tonic::server::NamedService,
{
    const NAME: &'static str = S::NAME;
}

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for RequirePolicy<S, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    R: Responder,
    ResBody: RejectionBody,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = RequirePolicyFuture<S::Future, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let config = Arc::clone(&self.config);
        let (mut parts, body) = request.into_parts();
        let span = telemetry::span(Layer::Policy);
        let outcome = span.in_scope(|| match parts.extensions.get::<Claims<StandardClaims>>() {
            Some(claims) => config
                .authorizer
                .settings()
                .check(&config.policy, claims, &parts),
            None => Err(AuthError::new(AuthErrorKind::MissingToken)),
        });
        telemetry::decided(
            &span,
            &config.metrics,
            Layer::Policy,
            match &outcome {
                Ok(()) => Decision::Allowed,
                Err(error) => Decision::Refused(error.kind()),
            },
        );
        let future = match outcome {
            Ok(()) => {
                let content_type = content_type(&parts.headers);
                let future = self.inner.call(Request::from_parts(parts, body));
                LayerFuture::call(future, content_type, config)
            }
            Err(error) => {
                let rejection = Rejection::new(error, mem::take(&mut parts.headers));
                LayerFuture::reject(rejection, config)
            }
        };
        RequirePolicyFuture::new(future)
    }
}

impl<S: Clone, R> Clone for RequirePolicy<S, R> {
    fn clone(&self) -> Self {
        Self::from_config(self.inner.clone(), Arc::clone(&self.config))
    }
}

impl<S: fmt::Debug, R> fmt::Debug for RequirePolicy<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequirePolicy")
            .field("inner", &self.inner)
            .field("config", &self.config)
            .finish()
    }
}
