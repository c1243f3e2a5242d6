//! [`RevocationFuture`]: waits for the store's answer, then calls the inner service or refuses.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
};

use http::{HeaderMap, Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::{FailurePolicy, RevocationStatus, RevocationStoreError, layer::Settings};
use crate::{
    AuthError, AuthErrorKind,
    body::ResponseBody,
    response::{Responder, reject},
};

/// The layer name in rejection logs.
const LAYER: &str = "revocation";

pin_project! {
    /// The response future of [`Revocation`](super::Revocation).
    ///
    /// When the store answered at once ([`check_now`](super::RevocationStore::check_now)),
    /// it is the inner service's future (or the rejection). Otherwise it first waits for the
    /// store's answer, then calls the inner service (the instance that was ready when the
    /// request arrived) or renders the rejection.
    ///
    /// See the [module docs](super) for an example.
    pub struct RevocationFuture<S, F, B, C, R> {
        #[pin]
        state: State<S, F, B, C>,
        settings: Arc<Settings<R>>,
    }
}

pin_project! {
    #[project = StateProj]
    #[project_replace = StateReplace]
    enum State<S, F, B, C> {
        Check {
            #[pin]
            check: C,
            inner: S,
            request: Request<B>,
        },
        Refuse {
            error: AuthError,
            headers: HeaderMap,
        },
        Inner {
            #[pin]
            future: F,
        },
        Done,
    }
}

impl<S, F, B, C, R> RevocationFuture<S, F, B, C, R> {
    pub(super) fn check(
        check: C,
        inner: S,
        request: Request<B>,
        settings: Arc<Settings<R>>,
    ) -> Self {
        Self {
            state: State::Check {
                check,
                inner,
                request,
            },
            settings,
        }
    }

    pub(super) fn inner(future: F, settings: Arc<Settings<R>>) -> Self {
        Self {
            state: State::Inner { future },
            settings,
        }
    }

    pub(super) fn refuse(error: AuthError, headers: HeaderMap, settings: Arc<Settings<R>>) -> Self {
        Self {
            state: State::Refuse { error, headers },
            settings,
        }
    }
}

impl<S, B, C, R, ResBody> Future for RevocationFuture<S, S::Future, B, C, R>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    C: Future<Output = Result<RevocationStatus, RevocationStoreError>>,
    R: Responder,
{
    type Output = Result<Response<ResponseBody<ResBody>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Check { check, .. } => {
                    let answer = ready!(check.poll(cx));
                    let StateReplace::Check {
                        mut inner, request, ..
                    } = this.state.as_mut().project_replace(State::Done)
                    else {
                        unreachable!("the state was `Check` a moment ago");
                    };
                    match verdict(answer, this.settings) {
                        Ok(()) => {
                            let future = inner.call(request);
                            this.state.set(State::Inner { future });
                        }
                        Err(error) => {
                            return Poll::Ready(Ok(reject(
                                &this.settings.responder,
                                error,
                                request.headers(),
                                LAYER,
                            )));
                        }
                    }
                }
                StateProj::Refuse { .. } => {
                    let StateReplace::Refuse { error, headers } =
                        this.state.as_mut().project_replace(State::Done)
                    else {
                        unreachable!("the state was `Refuse` a moment ago");
                    };
                    return Poll::Ready(Ok(reject(
                        &this.settings.responder,
                        error,
                        &headers,
                        LAYER,
                    )));
                }
                StateProj::Inner { future } => {
                    let result = ready!(future.poll(cx));
                    this.state.set(State::Done);
                    return Poll::Ready(result.map(|response| response.map(ResponseBody::inner)));
                }
                StateProj::Done => panic!("revocation `RevocationFuture` polled after completion"),
            }
        }
    }
}

/// What the store's answer means for the request: pass (`Ok`) or the rejection. Counts and
/// logs store failures.
pub(super) fn verdict<R>(
    answer: Result<RevocationStatus, RevocationStoreError>,
    settings: &Settings<R>,
) -> Result<(), AuthError> {
    let kind = match answer {
        Ok(RevocationStatus::Active) => return Ok(()),
        Ok(RevocationStatus::Revoked) => AuthErrorKind::Revoked,
        Ok(RevocationStatus::SessionEnded) => AuthErrorKind::SessionEnded,
        Ok(RevocationStatus::CutOff) => AuthErrorKind::CutOff,
        Ok(RevocationStatus::Stale) => AuthErrorKind::StaleClaims,
        Err(error) => {
            settings.metrics.record_store_error(settings.policy);
            return match settings.policy {
                FailurePolicy::Open => {
                    tracing::warn!(
                        target: "tollgate::revocation",
                        error = %error,
                        "revocation store failed, request let through unchecked (fail open)"
                    );
                    Ok(())
                }
                FailurePolicy::Closed => Err(AuthError::new(AuthErrorKind::StoreUnavailable)
                    .with_retry_after(settings.retry_after)
                    .with_source(error)),
            };
        }
    };
    Err(kind.into())
}

impl<S, F, B, C, R> fmt::Debug for RevocationFuture<S, F, B, C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Check { .. } => "check",
            State::Refuse { .. } => "refuse",
            State::Inner { .. } => "inner",
            State::Done => "done",
        };
        f.debug_struct("RevocationFuture")
            .field("state", &state)
            .finish_non_exhaustive()
    }
}
