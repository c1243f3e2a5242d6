//! [`RequirePolicyLayer`]: the layer enforcing a [`Policy`].

use tower_layer::Layer;

use super::{Authorizer, Policy, RequirePolicy};
use crate::response::DefaultResponder;

/// Enforces a [`Policy`] on the claims [`VerifyLayer`](crate::VerifyLayer) put into the
/// request extensions.
///
/// Requests that meet the policy go to the inner service; the others get 403
/// `insufficient_scope` (gRPC: PERMISSION_DENIED), and requests without claims (no verify layer
/// in front, or an optional one that let an anonymous request through) get 401. The check is
/// synchronous and allocates nothing.
///
/// Place it *inside* the verify layer (after it, on the request's way in).
///
/// See the [module docs](super) for an example.
#[derive(Clone, Debug)]
#[must_use]
pub struct RequirePolicyLayer<R = DefaultResponder> {
    pub(super) policy: Policy,
    pub(super) authorizer: Authorizer,
    pub(super) responder: R,
}

impl RequirePolicyLayer {
    /// Enforce `policy` with the default [`Authorizer`] (permissions from the `perms` claim)
    /// and the [`DefaultResponder`].
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            authorizer: Authorizer::default(),
            responder: DefaultResponder::default(),
        }
    }
}

impl<R> RequirePolicyLayer<R> {
    /// Check with `authorizer`'s settings: permission sources, role map, superuser.
    pub fn authorizer(mut self, authorizer: Authorizer) -> Self {
        self.authorizer = authorizer;
        self
    }

    /// Render rejections with `responder` instead.
    pub fn with_responder<R2>(self, responder: R2) -> RequirePolicyLayer<R2> {
        RequirePolicyLayer {
            policy: self.policy,
            authorizer: self.authorizer,
            responder,
        }
    }

    /// The policy this layer enforces.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }
}

impl<S, R: Clone> Layer<S> for RequirePolicyLayer<R> {
    type Service = RequirePolicy<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        RequirePolicy {
            inner,
            policy: self.policy.clone(),
            authorizer: self.authorizer.clone(),
            responder: self.responder.clone(),
        }
    }
}
