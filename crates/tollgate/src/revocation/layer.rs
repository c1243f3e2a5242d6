//! [`RevocationLayer`] and the configuration it shares with its services.

use std::{any::type_name, fmt, sync::Arc, time::Duration};

use tower_layer::Layer;

use super::{failure::FailurePolicy, metrics::RevocationMetrics, service::Revocation};
use crate::{
    middleware::LayerConfig,
    response::{DefaultResponder, Responder},
    telemetry::LayerMetrics,
};

/// Refuse revoked tokens: a [`Layer`] that wraps services in [`Revocation`].
///
/// Put it after [`VerifyLayer`](crate::VerifyLayer), on the routes that must refuse
/// a token as soon as it is revoked (axum `route_layer`, one method router, or one tonic
/// service). It reads the `Claims<StandardClaims>` the verify layer put into the request
/// extensions and asks its [`RevocationStore`](super::RevocationStore) about them once:
///
/// | finding                                | answer                                   |
/// |----------------------------------------|------------------------------------------|
/// | no claims (no verify layer in front, or an optional one let an anonymous request through) | 401, [`AuthErrorKind::MissingToken`](crate::AuthErrorKind::MissingToken) |
/// | no `jti` or no `exp` in the token      | 401, [`AuthErrorKind::MissingJti`](crate::AuthErrorKind::MissingJti) |
/// | [`RevocationStatus::Active`](super::RevocationStatus::Active) | the inner service's response          |
/// | `Revoked`, `SessionEnded`, `CutOff`, `Stale` | 401 `invalid_token`, kind [`Revoked`](crate::AuthErrorKind::Revoked), [`SessionEnded`](crate::AuthErrorKind::SessionEnded), [`CutOff`](crate::AuthErrorKind::CutOff), [`StaleClaims`](crate::AuthErrorKind::StaleClaims) |
/// | store error or timeout                 | per [`FailurePolicy`]: 503 with `Retry-After` (the default), or the inner service's response |
///
/// Holds only configuration, behind one `Arc`: the store, the failure policy, the counters
/// and the responder. Rejections are rendered by the responder ([`DefaultResponder`] unless
/// replaced with [`with_responder`](Self::with_responder)) and carry the
/// [`AuthError`](crate::AuthError) in their extensions.
///
/// Cloning the layer is cheap; clones share their [`RevocationMetrics`].
///
/// See the [module docs](crate::revocation) for an example.
#[must_use]
pub struct RevocationLayer<St, R = DefaultResponder> {
    config: Arc<RevocationConfig<St, R>>,
}

/// What a [`RevocationLayer`] shares with its services.
#[derive(Clone)]
pub(crate) struct RevocationConfig<St, R> {
    pub(super) store: St,
    pub(super) failure_policy: FailurePolicy,
    pub(super) retry_after: Duration,
    pub(super) metrics: RevocationMetrics,
    pub(super) responder: R,
    /// The handles of the layer's per-request facade metrics.
    pub(super) recorded: LayerMetrics,
}

impl<St, R: Responder> LayerConfig for RevocationConfig<St, R> {
    const LAYER: &'static str = "revocation";
    type Responder = R;

    fn responder(&self) -> &R {
        &self.responder
    }
}

impl<St> RevocationLayer<St> {
    /// A layer checking tokens against `store`: fails closed, answers with `Retry-After: 1`
    /// while the store is down, renders rejections with [`DefaultResponder`].
    pub fn new(store: St) -> Self {
        Self {
            config: Arc::new(RevocationConfig {
                store,
                failure_policy: FailurePolicy::Closed,
                retry_after: Duration::from_secs(1),
                metrics: RevocationMetrics::new(),
                responder: DefaultResponder::new(),
                recorded: LayerMetrics::default(),
            }),
        }
    }
}

impl<St, R> RevocationLayer<St, R> {
    /// The store the layer asks; write revocations through it (or a clone of it).
    #[must_use]
    pub fn store(&self) -> &St {
        &self.config.store
    }

    /// The counters of this layer (a shared handle: keep it and read it later).
    #[must_use]
    pub fn metrics(&self) -> RevocationMetrics {
        self.config.metrics.clone()
    }
}

impl<St: Clone, R: Clone> RevocationLayer<St, R> {
    /// Replace how rejections are rendered (any [`Responder`](crate::response::Responder),
    /// closures included).
    pub fn with_responder<R2>(self, responder: R2) -> RevocationLayer<St, R2> {
        let RevocationConfig {
            store,
            failure_policy,
            retry_after,
            metrics,
            recorded,
            ..
        } = Arc::unwrap_or_clone(self.config);
        RevocationLayer {
            config: Arc::new(RevocationConfig {
                store,
                failure_policy,
                retry_after,
                metrics,
                responder,
                recorded,
            }),
        }
    }

    /// What to do when the store fails: [`FailurePolicy::Closed`] (the default) or
    /// [`FailurePolicy::Open`].
    pub fn failure_policy(mut self, policy: FailurePolicy) -> Self {
        Arc::make_mut(&mut self.config).failure_policy = policy;
        self
    }

    /// The `Retry-After` hint of the 503 answers of [`FailurePolicy::Closed`] (rounded down to
    /// whole seconds, at least one). Default: one second.
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        Arc::make_mut(&mut self.config).retry_after = retry_after;
        self
    }

    /// Count into `metrics` instead of this layer's own counters, so that several layers
    /// (several routes, or several stores) add up in one place.
    pub fn with_metrics(mut self, metrics: RevocationMetrics) -> Self {
        Arc::make_mut(&mut self.config).metrics = metrics;
        self
    }
}

impl<S, St, R> Layer<S> for RevocationLayer<St, R> {
    type Service = Revocation<S, St, R>;

    fn layer(&self, inner: S) -> Self::Service {
        Revocation::from_config(inner, Arc::clone(&self.config))
    }
}

impl<St, R> Clone for RevocationLayer<St, R> {
    fn clone(&self) -> Self {
        Self {
            config: Arc::clone(&self.config),
        }
    }
}

impl<St: fmt::Debug, R> fmt::Debug for RevocationLayer<St, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationLayer")
            .field("config", &self.config)
            .finish()
    }
}

impl<St: fmt::Debug, R> fmt::Debug for RevocationConfig<St, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationConfig")
            .field("store", &self.store)
            .field("failure_policy", &self.failure_policy)
            .field("retry_after", &self.retry_after)
            .field("metrics", &self.metrics)
            .field("responder", &type_name::<R>())
            .finish()
    }
}
