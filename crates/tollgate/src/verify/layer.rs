//! [`VerifyLayer`] and the configuration it shares with its services.

use std::{any::type_name, fmt, marker::PhantomData, sync::Arc};

use tower_layer::Layer;

use super::{service::Verify, source::TokenSource, verifier::Verifier};
use crate::{
    claims::StandardClaims,
    middleware::LayerConfig,
    response::{DefaultResponder, Responder},
    telemetry::LayerMetrics,
};

/// Verifies the request's JWT and hands its claims to the inner service.
///
/// Holds only configuration, behind one `Arc`; [`Layer::layer`] shares it with each
/// [`Verify`] service. Put it in front of the routes that need a token: with axum,
/// `Router::route_layer` (an unknown path then still gets 404; `Router::layer` would answer
/// 401 there), after the public routes are added or before.
///
/// See the [module docs](crate::verify) for an example.
#[must_use]
pub struct VerifyLayer<C = StandardClaims, R = DefaultResponder> {
    config: Arc<VerifyConfig<R>>,
    claims: PhantomData<fn() -> C>,
}

/// What a [`VerifyLayer`] shares with its services.
#[derive(Clone)]
pub(crate) struct VerifyConfig<R> {
    pub(super) verifier: Verifier,
    pub(super) source: TokenSource,
    pub(super) optional: bool,
    pub(super) responder: R,
    /// The handles of the layer's per-request metrics.
    pub(super) metrics: LayerMetrics,
}

impl<R: Responder> LayerConfig for VerifyConfig<R> {
    const LAYER: &'static str = "verify";
    type Responder = R;

    fn responder(&self) -> &R {
        &self.responder
    }
}

impl VerifyLayer {
    /// A layer that requires a valid bearer token, verified by `verifier`, and hands
    /// [`StandardClaims`] to handlers.
    pub fn new(verifier: Verifier) -> Self {
        Self {
            config: Arc::new(VerifyConfig {
                verifier,
                source: TokenSource::bearer(),
                optional: false,
                responder: DefaultResponder::new(),
                metrics: LayerMetrics::default(),
            }),
            claims: PhantomData,
        }
    }
}

impl<C, R> VerifyLayer<C, R> {
    /// The verifier the layer checks tokens with.
    #[must_use]
    pub fn verifier(&self) -> &Verifier {
        &self.config.verifier
    }

    /// Decode the claims as `C` too (any `serde` type); handlers then take `Claims<C>`.
    /// `Claims<StandardClaims>` stays available to the revocation and policy layers.
    pub fn claims<C2>(self) -> VerifyLayer<C2, R> {
        VerifyLayer {
            config: self.config,
            claims: PhantomData,
        }
    }

    /// Render rejections with `responder` instead of [`DefaultResponder`].
    pub fn with_responder<R2>(self, responder: R2) -> VerifyLayer<C, R2>
    where
        R: Clone,
    {
        let VerifyConfig {
            verifier,
            source,
            optional,
            metrics,
            ..
        } = Arc::unwrap_or_clone(self.config);
        VerifyLayer {
            config: Arc::new(VerifyConfig {
                verifier,
                source,
                optional,
                responder,
                metrics,
            }),
            claims: PhantomData,
        }
    }
}

impl<C, R: Clone> VerifyLayer<C, R> {
    /// Read the token from `source` instead of the `Authorization: Bearer` header.
    pub fn source(mut self, source: TokenSource) -> Self {
        Arc::make_mut(&mut self.config).source = source;
        self
    }

    /// In optional mode a request without a token passes through without claims (handlers
    /// take `Option<Claims<C>>`); a request with a bad token is still rejected.
    pub fn optional(mut self, optional: bool) -> Self {
        Arc::make_mut(&mut self.config).optional = optional;
        self
    }
}

impl<S, C, R> Layer<S> for VerifyLayer<C, R> {
    type Service = Verify<S, C, R>;

    fn layer(&self, inner: S) -> Self::Service {
        Verify::from_config(inner, Arc::clone(&self.config))
    }
}

impl<C, R> Clone for VerifyLayer<C, R> {
    fn clone(&self) -> Self {
        Self {
            config: Arc::clone(&self.config),
            claims: PhantomData,
        }
    }
}

impl<C, R> fmt::Debug for VerifyLayer<C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyLayer")
            .field("config", &self.config)
            .field("claims", &type_name::<C>())
            .finish()
    }
}

impl<R> fmt::Debug for VerifyConfig<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyConfig")
            .field("verifier", &self.verifier)
            .field("source", &self.source)
            .field("optional", &self.optional)
            .field("responder", &type_name::<R>())
            .finish()
    }
}
