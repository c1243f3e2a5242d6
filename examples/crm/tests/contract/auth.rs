//! Sign-up and tokens: register, the tokens' claims, login and its rate limit, refresh,
//! token verification.

use std::{
    net::{IpAddr, Ipv4Addr},
    time::Duration,
};

use reqwest::Method;
use serde_json::json;

use crate::{
    run,
    support::{Backend, Env, decode, random},
};

suite!(
    register,
    token_claims,
    login,
    login_rate_limit,
    refresh_rotation_and_reuse,
    refresh_retried_within_the_grace,
    token_verify
);

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

/// With `--refresh-grace`, a client that lost the answer to a refresh retries with the token it
/// spent and gets the same pair; the session goes on. Without it, the retry is a reuse.
async fn refresh_retried_within_the_grace(env: Env) {
    let app = env.start(&["--refresh-grace", "1m"]).await;
    let user = app.register("grace").await;
    let first = app.refresh(&user.refresh).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let retried = app.refresh(&user.refresh).await;
    assert_eq!(retried.status, 200, "{}", retried.text);
    assert_eq!(retried.body["refresh"], first.body["refresh"]);
    assert_eq!(retried.body["access"], first.body["access"]);
    let access = first.body["access"].as_str().unwrap();
    let refresh = first.body["refresh"].as_str().unwrap();
    assert_eq!(app.sensitive(access).await.status, 404);
    let next = app.refresh(refresh).await;
    assert_eq!(next.status, 200, "{}", next.text);
    app.stop().await;

    // Without the grace (the default), the same retry ends the session.
    let app = env.start(&[]).await;
    let user = app.register("no-grace").await;
    assert_eq!(app.refresh(&user.refresh).await.status, 200);
    app.refresh(&user.refresh)
        .await
        .assert_invalid_token("refresh_token_reused");
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
