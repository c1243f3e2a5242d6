//! [`CsrfGuardLayer`] and its settings.

use std::{fmt, sync::Arc};

use tollgate::ConfigError;
use tower_layer::Layer;

use super::{CsrfGuard, CsrfGuardConfig, origin::AllowedOrigin};

/// Refuses, with 403 and the problem code `csrf`, the requests that another site may have
/// made a browser send, before the inner service runs (so before it reads any cookie).
///
/// Put it on every route that a cookie authenticates: the refresh and logout routes of
/// [`BrowserSessions`](crate::browser::BrowserSessions), and the login route that sets the
/// cookie. A request passes when:
///
/// 1. its `Origin` is one of the [allowed origins](Self::add_allowed_origin); else
/// 2. it is refused if `Sec-Fetch-Site` is `cross-site`; else
/// 3. with an `Origin`: it passes if that is the request's own origin (the `Host` header's
///    host and port, see [`allow_same_host`](Self::allow_same_host)), and is refused
///    otherwise; without one:
/// 4. it passes if `Sec-Fetch-Site` is `same-origin` or `none`, and, when there is no
///    `Sec-Fetch-Site` either, if [`allow_missing_origin`](Self::allow_missing_origin) says so
///    (the default); it is refused otherwise.
///
/// A malformed `Origin` (`null`, not ASCII, not `http(s)://host[:port]`, sent twice) is
/// refused first. Every method is checked, `GET` included: the routes a cookie authenticates
/// are called by the page's scripts, never by navigation.
///
/// Holds only configuration, behind one `Arc`. Works in front of any tower service over
/// `http::Request` (an axum `Router`, `route_layer`, a `ServiceBuilder` stack); with tower-http's
/// `CorsLayer`, put the CORS layer outside (added after it in axum), so that it answers
/// preflights itself.
///
/// # Example
///
/// ```
/// use std::convert::Infallible;
///
/// use bytes::Bytes;
/// use http::{Request, Response, StatusCode};
/// use http_body_util::Full;
/// use tollgate_session::browser::{CsrfErrorKind, CsrfError, CsrfGuardLayer};
/// use tower::{ServiceBuilder, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let service = ServiceBuilder::new()
///     .layer(CsrfGuardLayer::new().add_allowed_origin("https://app.example")?)
///     .service(service_fn(|_: Request<Full<Bytes>>| async {
///         Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"refreshed"))))
///     }));
/// let post = |origin: &str| {
///     Request::post("/auth/refresh")
///         .header("host", "api.example")
///         .header("origin", origin)
///         .body(Full::default())
/// };
///
/// // The site's own origin, and an allowed one, pass.
/// let response = service.clone().oneshot(post("https://api.example")?).await?;
/// assert_eq!(response.status(), StatusCode::OK);
/// let response = service.clone().oneshot(post("https://app.example")?).await?;
/// assert_eq!(response.status(), StatusCode::OK);
///
/// // Another site does not.
/// let response = service.oneshot(post("https://evil.example")?).await?;
/// assert_eq!(response.status(), StatusCode::FORBIDDEN);
/// assert_eq!(response.headers()["content-type"], "application/problem+json");
/// let error = response.extensions().get::<CsrfError>().expect("the refusal is in the extensions");
/// assert_eq!(error.kind(), CsrfErrorKind::ForeignOrigin);
/// # Ok(())
/// # }
/// ```
#[must_use]
pub struct CsrfGuardLayer {
    pub(super) config: Arc<CsrfGuardConfig>,
}

impl CsrfGuardLayer {
    /// A guard that allows the request's own origin, no other, and requests that carry
    /// neither `Origin` nor `Sec-Fetch-Site`.
    pub fn new() -> Self {
        Self {
            config: Arc::new(CsrfGuardConfig::default()),
        }
    }

    /// Also allow `origin`, written `scheme://host[:port]` (`http` or `https`; no path, not
    /// even a trailing `/`; no `*`): a front end served from another origin, or this site's
    /// public origin behind a proxy that rewrites `Host`. The host is compared without regard
    /// to case and the default port may be written or not (`https://app.example:443` is
    /// `https://app.example`). An allowed origin also passes when `Sec-Fetch-Site` says
    /// `cross-site`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidUrl`] when `origin` is not such an origin: `null`, a wildcard, a
    /// path, query or fragment, user information, another scheme, a malformed host or port,
    /// or a non-ASCII host (give an internationalized name in punycode, as browsers send it).
    pub fn add_allowed_origin(mut self, origin: &str) -> Result<Self, ConfigError> {
        let origin = AllowedOrigin::parse(origin)?;
        let config = Arc::make_mut(&mut self.config);
        if !config.allowed.contains(&origin) {
            config.allowed.push(origin);
        }
        Ok(self)
    }

    /// Whether an `Origin` whose host and port are the request's `Host` header passes (the
    /// default) or must be listed with [`add_allowed_origin`](Self::add_allowed_origin).
    ///
    /// The scheme cannot be read from the `Host` header: when the server sees the request's
    /// scheme (HTTP/2, or an absolute URI) it must match too; behind a proxy that terminates
    /// TLS it cannot, and the port decides (the `Host` header's port, or the origin scheme's
    /// default). `X-Forwarded-Host` and `Forwarded` are never read: a client can set them when
    /// a proxy does not overwrite them.
    ///
    /// Behind a reverse proxy that rewrites `Host` to an upstream name, no browser's `Origin`
    /// matches it: either have the proxy pass the browser's `Host` through, or turn this off
    /// and list the site's public origin with `add_allowed_origin`, which then is the only
    /// way in.
    pub fn allow_same_host(mut self, allow: bool) -> Self {
        Arc::make_mut(&mut self.config).allow_same_host = allow;
        self
    }

    /// Whether a request that carries neither `Origin` nor `Sec-Fetch-Site` passes (the
    /// default).
    ///
    /// Such a request does not come from a current browser: browsers send `Origin` with
    /// every `POST` and every cross-origin request, and `Sec-Fetch-Site` with every request
    /// (since 2019 to 2023, depending on the engine). It comes from a program (which holds the
    /// cookie because it chose to: no ambient authority for another site to abuse), or from a
    /// very old browser, which the cookie's `SameSite=Strict` already keeps from sending the
    /// cookie with another site's requests. Set `false` to refuse them anyway, at the cost of
    /// those programs.
    pub fn allow_missing_origin(mut self, allow: bool) -> Self {
        Arc::make_mut(&mut self.config).allow_missing_origin = allow;
        self
    }

    /// The allowed origins, in canonical form (lowercase host, no default port).
    pub fn allowed_origins(&self) -> impl Iterator<Item = String> + '_ {
        self.config.allowed.iter().map(ToString::to_string)
    }
}

impl Default for CsrfGuardLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Layer<S> for CsrfGuardLayer {
    type Service = CsrfGuard<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CsrfGuard::from_config(inner, Arc::clone(&self.config))
    }
}

impl Clone for CsrfGuardLayer {
    fn clone(&self) -> Self {
        Self {
            config: Arc::clone(&self.config),
        }
    }
}

impl fmt::Debug for CsrfGuardLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsrfGuardLayer")
            .field("config", &self.config)
            .finish()
    }
}
