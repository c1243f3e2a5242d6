//! Remote JWK Set: fetched over HTTP, cached, refreshed in the background.

#[cfg(test)]
mod tests;

use std::{
    error::Error as StdError,
    fmt,
    future::Future,
    net::IpAddr,
    sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, Weak},
    time::{Duration, Instant},
};

use http::{HeaderMap, StatusCode, header};
use reqwest::{Client, Url, redirect};
use tokio::{
    runtime::Handle,
    sync::{Notify, watch},
    task::JoinHandle,
};

use super::KeySet;
use crate::{ConfigError, key::Algorithm};

const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(5 * 60);
const DEFAULT_MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(10);
const DEFAULT_MAX_STALE: Duration = Duration::from_secs(60 * 60);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_MAX_RESPONSE_BYTES: usize = 256 * 1024;

const SECOND: Duration = Duration::from_secs(1);
const HOUR: Duration = Duration::from_secs(60 * 60);
const DAY: Duration = Duration::from_secs(24 * 60 * 60);

const ACCEPT: &str = "application/jwk-set+json, application/json";
const USER_AGENT: &str = concat!("tollgate/", env!("CARGO_PKG_VERSION"));

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

/// Configures a [`RemoteJwks`]; each setting is checked where it is given.
///
/// See [`RemoteJwks`] for an example.
#[must_use]
pub struct RemoteJwksBuilder {
    url: Url,
    config: Config,
    client: Option<Client>,
}

#[derive(Debug, Clone, Copy)]
struct Config {
    refresh_interval: Duration,
    min_refresh_interval: Duration,
    max_stale: Duration,
    timeout: Duration,
    max_response_bytes: usize,
    rsa_default: Option<Algorithm>,
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
    /// A [`JwksError`] naming what failed; [`JwksErrorKind::Interrupted`] when called outside
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

    /// The URL the key set is fetched from.
    #[must_use]
    pub fn url(&self) -> &str {
        self.inner.url.as_str()
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
    fn downgrade(&self) -> Weak<Inner> {
        Arc::downgrade(&self.inner)
    }
}

impl fmt::Debug for RemoteJwks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteJwks")
            .field("url", &self.inner.url.as_str())
            .field("config", &self.inner.config)
            .field("keys", &self.inner.current().map(|keys| keys.len()))
            .finish_non_exhaustive()
    }
}

impl RemoteJwksBuilder {
    fn new(url: &str, allow_http: bool) -> Result<Self, ConfigError> {
        let invalid = |reason| ConfigError::InvalidUrl {
            url: url.to_owned(),
            reason,
        };
        let parsed = Url::parse(url).map_err(|_| invalid("not an absolute URL"))?;
        let host = parsed.host_str().ok_or_else(|| invalid("no host"))?;
        match parsed.scheme() {
            "https" => {}
            "http" if allow_http || is_loopback(host) => {}
            "http" => {
                return Err(invalid(
                    "plain http is refused except to loopback addresses: use https (or RemoteJwks::builder_allow_http)",
                ));
            }
            _ => return Err(invalid("the scheme is neither https nor http")),
        }
        Ok(Self {
            url: parsed,
            config: Config {
                refresh_interval: DEFAULT_REFRESH_INTERVAL,
                min_refresh_interval: DEFAULT_MIN_REFRESH_INTERVAL,
                max_stale: DEFAULT_MAX_STALE,
                timeout: DEFAULT_TIMEOUT,
                max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
                rsa_default: None,
            },
            client: None,
        })
    }

    /// How often the background task fetches the key set (default 5 minutes).
    ///
    /// A response with `Cache-Control: max-age` (or `no-cache`, `no-store`) shorter than this
    /// is refreshed sooner, but never sooner than
    /// [`min_refresh_interval`](Self::min_refresh_interval).
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] unless between 1 second and 1 day.
    pub fn refresh_interval(mut self, interval: Duration) -> Result<Self, ConfigError> {
        check_range(
            "refresh_interval",
            interval,
            SECOND,
            DAY,
            "between 1 second and 1 day",
        )?;
        self.config.refresh_interval = interval;
        Ok(self)
    }

    /// The cool-down between fetches caused by unknown `kid`s (default 10 seconds).
    ///
    /// A token with an unknown `kid` inside the cool-down is answered at once (401 unknown
    /// key; 503 when the last fetch failed or no key set is usable), and one fetch is
    /// scheduled for the end of the cool-down. This bounds what tokens with made-up `kid`s can cost the key source: one
    /// fetch per cool-down per process. The cool-down starts with each fetch caused by unknown
    /// `kid`s; periodic and explicit fetches do not start one. It is also the first retry delay after a failed
    /// fetch (doubling up to `refresh_interval`).
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] unless between 1 second and 1 hour.
    pub fn min_refresh_interval(mut self, interval: Duration) -> Result<Self, ConfigError> {
        check_range(
            "min_refresh_interval",
            interval,
            SECOND,
            HOUR,
            "between 1 second and 1 hour",
        )?;
        self.config.min_refresh_interval = interval;
        Ok(self)
    }

    /// How long the last good key set stays in use after it was due for refresh, while
    /// refreshes fail (default 1 hour). Zero: never use a set past its refresh time.
    ///
    /// A key set fetched at `t` is due at `t + refresh_interval` (or sooner, see
    /// [`refresh_interval`](Self::refresh_interval)) and used until `due + max_stale` unless
    /// a fetch replaces it. After that, requests get 503 (key source unavailable) until a
    /// fetch succeeds.
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] when longer than 7 days.
    pub fn max_stale(mut self, max_stale: Duration) -> Result<Self, ConfigError> {
        check_range(
            "max_stale",
            max_stale,
            Duration::ZERO,
            7 * DAY,
            "at most 7 days",
        )?;
        self.config.max_stale = max_stale;
        Ok(self)
    }

    /// The time one fetch may take, from sending the request to the last byte of the body
    /// (default 10 seconds). Applies to a [custom client](Self::client) too.
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] unless between 100 milliseconds and 5 minutes.
    pub fn timeout(mut self, timeout: Duration) -> Result<Self, ConfigError> {
        check_range(
            "timeout",
            timeout,
            Duration::from_millis(100),
            5 * 60 * SECOND,
            "between 100 milliseconds and 5 minutes",
        )?;
        self.config.timeout = timeout;
        Ok(self)
    }

    /// The largest response body accepted, in bytes (default 256 KiB).
    ///
    /// The body is read incrementally and the fetch fails as soon as it grows past this (or
    /// at once when `Content-Length` says it will).
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] unless between 1 KiB and 16 MiB.
    pub fn max_response_bytes(mut self, max: usize) -> Result<Self, ConfigError> {
        if !(1024..=16 * 1024 * 1024).contains(&max) {
            return Err(ConfigError::OutOfRange {
                setting: "max_response_bytes",
                expected: "between 1 KiB and 16 MiB",
            });
        }
        self.config.max_response_bytes = max;
        Ok(self)
    }

    /// The algorithm for RSA keys that carry no `alg` (some providers omit it). Without this,
    /// such keys are skipped. See [`KeySet::from_jwks`].
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] unless an `RS*` or `PS*` algorithm.
    pub fn rsa_default(mut self, algorithm: Algorithm) -> Result<Self, ConfigError> {
        match algorithm {
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => {
                self.config.rsa_default = Some(algorithm);
                Ok(self)
            }
            _ => Err(ConfigError::OutOfRange {
                setting: "rsa_default",
                expected: "an RS* or PS* algorithm",
            }),
        }
    }

    /// Use your own HTTP client (custom root certificates, a proxy, a user agent).
    ///
    /// Build it with `redirect(reqwest::redirect::Policy::none())`, as the default client is:
    /// a response that is a redirect, or that comes from another URL than the one configured
    /// (because the client followed a redirect), is refused either way, but a client that
    /// follows redirects will already have sent the request to the redirect's target.
    /// The [`timeout`](Self::timeout) and the size bound apply to this client too.
    ///
    /// ```
    /// use tollgate::key::RemoteJwks;
    ///
    /// let client = reqwest::Client::builder()
    ///     .redirect(reqwest::redirect::Policy::none())
    ///     .user_agent("my-service/1.0")
    ///     .build()
    ///     .unwrap();
    /// let jwks = RemoteJwks::builder("https://idp.example.com/jwks.json")?
    ///     .client(client)
    ///     .build()?;
    /// # Ok::<(), tollgate::ConfigError>(())
    /// ```
    pub fn client(mut self, client: Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Build the [`RemoteJwks`]. Nothing is fetched yet.
    ///
    /// # Errors
    ///
    /// [`ConfigError::HttpClient`] when the default HTTP client cannot be built (its TLS
    /// backend fails to start).
    pub fn build(self) -> Result<RemoteJwks, ConfigError> {
        let client = match self.client {
            Some(client) => client,
            None => Client::builder()
                .redirect(redirect::Policy::none())
                .user_agent(USER_AGENT)
                .connect_timeout(self.config.timeout)
                .build()
                .map_err(|error| ConfigError::HttpClient {
                    reason: error.to_string(),
                })?,
        };
        Ok(RemoteJwks {
            inner: Arc::new(Inner {
                url: self.url,
                client,
                config: self.config,
                keys: RwLock::new(None),
                coord: Mutex::new(Coord::default()),
                wake: Arc::new(Notify::new()),
            }),
        })
    }
}

impl fmt::Debug for RemoteJwksBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteJwksBuilder")
            .field("url", &self.url.as_str())
            .field("config", &self.config)
            .field("custom_client", &self.client.is_some())
            .finish()
    }
}

fn check_range(
    setting: &'static str,
    value: Duration,
    min: Duration,
    max: Duration,
    expected: &'static str,
) -> Result<(), ConfigError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::OutOfRange { setting, expected })
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A failed fetch of a remote JWK Set.
///
/// Opaque: ask [`JwksError::kind`] what failed. Cheap to clone (the cause is shared).
#[derive(Clone, Debug)]
pub struct JwksError {
    kind: JwksErrorKind,
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
    /// The fetch could not run to its end: no Tokio runtime, or the runtime shut down.
    Interrupted,
}

impl JwksError {
    fn new(kind: JwksErrorKind) -> Self {
        Self {
            kind,
            status: None,
            source: None,
        }
    }

    fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    fn with_status(mut self, status: StatusCode) -> Self {
        self.status = Some(status);
        self
    }

    fn transport(error: reqwest::Error) -> Self {
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

    /// The HTTP status of the response, for [`JwksErrorKind::Status`] and
    /// [`JwksErrorKind::Redirect`].
    #[must_use]
    pub fn status(&self) -> Option<StatusCode> {
        self.status
    }
}

impl fmt::Display for JwksError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.kind, self.status) {
            (JwksErrorKind::Unreachable, _) => f.write_str("cannot reach the JWKS endpoint"),
            (JwksErrorKind::Timeout, _) => f.write_str("the JWKS endpoint did not answer in time"),
            (JwksErrorKind::Status, Some(status)) => {
                write!(f, "the JWKS endpoint answered with status {status}")
            }
            (JwksErrorKind::Status, None) => {
                f.write_str("the JWKS endpoint answered with an error status")
            }
            (JwksErrorKind::Redirect, _) => f.write_str(
                "the JWKS endpoint answered with a redirect, and redirects are not followed",
            ),
            (JwksErrorKind::TooLarge, _) => {
                f.write_str("the JWKS response is larger than the configured maximum")
            }
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

/// The outcome of one fetch, as seen by everyone waiting for it: `None` while in flight.
type Outcome = Option<Result<(), JwksError>>;

struct Inner {
    url: Url,
    client: Client,
    config: Config,
    keys: RwLock<Option<Loaded>>,
    coord: Mutex<Coord>,
    /// Wakes the refresher early, when a miss inside the cool-down scheduled a fetch.
    wake: Arc<Notify>,
}

struct Loaded {
    keys: Arc<KeySet>,
    /// When the background task fetches again.
    due: Instant,
    /// When the set stops being served: `due + max_stale`.
    expires: Instant,
}

/// Who fetches when. Locked briefly, never across an `.await`. Lock order: `coord`, then
/// `keys`.
#[derive(Default)]
struct Coord {
    in_flight: Option<InFlight>,
    generation: u64,
    /// When the last fetch started, whatever started it: the failure backoff runs from here.
    last_attempt: Option<Instant>,
    /// When the last fetch caused by misses started: the cool-down runs from here. Periodic
    /// and explicit fetches do not start a cool-down, so they never delay a new key.
    last_miss_fetch: Option<Instant>,
    /// Failed fetches since the last successful one.
    failures: u32,
    /// A miss inside the cool-down asked for a fetch at its end.
    miss_pending: bool,
    last_error: Option<JwksError>,
    refresher: Option<JoinHandle<()>>,
}

struct InFlight {
    generation: u64,
    done: watch::Receiver<Outcome>,
}

struct Fetched {
    keys: KeySet,
    max_age: Option<Duration>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Coord> {
        // The critical sections do not panic; recover the data if one ever did.
        self.coord.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn current(&self) -> Option<Arc<KeySet>> {
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        keys.as_ref()
            .filter(|loaded| Instant::now() < loaded.expires)
            .map(|loaded| Arc::clone(&loaded.keys))
    }

    fn on_miss(self: &Arc<Self>) -> Option<watch::Receiver<Outcome>> {
        let mut coord = self.lock();
        if let Some(in_flight) = &coord.in_flight {
            return Some(in_flight.done.clone());
        }
        let cooling = coord
            .last_miss_fetch
            .is_some_and(|at| Instant::now() < at + self.config.min_refresh_interval);
        if cooling {
            if !coord.miss_pending {
                coord.miss_pending = true;
                self.wake.notify_one();
            }
            return None;
        }
        match self.join_or_start(&mut coord, true) {
            Ok(done) => Some(done),
            Err(error) => {
                tracing::debug!(target: "tollgate::jwks", url = %self.url, %error, "cannot refresh the JWK set");
                None
            }
        }
    }

    /// Join the fetch in flight, or start one as a task on the current Tokio runtime.
    /// `by_miss`: the fetch is for tokens with an unknown `kid` (it starts a cool-down).
    fn join_or_start(
        self: &Arc<Self>,
        coord: &mut Coord,
        by_miss: bool,
    ) -> Result<watch::Receiver<Outcome>, JwksError> {
        if let Some(in_flight) = &coord.in_flight {
            return Ok(in_flight.done.clone());
        }
        let runtime = Handle::try_current()
            .map_err(|error| JwksError::new(JwksErrorKind::Interrupted).with_source(error))?;
        let now = Instant::now();
        coord.generation = coord.generation.wrapping_add(1);
        coord.last_attempt = Some(now);
        if by_miss {
            coord.last_miss_fetch = Some(now);
        }
        coord.miss_pending = false;
        let (sender, done) = watch::channel(None);
        coord.in_flight = Some(InFlight {
            generation: coord.generation,
            done: done.clone(),
        });
        runtime.spawn(Arc::clone(self).run_fetch(coord.generation, sender));
        if coord.refresher.as_ref().is_none_or(JoinHandle::is_finished) {
            // First fetch, or the runtime that ran the refresher is gone.
            let task = refresher(Arc::downgrade(self), Arc::clone(&self.wake));
            coord.refresher = Some(runtime.spawn(task));
        }
        Ok(done)
    }

    async fn run_fetch(self: Arc<Self>, generation: u64, sender: watch::Sender<Outcome>) {
        // Clears the in-flight slot even when the task is dropped half-way (runtime shutdown):
        // the waiters then see the sender go away.
        let slot = InFlightSlot {
            inner: &self,
            generation,
        };
        let fetched = match tokio::time::timeout(self.config.timeout, self.fetch()).await {
            Ok(fetched) => fetched,
            Err(_) => Err(JwksError::new(JwksErrorKind::Timeout)),
        };
        let outcome = self.store(fetched);
        drop(slot);
        sender.send_replace(Some(outcome));
    }

    async fn fetch(&self) -> Result<Fetched, JwksError> {
        let mut response = self
            .client
            .get(self.url.clone())
            .header(header::ACCEPT, ACCEPT)
            .send()
            .await
            .map_err(JwksError::transport)?;
        let status = response.status();
        if status.is_redirection() || *response.url() != self.url {
            return Err(JwksError::new(JwksErrorKind::Redirect).with_status(status));
        }
        if !status.is_success() {
            return Err(JwksError::new(JwksErrorKind::Status).with_status(status));
        }
        let limit = self.config.max_response_bytes;
        let too_large = || JwksError::new(JwksErrorKind::TooLarge);
        let announced = response.content_length();
        if announced.is_some_and(|len| len > limit as u64) {
            return Err(too_large());
        }
        let mut body = Vec::with_capacity(announced.map_or(0, |len| len as usize));
        while let Some(chunk) = response.chunk().await.map_err(JwksError::transport)? {
            if chunk.len() > limit - body.len() {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        let mut keys = KeySet::from_jwks(&body, self.config.rsa_default)
            .map_err(|error| JwksError::new(JwksErrorKind::InvalidJwks).with_source(error))?;
        // A fetched set is public: a shared secret in it is known to whoever can fetch it and
        // would let them sign any token. Such keys are never used.
        let fetched = keys.len();
        keys.keys.retain(|key| !key.algorithm().is_hmac());
        if keys.len() < fetched {
            tracing::warn!(
                target: "tollgate::jwks",
                url = %self.url,
                skipped = fetched - keys.len(),
                "ignoring shared-secret (`oct`) keys in a remote JWK Set"
            );
        }
        if keys.is_empty() {
            return Err(JwksError::new(JwksErrorKind::NoUsableKeys));
        }
        Ok(Fetched {
            keys,
            max_age: max_age(response.headers()),
        })
    }

    /// Record a fetch's outcome: a new key set, or one more failure (the old set stays).
    fn store(&self, fetched: Result<Fetched, JwksError>) -> Result<(), JwksError> {
        match fetched {
            Ok(Fetched { keys, max_age }) => {
                let config = &self.config;
                let fresh_for = max_age.map_or(config.refresh_interval, |max_age| {
                    max_age
                        .max(config.min_refresh_interval)
                        .min(config.refresh_interval)
                });
                let due = Instant::now() + fresh_for;
                let count = keys.len();
                *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Some(Loaded {
                    keys: Arc::new(keys),
                    due,
                    expires: due + config.max_stale,
                });
                let mut coord = self.lock();
                coord.failures = 0;
                coord.last_error = None;
                drop(coord);
                tracing::debug!(target: "tollgate::jwks", url = %self.url, keys = count, "JWK set fetched");
                Ok(())
            }
            Err(error) => {
                let mut coord = self.lock();
                coord.failures = coord.failures.saturating_add(1);
                coord.last_error = Some(error.clone());
                let failures = coord.failures;
                drop(coord);
                let serving_stale = self.current().is_some();
                match error.source() {
                    Some(cause) => {
                        tracing::warn!(target: "tollgate::jwks", url = %self.url, %error, %cause, failures, serving_stale, "JWK set refresh failed");
                    }
                    None => {
                        tracing::warn!(target: "tollgate::jwks", url = %self.url, %error, failures, serving_stale, "JWK set refresh failed");
                    }
                }
                Err(error)
            }
        }
    }

    /// When the refresher should fetch next.
    fn next_fetch(&self) -> Instant {
        let coord = self.lock();
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        let retry = || {
            coord
                .last_attempt
                .map_or_else(Instant::now, |at| at + self.backoff(coord.failures))
        };
        let mut next = match (&*keys, coord.failures) {
            (Some(loaded), 0) => loaded.due,
            _ => retry(),
        };
        if let (true, Some(at)) = (coord.miss_pending, coord.last_miss_fetch) {
            next = next.min(at + self.config.min_refresh_interval);
        }
        next
    }

    /// The delay before retrying after `failures` failed fetches: the cool-down, doubling,
    /// up to the refresh interval.
    fn backoff(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(16);
        self.config
            .min_refresh_interval
            .saturating_mul(1 << doublings)
            .min(self.config.refresh_interval)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let coord = self.coord.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(refresher) = coord.refresher.take() {
            refresher.abort();
        }
    }
}

struct InFlightSlot<'a> {
    inner: &'a Inner,
    generation: u64,
}

impl Drop for InFlightSlot<'_> {
    fn drop(&mut self) {
        let mut coord = self.inner.lock();
        if coord
            .in_flight
            .as_ref()
            .is_some_and(|in_flight| in_flight.generation == self.generation)
        {
            coord.in_flight = None;
        }
    }
}

/// The background task: fetch whenever the key set is due, retry failures with backoff,
/// serve scheduled misses. Holds only a weak reference, and is aborted when the last
/// `RemoteJwks` goes away.
async fn refresher(inner: Weak<Inner>, wake: Arc<Notify>) {
    loop {
        let Some(next) = inner.upgrade().map(|inner| inner.next_fetch()) else {
            return;
        };
        if next > Instant::now() {
            // Woken early (a scheduled miss) or at the deadline: look again either way.
            let deadline = tokio::time::Instant::from_std(next);
            let _ = tokio::time::timeout_at(deadline, wake.notified()).await;
            continue;
        }
        let done = {
            let Some(inner) = inner.upgrade() else {
                return;
            };
            let mut coord = inner.lock();
            // A fetch that serves a scheduled miss counts as one for the cool-down.
            let by_miss = coord.miss_pending;
            inner.join_or_start(&mut coord, by_miss)
        };
        match done {
            // The outcome is recorded by the fetch itself.
            Ok(done) => drop(wait(done).await),
            Err(_) => return,
        }
    }
}

async fn wait(mut done: watch::Receiver<Outcome>) -> Result<(), JwksError> {
    match done.wait_for(Option::is_some).await {
        Ok(outcome) => outcome
            .clone()
            .unwrap_or_else(|| Err(JwksError::new(JwksErrorKind::Interrupted))),
        // The fetch task was dropped before it finished.
        Err(_) => Err(JwksError::new(JwksErrorKind::Interrupted)),
    }
}

/// The freshness a response asks for: `max-age`, or zero for `no-cache` / `no-store`.
fn max_age(headers: &HeaderMap) -> Option<Duration> {
    let mut max_age = None;
    for value in headers.get_all(header::CACHE_CONTROL) {
        let Ok(value) = value.to_str() else {
            continue;
        };
        for directive in value.split(',').map(str::trim) {
            if directive.eq_ignore_ascii_case("no-cache")
                || directive.eq_ignore_ascii_case("no-store")
            {
                return Some(Duration::ZERO);
            }
            let Some((name, seconds)) = directive.split_once('=') else {
                continue;
            };
            if !name.trim().eq_ignore_ascii_case("max-age") {
                continue;
            }
            if let Ok(seconds) = seconds.trim().trim_matches('"').parse::<u64>() {
                max_age = Some(Duration::from_secs(seconds));
            }
        }
    }
    max_age
}
