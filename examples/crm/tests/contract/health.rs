//! `/health`, `/.well-known/jwks.json`, and the answers to unknown routes and methods.

use reqwest::Method;
use serde_json::json;

use crate::{
    run,
    support::{Backend, Env},
};

suite!(health_jwks_and_unknown_routes);

async fn health_jwks_and_unknown_routes(env: Env) {
    let app = env.start(&[]).await;
    let health = app.get("/health", None).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body, json!({"status": "ok"}));

    // HS256 (the generated secret): nothing to publish.
    let jwks = app.get("/.well-known/jwks.json", None).await;
    jwks.assert_problem(404);
    assert_eq!(jwks.body["code"], "not_found", "{}", jwks.text);

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
