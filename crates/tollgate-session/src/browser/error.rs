//! [`BrowserError`]: why a browser login, refresh or logout failed, and whether the refresh
//! cookie must go.

use std::{error::Error as StdError, fmt};

use http::HeaderValue;

use crate::{SessionError, SessionErrorKind};

/// Why a [`BrowserSessions`](super::BrowserSessions) operation or a
/// [`RefreshCookie`](super::RefreshCookie) call failed.
///
/// Opaque: ask [`kind`](Self::kind). It never holds a token, so it is safe to log. A refusal
/// of the refresh cookie (status 401) carries the `Set-Cookie` value that clears it
/// ([`clearing_cookie`](Self::clearing_cookie)), so that the browser stops presenting a
/// token that cannot work; a failure the client may retry (503) or a server fault (500) leaves
/// the cookie alone. With the `axum` feature it is a response: an RFC 9457 problem with that
/// `Set-Cookie`.
///
/// See the [module docs](super) for an example.
#[derive(Clone)]
pub struct BrowserError {
    kind: BrowserErrorKind,
    // Boxed: a `Result` with this error stays small on the success path.
    session: Option<Box<SessionError>>,
    clearing: Option<HeaderValue>,
}

/// What failed, as returned by [`BrowserError::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BrowserErrorKind {
    /// The request carries no refresh cookie (or an empty one).
    MissingCookie,
    /// The request carries the refresh cookie twice with different values (see
    /// [`RefreshCookie::read`](super::RefreshCookie::read)).
    AmbiguousCookie,
    /// A token that cannot be a cookie value was given to
    /// [`RefreshCookie::to_set_cookie`](super::RefreshCookie::to_set_cookie).
    UnfitToken,
    /// The [`SessionManager`](crate::SessionManager) refused the token or failed: see
    /// [`BrowserError::session_error`].
    Session(SessionErrorKind),
}

impl BrowserErrorKind {
    /// A stable snake-case code, for logs and problem bodies: the session error's own code
    /// for [`Session`](Self::Session).
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Self::MissingCookie => "refresh_cookie_missing",
            Self::AmbiguousCookie => "refresh_cookie_ambiguous",
            Self::UnfitToken => "refresh_token_unfit_for_cookie",
            Self::Session(kind) => kind.code(),
        }
    }

    /// A short human description, never containing the token.
    #[must_use]
    pub const fn description(self) -> &'static str {
        match self {
            Self::MissingCookie => "the request carries no refresh cookie",
            Self::AmbiguousCookie => "the request carries two different refresh cookies",
            Self::UnfitToken => "the refresh token cannot be a cookie value",
            Self::Session(kind) => kind.description(),
        }
    }

    /// The HTTP status to answer with: 401 for a missing, ambiguous or refused cookie, the
    /// session error's status otherwise (503 for an unavailable store, 500 for a minting
    /// failure), 500 for an unfit token.
    #[must_use]
    pub const fn status_code(self) -> u16 {
        match self {
            Self::MissingCookie | Self::AmbiguousCookie => 401,
            Self::UnfitToken => 500,
            Self::Session(kind) => kind.status_code(),
        }
    }
}

impl fmt::Display for BrowserErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

impl BrowserError {
    pub(super) fn new(kind: BrowserErrorKind) -> Self {
        Self {
            kind,
            session: None,
            clearing: None,
        }
    }

    /// `error` of the session manager; `clearing` is kept when the error refuses the token
    /// (401).
    pub(super) fn session(error: SessionError, clearing: Option<HeaderValue>) -> Self {
        let kind = BrowserErrorKind::Session(error.kind());
        Self {
            kind,
            clearing: clearing.filter(|_| kind.status_code() == 401),
            session: Some(Box::new(error)),
        }
    }

    pub(super) fn with_clearing(mut self, clearing: HeaderValue) -> Self {
        self.clearing = Some(clearing);
        self
    }

    /// What failed.
    #[must_use]
    pub fn kind(&self) -> BrowserErrorKind {
        self.kind
    }

    /// The HTTP status to answer with (see [`BrowserErrorKind::status_code`]).
    #[must_use]
    pub fn status_code(&self) -> u16 {
        self.kind.status_code()
    }

    /// The session manager's error, for [`BrowserErrorKind::Session`].
    #[must_use]
    pub fn session_error(&self) -> Option<&SessionError> {
        self.session.as_deref()
    }

    /// The `Set-Cookie` value that clears the refresh cookie, when the failure refuses the
    /// cookie (every 401 of a refresh). `None` when the cookie must stay: the client may retry
    /// (503), or the failure is the server's (500), or the operation was not about the
    /// cookie (a login).
    #[must_use]
    pub fn clearing_cookie(&self) -> Option<&HeaderValue> {
        self.clearing.as_ref()
    }
}

impl From<SessionError> for BrowserError {
    /// A session manager's error, leaving the cookie alone (as for a login).
    fn from(error: SessionError) -> Self {
        Self::session(error, None)
    }
}

impl fmt::Debug for BrowserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrowserError")
            .field("kind", &self.kind)
            .field("session", &self.session)
            .field("clears_cookie", &self.clearing.is_some())
            .finish()
    }
}

impl fmt::Display for BrowserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.description())
    }
}

impl StdError for BrowserError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.session
            .as_deref()
            .map(|session| session as &(dyn StdError + 'static))
    }
}
