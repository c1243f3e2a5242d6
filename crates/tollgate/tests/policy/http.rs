//! A CRM-shaped axum application over loopback HTTP: one `VerifyLayer` for every route, a
//! `RequirePolicyLayer` per route, revocation on the sensitive routes, tenant checks, a handler
//! checking a policy itself, and tokens from an OAuth issuer that only sends `scope`.

use std::{net::SocketAddr, sync::LazyLock};

use axum::{
    Router,
    handler::Handler,
    routing::{delete, get},
};
use http::{StatusCode, request::Parts};
use serde_json::{Value, json};
use tollgate::{
    AuthError, Claims, RequirePolicyLayer, RevocationLayer, VerifyLayer,
    key::Algorithm,
    policy::{Authorizer, Policy},
    revocation::MemoryRevocationStore,
};
use tower::ServiceBuilder;

use crate::{authorizer, revoke, support::TestKey, token};

async fn ok() -> &'static str {
    "ok"
}

/// The report policy, built once: it needs the request head (the organization named by the
/// `x-org-id` header).
static REPORTS: LazyLock<(Authorizer, Policy)> = LazyLock::new(|| {
    let policy = Policy::all_of([
        Policy::permission("report:read").unwrap(),
        Policy::org_from_header("x-org-id").unwrap(),
    ])
    .unwrap();
    (authorizer(), policy)
});

/// The function form: the handler checks a policy itself.
async fn report(claims: Claims, request: Parts) -> Result<&'static str, AuthError> {
    let (authorizer, policy) = &*REPORTS;
    authorizer.check(policy, &claims, &request)?;
    Ok("report")
}

fn app(key: &TestKey, store: &MemoryRevocationStore) -> Router {
    let authorizer = authorizer();
    let require = |permission: &str| {
        RequirePolicyLayer::new(&authorizer, Policy::permission(permission).unwrap())
    };
    let revocation = RevocationLayer::new(store.clone());
    // An issuer whose tokens carry OAuth scopes, not `perms`.
    let oauth = Authorizer::new().perms_claim(false).scope_claim(true);

    Router::new()
        .route(
            "/customers",
            get(ok.layer(require("customer:read"))).post(ok.layer(require("customer:create"))),
        )
        .route(
            "/customers/{id}",
            // Sensitive: verify, then revocation, then policy.
            delete(
                ok.layer(
                    ServiceBuilder::new()
                        .layer(revocation.clone())
                        .layer(require("customer:delete")),
                ),
            )
            .patch(ok.layer(require("customer:update"))),
        )
        .route(
            "/orgs/{org}/customers",
            get(ok).route_layer(RequirePolicyLayer::new(
                &authorizer,
                Policy::all_of([
                    Policy::permission("customer:read").unwrap(),
                    Policy::org_from_path(1),
                ])
                .unwrap(),
            )),
        )
        .route(
            "/admin/users",
            get(ok).route_layer(require("user:read")).put(
                ok.layer(
                    ServiceBuilder::new()
                        .layer(revocation)
                        .layer(require("role:assign")),
                ),
            ),
        )
        .route("/reports", get(report))
        .route(
            "/partner/customers",
            get(ok).route_layer(RequirePolicyLayer::new(
                &oauth,
                Policy::permission("customer:read").unwrap(),
            )),
        )
        // Added last, so it runs first: every other layer reads the claims it inserts.
        .route_layer(VerifyLayer::new(key.verifier()))
}

pub(crate) async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) challenge: Option<String>,
    pub(crate) body: String,
}

impl Answer {
    pub(crate) fn problem(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

pub(crate) async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> Answer {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = reqwest::Client::new().request(method, format!("http://{addr}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    Answer {
        status: response.status(),
        challenge: response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned()),
        body: response.text().await.unwrap(),
    }
}

struct App {
    addr: SocketAddr,
    key: TestKey,
    store: MemoryRevocationStore,
}

async fn start() -> App {
    let key = TestKey::new(Algorithm::ES256);
    let store = MemoryRevocationStore::new();
    let addr = serve(app(&key, &store)).await;
    App { addr, key, store }
}

impl App {
    fn token(&self, changes: Value) -> String {
        token(&self.key, changes).0
    }

    async fn send(&self, method: &str, path: &str, token: &str) -> Answer {
        send(self.addr, method, path, Some(token), &[]).await
    }
}

#[tokio::test]
async fn roles_by_routes() {
    let app = start().await;
    let routes = [
        ("GET", "/customers"),
        ("POST", "/customers"),
        ("PATCH", "/customers/7"),
        ("DELETE", "/customers/7"),
        ("GET", "/admin/users"),
        ("PUT", "/admin/users"),
    ];
    // Tokens carry roles only; the role map grants the permissions.
    let table: [(&[&str], [u16; 6]); 7] = [
        (&["admin"], [200, 200, 200, 200, 200, 200]),
        (&["manager"], [200, 200, 200, 200, 200, 403]),
        (&["sales"], [200, 200, 200, 403, 403, 403]),
        (&["viewer"], [200, 403, 403, 403, 403, 403]),
        (&["superuser"], [200, 200, 200, 200, 200, 200]),
        (&["intern"], [403, 403, 403, 403, 403, 403]),
        (&["viewer", "sales"], [200, 200, 200, 403, 403, 403]),
    ];
    for (roles, expected) in table {
        let token = app.token(json!({ "roles": roles, "perms": [] }));
        for ((method, path), status) in routes.iter().zip(expected) {
            let answer = app.send(method, path, &token).await;
            assert_eq!(answer.status.as_u16(), status, "{roles:?} {method} {path}");
        }
    }
}

#[tokio::test]
async fn a_denial_is_403_insufficient_scope_naming_the_permission() {
    let app = start().await;
    let token = app.token(json!({ "roles": ["viewer"], "perms": [] }));
    let answer = app.send("PATCH", "/customers/7", &token).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        answer.challenge.as_deref(),
        Some(r#"Bearer error="insufficient_scope", scope="customer:update""#)
    );
    let problem = answer.problem();
    assert_eq!(problem["status"], 403);
    assert_eq!(problem["code"], "insufficient_scope");
    assert_eq!(problem["scope"], "customer:update");

    // No token: the verify layer answers, before any policy.
    let answer = send(app.addr, "GET", "/customers", None, &[]).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.challenge.as_deref(), Some("Bearer"));
}

#[tokio::test]
async fn wildcard_permissions_in_the_token() {
    let app = start().await;
    // (perms, [GET /customers, DELETE /customers/7, GET /admin/users])
    let table: [(&[&str], [u16; 3]); 6] = [
        (&["customer:*"], [200, 200, 403]),
        (&["*:read"], [200, 403, 200]),
        (&["*:*"], [200, 200, 200]),
        (&["customer:read"], [200, 403, 403]),
        (&["customer"], [403, 403, 403]),
        (&["user:*", "customer:delete"], [403, 200, 200]),
    ];
    for (perms, expected) in table {
        let token = app.token(json!({ "roles": [], "perms": perms }));
        for ((method, path), status) in [
            ("GET", "/customers"),
            ("DELETE", "/customers/7"),
            ("GET", "/admin/users"),
        ]
        .iter()
        .zip(expected)
        {
            let answer = app.send(method, path, &token).await;
            assert_eq!(answer.status.as_u16(), status, "{perms:?} {method} {path}");
        }
    }
}

#[tokio::test]
async fn tenant_scope_by_path_and_in_a_handler_by_header() {
    let app = start().await;
    let token = app.token(json!({ "org": "org-1", "perms": ["customer:read", "report:read"] }));
    let root = app.token(json!({ "org": "org-0", "roles": ["superuser"], "perms": [] }));

    assert_eq!(
        app.send("GET", "/orgs/org-1/customers", &token)
            .await
            .status,
        200
    );
    let other = app.send("GET", "/orgs/org-2/customers", &token).await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    assert_eq!(
        other.challenge.as_deref(),
        Some(r#"Bearer error="insufficient_scope""#)
    );
    // A superuser works across organizations.
    assert_eq!(
        app.send("GET", "/orgs/org-2/customers", &root).await.status,
        200
    );

    // The handler's own check, answered through `IntoResponse for AuthError`.
    let answer = send(
        app.addr,
        "GET",
        "/reports",
        Some(&token),
        &[("x-org-id", "org-1")],
    )
    .await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (StatusCode::OK, "report")
    );
    let answer = send(
        app.addr,
        "GET",
        "/reports",
        Some(&token),
        &[("x-org-id", "org-2")],
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.problem()["code"], "insufficient_scope");
    let missing = send(app.addr, "GET", "/reports", Some(&token), &[]).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);

    let no_report = app.token(json!({ "org": "org-1", "perms": ["customer:read"] }));
    let answer = send(
        app.addr,
        "GET",
        "/reports",
        Some(&no_report),
        &[("x-org-id", "org-1")],
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        answer.challenge.as_deref(),
        Some(r#"Bearer error="insufficient_scope", scope="report:read""#)
    );
}

#[tokio::test]
async fn scope_string_tokens() {
    let app = start().await;
    // (scope, perms, status)
    let table = [
        (json!("openid customer:read"), json!([]), 200),
        (json!("customer:*"), json!([]), 200),
        (json!("openid profile"), json!([]), 403),
        (json!(null), json!(["customer:read"]), 403),
    ];
    for (scope, perms, status) in table {
        let token = app.token(json!({ "scope": scope, "perms": perms, "roles": [] }));
        let answer = app.send("GET", "/partner/customers", &token).await;
        assert_eq!(answer.status.as_u16(), status, "{scope} {perms}");
    }
}

#[tokio::test]
async fn revocation_still_applies_on_sensitive_routes() {
    let app = start().await;
    let (token, claims) = token(&app.key, json!({ "roles": ["manager"], "perms": [] }));
    assert_eq!(app.send("DELETE", "/customers/7", &token).await.status, 200);
    revoke(&app.store, &claims).await;
    let answer = app.send("DELETE", "/customers/7", &token).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.problem()["code"], "token_revoked");
    // Non-sensitive routes are stateless: the token works until it expires.
    assert_eq!(app.send("GET", "/customers", &token).await.status, 200);
}
