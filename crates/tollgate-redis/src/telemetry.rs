//! The metrics of the local cache (feature `metrics`): their names, their label values, and
//! the functions that record them, which do nothing without the feature.
//!
//! `docs/observability.md` lists them. No label value is a token id, a session id or a
//! subject: `result` is `hit` or `miss`, and the other metrics have no labels.

/// Checks answered by the local cache or sent to Redis, by `result`.
#[cfg(feature = "metrics")]
const CACHE_REQUESTS: &str = "tollgate_revocation_cache_requests_total";
/// Invalidation messages received on the revocation channel.
#[cfg(feature = "metrics")]
const INVALIDATIONS: &str = "tollgate_revocation_invalidations_total";
/// 1 while subscribed to the revocation channel, else 0.
#[cfg(feature = "metrics")]
const SUBSCRIBED: &str = "tollgate_revocation_subscribed";
/// Times the subscription was lost.
#[cfg(feature = "metrics")]
const SUBSCRIPTION_LOSSES: &str = "tollgate_revocation_subscription_losses_total";

/// The `result` of a check the local cache answered.
#[cfg(feature = "metrics")]
const HIT: &str = "hit";
/// The `result` of a check sent to Redis.
#[cfg(feature = "metrics")]
const MISS: &str = "miss";

/// The local cache answered a check.
pub(crate) fn cache_hit() {
    #[cfg(feature = "metrics")]
    metrics::counter!(CACHE_REQUESTS, "result" => HIT).increment(1);
}

/// A store with a local cache sent a check to Redis.
pub(crate) fn cache_miss() {
    #[cfg(feature = "metrics")]
    metrics::counter!(CACHE_REQUESTS, "result" => MISS).increment(1);
}

/// A message arrived on the revocation channel.
pub(crate) fn invalidation_received() {
    #[cfg(feature = "metrics")]
    metrics::counter!(INVALIDATIONS).increment(1);
}

/// The subscription is up (`true`) or down (`false`).
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn subscribed(up: bool) {
    #[cfg(feature = "metrics")]
    metrics::gauge!(SUBSCRIBED).set(if up { 1.0 } else { 0.0 });
}

/// The subscription was lost.
pub(crate) fn subscription_lost() {
    #[cfg(feature = "metrics")]
    metrics::counter!(SUBSCRIPTION_LOSSES).increment(1);
}
