//! [`MemoryRevocationStore`]: the in-process revocation store, on moka.

use std::{
    fmt,
    future::{Ready, ready},
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use moka::{Expiry, ops::compute::Op, sync::Cache};

use super::store::{
    RevocationEntries, RevocationStatus, RevocationStore, RevocationStoreError, TokenRef,
};

/// The in-process [`RevocationStore`]: the default, no server needed (feature
/// `memory-store`).
///
/// Revocations live in [moka](https://docs.rs/moka) caches inside the process, so a check is
/// a few hash look-ups answered at once
/// ([`check_now`](RevocationStore::check_now)): the layer calls the inner service directly,
/// with no allocation, no clone of the inner service and no extra wake-up. Use it for a single instance; several instances
/// need a shared store (the Redis store of `tollgate-redis`), since a revocation written here
/// is only known to this process.
///
/// # Entries and their lifetime
///
/// Revoked `jti`s, ended sessions (`sid`) and subjects (cut-off and permission version, one
/// entry per subject) are kept in three separate caches, so the three kinds of ids can never
/// collide. Each entry expires on its own at its `until` plus the [`leeway`](Self::leeway):
/// after that it can only match tokens the verify layer refuses anyway. There is **no
/// capacity limit and no size-based eviction**: a revocation is never dropped while a token it
/// matches can still be accepted, and memory is bounded by the revocations that are still
/// live: measured at about 430 bytes per revoked `jti` or ended session and 550 per subject,
/// with 36-byte ids (see `docs/revocation.md`, "Sizing").
///
/// Writes merge, they never weaken: a token or session revoked twice is kept until the later
/// `until`; a later cut-off replaces an earlier one, never the reverse; a higher permission
/// version is never replaced by a lower one. A write whose `until` (plus leeway) has passed
/// stores nothing: no valid token could match it. Writes never fail.
///
/// The handle is cheap to clone; clones share the entries.
///
/// # Example
///
/// ```
/// use tollgate::revocation::{MemoryRevocationStore, RevocationStore, RevocationStatus, TokenRef};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tollgate::revocation::RevocationStoreError> {
/// let store = MemoryRevocationStore::new();
/// let now = 1_900_000_000; // seconds since the Unix epoch
///
/// store.revoke_token("token-1", now + 900).await?;
/// assert_eq!(store.check(&TokenRef::new("token-1", now + 900)).await?, RevocationStatus::Revoked);
/// assert_eq!(store.check(&TokenRef::new("token-2", now + 900)).await?, RevocationStatus::Active);
///
/// // Logout everywhere for user 42: tokens issued at or before `now` are refused.
/// store.cut_off("42", now, now + 900).await?;
/// let old = TokenRef::new("token-3", now + 890).subject("42").issued_at(now - 10);
/// let new = TokenRef::new("token-4", now + 901).subject("42").issued_at(now + 1);
/// assert_eq!(store.check(&old).await?, RevocationStatus::CutOff);
/// assert_eq!(store.check(&new).await?, RevocationStatus::Active);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct MemoryRevocationStore {
    caches: Arc<Caches>,
    leeway: u64,
}

/// The three caches, behind one `Arc`: a clone of the store (the layer's service is cloned
/// for every request) is one reference count, not three caches' worth.
struct Caches {
    tokens: Cache<Box<str>, Keep>,
    sessions: Cache<Box<str>, Keep>,
    subjects: Cache<Box<str>, Subject>,
}

/// How long an entry is kept: until this Unix time (seconds), `until` plus the leeway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Keep(i64);

/// What is known about a subject: its cut-off and its permission version, each kept as long
/// as the later of the writes that set them asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Subject {
    cut_off: Option<i64>,
    version: Option<u64>,
    keep: Keep,
}

/// The per-entry expiry: every value knows when it may go.
struct KeepExpiry;

trait Kept {
    fn keep(&self) -> Keep;
}

impl Kept for Keep {
    fn keep(&self) -> Keep {
        *self
    }
}

impl Kept for Subject {
    fn keep(&self) -> Keep {
        self.keep
    }
}

impl<V: Kept> Expiry<Box<str>, V> for KeepExpiry {
    fn expire_after_create(&self, _: &Box<str>, value: &V, _: Instant) -> Option<Duration> {
        Some(remaining(value.keep()))
    }

    fn expire_after_update(
        &self,
        _: &Box<str>,
        value: &V,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(remaining(value.keep()))
    }
}

/// The time left until `keep`, zero when it has passed.
fn remaining(keep: Keep) -> Duration {
    let keep = UNIX_EPOCH + Duration::from_secs(u64::try_from(keep.0).unwrap_or(0));
    keep.duration_since(SystemTime::now()).unwrap_or_default()
}

/// Seconds since the Unix epoch now (zero for a clock before 1970).
fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl MemoryRevocationStore {
    /// The default leeway: entries are kept this long after their `until`.
    pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);

    /// An empty store with the [default leeway](Self::DEFAULT_LEEWAY).
    #[must_use]
    pub fn new() -> Self {
        Self {
            caches: Arc::new(Caches {
                tokens: cache(),
                sessions: cache(),
                subjects: cache(),
            }),
            leeway: Self::DEFAULT_LEEWAY.as_secs(),
        }
    }

    /// Keep every entry this much longer than its `until` (whole seconds; default one
    /// minute).
    ///
    /// Set it to at least the verify layer's leeway: a token is accepted until `exp` plus
    /// that leeway, and its revocation must outlive it. The cost is only that entries stay a
    /// little longer. It applies to the writes made after it is set; set it right after
    /// [`new`](Self::new).
    #[must_use]
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway.as_secs();
        self
    }

    /// How many entries the store holds: revoked tokens, ended sessions and subjects
    /// together.
    ///
    /// Approximate, as moka's counts are: expired entries are counted until moka's
    /// housekeeping removes them (it runs as the store is used, or on
    /// [`run_pending_tasks`](Self::run_pending_tasks)), which can be up to about a second
    /// after they expire (moka's timer wheel). An expired entry is never found by a check.
    #[must_use]
    pub fn entry_count(&self) -> u64 {
        self.caches.tokens.entry_count()
            + self.caches.sessions.entry_count()
            + self.caches.subjects.entry_count()
    }

    /// Run moka's pending housekeeping now: remove the expired entries its timer wheel has
    /// reached and bring [`entry_count`](Self::entry_count) up to date. Never needed for correctness (an
    /// expired entry is never found by a check); useful in tests and before measuring.
    pub fn run_pending_tasks(&self) {
        self.caches.tokens.run_pending_tasks();
        self.caches.sessions.run_pending_tasks();
        self.caches.subjects.run_pending_tasks();
    }

    /// The status of `token`: at most three look-ups, none of which allocates.
    fn status(&self, token: &TokenRef<'_>) -> RevocationStatus {
        let jti_revoked = self.caches.tokens.contains_key(token.jti);
        let session_ended = token
            .sid
            .is_some_and(|sid| self.caches.sessions.contains_key(sid));
        let subject = token.sub.and_then(|sub| self.caches.subjects.get(sub));
        RevocationEntries {
            token_revoked: jti_revoked,
            session_ended,
            cut_off: subject.and_then(|s| s.cut_off),
            current_version: subject.and_then(|s| s.version),
        }
        .status_of(token)
    }

    /// `until` plus the leeway, or `None` when that moment has passed.
    fn keep(&self, until: i64) -> Option<Keep> {
        let leeway = i64::try_from(self.leeway).unwrap_or(i64::MAX);
        let keep = until.saturating_add(leeway);
        (keep > now()).then_some(Keep(keep))
    }

    fn keep_longest(cache: &Cache<Box<str>, Keep>, id: &str, keep: Keep) {
        cache
            .entry(Box::from(id))
            .and_compute_with(|current| match current {
                Some(entry) if entry.value().0 >= keep.0 => Op::Nop,
                _ => Op::Put(keep),
            });
    }

    fn update_subject(&self, sub: &str, keep: Keep, update: impl FnOnce(&mut Subject)) {
        self.caches
            .subjects
            .entry(Box::from(sub))
            .and_compute_with(|current| {
                let mut subject = current.map_or(
                    Subject {
                        cut_off: None,
                        version: None,
                        keep,
                    },
                    |entry| entry.into_value(),
                );
                update(&mut subject);
                subject.keep = Keep(subject.keep.0.max(keep.0));
                Op::Put(subject)
            });
    }
}

fn cache<V: Kept + Clone + Send + Sync + 'static>() -> Cache<Box<str>, V> {
    Cache::builder().expire_after(KeepExpiry).build()
}

impl Default for MemoryRevocationStore {
    fn default() -> Self {
        Self::new()
    }
}

impl RevocationStore for MemoryRevocationStore {
    type CheckFuture = Ready<Result<RevocationStatus, RevocationStoreError>>;

    fn check(&self, token: &TokenRef<'_>) -> Self::CheckFuture {
        ready(Ok(self.status(token)))
    }

    fn check_now(
        &self,
        token: &TokenRef<'_>,
    ) -> Option<Result<RevocationStatus, RevocationStoreError>> {
        Some(Ok(self.status(token)))
    }

    async fn revoke_token(&self, jti: &str, until: i64) -> Result<(), RevocationStoreError> {
        if let Some(keep) = self.keep(until) {
            Self::keep_longest(&self.caches.tokens, jti, keep);
        }
        Ok(())
    }

    async fn end_session(&self, sid: &str, until: i64) -> Result<(), RevocationStoreError> {
        if let Some(keep) = self.keep(until) {
            Self::keep_longest(&self.caches.sessions, sid, keep);
        }
        Ok(())
    }

    async fn cut_off(&self, sub: &str, at: i64, until: i64) -> Result<(), RevocationStoreError> {
        if let Some(keep) = self.keep(until) {
            self.update_subject(sub, keep, |subject| {
                subject.cut_off = Some(subject.cut_off.map_or(at, |current| current.max(at)));
            });
        }
        Ok(())
    }

    async fn set_version(
        &self,
        sub: &str,
        version: u64,
        until: i64,
    ) -> Result<(), RevocationStoreError> {
        if let Some(keep) = self.keep(until) {
            self.update_subject(sub, keep, |subject| {
                subject.version = Some(subject.version.map_or(version, |v| v.max(version)));
            });
        }
        Ok(())
    }
}

impl fmt::Debug for MemoryRevocationStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryRevocationStore")
            .field("tokens", &self.caches.tokens.entry_count())
            .field("sessions", &self.caches.sessions.entry_count())
            .field("subjects", &self.caches.subjects.entry_count())
            .field("leeway", &self.leeway)
            .finish()
    }
}
