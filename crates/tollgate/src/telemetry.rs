//! What the layers tell an operator: the `tracing` span of each layer, and (feature `metrics`)
//! the metrics of `docs/observability.md`, recorded through the `metrics` facade.
//!
//! Every metric name and label value is here, and the layers call only the small functions
//! below. With the `metrics` feature off their bodies are empty, so nothing is recorded and
//! nothing is computed for it (not even the clock of the check timer).
//!
//! Recording does not allocate on the request path: the keys of the per-request metrics
//! (decisions, revocation checks, cache look-ups) are `static`s built at compile time, names
//! and labels included, their hashes too. The handles of a layer's decisions and of its
//! revocation checks are asked of the recorder at the layer's first record of each series and
//! kept in the layer's configuration ([`LayerMetrics`]), so a request's records are atomic
//! adds (the verified-token cache keeps its look-up counters the same way); the rarer records
//! (store failures, cache entries, key-set fetches) ask the recorder each time, as the
//! `metrics` macros do. Only the key-source metrics, recorded once per fetch
//! of a JWK Set, carry a label built at run time (the URL, shared, not copied).

use tracing::Span;

use crate::error::AuthErrorKind;

/// The layer that decided, as the `layer` label of `tollgate_decisions_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layer {
    Verify,
    Revocation,
    Policy,
}

/// What a layer decided about one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Let through with verified claims.
    Allowed,
    /// Let through without a token, by an optional verify layer.
    Anonymous,
    /// Refused.
    Refused(AuthErrorKind),
}

impl Decision {
    /// The span's `outcome` field: `allowed`, `anonymous`, or the refusal's code.
    fn as_field(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Anonymous => "anonymous",
            Self::Refused(kind) => kind.code(),
        }
    }
}

/// What a revocation check found: the `status` label and span field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CheckStatus {
    Active,
    Revoked,
    SessionEnded,
    CutOff,
    Stale,
    /// The store failed.
    Error,
}

impl CheckStatus {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Revoked => "revoked",
            Self::SessionEnded => "session_ended",
            Self::CutOff => "cut_off",
            Self::Stale => "stale",
            Self::Error => "error",
        }
    }
}

/// The span of one layer's work on one request (level `DEBUG`, target `tollgate::<layer>`,
/// named after the layer), with the `outcome` field (and `status` for revocation) to record.
///
/// When no subscriber enables it this is a disabled span: a check of a cached interest, no
/// allocation.
pub(crate) fn span(layer: Layer) -> Span {
    match layer {
        Layer::Verify => {
            tracing::debug_span!(target: "tollgate::verify", "verify", outcome = tracing::field::Empty)
        }
        Layer::Revocation => tracing::debug_span!(
            target: "tollgate::revocation",
            "revocation",
            outcome = tracing::field::Empty,
            status = tracing::field::Empty
        ),
        Layer::Policy => {
            tracing::debug_span!(target: "tollgate::policy", "policy", outcome = tracing::field::Empty)
        }
    }
}

/// The handles of one layer's per-request metrics (feature `metrics`; empty without it).
///
/// Each handle is asked of the recorder at the layer's first record of its series, then kept
/// (in the layer's configuration, shared by its services): a record is then an atomic add,
/// without the recorder's look-up of the series. The recorder must therefore be installed
/// before the layer serves its first request.
#[derive(Clone, Default)]
pub(crate) struct LayerMetrics {
    #[cfg(feature = "metrics")]
    handles: std::sync::Arc<imp::Handles>,
}

impl std::fmt::Debug for LayerMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LayerMetrics").finish_non_exhaustive()
    }
}

/// Record a layer's decision: the span's `outcome` field, and `tollgate_decisions_total`.
pub(crate) fn decided(span: &Span, metrics: &LayerMetrics, layer: Layer, decision: Decision) {
    span.record("outcome", decision.as_field());
    #[cfg(feature = "metrics")]
    metrics.handles.decision(layer, decision).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = (metrics, layer);
}

/// Record a revocation store's answer: the span's `status` field, and
/// `tollgate_revocation_checks_total`.
pub(crate) fn revocation_checked(span: &Span, metrics: &LayerMetrics, status: CheckStatus) {
    span.record("status", status.as_str());
    #[cfg(feature = "metrics")]
    metrics.handles.check(status).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = metrics;
}

/// A failed revocation check: `tollgate_revocation_store_errors_total` by kind, and
/// `tollgate_revocation_failed_open_total` when the request is let through anyway.
pub(crate) fn revocation_store_failed(
    kind: crate::revocation::RevocationStoreErrorKind,
    failed_open: bool,
) {
    #[cfg(feature = "metrics")]
    {
        imp::counter(imp::store_error_key(kind));
        if failed_open {
            imp::counter(&imp::FAILED_OPEN_KEY);
        }
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (kind, failed_open);
}

/// An outage of the revocation store started (`true`) or ended (`false`):
/// `tollgate_revocation_store_failing`.
pub(crate) fn revocation_store_failing(failing: bool) {
    #[cfg(feature = "metrics")]
    metrics::with_recorder(|recorder| {
        recorder
            .register_gauge(&imp::STORE_FAILING_KEY, &imp::METADATA)
            .set(if failing { 1.0 } else { 0.0 });
    });
    #[cfg(not(feature = "metrics"))]
    let _ = failing;
}

/// Times one call of the revocation store, for `tollgate_revocation_check_duration_seconds`.
/// Without the `metrics` feature it is empty and reads no clock.
pub(crate) struct CheckTimer {
    #[cfg(feature = "metrics")]
    started: std::time::Instant,
}

impl CheckTimer {
    /// Start timing a store call.
    pub(crate) fn start() -> Self {
        Self {
            #[cfg(feature = "metrics")]
            started: std::time::Instant::now(),
        }
    }

    /// The store answered (or failed): record how long it took.
    #[cfg_attr(not(feature = "metrics"), allow(clippy::unused_self))]
    pub(crate) fn stop(&self, metrics: &LayerMetrics) {
        #[cfg(feature = "metrics")]
        metrics
            .handles
            .check_duration()
            .record(self.started.elapsed().as_secs_f64());
        #[cfg(not(feature = "metrics"))]
        let _ = metrics;
    }
}

impl std::fmt::Debug for CheckTimer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckTimer").finish_non_exhaustive()
    }
}

/// The handles of a verified-token cache's look-up counters, kept as [`LayerMetrics`] keeps a
/// layer's (feature `metrics`; empty without it).
#[cfg(feature = "verify-cache")]
#[derive(Clone, Default)]
pub(crate) struct CacheMetrics {
    #[cfg(feature = "metrics")]
    lookups: std::sync::Arc<[std::sync::OnceLock<metrics::Counter>; 2]>,
}

/// A look-up in the verified-token cache: `tollgate_verify_cache_requests_total`.
#[cfg(feature = "verify-cache")]
pub(crate) fn verify_cache_lookup(metrics: &CacheMetrics, hit: bool) {
    #[cfg(feature = "metrics")]
    metrics.lookups[usize::from(hit)]
        .get_or_init(|| {
            let key = if hit {
                &imp::CACHE_HIT_KEY
            } else {
                &imp::CACHE_MISS_KEY
            };
            metrics::with_recorder(|recorder| recorder.register_counter(key, &imp::METADATA))
        })
        .increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = (metrics, hit);
}

/// A token entered the verified-token cache: `tollgate_verify_cache_entries` goes up.
#[cfg(feature = "verify-cache")]
pub(crate) fn verify_cache_entry_added() {
    #[cfg(feature = "metrics")]
    imp::cache_entries(1.0);
}

/// `builder` with, when the `metrics` feature is on, a listener that takes each token that
/// leaves the cache (expired, evicted, replaced, removed) off `tollgate_verify_cache_entries`.
#[cfg(feature = "verify-cache")]
pub(crate) fn count_cache_entries<K, V, C>(
    builder: moka::sync::CacheBuilder<K, V, C>,
) -> moka::sync::CacheBuilder<K, V, C> {
    #[cfg(feature = "metrics")]
    let builder = builder.eviction_listener(|_, _, _| imp::cache_entries(-1.0));
    builder
}

/// The metrics of one remote JWK Set, labelled with its URL.
#[cfg(feature = "jwks-remote")]
#[derive(Debug)]
pub(crate) struct JwksTelemetry {
    #[cfg(feature = "metrics")]
    url: metrics::SharedString,
}

#[cfg(feature = "jwks-remote")]
#[cfg_attr(not(feature = "metrics"), allow(clippy::unused_self))]
impl JwksTelemetry {
    /// The metrics of the JWK Set at `url` (the configured URL).
    pub(crate) fn new(url: &str) -> Self {
        #[cfg(not(feature = "metrics"))]
        let _ = url;
        Self {
            #[cfg(feature = "metrics")]
            url: metrics::SharedString::from_shared(std::sync::Arc::from(url)),
        }
    }

    /// A fetch succeeded with `keys` usable keys: `tollgate_jwks_refreshes_total{outcome="ok"}`,
    /// `tollgate_jwks_keys` and `tollgate_jwks_last_refresh_timestamp_seconds`.
    pub(crate) fn fetched(&self, keys: usize) {
        #[cfg(feature = "metrics")]
        {
            self.refresh("ok");
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |since| since.as_secs_f64());
            #[allow(clippy::cast_precision_loss)] // a key count is far below 2^52
            let keys = keys as f64;
            metrics::with_recorder(|recorder| {
                recorder
                    .register_gauge(&self.key(imp::JWKS_KEYS, None), &imp::METADATA)
                    .set(keys);
                recorder
                    .register_gauge(&self.key(imp::JWKS_LAST_REFRESH, None), &imp::METADATA)
                    .set(now);
            });
        }
        #[cfg(not(feature = "metrics"))]
        let _ = keys;
    }

    /// A fetch failed: `tollgate_jwks_refreshes_total{outcome=<the error's code>}`.
    pub(crate) fn failed(&self, kind: crate::key::JwksErrorKind) {
        #[cfg(feature = "metrics")]
        self.refresh(kind.code());
        #[cfg(not(feature = "metrics"))]
        let _ = kind;
    }

    #[cfg(feature = "metrics")]
    fn refresh(&self, outcome: &'static str) {
        let key = self.key(imp::JWKS_REFRESHES, Some(outcome));
        metrics::with_recorder(|recorder| {
            recorder.register_counter(&key, &imp::METADATA).increment(1);
        });
    }

    /// The key of the metric `name` for this URL, with an `outcome` label when given.
    #[cfg(feature = "metrics")]
    fn key(&self, name: &'static str, outcome: Option<&'static str>) -> metrics::Key {
        let url = metrics::Label::new("url", self.url.clone());
        match outcome {
            Some(outcome) => {
                metrics::Key::from_parts(name, vec![url, metrics::Label::new("outcome", outcome)])
            }
            None => metrics::Key::from_parts(name, vec![url]),
        }
    }
}

/// The names, label values and static keys (feature `metrics`).
#[cfg(feature = "metrics")]
mod imp {
    use std::{mem::ManuallyDrop, sync::OnceLock};

    use metrics::{Counter, Histogram, Key, Label, Level, Metadata};

    use super::{CheckStatus, Decision, Layer};
    use crate::{error::AuthErrorKind, revocation::RevocationStoreErrorKind};

    /// Every request a layer decided (`layer`, `outcome`, `reason` on refusals).
    pub(super) const DECISIONS: &str = "tollgate_decisions_total";
    /// Answers of the revocation store (`status`).
    pub(super) const REVOCATION_CHECKS: &str = "tollgate_revocation_checks_total";
    /// Time the revocation store took to answer a check, failures included.
    pub(super) const REVOCATION_CHECK_DURATION: &str = "tollgate_revocation_check_duration_seconds";
    /// Checks the store failed (`kind`).
    pub(super) const REVOCATION_STORE_ERRORS: &str = "tollgate_revocation_store_errors_total";
    /// Requests let through unchecked under `FailurePolicy::Open`.
    pub(super) const REVOCATION_FAILED_OPEN: &str = "tollgate_revocation_failed_open_total";
    /// 1 while the store is in an outage, else 0.
    pub(super) const REVOCATION_STORE_FAILING: &str = "tollgate_revocation_store_failing";
    /// Fetches of a remote JWK Set (`url`, `outcome`).
    #[cfg(feature = "jwks-remote")]
    pub(super) const JWKS_REFRESHES: &str = "tollgate_jwks_refreshes_total";
    /// Keys held from a URL (`url`).
    #[cfg(feature = "jwks-remote")]
    pub(super) const JWKS_KEYS: &str = "tollgate_jwks_keys";
    /// Unix time of the last successful fetch (`url`).
    #[cfg(feature = "jwks-remote")]
    pub(super) const JWKS_LAST_REFRESH: &str = "tollgate_jwks_last_refresh_timestamp_seconds";
    /// Look-ups in the verified-token cache (`result`).
    #[cfg(feature = "verify-cache")]
    pub(super) const VERIFY_CACHE_REQUESTS: &str = "tollgate_verify_cache_requests_total";
    /// Tokens held in the verified-token cache.
    #[cfg(feature = "verify-cache")]
    pub(super) const VERIFY_CACHE_ENTRIES: &str = "tollgate_verify_cache_entries";

    /// The metadata handed to the recorder with every key (what the `metrics` macros give).
    pub(super) static METADATA: Metadata<'static> =
        Metadata::new("tollgate", Level::INFO, Some("tollgate"));

    /// Every error kind, in declaration order: `KINDS[kind as usize] == kind` (checked by a
    /// test; the `match` in `kind_index` fails to compile when a kind is added).
    const KINDS: [AuthErrorKind; 23] = [
        AuthErrorKind::MissingToken,
        AuthErrorKind::Malformed,
        AuthErrorKind::TooLarge,
        AuthErrorKind::UnsupportedAlgorithm,
        AuthErrorKind::UnsupportedCritical,
        AuthErrorKind::UnknownKey,
        AuthErrorKind::InvalidSignature,
        AuthErrorKind::Expired,
        AuthErrorKind::NotYetValid,
        AuthErrorKind::IssuedInFuture,
        AuthErrorKind::TooOld,
        AuthErrorKind::MissingClaim,
        AuthErrorKind::InvalidIssuer,
        AuthErrorKind::InvalidAudience,
        AuthErrorKind::InvalidType,
        AuthErrorKind::KeySourceUnavailable,
        AuthErrorKind::Revoked,
        AuthErrorKind::SessionEnded,
        AuthErrorKind::CutOff,
        AuthErrorKind::StaleClaims,
        AuthErrorKind::MissingJti,
        AuthErrorKind::StoreUnavailable,
        AuthErrorKind::InsufficientScope,
    ];

    /// The index of `kind` in [`KINDS`].
    const fn kind_index(kind: AuthErrorKind) -> usize {
        // Exhaustive on purpose: a new kind must be added to `KINDS`.
        match kind {
            AuthErrorKind::MissingToken
            | AuthErrorKind::Malformed
            | AuthErrorKind::TooLarge
            | AuthErrorKind::UnsupportedAlgorithm
            | AuthErrorKind::UnsupportedCritical
            | AuthErrorKind::UnknownKey
            | AuthErrorKind::InvalidSignature
            | AuthErrorKind::Expired
            | AuthErrorKind::NotYetValid
            | AuthErrorKind::IssuedInFuture
            | AuthErrorKind::TooOld
            | AuthErrorKind::MissingClaim
            | AuthErrorKind::InvalidIssuer
            | AuthErrorKind::InvalidAudience
            | AuthErrorKind::InvalidType
            | AuthErrorKind::KeySourceUnavailable
            | AuthErrorKind::Revoked
            | AuthErrorKind::SessionEnded
            | AuthErrorKind::CutOff
            | AuthErrorKind::StaleClaims
            | AuthErrorKind::MissingJti
            | AuthErrorKind::StoreUnavailable
            | AuthErrorKind::InsufficientScope => kind as usize,
        }
    }

    const fn layer_name(layer: Layer) -> &'static str {
        match layer {
            Layer::Verify => "verify",
            Layer::Revocation => "revocation",
            Layer::Policy => "policy",
        }
    }

    /// The labels of `tollgate_decisions_total`: per layer, `allowed`, `anonymous`, then one
    /// `refused` set per error kind.
    type DecisionLabels = [[Label; 3]; KINDS.len() + 2];

    /// A label to fill an array with before it is written (const evaluation cannot drop, so the
    /// blanks are replaced without being dropped: they own nothing).
    const BLANK: Label = Label::from_static_parts("", "");

    const fn decision_labels(layer: Layer) -> DecisionLabels {
        let layer = layer_name(layer);
        let mut labels = [const { [BLANK, BLANK, BLANK] }; KINDS.len() + 2];
        put(
            &mut labels[0],
            [("layer", layer), ("outcome", "allowed"), ("", "")],
        );
        put(
            &mut labels[1],
            [("layer", layer), ("outcome", "anonymous"), ("", "")],
        );
        let mut i = 0;
        while i < KINDS.len() {
            put(
                &mut labels[i + 2],
                [
                    ("layer", layer),
                    ("outcome", "refused"),
                    ("reason", KINDS[i].code()),
                ],
            );
            i += 1;
        }
        labels
    }

    /// Write `parts` into `slot`: the static labels, without dropping the blanks (which own
    /// nothing).
    const fn put(slot: &mut [Label; 3], parts: [(&'static str, &'static str); 3]) {
        let mut i = 0;
        while i < 3 {
            let (key, value) = parts[i];
            // The blank replaced owns nothing (static strings); a const fn cannot drop it.
            let _ = ManuallyDrop::new(std::mem::replace(
                &mut slot[i],
                Label::from_static_parts(key, value),
            ));
            i += 1;
        }
    }

    static VERIFY_LABELS: DecisionLabels = decision_labels(Layer::Verify);
    static REVOCATION_LABELS: DecisionLabels = decision_labels(Layer::Revocation);
    static POLICY_LABELS: DecisionLabels = decision_labels(Layer::Policy);

    type DecisionKeys = [Key; KINDS.len() + 2];

    /// The keys over `labels`: `allowed` and `anonymous` have two labels, refusals three.
    const fn decision_keys(labels: &'static DecisionLabels) -> DecisionKeys {
        const BLANK_KEY: Key = Key::from_static_name("");
        let mut keys = [BLANK_KEY; KINDS.len() + 2];
        let mut i = 0;
        while i < keys.len() {
            let (used, _) = labels[i].split_at(if i < 2 { 2 } else { 3 });
            let _ = ManuallyDrop::new(std::mem::replace(
                &mut keys[i],
                Key::from_static_parts(DECISIONS, used),
            ));
            i += 1;
        }
        keys
    }

    static VERIFY_KEYS: DecisionKeys = decision_keys(&VERIFY_LABELS);
    static REVOCATION_KEYS: DecisionKeys = decision_keys(&REVOCATION_LABELS);
    static POLICY_KEYS: DecisionKeys = decision_keys(&POLICY_LABELS);

    /// The key of `tollgate_decisions_total` for `decision` by `layer`.
    pub(super) fn decision_key(layer: Layer, decision: Decision) -> &'static Key {
        let keys = match layer {
            Layer::Verify => &VERIFY_KEYS,
            Layer::Revocation => &REVOCATION_KEYS,
            Layer::Policy => &POLICY_KEYS,
        };
        &keys[decision_index(decision)]
    }

    /// Where `decision` is in a layer's keys and handles.
    const fn decision_index(decision: Decision) -> usize {
        match decision {
            Decision::Allowed => 0,
            Decision::Anonymous => 1,
            Decision::Refused(kind) => kind_index(kind) + 2,
        }
    }

    /// A key with one static label.
    macro_rules! static_key {
        ($name:expr, $label:literal => $value:expr) => {{
            static LABELS: [Label; 1] = [Label::from_static_parts($label, $value)];
            Key::from_static_parts($name, &LABELS)
        }};
    }

    /// By `CheckStatus as usize`.
    pub(super) static CHECK_KEYS: [Key; 6] = [
        static_key!(REVOCATION_CHECKS, "status" => super::CheckStatus::Active.as_str()),
        static_key!(REVOCATION_CHECKS, "status" => super::CheckStatus::Revoked.as_str()),
        static_key!(REVOCATION_CHECKS, "status" => super::CheckStatus::SessionEnded.as_str()),
        static_key!(REVOCATION_CHECKS, "status" => super::CheckStatus::CutOff.as_str()),
        static_key!(REVOCATION_CHECKS, "status" => super::CheckStatus::Stale.as_str()),
        static_key!(REVOCATION_CHECKS, "status" => super::CheckStatus::Error.as_str()),
    ];

    pub(super) fn store_error_key(kind: RevocationStoreErrorKind) -> &'static Key {
        static TIMEOUT: Key = static_key!(REVOCATION_STORE_ERRORS, "kind" => "timeout");
        static UNAVAILABLE: Key = static_key!(REVOCATION_STORE_ERRORS, "kind" => "unavailable");
        static CORRUPT: Key = static_key!(REVOCATION_STORE_ERRORS, "kind" => "corrupt");
        match kind {
            RevocationStoreErrorKind::Timeout => &TIMEOUT,
            RevocationStoreErrorKind::Unavailable => &UNAVAILABLE,
            RevocationStoreErrorKind::Corrupt => &CORRUPT,
        }
    }

    pub(super) static FAILED_OPEN_KEY: Key = Key::from_static_name(REVOCATION_FAILED_OPEN);
    pub(super) static STORE_FAILING_KEY: Key = Key::from_static_name(REVOCATION_STORE_FAILING);
    pub(super) static CHECK_DURATION_KEY: Key = Key::from_static_name(REVOCATION_CHECK_DURATION);
    #[cfg(feature = "verify-cache")]
    pub(super) static CACHE_HIT_KEY: Key = static_key!(VERIFY_CACHE_REQUESTS, "result" => "hit");
    #[cfg(feature = "verify-cache")]
    pub(super) static CACHE_MISS_KEY: Key = static_key!(VERIFY_CACHE_REQUESTS, "result" => "miss");
    #[cfg(feature = "verify-cache")]
    pub(super) static CACHE_ENTRIES_KEY: Key = Key::from_static_name(VERIFY_CACHE_ENTRIES);

    /// Add `change` to `tollgate_verify_cache_entries`.
    #[cfg(feature = "verify-cache")]
    pub(super) fn cache_entries(change: f64) {
        metrics::with_recorder(|recorder| {
            recorder
                .register_gauge(&CACHE_ENTRIES_KEY, &METADATA)
                .increment(change);
        });
    }

    /// One layer's handles, each taken from the recorder at its first use.
    pub(super) struct Handles {
        /// By the index of [`decision_key`]: `allowed`, `anonymous`, then the refusals.
        decisions: [OnceLock<Counter>; KINDS.len() + 2],
        /// By `CheckStatus as usize`.
        checks: [OnceLock<Counter>; 6],
        check_duration: OnceLock<Histogram>,
    }

    impl Default for Handles {
        fn default() -> Self {
            Self {
                decisions: [const { OnceLock::new() }; KINDS.len() + 2],
                checks: [const { OnceLock::new() }; 6],
                check_duration: OnceLock::new(),
            }
        }
    }

    impl Handles {
        pub(super) fn decision(&self, layer: Layer, decision: Decision) -> &Counter {
            self.decisions[decision_index(decision)].get_or_init(|| {
                metrics::with_recorder(|recorder| {
                    recorder.register_counter(decision_key(layer, decision), &METADATA)
                })
            })
        }

        pub(super) fn check(&self, status: CheckStatus) -> &Counter {
            self.checks[status as usize].get_or_init(|| {
                metrics::with_recorder(|recorder| {
                    recorder.register_counter(&CHECK_KEYS[status as usize], &METADATA)
                })
            })
        }

        pub(super) fn check_duration(&self) -> &Histogram {
            self.check_duration.get_or_init(|| {
                metrics::with_recorder(|recorder| {
                    recorder.register_histogram(&CHECK_DURATION_KEY, &METADATA)
                })
            })
        }
    }

    /// Add one to the counter `key`.
    pub(super) fn counter(key: &'static Key) {
        metrics::with_recorder(|recorder| recorder.register_counter(key, &METADATA).increment(1));
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn kinds_are_listed_in_declaration_order() {
            for (i, kind) in KINDS.iter().enumerate() {
                assert_eq!(kind_index(*kind), i, "{kind:?}");
            }
        }

        #[test]
        fn decision_keys_carry_the_documented_labels() {
            let labels = |key: &Key| {
                key.labels()
                    .map(|label| format!("{}={}", label.key(), label.value()))
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let key = decision_key(Layer::Verify, Decision::Allowed);
            assert_eq!(key.name(), "tollgate_decisions_total");
            assert_eq!(labels(key), "layer=verify,outcome=allowed");
            let key = decision_key(Layer::Revocation, Decision::Refused(AuthErrorKind::Revoked));
            assert_eq!(
                labels(key),
                "layer=revocation,outcome=refused,reason=token_revoked"
            );
            let key = decision_key(
                Layer::Policy,
                Decision::Refused(AuthErrorKind::InsufficientScope),
            );
            assert_eq!(
                labels(key),
                "layer=policy,outcome=refused,reason=insufficient_scope"
            );
            for status in [
                CheckStatus::Active,
                CheckStatus::Revoked,
                CheckStatus::SessionEnded,
                CheckStatus::CutOff,
                CheckStatus::Stale,
                CheckStatus::Error,
            ] {
                let key = &CHECK_KEYS[status as usize];
                assert_eq!(key.name(), "tollgate_revocation_checks_total");
                assert_eq!(labels(key), format!("status={}", status.as_str()));
            }
        }
    }
}
