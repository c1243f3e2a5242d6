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

    /// Where the issuer's keys come from.
    pub(super) fn keys(&self) -> &KeySource {
        &self.keys
    }

    /// The audiences a token must name one of; empty when none is configured.
    pub(super) fn audiences(&self) -> &[Arc<str>] {
        &self.audiences
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
