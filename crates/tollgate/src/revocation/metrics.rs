//! [`RevocationMetrics`]: the counters that show the store failed, and what the layer did.

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
};

use super::failure::FailurePolicy;

/// Counters of one [`RevocationLayer`](crate::RevocationLayer), shared with every service it
/// builds.
///
/// A cheap handle (an `Arc` inside): get it once with
/// [`RevocationLayer::metrics`](crate::RevocationLayer::metrics), keep it in the application
/// state, and read it from a metrics endpoint or exporter. Clones of the layer share the
/// counters; [`RevocationLayer::with_metrics`](crate::RevocationLayer::with_metrics) makes
/// several layers share one set. Failures touch the counters; the path of a healthy store
/// pays one relaxed atomic load per check for them.
///
/// Each value is a plain number or flag, read with one call, so that an exporter (a
/// `metrics` or Prometheus registry) can publish them as they are: [`store_errors`](Self::store_errors),
/// [`failed_open`](Self::failed_open) and [`outages`](Self::outages) are counters,
/// [`is_store_failing`](Self::is_store_failing) is a gauge. With the `metrics` feature the
/// layer also records these events, and every store answer, through the `metrics` facade
/// (`tollgate_revocation_*`, listed in `docs/observability.md`).
///
/// # Outages
///
/// An outage starts with the first check that fails after one that succeeded (or after
/// start) and ends with the next check that succeeds. The layer logs it twice, at its start
/// (`warn`) and at its end (`info`, with the number of checks that failed meanwhile), both
/// with target `tollgate::revocation`; the requests in between are only counted (and logged at
/// `debug`).
///
/// See the [module docs](super) for an example.
#[derive(Clone, Default)]
pub struct RevocationMetrics {
    counters: Arc<Counters>,
}

#[derive(Default)]
struct Counters {
    store_errors: AtomicU64,
    failed_open: AtomicU64,
    outages: AtomicU64,
    failing: AtomicBool,
    /// `store_errors` when the current outage started.
    errors_before_outage: AtomicU64,
}

impl RevocationMetrics {
    /// A new set of counters, all zero.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// How many checks failed because the store returned an error or timed out, whatever the
    /// policy did with the request.
    #[must_use]
    pub fn store_errors(&self) -> u64 {
        self.counters.store_errors.load(Ordering::Relaxed)
    }

    /// How many requests were let through unchecked under [`FailurePolicy::Open`].
    #[must_use]
    pub fn failed_open(&self) -> u64 {
        self.counters.failed_open.load(Ordering::Relaxed)
    }

    /// How many outages started: a check failed after the previous one succeeded (see the
    /// type docs).
    #[must_use]
    pub fn outages(&self) -> u64 {
        self.counters.outages.load(Ordering::Relaxed)
    }

    /// Whether the last check failed: the store is in an outage.
    #[must_use]
    pub fn is_store_failing(&self) -> bool {
        self.counters.failing.load(Ordering::Relaxed)
    }

    /// Count a failed check; `true` when it starts an outage.
    pub(super) fn record_store_error(&self, policy: FailurePolicy) -> bool {
        let counters = &self.counters;
        let before = counters.store_errors.fetch_add(1, Ordering::Relaxed);
        if policy == FailurePolicy::Open {
            counters.failed_open.fetch_add(1, Ordering::Relaxed);
        }
        let starts = !counters.failing.load(Ordering::Relaxed)
            && !counters.failing.swap(true, Ordering::AcqRel);
        if starts {
            counters.outages.fetch_add(1, Ordering::Relaxed);
            counters
                .errors_before_outage
                .store(before, Ordering::Relaxed);
        }
        starts
    }

    /// Note a check the store answered; when it ends an outage, how many checks failed
    /// during it.
    pub(super) fn record_answer(&self) -> Option<u64> {
        let counters = &self.counters;
        if !counters.failing.load(Ordering::Relaxed)
            || !counters.failing.swap(false, Ordering::AcqRel)
        {
            return None;
        }
        let before = counters.errors_before_outage.load(Ordering::Relaxed);
        Some(self.store_errors().saturating_sub(before))
    }
}

impl fmt::Debug for RevocationMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationMetrics")
            .field("store_errors", &self.store_errors())
            .field("failed_open", &self.failed_open())
            .field("outages", &self.outages())
            .field("is_store_failing", &self.is_store_failing())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_counters() {
        let metrics = RevocationMetrics::new();
        let clone = metrics.clone();
        clone.record_store_error(FailurePolicy::Closed);
        clone.record_store_error(FailurePolicy::Open);
        assert_eq!(metrics.store_errors(), 2);
        assert_eq!(metrics.failed_open(), 1);
        assert_eq!(FailurePolicy::default(), FailurePolicy::Closed);
    }

    #[test]
    fn an_outage_starts_with_the_first_failure_and_ends_with_the_next_answer() {
        let metrics = RevocationMetrics::new();
        assert_eq!(metrics.record_answer(), None);
        assert!(metrics.record_store_error(FailurePolicy::Closed));
        assert!(metrics.is_store_failing());
        assert!(!metrics.record_store_error(FailurePolicy::Closed));
        assert!(!metrics.record_store_error(FailurePolicy::Open));
        assert_eq!(metrics.outages(), 1);
        assert_eq!(metrics.record_answer(), Some(3));
        assert!(!metrics.is_store_failing());
        assert_eq!(metrics.record_answer(), None);

        assert!(metrics.record_store_error(FailurePolicy::Closed));
        assert_eq!(metrics.outages(), 2);
        assert_eq!(metrics.record_answer(), Some(1));
        assert_eq!(metrics.store_errors(), 4);
    }
}
