//! `/health` (and how it follows Redis), `/.well-known/jwks.json`, and the answers to unknown
//! routes and methods.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::{
    run,
    support::{self, Backend, Database, Env, RedisServer, TestApp, within},
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

/// `/health` answers 503 naming Redis while the Redis of `--redis-url` is stopped, and 200
/// again once it is back, without a restart of the app.
async fn health_follows_redis(db: Database) {
    let Ok(mut redis) = RedisServer::start() else {
        assert!(!support::in_ci(), "redis-server is required in CI");
        return;
    };
    let url = redis.url();
    let app = TestApp::start(
        ["crm", "--database-url", &db.url(), "--redis-url", &url]
            .map(str::to_owned)
            .to_vec(),
    )
    .await;
    assert_eq!(app.get("/health", None).await.status, 200);

    redis.stop();
    let down = app.get("/health", None).await;
    down.assert_problem(503);
    assert_eq!(down.body["code"], "unavailable", "{}", down.text);
    assert_eq!(down.body["down"], json!(["redis"]), "{}", down.text);
    assert!(down.body["detail"].as_str().unwrap().contains("redis"));
    assert!(!down.header("retry-after").is_empty());
    assert!(!down.header("x-request-id").is_empty(), "{down:?}");

    redis.restart().unwrap();
    let back = within(Duration::from_secs(20), || async {
        app.get("/health", None).await.status == 200
    })
    .await;
    assert!(back.is_some(), "/health stayed 503 after Redis came back");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_follows_redis_on_sqlite() {
    health_follows_redis(Database::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_follows_redis_on_postgres() {
    if let Some(db) = Database::postgres().await {
        health_follows_redis(db).await;
    }
}
