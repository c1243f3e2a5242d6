//! Whether Redis is known to be down: once it is, checks fail at once (no round trip, no
//! timeout to wait) and one background probe asks it with `PING` until it answers.

use std::sync::atomic::{AtomicBool, Ordering};

/// The outage state of one store, shared by its handles and its probe.
#[derive(Debug, Default)]
pub(crate) struct Health {
    /// Redis is known to be down: checks fail at once.
    down: AtomicBool,
    /// A probe task runs (at most one at a time).
    probing: AtomicBool,
}

impl Health {
    /// Whether Redis is known to be down.
    pub(crate) fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }

    /// A call failed or a probe went unanswered: Redis is down.
    pub(crate) fn mark_down(&self) {
        if !self.down.swap(true, Ordering::AcqRel) {
            tracing::debug!(
                target: "tollgate_redis::revocation",
                "Redis unreachable: checks fail at once until a probe gets an answer"
            );
        }
    }

    /// A call or a probe got an answer: Redis is up.
    pub(crate) fn mark_up(&self) {
        if self.down.load(Ordering::Acquire) && self.down.swap(false, Ordering::AcqRel) {
            tracing::debug!(
                target: "tollgate_redis::revocation",
                "Redis answers again: checks ask it again"
            );
        }
    }

    /// Claim the probe; `false` when one already runs.
    pub(crate) fn start_probing(&self) -> bool {
        !self.probing.swap(true, Ordering::AcqRel)
    }

    /// The probe ends. Called before the probe's last [`mark_up`](Self::mark_up), so that a
    /// failure noticed meanwhile starts a new probe instead of leaving the store down with
    /// none.
    pub(crate) fn stop_probing(&self) {
        self.probing.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_probe_at_a_time_and_down_until_marked_up() {
        let health = Health::default();
        assert!(!health.is_down());
        health.mark_down();
        health.mark_down();
        assert!(health.is_down());
        assert!(health.start_probing());
        assert!(!health.start_probing());
        health.stop_probing();
        health.mark_up();
        assert!(!health.is_down());
        assert!(health.start_probing());
    }
}
