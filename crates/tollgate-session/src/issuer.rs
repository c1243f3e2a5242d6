//! The [`Issuer`]: mints access and refresh tokens, publishes its keys, and builds the
//! verifiers that accept exactly its tokens.

use std::{error::Error as StdError, fmt, sync::Arc, time::Duration};

use jsonwebtoken::{Header, jwk::JwkSet};
use serde::Serialize;
use serde_json::{Map, Value};
use tollgate::{
    ConfigError,
    key::KeySet,
    verify::{TrustedIssuer, Verifier},
};

use crate::{
    clock::unix_now,
    key::{SigningKey, VerificationKey},
    random::random_id,
    session::Session,
};

/// The header `typ` of access tokens (RFC 9068).
pub const ACCESS_HEADER_TYP: &str = "at+jwt";
/// The header `typ` of refresh tokens.
pub const REFRESH_HEADER_TYP: &str = "refresh+jwt";
/// The `token_type` claim of access tokens.
pub const ACCESS_TOKEN_TYPE_CLAIM: &str = "access";
/// The `token_type` claim of refresh tokens.
pub const REFRESH_TOKEN_TYPE_CLAIM: &str = "refresh";

/// The claims the issuer sets itself; the caller's claims may not set them.
const REGISTERED: [&str; 9] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "sid",
    "token_type",
];

/// The longest lifetime accepted for any token: ten years.
const MAX_TTL: Duration = Duration::from_secs(10 * 366 * 24 * 3600);

/// Mints token pairs for sessions, and describes its keys.
///
/// An access token has the header `typ: at+jwt` and `kid`, and the claims `iss`, `aud`, `sub`,
/// `jti`, `iat`, `nbf`, `exp`, `sid`, `token_type: "access"` plus the caller's claims (such as
/// `org`, `roles`, `perms`, `ver`). A refresh token has `typ: refresh+jwt` and the same
/// registered claims with `token_type: "refresh"`, and no others. Each `jti` is 128 random bits,
/// base64url. The two verifiers ([`access_verifier`](Issuer::access_verifier),
/// [`refresh_verifier`](Issuer::refresh_verifier)) check `typ` and `token_type`, so one kind is
/// never accepted as the other.
///
/// Lifetimes: an access token lives [`access_ttl`](Issuer::access_ttl) (30 minutes by default),
/// never past its session's end. A refresh token expires with its session: at the session's
/// absolute expiry ([`refresh_ttl`](Issuer::refresh_ttl) after login, 7 days by default, or
/// [`remember_me_ttl`](Issuer::remember_me_ttl), 30 days) or its idle deadline, whichever
/// comes first.
///
/// Cheap to clone.
///
/// # Example
///
/// ```
/// use tollgate::{StandardClaims, key::Algorithm};
/// use tollgate_session::{Issuer, Session, SigningKey};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let key = SigningKey::generate("2026-11", Algorithm::ES256)?;
/// let issuer = Issuer::new("https://auth.example", "crm-api", key);
///
/// # let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() as i64;
/// # let session = Session {
/// #     id: "s1".into(), subject: "42".into(), device_info: None, ip_address: None,
/// #     user_agent: None, created_at: now, last_activity: now, expires_at: now + 3600,
/// #     idle_expires_at: None, refresh_jti: String::new(), active: true,
/// # };
/// let claims = StandardClaims {
///     org: Some("7".into()),
///     perms: vec!["customer:read".into()],
///     ver: Some(3),
///     ..StandardClaims::default()
/// };
/// let pair = issuer.issue_pair(&session, &claims)?;
///
/// let verified = issuer.access_verifier()?.verify::<StandardClaims>(pair.access_token()).await?;
/// assert_eq!(verified.standard().sid.as_deref(), Some("s1"));
/// assert_eq!(verified.standard().perms, ["customer:read"]);
///
/// // A refresh token is not an access token.
/// assert!(issuer.access_verifier()?.verify::<StandardClaims>(pair.refresh_token()).await.is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
#[must_use]
pub struct Issuer {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    issuer: Arc<str>,
    audience: Arc<str>,
    signing: SigningKey,
    header: (Header, Header),
    verification: Vec<VerificationKey>,
    access_ttl: i64,
    refresh_ttl: i64,
    remember_me_ttl: i64,
    leeway: Duration,
}

impl Issuer {
    /// An issuer named `issuer` (the `iss` claim) minting tokens for `audience` (the `aud`
    /// claim), signed with `signing_key`.
    pub fn new(
        issuer: impl Into<Arc<str>>,
        audience: impl Into<Arc<str>>,
        signing_key: SigningKey,
    ) -> Self {
        let header = |typ: &str| {
            let mut header = Header::new(signing_key.jwt_algorithm());
            header.typ = Some(typ.to_owned());
            header.kid = Some(signing_key.kid().to_owned());
            header
        };
        Self {
            inner: Arc::new(Inner {
                issuer: issuer.into(),
                audience: audience.into(),
                header: (header(ACCESS_HEADER_TYP), header(REFRESH_HEADER_TYP)),
                signing: signing_key,
                verification: Vec::new(),
                access_ttl: 30 * 60,
                refresh_ttl: 7 * 24 * 3600,
                remember_me_ttl: 30 * 24 * 3600,
                leeway: Duration::ZERO,
            }),
        }
    }

    /// Also verify (and publish, for a public key) `key`: a retired signing key, or the next
    /// one before it signs.
    ///
    /// # Errors
    ///
    /// [`ConfigError::DuplicateKid`] when a key with the same `kid` is already known.
    pub fn add_verification_key(mut self, key: VerificationKey) -> Result<Self, ConfigError> {
        if key.kid() == self.inner.signing.kid()
            || self.inner.verification.iter().any(|k| k.kid() == key.kid())
        {
            return Err(ConfigError::DuplicateKid {
                kid: key.kid().to_owned(),
            });
        }
        Arc::make_mut(&mut self.inner).verification.push(key);
        Ok(self)
    }

    /// How long an access token lives: 30 minutes by default.
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] outside one second to ten years.
    pub fn access_ttl(mut self, ttl: Duration) -> Result<Self, ConfigError> {
        Arc::make_mut(&mut self.inner).access_ttl = ttl_secs("access_ttl", ttl)?;
        Ok(self)
    }

    /// How long a session lives (and its refresh tokens at most): 7 days by default.
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] outside one second to ten years.
    pub fn refresh_ttl(mut self, ttl: Duration) -> Result<Self, ConfigError> {
        Arc::make_mut(&mut self.inner).refresh_ttl = ttl_secs("refresh_ttl", ttl)?;
        Ok(self)
    }

    /// How long a session lives when the login asked to be remembered: 30 days by default.
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] outside one second to ten years.
    pub fn remember_me_ttl(mut self, ttl: Duration) -> Result<Self, ConfigError> {
        Arc::make_mut(&mut self.inner).remember_me_ttl = ttl_secs("remember_me_ttl", ttl)?;
        Ok(self)
    }

    /// The clock-skew allowance of the verifiers this issuer builds: none by default (the
    /// issuer's own instances share a clock).
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] above ten minutes.
    pub fn leeway(mut self, leeway: Duration) -> Result<Self, ConfigError> {
        if leeway > Duration::from_secs(600) {
            return Err(ConfigError::OutOfRange {
                setting: "leeway",
                expected: "at most ten minutes",
            });
        }
        Arc::make_mut(&mut self.inner).leeway = leeway;
        Ok(self)
    }

    /// The `iss` value.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The `aud` value.
    #[must_use]
    pub fn audience(&self) -> &str {
        &self.inner.audience
    }

    /// The signing key.
    #[must_use]
    pub fn signing_key(&self) -> &SigningKey {
        &self.inner.signing
    }

    /// The access token lifetime.
    #[must_use]
    pub fn access_lifetime(&self) -> Duration {
        secs_duration(self.inner.access_ttl)
    }

    /// The session lifetime for a login with or without "remember me".
    #[must_use]
    pub fn session_lifetime(&self, remember_me: bool) -> Duration {
        secs_duration(if remember_me {
            self.inner.remember_me_ttl
        } else {
            self.inner.refresh_ttl
        })
    }

    /// Every verification key: the signing key's first, then the added ones.
    pub fn verification_keys(&self) -> impl Iterator<Item = VerificationKey> + '_ {
        std::iter::once(self.inner.signing.verification_key())
            .chain(self.inner.verification.iter().cloned())
    }

    /// The keys that verify this issuer's tokens, for a [`Verifier`].
    #[must_use]
    pub fn key_set(&self) -> KeySet {
        self.verification_keys().fold(KeySet::new(), |set, key| {
            match set.clone().add_key(key.key().clone()) {
                Ok(set) => set,
                // Unreachable: kids are checked unique when keys are added.
                Err(_) => set,
            }
        })
    }

    /// The public keys as a JWK Set (RFC 7517 §5), for `/.well-known/jwks.json`. HMAC
    /// secrets are never part of it, so an issuer that only has HMAC keys publishes an empty
    /// set.
    #[must_use]
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self
                .verification_keys()
                .filter_map(|key| key.jwk().cloned())
                .collect(),
        }
    }

    /// A verifier that accepts this issuer's access tokens and nothing else: its keys, `iss`,
    /// `aud`, `typ: at+jwt`, `token_type: "access"`, and the leeway.
    ///
    /// # Errors
    ///
    /// As the [`Verifier`] builder (not expected for values this issuer accepted).
    pub fn access_verifier(&self) -> Result<Verifier, ConfigError> {
        self.verifier(ACCESS_HEADER_TYP, ACCESS_TOKEN_TYPE_CLAIM)
    }

    /// A verifier that accepts this issuer's refresh tokens and nothing else: `typ:
    /// refresh+jwt`, `token_type: "refresh"`, otherwise as
    /// [`access_verifier`](Issuer::access_verifier).
    ///
    /// # Errors
    ///
    /// As the [`Verifier`] builder.
    pub fn refresh_verifier(&self) -> Result<Verifier, ConfigError> {
        self.verifier(REFRESH_HEADER_TYP, REFRESH_TOKEN_TYPE_CLAIM)
    }

    fn verifier(&self, typ: &str, token_type: &str) -> Result<Verifier, ConfigError> {
        Verifier::new(
            TrustedIssuer::new(Arc::clone(&self.inner.issuer), self.key_set())
                .add_audience(Arc::clone(&self.inner.audience)),
        )
        .header_typ(typ)?
        .token_type_claim(token_type)?
        .leeway(self.inner.leeway)?
        .require_claim("jti")?
        .require_claim("sid")?
        .require_claim("sub")
    }

    /// Mint an access and a refresh token for `session`, now.
    ///
    /// `claims` are the access token's own claims: anything that serializes to a JSON object
    /// (or to nothing: `()`), for example a [`tollgate::StandardClaims`] with only `org`,
    /// `roles`, `perms` and `ver` set, or your own struct. They may not set the registered
    /// claims the issuer sets (`iss`, `sub`, `aud`, `exp`, `nbf`, `iat`, `jti`, `sid`,
    /// `token_type`). The refresh token carries none of them.
    ///
    /// `session.refresh_jti` is ignored: the pair's new refresh `jti` is
    /// [`TokenPair::refresh_jti`].
    ///
    /// # Errors
    ///
    /// [`IssueErrorKind::InvalidClaims`] when `claims` is not a JSON object or sets a
    /// registered claim, [`IssueErrorKind::SessionOver`] when the session is already past its
    /// deadline, [`IssueErrorKind::Signing`] when signing fails.
    pub fn issue_pair(
        &self,
        session: &Session,
        claims: &impl Serialize,
    ) -> Result<TokenPair, IssueError> {
        self.issue_pair_at(unix_now(), session, claims)
    }

    pub(crate) fn issue_pair_at(
        &self,
        now: i64,
        session: &Session,
        claims: &impl Serialize,
    ) -> Result<TokenPair, IssueError> {
        let extra = match serde_json::to_value(claims) {
            Ok(Value::Object(map)) => map,
            Ok(Value::Null) => Map::new(),
            Ok(_) => {
                return Err(IssueError::new(
                    IssueErrorKind::InvalidClaims,
                    "the claims do not serialize to a JSON object",
                ));
            }
            Err(error) => return Err(IssueError::new(IssueErrorKind::InvalidClaims, error)),
        };
        if let Some(name) = REGISTERED.iter().find(|name| extra.contains_key(**name)) {
            return Err(IssueError::new(
                IssueErrorKind::InvalidClaims,
                format!("the claims set `{name}`, which the issuer sets"),
            ));
        }
        let refresh_expires_at = session.deadline();
        if refresh_expires_at <= now {
            return Err(IssueError::from_kind(IssueErrorKind::SessionOver));
        }
        let access_expires_at = now
            .saturating_add(self.inner.access_ttl)
            .min(refresh_expires_at);
        let access_jti =
            random_id().map_err(|error| IssueError::new(IssueErrorKind::Signing, error))?;
        let refresh_jti =
            random_id().map_err(|error| IssueError::new(IssueErrorKind::Signing, error))?;

        let mut access = self.registered(
            now,
            access_expires_at,
            session,
            &access_jti,
            ACCESS_TOKEN_TYPE_CLAIM,
        );
        access.extend(extra);
        let refresh = self.registered(
            now,
            refresh_expires_at,
            session,
            &refresh_jti,
            REFRESH_TOKEN_TYPE_CLAIM,
        );

        let key = self.inner.signing.encoding_key();
        let sign = |header: &Header, payload: &Map<String, Value>| {
            jsonwebtoken::encode(header, payload, key)
                .map_err(|error| IssueError::new(IssueErrorKind::Signing, error))
        };
        Ok(TokenPair {
            access_token: sign(&self.inner.header.0, &access)?,
            refresh_token: sign(&self.inner.header.1, &refresh)?,
            session_id: session.id.clone(),
            access_jti,
            refresh_jti,
            issued_at: now,
            access_expires_at,
            refresh_expires_at,
        })
    }

    fn registered(
        &self,
        now: i64,
        exp: i64,
        session: &Session,
        jti: &str,
        token_type: &str,
    ) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("iss".to_owned(), Value::from(&*self.inner.issuer));
        map.insert("aud".to_owned(), Value::from(&*self.inner.audience));
        map.insert("sub".to_owned(), Value::from(session.subject.as_str()));
        map.insert("jti".to_owned(), Value::from(jti));
        map.insert("iat".to_owned(), Value::from(now));
        map.insert("nbf".to_owned(), Value::from(now));
        map.insert("exp".to_owned(), Value::from(exp));
        map.insert("sid".to_owned(), Value::from(session.id.as_str()));
        map.insert("token_type".to_owned(), Value::from(token_type));
        map
    }
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issuer")
            .field("issuer", &self.inner.issuer)
            .field("audience", &self.inner.audience)
            .field("signing_key", &self.inner.signing)
            .field("verification_keys", &self.inner.verification)
            .field("access_ttl", &self.inner.access_ttl)
            .field("refresh_ttl", &self.inner.refresh_ttl)
            .field("remember_me_ttl", &self.inner.remember_me_ttl)
            .field("leeway", &self.inner.leeway)
            .finish()
    }
}

fn ttl_secs(setting: &'static str, ttl: Duration) -> Result<i64, ConfigError> {
    if ttl < Duration::from_secs(1) || ttl > MAX_TTL {
        return Err(ConfigError::OutOfRange {
            setting,
            expected: "between one second and ten years",
        });
    }
    // Bounded by MAX_TTL above.
    i64::try_from(ttl.as_secs()).map_err(|_| ConfigError::OutOfRange {
        setting,
        expected: "between one second and ten years",
    })
}

fn secs_duration(secs: i64) -> Duration {
    Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}

/// An access token and a refresh token, minted together for one session.
///
/// `Debug` never prints the tokens.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenPair {
    access_token: String,
    refresh_token: String,
    session_id: String,
    access_jti: String,
    refresh_jti: String,
    issued_at: i64,
    access_expires_at: i64,
    refresh_expires_at: i64,
}

impl TokenPair {
    /// The access token (compact JWS).
    #[must_use]
    pub fn access_token(&self) -> &str {
        &self.access_token
    }

    /// The refresh token (compact JWS).
    #[must_use]
    pub fn refresh_token(&self) -> &str {
        &self.refresh_token
    }

    /// The session both tokens belong to (their `sid`).
    #[must_use]
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// The access token's `jti`.
    #[must_use]
    pub fn access_jti(&self) -> &str {
        &self.access_jti
    }

    /// The refresh token's `jti`.
    #[must_use]
    pub fn refresh_jti(&self) -> &str {
        &self.refresh_jti
    }

    /// When both were issued (`iat`), seconds since the Unix epoch.
    #[must_use]
    pub fn issued_at(&self) -> i64 {
        self.issued_at
    }

    /// The access token's `exp`.
    #[must_use]
    pub fn access_expires_at(&self) -> i64 {
        self.access_expires_at
    }

    /// The refresh token's `exp`.
    #[must_use]
    pub fn refresh_expires_at(&self) -> i64 {
        self.refresh_expires_at
    }

    /// The access token's lifetime in seconds, for an OAuth-style `expires_in`.
    #[must_use]
    pub fn expires_in(&self) -> i64 {
        self.access_expires_at - self.issued_at
    }

    /// The pair as the opaque answer a store keeps for the grace interval.
    pub(crate) fn to_kept(&self) -> String {
        serde_json::json!([
            self.access_token,
            self.refresh_token,
            self.session_id,
            self.access_jti,
            self.refresh_jti,
            self.issued_at,
            self.access_expires_at,
            self.refresh_expires_at,
        ])
        .to_string()
    }

    /// The pair back from [`to_kept`](Self::to_kept).
    pub(crate) fn from_kept(kept: &str) -> Option<Self> {
        #[allow(clippy::type_complexity)]
        let (
            access_token,
            refresh_token,
            session_id,
            access_jti,
            refresh_jti,
            issued_at,
            access_expires_at,
            refresh_expires_at,
        ): (String, String, String, String, String, i64, i64, i64) =
            serde_json::from_str(kept).ok()?;
        Some(Self {
            access_token,
            refresh_token,
            session_id,
            access_jti,
            refresh_jti,
            issued_at,
            access_expires_at,
            refresh_expires_at,
        })
    }
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPair")
            .field("session_id", &self.session_id)
            .field("access_jti", &self.access_jti)
            .field("refresh_jti", &self.refresh_jti)
            .field("issued_at", &self.issued_at)
            .field("access_expires_at", &self.access_expires_at)
            .field("refresh_expires_at", &self.refresh_expires_at)
            .finish_non_exhaustive()
    }
}

/// Minting a token pair failed.
#[derive(Clone)]
pub struct IssueError {
    kind: IssueErrorKind,
    source: Option<Arc<dyn StdError + Send + Sync>>,
}

/// What kind of failure an [`IssueError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IssueErrorKind {
    /// The caller's claims are not a JSON object, or set a claim the issuer sets.
    InvalidClaims,
    /// The session is past its expiry or idle deadline.
    SessionOver,
    /// Signing failed, or the random source did.
    Signing,
}

impl IssueError {
    pub(crate) fn new(
        kind: IssueErrorKind,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self {
            kind,
            source: Some(Arc::from(source.into())),
        }
    }

    fn from_kind(kind: IssueErrorKind) -> Self {
        Self { kind, source: None }
    }

    /// What kind of failure this is.
    #[must_use]
    pub fn kind(&self) -> IssueErrorKind {
        self.kind
    }
}

impl fmt::Debug for IssueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssueError")
            .field("kind", &self.kind)
            .field("source", &self.source.as_ref().map(ToString::to_string))
            .finish()
    }
}

impl fmt::Display for IssueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            IssueErrorKind::InvalidClaims => f.write_str("invalid claims for a token"),
            IssueErrorKind::SessionOver => f.write_str("the session is over"),
            IssueErrorKind::Signing => f.write_str("signing the token failed"),
        }?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl StdError for IssueError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn StdError + 'static))
    }
}
