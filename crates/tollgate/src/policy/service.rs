//! [`RequirePolicy`]: the service enforcing a [`Policy`].

use std::task::{Context, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use super::{Authorizer, Policy, RequirePolicyFuture, layer::RequirePolicyLayer};
use crate::{
    AuthError, AuthErrorKind, Claims, StandardClaims,
    body::ResponseBody,
    response::{DefaultResponder, Responder, reject},
};

/// Enforces a [`Policy`] on the verified claims before calling the inner service.
///
/// Built by [`RequirePolicyLayer`]; see the [module docs](super) for an example.
#[derive(Clone, Debug)]
pub struct RequirePolicy<S, R = DefaultResponder> {
    pub(super) inner: S,
    pub(super) policy: Policy,
    pub(super) authorizer: Authorizer,
    pub(super) responder: R,
}

impl<S> RequirePolicy<S> {
    /// Wrap `inner`, enforcing `policy` with the default [`Authorizer`] and responder.
    pub fn new(inner: S, policy: Policy) -> Self {
        RequirePolicyLayer::new(policy).layer(inner)
    }

    /// A [`RequirePolicyLayer`] enforcing `policy`.
    pub fn layer(policy: Policy) -> RequirePolicyLayer {
        RequirePolicyLayer::new(policy)
    }
}

impl<S, R> RequirePolicy<S, R> {
    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Consume `self`, returning the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

/// A [`RequirePolicy`] around a tonic service is that service, so it can be given to
/// `Server::add_service` to enforce a policy on that service only.
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
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = RequirePolicyFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let (parts, body) = request.into_parts();
        let outcome = match parts.extensions.get::<Claims<StandardClaims>>() {
            Some(claims) => self
                .authorizer
                .settings()
                .check(&self.policy, claims, &parts),
            None => Err(AuthError::new(AuthErrorKind::MissingToken)),
        };
        match outcome {
            Ok(()) => RequirePolicyFuture::inner(self.inner.call(Request::from_parts(parts, body))),
            Err(error) => RequirePolicyFuture::rejected(reject(
                &self.responder,
                error,
                &parts.headers,
                "require",
            )),
        }
    }
}
