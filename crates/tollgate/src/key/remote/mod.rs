//! Remote JWK Set: fetched over HTTP, cached, refreshed in the background.
//!
//! Here the [`RemoteJwks`] handle; its settings in `builder.rs`, its errors in `error.rs`, and
//! the fetch and refresh engine behind it in `fetch.rs`.

pub(crate) mod builder;
mod discovery;
pub(crate) mod error;
mod fetch;
#[cfg(test)]
mod tests;

use std::{fmt, future::Future, sync::Arc};

use self::{
    builder::RemoteJwksBuilder,
    error::JwksError,
    fetch::{Inner, wait},
};
use crate::{error::ConfigError, key::set::KeySet};

/// A JWK Set fetched from a URL, cached, and refreshed in the background.
///
/// Build it with [`RemoteJwks::new`] or [`RemoteJwks::builder`] and give it to a
/// [`TrustedIssuer`](crate::verify::TrustedIssuer) as the issuer's keys. Clones share one cache and
/// one background task. Fetching needs a Tokio runtime: the fetches and the periodic refresh
/// run as Tokio tasks.
///
/// A [`RemoteJwks`] is the key source of an issuer that publishes its keys at a URL (its
/// `jwks_uri`). It is cheap to clone (an `Arc` inside) and does no I/O when it is built: the
/// first fetch happens on the first token that needs a key, or earlier when you call
/// [`RemoteJwks::refresh`] at startup to fail fast.
///
/// - **Periodic refresh.** After the first fetch, a background task on the Tokio runtime
///   fetches the set again every [`refresh_interval`](RemoteJwksBuilder::refresh_interval)
///   (5 minutes by default, sooner when the response's `Cache-Control: max-age` asks for it).
///   The task holds no strong reference: it stops when the last clone of the `RemoteJwks` is
///   dropped.
/// - **Unknown `kid`.** A token naming a `kid` that is not in the set asks for a refresh. The
///   refresh is single-flight (any number of concurrent requests cause one fetch, and all of
///   them wait for it) and limited by a cool-down
///   ([`min_refresh_interval`](RemoteJwksBuilder::min_refresh_interval), 10 seconds by
///   default) that starts with each such fetch: inside it no fetch is made at once, one is
///   scheduled for its end. Periodic fetches start no cool-down, so they never delay a new key.
/// - **Failures.** A failed refresh keeps the last good key set in use, for at most
///   [`max_stale`](RemoteJwksBuilder::max_stale) (1 hour by default) past the time it was due
///   for refresh; after that no key is served, and requests get 503 (key source
///   unavailable), never 401.
/// - **OpenID Connect discovery.** [`RemoteJwks::discover`] takes an issuer URL instead:
///   the key set's URL is the `jwks_uri` of the issuer's configuration document
///   (`<issuer>/.well-known/openid-configuration`), whose `issuer` must equal the configured
///   one exactly. The document is read before the first fetch, and read again before the
///   next fetch whenever a fetch of the key set fails (the issuer may have moved its keys);
///   the fetch of the document and of the key set together are one fetch for the timeout,
///   the size bound, the refresh, the cool-down and `max_stale`. A document that cannot be
///   fetched, or is not valid, is a failed fetch like any other.
/// - **Safety.** Redirects are not followed, the response body is read incrementally and
///   refused past [`max_response_bytes`](RemoteJwksBuilder::max_response_bytes) (256 KiB),
///   every fetch is bounded by a [`timeout`](RemoteJwksBuilder::timeout) (10 seconds),
///   plain `http` URLs are refused except to loopback addresses, and shared-secret (`oct`,
///   HS*) keys in a fetched set are ignored: a published secret would let anyone sign.
///
/// The whole story, with the failure modes, is in `docs/jwks.md`.
///
/// ```
/// use std::time::Duration;
/// use tollgate::{VerifyLayer, key::RemoteJwks, verify::{TrustedIssuer, Verifier}};
///
/// let jwks = RemoteJwks::builder("https://idp.example.com/.well-known/jwks.json")?
///     .refresh_interval(Duration::from_secs(600))?
///     .max_stale(Duration::from_secs(2 * 3600))?
///     .build()?;
/// let verifier = Verifier::new(
///     TrustedIssuer::new("https://idp.example.com/", jwks.clone()).add_audience("crm-api"),
/// );
/// let layer = VerifyLayer::new(verifier);
///
/// // Nothing is fetched before the first use (or `jwks.refresh().await?` at startup).
/// assert!(jwks.key_set().is_none());
/// // Plain http is refused, except to loopback addresses.
/// assert!(RemoteJwks::new("http://idp.example.com/jwks.json").is_err());
/// # drop(layer);
/// # Ok::<(), tollgate::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct RemoteJwks {
    inner: Arc<Inner>,
}

impl RemoteJwks {
    /// A remote JWK Set at `url`, with the default settings.
    ///
    /// Nothing is fetched yet.
    ///
    /// # Errors
    ///
    /// As [`RemoteJwks::builder`] and [`RemoteJwksBuilder::build`].
    pub fn new(url: &str) -> Result<Self, ConfigError> {
        Self::builder(url)?.build()
    }

    /// A builder for a remote JWK Set at `url`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidUrl`] when `url` does not parse, has no host, or is neither
    /// `https` nor `http` to a loopback address (`localhost`, `127.0.0.0/8`, `::1`). Use
    /// [`RemoteJwks::builder_allow_http`] for plain `http` to other hosts.
    pub fn builder(url: &str) -> Result<RemoteJwksBuilder, ConfigError> {
        RemoteJwksBuilder::new(url, false)
    }

    /// A builder for a remote JWK Set at `url`, which may be plain `http` to any host.
    ///
    /// Whoever can change the JWKS response can sign tokens your service accepts: use this
    /// only on a network path you trust as much as the issuer itself (a sidecar, a service
    /// mesh that encrypts and authenticates).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidUrl`] when `url` does not parse, has no host, or is neither
    /// `http` nor `https`.
    pub fn builder_allow_http(url: &str) -> Result<RemoteJwksBuilder, ConfigError> {
        RemoteJwksBuilder::new(url, true)
    }

    /// The keys of the OpenID Connect issuer `issuer` (an `https` URL, such as
    /// `https://idp.example.com/realms/main`), found through its configuration document, with
    /// the default settings. The verifier's expected `iss` is the same string:
    /// [`TrustedIssuer::discover`](crate::verify::TrustedIssuer::discover) builds both.
    ///
    /// Nothing is fetched yet. See [`RemoteJwks`] for when the document is read.
    ///
    /// ```
    /// use tollgate::{key::RemoteJwks, verify::{TrustedIssuer, Verifier}};
    ///
    /// let jwks = RemoteJwks::discover("https://idp.example.com/realms/main")?;
    /// assert_eq!(jwks.issuer(), Some("https://idp.example.com/realms/main"));
    /// assert_eq!(
    ///     jwks.url(),
    ///     "https://idp.example.com/realms/main/.well-known/openid-configuration"
    /// );
    /// // The same, with the issuer the verifier expects in `iss`:
    /// let verifier = Verifier::new(
    ///     TrustedIssuer::discover("https://idp.example.com/realms/main")?.add_audience("crm-api"),
    /// );
    /// // An issuer is https, with no query or fragment.
    /// assert!(RemoteJwks::discover("http://idp.example.com").is_err());
    /// assert!(RemoteJwks::discover("https://idp.example.com/?tenant=1").is_err());
    /// # drop(verifier);
    /// # Ok::<(), tollgate::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`RemoteJwks::discovery_builder`] and [`RemoteJwksBuilder::build`].
    pub fn discover(issuer: &str) -> Result<Self, ConfigError> {
        Self::discovery_builder(issuer)?.build()
    }

    /// A builder for the keys of the OpenID Connect issuer `issuer`, found through its
    /// configuration document; the settings are those of any [`RemoteJwks`].
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidUrl`] when `issuer` does not parse, has no host, has a query or
    /// a fragment, or is neither `https` nor `http` to a loopback address. Use
    /// [`RemoteJwks::discovery_builder_allow_http`] for plain `http` to other hosts.
    pub fn discovery_builder(issuer: &str) -> Result<RemoteJwksBuilder, ConfigError> {
        RemoteJwksBuilder::discover(issuer, false)
    }

    /// A builder for the keys of the OpenID Connect issuer `issuer`, which (like the
    /// document's `jwks_uri`) may be plain `http` to any host. The warning of
    /// [`RemoteJwks::builder_allow_http`] applies.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidUrl`] when `issuer` does not parse, has no host, has a query or
    /// a fragment, or is neither `http` nor `https`.
    pub fn discovery_builder_allow_http(issuer: &str) -> Result<RemoteJwksBuilder, ConfigError> {
        RemoteJwksBuilder::discover(issuer, true)
    }

    /// Fetch the key set now, and wait for the result.
    ///
    /// Call it at startup to fail fast when the key source is unreachable. When a fetch is
    /// already in flight, this waits for that one instead of starting another. The cool-down
    /// does not apply. A successful fetch replaces the key set; a failed one keeps the last
    /// good set (for the bounded time described on [`RemoteJwks`]). Either way the
    /// background refresh is running afterwards.
    ///
    /// # Errors
    ///
    /// A [`JwksError`] naming what failed; [`JwksErrorKind::Interrupted`](error::JwksErrorKind::Interrupted) when called outside
    /// a Tokio runtime.
    pub async fn refresh(&self) -> Result<(), JwksError> {
        let done = {
            let mut coord = self.inner.lock();
            self.inner.join_or_start(&mut coord, false)?
        };
        wait(done).await
    }

    /// The key set in use, if one is loaded and not stale beyond
    /// [`max_stale`](RemoteJwksBuilder::max_stale).
    ///
    /// For observability (health checks, metrics); verifying never needs it.
    #[must_use]
    pub fn key_set(&self) -> Option<Arc<KeySet>> {
        self.inner.current()
    }

    /// The error of the last fetch, if it failed; `None` after a successful one.
    #[must_use]
    pub fn last_error(&self) -> Option<JwksError> {
        self.inner.lock().last_error.clone()
    }

    /// Whether the last fetch failed (what [`last_error`](Self::last_error) tells, without
    /// cloning the error).
    pub(crate) fn is_failing(&self) -> bool {
        self.inner.lock().last_error.is_some()
    }

    /// The URL fetched first: the key set's, or with discovery the issuer's configuration
    /// document's.
    #[must_use]
    pub fn url(&self) -> &str {
        self.inner.url.as_str()
    }

    /// The issuer whose configuration document names the key set's URL, for a key source
    /// built with [`RemoteJwks::discover`]; `None` otherwise.
    #[must_use]
    pub fn issuer(&self) -> Option<&str> {
        self.inner
            .discovery
            .as_ref()
            .map(|discovery| discovery.issuer())
    }

    /// The key set's URL as the issuer's configuration document names it (its `jwks_uri`),
    /// once the document is read, for a key source built with [`RemoteJwks::discover`];
    /// `None` before, after a failed fetch, and without discovery.
    #[must_use]
    pub fn jwks_uri(&self) -> Option<String> {
        self.inner
            .discovery
            .as_ref()
            .and_then(|discovery| discovery.jwks_uri())
            .map(String::from)
    }

    /// The key set in use, if one is loaded and not stale beyond `max_stale`.
    ///
    /// A read lock and an `Arc` clone: cheap enough for every request.
    pub(crate) fn current(&self) -> Option<Arc<KeySet>> {
        self.inner.current()
    }

    /// Ask for a refresh because a token names an unknown `kid` or no key set is usable.
    ///
    /// The decision is taken when this is called, the returned future only waits:
    /// - a fetch is in flight: wait for it;
    /// - inside the cool-down after the last miss-caused fetch: complete at once, and
    ///   schedule one fetch for the end of the cool-down;
    /// - otherwise: start a fetch (as a Tokio task, so it finishes even when the caller goes
    ///   away) and wait for it.
    ///
    /// Outside a Tokio runtime nothing can be fetched and the future completes at once.
    pub(crate) fn refresh_on_miss(&self) -> impl Future<Output = ()> + Send + 'static {
        let done = self.inner.on_miss();
        async move {
            if let Some(done) = done {
                // The outcome is recorded in the cache and in `last_error`; the caller looks
                // at `current()` again.
                let _ = wait(done).await;
            }
        }
    }

    #[cfg(test)]
    fn downgrade(&self) -> std::sync::Weak<Inner> {
        Arc::downgrade(&self.inner)
    }
}

impl fmt::Debug for RemoteJwks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteJwks")
            .field("url", &self.inner.url.as_str())
            .field("discovery", &self.inner.discovery)
            .field("config", &self.inner.config)
            .field("keys", &self.inner.current().map(|keys| keys.len()))
            .finish_non_exhaustive()
    }
}
