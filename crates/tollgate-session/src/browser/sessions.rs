//! [`BrowserSessions`]: a [`SessionManager`] whose refresh token lives in the
//! [`RefreshCookie`], and the [`BrowserGrant`] a login or refresh gives a browser.

use std::{fmt, sync::Arc, time::Duration};

use http::{
    HeaderMap, HeaderValue,
    header::{AUTHORIZATION, CACHE_CONTROL, SET_COOKIE},
};
use tollgate::{StandardClaims, revocation::RevocationStore};

use super::{
    cookie::{PresentedRefreshToken, RefreshCookie},
    error::{BrowserError, BrowserErrorKind},
};
use crate::{
    error::SessionError,
    issuer::TokenPair,
    manager::SessionManager,
    revocation::NoRevocation,
    session::{EndReason, NewSession, Session},
    source::ClaimsSource,
    store::SessionStore,
};

/// Logins, refreshes and logouts for browsers: a [`SessionManager`] whose refresh tokens
/// travel only in the [`RefreshCookie`], while the access token goes in the JSON body.
///
/// - [`login`](Self::login) opens a session and returns a [`BrowserGrant`]: the access token
///   for the body, and the `Set-Cookie` that hands the browser its refresh token (persistent
///   for a remembered login, a session cookie otherwise).
/// - [`refresh`](Self::refresh) reads the cookie, rotates the token (with the manager's reuse
///   detection and grace interval), and returns a new grant whose cookie replaces the old one,
///   persistent or not as it was. Every refusal carries the `Set-Cookie` that clears it.
/// - [`logout`](Self::logout) ends the cookie's session and revokes the access token sent
///   with the request, if any.
///
/// With the `axum` feature, `refresh_handler` and `logout_handler` serve the last two as
/// routes, and grants and errors are responses. Put a
/// [`CsrfGuardLayer`](super::CsrfGuardLayer) in front of every route the cookie
/// authenticates.
///
/// Cheap to clone.
///
/// See the [module docs](super) for an example.
#[must_use]
pub struct BrowserSessions<S, F, R = NoRevocation> {
    manager: SessionManager<S, F, R>,
    cookie: Arc<RefreshCookie>,
}

impl<S, F, R> BrowserSessions<S, F, R>
where
    S: SessionStore,
    F: ClaimsSource,
    R: RevocationStore,
{
    /// Browser sessions of `manager`, their refresh tokens in `cookie`.
    pub fn new(manager: SessionManager<S, F, R>, cookie: RefreshCookie) -> Self {
        Self {
            manager,
            cookie: Arc::new(cookie),
        }
    }

    /// The session manager.
    pub fn manager(&self) -> &SessionManager<S, F, R> {
        &self.manager
    }

    /// The cookie's configuration.
    pub fn cookie(&self) -> &RefreshCookie {
        &self.cookie
    }

    /// Open a session for `new`'s subject (see [`SessionManager::login`]) and give the
    /// browser its first pair: the access token for the body, the refresh token in the
    /// cookie. Checking the credentials comes first, and is the application's part.
    ///
    /// With [`NewSession::remember_me`] the cookie has a `Max-Age` equal to the session's
    /// lifetime ([`Issuer::session_lifetime`](crate::Issuer::session_lifetime), or the idle
    /// timeout when that is shorter: the refresh token's lifetime); without, it is a session
    /// cookie.
    ///
    /// # Errors
    ///
    /// As [`SessionManager::login`], as [`BrowserErrorKind::Session`]. A failed login does not
    /// clear a cookie the browser may hold.
    pub async fn login(&self, new: NewSession) -> Result<(Session, BrowserGrant), BrowserError> {
        let remember_me = new.remember_me;
        let (session, pair) = self.manager.login(new).await?;
        let grant = self.grant(&pair, remember_me)?;
        Ok((session, grant))
    }

    /// Spend the refresh token of the request's cookie for a new pair (see
    /// [`SessionManager::refresh`]): the new access token for the body, and a `Set-Cookie`
    /// that replaces the cookie with the new refresh token, persistent (with the token's
    /// remaining lifetime as `Max-Age`) if the presented one was.
    ///
    /// The previous cookie's token is spent: presented again (a stolen copy, or a tab that
    /// missed the rotation) it ends the session, unless within the manager's grace interval.
    ///
    /// # Errors
    ///
    /// With the `Set-Cookie` that clears the cookie
    /// ([`BrowserError::clearing_cookie`]), status 401:
    /// [`MissingCookie`](BrowserErrorKind::MissingCookie),
    /// [`AmbiguousCookie`](BrowserErrorKind::AmbiguousCookie), and every refusal of the
    /// token: [`Session`](BrowserErrorKind::Session) with an invalid or expired token, a
    /// session that is unknown, ended, expired, idle, revoked or refused, or a spent token
    /// (reuse: the session is now ended). Without it (the cookie stays, the client may retry):
    /// an unavailable store (503) or a minting failure (500).
    pub async fn refresh(&self, headers: &HeaderMap) -> Result<BrowserGrant, BrowserError> {
        let presented = self.cookie.read(headers)?.ok_or_else(|| {
            BrowserError::new(BrowserErrorKind::MissingCookie).with_clearing(self.cookie.clearing())
        })?;
        match self.manager.refresh(presented.token()).await {
            Ok(pair) => self.grant(&pair, presented.is_persistent()),
            Err(error) => {
                tracing::debug!(target: "tollgate::session", code = error.kind().code(), "browser refresh refused");
                Err(BrowserError::session(error, Some(self.cookie.clearing())))
            }
        }
    }

    /// Log the browser out: end the session of the request's refresh cookie (of each, if
    /// several differ; [`EndReason::Logout`]), and revoke the access token of its `Authorization: Bearer` header, if
    /// it carries a valid one (in the revocation store, see
    /// [`SessionManager::with_revocation`]). Returns whether a session was ended.
    ///
    /// A missing, invalid or expired cookie is no error: there is nothing to end, and the
    /// answer is the same (the handler answers 204 and clears the cookie in every case).
    ///
    /// # Errors
    ///
    /// [`BrowserErrorKind::Session`] with [`Unavailable`](crate::SessionErrorKind::Unavailable)
    /// when a store cannot record the end: the cookie is kept so that the logout can be
    /// repeated.
    pub async fn logout(&self, headers: &HeaderMap) -> Result<bool, BrowserError> {
        let mut ended = false;
        for value in self.cookie.values(headers) {
            let presented = PresentedRefreshToken::from_value(value);
            if let Ok(verified) = self
                .manager
                .refresh_verifier()
                .verify::<StandardClaims>(presented.token())
                .await
                && let Some(sid) = &verified.standard().sid
            {
                ended |= self.manager.end_session(sid, EndReason::Logout).await?;
            }
        }
        if let Some(token) = bearer_token(headers)
            && let Ok(verified) = self
                .manager
                .access_verifier()
                .verify::<StandardClaims>(token)
                .await
            && let (Some(jti), Some(exp)) = (&verified.standard().jti, verified.standard().exp)
        {
            self.manager
                .revocation()
                .revoke_token(jti, exp)
                .await
                .map_err(SessionError::from)?;
        }
        Ok(ended)
    }

    fn grant(&self, pair: &TokenPair, persistent: bool) -> Result<BrowserGrant, BrowserError> {
        let lifetime = persistent.then(|| {
            let seconds = pair.refresh_expires_at().saturating_sub(pair.issued_at());
            Duration::from_secs(u64::try_from(seconds).unwrap_or(0))
        });
        let set_cookie = self.cookie.to_set_cookie(pair.refresh_token(), lifetime)?;
        Ok(BrowserGrant {
            access_token: pair.access_token().to_owned(),
            session_id: pair.session_id().to_owned(),
            expires_in: pair.expires_in(),
            access_expires_at: pair.access_expires_at(),
            set_cookie,
        })
    }
}

impl<S: Clone, F, R: Clone> Clone for BrowserSessions<S, F, R> {
    fn clone(&self) -> Self {
        Self {
            manager: self.manager.clone(),
            cookie: Arc::clone(&self.cookie),
        }
    }
}

impl<S: fmt::Debug, F, R: fmt::Debug> fmt::Debug for BrowserSessions<S, F, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrowserSessions")
            .field("manager", &self.manager)
            .field("cookie", &self.cookie)
            .finish()
    }
}

/// What a browser gets from a login or a refresh: the access token, for the JSON body, and
/// the `Set-Cookie` value that carries the refresh token.
///
/// The refresh token is only in [`set_cookie`](Self::set_cookie) (a sensitive header value):
/// no accessor gives it out, so it cannot end up in a body by mistake. With the `axum`
/// feature a grant is a response: 200 with [`headers`](Self::headers) and the body
/// `{"access_token": "...", "token_type": "Bearer", "expires_in": 1800}` (RFC 6749 §5.1).
/// To answer with a body of your own (with the user, say), send `(grant.headers(), body)`.
///
/// `Debug` prints neither token.
///
/// See the [module docs](super) for an example.
#[derive(Clone)]
pub struct BrowserGrant {
    access_token: String,
    session_id: String,
    expires_in: i64,
    access_expires_at: i64,
    set_cookie: HeaderValue,
}

impl BrowserGrant {
    /// The access token, for the page to send as `Authorization: Bearer`.
    #[must_use]
    pub fn access_token(&self) -> &str {
        &self.access_token
    }

    /// The access token's lifetime in seconds, for `expires_in`.
    #[must_use]
    pub fn expires_in(&self) -> i64 {
        self.expires_in
    }

    /// The access token's `exp`, seconds since the Unix epoch.
    #[must_use]
    pub fn access_expires_at(&self) -> i64 {
        self.access_expires_at
    }

    /// The session (the tokens' `sid`).
    #[must_use]
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// The `Set-Cookie` value that gives the browser the refresh token.
    #[must_use]
    pub fn set_cookie(&self) -> &HeaderValue {
        &self.set_cookie
    }

    /// The headers every answer carrying this grant needs: the `Set-Cookie`, and
    /// `Cache-Control: no-store` (a response with a token is never cached).
    #[must_use]
    pub fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::with_capacity(2);
        headers.insert(SET_COOKIE, self.set_cookie.clone());
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers
    }
}

impl fmt::Debug for BrowserGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrowserGrant")
            .field("session_id", &self.session_id)
            .field("expires_in", &self.expires_in)
            .field("access_expires_at", &self.access_expires_at)
            .finish_non_exhaustive()
    }
}

/// The token of an `Authorization: Bearer` header (RFC 6750 §2.1), if it has one.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_case_insensitively() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer_token(&headers), None);
        for (value, token) in [
            ("Bearer abc", Some("abc")),
            ("bearer abc", Some("abc")),
            ("Basic abc", None),
            ("Bearer ", None),
            ("Bearer", None),
        ] {
            headers.insert(AUTHORIZATION, HeaderValue::from_static(value));
            assert_eq!(bearer_token(&headers), token, "{value:?}");
        }
    }
}
