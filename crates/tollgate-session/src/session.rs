//! The session record, and what a login says about the new session.

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
