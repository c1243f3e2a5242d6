//! [`SessionError`]: why a login, refresh or session operation failed.

use std::{error::Error as StdError, fmt, sync::Arc};

use tollgate::{AuthError, AuthErrorKind};

use crate::{
    issuer::{IssueError, IssueErrorKind},
    source::ClaimsError,
    store::SessionStoreError,
};

/// Why a [`SessionManager`](crate::SessionManager) operation failed.
///
/// Opaque: ask [`kind`](SessionError::kind). It never holds a token, so it is safe to log.
/// [`to_auth_error`](SessionError::to_auth_error) turns it into tollgate's rejection, to answer
/// with the same problem responses as the layers.
#[derive(Clone)]
pub struct SessionError {
    kind: SessionErrorKind,
    auth: Option<AuthError>,
    source: Option<Arc<dyn StdError + Send + Sync>>,
}

/// What failed, as returned by [`SessionError::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SessionErrorKind {
    /// The presented token did not verify (signature, `typ`, `token_type`, expiry, issuer,
    /// audience, ...): see [`SessionError::auth_error`].
    InvalidToken,
    /// The token's session does not exist (never created, or purged).
    NotFound,
    /// The session has been ended (logout, ended from another device, refused subject).
    Ended,
    /// The session is past its absolute lifetime.
    Expired,
    /// The session was idle longer than the idle timeout.
    Idle,
    /// A spent refresh token was presented again: the session is now ended.
    Reused,
    /// The revocation store refuses the token (its `jti` or session is revoked, or its subject
    /// is cut off).
    Revoked,
    /// The [`ClaimsSource`](crate::ClaimsSource) refused the subject: the session is
    /// now ended.
    Refused,
    /// A store, or the claims source, could not answer: retry later.
    Unavailable,
    /// Minting the tokens failed (claims that are not an object, a signing failure).
    Issue,
}

impl SessionErrorKind {
    /// A stable snake-case code, for logs and problem bodies.
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Self::InvalidToken => "invalid_token",
            Self::NotFound => "session_not_found",
            Self::Ended => "session_ended",
            Self::Expired => "session_expired",
            Self::Idle => "session_idle",
            Self::Reused => "refresh_token_reused",
            Self::Revoked => "token_revoked",
            Self::Refused => "subject_refused",
            Self::Unavailable => "session_store_unavailable",
            Self::Issue => "token_issue_failed",
        }
    }

    /// A short human description, never containing the token.
    #[must_use]
    pub const fn description(self) -> &'static str {
        match self {
            Self::InvalidToken => "the token is invalid",
            Self::NotFound => "the session does not exist",
            Self::Ended => "the session has ended",
            Self::Expired => "the session has expired",
            Self::Idle => "the session was idle for too long",
            Self::Reused => "the refresh token was already used: the session has been ended",
            Self::Revoked => "the token has been revoked",
            Self::Refused => "the subject may not have tokens",
            Self::Unavailable => "the session store is unavailable",
            Self::Issue => "the tokens could not be issued",
        }
    }

    /// The HTTP status to answer with: 401 for anything about the token or session, 503 when
    /// a store is unavailable, 500 when minting failed.
    #[must_use]
    pub const fn status_code(self) -> u16 {
        match self {
            Self::Unavailable => 503,
            Self::Issue => 500,
            _ => 401,
        }
    }
}

impl fmt::Display for SessionErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

impl SessionError {
    pub(crate) fn new(kind: SessionErrorKind) -> Self {
        Self {
            kind,
            auth: None,
            source: None,
        }
    }

    pub(crate) fn with_source(
        mut self,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        self.source = Some(Arc::from(source.into()));
        self
    }

    pub(crate) fn invalid_token(error: AuthError) -> Self {
        // A key source that cannot answer is not the client's fault.
        let kind = if error.kind() == AuthErrorKind::KeySourceUnavailable {
            SessionErrorKind::Unavailable
        } else {
            SessionErrorKind::InvalidToken
        };
        Self {
            kind,
            auth: Some(error),
            source: None,
        }
    }

    /// What failed.
    #[must_use]
    pub fn kind(&self) -> SessionErrorKind {
        self.kind
    }

    /// The HTTP status to answer with: 401 for anything about the token or session, 503 when
    /// a store is unavailable, 500 when minting failed.
    #[must_use]
    pub fn status_code(&self) -> u16 {
        self.kind.status_code()
    }

    /// The verification failure, for [`SessionErrorKind::InvalidToken`].
    #[must_use]
    pub fn auth_error(&self) -> Option<&AuthError> {
        self.auth.as_ref()
    }

    /// The tollgate rejection that describes this failure, to render it with a
    /// [`Responder`](tollgate::response::Responder) like the layers' rejections.
    ///
    /// A verification failure keeps its own kind; an ended, reused, refused, unknown or
    /// revoked session is [`AuthErrorKind::SessionEnded`] or [`AuthErrorKind::Revoked`]; an expired or
    /// idle one [`AuthErrorKind::Expired`]; an unavailable store [`AuthErrorKind::StoreUnavailable`].
    /// A minting failure has no rejection kind of its own and maps to
    /// [`AuthErrorKind::StoreUnavailable`] (a 503: the client may retry).
    #[must_use]
    pub fn to_auth_error(&self) -> AuthError {
        if let Some(auth) = &self.auth {
            return auth.clone();
        }
        let kind = match self.kind {
            SessionErrorKind::InvalidToken => AuthErrorKind::Malformed,
            SessionErrorKind::NotFound
            | SessionErrorKind::Ended
            | SessionErrorKind::Reused
            | SessionErrorKind::Refused => AuthErrorKind::SessionEnded,
            SessionErrorKind::Expired | SessionErrorKind::Idle => AuthErrorKind::Expired,
            SessionErrorKind::Revoked => AuthErrorKind::Revoked,
            SessionErrorKind::Unavailable | SessionErrorKind::Issue => {
                AuthErrorKind::StoreUnavailable
            }
        };
        AuthError::new(kind)
    }
}

impl From<SessionStoreError> for SessionError {
    fn from(error: SessionStoreError) -> Self {
        Self::new(SessionErrorKind::Unavailable).with_source(error)
    }
}

impl From<tollgate::revocation::RevocationStoreError> for SessionError {
    fn from(error: tollgate::revocation::RevocationStoreError) -> Self {
        Self::new(SessionErrorKind::Unavailable).with_source(error)
    }
}

impl From<ClaimsError> for SessionError {
    fn from(error: ClaimsError) -> Self {
        let kind = if error.is_refused() {
            SessionErrorKind::Refused
        } else {
            SessionErrorKind::Unavailable
        };
        Self::new(kind).with_source(error)
    }
}

impl From<IssueError> for SessionError {
    fn from(error: IssueError) -> Self {
        let kind = match error.kind() {
            IssueErrorKind::SessionOver => SessionErrorKind::Expired,
            _ => SessionErrorKind::Issue,
        };
        Self::new(kind).with_source(error)
    }
}

impl fmt::Debug for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionError")
            .field("kind", &self.kind)
            .field("auth", &self.auth)
            .field("source", &self.source.as_ref().map(ToString::to_string))
            .finish()
    }
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.description())?;
        if let Some(auth) = &self.auth {
            write!(f, ": {auth}")?;
        }
        Ok(())
    }
}

impl StdError for SessionError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        if let Some(auth) = &self.auth {
            return Some(auth);
        }
        self.source
            .as_deref()
            .map(|source| source as &(dyn StdError + 'static))
    }
}
