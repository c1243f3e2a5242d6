//! Registration is all or nothing: when the first session cannot be opened (the session
//! store is down), the user and the organization are removed again, the client gets 503, and
//! the registration it retries once the store is back succeeds.

use std::time::Duration;

use serde_json::json;

use crate::support::{self, Database, RedisServer, TestApp, random, within};

/// How many organizations are named `name`.
async fn organizations_named(app: &TestApp, name: &str) -> i64 {
    let sql = "SELECT COUNT(*) FROM crm_organizations WHERE name = $1";
    crm::on_db!(&app.state.db, pool => sqlx::query_scalar(sql).bind(name).fetch_one(pool).await.unwrap())
}

async fn registration_is_undone_when_the_session_store_fails(db: Database) {
    let Ok(mut redis) = RedisServer::start() else {
        assert!(!support::in_ci(), "redis-server is required in CI");
        return;
    };
    let url = redis.url();
    let app = TestApp::start(
        [
            "crm",
            "--database-url",
            &db.url(),
            "--redis-url",
            &url,
            "--login-rate",
            "1000/min",
        ]
        .map(str::to_owned)
        .to_vec(),
    )
    .await;
    // Sessions live in Redis: with it stopped, the user and the organization are written,
    // then the session cannot be opened.
    redis.stop();
    for path in ["/api/auth/register", "/api/auth/browser/register"] {
        let name = format!("whole-{}", random());
        let organization = format!("org of {name}");
        let body = json!({
            "username": name,
            "email": format!("{name}@example.com"),
            "password": "long enough",
            "organization": organization,
        });
        let refused = app.post(path, None, body.clone()).await;
        refused.assert_problem(503);
        assert_eq!(refused.body["code"], "unavailable", "{path}");
        assert!(!refused.header("retry-after").is_empty(), "{path}");
        // Nothing of the account is left.
        assert!(
            app.state
                .db
                .user_by_username(&name)
                .await
                .unwrap()
                .is_none()
        );
        let email = format!("{name}@example.com");
        assert!(app.state.db.user_by_email(&email).await.unwrap().is_none());
        assert_eq!(organizations_named(&app, &organization).await, 0, "{path}");

        // The store comes back: the retry registers (503 while the store reconnects, never
        // 409).
        redis.restart().unwrap();
        let registered = within(Duration::from_secs(20), || {
            let (app, body) = (&app, body.clone());
            async move {
                let retry = app.post(path, None, body).await;
                assert!(
                    retry.status == 201 || retry.status == 503,
                    "{path}: {}",
                    retry.text
                );
                retry.status == 201
            }
        })
        .await;
        assert!(registered.is_some(), "{path}: the retry never registered");
        assert!(
            app.state
                .db
                .user_by_username(&name)
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(organizations_named(&app, &organization).await, 1, "{path}");
        redis.stop();
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_is_undone_when_the_session_store_fails_on_sqlite() {
    registration_is_undone_when_the_session_store_fails(Database::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_is_undone_when_the_session_store_fails_on_postgres() {
    if let Some(db) = Database::postgres().await {
        registration_is_undone_when_the_session_store_fails(db).await;
    }
}
