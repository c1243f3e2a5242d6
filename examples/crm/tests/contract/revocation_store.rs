//! What sensitive routes do when the revocation store goes away.

use std::time::Duration;

use serde_json::json;

use crate::support::{self, TestApp};

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
    // Token verification asks the same store, and answers its outage with the same code.
    let token = json!({"token": user.access});
    let unavailable = closed
        .post("/api/auth/token/verify", None, token.clone())
        .await;
    unavailable.assert_problem(503);
    assert_eq!(unavailable.body["code"], "revocation_store_unavailable");
    assert!(!unavailable.header("retry-after").is_empty());
    let verified = open.post("/api/auth/token/verify", None, token).await;
    assert_eq!(verified.status, 200, "{}", verified.text);
    assert_eq!(verified.body["valid"], true);
    // Non-sensitive routes do not ask the store.
    assert_eq!(
        closed.get("/api/auth/me", Some(&user.access)).await.status,
        200
    );
    closed.stop().await;
    open.stop().await;
}
