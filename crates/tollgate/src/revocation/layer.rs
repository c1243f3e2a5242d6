//! [`RevocationLayer`]: the configuration, and the layer that applies it.

use std::{any::type_name, fmt, sync::Arc, time::Duration};

use tower_layer::Layer;

use super::{FailurePolicy, Revocation, RevocationMetrics};
use crate::response::DefaultResponder;

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
/// Rejections are rendered by the responder ([`DefaultResponder`] unless replaced with
/// [`with_responder`](Self::with_responder)) and carry the [`AuthError`](crate::AuthError) in
/// their extensions.
///
/// Cloning the layer is cheap; clones share their [`RevocationMetrics`].
///
/// See the [module docs](super) for an example.
#[must_use]
pub struct RevocationLayer<St, R = DefaultResponder> {
    store: St,
    settings: Arc<Settings<R>>,
}

/// The configuration a layer hands to its services, behind one `Arc`.
pub(super) struct Settings<R> {
    pub(super) policy: FailurePolicy,
    pub(super) retry_after: Duration,
    pub(super) metrics: RevocationMetrics,
    pub(super) responder: R,
}

impl<R: Clone> Clone for Settings<R> {
    fn clone(&self) -> Self {
        Self {
            policy: self.policy,
            retry_after: self.retry_after,
            metrics: self.metrics.clone(),
            responder: self.responder.clone(),
        }
    }
}

impl<St> RevocationLayer<St> {
    /// A layer checking tokens against `store`: fails closed, answers with `Retry-After: 1`
    /// while the store is down, renders rejections with [`DefaultResponder`].
    pub fn new(store: St) -> Self {
        Self {
            store,
            settings: Arc::new(Settings {
                policy: FailurePolicy::Closed,
                retry_after: Duration::from_secs(1),
                metrics: RevocationMetrics::new(),
                responder: DefaultResponder::new(),
            }),
        }
    }
}

impl<St, R> RevocationLayer<St, R> {
    /// The store the layer asks; write revocations through it (or a clone of it).
    #[must_use]
    pub fn store(&self) -> &St {
        &self.store
    }

    /// The counters of this layer (a shared handle: keep it and read it later).
    #[must_use]
    pub fn metrics(&self) -> RevocationMetrics {
        self.settings.metrics.clone()
    }

    /// The failure policy.
    #[must_use]
    pub fn policy(&self) -> FailurePolicy {
        self.settings.policy
    }

    /// Replace how rejections are rendered (any [`Responder`](crate::response::Responder),
    /// closures included).
    pub fn with_responder<R2>(self, responder: R2) -> RevocationLayer<St, R2> {
        let Settings {
            policy,
            retry_after,
            ref metrics,
            ..
        } = *self.settings;
        RevocationLayer {
            store: self.store,
            settings: Arc::new(Settings {
                policy,
                retry_after,
                metrics: metrics.clone(),
                responder,
            }),
        }
    }
}

impl<St, R: Clone> RevocationLayer<St, R> {
    /// What to do when the store fails: [`FailurePolicy::Closed`] (the default) or
    /// [`FailurePolicy::Open`].
    pub fn failure_policy(mut self, policy: FailurePolicy) -> Self {
        Arc::make_mut(&mut self.settings).policy = policy;
        self
    }

    /// The `Retry-After` hint of the 503 answers of [`FailurePolicy::Closed`] (rounded down to
    /// whole seconds, at least one). Default: one second.
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        Arc::make_mut(&mut self.settings).retry_after = retry_after;
        self
    }

    /// Count into `metrics` instead of this layer's own counters, so that several layers
    /// (several routes, or several stores) add up in one place.
    pub fn with_metrics(mut self, metrics: RevocationMetrics) -> Self {
        Arc::make_mut(&mut self.settings).metrics = metrics;
        self
    }
}

impl<S, St: Clone, R> Layer<S> for RevocationLayer<St, R> {
    type Service = Revocation<S, St, R>;

    fn layer(&self, inner: S) -> Self::Service {
        Revocation::from_parts(inner, self.store.clone(), Arc::clone(&self.settings))
    }
}

impl<St: Clone, R> Clone for RevocationLayer<St, R> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            settings: Arc::clone(&self.settings),
        }
    }
}

impl<St: fmt::Debug, R> fmt::Debug for RevocationLayer<St, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationLayer")
            .field("store", &self.store)
            .field("settings", &*self.settings)
            .finish()
    }
}

impl<R> fmt::Debug for Settings<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("policy", &self.policy)
            .field("retry_after", &self.retry_after)
            .field("metrics", &self.metrics)
            .field("responder", &type_name::<R>())
            .finish()
    }
}
