//! Browsers as first-class clients (feature `browser`): the refresh token in an `HttpOnly`
//! cookie, the access token in the page's memory, and a CSRF guard on the routes the cookie
//! authenticates.
//!
//! # Where the tokens live
//!
//! A script can read anything a page stores, so a page that keeps a refresh token lets one
//! XSS carry the whole session away. In browser mode the refresh token travels only in a
//! cookie no script can read ([`RefreshCookie`]: `HttpOnly; Secure; SameSite=Strict`, scoped
//! to the refresh and logout path, no `Domain`), and the access token only in JSON bodies:
//! the page keeps it in memory and sends it as `Authorization: Bearer`, so tollgate's
//! `VerifyLayer` sees browsers and API clients alike. A remembered login gets a persistent
//! cookie (`Max-Age` = the session's lifetime); any other gets a session cookie, which dies
//! with the browser.
//!
//! [`BrowserSessions`] puts a [`SessionManager`](crate::SessionManager) behind that cookie:
//! [`login`](BrowserSessions::login) hands out the cookie,
//! [`refresh`](BrowserSessions::refresh) rotates it (reuse detection included) and clears it
//! on every refusal, [`logout`](BrowserSessions::logout) ends its session. With the `axum`
//! feature, `BrowserSessions::refresh_handler` and `logout_handler` are the routes, and
//! [`BrowserGrant`] and [`BrowserError`] are responses.
//!
//! # The CSRF rule
//!
//! A cookie goes with requests the browser makes, whoever asked for them. [`CsrfGuardLayer`]
//! refuses, with 403 and an RFC 9457 problem whose `code` is `csrf`, before the inner service
//! reads any cookie, a request whose `Origin` is present and is neither the request's own
//! origin (compared with its `Host` header) nor an allowed one, or whose `Sec-Fetch-Site` is
//! `cross-site` while its `Origin` is not an allowed one. A request with neither header (a
//! program, or a browser from before both) passes by default: it carries no ambient
//! authority, or the cookie's `SameSite=Strict` already kept the cookie out of it; see
//! [`CsrfGuardLayer::allow_missing_origin`]. Behind a proxy that rewrites `Host`, see
//! [`CsrfGuardLayer::allow_same_host`].
//!
//! The guide `docs/browser.md` in the repository covers the threat model, the multi-tab
//! refresh problem, the whole recipe for an axum app (routes, CORS) and deployment behind
//! HTTPS and a proxy.
//!
//! # Testing on `http://localhost`
//!
//! The cookie is always `Secure`, and browsers keep such cookies only from secure origins.
//! Chromium counts `http://localhost` as one, so it accepts the cookie and its `__Secure-` or
//! `__Host-` prefix from a local app served over plain HTTP: that is how to try an app
//! locally. Not every browser does; everywhere else, and in production, serve HTTPS.
//!
//! # Example
//!
//! ```
//! use http::{HeaderMap, HeaderValue, header::COOKIE};
//! use tollgate::{StandardClaims, key::Algorithm};
//! use tollgate_session::{
//!     ClaimsError, Issuer, MemorySessionStore, NewSession, Session, SessionErrorKind,
//!     SessionManager, SigningKey,
//!     browser::{BrowserErrorKind, BrowserSessions, RefreshCookie},
//! };
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let issuer = Issuer::new("crm", "crm-api", SigningKey::generate("k1", Algorithm::ES256)?);
//! let claims = |_: Session| async { Ok::<_, ClaimsError>(StandardClaims::default()) };
//! let manager = SessionManager::new(issuer, MemorySessionStore::new(), claims)?;
//! let browser = BrowserSessions::new(manager, RefreshCookie::new("/auth")?);
//!
//! // Login, once the credentials are checked: the access token for the body, the refresh
//! // token in the cookie (persistent: remembered, 30 days by default).
//! let (_, grant) = browser.login(NewSession::new("42").remember_me(true)).await?;
//! let set_cookie = grant.set_cookie().to_str()?;
//! assert!(set_cookie.starts_with("__Secure-refresh_token="));
//! assert!(set_cookie.ends_with("; HttpOnly; SameSite=Strict; Secure; Path=/auth; Max-Age=2592000"));
//! let access = browser.manager().access_verifier().verify::<StandardClaims>(grant.access_token()).await?;
//! assert_eq!(access.standard().sub.as_deref(), Some("42"));
//!
//! // The browser sends the cookie back to `/auth/refresh`; the cookie rotates.
//! let (pair, _attributes) = set_cookie.split_once(';').unwrap_or((set_cookie, ""));
//! let mut request = HeaderMap::new();
//! request.insert(COOKIE, HeaderValue::from_str(&format!("theme=dark; {pair}"))?);
//! let next = browser.refresh(&request).await?;
//! assert_ne!(next.set_cookie(), grant.set_cookie());
//!
//! // The old cookie is spent: presented again, it ends the session, and the answer clears it.
//! let error = browser.refresh(&request).await.unwrap_err();
//! assert_eq!(error.kind(), BrowserErrorKind::Session(SessionErrorKind::Reused));
//! assert_eq!(error.status_code(), 401);
//! assert_eq!(error.clearing_cookie(), Some(&browser.cookie().clearing()));
//!
//! // No cookie at all is refused the same way.
//! let error = browser.refresh(&HeaderMap::new()).await.unwrap_err();
//! assert_eq!(error.kind(), BrowserErrorKind::MissingCookie);
//! assert_eq!(error.status_code(), 401);
//! # Ok(())
//! # }
//! ```
//!
//! See [`CsrfGuardLayer`] for the guard's example, and `BrowserSessions::refresh_handler`
//! (feature `axum`) for the routes.

mod cookie;
mod csrf;
mod error;
#[cfg(feature = "axum")]
mod response;
mod sessions;

pub use self::cookie::{CookiePrefix, PresentedRefreshToken, RefreshCookie};
pub use csrf::{
    CsrfError, CsrfErrorKind, CsrfGuard, CsrfGuardBody, CsrfGuardFuture, CsrfGuardLayer,
};
pub use error::{BrowserError, BrowserErrorKind};
#[cfg(feature = "axum")]
pub use response::BrowserHandlerFuture;
pub use sessions::{BrowserGrant, BrowserSessions};
