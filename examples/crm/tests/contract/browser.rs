//! Browser clients (cookie mode) over HTTP: the refresh cookie's attributes, rotation,
//! clearing and reuse detection through the cookie, logout, the CSRF guard, and CORS for
//! `--allowed-origins`.

use reqwest::{Method, header::HeaderMap};
use serde_json::{Value, json};

use crate::{
    run,
    support::{Backend, Env, TestApp, random},
};

suite!(cookie_mode, csrf_and_cors);

/// An answer of a browser route.
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    fn set_cookie(&self) -> &str {
        self.headers
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// `name=value` of the Set-Cookie, as a browser sends it back.
    fn cookie(&self) -> String {
        self.set_cookie().split(';').next().unwrap_or("").to_owned()
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// `POST base+path` with these headers and an optional JSON body.
async fn post(app: &TestApp, path: &str, headers: &[(&str, &str)], body: Option<Value>) -> Answer {
    let client = reqwest::Client::new();
    let mut request = client.request(Method::POST, format!("{}{path}", app.base));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    Answer {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

fn assert_refresh_cookie(set_cookie: &str, persistent: bool) {
    assert!(
        set_cookie.starts_with("__Secure-refresh_token="),
        "{set_cookie}"
    );
    for attribute in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/api/auth/browser",
    ] {
        assert!(
            set_cookie.split("; ").any(|a| a == attribute),
            "{attribute} missing: {set_cookie}"
        );
    }
    assert!(!set_cookie.contains("Domain"), "{set_cookie}");
    assert!(!set_cookie.contains("Expires"), "{set_cookie}");
    assert_eq!(
        set_cookie.contains("Max-Age="),
        persistent,
        "persistent: {persistent}: {set_cookie}"
    );
}

fn assert_clearing(answer: &Answer) {
    let set_cookie = answer.set_cookie();
    assert!(
        set_cookie.starts_with("__Secure-refresh_token=;") && set_cookie.contains("Max-Age=0"),
        "not cleared: {set_cookie}"
    );
}

async fn cookie_mode(env: Env) {
    let app = env.start(&["--remember-me-ttl", "20d"]).await;
    let username = format!("cookie-{}", random());
    let password = "correct horse battery";

    // Register: the user and the access token in the body, the refresh token only in the
    // cookie (a session cookie).
    let registered = post(
        &app,
        "/api/auth/browser/register",
        &[],
        Some(json!({"username": username, "email": format!("{username}@example.com"), "password": password})),
    )
    .await;
    assert_eq!(registered.status, 201, "{}", registered.body);
    assert_eq!(registered.body["user"]["username"], username.as_str());
    assert_eq!(registered.body["token_type"], "Bearer");
    assert!(registered.body["expires_in"].as_i64().unwrap() > 0);
    assert!(registered.body.get("refresh").is_none());
    let access = registered.body["access"].as_str().unwrap().to_owned();
    assert_refresh_cookie(registered.set_cookie(), false);
    assert_eq!(registered.header("cache-control"), "no-store");
    assert!(!registered.cookie().contains(&access));
    assert_eq!(app.get("/api/auth/me", Some(&access)).await.status, 200);

    // Register failures are the JSON API's.
    let duplicate = post(
        &app,
        "/api/auth/browser/register",
        &[],
        Some(json!({"username": username, "email": "other@example.com", "password": password})),
    )
    .await;
    assert_eq!(duplicate.status, 409);
    assert_eq!(duplicate.set_cookie(), "");

    // Login: a session cookie without remember_me, Max-Age = the session lifetime with it.
    let plain = post(
        &app,
        "/api/auth/browser/login",
        &[],
        Some(json!({"username": username, "password": password})),
    )
    .await;
    assert_eq!(plain.status, 200, "{}", plain.body);
    assert_refresh_cookie(plain.set_cookie(), false);
    assert!(plain.body.get("refresh").is_none());
    let remembered = post(
        &app,
        "/api/auth/browser/login",
        &[],
        Some(json!({"username": username, "password": password, "remember_me": true})),
    )
    .await;
    assert_eq!(remembered.status, 200);
    assert_refresh_cookie(remembered.set_cookie(), true);
    assert!(
        remembered.set_cookie().contains("Max-Age=1728000"),
        "{}",
        remembered.set_cookie()
    );
    let wrong = post(
        &app,
        "/api/auth/browser/login",
        &[],
        Some(json!({"username": username, "password": "wrong password"})),
    )
    .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.body["code"], "invalid_credentials");
    let logins = app.get("/api/auth/logins", Some(&access)).await;
    let results: Vec<bool> = logins
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["success"].as_bool().unwrap())
        .collect();
    assert_eq!(results, [false, true, true, true]);

    // Refresh: no body, the access token in the answer, the cookie rotates and stays
    // persistent.
    let first = remembered.cookie();
    let rotated = post(
        &app,
        "/api/auth/browser/refresh",
        &[("cookie", &first)],
        None,
    )
    .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    assert_eq!(rotated.body["token_type"], "Bearer");
    assert!(rotated.body.get("refresh").is_none());
    assert!(rotated.body.get("user").is_none());
    assert_refresh_cookie(rotated.set_cookie(), true);
    let second = rotated.cookie();
    assert_ne!(first, second);
    let new_access = rotated.body["access"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/api/auth/me", Some(&new_access)).await.status, 200);
    let again = post(
        &app,
        "/api/auth/browser/refresh",
        &[("cookie", &second)],
        None,
    )
    .await;
    assert_eq!(again.status, 200);
    let third = again.cookie();

    // The spent cookie again: reuse detection ends the session; 401 and the cookie cleared.
    let reused = post(
        &app,
        "/api/auth/browser/refresh",
        &[("cookie", &first)],
        None,
    )
    .await;
    assert_eq!(reused.status, 401, "{}", reused.body);
    assert_clearing(&reused);
    let after = post(
        &app,
        "/api/auth/browser/refresh",
        &[("cookie", &third)],
        None,
    )
    .await;
    assert_eq!(after.status, 401, "the session ended: {}", after.body);
    assert_clearing(&after);

    // No cookie: 401, cleared.
    let missing = post(&app, "/api/auth/browser/refresh", &[], None).await;
    assert_eq!(missing.status, 401);
    assert_eq!(missing.header("content-type"), "application/problem+json");
    assert_clearing(&missing);

    // Logout: the session ends, the cookie is cleared, the access token sent is revoked.
    let plain_access = plain.body["access"].as_str().unwrap().to_owned();
    assert_eq!(app.sensitive(&plain_access).await.status, 404);
    let bearer = format!("Bearer {plain_access}");
    let logout = post(
        &app,
        "/api/auth/browser/logout",
        &[("cookie", &plain.cookie()), ("authorization", &bearer)],
        None,
    )
    .await;
    assert_eq!(logout.status, 204);
    assert_clearing(&logout);
    app.sensitive(&plain_access).await.assert_problem(401);
    let dead = post(
        &app,
        "/api/auth/browser/refresh",
        &[("cookie", &plain.cookie())],
        None,
    )
    .await;
    assert_eq!(dead.status, 401);
    // Logging out without a session is still 204 (and clears).
    let nothing = post(&app, "/api/auth/browser/logout", &[], None).await;
    assert_eq!(nothing.status, 204);
    assert_clearing(&nothing);

    // The JSON API is unchanged: its refresh token stays in the body.
    let api = app.login(&username, password).await;
    assert!(!api.refresh.is_empty());
}

async fn csrf_and_cors(env: Env) {
    let app = env
        .start(&["--allowed-origins", "https://app.example"])
        .await;
    let own = app.base.replace("localhost", "127.0.0.1");
    let username = format!("csrf-{}", random());
    let login = post(
        &app,
        "/api/auth/browser/login",
        &[],
        Some(json!({"username": "nobody", "password": "whatever it is"})),
    )
    .await;
    assert_eq!(login.status, 401);
    let registered = post(
        &app,
        "/api/auth/browser/register",
        &[("origin", &own), ("sec-fetch-site", "same-origin")],
        Some(json!({"username": username, "email": format!("{username}@example.com"), "password": "correct horse battery"})),
    )
    .await;
    assert_eq!(registered.status, 201, "own origin: {}", registered.body);
    let cookie = registered.cookie();

    // A foreign origin: 403 `csrf` on all four routes, before the cookie is looked at.
    for path in ["register", "login", "refresh", "logout"] {
        let refused = post(
            &app,
            &format!("/api/auth/browser/{path}"),
            &[("origin", "https://evil.example"), ("cookie", &cookie)],
            Some(json!({})),
        )
        .await;
        assert_eq!(refused.status, 403, "{path}: {}", refused.body);
        assert_eq!(refused.body["code"], "csrf", "{path}");
        assert_eq!(refused.set_cookie(), "", "{path}");
        assert_eq!(refused.header("access-control-allow-origin"), "");
    }
    // Sec-Fetch-Site cross-site without an allowed Origin: 403, even with no Origin.
    for headers in [
        vec![
            ("sec-fetch-site", "cross-site"),
            ("cookie", cookie.as_str()),
        ],
        vec![
            ("sec-fetch-site", "cross-site"),
            ("origin", own.as_str()),
            ("cookie", cookie.as_str()),
        ],
    ] {
        let refused = post(&app, "/api/auth/browser/refresh", &headers, None).await;
        assert_eq!(refused.status, 403, "{headers:?}");
        assert_eq!(refused.body["code"], "csrf");
    }
    // The session is untouched: the cookie still refreshes (own origin).
    let refreshed = post(
        &app,
        "/api/auth/browser/refresh",
        &[("origin", &own), ("cookie", &cookie)],
        None,
    )
    .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let cookie = refreshed.cookie();

    // An allowed origin passes, cross-site too, with CORS headers for credentials.
    let allowed = post(
        &app,
        "/api/auth/browser/refresh",
        &[
            ("origin", "https://app.example"),
            ("sec-fetch-site", "cross-site"),
            ("cookie", &cookie),
        ],
        None,
    )
    .await;
    assert_eq!(allowed.status, 200, "{}", allowed.body);
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        "https://app.example"
    );
    assert_eq!(allowed.header("access-control-allow-credentials"), "true");
    // No Origin and no Sec-Fetch-Site (a program): passes.
    let program = post(
        &app,
        "/api/auth/browser/refresh",
        &[("cookie", &allowed.cookie())],
        None,
    )
    .await;
    assert_eq!(program.status, 200, "{}", program.body);

    // Preflight: the allowed origin gets its CORS answer; another origin none.
    let client = reqwest::Client::new();
    for (origin, expected) in [
        ("https://app.example", "https://app.example"),
        ("https://evil.example", ""),
    ] {
        let preflight = client
            .request(Method::OPTIONS, format!("{}/api/customers", app.base))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
            .await
            .unwrap();
        let header = |name: &str| {
            preflight
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        assert_eq!(header("access-control-allow-origin"), expected, "{origin}");
        if !expected.is_empty() {
            assert_eq!(header("access-control-allow-credentials"), "true");
            assert!(header("access-control-allow-headers").contains("authorization"));
            assert_ne!(header("access-control-allow-origin"), "*");
        }
    }

    // Without --allowed-origins: no CORS header at all.
    app.stop().await;
    let closed = env.start(&[]).await;
    let answer = post(
        &closed,
        "/api/auth/browser/refresh",
        &[("origin", "https://app.example")],
        None,
    )
    .await;
    assert_eq!(answer.status, 403);
    assert_eq!(answer.header("access-control-allow-origin"), "");
    assert_eq!(answer.header("access-control-allow-credentials"), "");
}
