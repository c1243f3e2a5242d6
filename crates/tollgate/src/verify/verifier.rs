//! The [`Verifier`]: every check on a token, without the HTTP around it.

use std::{
    any::Any,
    cell::Cell,
    fmt,
    ops::Deref,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use serde::de::DeserializeOwned;

#[cfg(feature = "verify-cache")]
use super::cache::{TokenCache, VerifiedCache};
use super::{
    issuer::{TrustedIssuer, select_issuer},
    jws::{Compact, Header, decode_segment_into, normalize_typ},
    known_headers::{KnownHeader, known_headers},
    strict,
    validate::Validation,
};
#[cfg(feature = "jwks-remote")]
use crate::key::remote::RemoteJwks;
use crate::{
    claims::{ClaimMapping, Claims, ClaimsSeed, StandardClaims},
    error::{AuthError, AuthErrorKind, ConfigError},
    key::{algorithm::Algorithm, set::KeySet, source::SourceKind},
};

/// The default maximum token length, checked before any decoding: 8 KiB.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 8 * 1024;

/// Verifies tokens: signature with a configured key, then the claims.
///
/// Cheap to clone (the configuration is shared). Used by
/// [`VerifyLayer`](crate::VerifyLayer), and directly wherever a token arrives outside a
/// header (a refresh endpoint, a WebSocket message).
///
/// What it checks, in order: the length (before decoding), three strict base64url segments,
/// the header (`alg` within the keys' algorithms, no `crit`), the key (by `kid`, bound to
/// one algorithm), the signature, then `typ`, `token_type`, `exp`, `nbf`, `iat`, `iss`, `aud`
/// and the required claims. The claims are read through the verifier's [`ClaimMapping`]
/// ([`claim_mapping`](Self::claim_mapping)); a claim of the wrong type makes the token
/// malformed, with an [`AuthError::detail`] naming it. The header and the claims set must be strict JSON objects (RFC
/// 7519 §7.2, RFC 8259) throughout, in members nothing reads too: bytes that are not UTF-8, a
/// lone surrogate escape or a number beyond `f64` anywhere make the token malformed.
///
/// `aud` follows the issuer's audiences: with some configured, the token must name one of
/// them; with none, a token that carries `aud` is refused (RFC 7519 §4.1.3) unless the issuer
/// [accepts any audience](TrustedIssuer::accept_any_audience). See
/// [`TrustedIssuer`](TrustedIssuer#audience).
///
/// See the [module docs](super) for an example.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    issuers: Vec<TrustedIssuer>,
    max_token_len: usize,
    /// The checks on the claims, with their settings.
    validation: Validation,
    /// Where the standard claims are read from.
    mapping: ClaimMapping,
    clock: fn() -> SystemTime,
    /// The header segments the configured keys' tokens usually carry, parsed in advance.
    known_headers: Vec<KnownHeader>,
    #[cfg(feature = "verify-cache")]
    cache: Option<TokenCache>,
}

/// A verified token: its claims as `C`, its [`StandardClaims`], and how it was signed.
#[derive(Debug)]
pub struct Verified<C = StandardClaims> {
    pub(super) standard: Claims<StandardClaims>,
    pub(super) claims: Claims<C>,
    pub(super) algorithm: Algorithm,
    pub(super) kid: Option<Arc<str>>,
}

impl<C> Verified<C> {
    /// The claims, as the caller's type.
    pub fn claims(&self) -> &Claims<C> {
        &self.claims
    }

    /// The standard claims (the same payload, as [`StandardClaims`]).
    pub fn standard(&self) -> &Claims<StandardClaims> {
        &self.standard
    }

    /// The algorithm of the key that verified the token.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The `kid` of the key that verified the token, if it has one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The claims and the standard claims.
    pub fn into_parts(self) -> (Claims<C>, Claims<StandardClaims>) {
        (self.claims, self.standard)
    }
}

impl<C> Clone for Verified<C> {
    fn clone(&self) -> Self {
        Self {
            standard: self.standard.clone(),
            claims: self.claims.clone(),
            algorithm: self.algorithm,
            kid: self.kid.clone(),
        }
    }
}

/// What one synchronous verification attempt came to.
pub(crate) enum Outcome<C> {
    Verified(Verified<C>),
    Rejected(AuthError),
    /// The key source must be refreshed before the token can be judged.
    #[cfg(feature = "jwks-remote")]
    NeedsRefresh(RemoteJwks),
}

enum Step {
    Reject(AuthErrorKind),
    /// A rejection with a precise reason.
    RejectWith(AuthError),
    #[cfg(feature = "jwks-remote")]
    Refresh(RemoteJwks),
}

impl From<AuthErrorKind> for Step {
    fn from(kind: AuthErrorKind) -> Self {
        Self::Reject(kind)
    }
}

/// The header members a verification uses, read from a [`KnownHeader`] or parsed.
struct HeaderRef<'a> {
    alg: Algorithm,
    kid: Option<&'a str>,
    typ: Option<&'a str>,
}

/// What [`Verifier::check`] found: the verification, and what the cache needs to know.
pub(super) struct Checked<'a, C> {
    pub(super) verified: Verified<C>,
    #[cfg_attr(not(feature = "verify-cache"), allow(dead_code))]
    pub(super) issuer: usize,
    #[cfg_attr(not(feature = "verify-cache"), allow(dead_code))]
    pub(super) keys: Keys<'a>,
}

/// Decoding buffers on the stack, in bytes: a header with `alg`, `kid` and `typ`; the claims of
/// a typical access token; an RSA-4096 signature. Larger segments are decoded onto the heap.
const HEADER_BUF: usize = 256;
const PAYLOAD_BUF: usize = 1024;
const SIGNATURE_BUF: usize = 512;

/// A key set, borrowed from a static source or shared from a remote one.
pub(super) enum Keys<'a> {
    Borrowed(&'a KeySet),
    #[cfg(feature = "jwks-remote")]
    Shared(Arc<KeySet>),
}

impl Deref for Keys<'_> {
    type Target = KeySet;

    fn deref(&self) -> &KeySet {
        match self {
            Keys::Borrowed(keys) => keys,
            #[cfg(feature = "jwks-remote")]
            Keys::Shared(keys) => keys,
        }
    }
}

impl Verifier {
    /// A verifier trusting one issuer, with the defaults: `exp` required, no leeway, tokens
    /// up to [`DEFAULT_MAX_TOKEN_LEN`] bytes, any `typ` and `token_type`.
    #[must_use]
    pub fn new(issuer: TrustedIssuer) -> Self {
        Self {
            inner: Arc::new(Inner {
                known_headers: known_headers(std::slice::from_ref(&issuer)),
                issuers: vec![issuer],
                max_token_len: DEFAULT_MAX_TOKEN_LEN,
                validation: Validation::new(),
                mapping: ClaimMapping::new(),
                clock: SystemTime::now,
                #[cfg(feature = "verify-cache")]
                cache: None,
            }),
        }
    }

    /// The settings, to change them. A changed verifier never shares its cache with the one
    /// it was built from: an entry admitted under the old settings must not be served under
    /// the new ones.
    fn inner_mut(&mut self) -> &mut Inner {
        let inner = Arc::make_mut(&mut self.inner);
        #[cfg(feature = "verify-cache")]
        if let Some(cache) = &mut inner.cache {
            *cache = cache.fresh();
        }
        inner
    }

    /// Trust another issuer too; the token's `iss` selects which one verifies it.
    ///
    /// # Errors
    ///
    /// [`ConfigError::DuplicateIssuer`] when an issuer with the same `iss` is already trusted,
    /// [`ConfigError::AmbiguousIssuer`] when either issuer has no name.
    pub fn add_issuer(mut self, issuer: TrustedIssuer) -> Result<Self, ConfigError> {
        let Some(name) = issuer.name() else {
            return Err(ConfigError::AmbiguousIssuer);
        };
        for existing in &self.inner.issuers {
            match existing.name() {
                None => return Err(ConfigError::AmbiguousIssuer),
                Some(existing) if existing == name => {
                    return Err(ConfigError::DuplicateIssuer {
                        issuer: name.to_owned(),
                    });
                }
                Some(_) => {}
            }
        }
        let inner = self.inner_mut();
        inner.issuers.push(issuer);
        inner.known_headers = known_headers(&inner.issuers);
        Ok(self)
    }

    /// Clock-skew allowance for `exp`, `nbf` and `iat` (default none).
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] above one hour: RFC 7519 allows "a few minutes".
    pub fn leeway(mut self, leeway: Duration) -> Result<Self, ConfigError> {
        if leeway > Duration::from_secs(3600) {
            return Err(ConfigError::OutOfRange {
                setting: "leeway",
                expected: "at most one hour",
            });
        }
        #[allow(clippy::cast_possible_wrap)]
        let seconds = leeway.as_secs() as i64;
        self.inner_mut().validation.leeway = seconds;
        Ok(self)
    }

    /// The oldest token accepted, from its `iat` (issued at): a token issued more than
    /// `max_age` ago (beyond the [`leeway`](Self::leeway)) is refused with
    /// [`AuthErrorKind::TooOld`] (code `token_too_old`), whatever its `exp` says. Once this is
    /// set, a token without `iat` is refused with [`AuthErrorKind::MissingClaim`]. Default:
    /// no maximum, `exp` alone bounds a token's life.
    ///
    /// Use it against issuers that mint long-lived tokens, or to bound the age of the
    /// authentication behind a sensitive route. Whole seconds count (the claims' precision).
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] outside 1 second to 366 days.
    pub fn max_age(mut self, max_age: Duration) -> Result<Self, ConfigError> {
        if !(Duration::from_secs(1)..=Duration::from_secs(366 * 24 * 3600)).contains(&max_age) {
            return Err(ConfigError::OutOfRange {
                setting: "max_age",
                expected: "1 second to 366 days",
            });
        }
        #[allow(clippy::cast_possible_wrap)]
        let seconds = max_age.as_secs() as i64;
        self.inner_mut().validation.max_age = Some(seconds);
        Ok(self)
    }

    /// The longest token accepted, in bytes, checked before anything is decoded
    /// (default [`DEFAULT_MAX_TOKEN_LEN`]).
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] outside 64 bytes to 1 MiB.
    pub fn max_token_len(mut self, len: usize) -> Result<Self, ConfigError> {
        if !(64..=1024 * 1024).contains(&len) {
            return Err(ConfigError::OutOfRange {
                setting: "max_token_len",
                expected: "64 bytes to 1 MiB",
            });
        }
        self.inner_mut().max_token_len = len;
        Ok(self)
    }

    /// Whether `exp` is required (default `true`: no token lives forever).
    #[must_use]
    pub fn require_exp(mut self, required: bool) -> Self {
        self.inner_mut().validation.require_exp = required;
        self
    }

    /// Require the JOSE header's `typ` to be `typ` (e.g. `at+jwt`, RFC 9068), compared
    /// case-insensitively with or without `application/`. A token without a header `typ`, or
    /// with the common `typ: "JWT"`, is then refused: set it only when your issuer writes the
    /// explicit type. The claim `token_type` is checked by
    /// [`token_type_claim`](Self::token_type_claim).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Empty`] for an empty value.
    pub fn header_typ(mut self, typ: &str) -> Result<Self, ConfigError> {
        let typ = normalize_typ(typ);
        if typ.is_empty() {
            return Err(ConfigError::Empty {
                setting: "header typ",
            });
        }
        self.inner_mut().validation.typ = Some(typ.into_boxed_str());
        Ok(self)
    }

    /// Require the token-type claim (in the payload) to be exactly `token_type` (e.g.
    /// `access`), so that a refresh token is never accepted as an access token. A token
    /// without the claim is refused. The claim is `token_type` unless the
    /// [`ClaimMapping`] names another ([`ClaimMapping::token_type`]; Cognito's `token_use`).
    /// The JOSE header's `typ` is checked by [`header_typ`](Self::header_typ).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Empty`] for an empty value.
    pub fn token_type_claim(mut self, token_type: &str) -> Result<Self, ConfigError> {
        if token_type.is_empty() {
            return Err(ConfigError::Empty {
                setting: "token_type claim",
            });
        }
        self.inner_mut().validation.token_type = Some(token_type.into());
        Ok(self)
    }

    /// Read the standard claims through `mapping` (default [`ClaimMapping::new`]: `sub`,
    /// `org`, `token_type`, `aud`, `roles`, `perms`, `scope`), for tokens as an identity
    /// provider writes them: Keycloak's `realm_access.roles`, Entra ID's `scp`, a simplejwt
    /// integer `user_id`, ... See [`ClaimMapping`] and its presets.
    ///
    /// The claims are still read in the one strict pass, and the other layers see the mapped
    /// values in `Claims<StandardClaims>`.
    #[must_use]
    pub fn claim_mapping(mut self, mapping: ClaimMapping) -> Self {
        self.inner_mut().mapping = mapping;
        self
    }

    /// Require the claim `name` to be present (any JSON value but `null`).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Empty`] for an empty name.
    pub fn require_claim(mut self, name: &str) -> Result<Self, ConfigError> {
        if name.is_empty() {
            return Err(ConfigError::Empty {
                setting: "require_claim",
            });
        }
        self.inner_mut().validation.required.push(name.into());
        Ok(self)
    }

    /// Read the time from `clock` instead of the system clock (for tests, or to replay
    /// old tokens such as published test vectors).
    #[must_use]
    pub fn with_clock(mut self, clock: fn() -> SystemTime) -> Self {
        self.inner_mut().clock = clock;
        self
    }

    /// Keep verified tokens in `cache`: a repeated token is answered from memory, without
    /// parsing or a signature check, as long as it is valid (feature `verify-cache`).
    ///
    /// See [`VerifiedCache`] for what a hit guarantees. The cache belongs to this verifier
    /// and its clones; a setting changed afterwards starts a new, empty cache.
    #[cfg(feature = "verify-cache")]
    #[cfg_attr(docsrs, doc(cfg(feature = "verify-cache")))]
    #[must_use]
    pub fn cache(mut self, cache: VerifiedCache) -> Self {
        self.inner_mut().cache = Some(TokenCache::new(cache));
        self
    }

    /// The issuers this verifier trusts.
    pub fn issuers(&self) -> impl Iterator<Item = &TrustedIssuer> {
        self.inner.issuers.iter()
    }

    /// Verify `token` and decode its claims as `C`.
    ///
    /// Completes at once unless a remote key set has to be fetched (an unknown `kid`, or no
    /// key set loaded yet).
    ///
    /// # Errors
    ///
    /// An [`AuthError`] naming the first check that failed.
    pub async fn verify<C>(&self, token: &str) -> Result<Verified<C>, AuthError>
    where
        C: DeserializeOwned + Send + Sync + 'static,
    {
        match self.attempt(token, false) {
            Outcome::Verified(verified) => Ok(verified),
            Outcome::Rejected(error) => Err(error),
            #[cfg(feature = "jwks-remote")]
            Outcome::NeedsRefresh(remote) => {
                remote.refresh_on_miss().await;
                match self.attempt(token, true) {
                    Outcome::Verified(verified) => Ok(verified),
                    Outcome::Rejected(error) => Err(error),
                    Outcome::NeedsRefresh(_) => Err(AuthErrorKind::UnknownKey.into()),
                }
            }
        }
    }

    /// One synchronous attempt. With `refreshed`, a key miss is final instead of asking
    /// for a refresh.
    pub(crate) fn attempt<C>(&self, token: &str, refreshed: bool) -> Outcome<C>
    where
        C: DeserializeOwned + Send + Sync + 'static,
    {
        if let Some(verified) = self.cached(token) {
            return Outcome::Verified(verified);
        }
        self.attempt_uncached(token, refreshed)
    }

    /// `token` from the verified-token cache, if the verifier has one and it holds the token
    /// (the hit or the miss is counted).
    #[cfg_attr(
        not(feature = "verify-cache"),
        allow(clippy::unused_self, unused_variables)
    )]
    pub(crate) fn cached<C>(&self, token: &str) -> Option<Verified<C>>
    where
        C: Send + Sync + 'static,
    {
        #[cfg(feature = "verify-cache")]
        if let Some(cache) = &self.inner.cache {
            return cache.cached(self, token);
        }
        None
    }

    /// [`attempt`](Self::attempt) for a token the cache was asked about already.
    pub(crate) fn attempt_uncached<C>(&self, token: &str, refreshed: bool) -> Outcome<C>
    where
        C: DeserializeOwned + Send + Sync + 'static,
    {
        match self.check(token, refreshed) {
            Ok(checked) => {
                #[cfg(feature = "verify-cache")]
                if let Some(cache) = &self.inner.cache {
                    cache.admit(self, token, &checked);
                }
                Outcome::Verified(checked.verified)
            }
            Err(Step::RejectWith(error)) => Outcome::Rejected(error),
            Err(Step::Reject(kind)) => {
                let error = AuthError::new(kind);
                Outcome::Rejected(if kind == AuthErrorKind::KeySourceUnavailable {
                    error.with_retry_after(Duration::from_secs(5))
                } else {
                    error
                })
            }
            #[cfg(feature = "jwks-remote")]
            Err(Step::Refresh(remote)) => Outcome::NeedsRefresh(remote),
        }
    }

    /// Every check, on the fast path: the token is split once; header, claims and signature
    /// are decoded into stack buffers (the heap only for unusually large ones); the header is
    /// read into borrowed fields; the signature is checked before the claims are parsed; the
    /// claims are parsed once (twice only when `C` is not [`StandardClaims`], which the other
    /// layers need) and validated on the typed struct.
    fn check<C>(&self, token: &str, refreshed: bool) -> Result<Checked<'_, C>, Step>
    where
        C: DeserializeOwned + Send + Sync + 'static,
    {
        let inner = &*self.inner;
        if token.len() > inner.max_token_len {
            return Err(AuthErrorKind::TooLarge.into());
        }
        let compact = Compact::split(token)?;
        let mut header_buf = [0u8; HEADER_BUF];
        let parsed_header;
        let header_bytes;
        let header = match inner
            .known_headers
            .iter()
            .find(|known| *known.segment == *compact.header)
        {
            Some(known) => HeaderRef {
                alg: known.alg,
                kid: known.kid.as_deref(),
                typ: known.typ.as_deref(),
            },
            None => {
                header_bytes = decode_segment_into(compact.header, &mut header_buf)?;
                parsed_header = Header::parse(&header_bytes)?;
                HeaderRef {
                    alg: parsed_header
                        .alg
                        .parse()
                        .map_err(|_| AuthErrorKind::UnsupportedAlgorithm)?,
                    kid: parsed_header.kid.as_deref(),
                    typ: parsed_header.typ.as_deref(),
                }
            }
        };
        let algorithm = header.alg;
        if compact.signature.is_empty() {
            return Err(AuthErrorKind::InvalidSignature.into());
        }
        let mut payload_buf = [0u8; PAYLOAD_BUF];
        let payload = decode_segment_into(compact.payload, &mut payload_buf)?;
        let mut signature_buf = [0u8; SIGNATURE_BUF];
        let signature = decode_segment_into(compact.signature, &mut signature_buf)?;

        let (index, issuer) = select_issuer(&inner.issuers, &payload)?;
        let keys = Self::keys(issuer, refreshed)?;
        if !keys.supports(algorithm) {
            return Err(AuthErrorKind::UnsupportedAlgorithm.into());
        }
        let message = compact.signing_input.as_bytes();
        let key = match header.kid {
            Some(kid) => match keys.get(kid) {
                Some(key) if key.algorithm() != algorithm => {
                    return Err(AuthErrorKind::UnsupportedAlgorithm.into());
                }
                Some(key) => key.verify(message, &signature).then_some(key),
                None => return Err(Self::unknown_kid(issuer, refreshed)),
            },
            None => keys
                .iter()
                .filter(|key| key.algorithm() == algorithm)
                .find(|key| key.verify(message, &signature)),
        };
        let Some(key) = key else {
            return Err(AuthErrorKind::InvalidSignature.into());
        };
        let kid = key.kid_arc();

        // The claims set is a JSON object (RFC 7519 §7.2), strict JSON throughout: the
        // claims no type reads included. Read through the claim mapping, in the same pass.
        let detail = Cell::new(None);
        let seed = ClaimsSeed {
            mapping: &inner.mapping,
            detail: &detail,
        };
        let standard: StandardClaims =
            strict::from_slice_seed(&payload, seed).map_err(|kind| match detail.take() {
                Some(detail) => Step::RejectWith(AuthError::new(kind).with_detail(detail)),
                None => Step::Reject(kind),
            })?;
        inner
            .validation
            .validate(header.typ, &standard, issuer, self.now())?;
        if !inner.validation.required.is_empty() {
            inner
                .validation
                .check_required(&standard, &payload, &inner.mapping)?;
        }

        let standard = Claims::new(standard);
        let claims = match (&standard as &dyn Any).downcast_ref::<Claims<C>>() {
            Some(same) => same.clone(),
            None => Claims::new(
                serde_json::from_slice::<C>(&payload).map_err(|_| AuthErrorKind::Malformed)?,
            ),
        };
        Ok(Checked {
            verified: Verified {
                standard,
                claims,
                algorithm,
                kid,
            },
            issuer: index,
            keys,
        })
    }

    #[cfg_attr(not(feature = "jwks-remote"), allow(unused_variables))]
    fn keys(issuer: &TrustedIssuer, refreshed: bool) -> Result<Keys<'_>, Step> {
        match issuer.keys().kind() {
            SourceKind::Static(keys) => Ok(Keys::Borrowed(keys)),
            #[cfg(feature = "jwks-remote")]
            SourceKind::Remote(remote) => match remote.current() {
                Some(keys) => Ok(Keys::Shared(keys)),
                None if refreshed => Err(AuthErrorKind::KeySourceUnavailable.into()),
                None => Err(Step::Refresh(remote.clone())),
            },
        }
    }

    #[cfg_attr(not(feature = "jwks-remote"), allow(unused_variables))]
    fn unknown_kid(issuer: &TrustedIssuer, refreshed: bool) -> Step {
        match issuer.keys().kind() {
            #[cfg(feature = "jwks-remote")]
            SourceKind::Remote(remote) if !refreshed => Step::Refresh(remote.clone()),
            // No cached key fits and the key source could not be reached: "try again later",
            // not "bad token" (the key may be one the source published since).
            #[cfg(feature = "jwks-remote")]
            SourceKind::Remote(remote) if remote.is_failing() => {
                AuthErrorKind::KeySourceUnavailable.into()
            }
            _ => AuthErrorKind::UnknownKey.into(),
        }
    }

    /// The time, in seconds since the Unix epoch, by the verifier's clock.
    pub(super) fn now(&self) -> i64 {
        let now = (self.inner.clock)()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        i64::try_from(now).unwrap_or(i64::MAX)
    }

    /// The checks on the claims, with their settings.
    #[cfg(feature = "verify-cache")]
    pub(super) fn validation(&self) -> &Validation {
        &self.inner.validation
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        let mut f = f.debug_struct("Verifier");
        f.field("issuers", &inner.issuers)
            .field("leeway", &inner.validation.leeway)
            .field("max_token_len", &inner.max_token_len)
            .field("require_exp", &inner.validation.require_exp)
            .field("typ", &inner.validation.typ)
            .field("token_type", &inner.validation.token_type)
            .field("required", &inner.validation.required)
            .field("mapping", &inner.mapping);
        #[cfg(feature = "verify-cache")]
        f.field("cache", &inner.cache);
        f.finish_non_exhaustive()
    }
}
