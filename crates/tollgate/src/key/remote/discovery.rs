//! OpenID Connect discovery: an issuer's `jwks_uri`, read from its configuration document
//! (`<issuer>/.well-known/openid-configuration`), then fetched by the same engine as any
//! [`RemoteJwks`](super::RemoteJwks).

use std::{
    fmt,
    sync::{Arc, Mutex, PoisonError},
};

use reqwest::Url;
use serde::Deserialize;

use super::{
    builder::check_url,
    error::{JwksError, JwksErrorKind},
    fetch::Inner,
};

const ACCEPT: &str = "application/json";

/// The issuer a [`RemoteJwks`](super::RemoteJwks) discovers its keys for, and the
/// `jwks_uri` its configuration document named.
pub(super) struct Discovery {
    issuer: Arc<str>,
    allow_http: bool,
    /// The `jwks_uri` of the last document read. Cleared when a fetch of the JWK Set fails,
    /// so that the next attempt reads the document again.
    jwks_uri: Mutex<Option<Url>>,
}

/// The members of the configuration document tollgate reads; the others are ignored.
#[derive(Deserialize)]
struct Document {
    issuer: String,
    jwks_uri: String,
}

impl Discovery {
    pub(super) fn new(issuer: &str, allow_http: bool) -> Self {
        Self {
            issuer: issuer.into(),
            allow_http,
            jwks_uri: Mutex::new(None),
        }
    }

    pub(super) fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The `jwks_uri` in use, if a document has been read since the last failed fetch.
    pub(super) fn jwks_uri(&self) -> Option<Url> {
        self.jwks_uri
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Forget the `jwks_uri`: the next fetch reads the configuration document first.
    pub(super) fn forget(&self) {
        *self.jwks_uri.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// The URL of the JWK Set: the one in use, or the `jwks_uri` of the configuration
    /// document at `inner.url`, fetched now with the same bounds as a JWK Set.
    pub(super) async fn resolve(&self, inner: &Inner) -> Result<Url, JwksError> {
        if let Some(url) = self.jwks_uri() {
            return Ok(url);
        }
        let (body, _) = inner
            .get(&inner.url, ACCEPT)
            .await
            .map_err(JwksError::in_discovery)?;
        let url = self.read(&body)?;
        tracing::debug!(target: "tollgate::jwks", issuer = %self.issuer, jwks_uri = %url, "OpenID configuration read");
        *self.jwks_uri.lock().unwrap_or_else(PoisonError::into_inner) = Some(url.clone());
        Ok(url)
    }

    /// The `jwks_uri` of a configuration document, once its `issuer` is checked.
    fn read(&self, body: &[u8]) -> Result<Url, JwksError> {
        let invalid = || JwksError::new(JwksErrorKind::InvalidDiscovery).in_discovery();
        let document: Document =
            serde_json::from_slice(body).map_err(|error| invalid().with_source(error))?;
        // OpenID Connect Discovery 1.0 §4.3: identical, character for character. A document
        // for another issuer would let that issuer's keys sign tokens for this one.
        if document.issuer != *self.issuer {
            return Err(JwksError::new(JwksErrorKind::IssuerMismatch).in_discovery());
        }
        check_url(&document.jwks_uri, self.allow_http)
            .map_err(|reason| invalid().with_source(JwksUriRefused(reason)))
    }
}

impl fmt::Debug for Discovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Discovery")
            .field("issuer", &self.issuer)
            .field("jwks_uri", &self.jwks_uri().as_ref().map(Url::as_str))
            .finish_non_exhaustive()
    }
}

/// Why a document's `jwks_uri` is refused.
#[derive(Debug)]
struct JwksUriRefused(&'static str);

impl fmt::Display for JwksUriRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the `jwks_uri` is refused: {}", self.0)
    }
}

impl std::error::Error for JwksUriRefused {}
