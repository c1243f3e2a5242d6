//! [`JwksError`]: why a fetch of a remote JWK Set failed.

use std::{error::Error as StdError, fmt, sync::Arc};

use http::StatusCode;

/// A failed fetch of a remote JWK Set.
///
/// Opaque: ask [`JwksError::kind`] what failed. Cheap to clone (the cause is shared).
#[derive(Clone, Debug)]
pub struct JwksError {
    kind: JwksErrorKind,
    /// The failure was in fetching the OpenID configuration document.
    discovery: bool,
    status: Option<StatusCode>,
    source: Option<Arc<dyn StdError + Send + Sync>>,
}

/// What failed, as returned by [`JwksError::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JwksErrorKind {
    /// The endpoint could not be reached, or the connection failed: DNS, TCP, TLS, or a
    /// broken response.
    Unreachable,
    /// The fetch took longer than the configured timeout.
    Timeout,
    /// The endpoint answered with a status other than 2xx (and not a redirect).
    Status,
    /// The endpoint answered with a redirect (3xx), or the client followed one. Redirects are
    /// never followed.
    Redirect,
    /// The response body is larger than the configured maximum.
    TooLarge,
    /// The body is not a JWK Set: not JSON, not the right shape, or two keys share a `kid`.
    InvalidJwks,
    /// The JWK Set holds no key that can verify signatures.
    NoUsableKeys,
    /// The OpenID configuration document is not valid: not a JSON object with string
    /// `issuer` and `jwks_uri` members, or a `jwks_uri` tollgate refuses to fetch from (not
    /// `https`, and not `http` to a loopback address or with the allow-http builder).
    InvalidDiscovery,
    /// The OpenID configuration document names another `issuer` than the configured one
    /// (OpenID Connect Discovery 1.0 §4.3: they must be identical).
    IssuerMismatch,
    /// The fetch could not run to its end: no Tokio runtime, or the runtime shut down.
    Interrupted,
}

impl JwksErrorKind {
    /// A stable snake-case code, used in logs and as the `outcome` label of the
    /// `tollgate_jwks_refreshes_total` metric (feature `metrics`).
    ///
    /// ```
    /// use tollgate::key::JwksErrorKind;
    ///
    /// assert_eq!(JwksErrorKind::Timeout.code(), "timeout");
    /// assert_eq!(JwksErrorKind::InvalidJwks.code(), "invalid_jwks");
    /// ```
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Self::Unreachable => "unreachable",
            Self::Timeout => "timeout",
            Self::Status => "error_status",
            Self::Redirect => "redirect",
            Self::TooLarge => "too_large",
            Self::InvalidJwks => "invalid_jwks",
            Self::NoUsableKeys => "no_usable_keys",
            Self::Interrupted => "interrupted",
            Self::InvalidDiscovery => "invalid_discovery",
            Self::IssuerMismatch => "issuer_mismatch",
        }
    }
}

impl JwksError {
    pub(super) fn new(kind: JwksErrorKind) -> Self {
        Self {
            kind,
            discovery: false,
            status: None,
            source: None,
        }
    }

    /// Mark the error as one of the fetch of the OpenID configuration document.
    pub(super) fn in_discovery(mut self) -> Self {
        self.discovery = true;
        self
    }

    pub(super) fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    pub(super) fn with_status(mut self, status: StatusCode) -> Self {
        self.status = Some(status);
        self
    }

    pub(super) fn transport(error: reqwest::Error) -> Self {
        let kind = if error.is_timeout() {
            JwksErrorKind::Timeout
        } else if error.is_redirect() {
            JwksErrorKind::Redirect
        } else {
            JwksErrorKind::Unreachable
        };
        Self::new(kind).with_source(error)
    }

    /// What failed.
    #[must_use]
    pub fn kind(&self) -> JwksErrorKind {
        self.kind
    }

    /// Whether the failure was in fetching the OpenID configuration document (of a
    /// [`RemoteJwks::discover`](super::RemoteJwks::discover) key source) rather than the JWK
    /// Set itself.
    #[must_use]
    pub fn is_discovery(&self) -> bool {
        self.discovery
    }

    /// The HTTP status of the response, for [`JwksErrorKind::Status`] and
    /// [`JwksErrorKind::Redirect`].
    #[must_use]
    pub fn status(&self) -> Option<StatusCode> {
        self.status
    }
}

impl fmt::Display for JwksError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (endpoint, response) = if self.discovery {
            (
                "the OpenID configuration endpoint",
                "the OpenID configuration",
            )
        } else {
            ("the JWKS endpoint", "the JWKS response")
        };
        match (self.kind, self.status) {
            (JwksErrorKind::Unreachable, _) => write!(f, "cannot reach {endpoint}"),
            (JwksErrorKind::Timeout, _) => write!(f, "{endpoint} did not answer in time"),
            (JwksErrorKind::Status, Some(status)) => {
                write!(f, "{endpoint} answered with status {status}")
            }
            (JwksErrorKind::Status, None) => {
                write!(f, "{endpoint} answered with an error status")
            }
            (JwksErrorKind::Redirect, _) => write!(
                f,
                "{endpoint} answered with a redirect, and redirects are not followed"
            ),
            (JwksErrorKind::TooLarge, _) => {
                write!(f, "{response} is larger than the configured maximum")
            }
            (JwksErrorKind::InvalidDiscovery, _) => f.write_str(
                "the OpenID configuration is not valid: it needs an `issuer` and an https `jwks_uri`",
            ),
            (JwksErrorKind::IssuerMismatch, _) => f.write_str(
                "the OpenID configuration names another issuer than the one configured",
            ),
            (JwksErrorKind::InvalidJwks, _) => f.write_str("the JWKS response is not a JWK set"),
            (JwksErrorKind::NoUsableKeys, _) => {
                f.write_str("the JWK set holds no key that can verify signatures")
            }
            (JwksErrorKind::Interrupted, _) => f.write_str("the JWKS fetch did not run to its end"),
        }
    }
}

impl StdError for JwksError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn StdError + 'static))
    }
}
