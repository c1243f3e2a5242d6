//! The [`RevocationStore`] trait: the read side the layer calls, and the write side the
//! application (or `tollgate-session`) calls.

use std::{error::Error as StdError, fmt, future::Future, sync::Arc};

use crate::StandardClaims;

/// What one revocation check found about a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// Nothing revokes the token.
    Active,
    /// Its `jti` is revoked.
    Revoked,
    /// Its session (`sid`) has ended.
    SessionEnded,
    /// It was issued (`iat`) at or before its subject's cut-off.
    CutOff,
    /// Its permission version (`ver`) is older than the subject's current one.
    Stale,
}

/// The facts about a token a revocation check needs, borrowed from its claims.
///
/// Built by the layer from [`StandardClaims`]; `jti` and `exp` are always present (the layer
/// refuses tokens without them before it asks the store).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenRef<'a> {
    /// The token id.
    pub jti: &'a str,
    /// The expiry, seconds since the Unix epoch.
    pub exp: i64,
    /// The subject, if any.
    pub sub: Option<&'a str>,
    /// The session id, if any.
    pub sid: Option<&'a str>,
    /// The issue time, seconds since the Unix epoch, if any.
    pub iat: Option<i64>,
    /// The permission version, if any.
    pub ver: Option<u64>,
}

impl<'a> TokenRef<'a> {
    /// The facts of `claims`, or `None` when it lacks a `jti` or an `exp`.
    #[must_use]
    pub fn from_claims(claims: &'a StandardClaims) -> Option<Self> {
        Some(Self {
            jti: claims.jti.as_deref()?,
            exp: claims.exp?,
            sub: claims.sub.as_deref(),
            sid: claims.sid.as_deref(),
            iat: claims.iat,
            ver: claims.ver,
        })
    }

    /// A token reference with only the required facts; add the others with
    /// [`subject`](Self::subject), [`session`](Self::session), [`issued_at`](Self::issued_at)
    /// and [`version`](Self::version) (or by assigning the public fields).
    ///
    /// ```
    /// use tollgate::revocation::TokenRef;
    ///
    /// let token = TokenRef::new("token-1", 1_900_000_900)
    ///     .subject("42")
    ///     .issued_at(1_900_000_000);
    /// assert_eq!(token.sub, Some("42"));
    /// assert_eq!(token.sid, None);
    /// ```
    #[must_use]
    pub fn new(jti: &'a str, exp: i64) -> Self {
        Self {
            jti,
            exp,
            sub: None,
            sid: None,
            iat: None,
            ver: None,
        }
    }

    /// Set the subject (`sub`).
    #[must_use]
    pub fn subject(mut self, sub: &'a str) -> Self {
        self.sub = Some(sub);
        self
    }

    /// Set the session id (`sid`).
    #[must_use]
    pub fn session(mut self, sid: &'a str) -> Self {
        self.sid = Some(sid);
        self
    }

    /// Set the issue time (`iat`), seconds since the Unix epoch.
    #[must_use]
    pub fn issued_at(mut self, iat: i64) -> Self {
        self.iat = Some(iat);
        self
    }

    /// Set the permission version (`ver`).
    #[must_use]
    pub fn version(mut self, ver: u64) -> Self {
        self.ver = Some(ver);
        self
    }
}

/// Decide a token's [`Status`] from the four entries that may concern it.
///
/// The rule every store applies, kept in one place: a revoked `jti` first, then an ended
/// session, then the subject's cut-off (`iat` at or before it, or no `iat` at all), then the
/// permission version (older than the current one, or absent while the subject has one).
#[must_use]
pub fn decide(
    token: &TokenRef<'_>,
    jti_revoked: bool,
    session_ended: bool,
    cut_off: Option<i64>,
    current_version: Option<u64>,
) -> Status {
    if jti_revoked {
        return Status::Revoked;
    }
    if session_ended {
        return Status::SessionEnded;
    }
    if cut_off.is_some_and(|cut_off| token.iat.is_none_or(|iat| iat <= cut_off)) {
        return Status::CutOff;
    }
    if current_version.is_some_and(|current| token.ver.is_none_or(|ver| ver < current)) {
        return Status::Stale;
    }
    Status::Active
}

/// A store of revocations.
///
/// The read side, [`check`](RevocationStore::check), answers all four questions about a token
/// in one call (one round trip for a remote store). The write side records revocations; every
/// entry carries the time after which it can no longer match a valid token (`until`, seconds
/// since the Unix epoch), and the store drops it then, so storage stays bounded by what is
/// live. A write that cannot be stored returns an error: it is never dropped silently.
///
/// **Timeouts are the store's.** The layer waits for [`check`](RevocationStore::check) as
/// long as it takes, and the core crate carries no timer of its own (it runs on any
/// executor): a store that does I/O bounds every call and answers [`StoreError::timeout`]
/// past its bound, which the layer's [`FailurePolicy`](super::FailurePolicy) then turns into
/// 503 or a pass. The in-process [`MemoryStore`](super::MemoryStore) never waits;
/// `tollgate-redis` bounds each call (250 ms by default). To bound a store that does not,
/// wrap its futures in `tokio::time::timeout` in a small adapter.
///
/// Handles are cheap to clone (a store is shared by every request).
pub trait RevocationStore: Clone + Send + Sync + 'static {
    /// The future returned by [`check`](RevocationStore::check).
    type CheckFuture: Future<Output = Result<Status, StoreError>> + Send + 'static;

    /// What the store knows about `token`.
    fn check(&self, token: &TokenRef<'_>) -> Self::CheckFuture;

    /// The answer of [`check`](RevocationStore::check) when the store has it at hand (an
    /// in-process look-up, a local cache hit), or `None` when it needs I/O.
    ///
    /// The layer asks this first. When it answers, the request goes straight to the inner
    /// service: no clone of the inner service, no future to poll. When it returns `None`, the
    /// layer calls [`check`](RevocationStore::check) and waits. The default returns `None`;
    /// a store that overrides it must give the same answer `check` would.
    fn check_now(&self, token: &TokenRef<'_>) -> Option<Result<Status, StoreError>> {
        let _ = token;
        None
    }

    /// Revoke the token `jti` until `until` (its `exp`).
    fn revoke_token(
        &self,
        jti: &str,
        until: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// End the session `sid`: tokens carrying it are refused until `until` (the expiry of the
    /// session's last token).
    fn end_session(
        &self,
        sid: &str,
        until: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Refuse the tokens of `sub` issued at or before `at`, until `until` (the latest expiry
    /// such a token can have). A later cut-off replaces an earlier one; an earlier one never
    /// replaces a later one.
    fn cut_off(
        &self,
        sub: &str,
        at: i64,
        until: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Record `version` as the current permission version of `sub` until `until`: tokens with
    /// a lower `ver` are stale. A lower version never replaces a higher one.
    fn set_version(
        &self,
        sub: &str,
        version: u64,
        until: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A revocation store failed to answer or to record.
#[derive(Clone)]
pub struct StoreError {
    kind: StoreErrorKind,
    source: Option<Arc<dyn StdError + Send + Sync>>,
}

/// What kind of failure a [`StoreError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The store did not answer within its timeout.
    Timeout,
    /// The store could not be reached or answered with an error.
    Unavailable,
    /// The store answered with data it could not understand.
    Corrupt,
}

impl StoreError {
    /// A store error of `kind`, caused by `source`.
    pub fn new(kind: StoreErrorKind, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self {
            kind,
            source: Some(Arc::from(source.into())),
        }
    }

    /// A timeout.
    #[must_use]
    pub fn timeout() -> Self {
        Self {
            kind: StoreErrorKind::Timeout,
            source: None,
        }
    }

    /// What kind of failure this is.
    #[must_use]
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }
}

impl fmt::Debug for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreError")
            .field("kind", &self.kind)
            .field("source", &self.source.as_ref().map(ToString::to_string))
            .finish()
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            StoreErrorKind::Timeout => f.write_str("revocation store timed out"),
            StoreErrorKind::Unavailable => f.write_str("revocation store unavailable"),
            StoreErrorKind::Corrupt => f.write_str("revocation store returned unreadable data"),
        }?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl StdError for StoreError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decide_applies_the_rules_in_order() {
        let token = TokenRef {
            iat: Some(100),
            ver: Some(2),
            ..TokenRef::new("j", 200)
        };
        assert_eq!(decide(&token, false, false, None, None), Status::Active);
        assert_eq!(
            decide(&token, true, true, Some(500), Some(9)),
            Status::Revoked
        );
        assert_eq!(
            decide(&token, false, true, Some(500), Some(9)),
            Status::SessionEnded
        );
        assert_eq!(
            decide(&token, false, false, Some(100), None),
            Status::CutOff
        );
        assert_eq!(decide(&token, false, false, Some(99), None), Status::Active);
        assert_eq!(decide(&token, false, false, None, Some(3)), Status::Stale);
        assert_eq!(decide(&token, false, false, None, Some(2)), Status::Active);
        let bare = TokenRef::new("j", 200);
        assert_eq!(decide(&bare, false, false, Some(1), None), Status::CutOff);
        assert_eq!(decide(&bare, false, false, None, Some(1)), Status::Stale);
    }
}
