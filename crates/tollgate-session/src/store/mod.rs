//! Session stores: the [`SessionStore`] trait, the in-memory store and, with the `sqlite` and
//! `postgres` features, the SQL stores. The Redis store is in `tollgate-redis` (feature
//! `session`).

mod memory;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;

pub use memory::MemorySessionStore;
#[cfg(feature = "postgres")]
pub use sql::PostgresSessionStore;
#[cfg(feature = "sqlite")]
pub use sql::SqliteSessionStore;

use std::{error::Error as StdError, fmt, future::Future, sync::Arc};

use crate::session::Session;

/// Where sessions live.
///
/// Handles are cheap to clone (a store is shared by every request). Times are seconds since
/// the Unix epoch and always passed in by the caller, so that every instance and every store
/// applies one clock: the [`SessionManager`](crate::SessionManager)'s.
///
/// # Contract
///
/// - [`rotate`](SessionStore::rotate) is one atomic step; see [`RotateOutcome`] for what it
///   answers in which case.
/// - An ended session stays readable through [`get`](SessionStore::get) (with
///   `active: false`) until [`purge`](SessionStore::purge) removes it.
/// - [`list`](SessionStore::list) returns only live sessions (see [`Session::is_live`]),
///   oldest first (by `created_at`, then `id`).
///
/// The behaviour suite in `suite` (feature `test-suite`) checks all of this.
///
/// The one step that must be atomic is [`SessionStore::rotate`]: it checks that the presented
/// refresh token is the session's current one and records its successor in one step, so that
/// of many concurrent refreshes of one token exactly one wins. Every store passes the same
/// behaviour suite (module `suite`, feature `test-suite`).
///
/// ```
/// use tollgate_session::{MemorySessionStore, Session, SessionStore, Rotation, RotateOutcome};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tollgate_session::SessionStoreError> {
/// let store = MemorySessionStore::new();
/// store.create(&Session {
///     id: "s1".into(), subject: "42".into(), device_info: None, ip_address: None,
///     user_agent: None, created_at: 1_000, last_activity: 1_000, expires_at: 9_000,
///     idle_expires_at: None, refresh_jti: "r1".into(), active: true,
/// }).await?;
///
/// // The current token is spent once...
/// let outcome = store.rotate(&Rotation::new("s1", "r1", "r2", 1_100)).await?;
/// assert!(matches!(outcome, RotateOutcome::Rotated(_)));
/// // ...and presenting it again ends the session.
/// let outcome = store.rotate(&Rotation::new("s1", "r1", "r3", 1_200)).await?;
/// assert!(matches!(outcome, RotateOutcome::Reused(_)));
/// assert!(!store.get("s1").await?.expect("ended sessions are kept").active);
/// # Ok(())
/// # }
/// ```
pub trait SessionStore: Clone + Send + Sync + 'static {
    /// Store a new session.
    ///
    /// # Errors
    ///
    /// [`SessionStoreErrorKind::Conflict`] when a session with the same id exists, or the store's
    /// failure.
    fn create(
        &self,
        session: &Session,
    ) -> impl Future<Output = Result<(), SessionStoreError>> + Send;

    /// The session `id`, live or ended, until it is purged.
    ///
    /// # Errors
    ///
    /// The store's failure.
    fn get(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<Session>, SessionStoreError>> + Send;

    /// Spend the presented refresh token and record its successor, atomically.
    ///
    /// # Errors
    ///
    /// The store's failure. The outcome of a rotation (reuse, expiry, ...) is not an error.
    fn rotate(
        &self,
        rotation: &Rotation<'_>,
    ) -> impl Future<Output = Result<RotateOutcome, SessionStoreError>> + Send;

    /// The live sessions of `subject` at `now`, oldest first.
    ///
    /// # Errors
    ///
    /// The store's failure.
    fn list(
        &self,
        subject: &str,
        now: i64,
    ) -> impl Future<Output = Result<Vec<Session>, SessionStoreError>> + Send;

    /// End the session `id`. Returns the session as it was if it was active, `None` if it is
    /// unknown or already ended.
    ///
    /// # Errors
    ///
    /// The store's failure.
    fn end(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<Session>, SessionStoreError>> + Send;

    /// End every active session of `subject`. Returns the sessions that were active, as they
    /// were.
    ///
    /// # Errors
    ///
    /// The store's failure.
    fn end_all(
        &self,
        subject: &str,
    ) -> impl Future<Output = Result<Vec<Session>, SessionStoreError>> + Send;

    /// Remove the sessions that can no longer be refreshed at `now`: ended ones, and those at
    /// or past their expiry or idle deadline. Returns how many were removed.
    ///
    /// # Errors
    ///
    /// The store's failure.
    fn purge(&self, now: i64) -> impl Future<Output = Result<u64, SessionStoreError>> + Send;
}

/// One refresh, as asked of [`SessionStore::rotate`].
///
/// ```
/// use tollgate_session::Rotation;
///
/// let rotation = Rotation::new("sid", "spent-jti", "next-jti", 1_000)
///     .idle_expires_at(Some(1_900))
///     .grace(1_010, r#"{"stored":"pair"}"#);
/// assert_eq!(rotation.presented_jti, "spent-jti");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rotation<'a> {
    /// The session id (the refresh token's `sid`).
    pub session_id: &'a str,
    /// The `jti` of the presented refresh token.
    pub presented_jti: &'a str,
    /// The `jti` of the refresh token issued in exchange.
    pub new_jti: &'a str,
    /// The current time.
    pub now: i64,
    /// The new idle deadline, or `None` without an idle timeout.
    pub idle_expires_at: Option<i64>,
    /// Until when (inclusive) a retry with the presented token gets the same answer, and that
    /// answer (opaque to the store); `None` when the grace interval is off.
    pub grace: Option<(i64, &'a str)>,
}

impl<'a> Rotation<'a> {
    /// A rotation without an idle deadline and without a grace interval.
    #[must_use]
    pub fn new(session_id: &'a str, presented_jti: &'a str, new_jti: &'a str, now: i64) -> Self {
        Self {
            session_id,
            presented_jti,
            new_jti,
            now,
            idle_expires_at: None,
            grace: None,
        }
    }

    /// Set the new idle deadline.
    #[must_use]
    pub fn idle_expires_at(mut self, idle_expires_at: Option<i64>) -> Self {
        self.idle_expires_at = idle_expires_at;
        self
    }

    /// Keep `answer` until `until` (inclusive) for retries with the presented token.
    #[must_use]
    pub fn grace(mut self, until: i64, answer: &'a str) -> Self {
        self.grace = Some((until, answer));
        self
    }
}

/// What [`SessionStore::rotate`] did, decided atomically.
///
/// The checks run in this order: the session exists ([`NotFound`](Self::NotFound)), is active
/// ([`Ended`](Self::Ended)), is before its expiry ([`Expired`](Self::Expired)) and its idle
/// deadline ([`Idle`](Self::Idle)); then the presented `jti` is compared: the current one is
/// spent ([`Rotated`](Self::Rotated)); the one spent last, within its grace interval, gets the
/// kept answer ([`Retried`](Self::Retried)); any other one is a reuse, which ends the session
/// in the same step ([`Reused`](Self::Reused)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RotateOutcome {
    /// The presented token was current; the new one is recorded. Holds the session after the
    /// rotation.
    Rotated(Session),
    /// The presented token is the one spent last, within its grace interval: holds the answer
    /// kept then. Nothing changed.
    Retried(String),
    /// The presented token was already spent: the session is now ended. Holds the session as
    /// it was before ending it.
    Reused(Session),
    /// No such session (never created, or purged).
    NotFound,
    /// The session has been ended.
    Ended,
    /// The session is at or past its absolute expiry.
    Expired,
    /// The session is at or past its idle deadline.
    Idle,
}

/// A session store failed.
#[derive(Clone)]
pub struct SessionStoreError {
    kind: SessionStoreErrorKind,
    source: Option<Arc<dyn StdError + Send + Sync>>,
}

/// What kind of failure a [`SessionStoreError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionStoreErrorKind {
    /// The store could not be reached, timed out, or answered with an error.
    Unavailable,
    /// The store answered with data it could not understand.
    Corrupt,
    /// A session with the same id already exists.
    Conflict,
}

impl SessionStoreError {
    /// A store error of `kind`, caused by `source`.
    pub fn new(
        kind: SessionStoreErrorKind,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self {
            kind,
            source: Some(Arc::from(source.into())),
        }
    }

    /// A store error of `kind` without a cause.
    #[must_use]
    pub fn from_kind(kind: SessionStoreErrorKind) -> Self {
        Self { kind, source: None }
    }

    /// What kind of failure this is.
    #[must_use]
    pub fn kind(&self) -> SessionStoreErrorKind {
        self.kind
    }
}

impl fmt::Debug for SessionStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionStoreError")
            .field("kind", &self.kind)
            .field("source", &self.source.as_ref().map(ToString::to_string))
            .finish()
    }
}

impl fmt::Display for SessionStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            SessionStoreErrorKind::Unavailable => f.write_str("session store unavailable"),
            SessionStoreErrorKind::Corrupt => f.write_str("session store returned unreadable data"),
            SessionStoreErrorKind::Conflict => f.write_str("a session with this id already exists"),
        }?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl StdError for SessionStoreError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn StdError + 'static))
    }
}

/// The answer kept for retries within the grace interval: the `jti` spent last, until when
/// the answer is kept (inclusive), and the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Kept {
    pub(crate) spent_jti: String,
    pub(crate) until: i64,
    pub(crate) answer: String,
}

/// Decide a rotation against a session read under the store's lock (or inside its
/// transaction). Only the SQL stores' classification and the memory store use it; the Redis
/// script applies the same rule.
pub(crate) fn decide(
    session: Option<&Session>,
    kept: Option<&Kept>,
    rotation: &Rotation<'_>,
) -> Decision {
    let Some(session) = session else {
        return Decision::Outcome(RotateOutcome::NotFound);
    };
    if !session.active {
        return Decision::Outcome(RotateOutcome::Ended);
    }
    if session.expires_at <= rotation.now {
        return Decision::Outcome(RotateOutcome::Expired);
    }
    if session
        .idle_expires_at
        .is_some_and(|idle| idle <= rotation.now)
    {
        return Decision::Outcome(RotateOutcome::Idle);
    }
    if session.refresh_jti == rotation.presented_jti {
        let mut next = session.clone();
        next.refresh_jti = rotation.new_jti.to_owned();
        next.last_activity = rotation.now;
        next.idle_expires_at = rotation.idle_expires_at;
        return Decision::Rotate(next);
    }
    if let Some(kept) = kept
        && kept.spent_jti == rotation.presented_jti
        && rotation.now <= kept.until
    {
        return Decision::Outcome(RotateOutcome::Retried(kept.answer.clone()));
    }
    Decision::Reuse
}

/// See [`decide`].
#[derive(Debug)]
pub(crate) enum Decision {
    /// Nothing changes; answer this.
    Outcome(RotateOutcome),
    /// Store this session (the rotated one) and the rotation's grace answer.
    Rotate(Session),
    /// End the session and answer [`RotateOutcome::Reused`].
    Reuse,
}
