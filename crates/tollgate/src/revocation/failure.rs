//! What the layer does when its store fails: the [`FailurePolicy`], and the one function
//! that turns a store's answer into the request's fate.

use super::{
    layer::RevocationConfig,
    store::{RevocationStatus, RevocationStoreError},
};
use crate::error::{AuthError, AuthErrorKind};

/// What a [`RevocationLayer`](crate::RevocationLayer) does with a request when its store
/// cannot answer (an error or a timeout).
///
/// Set it with [`RevocationLayer::failure_policy`](crate::RevocationLayer::failure_policy).
/// Either way, every failure is counted in [`RevocationMetrics::store_errors`](super::metrics::RevocationMetrics::store_errors).
///
/// See the [module docs](super) for an example.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailurePolicy {
    /// Refuse the request: HTTP 503 with `Retry-After` (gRPC `UNAVAILABLE`), error kind
    /// [`AuthErrorKind::StoreUnavailable`](crate::AuthErrorKind::StoreUnavailable). The default: a
    /// route that opted into revocation never serves a revoked token, at the price of
    /// availability while the store is down.
    #[default]
    Closed,
    /// Let the request through as if the token were not revoked, emit a `warn` event (target
    /// `tollgate::revocation`) and count it in [`RevocationMetrics::failed_open`](super::metrics::RevocationMetrics::failed_open). For routes
    /// where availability matters more than a revocation taking effect at once.
    Open,
}

/// What the store's answer means for the request: pass (`Ok`) or the rejection. Counts and
/// logs store failures.
pub(super) fn verdict<St, R>(
    answer: Result<RevocationStatus, RevocationStoreError>,
    config: &RevocationConfig<St, R>,
) -> Result<(), AuthError> {
    let kind = match answer {
        Ok(RevocationStatus::Active) => return Ok(()),
        Ok(RevocationStatus::Revoked) => AuthErrorKind::Revoked,
        Ok(RevocationStatus::SessionEnded) => AuthErrorKind::SessionEnded,
        Ok(RevocationStatus::CutOff) => AuthErrorKind::CutOff,
        Ok(RevocationStatus::Stale) => AuthErrorKind::StaleClaims,
        Err(error) => {
            config.metrics.record_store_error(config.failure_policy);
            return match config.failure_policy {
                FailurePolicy::Open => {
                    tracing::warn!(
                        target: "tollgate::revocation",
                        error = %error,
                        "revocation store failed, request let through unchecked (fail open)"
                    );
                    Ok(())
                }
                FailurePolicy::Closed => Err(AuthError::new(AuthErrorKind::StoreUnavailable)
                    .with_retry_after(config.retry_after)
                    .with_source(error)),
            };
        }
    };
    Err(kind.into())
}
