//! The session record, what a login says about the new session, and why sessions end.

use std::fmt;

/// One login on one device: what a [`SessionStore`](crate::SessionStore) keeps.
///
/// Times are seconds since the Unix epoch, like JWT dates. A session is *live* while it is
/// active (not ended), before its absolute expiry, and, when an idle timeout is configured,
/// before its idle deadline (moved forward by every refresh). See [`Session::is_live`].
///
/// The fields are public so that store implementations can build and read the record; an
/// application normally only reads them (to list a user's sessions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The session id, carried by every token of the session as `sid`.
    pub id: String,
    /// The subject (user id), the tokens' `sub`.
    pub subject: String,
    /// A label for the device, as the application describes it.
    pub device_info: Option<String>,
    /// The client's IP address at login.
    pub ip_address: Option<String>,
    /// The client's `User-Agent` at login.
    pub user_agent: Option<String>,
    /// When the session was created (the login).
    pub created_at: i64,
    /// The last login or refresh.
    pub last_activity: i64,
    /// The absolute end of the session: no refresh succeeds at or after it.
    pub expires_at: i64,
    /// The idle deadline: no refresh succeeds at or after it; each refresh moves it to
    /// `now + idle timeout`. `None` without an idle timeout.
    pub idle_expires_at: Option<i64>,
    /// The `jti` of the one refresh token that may be spent next.
    pub refresh_jti: String,
    /// Whether the session is still open; `false` once ended (logout, reuse detected, ...).
    pub active: bool,
}

impl Session {
    /// Whether the session can still be refreshed at `now`: active, before its expiry and
    /// before its idle deadline.
    #[must_use]
    pub fn is_live(&self, now: i64) -> bool {
        self.active && self.expires_at > now && self.idle_expires_at.is_none_or(|idle| idle > now)
    }

    /// The time after which the session can no longer be refreshed, whatever happens: the
    /// earlier of the expiry and the idle deadline. Stores may forget the session then.
    #[must_use]
    pub fn deadline(&self) -> i64 {
        self.idle_expires_at
            .map_or(self.expires_at, |idle| idle.min(self.expires_at))
    }
}

/// What a login tells about the session it opens, for
/// [`SessionManager::login`](crate::SessionManager::login).
///
/// ```
/// use tollgate_session::NewSession;
///
/// let login = NewSession::new("42")
///     .remember_me(true)
///     .device_info("Firefox on Linux")
///     .ip_address("203.0.113.7")
///     .user_agent("Mozilla/5.0 (X11; Linux x86_64)");
/// assert_eq!(login.subject(), "42");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct NewSession {
    pub(crate) subject: String,
    pub(crate) remember_me: bool,
    pub(crate) device_info: Option<String>,
    pub(crate) ip_address: Option<String>,
    pub(crate) user_agent: Option<String>,
}

impl NewSession {
    /// A session for `subject` (the user id, the tokens' `sub`).
    pub fn new(subject: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            remember_me: false,
            device_info: None,
            ip_address: None,
            user_agent: None,
        }
    }

    /// Ask for the longer "remember me" lifetime
    /// ([`Issuer::remember_me_ttl`](crate::Issuer::remember_me_ttl)).
    pub fn remember_me(mut self, remember_me: bool) -> Self {
        self.remember_me = remember_me;
        self
    }

    /// A label for the device.
    pub fn device_info(mut self, device_info: impl Into<String>) -> Self {
        self.device_info = Some(device_info.into());
        self
    }

    /// The client's IP address.
    pub fn ip_address(mut self, ip_address: impl Into<String>) -> Self {
        self.ip_address = Some(ip_address.into());
        self
    }

    /// The client's `User-Agent`.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// The subject.
    #[must_use]
    pub fn subject(&self) -> &str {
        &self.subject
    }
}

/// Why sessions end: what the caller of [`SessionManager::end_session`],
/// [`end_all`](crate::SessionManager::end_all) and
/// [`end_others`](crate::SessionManager::end_others) tells, and what the manager itself gives
/// when it ends a session on its own.
///
/// The reason goes into the `reason` field of the manager's log events (target
/// `tollgate::session`) and, with the `metrics` feature, into the `reason` label of
/// `tollgate_sessions_ended_total`; [`as_str`](Self::as_str) is that value.
///
/// | reason | who ends the session |
/// |---|---|
/// | [`Logout`](Self::Logout) | its user: [`SessionManager::logout`], the browser logout, or the user ending one session from their list |
/// | [`LogoutAll`](Self::LogoutAll) | its user, logging out everywhere |
/// | [`LogoutOthers`](Self::LogoutOthers) | its user, logging out of every other device |
/// | [`PasswordChange`](Self::PasswordChange) | the application, after the password changed |
/// | [`Suspension`](Self::Suspension) | the application, suspending the subject |
/// | [`Admin`](Self::Admin) | an administrator, ending this one session |
/// | [`Revoked`](Self::Revoked) | the manager: an RFC 7009 revocation of its refresh token ([`SessionManager::revoke`]), or a refresh whose token the revocation store refuses |
/// | [`ReuseDetected`](Self::ReuseDetected) | the manager: a spent refresh token came back, the session is taken as stolen |
/// | [`SubjectRefused`](Self::SubjectRefused) | the manager: at a refresh, the [`ClaimsSource`](crate::ClaimsSource) refused the subject |
///
/// ```
/// use tollgate_session::EndReason;
///
/// assert_eq!(EndReason::PasswordChange.as_str(), "password_change");
/// assert_eq!(EndReason::Suspension.to_string(), "suspension");
/// ```
///
/// [`SessionManager::end_session`]: crate::SessionManager::end_session
/// [`SessionManager::logout`]: crate::SessionManager::logout
/// [`SessionManager::revoke`]: crate::SessionManager::revoke
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EndReason {
    /// The user logged out of this session.
    Logout,
    /// The user logged out of every session.
    LogoutAll,
    /// The user logged out of every session but the current one.
    LogoutOthers,
    /// The subject's password changed.
    PasswordChange,
    /// The subject was suspended.
    Suspension,
    /// An administrator ended the session.
    Admin,
    /// The session's refresh token was revoked: through RFC 7009, or in the revocation store.
    Revoked,
    /// A spent refresh token of the session was presented again.
    ReuseDetected,
    /// The claims source refused the subject at a refresh.
    SubjectRefused,
}

impl EndReason {
    /// A stable snake-case name, for logs and metric labels: `logout`, `logout_all`,
    /// `logout_others`, `password_change`, `suspension`, `admin`, `revoked`,
    /// `reuse_detected`, `subject_refused`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::LogoutAll => "logout_all",
            Self::LogoutOthers => "logout_others",
            Self::PasswordChange => "password_change",
            Self::Suspension => "suspension",
            Self::Admin => "admin",
            Self::Revoked => "revoked",
            Self::ReuseDetected => "reuse_detected",
            Self::SubjectRefused => "subject_refused",
        }
    }
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        Session {
            id: "s".to_owned(),
            subject: "u".to_owned(),
            device_info: None,
            ip_address: None,
            user_agent: None,
            created_at: 100,
            last_activity: 100,
            expires_at: 200,
            idle_expires_at: Some(150),
            refresh_jti: "j".to_owned(),
            active: true,
        }
    }

    #[test]
    fn liveness_follows_expiry_idle_deadline_and_the_active_flag() {
        let mut s = session();
        assert!(s.is_live(149));
        assert!(!s.is_live(150));
        assert_eq!(s.deadline(), 150);
        s.idle_expires_at = None;
        assert!(s.is_live(199));
        assert!(!s.is_live(200));
        assert_eq!(s.deadline(), 200);
        s.active = false;
        assert!(!s.is_live(101));
    }
}
