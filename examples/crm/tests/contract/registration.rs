//! Registration is all or nothing: when the first session cannot be opened (the session
//! store is down: Redis stopped, or the database refusing the session row), the user and the
//! organization are removed again, the client gets 503, and the registration it retries once
//! the store is back succeeds.

use std::time::Duration;

use serde_json::json;

use crate::support::{self, Database, RedisServer, TestApp, random, within};

/// How many organizations are named `name`.
async fn organizations_named(app: &TestApp, name: &str) -> i64 {
    let sql = "SELECT COUNT(*) FROM crm_organizations WHERE name = $1";
    crm::on_db!(&app.state.db, pool => sqlx::query_scalar(sql).bind(name).fetch_one(pool).await.unwrap())
}

/// Register `name` on `path`; 503 `unavailable` while the session store fails, and nothing
/// of the account left.
async fn refused_and_undone(app: &TestApp, path: &str, name: &str, organization: &str) {
    let refused = app.post(path, None, account(name, organization)).await;
    refused.assert_problem(503);
    assert_eq!(refused.body["code"], "unavailable", "{path}");
    assert!(!refused.header("retry-after").is_empty(), "{path}");
    assert!(app.state.db.user_by_username(name).await.unwrap().is_none());
    let email = format!("{name}@example.com");
    assert!(app.state.db.user_by_email(&email).await.unwrap().is_none());
    assert_eq!(organizations_named(app, organization).await, 0, "{path}");
}

/// Retry until 201 (503 while the store reconnects, never 409): the account is whole.
async fn retried(app: &TestApp, path: &str, name: &str, organization: &str) {
    let registered = within(Duration::from_secs(20), || async {
        let retry = app.post(path, None, account(name, organization)).await;
        assert!(
            retry.status == 201 || retry.status == 503,
            "{path}: {}",
            retry.text
        );
        retry.status == 201
    })
    .await;
    assert!(registered.is_some(), "{path}: the retry never registered");
    assert!(app.state.db.user_by_username(name).await.unwrap().is_some());
    assert_eq!(organizations_named(app, organization).await, 1, "{path}");
}

fn account(name: &str, organization: &str) -> serde_json::Value {
    json!({
        "username": name,
        "email": format!("{name}@example.com"),
        "password": "long enough",
        "organization": organization,
    })
}

const PATHS: [&str; 2] = ["/api/auth/register", "/api/auth/browser/register"];

async fn registration_is_undone_when_the_redis_session_store_fails(db: Database) {
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
    for path in PATHS {
        let name = format!("whole-{}", random());
        let organization = format!("org of {name}");
        refused_and_undone(&app, path, &name, &organization).await;
        redis.restart().unwrap();
        retried(&app, path, &name, &organization).await;
        redis.stop();
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_is_undone_when_the_redis_session_store_fails_on_sqlite() {
    registration_is_undone_when_the_redis_session_store_fails(Database::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_is_undone_when_the_redis_session_store_fails_on_postgres() {
    if let Some(db) = Database::postgres().await {
        registration_is_undone_when_the_redis_session_store_fails(db).await;
    }
}

/// Sessions in the database (no Redis), whose session table refuses rows for a while (a
/// trigger): the database works, the session store does not.
async fn registration_is_undone_when_the_sql_session_store_fails(db: Database) {
    let app = TestApp::start(
        [
            "crm",
            "--database-url",
            &db.url(),
            "--login-rate",
            "1000/min",
        ]
        .map(str::to_owned)
        .to_vec(),
    )
    .await;
    let (refuse, allow): (&'static [&'static str], &'static [&'static str]) = match &app.state.db {
        crm::Db::Sqlite(_) => (
            &[
                "CREATE TRIGGER crm_test_refuse BEFORE INSERT ON tollgate_sessions \
               BEGIN SELECT RAISE(ABORT, 'sessions refused'); END",
            ],
            &["DROP TRIGGER crm_test_refuse"],
        ),
        crm::Db::Postgres(_) => (
            &[
                "CREATE FUNCTION crm_test_refuse() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'sessions refused'; END $$",
                "CREATE TRIGGER crm_test_refuse BEFORE INSERT ON tollgate_sessions \
                 FOR EACH ROW EXECUTE FUNCTION crm_test_refuse()",
            ],
            &[
                "DROP TRIGGER crm_test_refuse ON tollgate_sessions",
                "DROP FUNCTION crm_test_refuse()",
            ],
        ),
    };
    let run = |statements: &'static [&'static str]| {
        let db = app.state.db.clone();
        async move {
            for sql in statements {
                crm::on_db!(&db, pool => {
                    sqlx::query(sql).execute(pool).await.unwrap();
                });
            }
        }
    };
    for path in PATHS {
        let name = format!("whole-{}", random());
        let organization = format!("org of {name}");
        run(refuse).await;
        refused_and_undone(&app, path, &name, &organization).await;
        run(allow).await;
        retried(&app, path, &name, &organization).await;
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_is_undone_when_the_sql_session_store_fails_on_sqlite() {
    registration_is_undone_when_the_sql_session_store_fails(Database::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_is_undone_when_the_sql_session_store_fails_on_postgres() {
    if let Some(db) = Database::postgres().await {
        registration_is_undone_when_the_sql_session_store_fails(db).await;
    }
}
