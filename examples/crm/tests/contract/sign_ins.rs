//! The recent sign-ins (`GET /api/auth/logins`) and an admin's view of a user's sessions
//! (`GET /api/admin/users/{id}/sessions`, `DELETE .../sessions/{sid}`).

use serde_json::json;

use crate::{
    run,
    support::{Backend, Env, decode},
};

suite!(recent_sign_ins, admin_sessions_of_a_user);

async fn recent_sign_ins(env: Env) {
    let app = env.start(&[]).await;
    let user = app.register("sign-ins").await;
    let other = app.register("sign-ins-other").await;

    // A wrong password for this account counts; an unknown username counts for nobody.
    let wrong = app
        .post(
            "/api/auth/login",
            None,
            json!({"username": user.username, "password": "not the password"}),
        )
        .await;
    wrong.assert_problem(401);
    let unknown = app
        .post(
            "/api/auth/login",
            None,
            json!({"username": "nobody-at-all", "password": "not the password"}),
        )
        .await;
    unknown.assert_problem(401);
    let again = app.login(&user.username, &user.password).await;

    let logins = app.get("/api/auth/logins", Some(&again.access)).await;
    assert_eq!(logins.status, 200, "{}", logins.text);
    let list = logins.body.as_array().unwrap();
    // Newest first: the login, the wrong password, the registration.
    assert_eq!(list.len(), 3, "{}", logins.text);
    assert_eq!(
        list.iter()
            .map(|a| a["success"].clone())
            .collect::<Vec<_>>(),
        [json!(true), json!(false), json!(true)]
    );
    for attempt in list {
        assert_eq!(attempt["ip_address"], "127.0.0.1");
        assert!(attempt["at"].as_str().unwrap().ends_with('Z'));
        assert!(attempt.get("user_agent").is_some());
    }
    // Another user's list has only its own.
    let others = app.get("/api/auth/logins", Some(&other.access)).await;
    assert_eq!(others.body.as_array().unwrap().len(), 1);

    // At most 50 are kept and shown.
    for _ in 0..51 {
        let _ = app
            .post(
                "/api/auth/login",
                None,
                json!({"username": user.username, "password": "wrong again"}),
            )
            .await;
    }
    let logins = app.get("/api/auth/logins", Some(&again.access)).await;
    let list = logins.body.as_array().unwrap();
    assert_eq!(list.len(), 50);
    assert!(list.iter().all(|a| a["success"] == false));

    app.get("/api/auth/logins", None).await.assert_problem(401);
}

async fn admin_sessions_of_a_user(env: Env) {
    let app = env.start(&[]).await;
    let admin = app.register("sessions-admin").await;
    let sam = app.create_user(&admin, "sam", &["sales"]).await;
    let sam_elsewhere = app.login(&sam.username, &sam.password).await;
    let manager = app.create_user(&admin, "manager", &["manager"]).await;
    let outsider = app.register("sessions-outsider").await;

    let path = format!("/api/admin/users/{}/sessions", sam.id);
    let listed = app.get(&path, Some(&admin.access)).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let sessions = listed.body.as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert!(sessions.iter().all(|s| s["current"] == false));
    assert!(
        sessions
            .iter()
            .all(|s| s["ip_address"] == "127.0.0.1" && s["id"].is_string())
    );

    // user:read is enough to list; another organization's user is 404; sales may not list.
    let by_manager = app.get(&path, Some(&manager.access)).await;
    assert_eq!(by_manager.status, 200);
    app.get(&path, Some(&outsider.access))
        .await
        .assert_problem(404);
    app.get(&path, Some(&sam.access)).await.assert_problem(403);

    // Ending one needs user:suspend (a manager has only user:read), and is 404 elsewhere.
    let (_, claims) = decode(&sam_elsewhere.access);
    let sid = claims["sid"].as_str().unwrap();
    let end = format!("/api/admin/users/{}/sessions/{sid}", sam.id);
    app.delete(&end, Some(&manager.access))
        .await
        .assert_problem(403);
    app.delete(&end, Some(&outsider.access))
        .await
        .assert_problem(404);
    let wrong_user = format!("/api/admin/users/{}/sessions/{sid}", manager.id);
    app.delete(&wrong_user, Some(&admin.access))
        .await
        .assert_problem(404);
    let ended = app.delete(&end, Some(&admin.access)).await;
    assert_eq!(ended.status, 204, "{}", ended.text);
    app.delete(&end, Some(&admin.access))
        .await
        .assert_problem(404);

    // That session is over: its refresh token and, on sensitive routes, its access token.
    app.refresh(&sam_elsewhere.refresh)
        .await
        .assert_problem(401);
    app.sensitive(&sam_elsewhere.access)
        .await
        .assert_problem(401);
    // The other one lives on.
    assert_eq!(app.sensitive(&sam.access).await.status, 404);
    let listed = app.get(&path, Some(&admin.access)).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
}
