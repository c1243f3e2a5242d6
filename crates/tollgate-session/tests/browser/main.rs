//! Browser mode over real HTTP on loopback (axum + reqwest): the refresh cookie's attributes,
//! its rotation, its clearing on every refusal, reuse detection and logout through it, and the
//! CSRF guard in front of the routes the cookie authenticates.
#![cfg(all(feature = "browser", feature = "axum"))]

#[path = "../support/mod.rs"]
mod support;

use std::{
    future::Future,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{Json, Router, http::HeaderMap, response::IntoResponse, routing::post};
use reqwest::header::{HeaderName, HeaderValue};
use serde::Deserialize;
use tollgate::{
    StandardClaims,
    key::Algorithm,
    revocation::{MemoryRevocationStore, RevocationStatus, RevocationStore, TokenRef},
};
use tollgate_session::{
    ClaimsError, ClaimsSource, EndReason, Issuer, MemorySessionStore, NewSession, Session,
    SessionManager, SigningKey,
    browser::{BrowserSessions, CookiePrefix, CsrfGuardLayer, RefreshCookie},
};

const COOKIE_NAME: &str = "__Secure-refresh_token";
const ALLOWED: &str = "https://app.example";

/// The subject's claims, or an outage of the user database when `down` is set.
#[derive(Clone, Default)]
struct Claims {
    down: Arc<AtomicBool>,
}

impl ClaimsSource for Claims {
    type Claims = StandardClaims;

    fn claims(
        &self,
        _session: &Session,
    ) -> impl Future<Output = Result<StandardClaims, ClaimsError>> + Send {
        let down = self.down.load(Ordering::SeqCst);
        async move {
            if down {
                return Err(ClaimsError::unavailable("the user database is down"));
            }
            Ok(StandardClaims {
                perms: vec!["customer:read".into()],
                ..StandardClaims::default()
            })
        }
    }
}

type Browser = BrowserSessions<MemorySessionStore, Claims, MemoryRevocationStore>;

fn issuer() -> Issuer {
    Issuer::new(
        "crm",
        "crm-api",
        SigningKey::generate("k1", Algorithm::ES256).unwrap(),
    )
}

#[derive(Deserialize)]
struct Login {
    subject: String,
    #[serde(default)]
    remember_me: bool,
}

/// A running app: `/auth/login`, `/auth/refresh` and `/auth/logout` behind `guard`.
struct App {
    addr: SocketAddr,
    browser: Browser,
    claims: Claims,
    /// How many requests reached the refresh handler.
    refresh_calls: Arc<AtomicUsize>,
    client: reqwest::Client,
}

impl App {
    async fn start(guard: CsrfGuardLayer, issuer: Issuer) -> Self {
        let claims = Claims::default();
        let manager = SessionManager::new(issuer, MemorySessionStore::new(), claims.clone())
            .unwrap()
            .with_revocation(MemoryRevocationStore::new());
        let browser = BrowserSessions::new(manager, RefreshCookie::new("/auth").unwrap());
        let refresh_calls = Arc::new(AtomicUsize::new(0));

        let login = {
            let browser = browser.clone();
            move |Json(login): Json<Login>| async move {
                let new = NewSession::new(login.subject).remember_me(login.remember_me);
                match browser.login(new).await {
                    Ok((_, grant)) => grant.into_response(),
                    Err(error) => error.into_response(),
                }
            }
        };
        let refresh = {
            let handler = browser.refresh_handler();
            let calls = Arc::clone(&refresh_calls);
            move |headers: HeaderMap| {
                calls.fetch_add(1, Ordering::SeqCst);
                handler(headers)
            }
        };
        let app = Router::new()
            .route("/auth/login", post(login))
            .route("/auth/refresh", post(refresh))
            .route("/auth/logout", post(browser.logout_handler()))
            .route_layer(guard);
        Self {
            addr: support::serve(app).await,
            browser,
            claims,
            refresh_calls,
            client: reqwest::Client::new(),
        }
    }

    async fn default() -> Self {
        Self::start(guard(), issuer()).await
    }

    /// The app's own origin, as a browser on it would send it.
    fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    async fn post(&self, path: &str, headers: &[(&str, &[u8])], body: &str) -> Reply {
        let mut request = self
            .client
            .post(format!("http://{}{path}", self.addr))
            .body(body.to_owned());
        if !body.is_empty() {
            request = request.header("content-type", "application/json");
        }
        for (name, value) in headers {
            request = request.header(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        let response = request.send().await.unwrap();
        Reply {
            status: response.status().as_u16(),
            set_cookies: response
                .headers()
                .get_all("set-cookie")
                .iter()
                .map(|value| value.to_str().unwrap().to_owned())
                .collect(),
            headers: response.headers().clone(),
            body: response.bytes().await.unwrap().to_vec(),
        }
    }

    /// A login from the app's own page.
    async fn login(&self, subject: &str, remember_me: bool) -> Reply {
        let body = serde_json::json!({ "subject": subject, "remember_me": remember_me });
        let reply = self
            .post(
                "/auth/login",
                &[("origin", self.origin().as_bytes())],
                &body.to_string(),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply
    }

    /// A refresh from the app's own page, presenting `cookie` (`name=value`).
    async fn refresh(&self, cookie: &str) -> Reply {
        self.post(
            "/auth/refresh",
            &[
                ("origin", self.origin().as_bytes()),
                ("sec-fetch-site", b"same-origin"),
                ("cookie", cookie.as_bytes()),
            ],
            "",
        )
        .await
    }

    /// The clearing `Set-Cookie` this app sends.
    fn clearing(&self) -> String {
        self.browser
            .cookie()
            .clearing()
            .to_str()
            .unwrap()
            .to_owned()
    }
}

fn guard() -> CsrfGuardLayer {
    CsrfGuardLayer::new().add_allowed_origin(ALLOWED).unwrap()
}

#[derive(Debug)]
struct Reply {
    status: u16,
    set_cookies: Vec<String>,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// The one `Set-Cookie` of the reply.
    fn set_cookie(&self) -> &str {
        assert_eq!(self.set_cookies.len(), 1, "{:?}", self.set_cookies);
        &self.set_cookies[0]
    }

    /// `name=value` of the reply's `Set-Cookie`: what the browser sends back.
    fn cookie(&self) -> String {
        let set_cookie = self.set_cookie();
        set_cookie
            .split_once(';')
            .map_or(set_cookie, |(pair, _)| pair)
            .to_owned()
    }

    /// The refresh token the cookie carries.
    fn refresh_token(&self) -> String {
        let cookie = self.cookie();
        let value = cookie.strip_prefix(&format!("{COOKIE_NAME}=")).unwrap();
        value.strip_prefix("r~").unwrap_or(value).to_owned()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|value| value.to_str().unwrap())
    }

    fn assert_csrf_refusal(&self) {
        assert_eq!(self.status, 403, "{}", self.text());
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        let problem = self.json();
        assert_eq!(problem["type"], "about:blank");
        assert_eq!(problem["title"], "Forbidden");
        assert_eq!(problem["status"], 403);
        assert_eq!(problem["code"], "csrf");
        assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()));
        assert!(self.set_cookies.is_empty(), "a refusal sets no cookie");
    }
}

/// The attributes of a `Set-Cookie` value, parsed by the `cookie` crate.
fn parse(set_cookie: &str) -> cookie::Cookie<'static> {
    cookie::Cookie::parse(set_cookie.to_owned()).unwrap()
}

fn assert_hardened(set_cookie: &str) {
    let cookie = parse(set_cookie);
    assert_eq!(cookie.name(), COOKIE_NAME);
    assert_eq!(cookie.http_only(), Some(true), "{set_cookie}");
    assert_eq!(cookie.secure(), Some(true), "{set_cookie}");
    assert_eq!(
        cookie.same_site(),
        Some(cookie::SameSite::Strict),
        "{set_cookie}"
    );
    assert_eq!(cookie.path(), Some("/auth"), "{set_cookie}");
    assert_eq!(cookie.domain(), None, "{set_cookie}");
    assert!(!set_cookie.to_ascii_lowercase().contains("domain"));
}

fn assert_cleared(reply: &Reply, clearing: &str) {
    let set_cookie = reply.set_cookie();
    assert_eq!(set_cookie, clearing);
    assert_hardened(set_cookie);
    let cookie = parse(set_cookie);
    assert_eq!(cookie.value(), "");
    assert_eq!(cookie.max_age(), Some(cookie::time::Duration::ZERO));
}

async fn access_status(app: &App, access_token: &str) -> RevocationStatus {
    let verified = app
        .browser
        .manager()
        .access_verifier()
        .verify::<StandardClaims>(access_token)
        .await
        .unwrap();
    let token = TokenRef::from_claims(verified.standard()).unwrap();
    app.browser
        .manager()
        .revocation()
        .check(&token)
        .await
        .unwrap()
}

#[tokio::test]
async fn login_sets_a_session_cookie_no_script_can_read() {
    let app = App::default().await;
    let reply = app.login("u1", false).await;

    let set_cookie = reply.set_cookie();
    assert_hardened(set_cookie);
    let cookie = parse(set_cookie);
    assert_eq!(cookie.max_age(), None, "no remember-me: {set_cookie}");
    assert_eq!(cookie.expires(), None, "no remember-me: {set_cookie}");
    assert!(!set_cookie.contains("Max-Age") && !set_cookie.contains("Expires"));

    // The cookie carries a refresh token; the body only the access token.
    let refresh = reply.refresh_token();
    app.browser
        .manager()
        .refresh_verifier()
        .verify::<StandardClaims>(&refresh)
        .await
        .unwrap();
    let body = reply.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 1800);
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(access_status(&app, access).await, RevocationStatus::Active);
    assert_eq!(body.as_object().unwrap().len(), 3);
    assert!(!reply.text().contains(&refresh));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(reply.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn remember_me_gives_the_cookie_the_sessions_lifetime_across_refreshes() {
    let lifetime = 3 * 24 * 3600;
    let issuer = issuer()
        .remember_me_ttl(Duration::from_secs(lifetime))
        .unwrap();
    let app = App::start(guard(), issuer).await;

    let login = app.login("u2", true).await;
    let set_cookie = login.set_cookie();
    assert_hardened(set_cookie);
    let max_age = |set_cookie: &str| parse(set_cookie).max_age().unwrap().whole_seconds();
    assert_eq!(max_age(set_cookie), i64::try_from(lifetime).unwrap());
    assert!(
        !set_cookie.contains("Expires"),
        "Max-Age alone: {set_cookie}"
    );

    // The rotated cookie stays persistent, with the token's remaining lifetime.
    let refreshed = app.refresh(&login.cookie()).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text());
    assert_hardened(refreshed.set_cookie());
    let remaining = max_age(refreshed.set_cookie());
    assert!(
        (i64::try_from(lifetime).unwrap() - 5..=i64::try_from(lifetime).unwrap())
            .contains(&remaining),
        "{remaining}"
    );

    // A session cookie stays a session cookie.
    let login = app.login("u2", false).await;
    let refreshed = app.refresh(&login.cookie()).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text());
    assert_hardened(refreshed.set_cookie());
    assert_eq!(parse(refreshed.set_cookie()).max_age(), None);
    assert!(!refreshed.set_cookie().contains("Expires"));
}

#[tokio::test]
async fn refresh_rotates_the_cookie_and_the_old_one_ends_the_session() {
    let app = App::default().await;
    let login = app.login("u3", false).await;
    let first = login.cookie();

    let second = app.refresh(&first).await;
    assert_eq!(second.status, 200, "{}", second.text());
    assert_ne!(second.cookie(), first, "a new value");
    assert_eq!(second.header("cache-control"), Some("no-store"));
    let access = second.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(access_status(&app, &access).await, RevocationStatus::Active);
    assert!(!second.text().contains(&second.refresh_token()));

    // The previous cookie is spent: presenting it again is reuse, which ends the session.
    let reused = app.refresh(&first).await;
    assert_eq!(reused.status, 401);
    assert_eq!(reused.json()["code"], "refresh_token_reused");
    assert_cleared(&reused, &app.clearing());
    assert_eq!(
        access_status(&app, &access).await,
        RevocationStatus::SessionEnded
    );

    // So the current cookie is refused too.
    let current = app.refresh(&second.cookie()).await;
    assert_eq!(current.status, 401);
    assert_cleared(&current, &app.clearing());
}

#[tokio::test]
async fn every_refusal_clears_the_cookie() {
    let app = App::default().await;
    let clearing = app.clearing();
    let refused = |reply: &Reply, code: &str| {
        assert_eq!(reply.status, 401, "{code}: {}", reply.text());
        assert_eq!(reply.json()["code"], code);
        assert_eq!(
            reply.header("content-type"),
            Some("application/problem+json")
        );
        assert_cleared(reply, &clearing);
    };

    // Missing: no cookie, another cookie only, an empty one.
    for cookie in [None, Some("theme=dark"), Some("__Secure-refresh_token=")] {
        let mut headers = vec![("origin", app.origin().into_bytes())];
        if let Some(cookie) = cookie {
            headers.push(("cookie", cookie.as_bytes().to_vec()));
        }
        let headers: Vec<(&str, &[u8])> = headers.iter().map(|(n, v)| (*n, &v[..])).collect();
        let reply = app.post("/auth/refresh", &headers, "").await;
        refused(&reply, "refresh_cookie_missing");
    }

    // Invalid: garbage, an access token, a refresh token of another issuer.
    let login = app.login("u4", false).await;
    let access = login.json()["access_token"].as_str().unwrap().to_owned();
    let other = issuer();
    let foreign_session = Session {
        id: "s".to_owned(),
        subject: "u4".to_owned(),
        device_info: None,
        ip_address: None,
        user_agent: None,
        created_at: 0,
        last_activity: 0,
        expires_at: i64::MAX / 2,
        idle_expires_at: None,
        refresh_jti: String::new(),
        active: true,
    };
    let foreign = other.issue_pair(&foreign_session, &()).unwrap();
    for value in ["garbage", access.as_str(), foreign.refresh_token()] {
        let reply = app.refresh(&format!("{COOKIE_NAME}={value}")).await;
        refused(&reply, "invalid_token");
    }

    // Ambiguous: two different values under the cookie's name.
    let reply = app
        .refresh(&format!("{}; {COOKIE_NAME}=other", login.cookie()))
        .await;
    refused(&reply, "refresh_cookie_ambiguous");

    // Revoked: the session was ended elsewhere (another device, an administrator).
    let sid = app
        .browser
        .manager()
        .refresh_verifier()
        .verify::<StandardClaims>(&login.refresh_token())
        .await
        .unwrap()
        .standard()
        .sid
        .clone()
        .unwrap();
    assert!(
        app.browser
            .manager()
            .end_session(&sid, EndReason::Admin)
            .await
            .unwrap()
    );
    let reply = app.refresh(&login.cookie()).await;
    refused(&reply, "token_revoked");

    // Cut off: every session of the subject ended (logout everywhere).
    let login = app.login("u5", false).await;
    app.browser
        .manager()
        .end_all("u5", EndReason::LogoutAll)
        .await
        .unwrap();
    let reply = app.refresh(&login.cookie()).await;
    refused(&reply, "token_revoked");
}

#[tokio::test]
async fn an_expired_cookie_is_refused_and_cleared() {
    let issuer = issuer().refresh_ttl(Duration::from_secs(1)).unwrap();
    let app = App::start(guard(), issuer).await;
    let login = app.login("u6", false).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let reply = app.refresh(&login.cookie()).await;
    assert_eq!(reply.status, 401, "{}", reply.text());
    assert_eq!(reply.json()["code"], "invalid_token");
    assert_cleared(&reply, &app.clearing());
}

#[tokio::test]
async fn an_outage_keeps_the_cookie_for_a_retry() {
    let app = App::default().await;
    let login = app.login("u7", false).await;

    app.claims.down.store(true, Ordering::SeqCst);
    let reply = app.refresh(&login.cookie()).await;
    assert_eq!(reply.status, 503, "{}", reply.text());
    assert_eq!(reply.json()["code"], "session_store_unavailable");
    assert_eq!(reply.header("retry-after"), Some("1"));
    assert!(reply.set_cookies.is_empty(), "the cookie stays");

    app.claims.down.store(false, Ordering::SeqCst);
    let reply = app.refresh(&login.cookie()).await;
    assert_eq!(
        reply.status,
        200,
        "the token was not spent: {}",
        reply.text()
    );
}

#[tokio::test]
async fn logout_ends_the_session_revokes_the_access_token_and_clears_the_cookie() {
    let app = App::default().await;
    let login = app.login("u8", true).await;
    let access = login.json()["access_token"].as_str().unwrap().to_owned();

    let bearer = format!("Bearer {access}");
    let reply = app
        .post(
            "/auth/logout",
            &[
                ("origin", app.origin().as_bytes()),
                ("cookie", login.cookie().as_bytes()),
                ("authorization", bearer.as_bytes()),
            ],
            "",
        )
        .await;
    assert_eq!(reply.status, 204, "{}", reply.text());
    assert!(reply.body.is_empty());
    assert_cleared(&reply, &app.clearing());
    assert_eq!(
        access_status(&app, &access).await,
        RevocationStatus::Revoked
    );

    // The session is over: its cookie no longer refreshes.
    let refused = app.refresh(&login.cookie()).await;
    assert_eq!(refused.status, 401);
    assert_cleared(&refused, &app.clearing());

    // Logging out again, or without a cookie, answers the same.
    for cookie in [login.cookie(), String::new()] {
        let reply = app
            .post(
                "/auth/logout",
                &[
                    ("origin", app.origin().as_bytes()),
                    ("cookie", cookie.as_bytes()),
                ],
                "",
            )
            .await;
        assert_eq!(reply.status, 204);
        assert_cleared(&reply, &app.clearing());
    }
}

#[tokio::test]
async fn allowed_and_own_origins_pass_the_guard() {
    let app = App::default().await;
    let login = app.login("u9", false).await;
    let mut cookie = login.cookie();
    for (origin, site) in [
        (app.origin(), "same-origin"),
        (ALLOWED.to_owned(), "same-site"),
        (ALLOWED.to_owned(), "cross-site"),
    ] {
        let reply = app
            .post(
                "/auth/refresh",
                &[
                    ("origin", origin.as_bytes()),
                    ("sec-fetch-site", site.as_bytes()),
                    ("cookie", cookie.as_bytes()),
                ],
                "",
            )
            .await;
        assert_eq!(reply.status, 200, "{origin} {site}: {}", reply.text());
        cookie = reply.cookie();
    }
}

#[tokio::test]
async fn a_foreign_origin_is_refused_before_the_cookie_is_read() {
    let app = App::default().await;
    let login = app.login("u10", false).await;
    let cookie = login.cookie();

    let own = app.origin();
    let cases: Vec<Vec<(&str, &[u8])>> = vec![
        vec![("origin", b"https://evil.example")],
        vec![
            ("origin", b"https://evil.example"),
            ("sec-fetch-site", b"cross-site"),
        ],
        // A sibling subdomain is same-site, not same-origin: SameSite lets the cookie go,
        // the Origin check does not.
        vec![
            ("origin", b"https://api.app.example"),
            ("sec-fetch-site", b"same-site"),
        ],
        // The browser's word against an Origin that looks like the request's own.
        vec![
            ("origin", own.as_bytes()),
            ("sec-fetch-site", b"cross-site"),
        ],
        // Cross-site without an Origin.
        vec![("sec-fetch-site", b"cross-site")],
        // Same-site without an Origin: which sibling cannot be told.
        vec![("sec-fetch-site", b"same-site")],
    ];
    for headers in cases {
        let mut headers = headers;
        headers.push(("cookie", cookie.as_bytes()));
        for path in ["/auth/refresh", "/auth/logout"] {
            let reply = app.post(path, &headers, "").await;
            reply.assert_csrf_refusal();
        }
    }
    assert_eq!(
        app.refresh_calls.load(Ordering::SeqCst),
        0,
        "the refresh handler never ran"
    );

    // Neither refresh nor logout touched the cookie's session: it still refreshes.
    let reply = app.refresh(&cookie).await;
    assert_eq!(reply.status, 200, "{}", reply.text());

    // A login from another site is refused too (no login CSRF).
    let body = serde_json::json!({ "subject": "u10" }).to_string();
    let reply = app
        .post("/auth/login", &[("origin", b"https://evil.example")], &body)
        .await;
    reply.assert_csrf_refusal();
}

#[tokio::test]
async fn a_request_without_origin_or_fetch_metadata_passes_by_default() {
    let app = App::default().await;
    let login = app.login("u11", false).await;
    let reply = app
        .post(
            "/auth/refresh",
            &[("cookie", login.cookie().as_bytes())],
            "",
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());

    // Unless the guard asks for one of the two headers.
    let strict = App::start(guard().allow_missing_origin(false), issuer()).await;
    let login = strict.login("u11", false).await;
    let reply = strict
        .post(
            "/auth/refresh",
            &[("cookie", login.cookie().as_bytes())],
            "",
        )
        .await;
    reply.assert_csrf_refusal();
    assert_eq!(strict.refresh_calls.load(Ordering::SeqCst), 0);
    let reply = strict
        .post(
            "/auth/refresh",
            &[
                ("sec-fetch-site", b"same-origin"),
                ("cookie", login.cookie().as_bytes()),
            ],
            "",
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
}

#[tokio::test]
async fn malformed_origins_are_refused_without_a_panic() {
    let app = App::default().await;
    let login = app.login("u12", false).await;
    let cookie = login.cookie();
    for origin in [
        &b"null"[..],
        b"garbage",
        b"\xff\xfe\xfd",
        b"https://app.example\xff",
        b"https://app.example/",
        b"https://",
        b"http://[::1",
        b"https://app.example:99999",
        b"https://*.example",
        b"",
    ] {
        let reply = app
            .post(
                "/auth/refresh",
                &[("origin", origin), ("cookie", cookie.as_bytes())],
                "",
            )
            .await;
        reply.assert_csrf_refusal();
        assert_eq!(
            reply.json()["detail"],
            "the request's Origin header is malformed",
            "{origin:?}"
        );
    }
    assert_eq!(app.refresh_calls.load(Ordering::SeqCst), 0);
    let reply = app.refresh(&cookie).await;
    assert_eq!(
        reply.status,
        200,
        "the server still serves: {}",
        reply.text()
    );
}

#[tokio::test]
async fn behind_a_proxy_that_rewrites_host_only_listed_origins_pass() {
    // The proxy serves https://crm.example and forwards with its own Host (here the
    // loopback address): the site's public origin must be listed.
    let guard = CsrfGuardLayer::new()
        .add_allowed_origin("https://crm.example")
        .unwrap()
        .allow_same_host(false);
    let app = App::start(guard, issuer()).await;
    let body = serde_json::json!({ "subject": "u13" }).to_string();

    let reply = app
        .post("/auth/login", &[("origin", app.origin().as_bytes())], &body)
        .await;
    reply.assert_csrf_refusal();

    let reply = app
        .post("/auth/login", &[("origin", b"https://crm.example")], &body)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_hardened(reply.set_cookie());
}

#[test]
fn configuration_errors_are_reported_where_the_setting_is_given() {
    use tollgate::ConfigError;

    for path in ["auth", "", "/a;b", "/a b"] {
        assert!(
            matches!(
                RefreshCookie::new(path),
                Err(ConfigError::OutOfRange {
                    setting: "cookie path",
                    ..
                })
            ),
            "{path:?}"
        );
    }
    let cookie = RefreshCookie::new("/auth").unwrap();
    assert!(matches!(
        cookie.clone().prefix(CookiePrefix::Host),
        Err(ConfigError::OutOfRange {
            setting: "cookie prefix",
            ..
        })
    ));
    for name in ["__Host-refresh", "__Secure-refresh", "a;b", ""] {
        assert!(
            matches!(
                cookie.clone().name(name),
                Err(ConfigError::OutOfRange {
                    setting: "cookie name",
                    ..
                })
            ),
            "{name:?}"
        );
    }
    let host = RefreshCookie::new("/")
        .unwrap()
        .prefix(CookiePrefix::Host)
        .unwrap()
        .name("rt")
        .unwrap();
    assert_eq!(host.cookie_name(), "__Host-rt");

    for origin in [
        "*",
        "https://*.app.example",
        "null",
        "https://app.example/",
        "https://app.example/path",
        "ftp://app.example",
        "app.example",
        "https://user@app.example",
        "https://app.example:0",
    ] {
        match CsrfGuardLayer::new().add_allowed_origin(origin) {
            Err(ConfigError::InvalidUrl { url, reason }) => {
                assert_eq!(url, origin);
                assert!(!reason.is_empty());
                let message = ConfigError::InvalidUrl { url, reason }.to_string();
                assert!(message.contains(origin), "{message}");
            }
            other => panic!("{origin:?}: {other:?}"),
        }
    }
}
