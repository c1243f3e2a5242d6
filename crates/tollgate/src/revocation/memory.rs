//! [`MemoryRevocationStore`]: the in-process revocation store.

mod table;

use std::{
    fmt,
    future::{Ready, ready},
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use self::table::{Digester, Table, Value};
use super::store::{
    RevocationEntries, RevocationStatus, RevocationStore, RevocationStoreError, TokenRef,
};

/// The in-process [`RevocationStore`]: the default, no server needed (feature
/// `memory-store`).
///
/// Revocations live in hash tables inside the process, so a check is a few look-ups answered
/// at once ([`check_now`](RevocationStore::check_now)): the layer calls the inner service
/// directly, with no allocation, no clone of the inner service and no extra wake-up. Use it
/// for a single instance; several instances need a shared store (the Redis store of
/// `tollgate-redis`), since a revocation written here is only known to this process.
///
/// # Entries and their lifetime
///
/// Revoked `jti`s, ended sessions (`sid`) and subjects (cut-off and permission version, one
/// entry per subject) are kept in three separate tables, so the three kinds of ids can never
/// collide. An entry is kept until its `until` plus the [`leeway`](Self::leeway): after that
/// it can only match tokens the verify layer refuses anyway, no check finds it, and its memory
/// is reclaimed by the writes that follow (below). There is **no capacity limit and no
/// size-based eviction**: a revocation is never dropped while a token it matches can still be
/// accepted, and memory is bounded by the revocations that are still live: measured at about
/// 55 bytes per revoked `jti` at a million entries (see `docs/revocation.md`, "Sizing").
///
/// # Ids are kept as digests
///
/// The tables keep a 128-bit digest of each id (SipHash-1-3 with a 128-bit output, under a
/// key drawn at random for each store), not the id: a revoked `jti` costs the same whatever
/// its length. The answers are exact for every revoked id: its digest is stored, so a token
/// whose `jti` is revoked (and whose entry has not expired) is always refused, and likewise
/// for sessions and subjects. The only error a digest can bring is the other way round: an id
/// that was never revoked but shares the digest of one that was is refused too. With `n` live
/// entries of a kind, the chance of that for one check is about `n / 2^128` (a million
/// entries: about 3 in 10^33), and as the key is secret and differs between stores, no one
/// outside the process can choose ids that collide. A collision only ever refuses (a
/// subject's cut-off or version refuses more tokens, never fewer), and ends with the entry.
///
/// # Expiry and memory
///
/// There is no background thread. A check compares an entry's time with the clock, so an
/// expired entry is never found. Its memory is reclaimed by a sweep of its shard (the tables
/// are split in at least 64 shards by digest), run by a write to that shard once something in
/// it may have expired and the shard has taken a quarter of its size in new entries since its
/// last sweep: each write pays for a bounded share of the sweeps, and under any steady rate of
/// writes a shard holds at most about a third more entries than were live at its last sweep.
/// A sweep gives memory back when most of the shard's room is unused.
/// [`remove_expired`](Self::remove_expired) sweeps every shard at once, for an application
/// that stops writing after a burst and wants the memory back.
///
/// Writes merge, they never weaken: a token or session revoked twice is kept until the later
/// `until`; a later cut-off replaces an earlier one, never the reverse; a higher permission
/// version is never replaced by a lower one. A write whose `until` (plus leeway) has passed
/// stores nothing: no valid token could match it. Writes never fail.
///
/// The handle is cheap to clone (one reference count); clones share the entries. Checks from
/// many threads run side by side: each takes the read lock of one shard per table.
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
    tables: Arc<Tables>,
    leeway: u64,
}

/// The three tables and their digester, behind one `Arc`: a clone of the store (the layer's
/// service is cloned for every request) is one reference count.
struct Tables {
    digester: Digester,
    tokens: Table<Keep>,
    sessions: Table<Keep>,
    subjects: Table<Subject>,
}

/// How long an entry is kept: until this Unix time (seconds), `until` plus the leeway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Keep(i64);

impl Value for Keep {
    fn keep(&self) -> i64 {
        self.0
    }

    fn merge(&mut self, write: Self) {
        self.0 = self.0.max(write.0);
    }
}

/// What is known about a subject: its cut-off and its permission version, kept as long as the
/// later of the writes that set them asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Subject {
    cut_off: Option<i64>,
    version: Option<u64>,
    keep: Keep,
}

impl Value for Subject {
    fn keep(&self) -> i64 {
        self.keep.0
    }

    fn merge(&mut self, write: Self) {
        // `None` orders before any `Some`: what one write set, the other cannot unset.
        self.cut_off = self.cut_off.max(write.cut_off);
        self.version = self.version.max(write.version);
        self.keep.merge(write.keep);
    }
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

    /// An empty store with the [default leeway](Self::DEFAULT_LEEWAY) and a fresh random key
    /// for its digests.
    #[must_use]
    pub fn new() -> Self {
        Self {
            tables: Arc::new(Tables {
                digester: Digester::random(),
                tokens: Table::new(),
                sessions: Table::new(),
                subjects: Table::new(),
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
    /// Exact, and it counts the expired entries no sweep has removed yet (see "Expiry and
    /// memory" above; [`remove_expired`](Self::remove_expired) removes them all). An expired
    /// entry is never found by a check.
    #[must_use]
    pub fn entry_count(&self) -> u64 {
        let tables = &self.tables;
        let entries = tables.tokens.len() + tables.sessions.len() + tables.subjects.len();
        u64::try_from(entries).unwrap_or(u64::MAX)
    }

    /// Remove every expired entry now, in every shard, and give back the memory the tables
    /// no longer need. Never needed for correctness (an expired entry is never found by a
    /// check) nor to bound memory under a steady rate of writes (the writes sweep); useful
    /// after a burst of writes is over, in tests and before measuring.
    pub fn remove_expired(&self) {
        let now = now();
        self.tables.tokens.remove_expired(now);
        self.tables.sessions.remove_expired(now);
        self.tables.subjects.remove_expired(now);
    }

    /// The status of `token`: up to three look-ups, none of which allocates, and one clock
    /// read only when an entry is found.
    fn status(&self, token: &TokenRef<'_>) -> RevocationStatus {
        let tables = &*self.tables;
        let digest = |id| tables.digester.digest(id);
        let mut clock = None;
        let mut live = |keep: i64| keep > *clock.get_or_insert_with(now);
        // A revoked `jti` decides alone (`status_of` puts it first).
        if tables
            .tokens
            .get(digest(token.jti))
            .is_some_and(|keep| live(keep.0))
        {
            return RevocationStatus::Revoked;
        }
        let session_ended = token.sid.is_some_and(|sid| {
            tables
                .sessions
                .get(digest(sid))
                .is_some_and(|keep| live(keep.0))
        });
        let subject = token
            .sub
            .and_then(|sub| tables.subjects.get(digest(sub)))
            .filter(|subject| live(subject.keep.0));
        RevocationEntries {
            token_revoked: false,
            session_ended,
            cut_off: subject.and_then(|s| s.cut_off),
            current_version: subject.and_then(|s| s.version),
        }
        .status_of(token)
    }

    /// `until` plus the leeway, and the time now, or `None` when that moment has passed.
    fn keep(&self, until: i64) -> Option<(Keep, i64)> {
        let leeway = i64::try_from(self.leeway).unwrap_or(i64::MAX);
        let keep = until.saturating_add(leeway);
        let now = now();
        (keep > now).then_some((Keep(keep), now))
    }

    fn write_subject(&self, sub: &str, until: i64, subject: impl FnOnce(Keep) -> Subject) {
        if let Some((keep, now)) = self.keep(until) {
            let digest = self.tables.digester.digest(sub);
            self.tables.subjects.insert(digest, subject(keep), now);
        }
    }
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
        if let Some((keep, now)) = self.keep(until) {
            let digest = self.tables.digester.digest(jti);
            self.tables.tokens.insert(digest, keep, now);
        }
        Ok(())
    }

    async fn end_session(&self, sid: &str, until: i64) -> Result<(), RevocationStoreError> {
        if let Some((keep, now)) = self.keep(until) {
            let digest = self.tables.digester.digest(sid);
            self.tables.sessions.insert(digest, keep, now);
        }
        Ok(())
    }

    async fn cut_off(&self, sub: &str, at: i64, until: i64) -> Result<(), RevocationStoreError> {
        self.write_subject(sub, until, |keep| Subject {
            cut_off: Some(at),
            version: None,
            keep,
        });
        Ok(())
    }

    async fn set_version(
        &self,
        sub: &str,
        version: u64,
        until: i64,
    ) -> Result<(), RevocationStoreError> {
        self.write_subject(sub, until, |keep| Subject {
            cut_off: None,
            version: Some(version),
            keep,
        });
        Ok(())
    }
}

impl fmt::Debug for MemoryRevocationStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryRevocationStore")
            .field("tokens", &self.tables.tokens.len())
            .field("sessions", &self.tables.sessions.len())
            .field("subjects", &self.tables.subjects.len())
            .field("leeway", &self.leeway)
            .finish_non_exhaustive()
    }
}
