//! The [`RevocationStore`] trait: the read side the layer calls, and the write side the
//! application (or `tollgate-session`) calls.

use std::{error::Error as StdError, fmt, future::Future, sync::Arc};

use crate::{
    claims::StandardClaims,
    error::{AuthError, AuthErrorKind},
};

/// What one revocation check found about a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RevocationStatus {
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

/// The revocation entries a store found about one token, and the rule that turns them into
/// its [`RevocationStatus`].
///
/// Every store applies the same rule, kept here in one place: a store looks up the entries
/// that may concern the token (by its `jti`, `sid` and `sub`), fills this in, and calls
/// [`status_of`](Self::status_of). Fields not set stay at their default: nothing found.
///
/// ```
/// use tollgate::revocation::{RevocationEntries, RevocationStatus, TokenRef};
///
/// let token = TokenRef::new("token-1", 1_900_000_900).issued_at(1_900_000_000);
/// let found = RevocationEntries { cut_off: Some(1_900_000_100), ..Default::default() };
/// assert_eq!(found.status_of(&token), RevocationStatus::CutOff);
/// assert_eq!(RevocationEntries::default().status_of(&token), RevocationStatus::Active);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RevocationEntries {
    /// The token's `jti` is revoked.
    pub token_revoked: bool,
    /// The token's session (`sid`) has ended.
    pub session_ended: bool,
    /// The subject's cut-off (seconds since the Unix epoch), if one is recorded.
    pub cut_off: Option<i64>,
    /// The subject's current permission version, if one is recorded.
    pub current_version: Option<u64>,
}

impl RevocationEntries {
    /// The status these entries give `token`: a revoked `jti` first, then an ended session,
    /// then the subject's cut-off (`iat` at or before it, or no `iat` at all), then the
    /// permission version (older than the current one, or absent while the subject has one).
    #[must_use]
    pub fn status_of(&self, token: &TokenRef<'_>) -> RevocationStatus {
        if self.token_revoked {
            return RevocationStatus::Revoked;
        }
        if self.session_ended {
            return RevocationStatus::SessionEnded;
        }
        if self
            .cut_off
            .is_some_and(|cut_off| token.iat.is_none_or(|iat| iat <= cut_off))
        {
            return RevocationStatus::CutOff;
        }
        if self
            .current_version
            .is_some_and(|current| token.ver.is_none_or(|ver| ver < current))
        {
            return RevocationStatus::Stale;
        }
        RevocationStatus::Active
    }
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
/// executor): a store that does I/O bounds every call and answers [`RevocationStoreError::timeout`]
/// past its bound, which the layer's [`FailurePolicy`](super::FailurePolicy) then turns into
/// 503 or a pass. The in-process `MemoryRevocationStore` (feature `memory-store`) never waits;
/// `tollgate-redis` bounds each call (250 ms by default). To bound a store that does not,
/// wrap its futures in `tokio::time::timeout` in a small adapter.
///
/// Handles are cheap to clone (a store is shared by every request).
pub trait RevocationStore: Clone + Send + Sync + 'static {
    /// The future returned by [`check`](RevocationStore::check).
    type CheckFuture: Future<Output = Result<RevocationStatus, RevocationStoreError>>
        + Send
        + 'static;

    /// What the store knows about `token`.
    fn check(&self, token: &TokenRef<'_>) -> Self::CheckFuture;

    /// The answer of [`check`](RevocationStore::check) when the store has it at hand (an
    /// in-process look-up, a local cache hit), or `None` when it needs I/O.
    ///
    /// The layer asks this first. When it answers, the request goes straight to the inner
    /// service: no clone of the inner service, no future to poll. When it returns `None`, the
    /// layer calls [`check`](RevocationStore::check) and waits. The default returns `None`;
    /// a store that overrides it must give the same answer `check` would.
    fn check_now(
        &self,
        token: &TokenRef<'_>,
    ) -> Option<Result<RevocationStatus, RevocationStoreError>> {
        let _ = token;
        None
    }

    /// Revoke the token whose verified `claims` a handler holds, until its `exp`: logout in
    /// one line.
    ///
    /// ```
    /// # #[cfg(feature = "memory-store")]
    /// # {
    /// use tollgate::{AuthError, Claims, StandardClaims};
    /// use tollgate::revocation::{MemoryRevocationStore, RevocationStore};
    ///
    /// // An axum handler (`State(store): State<MemoryRevocationStore>` in a real one).
    /// async fn logout(store: MemoryRevocationStore, claims: Claims<StandardClaims>) -> Result<(), AuthError> {
    ///     store.revoke_claims(&claims).await
    /// }
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`AuthErrorKind::MissingJti`](crate::AuthErrorKind::MissingJti) (401) when the claims
    /// lack a `jti` or an `exp` (a route behind [`RevocationLayer`](crate::RevocationLayer)
    /// never sees such a token), and
    /// [`AuthErrorKind::StoreUnavailable`](crate::AuthErrorKind::StoreUnavailable) (503) when
    /// the store cannot record it. With the `axum` feature, `AuthError` is a response, so a
    /// handler returns it with `?`.
    fn revoke_claims(
        &self,
        claims: &StandardClaims,
    ) -> impl Future<Output = Result<(), AuthError>> + Send {
        let token = claims.jti.as_deref().zip(claims.exp);
        async move {
            let Some((jti, exp)) = token else {
                return Err(AuthErrorKind::MissingJti.into());
            };
            Ok(self.revoke_token(jti, exp).await?)
        }
    }

    /// Revoke the token `jti` until `until` (its `exp`).
    fn revoke_token(
        &self,
        jti: &str,
        until: i64,
    ) -> impl Future<Output = Result<(), RevocationStoreError>> + Send;

    /// End the session `sid`: tokens carrying it are refused until `until` (the expiry of the
    /// session's last token).
    fn end_session(
        &self,
        sid: &str,
        until: i64,
    ) -> impl Future<Output = Result<(), RevocationStoreError>> + Send;

    /// Refuse the tokens of `sub` issued at or before `at`, until `until` (the latest expiry
    /// such a token can have). A later cut-off replaces an earlier one; an earlier one never
    /// replaces a later one.
    fn cut_off(
        &self,
        sub: &str,
        at: i64,
        until: i64,
    ) -> impl Future<Output = Result<(), RevocationStoreError>> + Send;

    /// Record `version` as the current permission version of `sub` until `until`: tokens with
    /// a lower `ver` are stale. A lower version never replaces a higher one.
    fn set_version(
        &self,
        sub: &str,
        version: u64,
        until: i64,
    ) -> impl Future<Output = Result<(), RevocationStoreError>> + Send;
}

/// A revocation store failed to answer or to record.
#[derive(Clone)]
pub struct RevocationStoreError {
    kind: RevocationStoreErrorKind,
    source: Option<Arc<dyn StdError + Send + Sync>>,
}

/// What kind of failure a [`RevocationStoreError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevocationStoreErrorKind {
    /// The store did not answer within its timeout.
    Timeout,
    /// The store could not be reached or answered with an error.
    Unavailable,
    /// The store answered with data it could not understand.
    Corrupt,
}

impl RevocationStoreError {
    /// A store error of `kind`, caused by `source`.
    pub fn new(
        kind: RevocationStoreErrorKind,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self {
            kind,
            source: Some(Arc::from(source.into())),
        }
    }

    /// A timeout.
    #[must_use]
    pub fn timeout() -> Self {
        Self {
            kind: RevocationStoreErrorKind::Timeout,
            source: None,
        }
    }

    /// What kind of failure this is.
    #[must_use]
    pub fn kind(&self) -> RevocationStoreErrorKind {
        self.kind
    }
}

/// A store failure as a rejection: [`AuthErrorKind::StoreUnavailable`], answered 503 with
/// `Retry-After`, the store's error kept as the source (for logs, never in the body). Lets a
/// handler returning `Result<_, AuthError>` write revocations with `?`.
impl From<RevocationStoreError> for AuthError {
    fn from(error: RevocationStoreError) -> Self {
        AuthError::new(AuthErrorKind::StoreUnavailable).with_source(error)
    }
}

impl fmt::Debug for RevocationStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationStoreError")
            .field("kind", &self.kind)
            .field("source", &self.source.as_ref().map(ToString::to_string))
            .finish()
    }
}

impl fmt::Display for RevocationStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            RevocationStoreErrorKind::Timeout => f.write_str("revocation store timed out"),
            RevocationStoreErrorKind::Unavailable => f.write_str("revocation store unavailable"),
            RevocationStoreErrorKind::Corrupt => {
                f.write_str("revocation store returned unreadable data")
            }
        }?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl StdError for RevocationStoreError {
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
    fn entries_apply_the_rules_in_order() {
        let token = TokenRef {
            iat: Some(100),
            ver: Some(2),
            ..TokenRef::new("j", 200)
        };
        let all = RevocationEntries {
            token_revoked: true,
            session_ended: true,
            cut_off: Some(500),
            current_version: Some(9),
        };
        let status = |entries: RevocationEntries| entries.status_of(&token);
        assert_eq!(
            status(RevocationEntries::default()),
            RevocationStatus::Active
        );
        assert_eq!(status(all), RevocationStatus::Revoked);
        let ended = RevocationEntries {
            token_revoked: false,
            ..all
        };
        assert_eq!(status(ended), RevocationStatus::SessionEnded);
        let cut = |at| RevocationEntries {
            cut_off: Some(at),
            ..Default::default()
        };
        assert_eq!(status(cut(100)), RevocationStatus::CutOff);
        assert_eq!(status(cut(99)), RevocationStatus::Active);
        let version = |current| RevocationEntries {
            current_version: Some(current),
            ..Default::default()
        };
        assert_eq!(status(version(3)), RevocationStatus::Stale);
        assert_eq!(status(version(2)), RevocationStatus::Active);
        let bare = TokenRef::new("j", 200);
        assert_eq!(cut(1).status_of(&bare), RevocationStatus::CutOff);
        assert_eq!(version(1).status_of(&bare), RevocationStatus::Stale);
    }
}
