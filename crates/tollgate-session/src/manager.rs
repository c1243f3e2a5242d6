//! [`SessionManager`]: logins, refresh rotation with reuse detection, and ending sessions.

use std::{
    fmt,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use tollgate::{
    CompactString, ConfigError, StandardClaims,
    revocation::{RevocationStatus, RevocationStore, TokenRef},
    verify::Verifier,
};

use crate::{
    cleanup::CleanupTask,
    clock::unix_now,
    error::{SessionError, SessionErrorKind},
    issuer::{Issuer, TokenPair},
    random::random_id,
    revocation::NoRevocation,
    session::{EndReason, NewSession, Session},
    source::ClaimsSource,
    store::{RotateOutcome, Rotation, SessionStore},
    telemetry::{self, RefreshOutcome},
};

/// The longest idle timeout or grace interval accepted.
const MAX_IDLE: Duration = Duration::from_secs(10 * 366 * 24 * 3600);
/// The longest grace interval accepted: a retry after a lost answer comes within seconds.
const MAX_GRACE: Duration = Duration::from_secs(300);

/// Opens sessions, refreshes them by rotation, and ends them.
///
/// It combines an [`Issuer`] (mints the tokens), a [`SessionStore`] (keeps the sessions), a
/// [`ClaimsSource`] (the subject's current claims) and, optionally, a tollgate
/// [`RevocationStore`] (so that ending a session also kills its access tokens on the routes
/// that check revocation).
///
/// - [`login`](Self::login) opens a session and returns its first pair.
/// - [`refresh`](Self::refresh) spends a refresh token for a new pair: of concurrent refreshes
///   of one token exactly one wins; a spent token presented again ends the session (reuse
///   detection, RFC 9700 §4.14.2).
/// - [`sessions`](Self::sessions), [`end_session`](Self::end_session),
///   [`end_all`](Self::end_all), [`end_others`](Self::end_others), [`logout`](Self::logout),
///   [`revoke`](Self::revoke) (RFC 7009) manage them.
///
/// Cheap to clone: share one manager between handlers.
///
/// # Example
///
/// ```
/// use tollgate::{StandardClaims, key::Algorithm};
/// use tollgate_session::{
///     ClaimsError, Issuer, MemorySessionStore, NewSession, Session, SessionErrorKind, SessionManager,
///     SigningKey,
/// };
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let issuer = Issuer::new("crm", "crm-api", SigningKey::generate("k1", Algorithm::HS256)?);
/// let claims = |session: Session| async move {
///     Ok::<_, ClaimsError>(StandardClaims { roles: vec!["sales".into()], ..StandardClaims::default() })
/// };
/// let sessions = SessionManager::new(issuer, MemorySessionStore::new(), claims)?;
///
/// let (session, first) = sessions.login(NewSession::new("42").device_info("laptop")).await?;
/// let second = sessions.refresh(first.refresh_token()).await?;
/// assert_eq!(second.session_id(), session.id);
///
/// // The first refresh token is spent: presenting it again ends the session.
/// let error = sessions.refresh(first.refresh_token()).await.unwrap_err();
/// assert_eq!(error.kind(), SessionErrorKind::Reused);
/// assert!(sessions.refresh(second.refresh_token()).await.is_err());
/// # Ok(())
/// # }
/// ```
#[must_use]
pub struct SessionManager<S, F, R = NoRevocation> {
    issuer: Issuer,
    access: Verifier,
    refresh: Verifier,
    store: S,
    revocation: R,
    claims: Arc<F>,
    idle_timeout: Option<i64>,
    grace: Option<i64>,
}

/// What [`SessionManager::revoke`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Revoked {
    /// The token was a refresh token: its session is ended.
    Session,
    /// The token was an access token: its `jti` is revoked in the revocation store.
    AccessToken,
    /// The token is not one of this issuer's valid tokens: nothing to do (RFC 7009 answers
    /// 200 all the same).
    Nothing,
}

impl<S, F> SessionManager<S, F, NoRevocation>
where
    S: SessionStore,
    F: ClaimsSource,
{
    /// A manager minting with `issuer`, keeping sessions in `store`, and loading claims from
    /// `claims`. No idle timeout, no grace interval, no revocation store.
    ///
    /// # Errors
    ///
    /// When the issuer's verifiers cannot be built (see [`Issuer::access_verifier`]).
    pub fn new(issuer: Issuer, store: S, claims: F) -> Result<Self, ConfigError> {
        Ok(Self {
            access: issuer.access_verifier()?,
            refresh: issuer.refresh_verifier()?,
            issuer,
            store,
            revocation: NoRevocation,
            claims: Arc::new(claims),
            idle_timeout: None,
            grace: None,
        })
    }
}

impl<S, F, R> SessionManager<S, F, R>
where
    S: SessionStore,
    F: ClaimsSource,
    R: RevocationStore,
{
    /// Write session ends, cut-offs and revoked access tokens to `revocation`, and check
    /// refresh tokens against it.
    pub fn with_revocation<R2: RevocationStore>(self, revocation: R2) -> SessionManager<S, F, R2> {
        SessionManager {
            issuer: self.issuer,
            access: self.access,
            refresh: self.refresh,
            store: self.store,
            revocation,
            claims: self.claims,
            idle_timeout: self.idle_timeout,
            grace: self.grace,
        }
    }

    /// End sessions not refreshed for `timeout` (OWASP ASVS V3.3): each refresh moves the
    /// session's idle deadline to `now + timeout`, and its refresh token expires then at the
    /// latest. Off by default.
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] outside one second to ten years.
    pub fn idle_timeout(mut self, timeout: Duration) -> Result<Self, ConfigError> {
        if timeout < Duration::from_secs(1) || timeout > MAX_IDLE {
            return Err(ConfigError::OutOfRange {
                setting: "idle_timeout",
                expected: "between one second and ten years",
            });
        }
        self.idle_timeout = Some(secs(timeout));
        Ok(self)
    }

    /// Let a client that lost the answer to a refresh retry with the token it just spent, for
    /// `grace` after the refresh, and get the same pair again instead of ending the session.
    /// Off by default (`Duration::ZERO`): any second use of a refresh token ends the session.
    ///
    /// The pair is kept in the session store for that interval, so the store holds a usable
    /// refresh token for a few seconds: keep the interval short.
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] above five minutes.
    pub fn grace_period(mut self, grace: Duration) -> Result<Self, ConfigError> {
        if grace > MAX_GRACE {
            return Err(ConfigError::OutOfRange {
                setting: "grace_period",
                expected: "at most five minutes",
            });
        }
        self.grace = (!grace.is_zero()).then(|| secs(grace).max(1));
        Ok(self)
    }

    /// The issuer.
    pub fn issuer(&self) -> &Issuer {
        &self.issuer
    }

    /// The session store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The revocation store.
    pub fn revocation(&self) -> &R {
        &self.revocation
    }

    /// The verifier of this issuer's access tokens (see [`Issuer::access_verifier`]), for a
    /// [`VerifyLayer`](tollgate::VerifyLayer).
    #[must_use]
    pub fn access_verifier(&self) -> &Verifier {
        &self.access
    }

    /// The verifier of this issuer's refresh tokens.
    #[must_use]
    pub fn refresh_verifier(&self) -> &Verifier {
        &self.refresh
    }

    /// Open a session for `new`'s subject and mint its first pair.
    ///
    /// The [`ClaimsSource`] is asked for the subject's claims first, and may refuse. The
    /// session lives [`Issuer::session_lifetime`] (the remember-me lifetime if asked).
    ///
    /// Same-second rule: the revocation store refuses tokens issued at or before a subject's
    /// cut-off (`iat <= cut_off`, in seconds). Right after [`end_all`](Self::end_all) (or any
    /// cut-off) a login in the same second would mint tokens that are already cut off. So
    /// before minting, the login asks the revocation store whether a token issued now would be
    /// cut off, and if so waits for the next second (at most twice). If the revocation store
    /// cannot answer that question, the login goes on (and logs a warning).
    ///
    /// # Errors
    ///
    /// [`SessionErrorKind::Refused`] when the claims source refuses the subject,
    /// [`SessionErrorKind::Revoked`] when the subject stays cut off,
    /// [`SessionErrorKind::Unavailable`] when a store or the claims source fails,
    /// [`SessionErrorKind::Issue`] when minting fails.
    pub async fn login(&self, new: NewSession) -> Result<(Session, TokenPair), SessionError> {
        let id = random_id().map_err(|_| SessionError::new(SessionErrorKind::Issue))?;
        let mut session = self.new_session(id, &new, unix_now());
        let claims = self.claims.claims(&session).await?;
        let now = self.mint_time(&session).await?;
        if now != session.created_at {
            session = self.new_session(session.id, &new, now);
        }
        let pair = self.issuer.issue_pair_at(now, &session, &claims)?;
        session.refresh_jti = pair.refresh_jti().to_owned();
        self.store.create(&session).await?;
        telemetry::session_issued();
        tracing::debug!(target: "tollgate::session", sid = %session.id, sub = %session.subject, "session opened");
        Ok((session, pair))
    }

    fn new_session(&self, id: String, new: &NewSession, now: i64) -> Session {
        let lifetime = secs(self.issuer.session_lifetime(new.remember_me));
        Session {
            id,
            subject: new.subject.clone(),
            device_info: new.device_info.clone(),
            ip_address: new.ip_address.clone(),
            user_agent: new.user_agent.clone(),
            created_at: now,
            last_activity: now,
            expires_at: now.saturating_add(lifetime),
            idle_expires_at: self.idle_timeout.map(|idle| now.saturating_add(idle)),
            refresh_jti: String::new(),
            active: true,
        }
    }

    /// A time to mint `session`'s tokens at, after any cut-off of its subject.
    async fn mint_time(&self, session: &Session) -> Result<i64, SessionError> {
        for _ in 0..3 {
            let now = unix_now();
            let probe = StandardClaims {
                sub: Some(session.subject.as_str().into()),
                sid: Some(session.id.as_str().into()),
                jti: Some(CompactString::default()),
                iat: Some(now),
                exp: Some(now.saturating_add(secs(self.issuer.access_lifetime()))),
                ..StandardClaims::default()
            };
            let Some(token) = TokenRef::from_claims(&probe) else {
                return Ok(now);
            };
            match self.revocation.check(&token).await {
                Ok(RevocationStatus::CutOff) => sleep_to_next_second().await,
                Ok(_) => return Ok(now),
                Err(error) => {
                    tracing::warn!(target: "tollgate::session", %error, "revocation store unavailable: cannot check the subject's cut-off before minting");
                    return Ok(now);
                }
            }
        }
        Err(SessionError::new(SessionErrorKind::Revoked))
    }

    /// Spend `refresh_token` for a new pair.
    ///
    /// In order: the token is verified (signature, `typ: refresh+jwt`, `token_type`, `exp`,
    /// `iss`, `aud`); the revocation store is asked about it (a revoked token, ended session
    /// or cut-off subject ends the session); the session must be live (active, before its
    /// expiry and idle deadline); the claims source gives the subject's current claims (a
    /// refusal ends the session); a new pair is minted; then one atomic store step spends the
    /// presented token and records the new one. If the presented token was already spent, that
    /// step ends the session instead, and the session's access tokens are revoked through the
    /// revocation store (`sid`); within the grace interval (if configured) the client gets the
    /// pair minted by the refresh that spent it.
    ///
    /// # Errors
    ///
    /// [`SessionErrorKind::InvalidToken`], [`NotFound`](SessionErrorKind::NotFound),
    /// [`Ended`](SessionErrorKind::Ended), [`Expired`](SessionErrorKind::Expired),
    /// [`Idle`](SessionErrorKind::Idle), [`Reused`](SessionErrorKind::Reused),
    /// [`Revoked`](SessionErrorKind::Revoked), [`Refused`](SessionErrorKind::Refused),
    /// [`Unavailable`](SessionErrorKind::Unavailable), [`Issue`](SessionErrorKind::Issue).
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, SessionError> {
        let result = self.rotate(refresh_token).await;
        telemetry::refreshed(match &result {
            Ok((_, outcome)) => *outcome,
            Err(error) => RefreshOutcome::Refused(error.kind()),
        });
        result.map(|(pair, _)| pair)
    }

    /// [`refresh`](Self::refresh), telling how it went.
    async fn rotate(
        &self,
        refresh_token: &str,
    ) -> Result<(TokenPair, RefreshOutcome), SessionError> {
        let verified = self
            .refresh
            .verify::<StandardClaims>(refresh_token)
            .await
            .map_err(SessionError::invalid_token)?;
        let token = verified.standard();
        let (Some(sid), Some(jti), Some(sub)) = (&token.sid, &token.jti, &token.sub) else {
            // The verifier requires these claims.
            return Err(SessionError::new(SessionErrorKind::InvalidToken));
        };

        if let Some(token_ref) = TokenRef::from_claims(token) {
            match self.revocation.check(&token_ref).await? {
                // A refresh token carries no `ver`: a stale version is for access tokens.
                RevocationStatus::Active | RevocationStatus::Stale => {}
                _ => {
                    if self.store.end(sid).await?.is_some() {
                        session_ended(sid, EndReason::Revoked);
                    }
                    return Err(SessionError::new(SessionErrorKind::Revoked));
                }
            }
        }

        let now = unix_now();
        let session = match self.store.get(sid).await? {
            Some(session) if session.subject == *sub => session,
            _ => return Err(SessionError::new(SessionErrorKind::NotFound)),
        };
        if !session.active {
            return Err(SessionError::new(SessionErrorKind::Ended));
        }
        if session.expires_at <= now {
            return Err(SessionError::new(SessionErrorKind::Expired));
        }
        if session.idle_expires_at.is_some_and(|idle| idle <= now) {
            return Err(SessionError::new(SessionErrorKind::Idle));
        }

        let claims = match self.claims.claims(&session).await {
            Ok(claims) => claims,
            Err(error) => {
                if error.is_refused() {
                    self.end_session(sid, EndReason::SubjectRefused).await?;
                }
                return Err(error.into());
            }
        };

        let mut next = session;
        next.last_activity = now;
        next.idle_expires_at = self.idle_timeout.map(|idle| now.saturating_add(idle));
        let pair = self.issuer.issue_pair_at(now, &next, &claims)?;
        let kept = self.grace.map(|grace| (now + grace, pair.to_kept()));
        let mut rotation =
            Rotation::new(sid, jti, pair.refresh_jti(), now).idle_expires_at(next.idle_expires_at);
        if let Some((until, answer)) = &kept {
            rotation = rotation.grace(*until, answer);
        }

        match self.store.rotate(&rotation).await? {
            RotateOutcome::Rotated(_) => Ok((pair, RefreshOutcome::Rotated)),
            RotateOutcome::Retried(answer) => TokenPair::from_kept(&answer)
                .map(|pair| (pair, RefreshOutcome::Retried))
                .ok_or_else(|| {
                    SessionError::new(SessionErrorKind::Unavailable)
                        .with_source("the kept token pair is unreadable")
                }),
            RotateOutcome::Reused(session) => {
                let reason = EndReason::ReuseDetected;
                telemetry::sessions_ended(reason, 1);
                tracing::warn!(target: "tollgate::session", sid = %session.id, sub = %session.subject, %reason, "refresh token reuse detected: session ended");
                self.revocation
                    .end_session(sid, self.access_deadline(now))
                    .await?;
                Err(SessionError::new(SessionErrorKind::Reused))
            }
            RotateOutcome::NotFound => Err(SessionError::new(SessionErrorKind::NotFound)),
            RotateOutcome::Ended => Err(SessionError::new(SessionErrorKind::Ended)),
            RotateOutcome::Expired => Err(SessionError::new(SessionErrorKind::Expired)),
            RotateOutcome::Idle => Err(SessionError::new(SessionErrorKind::Idle)),
        }
    }

    /// The session `id`, live or ended (until purged).
    ///
    /// # Errors
    ///
    /// [`SessionErrorKind::Unavailable`] when the store fails.
    pub async fn session(&self, id: &str) -> Result<Option<Session>, SessionError> {
        Ok(self.store.get(id).await?)
    }

    /// The live sessions of `subject`, oldest first.
    ///
    /// # Errors
    ///
    /// [`SessionErrorKind::Unavailable`] when the store fails.
    pub async fn sessions(&self, subject: &str) -> Result<Vec<Session>, SessionError> {
        Ok(self.store.list(subject, unix_now()).await?)
    }

    /// End the session `id` for `reason`: its refresh token stops working at once, and its
    /// access tokens are refused by the revocation store (`sid`) until they expire. Returns
    /// whether the session was active.
    ///
    /// Checking that the session belongs to the caller is the application's part (see
    /// [`session`](Self::session)). `reason` is logged and counted (see [`EndReason`]): a
    /// user ending one of their sessions is [`EndReason::Logout`], an administrator
    /// [`EndReason::Admin`].
    ///
    /// # Errors
    ///
    /// [`SessionErrorKind::Unavailable`] when a store fails; the call can be repeated.
    pub async fn end_session(&self, id: &str, reason: EndReason) -> Result<bool, SessionError> {
        let now = unix_now();
        let ended = self.store.end(id).await?;
        if ended.is_some() {
            session_ended(id, reason);
        }
        self.revocation
            .end_session(id, self.access_deadline(now))
            .await?;
        Ok(ended.is_some())
    }

    /// End every session of `subject` for `reason` (logout everywhere:
    /// [`EndReason::LogoutAll`], suspension: [`EndReason::Suspension`], a password change:
    /// [`EndReason::PasswordChange`]): their refresh tokens stop working, and the revocation
    /// store refuses every token of the subject issued now or earlier (a cut-off), plus each
    /// ended session's `sid`. Returns how many were active.
    ///
    /// A login of the same subject in the same second waits for the next second (see
    /// [`login`](Self::login)).
    ///
    /// # Errors
    ///
    /// [`SessionErrorKind::Unavailable`] when a store fails; the call can be repeated.
    pub async fn end_all(&self, subject: &str, reason: EndReason) -> Result<usize, SessionError> {
        let now = unix_now();
        let ended = self.store.end_all(subject).await?;
        telemetry::sessions_ended(reason, ended.len());
        tracing::debug!(target: "tollgate::session", sub = %subject, ended = ended.len(), %reason, "sessions ended");
        let until = self.access_deadline(now);
        self.revocation.cut_off(subject, now, until).await?;
        for session in &ended {
            self.revocation.end_session(&session.id, until).await?;
        }
        Ok(ended.len())
    }

    /// End every session of `subject` except `keep`, for `reason` (logout of the other
    /// devices: [`EndReason::LogoutOthers`]; a password change ends the other devices'
    /// sessions: [`EndReason::PasswordChange`]). No cut-off is written, so the kept session's
    /// tokens stay valid; the others' access tokens are refused through their `sid`. Returns
    /// how many were ended.
    ///
    /// # Errors
    ///
    /// [`SessionErrorKind::Unavailable`] when a store fails; the call can be repeated.
    pub async fn end_others(
        &self,
        subject: &str,
        keep: &str,
        reason: EndReason,
    ) -> Result<usize, SessionError> {
        let mut ended = 0;
        for session in self.store.list(subject, unix_now()).await? {
            if session.id != keep && self.end_session(&session.id, reason).await? {
                ended += 1;
            }
        }
        Ok(ended)
    }

    /// Log out the caller of a verified access token: end its session (`sid`, for
    /// [`EndReason::Logout`]) and revoke the token itself (`jti`).
    ///
    /// # Errors
    ///
    /// [`SessionErrorKind::InvalidToken`] when the claims lack `sid`,
    /// [`SessionErrorKind::Unavailable`] when a store fails.
    pub async fn logout(&self, claims: &StandardClaims) -> Result<(), SessionError> {
        let Some(sid) = &claims.sid else {
            return Err(SessionError::new(SessionErrorKind::InvalidToken));
        };
        self.end_session(sid, EndReason::Logout).await?;
        if let (Some(jti), Some(exp)) = (&claims.jti, claims.exp) {
            self.revocation.revoke_token(jti, exp).await?;
        }
        Ok(())
    }

    /// Revoke a token, as an RFC 7009 endpoint does: a refresh token ends its session
    /// ([`EndReason::Revoked`]), an
    /// access token has its `jti` revoked (in the revocation store: without one, it stays
    /// valid until it expires). A token that does not verify is not an error
    /// ([`Revoked::Nothing`]).
    ///
    /// `hint` (`"access_token"` or `"refresh_token"`) decides which kind is tried first; the
    /// other is tried next, and any other value is ignored (RFC 7009 §2.1).
    ///
    /// # Errors
    ///
    /// [`SessionErrorKind::Unavailable`] when a store fails (answer 503).
    pub async fn revoke(&self, token: &str, hint: Option<&str>) -> Result<Revoked, SessionError> {
        let access_first = hint == Some("access_token");
        for refresh in [!access_first, access_first] {
            if refresh {
                if let Ok(verified) = self.refresh.verify::<StandardClaims>(token).await
                    && let Some(sid) = &verified.standard().sid
                {
                    self.end_session(sid, EndReason::Revoked).await?;
                    return Ok(Revoked::Session);
                }
            } else if let Ok(verified) = self.access.verify::<StandardClaims>(token).await {
                let claims = verified.standard();
                if let (Some(jti), Some(exp)) = (&claims.jti, claims.exp) {
                    self.revocation.revoke_token(jti, exp).await?;
                    return Ok(Revoked::AccessToken);
                }
            }
        }
        Ok(Revoked::Nothing)
    }

    /// Purge the sessions that can no longer be refreshed, once. Returns how many were
    /// removed.
    ///
    /// # Errors
    ///
    /// [`SessionErrorKind::Unavailable`] when the store fails.
    pub async fn purge(&self) -> Result<u64, SessionError> {
        let purged = self.store.purge(unix_now()).await?;
        telemetry::sessions_purged(purged);
        Ok(purged)
    }

    /// Purge the store every `every` in a background task (see [`CleanupTask`]).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn spawn_cleanup(&self, every: Duration) -> CleanupTask {
        CleanupTask::spawn(self.store.clone(), every)
    }

    /// Until when a revocation entry must last to outlive the access tokens minted up to now.
    fn access_deadline(&self, now: i64) -> i64 {
        now.saturating_add(secs(self.issuer.access_lifetime()))
            .saturating_add(1)
    }
}

impl<S: Clone, F, R: Clone> Clone for SessionManager<S, F, R> {
    fn clone(&self) -> Self {
        Self {
            issuer: self.issuer.clone(),
            access: self.access.clone(),
            refresh: self.refresh.clone(),
            store: self.store.clone(),
            revocation: self.revocation.clone(),
            claims: Arc::clone(&self.claims),
            idle_timeout: self.idle_timeout,
            grace: self.grace,
        }
    }
}

impl<S: fmt::Debug, F, R: fmt::Debug> fmt::Debug for SessionManager<S, F, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionManager")
            .field("issuer", &self.issuer)
            .field("store", &self.store)
            .field("revocation", &self.revocation)
            .field("claims", &std::any::type_name::<F>())
            .field("idle_timeout", &self.idle_timeout)
            .field("grace", &self.grace)
            .finish_non_exhaustive()
    }
}

/// Log and count one session ended for `reason`.
fn session_ended(sid: &str, reason: EndReason) {
    telemetry::sessions_ended(reason, 1);
    tracing::debug!(target: "tollgate::session", sid, %reason, "session ended");
}

fn secs(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

/// Sleep until just past the next whole second of the system clock.
async fn sleep_to_next_second() {
    let into_second = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(Duration::ZERO, |elapsed| {
            Duration::from_nanos(u64::from(elapsed.subsec_nanos()))
        });
    let wait = Duration::from_secs(1).saturating_sub(into_second) + Duration::from_millis(5);
    tokio::time::sleep(wait).await;
}
