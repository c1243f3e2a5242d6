//! [`RequirePolicyLayer`] and the configuration it shares with its services.

use std::{any::type_name, fmt, sync::Arc};

use tower_layer::Layer;

use super::{authorizer::Authorizer, rule::Policy, service::RequirePolicy};
use crate::{
    middleware::LayerConfig,
    response::{DefaultResponder, Responder},
    telemetry::LayerMetrics,
};

/// Requires a [`Policy`] of the claims [`VerifyLayer`](crate::VerifyLayer) put into the
/// request extensions, checked with an [`Authorizer`]'s settings.
///
/// Requests that meet the policy go to the inner service; the others get 403
/// `insufficient_scope` (gRPC: PERMISSION_DENIED), and requests without claims (no verify layer
/// in front, or an optional one that let an anonymous request through) get 401. The check is
/// synchronous and, when it grants, allocates nothing.
///
/// Holds only configuration, behind one `Arc`: the policy, the authorizer and the responder.
/// Place it *inside* the verify layer (after it, on the request's way in).
///
/// See the [module docs](crate::policy) for an example.
#[must_use]
pub struct RequirePolicyLayer<R = DefaultResponder> {
    config: Arc<RequirePolicyConfig<R>>,
}

/// What a [`RequirePolicyLayer`] shares with its services.
#[derive(Clone)]
pub(crate) struct RequirePolicyConfig<R> {
    pub(super) policy: Policy,
    pub(super) authorizer: Authorizer,
    pub(super) responder: R,
    /// The handles of the layer's per-request metrics.
    pub(super) metrics: LayerMetrics,
}

impl<R: Responder> LayerConfig for RequirePolicyConfig<R> {
    const LAYER: &'static str = "policy";
    type Responder = R;

    fn responder(&self) -> &R {
        &self.responder
    }
}

impl RequirePolicyLayer {
    /// Require `policy`, checked with `authorizer`'s settings (permission sources, role map,
    /// superuser; `&Authorizer::default()` reads the `perms` claim only), rendering
    /// rejections with the [`DefaultResponder`].
    pub fn new(authorizer: &Authorizer, policy: Policy) -> Self {
        Self {
            config: Arc::new(RequirePolicyConfig {
                policy,
                authorizer: authorizer.clone(),
                responder: DefaultResponder::new(),
                metrics: LayerMetrics::default(),
            }),
        }
    }
}

impl<R> RequirePolicyLayer<R> {
    /// The policy this layer requires.
    pub fn policy(&self) -> &Policy {
        &self.config.policy
    }
}

impl<R: Clone> RequirePolicyLayer<R> {
    /// Render rejections with `responder` instead of [`DefaultResponder`].
    pub fn with_responder<R2>(self, responder: R2) -> RequirePolicyLayer<R2> {
        let RequirePolicyConfig {
            policy,
            authorizer,
            metrics,
            ..
        } = Arc::unwrap_or_clone(self.config);
        RequirePolicyLayer {
            config: Arc::new(RequirePolicyConfig {
                policy,
                authorizer,
                responder,
                metrics,
            }),
        }
    }
}

impl<S, R> Layer<S> for RequirePolicyLayer<R> {
    type Service = RequirePolicy<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        RequirePolicy::from_config(inner, Arc::clone(&self.config))
    }
}

impl<R> Clone for RequirePolicyLayer<R> {
    fn clone(&self) -> Self {
        Self {
            config: Arc::clone(&self.config),
        }
    }
}

impl<R> fmt::Debug for RequirePolicyLayer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequirePolicyLayer")
            .field("config", &self.config)
            .finish()
    }
}

impl<R> fmt::Debug for RequirePolicyConfig<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequirePolicyConfig")
            .field("policy", &self.policy)
            .field("authorizer", &self.authorizer)
            .field("responder", &type_name::<R>())
            .finish()
    }
}
