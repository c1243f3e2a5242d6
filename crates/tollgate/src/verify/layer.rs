use std::{fmt, marker::PhantomData, sync::Arc};

use tower_layer::Layer;

use super::{TokenSource, Verifier, service::Verify};
use crate::{StandardClaims, response::DefaultResponder};

/// Verifies the request's JWT and hands its claims to the inner service.
///
/// Holds only configuration; [`Layer::layer`] shares it with each [`Verify`] service.
/// See the [module docs](super) for an example.
#[must_use]
pub struct VerifyLayer<C = StandardClaims, R = DefaultResponder> {
    pub(super) config: Arc<Config>,
    pub(super) responder: R,
    pub(super) claims: PhantomData<fn() -> C>,
}

#[derive(Clone)]
pub(super) struct Config {
    pub(super) verifier: Verifier,
    pub(super) source: TokenSource,
    pub(super) optional: bool,
}

impl VerifyLayer {
    /// A layer that requires a valid bearer token, verified by `verifier`, and hands
    /// [`StandardClaims`] to handlers.
    pub fn new(verifier: Verifier) -> Self {
        Self {
            config: Arc::new(Config {
                verifier,
                source: TokenSource::bearer(),
                optional: false,
            }),
            responder: DefaultResponder::new(),
            claims: PhantomData,
        }
    }
}

impl<C, R> VerifyLayer<C, R> {
    /// Decode the claims as `C` too (any `serde` type); handlers then take `Claims<C>`.
    /// `Claims<StandardClaims>` stays available to the revocation and policy layers.
    pub fn claims<C2>(self) -> VerifyLayer<C2, R> {
        VerifyLayer {
            config: self.config,
            responder: self.responder,
            claims: PhantomData,
        }
    }

    /// Read the token from `source` instead of the `Authorization: Bearer` header.
    pub fn source(mut self, source: TokenSource) -> Self {
        self.config_mut().source = source;
        self
    }

    /// In optional mode a request without a token passes through without claims (handlers
    /// take `Option<Claims<C>>`); a request with a bad token is still rejected.
    pub fn optional(mut self, optional: bool) -> Self {
        self.config_mut().optional = optional;
        self
    }

    /// Render rejections with `responder` instead of [`DefaultResponder`].
    pub fn with_responder<R2>(self, responder: R2) -> VerifyLayer<C, R2> {
        VerifyLayer {
            config: self.config,
            responder,
            claims: PhantomData,
        }
    }

    fn config_mut(&mut self) -> &mut Config {
        Arc::make_mut(&mut self.config)
    }
}

impl<S, C, R: Clone> Layer<S> for VerifyLayer<C, R> {
    type Service = Verify<S, C, R>;

    fn layer(&self, inner: S) -> Self::Service {
        Verify {
            inner,
            config: Arc::clone(&self.config),
            responder: self.responder.clone(),
            claims: PhantomData,
        }
    }
}

impl<C, R: Clone> Clone for VerifyLayer<C, R> {
    fn clone(&self) -> Self {
        Self {
            config: Arc::clone(&self.config),
            responder: self.responder.clone(),
            claims: PhantomData,
        }
    }
}

impl<C, R: fmt::Debug> fmt::Debug for VerifyLayer<C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyLayer")
            .field("verifier", &self.config.verifier)
            .field("source", &self.config.source)
            .field("optional", &self.config.optional)
            .field("responder", &self.responder)
            .field("claims", &std::any::type_name::<C>())
            .finish()
    }
}
