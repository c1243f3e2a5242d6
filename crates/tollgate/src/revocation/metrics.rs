//! [`RevocationMetrics`]: the counters that show the store failed, and what the layer did.

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
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
/// several layers share one set. Only failures touch the counters, so the path of a healthy
/// store pays nothing for them.
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

    pub(super) fn record_store_error(&self, policy: FailurePolicy) {
        self.counters.store_errors.fetch_add(1, Ordering::Relaxed);
        if policy == FailurePolicy::Open {
            self.counters.failed_open.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl fmt::Debug for RevocationMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationMetrics")
            .field("store_errors", &self.store_errors())
            .field("failed_open", &self.failed_open())
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
}
