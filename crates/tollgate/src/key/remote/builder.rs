//! [`RemoteJwksBuilder`]: the settings of a [`RemoteJwks`], each checked where it is given.

use std::{fmt, net::IpAddr, sync::Arc, time::Duration};

use reqwest::{Client, Url, redirect};

use super::{RemoteJwks, discovery::Discovery, fetch::Inner};
use crate::{error::ConfigError, key::algorithm::Algorithm};

const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(5 * 60);
const DEFAULT_MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(10);
const DEFAULT_MAX_STALE: Duration = Duration::from_secs(60 * 60);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
pub(super) const DEFAULT_MAX_RESPONSE_BYTES: usize = 256 * 1024;

const SECOND: Duration = Duration::from_secs(1);
const HOUR: Duration = Duration::from_secs(60 * 60);
const DAY: Duration = Duration::from_secs(24 * 60 * 60);

const USER_AGENT: &str = concat!("tollgate/", env!("CARGO_PKG_VERSION"));

/// Configures a [`RemoteJwks`]; each setting is checked where it is given.
///
/// See [`RemoteJwks`] for an example.
#[must_use]
pub struct RemoteJwksBuilder {
    url: Url,
    /// With OpenID Connect discovery: the issuer, whose configuration document `url` is.
    discovery: Option<Discovery>,
    config: Config,
    client: Option<Client>,
}

/// The settings of a [`RemoteJwks`], read by its fetch engine.
#[derive(Debug, Clone, Copy)]
pub(super) struct Config {
    pub(super) refresh_interval: Duration,
    pub(super) min_refresh_interval: Duration,
    pub(super) max_stale: Duration,
    pub(super) timeout: Duration,
    pub(super) max_response_bytes: usize,
    pub(super) rsa_default: Option<Algorithm>,
}

impl RemoteJwksBuilder {
    pub(super) fn new(url: &str, allow_http: bool) -> Result<Self, ConfigError> {
        let parsed = check_url(url, allow_http).map_err(|reason| ConfigError::InvalidUrl {
            url: url.to_owned(),
            reason,
        })?;
        Ok(Self::with_url(parsed, None))
    }

    /// A builder for the keys of `issuer`, found through its OpenID configuration document.
    pub(super) fn discover(issuer: &str, allow_http: bool) -> Result<Self, ConfigError> {
        let invalid = |reason| ConfigError::InvalidUrl {
            url: issuer.to_owned(),
            reason,
        };
        let parsed = check_url(issuer, allow_http).map_err(invalid)?;
        // OpenID Connect Discovery 1.0 §2 and §4: an https URL with no query or fragment; the
        // document is at the issuer with any trailing `/` removed, plus the well-known path.
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(invalid("an issuer has no query or fragment"));
        }
        let document = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let document = check_url(&document, allow_http).map_err(invalid)?;
        Ok(Self::with_url(
            document,
            Some(Discovery::new(issuer, allow_http)),
        ))
    }

    fn with_url(url: Url, discovery: Option<Discovery>) -> Self {
        Self {
            url,
            discovery,
            config: Config {
                refresh_interval: DEFAULT_REFRESH_INTERVAL,
                min_refresh_interval: DEFAULT_MIN_REFRESH_INTERVAL,
                max_stale: DEFAULT_MAX_STALE,
                timeout: DEFAULT_TIMEOUT,
                max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
                rsa_default: None,
            },
            client: None,
        }
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
    /// such keys are skipped. See [`KeySet::from_jwks`](crate::key::set::KeySet::from_jwks).
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
    ///     .build()?;
    /// let jwks = RemoteJwks::builder("https://idp.example.com/jwks.json")?
    ///     .client(client)
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
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
            inner: Arc::new(Inner::new(self.url, self.discovery, client, self.config)),
        })
    }
}

impl fmt::Debug for RemoteJwksBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteJwksBuilder")
            .field("url", &self.url.as_str())
            .field("discovery", &self.discovery)
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

/// `url`, parsed, when tollgate may fetch from it: `https`, or `http` to a loopback address
/// (to any host with `allow_http`); otherwise what is wrong with it.
pub(super) fn check_url(url: &str, allow_http: bool) -> Result<Url, &'static str> {
    let parsed = Url::parse(url).map_err(|_| "not an absolute URL")?;
    let host = parsed.host_str().ok_or("no host")?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if allow_http || is_loopback(host) => Ok(parsed),
        "http" => Err(
            "plain http is refused except to loopback addresses: use https (or RemoteJwks::builder_allow_http, discovery_builder_allow_http)",
        ),
        _ => Err("the scheme is neither https nor http"),
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}
