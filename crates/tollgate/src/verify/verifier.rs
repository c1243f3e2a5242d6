//! The [`Verifier`]: every check on a token, without the HTTP around it.

#[cfg(feature = "verify-cache")]
use std::sync::Weak;
use std::{
    any::Any,
    borrow::Cow,
    collections::BTreeMap,
    fmt,
    ops::Deref,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use serde::{Deserialize, de::DeserializeOwned};

#[cfg(feature = "verify-cache")]
use super::cache::{Entry, TokenCache, VerifiedCache};
use super::jws::{Compact, Header, decode_segment_into, normalize_typ, typ_matches};
#[cfg(feature = "jwks-remote")]
use crate::key::remote::RemoteJwks;
use crate::{
    claims::{Claims, StandardClaims},
    error::{AuthError, AuthErrorKind, ConfigError},
    key::{
        algorithm::Algorithm,
        set::KeySet,
        source::{KeySource, SourceKind},
    },
};

/// The default maximum token length, checked before any decoding: 8 KiB.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 8 * 1024;

/// An issuer whose tokens are trusted: its `iss` value, its keys, and the audiences its tokens
/// must name.
///
/// When a [`Verifier`] trusts several issuers, the token's `iss` picks which one's keys and
/// audiences apply; it never widens what a key may verify.
///
/// See the [module docs](super) for an example.
#[derive(Clone, Debug)]
pub struct TrustedIssuer {
    name: Option<Arc<str>>,
    keys: KeySource,
    audiences: Vec<Arc<str>>,
}

impl TrustedIssuer {
    /// An issuer named `iss`: its tokens must carry exactly this `iss`.
    pub fn new(iss: impl Into<Arc<str>>, keys: impl Into<KeySource>) -> Self {
        Self {
            name: Some(iss.into()),
            keys: keys.into(),
            audiences: Vec::new(),
        }
    }

    /// An issuer without a name: the `iss` claim is not checked. It must be the only issuer
    /// of its verifier.
    pub fn any_issuer(keys: impl Into<KeySource>) -> Self {
        Self {
            name: None,
            keys: keys.into(),
            audiences: Vec::new(),
        }
    }

    /// Accept tokens whose `aud` names `audience`. Once one audience is added, a token must
    /// name at least one of them; a token without `aud` is refused.
    #[must_use]
    pub fn add_audience(mut self, audience: impl Into<Arc<str>>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// The issuer's `iss`, if it has one.
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

/// Verifies tokens: signature with a configured key, then the claims.
///
/// Cheap to clone (the configuration is shared). Used by
/// [`VerifyLayer`](crate::VerifyLayer), and directly wherever a token arrives outside a
/// header (a refresh endpoint, a WebSocket message).
///
/// What it checks, in order: the length (before decoding), three strict base64url segments,
/// the header (`alg` within the keys' algorithms, no `crit`), the key (by `kid`, bound to
/// one algorithm), the signature, then `typ`, `token_type`, `exp`, `nbf`, `iat`, `iss`, `aud`
/// and the required claims.
///
/// See the [module docs](super) for an example.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    issuers: Vec<TrustedIssuer>,
    leeway: i64,
    max_token_len: usize,
    require_exp: bool,
    typ: Option<Box<str>>,
    token_type: Option<Box<str>>,
    required: Vec<Box<str>>,
    clock: fn() -> SystemTime,
    /// The header segments the configured keys' tokens usually carry, parsed in advance.
    known_headers: Vec<KnownHeader>,
    #[cfg(feature = "verify-cache")]
    cache: Option<TokenCache>,
}

/// A header segment parsed in advance (by [`Header::parse`], from the same bytes): a token
/// whose header segment is exactly this text has exactly this header, since strict base64url
/// has one encoding per byte string.
#[derive(Clone, Debug)]
struct KnownHeader {
    segment: Box<str>,
    alg: Algorithm,
    kid: Option<Box<str>>,
    typ: Option<Box<str>>,
}

/// At most this many headers are parsed in advance.
const MAX_KNOWN_HEADERS: usize = 64;

/// The header segments that tokens for `issuers`' static keys usually carry: `alg`, the key's
/// `kid` if it has one, and no `typ`, `JWT` or `at+jwt`, in the member orders common
/// libraries write (`typ` first as `jsonwebtoken` does, or `alg` first).
fn known_headers(issuers: &[TrustedIssuer]) -> Vec<KnownHeader> {
    use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};

    let mut known: Vec<KnownHeader> = Vec::new();
    // Without `jwks-remote` every source is static and the filter never drops one.
    #[cfg_attr(not(feature = "jwks-remote"), allow(clippy::unnecessary_filter_map))]
    let keys = issuers
        .iter()
        .filter_map(|issuer| match issuer.keys.kind() {
            SourceKind::Static(keys) => Some(keys.iter()),
            #[cfg(feature = "jwks-remote")]
            SourceKind::Remote(_) => None,
        });
    for key in keys.flatten() {
        let alg = key.algorithm().as_str();
        let kid = key
            .kid()
            .map(|kid| format!(",\"kid\":{}", serde_json::Value::from(kid)));
        let kid = kid.as_deref().unwrap_or("");
        for typ in [None, Some("JWT"), Some("at+jwt")] {
            let mut variants = vec![format!("{{\"alg\":\"{alg}\"{kid}}}")];
            if let Some(typ) = typ {
                variants = vec![
                    format!("{{\"typ\":\"{typ}\",\"alg\":\"{alg}\"{kid}}}"),
                    format!("{{\"alg\":\"{alg}\",\"typ\":\"{typ}\"{kid}}}"),
                    format!("{{\"alg\":\"{alg}\"{kid},\"typ\":\"{typ}\"}}"),
                ];
            }
            for json in variants {
                let segment = URL_SAFE_NO_PAD.encode(&json);
                if known.len() >= MAX_KNOWN_HEADERS {
                    return known;
                }
                if known.iter().any(|k| *k.segment == *segment) {
                    continue;
                }
                // Parsed by the same code as any other header: the entry is what parsing
                // the token's own header would give.
                let Ok(header) = Header::parse(json.as_bytes()) else {
                    continue;
                };
                let Ok(alg) = header.alg.parse::<Algorithm>() else {
                    continue;
                };
                known.push(KnownHeader {
                    segment: segment.into(),
                    alg,
                    kid: header.kid.map(|kid| kid.into()),
                    typ: header.typ.map(|typ| typ.into()),
                });
            }
        }
    }
    known
}

/// A verified token: its claims as `C`, its [`StandardClaims`], and how it was signed.
#[derive(Debug)]
pub struct Verified<C = StandardClaims> {
    standard: Claims<StandardClaims>,
    claims: Claims<C>,
    algorithm: Algorithm,
    kid: Option<Arc<str>>,
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
struct Checked<'a, C> {
    verified: Verified<C>,
    #[cfg_attr(not(feature = "verify-cache"), allow(dead_code))]
    issuer: usize,
    #[cfg_attr(not(feature = "verify-cache"), allow(dead_code))]
    keys: Keys<'a>,
}

/// Decoding buffers on the stack, in bytes: a header with `alg`, `kid` and `typ`; the claims of
/// a typical access token; an RSA-4096 signature. Larger segments are decoded onto the heap.
const HEADER_BUF: usize = 256;
const PAYLOAD_BUF: usize = 1024;
const SIGNATURE_BUF: usize = 512;

/// A key set, borrowed from a static source or shared from a remote one.
enum Keys<'a> {
    Borrowed(&'a KeySet),
    #[cfg(feature = "jwks-remote")]
    Shared(Arc<KeySet>),
}

impl Keys<'_> {
    /// The fetched key set, to tell later whether it is still the current one.
    #[cfg(feature = "verify-cache")]
    fn fetched(&self) -> Option<Weak<KeySet>> {
        match self {
            Keys::Borrowed(_) => None,
            #[cfg(feature = "jwks-remote")]
            Keys::Shared(keys) => Some(Arc::downgrade(keys)),
        }
    }
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

#[derive(Deserialize)]
struct IssuerOnly<'a> {
    #[serde(borrow, default)]
    iss: Option<Cow<'a, str>>,
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
                leeway: 0,
                max_token_len: DEFAULT_MAX_TOKEN_LEN,
                require_exp: true,
                typ: None,
                token_type: None,
                required: Vec::new(),
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
        let Some(name) = issuer.name.as_deref() else {
            return Err(ConfigError::AmbiguousIssuer);
        };
        for existing in &self.inner.issuers {
            match existing.name.as_deref() {
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
        self.inner_mut().leeway = seconds;
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
        self.inner_mut().require_exp = required;
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
        self.inner_mut().typ = Some(typ.into_boxed_str());
        Ok(self)
    }

    /// Require the `token_type` claim (in the payload) to be exactly `token_type` (e.g.
    /// `access`), so that a refresh token is never accepted as an access token. A token
    /// without the claim is refused. The JOSE header's `typ` is checked by
    /// [`header_typ`](Self::header_typ).
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
        self.inner_mut().token_type = Some(token_type.into());
        Ok(self)
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
        self.inner_mut().required.push(name.into());
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
        #[cfg(feature = "verify-cache")]
        if let Some(cache) = &self.inner.cache
            && let Some(verified) = self.cached(cache, token)
        {
            return Outcome::Verified(verified);
        }
        match self.check(token, refreshed) {
            Ok(checked) => {
                #[cfg(feature = "verify-cache")]
                if let Some(cache) = &self.inner.cache {
                    self.admit(cache, token, &checked);
                }
                Outcome::Verified(checked.verified)
            }
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

        let (index, issuer) = self.select_issuer(&payload)?;
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

        // The claims set is a JSON object (RFC 7519 §7.2); serde would also read a struct
        // from an array.
        if payload.trim_ascii_start().first() != Some(&b'{') {
            return Err(AuthErrorKind::Malformed.into());
        }
        let standard: StandardClaims =
            serde_json::from_slice(&payload).map_err(|_| AuthErrorKind::Malformed)?;
        self.validate(&header, &standard, issuer, self.now())?;
        if !inner.required.is_empty() {
            Self::check_required(&inner.required, &standard, &payload)?;
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

    /// A cached verification of `token`, if there is one that is still valid.
    #[cfg(feature = "verify-cache")]
    fn cached<C>(&self, cache: &TokenCache, token: &str) -> Option<Verified<C>>
    where
        C: Send + Sync + 'static,
    {
        let entry = cache.get(token)?;
        if self.validate_times(&entry.standard, self.now()).is_err() {
            // Expired (or the clock went back): the full check gives the reason.
            cache.remove(token);
            return None;
        }
        if let Some(verified_with) = &entry.keys
            && !self.keys_unchanged(entry.issuer, verified_with)
        {
            cache.remove(token);
            return None;
        }
        // Another claims type than the one cached: verify again (and cache that one).
        let claims = Arc::clone(&entry.claims).downcast::<C>().ok()?;
        Some(Verified {
            standard: entry.standard.clone(),
            claims: Claims(claims),
            algorithm: entry.algorithm,
            kid: entry.kid.clone(),
        })
    }

    /// Put a token that passed every check into the cache, until it expires.
    #[cfg(feature = "verify-cache")]
    fn admit<C>(&self, cache: &TokenCache, token: &str, checked: &Checked<'_, C>)
    where
        C: Send + Sync + 'static,
    {
        let verified = &checked.verified;
        let max = cache.time_to_live();
        let ttl = match verified.standard.exp {
            Some(exp) => {
                let left = exp
                    .saturating_add(self.inner.leeway)
                    .saturating_sub(self.now());
                u64::try_from(left)
                    .map_or(Duration::ZERO, |secs| Duration::from_secs(secs).min(max))
            }
            None => max,
        };
        if ttl.is_zero() {
            return;
        }
        let claims: Arc<dyn Any + Send + Sync> = Arc::clone(&verified.claims.0) as _;
        cache.insert(
            token,
            Entry {
                standard: verified.standard.clone(),
                claims,
                algorithm: verified.algorithm,
                kid: verified.kid.clone(),
                issuer: checked.issuer,
                keys: checked.keys.fetched(),
                ttl,
            },
        );
    }

    /// Whether the fetched key set `verified_with` is still the current one of `issuer`.
    #[cfg(feature = "verify-cache")]
    #[cfg_attr(not(feature = "jwks-remote"), allow(unused_variables))]
    fn keys_unchanged(&self, issuer: usize, verified_with: &Weak<KeySet>) -> bool {
        match self
            .inner
            .issuers
            .get(issuer)
            .map(|issuer| issuer.keys.kind())
        {
            #[cfg(feature = "jwks-remote")]
            Some(SourceKind::Remote(remote)) => remote
                .current()
                .is_some_and(|current| std::ptr::eq(Arc::as_ptr(&current), verified_with.as_ptr())),
            _ => false,
        }
    }

    fn select_issuer(&self, payload: &[u8]) -> Result<(usize, &TrustedIssuer), AuthErrorKind> {
        match self.inner.issuers.as_slice() {
            [only] => Ok((0, only)),
            many => {
                let peek: IssuerOnly<'_> =
                    serde_json::from_slice(payload).map_err(|_| AuthErrorKind::Malformed)?;
                let iss = peek.iss.ok_or(AuthErrorKind::InvalidIssuer)?;
                many.iter()
                    .enumerate()
                    .find(|(_, issuer)| issuer.name.as_deref() == Some(&*iss))
                    .ok_or(AuthErrorKind::InvalidIssuer)
            }
        }
    }

    #[cfg_attr(not(feature = "jwks-remote"), allow(unused_variables))]
    fn keys(issuer: &TrustedIssuer, refreshed: bool) -> Result<Keys<'_>, Step> {
        match issuer.keys.kind() {
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
        match issuer.keys.kind() {
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

    fn now(&self) -> i64 {
        let now = (self.inner.clock)()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        i64::try_from(now).unwrap_or(i64::MAX)
    }

    fn validate(
        &self,
        header: &HeaderRef<'_>,
        claims: &StandardClaims,
        issuer: &TrustedIssuer,
        now: i64,
    ) -> Result<(), AuthErrorKind> {
        let inner = &*self.inner;
        if let Some(expected) = inner.typ.as_deref()
            && !header.typ.is_some_and(|typ| typ_matches(typ, expected))
        {
            return Err(AuthErrorKind::InvalidType);
        }
        if let Some(expected) = inner.token_type.as_deref()
            && claims.token_type.as_deref() != Some(expected)
        {
            return Err(AuthErrorKind::InvalidType);
        }
        self.validate_times(claims, now)?;
        if let Some(name) = issuer.name.as_deref()
            && claims.iss.as_deref() != Some(name)
        {
            return Err(AuthErrorKind::InvalidIssuer);
        }
        if !issuer.audiences.is_empty()
            && !issuer
                .audiences
                .iter()
                .any(|audience| claims.aud.contains(audience))
        {
            return Err(AuthErrorKind::InvalidAudience);
        }
        Ok(())
    }

    /// The checks that depend on the time: `exp`, `nbf`, `iat`.
    fn validate_times(&self, claims: &StandardClaims, now: i64) -> Result<(), AuthErrorKind> {
        let inner = &*self.inner;
        let leeway = inner.leeway;
        match claims.exp {
            Some(exp) if now.saturating_sub(leeway) >= exp => return Err(AuthErrorKind::Expired),
            None if inner.require_exp => return Err(AuthErrorKind::MissingClaim),
            _ => {}
        }
        if claims
            .nbf
            .is_some_and(|nbf| now.saturating_add(leeway) < nbf)
        {
            return Err(AuthErrorKind::NotYetValid);
        }
        if claims
            .iat
            .is_some_and(|iat| iat > now.saturating_add(leeway))
        {
            return Err(AuthErrorKind::IssuedInFuture);
        }
        Ok(())
    }

    fn check_required(
        required: &[Box<str>],
        claims: &StandardClaims,
        payload: &[u8],
    ) -> Result<(), AuthErrorKind> {
        let mut generic: Option<BTreeMap<String, serde_json::Value>> = None;
        for name in required {
            let present = match &**name {
                "iss" => claims.iss.is_some(),
                "sub" => claims.sub.is_some(),
                "aud" => !claims.aud.is_empty(),
                "exp" => claims.exp.is_some(),
                "nbf" => claims.nbf.is_some(),
                "iat" => claims.iat.is_some(),
                "jti" => claims.jti.is_some(),
                "sid" => claims.sid.is_some(),
                "org" => claims.org.is_some(),
                "ver" => claims.ver.is_some(),
                "token_type" => claims.token_type.is_some(),
                "scope" => claims.scope.is_some(),
                other => {
                    if generic.is_none() {
                        generic = Some(
                            serde_json::from_slice(payload)
                                .map_err(|_| AuthErrorKind::Malformed)?,
                        );
                    }
                    generic
                        .as_ref()
                        .and_then(|map| map.get(other))
                        .is_some_and(|value| !value.is_null())
                }
            };
            if !present {
                return Err(AuthErrorKind::MissingClaim);
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        let mut f = f.debug_struct("Verifier");
        f.field("issuers", &inner.issuers)
            .field("leeway", &inner.leeway)
            .field("max_token_len", &inner.max_token_len)
            .field("require_exp", &inner.require_exp)
            .field("typ", &inner.typ)
            .field("token_type", &inner.token_type)
            .field("required", &inner.required);
        #[cfg(feature = "verify-cache")]
        f.field("cache", &inner.cache);
        f.finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};

    use super::*;
    use crate::key::Key;

    #[test]
    fn known_headers_are_what_parsing_gives() {
        let key = Key::hmac(Algorithm::HS256, &[7; 32])
            .unwrap()
            .with_kid("k\"1");
        let verifier = Verifier::new(TrustedIssuer::new("iss", key));
        let known = &verifier.inner.known_headers;
        assert!(!known.is_empty());
        for entry in known {
            let bytes = URL_SAFE_NO_PAD.decode(&*entry.segment).unwrap();
            let header = Header::parse(&bytes).unwrap();
            assert_eq!(header.alg.parse::<Algorithm>().unwrap(), entry.alg);
            assert_eq!(header.kid.as_deref(), entry.kid.as_deref());
            assert_eq!(header.kid.as_deref(), Some("k\"1"));
            assert_eq!(header.typ.as_deref(), entry.typ.as_deref());
        }
        // The header `jsonwebtoken` writes is among them.
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some("k\"1".to_owned());
        let segment = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap());
        assert!(known.iter().any(|k| *k.segment == *segment));
    }
}
