//! Customers: the routes, their permissions, and the boundary between organizations.

use serde_json::{Value, json};

use crate::{
    run,
    support::{Backend, Env},
};

suite!(
    customers,
    customer_permissions_and_organizations,
    control_characters
);

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

/// Text with control characters is refused the same way on every database (PostgreSQL cannot
/// store U+0000, SQLite can): 422 for a field, 401 for a login identifier, never a 500.
async fn control_characters(env: Env) {
    let app = env.start(&[]).await;
    let admin = app.register("control").await;
    let token = Some(admin.access.as_str());

    for body in [
        json!({"name": "Glo\u{0}bex"}),
        json!({"name": "Globex", "notes": "a\u{0}b"}),
        json!({"name": "Globex", "company": "bell\u{7}"}),
        json!({"name": "Globex", "email": "info\u{0}@globex.com"}),
    ] {
        let answer = app.post("/api/customers", token, body.clone()).await;
        answer.assert_problem(422);
        assert!(answer.body["detail"].as_str().is_some(), "{body}");
    }
    let created = app
        .post(
            "/api/customers",
            token,
            json!({"name": "Globex", "notes": "line 1\nline 2\tend"}),
        )
        .await;
    assert_eq!(
        created.status, 201,
        "line breaks and tabs are text: {}",
        created.text
    );
    let id = created.body["id"].as_str().unwrap().to_owned();
    app.patch(
        &format!("/api/customers/{id}"),
        token,
        json!({"name": "x\u{0}"}),
    )
    .await
    .assert_problem(422);

    let register = app
        .post(
            "/api/auth/register",
            None,
            json!({"username": "nul-org", "email": "nul-org@example.com",
                   "password": "correct horse battery", "organization": "Acme\u{0}"}),
        )
        .await;
    register.assert_problem(422);

    for identifier in [
        json!({"username": format!("{}\u{0}", admin.username), "password": admin.password}),
        json!({"email": "ann\u{0}@example.com", "password": "correct horse battery"}),
    ] {
        let login = app.post("/api/auth/login", None, identifier.clone()).await;
        login.assert_problem(401);
    }
}
