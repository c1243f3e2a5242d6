//! The caller's account: `me` (and missing or wrong tokens), logout, logout everywhere,
//! sessions, password change.

use reqwest::Method;
use serde_json::json;

use crate::{
    run,
    support::{Backend, Env, decode},
};

suite!(
    me_and_missing_or_wrong_tokens,
    logout,
    logout_all,
    sessions,
    password_change
);

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
