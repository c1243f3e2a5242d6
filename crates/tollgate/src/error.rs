//! The one rejection type shared by every tollgate layer, and the configuration errors.

use std::{
    borrow::Cow, convert::Infallible, error::Error as StdError, fmt, sync::Arc, time::Duration,
};

use http::StatusCode;

/// Why a request was refused by a tollgate layer.
///
/// Every layer (verify, revocation, policy) rejects with this one type. It is opaque: ask
/// [`AuthError::kind`] what failed. The error never holds the token itself, so it is safe to
/// log and to put in the response extensions, where outer layers can inspect it.
///
/// See the [crate docs](crate) for an example.
#[derive(Clone)]
pub struct AuthError {
    kind: AuthErrorKind,
    scope: Option<Arc<str>>,
    detail: Option<Cow<'static, str>>,
    retry_after: Option<Duration>,
    source: Option<Arc<dyn StdError + Send + Sync>>,
}

/// What failed, as returned by [`AuthError::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthErrorKind {
    /// The request carried no token (answered without an `error` attribute, RFC 6750 §3.1).
    MissingToken,
    /// The token, or the header or cookie carrying it, is not well formed: wrong number of
    /// segments, bad base64url, a header or payload that is not a JSON object, a claim of the
    /// wrong JSON type, a duplicate member, or a second `Authorization` header. When a claim
    /// is at fault, [`AuthError::detail`] names it (`` `exp` must be a NumericDate ``).
    Malformed,
    /// The token is longer than the configured maximum; it was not decoded.
    TooLarge,
    /// The header's `alg` is not one the configured keys may verify (`none` never is).
    UnsupportedAlgorithm,
    /// The header lists a `crit` extension tollgate does not understand (RFC 7515 §4.1.11).
    UnsupportedCritical,
    /// No configured key matches the token's `kid` (or, without a `kid`, its `alg`).
    UnknownKey,
    /// The signature does not verify with the selected key.
    InvalidSignature,
    /// `exp` is in the past (beyond the leeway).
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    IssuedInFuture,
    /// `iat` is older than the verifier's maximum token age (beyond the leeway), whatever
    /// `exp` says. See [`Verifier::max_age`](crate::verify::Verifier::max_age).
    TooOld,
    /// A required claim is absent.
    MissingClaim,
    /// `iss` is absent or not a trusted issuer.
    InvalidIssuer,
    /// `aud` is absent or names none of the accepted audiences.
    InvalidAudience,
    /// The header `typ` or the `token_type` claim is not the expected one (for example a
    /// refresh token presented as an access token).
    InvalidType,
    /// The key source (a remote JWKS) cannot be reached and no cached key fits: 503.
    KeySourceUnavailable,
    /// The token's `jti` is revoked.
    Revoked,
    /// The token's session (`sid`) has ended.
    SessionEnded,
    /// The token was issued before its subject's cut-off (logout everywhere, password change,
    /// suspension).
    CutOff,
    /// The token's permission version `ver` is older than the subject's current one: the
    /// client should refresh to get a token with the current permissions.
    StaleClaims,
    /// A route that checks revocation received a token without a `jti` (or without the
    /// claims the check needs).
    MissingJti,
    /// The revocation store could not answer in time and the route fails closed: 503.
    StoreUnavailable,
    /// The claims do not grant what the route requires: 403 `insufficient_scope`.
    InsufficientScope,
}

impl AuthErrorKind {
    /// The HTTP status this failure is answered with.
    #[must_use]
    pub const fn status(self) -> StatusCode {
        match self {
            Self::KeySourceUnavailable | Self::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::InsufficientScope => StatusCode::FORBIDDEN,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// The RFC 6750 `error` code, if the failure has one.
    ///
    /// `None` for a request without a token (RFC 6750 §3.1) and for the 503 answers.
    #[must_use]
    pub const fn bearer_error(self) -> Option<&'static str> {
        match self {
            Self::MissingToken | Self::KeySourceUnavailable | Self::StoreUnavailable => None,
            Self::InsufficientScope => Some("insufficient_scope"),
            _ => Some("invalid_token"),
        }
    }

    /// A stable snake-case code, used as the `code` member of problem bodies and in logs.
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Self::MissingToken => "missing_token",
            Self::Malformed => "malformed_token",
            Self::TooLarge => "token_too_large",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::UnsupportedCritical => "unsupported_critical_header",
            Self::UnknownKey => "unknown_key",
            Self::InvalidSignature => "invalid_signature",
            Self::Expired => "token_expired",
            Self::NotYetValid => "token_not_yet_valid",
            Self::IssuedInFuture => "token_issued_in_future",
            Self::TooOld => "token_too_old",
            Self::MissingClaim => "missing_claim",
            Self::InvalidIssuer => "invalid_issuer",
            Self::InvalidAudience => "invalid_audience",
            Self::InvalidType => "invalid_token_type",
            Self::KeySourceUnavailable => "key_source_unavailable",
            Self::Revoked => "token_revoked",
            Self::SessionEnded => "session_ended",
            Self::CutOff => "token_cut_off",
            Self::StaleClaims => "stale_claims",
            Self::MissingJti => "missing_jti",
            Self::StoreUnavailable => "revocation_store_unavailable",
            Self::InsufficientScope => "insufficient_scope",
        }
    }

    /// A short human description, used as the problem `detail`. It never contains the token.
    #[must_use]
    pub const fn description(self) -> &'static str {
        match self {
            Self::MissingToken => "no bearer token was sent",
            Self::Malformed => "the token is malformed",
            Self::TooLarge => "the token is larger than allowed",
            Self::UnsupportedAlgorithm => "the token's algorithm is not accepted",
            Self::UnsupportedCritical => "the token requires an unsupported critical extension",
            Self::UnknownKey => "no trusted key matches the token",
            Self::InvalidSignature => "the token's signature is invalid",
            Self::Expired => "the token has expired",
            Self::NotYetValid => "the token is not valid yet",
            Self::IssuedInFuture => "the token was issued in the future",
            Self::TooOld => "the token was issued too long ago",
            Self::MissingClaim => "the token lacks a required claim",
            Self::InvalidIssuer => "the token's issuer is not trusted",
            Self::InvalidAudience => "the token is not meant for this audience",
            Self::InvalidType => "the token is not of the expected type",
            Self::KeySourceUnavailable => "the key source is unavailable",
            Self::Revoked => "the token has been revoked",
            Self::SessionEnded => "the token's session has ended",
            Self::CutOff => "the token was issued before its subject's sessions were ended",
            Self::StaleClaims => {
                "the token's claims are stale: refresh it to get current permissions"
            }
            Self::MissingJti => "the token has no jti, which this route requires",
            Self::StoreUnavailable => "the revocation store is unavailable",
            Self::InsufficientScope => "the token does not grant the required permission",
        }
    }
}

impl fmt::Display for AuthErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

impl AuthError {
    /// A rejection of the given kind.
    #[must_use]
    pub fn new(kind: AuthErrorKind) -> Self {
        Self {
            kind,
            scope: None,
            detail: None,
            retry_after: None,
            source: None,
        }
    }

    /// An [`AuthErrorKind::InsufficientScope`] rejection naming the scope that was required.
    ///
    /// The scope goes into the `scope` attribute of the `WWW-Authenticate` challenge.
    #[must_use]
    pub fn insufficient_scope(scope: impl Into<Arc<str>>) -> Self {
        let mut error = Self::new(AuthErrorKind::InsufficientScope);
        error.scope = Some(scope.into());
        error
    }

    /// Attach a precise reason, such as the claim that made the token
    /// [`Malformed`](AuthErrorKind::Malformed). It names claims, never their values.
    #[must_use]
    pub(crate) fn with_detail(mut self, detail: impl Into<Cow<'static, str>>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Attach the underlying cause (a store or network error), for logs.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        self.source = Some(Arc::from(source.into()));
        self
    }

    /// Attach a `Retry-After` hint, used by the 503 answers.
    #[must_use]
    pub fn with_retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = Some(retry_after);
        self
    }

    /// What failed.
    #[must_use]
    pub fn kind(&self) -> AuthErrorKind {
        self.kind
    }

    /// The HTTP status for this rejection.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    /// The text used as the problem `detail`.
    #[must_use]
    pub fn body_text(&self) -> &'static str {
        self.kind.description()
    }

    /// The scope that was required, for [`AuthErrorKind::InsufficientScope`].
    #[must_use]
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// The precise reason, when there is one: for a malformed token, the claim that is not
    /// what it should be (`` `exp` is not a NumericDate ``, `` `sub` is a number, not a string
    /// ``). It names claims, never their values, and is part of `Display` (and so of the
    /// problem body's `detail`).
    #[must_use]
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// The `Retry-After` hint, if any.
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// Emit the `tracing` event for this rejection (target `tollgate::rejection`).
    ///
    /// Rejections are logged at `debug`; answers that mean a dependency is down (503) at `warn`,
    /// except the revocation store's: the revocation layer logs a store outage itself, once
    /// when it starts and once when it ends, and counts every request it refuses in its
    /// [`RevocationMetrics`](crate::revocation::RevocationMetrics). The token is never part of
    /// the event.
    pub(crate) fn log(&self, layer: &'static str) {
        let kind = self.kind.code();
        match (self.kind.status(), &self.source) {
            _ if self.kind == AuthErrorKind::StoreUnavailable => {
                tracing::debug!(target: "tollgate::rejection", layer, kind, error = self.source.as_ref().map(tracing::field::display), "request rejected");
            }
            (StatusCode::SERVICE_UNAVAILABLE, Some(source)) => {
                tracing::warn!(target: "tollgate::rejection", layer, kind, error = %source, "request rejected");
            }
            (StatusCode::SERVICE_UNAVAILABLE, None) => {
                tracing::warn!(target: "tollgate::rejection", layer, kind, "request rejected");
            }
            _ => {
                tracing::debug!(target: "tollgate::rejection", layer, kind, scope = self.scope.as_deref(), "request rejected");
            }
        }
    }
}

impl From<AuthErrorKind> for AuthError {
    fn from(kind: AuthErrorKind) -> Self {
        Self::new(kind)
    }
}

impl fmt::Debug for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthError")
            .field("kind", &self.kind)
            .field("scope", &self.scope)
            .field("detail", &self.detail)
            .field("retry_after", &self.retry_after)
            .field("source", &self.source.as_ref().map(ToString::to_string))
            .finish()
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.description())?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        if let Some(scope) = &self.scope {
            write!(f, " (requires `{scope}`)")?;
        }
        Ok(())
    }
}

impl StdError for AuthError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn StdError + 'static))
    }
}

/// A configuration value that tollgate refuses, returned where the value is supplied.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// An HMAC secret shorter than the hash output (RFC 7518 §3.2).
    WeakSecret {
        /// The algorithm the secret was meant for.
        algorithm: crate::key::Algorithm,
        /// The secret's length in bytes.
        len: usize,
        /// The minimum length in bytes.
        min: usize,
    },
    /// A key that cannot be parsed or does not fit its algorithm.
    InvalidKey {
        /// The key's `kid`, if it has one.
        kid: Option<String>,
        /// What is wrong with it.
        reason: String,
    },
    /// A JWK or JWK Set document that is not valid JSON of the right shape.
    InvalidJwks {
        /// What is wrong with it.
        reason: String,
    },
    /// Two keys of one key set share a `kid`.
    DuplicateKid {
        /// The repeated `kid`.
        kid: String,
    },
    /// Two trusted issuers share an `iss` value.
    DuplicateIssuer {
        /// The repeated issuer.
        issuer: String,
    },
    /// An unnamed issuer (one that accepts any `iss`) next to other issuers.
    AmbiguousIssuer,
    /// An empty value where one is needed.
    Empty {
        /// The setting that was empty.
        setting: &'static str,
    },
    /// A value outside the range tollgate accepts.
    OutOfRange {
        /// The setting.
        setting: &'static str,
        /// What the accepted range is.
        expected: &'static str,
    },
    /// A permission or policy string that does not parse.
    InvalidPolicy {
        /// The offending input.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A claim path of a [`ClaimMapping`](crate::verify::ClaimMapping) that does not parse,
    /// or that conflicts with the mapping's other paths.
    InvalidClaimPath {
        /// The path, in its string form.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A URL that does not parse or that tollgate refuses to fetch from.
    InvalidUrl {
        /// The offending URL.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The HTTP client could not be built (for example, its TLS backend failed to start).
    HttpClient {
        /// What failed.
        reason: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WeakSecret {
                algorithm,
                len,
                min,
            } => write!(
                f,
                "{algorithm} secret is {len} bytes, at least {min} are required"
            ),
            Self::InvalidKey {
                kid: Some(kid),
                reason,
            } => {
                write!(f, "invalid key `{kid}`: {reason}")
            }
            Self::InvalidKey { kid: None, reason } => write!(f, "invalid key: {reason}"),
            Self::InvalidJwks { reason } => write!(f, "invalid JWK set: {reason}"),
            Self::DuplicateKid { kid } => write!(f, "two keys share the kid `{kid}`"),
            Self::DuplicateIssuer { issuer } => {
                write!(f, "issuer `{issuer}` is configured twice")
            }
            Self::AmbiguousIssuer => f.write_str(
                "an issuer without a name accepts any `iss` and cannot be combined with others",
            ),
            Self::Empty { setting } => write!(f, "`{setting}` must not be empty"),
            Self::OutOfRange { setting, expected } => {
                write!(f, "`{setting}` is out of range: expected {expected}")
            }
            Self::InvalidPolicy { input, reason } => {
                write!(f, "invalid policy `{input}`: {reason}")
            }
            Self::InvalidClaimPath { path, reason } => {
                write!(f, "invalid claim path `{path}`: {reason}")
            }
            Self::InvalidUrl { url, reason } => write!(f, "invalid URL `{url}`: {reason}"),
            Self::HttpClient { reason } => write!(f, "cannot build the HTTP client: {reason}"),
        }
    }
}

impl StdError for ConfigError {}

/// For setters that take a value or something that parses into one, such as
/// [`ClaimMapping::roles`](crate::verify::ClaimMapping::roles) taking a
/// [`ClaimPath`](crate::verify::ClaimPath) or a `&str`.
impl From<Infallible> for ConfigError {
    fn from(never: Infallible) -> Self {
        match never {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_challenge_codes() {
        assert_eq!(
            AuthErrorKind::MissingToken.status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(AuthErrorKind::MissingToken.bearer_error(), None);
        assert_eq!(AuthErrorKind::Expired.bearer_error(), Some("invalid_token"));
        assert_eq!(
            AuthErrorKind::InsufficientScope.status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            AuthErrorKind::StoreUnavailable.status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[test]
    fn display_names_the_scope() {
        let error = AuthError::insufficient_scope("customer:read");
        assert_eq!(
            error.to_string(),
            "the token does not grant the required permission (requires `customer:read`)"
        );
    }
}
