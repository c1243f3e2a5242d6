//! Administration: users, role changes and stale claims, suspension, the superuser.

use serde_json::json;

use crate::{
    run,
    support::{Backend, Env, decode, random},
};

suite!(
    admin_users,
    role_change_and_stale_claims,
    suspension,
    superuser
);

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
