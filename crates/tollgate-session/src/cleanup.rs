//! [`CleanupTask`]: purges sessions that can no longer be refreshed, on an interval.

use std::{fmt, time::Duration};

use tokio::{task::JoinHandle, time::MissedTickBehavior};

use crate::{clock::unix_now, store::SessionStore, telemetry};

/// A background task that calls [`SessionStore::purge`] on an interval: ended sessions and
/// those past their expiry or idle deadline are removed.
///
/// The first purge runs at once, then one every interval. The sessions removed are logged
/// (target `tollgate::session`, `debug`) and, with the `metrics` feature, counted in
/// `tollgate_sessions_purged_total`. A failed purge is logged (`warn`) and retried at the next
/// tick. The task stops when the handle is
/// dropped or [`stop`](CleanupTask::stop)ped.
///
/// ```
/// use std::time::Duration;
/// use tollgate_session::{MemorySessionStore, CleanupTask};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let cleanup = CleanupTask::spawn(MemorySessionStore::new(), Duration::from_secs(300));
/// assert!(!cleanup.is_finished());
/// cleanup.stop();
/// # }
/// ```
#[must_use = "the task stops when the handle is dropped"]
pub struct CleanupTask {
    handle: JoinHandle<()>,
}

impl CleanupTask {
    /// Purge `store` every `every` (at least one millisecond).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime (like `tokio::spawn`).
    pub fn spawn<S: SessionStore>(store: S, every: Duration) -> Self {
        let every = every.max(Duration::from_millis(1));
        let handle = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match store.purge(unix_now()).await {
                    Ok(0) => {}
                    Ok(purged) => {
                        telemetry::sessions_purged(purged);
                        tracing::debug!(target: "tollgate::session", purged, "purged sessions");
                    }
                    Err(error) => {
                        tracing::warn!(target: "tollgate::session", %error, "purging sessions failed");
                    }
                }
            }
        });
        Self { handle }
    }

    /// Stop the task (dropping the handle does the same).
    pub fn stop(self) {}

    /// Whether the task has stopped.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }
}

impl Drop for CleanupTask {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

impl fmt::Debug for CleanupTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CleanupTask")
            .field("finished", &self.handle.is_finished())
            .finish()
    }
}
