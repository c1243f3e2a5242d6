//! The HTTP contract of `shared/specs/crm-api.md`, route by route with the failures it lists,
//! over real HTTP, on every backend: SQLite, SQLite + Redis, PostgreSQL, PostgreSQL + Redis
//! (PostgreSQL when `TOLLGATE_TEST_DATABASE_URL` is set; Redis from `TOLLGATE_TEST_REDIS_URL`
//! or a private `redis-server`).

#[path = "../support/mod.rs"]
mod support;

use std::{
    net::{IpAddr, Ipv4Addr},
    time::Duration,
};

use reqwest::Method;
use serde_json::{Value, json};
use support::{Backend, Env, TestApp, User, decode, fixture, random};

/// Run `scenario` on `backend` (returns early, loudly, when the backend is unavailable
/// outside CI).
async fn run<F, Fut>(backend: Backend, scenario: F)
where
    F: FnOnce(Env) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    if let Some(env) = Env::new(backend).await {
        scenario(env).await;
    }
}

/// One test per scenario and backend.
macro_rules! suite {
    ($($scenario:ident),* $(,)?) => {
        $(
            mod $scenario {
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    run(Backend::Sqlite, super::$scenario).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite_redis() {
                    run(Backend::SqliteRedis, super::$scenario).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    run(Backend::Postgres, super::$scenario).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres_redis() {
                    run(Backend::PostgresRedis, super::$scenario).await;
                }
            }
        )*
    };
}

suite!(
    health_jwks_and_unknown_routes,
    register,
    token_claims,
    login,
    login_rate_limit,
    refresh_rotation_and_reuse,
    token_verify,
    me_and_missing_or_wrong_tokens,
    logout,
    logout_all,
    sessions,
    password_change,
    customers,
    customer_permissions_and_organizations,
    admin_users,
    role_change_and_stale_claims,
    suspension,
    superuser,
);

async fn health_jwks_and_unknown_routes(env: Env) {
    let app = env.start(&[]).await;
    let health = app.get("/health", None).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body, json!({"status": "ok"}));

    // HS256 (the generated secret): nothing to publish.
    app.get("/.well-known/jwks.json", None)
        .await
        .assert_problem(404);

    app.get("/nope", None).await.assert_problem(404);
    // An unknown route under the protected prefix is 404, not 401 (route_layer).
    app.get("/api/customers/x/y", None)
        .await
        .assert_problem(404);
    app.send(Method::DELETE, "/health", None, None)
        .await
        .assert_problem(405);
    app.stop().await;
}

async fn register(env: Env) {
    let app = env.start(&[]).await;
    let name = format!("ann-{}", random());
    let response = app
        .post(
            "/api/auth/register",
            None,
            json!({"username": name, "email": format!("{name}@Example.com"), "password": "long enough", "organization": "Acme"}),
        )
        .await;
    assert_eq!(response.status, 201, "{}", response.text);
    let body = &response.body;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 1800);
    assert!(body["access"].is_string() && body["refresh"].is_string());
    let user = &body["user"];
    assert_eq!(user["username"], name.as_str());
    assert_eq!(user["email"], format!("{name}@example.com"));
    assert_eq!(user["roles"], json!(["admin"]));
    assert_eq!(user["permissions"], json!(["*:*"]));
    assert_eq!(user["is_superuser"], false);
    assert!(user["id"].is_string() && user["organization_id"].is_string());
    assert!(user["created_at"].as_str().unwrap().ends_with('Z'));

    // 409: duplicate username (any case) or email (any case).
    let duplicate = app
        .post(
            "/api/auth/register",
            None,
            json!({"username": name.to_uppercase(), "email": "other@example.com", "password": "long enough"}),
        )
        .await;
    duplicate.assert_problem(409);
    assert!(
        duplicate.body["detail"]
            .as_str()
            .unwrap()
            .contains("username")
    );
    let duplicate = app
        .post(
            "/api/auth/register",
            None,
            json!({"username": format!("{name}-2"), "email": format!("{}@EXAMPLE.com", name.to_uppercase()), "password": "long enough"}),
        )
        .await;
    duplicate.assert_problem(409);
    assert!(duplicate.body["detail"].as_str().unwrap().contains("email"));

    // 400: malformed JSON, a missing field, a wrong type.
    app.post_raw("/api/auth/register", "application/json", "{not json")
        .await
        .assert_problem(400);
    app.post(
        "/api/auth/register",
        None,
        json!({"username": "bob-x", "password": "long enough"}),
    )
    .await
    .assert_problem(400);
    app.post(
        "/api/auth/register",
        None,
        json!({"username": 42, "email": "bob@example.com", "password": "long enough"}),
    )
    .await
    .assert_problem(400);
    // 415: not JSON.
    app.post_raw("/api/auth/register", "text/plain", "username=bob")
        .await
        .assert_problem(415);

    // 422: bad email, short password, bad or reserved username.
    for body in [
        json!({"username": "bob-422", "email": "not-an-email", "password": "long enough"}),
        json!({"username": "bob-422", "email": "bob@example.com", "password": "short"}),
        json!({"username": "b", "email": "bob@example.com", "password": "long enough"}),
        json!({"username": "Admin", "email": "bob@example.com", "password": "long enough"}),
    ] {
        app.post("/api/auth/register", None, body)
            .await
            .assert_problem(422);
    }
    app.stop().await;
}

async fn token_claims(env: Env) {
    let app = env.start(&[]).await;
    let user = app.register("claims").await;
    let (header, claims) = decode(&user.access);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "HS256");
    assert!(header["kid"].is_string());
    assert_eq!(claims["iss"], "crm");
    assert_eq!(claims["aud"], "crm-api");
    assert_eq!(claims["sub"], user.id.as_str());
    assert_eq!(claims["org"], user.organization_id.as_str());
    assert_eq!(claims["roles"], json!(["admin"]));
    assert_eq!(claims["perms"], json!(["*:*"]));
    assert_eq!(claims["ver"], 1);
    assert_eq!(claims["token_type"], "access");
    for claim in ["jti", "sid"] {
        assert!(claims[claim].is_string(), "{claim}");
    }
    for claim in ["iat", "nbf", "exp"] {
        assert!(claims[claim].is_i64(), "{claim}");
    }
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        1800
    );

    let (header, refresh) = decode(&user.refresh);
    assert_eq!(header["typ"], "refresh+jwt");
    assert_eq!(refresh["token_type"], "refresh");
    assert_eq!(refresh["sid"], claims["sid"]);
    assert_eq!(refresh["sub"], claims["sub"]);
    assert_ne!(refresh["jti"], claims["jti"]);
    assert!(refresh.get("perms").is_none() && refresh.get("roles").is_none());
    assert_eq!(
        refresh["exp"].as_i64().unwrap() - refresh["iat"].as_i64().unwrap(),
        7 * 86400
    );

    // A refresh token is never accepted as an access token, nor the reverse.
    app.get("/api/auth/me", Some(&user.refresh))
        .await
        .assert_invalid_token("invalid_token_type");
    app.refresh(&user.access)
        .await
        .assert_invalid_token("invalid_token_type");
    app.stop().await;
}

async fn login(env: Env) {
    let app = env.start(&[]).await;
    let user = app.register("login").await;

    let by_name = app
        .post(
            "/api/auth/login",
            None,
            json!({"username": user.username, "password": user.password}),
        )
        .await;
    assert_eq!(by_name.status, 200, "{}", by_name.text);
    assert_eq!(by_name.body["token_type"], "Bearer");
    assert_eq!(by_name.body["user"]["id"], user.id.as_str());
    assert!(by_name.body["refresh"].is_string() && by_name.body["expires_in"] == 1800);

    let by_email = app
        .post(
            "/api/auth/login",
            None,
            json!({"email": format!("{}@EXAMPLE.com", user.username), "password": user.password, "remember_me": true}),
        )
        .await;
    assert_eq!(by_email.status, 200, "{}", by_email.text);
    let (_, refresh) = decode(by_email.body["refresh"].as_str().unwrap());
    assert_eq!(
        refresh["exp"].as_i64().unwrap() - refresh["iat"].as_i64().unwrap(),
        30 * 86400,
        "remember_me uses the remember-me lifetime"
    );

    let wrong = app
        .post(
            "/api/auth/login",
            None,
            json!({"username": user.username, "password": "wrong password"}),
        )
        .await;
    wrong.assert_problem(401);
    assert_eq!(wrong.header("www-authenticate"), "Bearer");
    let unknown = app
        .post(
            "/api/auth/login",
            None,
            json!({"username": "nobody-at-all", "password": "wrong password"}),
        )
        .await;
    unknown.assert_problem(401);
    assert_eq!(unknown.body["detail"], wrong.body["detail"]);

    app.post("/api/auth/login", None, json!({"password": "x"}))
        .await
        .assert_problem(400);
    app.post(
        "/api/auth/login",
        None,
        json!({"username": user.username, "password": user.password, "remember_me": "yes"}),
    )
    .await
    .assert_problem(400);
    app.post_raw("/api/auth/login", "application/json", "[")
        .await
        .assert_problem(400);
    app.stop().await;
}

async fn login_rate_limit(env: Env) {
    let app = env.start(&["--login-rate", "3/min"]).await;
    // A wrong password for the user named by `field` (`username` or `email`), from `ip`.
    let attempt_as = |ip: [u8; 4], field: &'static str, name: String| {
        let app = &app;
        async move {
            app.send_from(
                IpAddr::V4(Ipv4Addr::from(ip)),
                Method::POST,
                "/api/auth/login",
                Some(json!({field: name, "password": "wrong password"})),
            )
            .await
        }
    };
    let attempt = |ip: [u8; 4], username: String| attempt_as(ip, "username", username);

    // Per client IP: three attempts on three usernames, the fourth is refused.
    for n in 0..3 {
        let response = attempt([127, 0, 0, 11], format!("someone-{n}")).await;
        assert_eq!(response.status, 401, "{}", response.text);
    }
    let limited = attempt([127, 0, 0, 11], "someone-else".to_owned()).await;
    limited.assert_problem(429);
    let retry_after: u64 = limited.header("retry-after").parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");

    // Per username: three attempts from three IPs, the fourth (from a fourth IP) is refused.
    let target = format!("target-{}", random());
    for n in 0..3 {
        let response = attempt([127, 0, 0, 20 + n], target.clone()).await;
        assert_eq!(response.status, 401, "{}", response.text);
    }
    attempt([127, 0, 0, 30], target.to_uppercase())
        .await
        .assert_problem(429);

    // Per account: the username and the email of one user draw on one budget.
    let user = app.register("limited").await;
    let by_email = |ip: [u8; 4]| attempt_as(ip, "email", format!("{}@example.com", user.username));
    for n in 0..2 {
        let response = attempt([127, 0, 0, 40 + n], user.username.clone()).await;
        assert_eq!(response.status, 401, "{}", response.text);
    }
    assert_eq!(by_email([127, 0, 0, 42]).await.status, 401);
    by_email([127, 0, 0, 43]).await.assert_problem(429);

    // A password change guesses the old password: it counts against the account as well.
    let changer = app.register("limited-change").await;
    let change = || {
        app.post(
            "/api/auth/password",
            Some(&changer.access),
            json!({"old_password": "a wrong guess", "new_password": "a new password"}),
        )
    };
    for _ in 0..3 {
        change().await.assert_problem(401);
    }
    let limited = change().await;
    limited.assert_problem(429);
    assert!(!limited.header("retry-after").is_empty());
    app.stop().await;
}

async fn refresh_rotation_and_reuse(env: Env) {
    let app = env.start(&[]).await;
    let user = app.register("refresh").await;

    let first = app.refresh(&user.refresh).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["token_type"], "Bearer");
    assert_eq!(first.body["expires_in"], 1800);
    assert!(first.body.get("user").is_none());
    let access = first.body["access"].as_str().unwrap();
    let refresh = first.body["refresh"].as_str().unwrap();
    assert_ne!(refresh, user.refresh);
    assert_eq!(decode(access).1["sid"], decode(&user.access).1["sid"]);
    assert_eq!(app.get("/api/auth/me", Some(access)).await.status, 200);

    // The old one is spent: presenting it again is a reuse, which ends the session.
    app.refresh(&user.refresh)
        .await
        .assert_invalid_token("refresh_token_reused");
    app.refresh(refresh).await.assert_problem(401);
    // ...and its access tokens are refused on sensitive routes.
    app.sensitive(access)
        .await
        .assert_invalid_token("session_ended");

    app.refresh("not.a.token")
        .await
        .assert_invalid_token("malformed_token");
    app.post("/api/auth/token/refresh", None, json!({}))
        .await
        .assert_problem(400);
    app.stop().await;
}

async fn token_verify(env: Env) {
    let app = env.start(&[]).await;
    let user = app.register("verify").await;

    let access = app
        .post(
            "/api/auth/token/verify",
            None,
            json!({"token": user.access}),
        )
        .await;
    assert_eq!(access.status, 200, "{}", access.text);
    assert_eq!(access.body["valid"], true);
    assert_eq!(access.body["token_type"], "access");
    assert_eq!(access.body["exp"], decode(&user.access).1["exp"]);

    let refresh = app
        .post(
            "/api/auth/token/verify",
            None,
            json!({"token": user.refresh}),
        )
        .await;
    assert_eq!(refresh.status, 200, "{}", refresh.text);
    assert_eq!(refresh.body["token_type"], "refresh");

    let garbage = app
        .post("/api/auth/token/verify", None, json!({"token": "abc"}))
        .await;
    garbage.assert_invalid_token("malformed_token");
    assert_eq!(garbage.body["valid"], false);

    // Revoked by logout: the access token's jti, the session's refresh token.
    assert_eq!(
        app.post_empty("/api/auth/logout", Some(&user.access))
            .await
            .status,
        204
    );
    let revoked = app
        .post(
            "/api/auth/token/verify",
            None,
            json!({"token": user.access}),
        )
        .await;
    revoked.assert_invalid_token("token_revoked");
    assert_eq!(revoked.body["valid"], false);
    let ended = app
        .post(
            "/api/auth/token/verify",
            None,
            json!({"token": user.refresh}),
        )
        .await;
    assert_eq!(ended.status, 401, "{}", ended.text);
    assert_eq!(ended.body["valid"], false);

    // A spent refresh token.
    let other = app.login(&user.username, &user.password).await;
    assert_eq!(app.refresh(&other.refresh).await.status, 200);
    let spent = app
        .post(
            "/api/auth/token/verify",
            None,
            json!({"token": other.refresh}),
        )
        .await;
    spent.assert_invalid_token("refresh_token_spent");

    app.post("/api/auth/token/verify", None, json!({"tok": "x"}))
        .await
        .assert_problem(400);
    app.stop().await;

    // Expiry (of the access token, and of the session with its refresh token).
    let app = env
        .start(&["--access-ttl", "1s", "--refresh-ttl", "1s"])
        .await;
    let user = app.register("expiring").await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let expired = app
        .post(
            "/api/auth/token/verify",
            None,
            json!({"token": user.access}),
        )
        .await;
    expired.assert_invalid_token("token_expired");
    assert_eq!(expired.body["valid"], false);
    app.get("/api/auth/me", Some(&user.access))
        .await
        .assert_invalid_token("token_expired");
    app.refresh(&user.refresh)
        .await
        .assert_invalid_token("token_expired");
    app.stop().await;
}

async fn me_and_missing_or_wrong_tokens(env: Env) {
    let app = env.start(&[]).await;
    let user = app.register("me").await;
    let me = app.get("/api/auth/me", Some(&user.access)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    let shown = &me.body["user"];
    assert_eq!(shown["id"], user.id.as_str());
    assert_eq!(shown["username"], user.username.as_str());
    assert_eq!(shown["organization_id"], user.organization_id.as_str());
    assert_eq!(shown["roles"], json!(["admin"]));
    assert_eq!(shown["permissions"], json!(["*:*"]));
    assert_eq!(shown["is_superuser"], false);
    for field in ["email", "created_at"] {
        assert!(shown[field].is_string(), "{field}");
    }

    // No token: a challenge without an error attribute.
    let missing = app.get("/api/auth/me", None).await;
    missing.assert_problem(401);
    assert_eq!(missing.header("www-authenticate"), "Bearer");

    // A bad token: invalid_token, and the detail never echoes it.
    let forged = format!("{}x", user.access);
    let bad = app.get("/api/auth/me", Some(&forged)).await;
    bad.assert_invalid_token("invalid_signature");
    assert!(!bad.text.contains(&user.access[..40]));
    app.stop().await;

    // A token of another issuer or audience is refused.
    let other = env.start(&["--audience", "someone-else"]).await;
    other
        .get("/api/auth/me", Some(&user.access))
        .await
        .assert_invalid_token("invalid_audience");
    other.stop().await;
    let other = env.start(&["--issuer", "someone-else"]).await;
    other
        .get("/api/auth/me", Some(&user.access))
        .await
        .assert_invalid_token("invalid_issuer");
    other.stop().await;
}

async fn logout(env: Env) {
    let app = env.start(&[]).await;
    let user = app.register("logout").await;
    let second = app.login(&user.username, &user.password).await;
    let third = app.login(&user.username, &user.password).await;

    app.post_empty("/api/auth/logout", None)
        .await
        .assert_problem(401);
    assert_eq!(app.sensitive(&user.access).await.status, 404);

    // Logout with the second session's refresh token in the body: both end.
    let done = app
        .post(
            "/api/auth/logout",
            Some(&user.access),
            json!({"refresh": second.refresh}),
        )
        .await;
    assert_eq!(done.status, 204, "{}", done.text);
    assert!(done.text.is_empty());

    // The access token is refused on sensitive routes at once...
    app.sensitive(&user.access)
        .await
        .assert_invalid_token("token_revoked");
    app.post_empty("/api/auth/logout", Some(&user.access))
        .await
        .assert_invalid_token("token_revoked");
    // ...and trusted by non-sensitive ones until it expires (the stateless half).
    assert_eq!(
        app.get("/api/auth/me", Some(&user.access)).await.status,
        200
    );
    // The refresh tokens are spent.
    app.refresh(&user.refresh).await.assert_problem(401);
    app.refresh(&second.refresh).await.assert_problem(401);
    app.sensitive(&second.access)
        .await
        .assert_invalid_token("session_ended");
    // The third session is untouched.
    assert_eq!(app.sensitive(&third.access).await.status, 404);
    assert_eq!(app.refresh(&third.refresh).await.status, 200);
    app.stop().await;
}

async fn logout_all(env: Env) {
    let app = env.start(&[]).await;
    let user = app.register("everywhere").await;
    let second = app.login(&user.username, &user.password).await;

    assert_eq!(
        app.post_empty("/api/auth/logout-all", Some(&user.access))
            .await
            .status,
        204
    );
    for session in [&user, &second] {
        let refused = app.sensitive(&session.access).await;
        refused.assert_problem(401);
        assert_eq!(
            refused.header("www-authenticate"),
            r#"Bearer error="invalid_token""#
        );
        app.refresh(&session.refresh).await.assert_problem(401);
    }
    // A login right after (even in the same second) gets tokens that work.
    let again = app.login(&user.username, &user.password).await;
    assert_eq!(app.sensitive(&again.access).await.status, 404);
    assert_eq!(app.refresh(&again.refresh).await.status, 200);

    app.post_empty("/api/auth/logout-all", None)
        .await
        .assert_problem(401);
    app.stop().await;
}

async fn sessions(env: Env) {
    let app = env.start(&[]).await;
    let user = app.register("sessions").await;
    let response = app
        .send(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"username": user.username, "password": user.password, "device_info": "phone"})),
        )
        .await;
    assert_eq!(response.status, 200);
    let phone_access = response.body["access"].as_str().unwrap().to_owned();
    let phone_refresh = response.body["refresh"].as_str().unwrap().to_owned();
    let phone_sid = decode(&phone_access).1["sid"].as_str().unwrap().to_owned();

    let list = app.get("/api/auth/sessions", Some(&user.access)).await;
    assert_eq!(list.status, 200, "{}", list.text);
    let items = list.body.as_array().unwrap();
    assert_eq!(items.len(), 2);
    let current_sid = decode(&user.access).1["sid"].clone();
    for item in items {
        for field in [
            "id",
            "ip_address",
            "created_at",
            "last_activity",
            "expires_at",
        ] {
            assert!(item[field].is_string(), "{field}: {item}");
        }
        assert!(item.get("user_agent").is_some() && item.get("device_info").is_some());
        assert_eq!(item["current"], item["id"] == current_sid, "{item}");
        assert_eq!(item["ip_address"], "127.0.0.1");
    }
    assert!(items.iter().any(|item| item["device_info"] == "phone"));

    // Someone else cannot end it: 404.
    let stranger = app.register("stranger").await;
    app.delete(
        &format!("/api/auth/sessions/{phone_sid}"),
        Some(&stranger.access),
    )
    .await
    .assert_problem(404);
    app.delete("/api/auth/sessions/unknown", Some(&user.access))
        .await
        .assert_problem(404);

    assert_eq!(
        app.delete(
            &format!("/api/auth/sessions/{phone_sid}"),
            Some(&user.access)
        )
        .await
        .status,
        204
    );
    app.refresh(&phone_refresh).await.assert_problem(401);
    app.sensitive(&phone_access)
        .await
        .assert_invalid_token("session_ended");
    let list = app.get("/api/auth/sessions", Some(&user.access)).await;
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    // Ended: 404 the second time.
    app.delete(
        &format!("/api/auth/sessions/{phone_sid}"),
        Some(&user.access),
    )
    .await
    .assert_problem(404);
    app.get("/api/auth/sessions", None)
        .await
        .assert_problem(401);
    app.stop().await;
}

async fn password_change(env: Env) {
    let app = env.start(&[]).await;
    let user = app.register("password").await;
    let other = app.login(&user.username, &user.password).await;

    let wrong = app
        .post(
            "/api/auth/password",
            Some(&user.access),
            json!({"old_password": "not the password", "new_password": "a new password"}),
        )
        .await;
    wrong.assert_problem(401);
    app.post(
        "/api/auth/password",
        Some(&user.access),
        json!({"old_password": user.password, "new_password": "short"}),
    )
    .await
    .assert_problem(422);
    app.post(
        "/api/auth/password",
        Some(&user.access),
        json!({"old_password": 1}),
    )
    .await
    .assert_problem(400);

    // The current session refreshes (in the same second, most likely) before the change,
    // which presents the session's older access token: the newer one must go as well.
    let newer = app.refresh(&user.refresh).await;
    assert_eq!(newer.status, 200, "{}", newer.text);
    let newer_access = newer.body["access"].as_str().unwrap();
    let newer_refresh = newer.body["refresh"].as_str().unwrap();
    assert_eq!(app.sensitive(newer_access).await.status, 404);

    let changed = app
        .post(
            "/api/auth/password",
            Some(&user.access),
            json!({"old_password": user.password, "new_password": "a new password"}),
        )
        .await;
    assert_eq!(changed.status, 204, "{}", changed.text);

    // Every other session ends; every older access token is refused on sensitive routes.
    app.refresh(&other.refresh).await.assert_problem(401);
    app.sensitive(&other.access).await.assert_problem(401);
    app.sensitive(&user.access).await.assert_problem(401);
    app.sensitive(newer_access).await.assert_problem(401);
    // Non-sensitive routes trust the signature until the token expires (the hybrid).
    assert_eq!(
        app.get("/api/auth/me", Some(newer_access)).await.status,
        200
    );
    // The current session goes on: its refresh token gives a working access token.
    let refreshed = app.refresh(newer_refresh).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    let access = refreshed.body["access"].as_str().unwrap();
    assert_eq!(app.sensitive(access).await.status, 404);

    // The old password no longer logs in; the new one does.
    app.post(
        "/api/auth/login",
        None,
        json!({"username": user.username, "password": user.password}),
    )
    .await
    .assert_problem(401);
    let again = app.login(&user.username, "a new password").await;
    assert_eq!(app.sensitive(&again.access).await.status, 404);
    app.stop().await;
}

async fn customers(env: Env) {
    let app = env.start(&[]).await;
    let admin = app.register("customers").await;
    let token = Some(admin.access.as_str());

    let created = app
        .post(
            "/api/customers",
            token,
            json!({"name": "  Globex  ", "email": "Info@Globex.com", "phone": "+1 555", "company": "Globex Corp", "notes": "big"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let customer = created.body.clone();
    let id = customer["id"].as_str().unwrap().to_owned();
    assert_eq!(created.header("location"), format!("/api/customers/{id}"));
    assert_eq!(customer["organization_id"], admin.organization_id.as_str());
    assert_eq!(customer["name"], "Globex");
    assert_eq!(customer["email"], "info@globex.com");
    assert_eq!(customer["phone"], "+1 555");
    assert_eq!(customer["company"], "Globex Corp");
    assert_eq!(customer["notes"], "big");
    assert!(customer["created_at"].is_string() && customer["updated_at"].is_string());

    let minimal = app
        .post("/api/customers", token, json!({"name": "Initech"}))
        .await;
    assert_eq!(minimal.status, 201, "{}", minimal.text);
    assert_eq!(minimal.body["email"], Value::Null);
    for n in 0..3 {
        let response = app
            .post(
                "/api/customers",
                token,
                json!({"name": format!("Extra {n}")}),
            )
            .await;
        assert_eq!(response.status, 201);
    }

    // List, paginated.
    let all = app.get("/api/customers", token).await;
    assert_eq!(all.status, 200);
    assert_eq!(all.body.as_array().unwrap().len(), 5);
    assert_eq!(all.header("x-total-count"), "5");
    let page = app.get("/api/customers?limit=2&offset=1", token).await;
    let names: Vec<&str> = page
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2);
    assert_eq!(page.body[0]["id"], all.body[1]["id"]);
    app.get("/api/customers?limit=abc", token)
        .await
        .assert_problem(400);
    app.get("/api/customers?limit=0", token)
        .await
        .assert_problem(422);
    app.get("/api/customers?offset=-1", token)
        .await
        .assert_problem(422);

    // Get, patch.
    let fetched = app.get(&format!("/api/customers/{id}"), token).await;
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.body, customer);
    let patched = app
        .patch(
            &format!("/api/customers/{id}"),
            token,
            json!({"phone": null, "notes": "bigger"}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.body["phone"], Value::Null);
    assert_eq!(patched.body["notes"], "bigger");
    assert_eq!(patched.body["name"], "Globex");
    assert_eq!(patched.body["email"], "info@globex.com");

    // Failures: 400, 422, 404.
    app.post("/api/customers", token, json!({"email": "a@b.co"}))
        .await
        .assert_problem(400);
    app.post("/api/customers", token, json!({"name": ["x"]}))
        .await
        .assert_problem(400);
    app.post("/api/customers", token, json!({"name": "   "}))
        .await
        .assert_problem(422);
    app.post(
        "/api/customers",
        token,
        json!({"name": "X", "email": "nope"}),
    )
    .await
    .assert_problem(422);
    app.patch(&format!("/api/customers/{id}"), token, json!({"name": ""}))
        .await
        .assert_problem(422);
    app.patch(
        &format!("/api/customers/{id}"),
        token,
        json!({"email": "bad"}),
    )
    .await
    .assert_problem(422);
    app.patch(
        &format!("/api/customers/{id}"),
        token,
        json!({"name": null}),
    )
    .await
    .assert_problem(400);
    app.patch("/api/customers/unknown", token, json!({"notes": "x"}))
        .await
        .assert_problem(404);
    app.get("/api/customers/unknown", token)
        .await
        .assert_problem(404);

    // Delete (sensitive).
    assert_eq!(
        app.delete(&format!("/api/customers/{id}"), token)
            .await
            .status,
        204
    );
    app.get(&format!("/api/customers/{id}"), token)
        .await
        .assert_problem(404);
    app.delete(&format!("/api/customers/{id}"), token)
        .await
        .assert_problem(404);
    app.get("/api/customers", None).await.assert_problem(401);
    app.stop().await;
}

async fn customer_permissions_and_organizations(env: Env) {
    let app = env.start(&[]).await;
    let admin = app.register("org-a").await;
    let viewer = app.create_user(&admin, "viewer", &["viewer"]).await;
    let sales = app.create_user(&admin, "sales", &["sales"]).await;
    let manager = app.create_user(&admin, "manager", &["manager"]).await;
    let nobody = app.create_user(&admin, "nobody", &[]).await;

    // No role, no permission: even the list is 403, naming the scope it lacks.
    let denied = app.get("/api/customers", Some(&nobody.access)).await;
    denied.assert_problem(403);
    assert_eq!(
        denied.header("www-authenticate"),
        r#"Bearer error="insufficient_scope", scope="customer:read""#
    );

    let created = app
        .post(
            "/api/customers",
            Some(&sales.access),
            json!({"name": "Hooli"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let path = format!("/api/customers/{}", created.body["id"].as_str().unwrap());

    // viewer: read only.
    assert_eq!(
        app.get("/api/customers", Some(&viewer.access)).await.status,
        200
    );
    assert_eq!(app.get(&path, Some(&viewer.access)).await.status, 200);
    let denied = app
        .post("/api/customers", Some(&viewer.access), json!({"name": "X"}))
        .await;
    denied.assert_problem(403);
    assert_eq!(
        denied.header("www-authenticate"),
        r#"Bearer error="insufficient_scope", scope="customer:create""#
    );
    app.patch(&path, Some(&viewer.access), json!({"notes": "x"}))
        .await
        .assert_problem(403);
    app.delete(&path, Some(&viewer.access))
        .await
        .assert_problem(403);
    // sales: no delete, no users.
    assert_eq!(
        app.patch(&path, Some(&sales.access), json!({"notes": "x"}))
            .await
            .status,
        200
    );
    let denied = app.delete(&path, Some(&sales.access)).await;
    denied.assert_problem(403);
    assert!(
        denied
            .header("www-authenticate")
            .contains("customer:delete")
    );
    app.get("/api/admin/users", Some(&sales.access))
        .await
        .assert_problem(403);
    // manager: customer:* and user:read, nothing else of users.
    assert_eq!(
        app.get("/api/admin/users", Some(&manager.access))
            .await
            .status,
        200
    );
    app.post(
        "/api/admin/users",
        Some(&manager.access),
        json!({"username": "x-user", "email": "x@example.com", "password": "long enough", "roles": []}),
    )
    .await
    .assert_problem(403);
    assert_eq!(app.delete(&path, Some(&manager.access)).await.status, 204);

    // Another organization's customer is answered 404, never 403; its list is its own.
    let created = app
        .post(
            "/api/customers",
            Some(&admin.access),
            json!({"name": "Private"}),
        )
        .await;
    let path = format!("/api/customers/{}", created.body["id"].as_str().unwrap());
    let outsider = app.register("org-b").await;
    for response in [
        app.get(&path, Some(&outsider.access)).await,
        app.patch(&path, Some(&outsider.access), json!({"notes": "x"}))
            .await,
        app.delete(&path, Some(&outsider.access)).await,
    ] {
        response.assert_problem(404);
    }
    let theirs = app.get("/api/customers", Some(&outsider.access)).await;
    assert_eq!(theirs.body, json!([]));
    assert_eq!(app.get(&path, Some(&admin.access)).await.status, 200);
    app.stop().await;
}

async fn admin_users(env: Env) {
    let app = env.start(&[]).await;
    let admin = app.register("admin-users").await;
    let outsider = app.register("outsider").await;

    let created = app
        .post(
            "/api/admin/users",
            Some(&admin.access),
            json!({"username": format!("carol-{}", random()), "email": format!("carol-{}@example.com", random()), "password": "long enough", "roles": ["sales", "viewer"]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(
        created.body["organization_id"],
        admin.organization_id.as_str()
    );
    assert_eq!(created.body["roles"], json!(["sales", "viewer"]));
    assert_eq!(
        created.body["permissions"],
        json!(["customer:read", "customer:create", "customer:update"])
    );
    assert_eq!(created.body["suspended"], false);
    let username = created.body["username"].as_str().unwrap().to_owned();
    let email = created.body["email"].as_str().unwrap().to_owned();

    let list = app.get("/api/admin/users", Some(&admin.access)).await;
    assert_eq!(list.status, 200);
    let ids: Vec<&str> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&admin.id.as_str()));
    assert!(!ids.contains(&outsider.id.as_str()));
    let page = app
        .get("/api/admin/users?limit=1&offset=1", Some(&admin.access))
        .await;
    assert_eq!(page.body.as_array().unwrap().len(), 1);

    // 409, 422.
    app.post(
        "/api/admin/users",
        Some(&admin.access),
        json!({"username": username, "email": "fresh@example.com", "password": "long enough", "roles": []}),
    )
    .await
    .assert_problem(409);
    app.post(
        "/api/admin/users",
        Some(&admin.access),
        json!({"username": format!("dan-{}", random()), "email": email.to_uppercase(), "password": "long enough", "roles": []}),
    )
    .await
    .assert_problem(409);
    let unknown = app
        .post(
            "/api/admin/users",
            Some(&admin.access),
            json!({"username": format!("dan-{}", random()), "email": "dan@example.com", "password": "long enough", "roles": ["root"]}),
        )
        .await;
    unknown.assert_problem(422);
    assert!(unknown.body["detail"].as_str().unwrap().contains("root"));
    app.post(
        "/api/admin/users",
        Some(&admin.access),
        json!({"username": format!("dan-{}", random()), "email": "dan@example.com", "password": "long enough", "roles": ["superuser"]}),
    )
    .await
    .assert_problem(422);
    app.post(
        "/api/admin/users",
        Some(&admin.access),
        json!({"username": format!("dan-{}", random()), "email": "bad", "password": "long enough", "roles": []}),
    )
    .await
    .assert_problem(422);
    app.post(
        "/api/admin/users",
        Some(&admin.access),
        json!({"username": format!("dan-{}", random()), "email": "dan@example.com", "password": "long enough"}),
    )
    .await
    .assert_problem(400);

    // The new user logs in with its roles.
    let carol = app.login(&username, "long enough").await;
    assert_eq!(
        decode(&carol.access).1["perms"],
        json!(["customer:read", "customer:create", "customer:update"])
    );
    app.stop().await;
}

async fn role_change_and_stale_claims(env: Env) {
    let app = env.start(&[]).await;
    let admin = app.register("roles").await;
    let user = app.create_user(&admin, "promoted", &["viewer"]).await;
    let roles_path = format!("/api/admin/users/{}/roles", user.id);

    app.put(
        &roles_path,
        Some(&admin.access),
        json!({"roles": ["owner"]}),
    )
    .await
    .assert_problem(422);
    app.put(
        &roles_path,
        Some(&admin.access),
        json!({"roles": "manager"}),
    )
    .await
    .assert_problem(400);
    let outsider = app.register("roles-outsider").await;
    app.put(
        &roles_path,
        Some(&outsider.access),
        json!({"roles": ["admin"]}),
    )
    .await
    .assert_problem(404);
    app.put(
        "/api/admin/users/unknown/roles",
        Some(&admin.access),
        json!({"roles": ["admin"]}),
    )
    .await
    .assert_problem(404);
    app.put(&roles_path, Some(&user.access), json!({"roles": ["admin"]}))
        .await
        .assert_problem(403);

    let changed = app
        .put(
            &roles_path,
            Some(&admin.access),
            json!({"roles": ["manager"]}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.body["roles"], json!(["manager"]));
    assert_eq!(changed.body["id"], user.id.as_str());

    // The old token is stale on sensitive routes (401 invalid_token, "stale" detail)...
    let stale = app.sensitive(&user.access).await;
    stale.assert_invalid_token("stale_claims");
    assert!(stale.body["detail"].as_str().unwrap().contains("stale"));
    // ...still trusted with its old permissions elsewhere until it expires...
    assert_eq!(
        app.get("/api/customers", Some(&user.access)).await.status,
        200
    );
    app.get("/api/admin/users", Some(&user.access))
        .await
        .assert_problem(403);
    // ...and the refresh token stays valid: it brings the new permissions.
    let refreshed = app.refresh(&user.refresh).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    let access = refreshed.body["access"].as_str().unwrap();
    let claims = decode(access).1;
    assert_eq!(claims["roles"], json!(["manager"]));
    assert_eq!(claims["perms"], json!(["customer:*", "user:read"]));
    assert_eq!(claims["ver"], 2);
    assert_eq!(app.sensitive(access).await.status, 404);
    assert_eq!(app.get("/api/admin/users", Some(access)).await.status, 200);
    let me = app.get("/api/auth/me", Some(access)).await;
    assert_eq!(me.body["user"]["roles"], json!(["manager"]));
    app.stop().await;
}

async fn suspension(env: Env) {
    let app = env.start(&[]).await;
    let admin = app.register("suspender").await;
    let user = app.create_user(&admin, "suspended", &["sales"]).await;
    let suspend = format!("/api/admin/users/{}/suspend", user.id);
    let reinstate = format!("/api/admin/users/{}/reinstate", user.id);

    let outsider = app.register("suspend-outsider").await;
    app.post_empty(&suspend, Some(&outsider.access))
        .await
        .assert_problem(404);
    app.post_empty("/api/admin/users/unknown/suspend", Some(&admin.access))
        .await
        .assert_problem(404);
    app.post_empty(&suspend, Some(&user.access))
        .await
        .assert_problem(403);

    assert_eq!(
        app.post_empty(&suspend, Some(&admin.access)).await.status,
        204
    );
    // Sessions and tokens end; login is refused with the wrong-password answer.
    app.sensitive(&user.access).await.assert_problem(401);
    app.refresh(&user.refresh).await.assert_problem(401);
    let refused = app
        .post(
            "/api/auth/login",
            None,
            json!({"username": user.username, "password": user.password}),
        )
        .await;
    refused.assert_problem(401);
    let wrong = app
        .post(
            "/api/auth/login",
            None,
            json!({"username": user.username, "password": "not it at all"}),
        )
        .await;
    assert_eq!(refused.body["detail"], wrong.body["detail"]);
    let listed = app.get("/api/admin/users", Some(&admin.access)).await;
    assert!(
        listed
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["id"] == user.id.as_str() && u["suspended"] == true)
    );

    app.post_empty(&reinstate, Some(&outsider.access))
        .await
        .assert_problem(404);
    app.post_empty("/api/admin/users/unknown/reinstate", Some(&admin.access))
        .await
        .assert_problem(404);
    assert_eq!(
        app.post_empty(&reinstate, Some(&admin.access)).await.status,
        204
    );
    let back = app.login(&user.username, &user.password).await;
    assert_eq!(app.sensitive(&back.access).await.status, 404);
    app.stop().await;
}

async fn superuser(env: Env) {
    let email = format!("root-{}@example.com", random());
    let app = env
        .start(&[
            "--admin-email",
            &email,
            "--admin-password",
            "superuser password",
        ])
        .await;
    let org = app.register("tenant").await;
    let customer = app
        .post(
            "/api/customers",
            Some(&org.access),
            json!({"name": "Tenant customer"}),
        )
        .await;
    let path = format!("/api/customers/{}", customer.body["id"].as_str().unwrap());

    let root = app.login("admin", "superuser password").await;
    let me = app.get("/api/auth/me", Some(&root.access)).await;
    assert_eq!(me.body["user"]["is_superuser"], true);
    assert_eq!(me.body["user"]["permissions"], json!(["*:*"]));
    assert_eq!(me.body["user"]["email"], email.as_str());

    // Across organizations.
    let users = app.get("/api/admin/users", Some(&root.access)).await;
    assert!(
        users
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["id"] == org.id.as_str())
    );
    assert_eq!(app.get(&path, Some(&root.access)).await.status, 200);
    // An organization admin cannot touch the superuser.
    app.post_empty(
        &format!("/api/admin/users/{}/suspend", root.id),
        Some(&org.access),
    )
    .await
    .assert_problem(404);
    app.stop().await;

    // Restarting with the same flags keeps it (and a changed password is applied).
    let app = env
        .start(&[
            "--admin-email",
            &email,
            "--admin-password",
            "another superuser password",
        ])
        .await;
    app.login("admin", "another superuser password").await;
    app.stop().await;
}

/// Asymmetric signing: the JWKS publishes the key, tokens carry its kid.
async fn private_key(file: &str, alg: &str, kty: &str) {
    let env = Env::new(Backend::Sqlite).await.unwrap();
    let key = fixture(file);
    let app = env.start(&["--jwt-private-key", &key]).await;
    let jwks = app.get("/.well-known/jwks.json", None).await;
    assert_eq!(jwks.status, 200, "{}", jwks.text);
    assert!(jwks.header("content-type").starts_with("application/json"));
    let keys = jwks.body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kty"], kty);
    assert!(keys[0].get("d").is_none(), "no private member is published");
    let user: User = app.register("signed").await;
    let (header, _) = decode(&user.access);
    assert_eq!(header["alg"], alg);
    assert_eq!(header["kid"], keys[0]["kid"]);
    assert_eq!(
        app.get("/api/auth/me", Some(&user.access)).await.status,
        200
    );
    assert_eq!(app.refresh(&user.refresh).await.status, 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsa_private_key_signs_rs256_and_publishes_jwks() {
    private_key("rsa2048.pem", "RS256", "RSA").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p256_private_key_signs_es256_and_publishes_jwks() {
    private_key("p256.pem", "ES256", "EC").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ed25519_private_key_signs_eddsa_and_publishes_jwks() {
    private_key("ed25519.pem", "EdDSA", "OKP").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_given_secret_signs_hs256_and_tokens_of_another_secret_are_refused() {
    let env = Env::new(Backend::Sqlite).await.unwrap();
    let app = env
        .start(&["--jwt-secret", "0123456789abcdef0123456789abcdef"])
        .await;
    let user = app.register("secret").await;
    assert_eq!(decode(&user.access).0["alg"], "HS256");
    app.get("/.well-known/jwks.json", None)
        .await
        .assert_problem(404);
    app.stop().await;
    let app = env
        .start(&["--jwt-secret", "another secret of thirty-two bytes!!"])
        .await;
    app.get("/api/auth/me", Some(&user.access))
        .await
        .assert_invalid_token("unknown_key");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_failure_open_and_closed() {
    // A Redis that goes away: sensitive routes answer 503 (closed) or pass (open).
    let Ok(server) = support::RedisServer::start() else {
        assert!(!support::in_ci(), "redis-server is required in CI");
        return;
    };
    let db = support::Database::sqlite();
    let redis = support::Redis::Private(server);
    let url = redis.url();
    let start = |policy: &'static str| {
        let (db, url) = (db.url(), url.clone());
        async move {
            TestApp::start(
                [
                    "crm",
                    "--database-url",
                    &db,
                    "--redis-url",
                    &url,
                    "--revocation-failure",
                    policy,
                    "--login-rate",
                    "1000/min",
                ]
                .map(str::to_owned)
                .to_vec(),
            )
            .await
        }
    };
    let closed = start("closed").await;
    let open = start("open").await;
    let user = closed.register("failure").await;
    // A sensitive route whose handler needs only the database (sessions live in Redis too).
    let path = "/api/customers/00000000-0000-4000-8000-000000000000";
    assert_eq!(closed.delete(path, Some(&user.access)).await.status, 404);
    drop(redis);
    // The local cache may answer for at most its propagation bound; then the store is asked.
    let bound = tollgate_redis::LocalCache::new().propagation_bound() + Duration::from_secs(2);
    let failed = support::within(bound, || async {
        closed.delete(path, Some(&user.access)).await.status == 503
    })
    .await;
    assert!(
        failed.is_some(),
        "the closed app still answers {bound:?} after Redis died"
    );
    let unavailable = closed.delete(path, Some(&user.access)).await;
    unavailable.assert_problem(503);
    assert_eq!(unavailable.body["code"], "revocation_store_unavailable");
    assert!(!unavailable.header("retry-after").is_empty());
    assert_eq!(open.delete(path, Some(&user.access)).await.status, 404);
    // Non-sensitive routes do not ask the store.
    assert_eq!(
        closed.get("/api/auth/me", Some(&user.access)).await.status,
        200
    );
    closed.stop().await;
    open.stop().await;
}
