use std::{
    any::TypeId,
    fmt,
    marker::PhantomData,
    sync::Arc,
    task::{Context, Poll},
};

use http::{Request, Response};
use serde::de::DeserializeOwned;
use tower_service::Service;

use super::{
    future::VerifyFuture,
    layer::{Config, VerifyLayer},
    verifier::{Outcome, Verified},
};
use crate::{
    AuthErrorKind, StandardClaims,
    body::ResponseBody,
    response::{Responder, reject},
    verify::Verifier,
};

/// Marks a request that passed an optional [`VerifyLayer`] without a token.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Anonymous;

/// The service built by [`VerifyLayer`]: verifies the token, then calls the inner service
/// with `Claims<StandardClaims>` and `Claims<C>` in the request extensions.
///
/// See the [module docs](super) for an example.
pub struct Verify<S, C = StandardClaims, R = crate::response::DefaultResponder> {
    pub(super) inner: S,
    pub(super) config: Arc<Config>,
    pub(super) responder: R,
    pub(super) claims: PhantomData<fn() -> C>,
}

impl<S, C, R> Verify<S, C, R> {
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

impl<S> Verify<S> {
    /// A [`VerifyLayer`] with `verifier`.
    pub fn layer(verifier: Verifier) -> VerifyLayer {
        VerifyLayer::new(verifier)
    }
}

pub(super) fn insert_claims<B, C: Send + Sync + 'static>(
    request: &mut Request<B>,
    verified: Verified<C>,
) {
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
    ResBody: Send + 'static,
    C: DeserializeOwned + Send + Sync + 'static,
    R: Responder + Send + Sync + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = VerifyFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let config = &*self.config;
        let token = match config.source.extract(request.headers()) {
            Ok(Some(token)) => token,
            Ok(None) if config.optional => {
                request.extensions_mut().insert(Anonymous);
                return VerifyFuture::inner(self.inner.call(request));
            }
            Ok(None) => return self.reject(AuthErrorKind::MissingToken.into(), &request),
            Err(kind) => return self.reject(kind.into(), &request),
        };
        match config.verifier.attempt::<C>(token, false) {
            Outcome::Verified(verified) => {
                insert_claims(&mut request, verified);
                VerifyFuture::inner(self.inner.call(request))
            }
            Outcome::Rejected(error) => self.reject(error, &request),
            #[cfg(feature = "jwks-remote")]
            Outcome::NeedsRefresh(remote) => {
                let token = token.to_owned();
                // The ready service goes into the future; a fresh clone stays here.
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                let config = Arc::clone(&self.config);
                let responder = self.responder.clone();
                VerifyFuture::slow(Box::pin(async move {
                    remote.refresh_on_miss().await;
                    let error = match config.verifier.attempt::<C>(&token, true) {
                        Outcome::Verified(verified) => {
                            insert_claims(&mut request, verified);
                            return inner
                                .call(request)
                                .await
                                .map(|r| r.map(ResponseBody::inner));
                        }
                        Outcome::Rejected(error) => error,
                        Outcome::NeedsRefresh(_) => AuthErrorKind::UnknownKey.into(),
                    };
                    Ok(reject(&responder, error, request.headers(), "verify"))
                }))
            }
        }
    }
}

impl<S, C, R: Responder> Verify<S, C, R> {
    fn reject<F, B, E, ReqBody>(
        &self,
        error: crate::AuthError,
        request: &Request<ReqBody>,
    ) -> VerifyFuture<F, B, E> {
        VerifyFuture::rejected(reject(&self.responder, error, request.headers(), "verify"))
    }
}

impl<S: Clone, C, R: Clone> Clone for Verify<S, C, R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            config: Arc::clone(&self.config),
            responder: self.responder.clone(),
            claims: PhantomData,
        }
    }
}

impl<S: fmt::Debug, C, R: fmt::Debug> fmt::Debug for Verify<S, C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verify")
            .field("inner", &self.inner)
            .field("verifier", &self.config.verifier)
            .field("source", &self.config.source)
            .field("optional", &self.config.optional)
            .field("responder", &self.responder)
            .field("claims", &std::any::type_name::<C>())
            .finish()
    }
}
