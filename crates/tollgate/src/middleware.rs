//! What the three layers share, so that they are built one way: the response future's
//! states, the one point where a rejection becomes a response, and the inner-service
//! accessors.
//!
//! Each layer holds one `Arc` of its configuration, responder included ([`LayerConfig`]);
//! `Layer::layer` hands that `Arc` to the service; the service's `call` decides and returns a
//! [`LayerFuture`] in one of its states; the future renders a rejection when polled, never
//! earlier.

use std::{
    fmt,
    future::Future,
    marker::PhantomData,
    ops::Deref,
    pin::Pin,
    task::{Context, Poll, ready},
};

use http::{HeaderMap, HeaderValue, Response, header::CONTENT_TYPE};
use pin_project_lite::pin_project;

use crate::{body::RejectionBody, error::AuthError, response::Responder};

/// The panic text of every tollgate response future polled again after it completed.
pub(crate) const POLLED_AFTER_COMPLETION: &str = "tollgate response future polled after completion";

/// The configuration of one layer, as its response future needs it.
pub(crate) trait LayerConfig {
    /// The layer's name in rejection log events (`layer` field, target `tollgate::rejection`).
    const LAYER: &'static str;

    /// How the layer renders rejections.
    type Responder: Responder;

    /// The layer's responder.
    fn responder(&self) -> &Self::Responder;
}

/// `get_ref`, `get_mut` and `into_inner` for a service whose wrapped service is `self.inner`
/// of type `S`.
macro_rules! inner_service_accessors {
    () => {
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
    };
}
pub(crate) use inner_service_accessors;

/// Marks a response made from an [`AuthError`] a handler returned (its `IntoResponse`): the
/// tollgate layers it passes render it again with their own responder.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HandlerRejection;

/// A refusal, not yet rendered: the error and the rejected request's headers.
#[derive(Debug)]
pub(crate) struct Rejection {
    error: AuthError,
    headers: HeaderMap,
}

impl Rejection {
    pub(crate) fn new(error: AuthError, headers: HeaderMap) -> Self {
        Self { error, headers }
    }
}

/// How a pending check ended: call the inner service, or refuse.
pub(crate) enum Decision<F> {
    /// The inner service's future, and the request's `content-type` (kept to render an
    /// error the handler returns).
    Call(F, Option<HeaderValue>),
    /// The request is refused.
    Reject(Rejection),
}

/// The `content-type` of a request, kept (a reference count, no copy) until its response.
pub(crate) fn content_type(headers: &HeaderMap) -> Option<HeaderValue> {
    headers.get(CONTENT_TYPE).cloned()
}

/// A pending step that never happens, for a layer whose checks never wait (policy).
#[derive(Debug)]
pub(crate) struct NeverPending<F>(std::convert::Infallible, PhantomData<fn() -> F>);

impl<F> Future for NeverPending<F> {
    type Output = Decision<F>;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
        match self.0 {}
    }
}

pin_project! {
    #[project = StateProj]
    #[project_replace = StateReplace]
    enum State<F, P> {
        // Let through: the inner service's future.
        Inner {
            #[pin]
            future: F,
            content_type: Option<HeaderValue>,
        },
        // Waiting for an answer (a key-set refresh, a revocation store) before deciding.
        Pending {
            #[pin]
            pending: P,
        },
        // Refused: rendered when polled.
        Rejected { rejection: Rejection },
        Done,
    }
}

pin_project! {
    /// The response future of every tollgate layer, over the inner service's future `F`, the
    /// layer's pending step `P`, and its configuration `K`.
    pub(crate) struct LayerFuture<F, P, K> {
        #[pin]
        state: State<F, P>,
        config: K,
    }
}

impl<F, P, K> LayerFuture<F, P, K> {
    /// Let the request through.
    pub(crate) fn call(future: F, content_type: Option<HeaderValue>, config: K) -> Self {
        Self {
            state: State::Inner {
                future,
                content_type,
            },
            config,
        }
    }

    /// Wait for `pending` to decide.
    pub(crate) fn pending(pending: P, config: K) -> Self {
        Self {
            state: State::Pending { pending },
            config,
        }
    }

    /// Refuse the request.
    pub(crate) fn reject(rejection: Rejection, config: K) -> Self {
        Self {
            state: State::Rejected { rejection },
            config,
        }
    }

    /// The state's name, for `Debug`.
    pub(crate) fn state_name(&self) -> &'static str {
        match &self.state {
            State::Inner { .. } => "inner",
            State::Pending { .. } => "pending",
            State::Rejected { .. } => "rejected",
            State::Done => "done",
        }
    }
}

impl<F, P, K, B, E> Future for LayerFuture<F, P, K>
where
    F: Future<Output = Result<Response<B>, E>>,
    P: Future<Output = Decision<F>>,
    K: Deref<Target: LayerConfig>,
    B: RejectionBody,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Inner {
                    future,
                    content_type,
                } => {
                    let response = ready!(future.poll(cx))?;
                    let content_type = content_type.take();
                    this.state.set(State::Done);
                    return Poll::Ready(Ok(handler_response(
                        response,
                        content_type,
                        &**this.config,
                    )));
                }
                StateProj::Pending { pending } => {
                    let next = match ready!(pending.poll(cx)) {
                        Decision::Call(future, content_type) => State::Inner {
                            future,
                            content_type,
                        },
                        Decision::Reject(rejection) => State::Rejected { rejection },
                    };
                    this.state.set(next);
                }
                StateProj::Rejected { .. } => {
                    let StateReplace::Rejected { rejection } =
                        this.state.as_mut().project_replace(State::Done)
                    else {
                        unreachable!("the state was `Rejected` a moment ago");
                    };
                    return Poll::Ready(Ok(render(&**this.config, rejection)));
                }
                StateProj::Done => panic!("{POLLED_AFTER_COMPLETION}"),
            }
        }
    }
}

/// Log a refusal and render it. The one place where a layer's rejection becomes a response.
fn render<C: LayerConfig + ?Sized, B: RejectionBody>(
    config: &C,
    rejection: Rejection,
) -> Response<B> {
    let Rejection { error, headers } = rejection;
    error.log(C::LAYER);
    respond(config, error, &headers)
}

/// The inner service's response; one made from an [`AuthError`] a handler returned is
/// rendered again with this layer's responder (so the outermost layer's answer is the one the
/// client gets), given the request's `content-type`.
fn handler_response<C: LayerConfig + ?Sized, B: RejectionBody>(
    response: Response<B>,
    content_type: Option<HeaderValue>,
    config: &C,
) -> Response<B> {
    let extensions = response.extensions();
    let error = extensions
        .get::<HandlerRejection>()
        .and_then(|_| extensions.get::<AuthError>().cloned());
    let Some(error) = error else {
        return response;
    };
    let mut headers = HeaderMap::new();
    if let Some(content_type) = content_type {
        headers.insert(CONTENT_TYPE, content_type);
    }
    let mut response = respond(config, error, &headers);
    response.extensions_mut().insert(HandlerRejection);
    response
}

/// `error` as the layer's responder renders it, with the error in the response extensions.
fn respond<C: LayerConfig + ?Sized, B: RejectionBody>(
    config: &C,
    error: AuthError,
    request: &HeaderMap,
) -> Response<B> {
    let (mut parts, body) = config.responder().respond(&error, request).into_parts();
    parts.extensions.insert(error);
    Response::from_parts(parts, B::rejection(body))
}

impl<F, P, K> fmt::Debug for LayerFuture<F, P, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LayerFuture")
            .field("state", &self.state_name())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::{
        future::{Ready, ready},
        sync::Arc,
        task::Waker,
    };

    use super::*;
    use crate::{body::ResponseBody, error::AuthErrorKind, response::DefaultResponder};

    struct Config(DefaultResponder);

    impl LayerConfig for Config {
        const LAYER: &'static str = "test";
        type Responder = DefaultResponder;

        fn responder(&self) -> &DefaultResponder {
            &self.0
        }
    }

    type Future = LayerFuture<
        Ready<Result<Response<ResponseBody<String>>, ()>>,
        NeverPending<Ready<Result<Response<ResponseBody<String>>, ()>>>,
        Arc<Config>,
    >;

    fn poll(future: Pin<&mut Future>) -> Poll<Result<Response<ResponseBody<String>>, ()>> {
        future.poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn a_rejection_is_rendered_when_polled_with_the_error_attached() {
        let config = Arc::new(Config(DefaultResponder::new()));
        let rejection = Rejection::new(AuthErrorKind::Expired.into(), HeaderMap::new());
        let mut future: Future = LayerFuture::reject(rejection, config);
        let Poll::Ready(Ok(response)) = poll(Pin::new(&mut future)) else {
            panic!("a rejection is ready at once");
        };
        assert_eq!(response.status(), http::StatusCode::UNAUTHORIZED);
        let error = response.extensions().get::<AuthError>().expect("attached");
        assert_eq!(error.kind(), AuthErrorKind::Expired);
        assert_eq!(future.state_name(), "done");
    }

    #[test]
    #[should_panic(expected = "tollgate response future polled after completion")]
    fn polling_after_completion_panics_with_the_one_text() {
        let config = Arc::new(Config(DefaultResponder::new()));
        let mut future: Future = LayerFuture::call(
            ready(Ok(Response::new(ResponseBody::inner(String::new())))),
            None,
            config,
        );
        assert!(poll(Pin::new(&mut future)).is_ready());
        let _ = poll(Pin::new(&mut future));
    }
}
