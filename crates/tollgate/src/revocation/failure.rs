//! What the layer does when its store fails: the [`FailurePolicy`], and the one function
//! that turns a store's answer into the request's fate.

use super::{
    layer::RevocationConfig,
    store::{RevocationStatus, RevocationStoreError},
};
use tracing::Span;

use crate::{
    error::{AuthError, AuthErrorKind},
    telemetry::{self, CheckStatus},
};

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
    /// Let the request through as if the token were not revoked and count it in
    /// [`RevocationMetrics::failed_open`](super::metrics::RevocationMetrics::failed_open); the
    /// outage is logged at `warn` (target `tollgate::revocation`) once, when it starts. For
    /// routes where availability matters more than a revocation taking effect at once.
    Open,
}

/// What the store's answer means for the request: pass (`Ok`) or the rejection. Counts
/// store failures, logs an outage at its start and at its end (see
/// [`RevocationMetrics`](super::metrics::RevocationMetrics)), and records the answer on the
/// layer's `span` and in the metrics.
pub(super) fn verdict<St, R>(
    answer: Result<RevocationStatus, RevocationStoreError>,
    config: &RevocationConfig<St, R>,
    span: &Span,
) -> Result<(), AuthError> {
    let status = match answer {
        Ok(status) => status,
        Err(error) => {
            telemetry::revocation_checked(span, &config.recorded, CheckStatus::Error);
            return failed(error, config);
        }
    };
    telemetry::revocation_checked(
        span,
        &config.recorded,
        match status {
            RevocationStatus::Active => CheckStatus::Active,
            RevocationStatus::Revoked => CheckStatus::Revoked,
            RevocationStatus::SessionEnded => CheckStatus::SessionEnded,
            RevocationStatus::CutOff => CheckStatus::CutOff,
            RevocationStatus::Stale => CheckStatus::Stale,
        },
    );
    if let Some(failed_checks) = config.metrics.record_answer() {
        telemetry::revocation_store_failing(false);
        tracing::info!(
            target: "tollgate::revocation",
            failed_checks,
            "revocation store answers again: outage over"
        );
    }
    let kind = match status {
        RevocationStatus::Active => return Ok(()),
        RevocationStatus::Revoked => AuthErrorKind::Revoked,
        RevocationStatus::SessionEnded => AuthErrorKind::SessionEnded,
        RevocationStatus::CutOff => AuthErrorKind::CutOff,
        RevocationStatus::Stale => AuthErrorKind::StaleClaims,
    };
    Err(kind.into())
}

/// A check failed: count it, log it when it starts an outage, apply the policy.
fn failed<St, R>(
    error: RevocationStoreError,
    config: &RevocationConfig<St, R>,
) -> Result<(), AuthError> {
    let policy = config.failure_policy;
    let starts = config.metrics.record_store_error(policy);
    telemetry::revocation_store_failed(error.kind(), policy == FailurePolicy::Open);
    if starts {
        telemetry::revocation_store_failing(true);
    }
    let action = match policy {
        FailurePolicy::Open => "requests are let through unchecked (fail open)",
        FailurePolicy::Closed => "requests are refused with 503 (fail closed)",
    };
    if starts {
        tracing::warn!(
            target: "tollgate::revocation",
            error = %error,
            "revocation store failing: {action} until it answers again"
        );
    } else {
        tracing::debug!(
            target: "tollgate::revocation",
            error = %error,
            "revocation store still failing: {action}"
        );
    }
    match policy {
        FailurePolicy::Open => Ok(()),
        FailurePolicy::Closed => Err(AuthError::new(AuthErrorKind::StoreUnavailable)
            .with_retry_after(config.retry_after)
            .with_source(error)),
    }
}
