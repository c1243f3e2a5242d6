//! [`Revocation`]: the service that asks the store before calling the inner service.

use std::{
    any::type_name,
    fmt, mem,
    sync::Arc,
    task::{Context, Poll},
};

use http::{Request, Response};
use tower_service::Service;

use super::{
    RevocationFuture, RevocationStore, TokenRef,
    future::verdict,
    layer::{RevocationLayer, Settings},
};
use crate::{
    AuthError, AuthErrorKind, Claims, StandardClaims, body::ResponseBody,
    response::DefaultResponder, response::Responder,
};

/// The service of [`RevocationLayer`]: refuses requests whose verified token is revoked.
///
/// See the [module docs](super) for an example.
pub struct Revocation<S, St, R = DefaultResponder> {
    inner: S,
    store: St,
    settings: Arc<Settings<R>>,
}

impl<S, St, R> Revocation<S, St, R> {
    pub(super) fn from_parts(inner: S, store: St, settings: Arc<Settings<R>>) -> Self {
        Self {
            inner,
            store,
            settings,
        }
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

    /// The store this service asks.
    pub fn store(&self) -> &St {
        &self.store
    }
}

impl<S, St> Revocation<S, St> {
    /// A [`RevocationLayer`] checking tokens against `store` (the same as
    /// [`RevocationLayer::new`]).
    pub fn layer(store: St) -> RevocationLayer<St> {
        RevocationLayer::new(store)
    }
}

impl<S, St, R, ReqBody, ResBody> Service<Request<ReqBody>> for Revocation<S, St, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    St: RevocationStore,
    R: Responder,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = RevocationFuture<S, S::Future, ReqBody, St::CheckFuture, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let settings = Arc::clone(&self.settings);
        let step = match request.extensions().get::<Claims<StandardClaims>>() {
            None => Step::Refuse(AuthErrorKind::MissingToken.into()),
            Some(claims) => match TokenRef::from_claims(claims) {
                None => Step::Refuse(AuthErrorKind::MissingJti.into()),
                Some(token) => match self.store.check_now(&token) {
                    Some(answer) => match verdict(answer, &settings) {
                        Ok(()) => Step::Pass,
                        Err(error) => Step::Refuse(error),
                    },
                    None => Step::Wait(self.store.check(&token)),
                },
            },
        };
        match step {
            // Answered at once: the inner service was driven to readiness, call it now.
            Step::Pass => RevocationFuture::inner(self.inner.call(request), settings),
            Step::Refuse(error) => {
                RevocationFuture::refuse(error, mem::take(request.headers_mut()), settings)
            }
            Step::Wait(check) => {
                // The inner service was driven to readiness, its clone was not: keep the ready
                // one for this request, leave the clone for the next `poll_ready`.
                let clone = self.inner.clone();
                let inner = mem::replace(&mut self.inner, clone);
                RevocationFuture::check(check, inner, request, settings)
            }
        }
    }
}

/// What `call` found out before any waiting.
enum Step<C> {
    Pass,
    Refuse(AuthError),
    Wait(C),
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

impl<S: Clone, St: Clone, R> Clone for Revocation<S, St, R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            store: self.store.clone(),
            settings: Arc::clone(&self.settings),
        }
    }
}

impl<S: fmt::Debug, St: fmt::Debug, R> fmt::Debug for Revocation<S, St, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Revocation")
            .field("inner", &self.inner)
            .field("store", &self.store)
            .field("policy", &self.settings.policy)
            .field("responder", &type_name::<R>())
            .finish_non_exhaustive()
    }
}
