//! [`TrustedIssuer`]: an issuer whose tokens are trusted, and how a token's `iss` selects one.

use std::{borrow::Cow, sync::Arc};

use serde::Deserialize;

use crate::{error::AuthErrorKind, key::source::KeySource};

/// An issuer whose tokens are trusted: its `iss` value, its keys, and the audiences its tokens
/// must name.
///
/// When a [`Verifier`](super::Verifier) trusts several issuers, the token's `iss` picks which
/// one's keys and audiences apply; it never widens what a key may verify.
///
/// # Audience
///
/// With [`add_audience`](Self::add_audience), a token must name one of the configured
/// audiences in its `aud` claim; a token without `aud` is refused. Without any audience
/// configured, a token without `aud` is accepted, and a token that carries one is refused
/// ([`InvalidAudience`](crate::AuthErrorKind::InvalidAudience)): RFC 7519 §4.1.3 has a
/// recipient reject a token whose `aud` does not name it, and a service without an audience
/// names itself nowhere. [`accept_any_audience`](Self::accept_any_audience) accepts every
/// audience instead, as an explicit choice.
///
/// See the [module docs](super) for an example.
#[derive(Clone, Debug)]
pub struct TrustedIssuer {
    name: Option<Arc<str>>,
    keys: KeySource,
    audiences: Vec<Arc<str>>,
    any_audience: bool,
}

impl TrustedIssuer {
    /// An issuer named `iss`: its tokens must carry exactly this `iss`.
    pub fn new(iss: impl Into<Arc<str>>, keys: impl Into<KeySource>) -> Self {
        Self {
            name: Some(iss.into()),
            keys: keys.into(),
            audiences: Vec::new(),
            any_audience: false,
        }
    }

    /// The OpenID Connect issuer `issuer`: its tokens must carry exactly this `iss`, and its
    /// keys are found through its configuration document
    /// ([`RemoteJwks::discover`](crate::key::RemoteJwks::discover), with the default
    /// settings; build the [`RemoteJwks`](crate::key::RemoteJwks) yourself and pass it to
    /// [`TrustedIssuer::new`] with the same `issuer` to change them).
    ///
    /// # Errors
    ///
    /// As [`RemoteJwks::discover`](crate::key::RemoteJwks::discover).
    #[cfg(feature = "jwks-remote")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks-remote")))]
    pub fn discover(issuer: &str) -> Result<Self, crate::ConfigError> {
        let keys = crate::key::RemoteJwks::discover(issuer)?;
        Ok(Self::new(issuer, keys))
    }

    /// An issuer without a name: the `iss` claim is not checked. It must be the only issuer
    /// of its verifier.
    pub fn any_issuer(keys: impl Into<KeySource>) -> Self {
        Self {
            name: None,
            keys: keys.into(),
            audiences: Vec::new(),
            any_audience: false,
        }
    }

    /// Accept tokens whose `aud` names `audience`. Once one audience is added, a token must
    /// name at least one of them; a token without `aud` is refused.
    #[must_use]
    pub fn add_audience(mut self, audience: impl Into<Arc<str>>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Accept tokens whatever their `aud` names, with or without one.
    ///
    /// Without an audience configured, a token that carries `aud` is refused (RFC 7519
    /// §4.1.3: a recipient that does not identify itself with a value in `aud` must reject the
    /// token). This opts out of that check, as an explicit choice: for a service that trusts
    /// every audience of its issuer (an issuer that serves this service alone, or a gateway in
    /// front of all of them). Prefer [`add_audience`](Self::add_audience) wherever the service
    /// has a name of its own: a token issued for another service is then refused.
    ///
    /// Has no effect once an audience is added: the token must then name one of them.
    #[must_use]
    pub fn accept_any_audience(mut self) -> Self {
        self.any_audience = true;
        self
    }

    /// The issuer's `iss`, if it has one.
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Where the issuer's keys come from.
    pub(super) fn keys(&self) -> &KeySource {
        &self.keys
    }

    /// The audiences a token must name one of; empty when none is configured.
    pub(super) fn audiences(&self) -> &[Arc<str>] {
        &self.audiences
    }

    /// Whether [`accept_any_audience`](Self::accept_any_audience) was chosen.
    pub(super) fn accepts_any_audience(&self) -> bool {
        self.any_audience
    }
}

/// The issuer among `issuers` that the token with claims `payload` is for, and its index: the
/// only one, or the one named by `iss`.
pub(super) fn select_issuer<'a>(
    issuers: &'a [TrustedIssuer],
    payload: &[u8],
) -> Result<(usize, &'a TrustedIssuer), AuthErrorKind> {
    match issuers {
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

#[derive(Deserialize)]
struct IssuerOnly<'a> {
    #[serde(borrow, default)]
    iss: Option<Cow<'a, str>>,
}
