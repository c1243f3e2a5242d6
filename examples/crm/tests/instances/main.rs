//! Several `crm` processes on one database and one Redis, and restarts.
//!
//! - Two compiled `crm` binaries sharing a SQLite file (and, when
//!   `TOLLGATE_TEST_DATABASE_URL` is set, a PostgreSQL schema) and Redis: a logout on one is
//!   enforced by the other's sensitive routes within the documented bound (the local cache's
//!   propagation bound), and a refresh on the second of a session ended on the first is
//!   refused.
//! - Restart durability: users, customers, sessions, the generated signing secret and the
//!   in-process revocations survive a restart on the same database file.
//! - SIGTERM: the process finishes the request in flight, then exits 0.

#[path = "../support/mod.rs"]
mod support;

use std::{
    process::Command,
    time::{Duration, Instant},
};

use serde_json::json;
use support::{Backend, Database, Env, Redis, TestApp, process::Crm, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tollgate_redis::LocalCache;

/// The compiled `crm` on `database_url`, its revocations and sessions on `redis_url`.
async fn start(database_url: &str, redis_url: &str) -> Crm {
    Crm::start(&[
        "--database-url",
        database_url,
        "--redis-url",
        redis_url,
        "--login-rate",
        "1000/min",
    ])
    .await
}

async fn two_processes(db: Database) {
    let Some(redis) = Redis::get() else { return };
    let url = db.url();
    // Migrations run on the first start; the second finds them done.
    let a = start(&url, &redis.url()).await;
    let b = start(&url, &redis.url()).await;
    let client = reqwest::Client::new();
    let post = |base: &str, path: &str, token: Option<&str>, body: serde_json::Value| {
        let mut request = client.post(format!("{base}{path}")).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let sensitive = |base: &str, token: &str| {
        client
            .delete(format!("{base}/api/auth/sessions/no-such-session"))
            .bearer_auth(token)
            .send()
    };

    // Register on A; the tokens work on B (shared key, shared database).
    let name = format!("shared-{}", support::random());
    let registered: serde_json::Value = post(
        &a.base,
        "/api/auth/register",
        None,
        json!({"username": name, "email": format!("{name}@example.com"), "password": "long enough"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let access = registered["access"].as_str().unwrap().to_owned();
    let refresh = registered["refresh"].as_str().unwrap().to_owned();
    assert_eq!(sensitive(&b.base, &access).await.unwrap().status(), 404);

    // Logout on A: B refuses the access token on its sensitive route within the bound.
    let response = post(&a.base, "/api/auth/logout", Some(&access), json!({}))
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let bound = LocalCache::new().propagation_bound();
    let took = within(bound + Duration::from_secs(1), || {
        let request = sensitive(&b.base, &access);
        async move { request.await.is_ok_and(|r| r.status() == 401) }
    })
    .await;
    assert!(
        took.is_some(),
        "B still accepts the token {bound:?} after the logout on A"
    );

    // A refresh on B of the session ended on A is refused.
    let response = post(
        &b.base,
        "/api/auth/token/refresh",
        None,
        json!({"refresh": refresh}),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 401);

    // Logout everywhere on B, seen by A; a refresh on A of a session made on B is refused.
    let login: serde_json::Value = post(
        &b.base,
        "/api/auth/login",
        None,
        json!({"username": name, "password": "long enough"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let access = login["access"].as_str().unwrap().to_owned();
    let refresh = login["refresh"].as_str().unwrap().to_owned();
    assert_eq!(sensitive(&a.base, &access).await.unwrap().status(), 404);
    let response = post(&b.base, "/api/auth/logout-all", Some(&access), json!({}))
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let took = within(bound + Duration::from_secs(1), || {
        let request = sensitive(&a.base, &access);
        async move { request.await.is_ok_and(|r| r.status() == 401) }
    })
    .await;
    assert!(
        took.is_some(),
        "A still accepts the token after logout-all on B"
    );
    let response = post(
        &a.base,
        "/api/auth/token/refresh",
        None,
        json!({"refresh": refresh}),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_sqlite_file_and_redis() {
    two_processes(Database::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_postgres_and_redis() {
    if let Some(db) = Database::postgres().await {
        two_processes(db).await;
    }
}

async fn restart(backend: Backend) {
    let Some(env) = Env::new(backend).await else {
        return;
    };
    let app = env.start(&[]).await;
    let user = app.register("durable").await;
    let customer = app
        .post(
            "/api/customers",
            Some(&user.access),
            json!({"name": "Kept"}),
        )
        .await;
    assert_eq!(customer.status, 201);
    let customer_path = format!("/api/customers/{}", customer.body["id"].as_str().unwrap());
    let other = app.login(&user.username, &user.password).await;
    let ended = app.login(&user.username, &user.password).await;
    assert_eq!(
        app.post_empty("/api/auth/logout", Some(&ended.access))
            .await
            .status,
        204
    );
    app.stop().await;

    let app: TestApp = env.start(&[]).await;
    // The generated secret was kept: tokens minted before still verify.
    assert_eq!(
        app.get("/api/auth/me", Some(&user.access)).await.status,
        200
    );
    // Users, customers and sessions survived.
    app.login(&user.username, &user.password).await;
    assert_eq!(
        app.get(&customer_path, Some(&user.access)).await.status,
        200
    );
    let sessions = app.get("/api/auth/sessions", Some(&user.access)).await;
    assert!(
        sessions.body.as_array().unwrap().len() >= 2,
        "{}",
        sessions.text
    );
    // A refresh token issued before the restart still works.
    let refreshed = app.refresh(&other.refresh).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    // Revocations survived too: the logged-out token stays refused, its session ended.
    app.sensitive(&ended.access).await.assert_problem(401);
    app.refresh(&ended.refresh).await.assert_problem(401);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_users_customers_sessions_and_revocations_on_sqlite() {
    restart(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_users_customers_sessions_and_revocations_on_postgres() {
    restart(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_with_redis() {
    restart(Backend::SqliteRedis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_stops_gracefully_on_sigterm() {
    let db = Database::sqlite();
    let Some(redis) = Redis::get() else { return };
    let mut process = start(&db.url(), &redis.url()).await;

    // A request in flight: its head and half its body sent, the handler reading the rest.
    let body = r#"{"username": "nobody-here", "password": "not the password"}"#;
    let address = process.base.trim_start_matches("http://").to_owned();
    let mut connection = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /api/auth/login HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    );
    let (first, rest) = body.split_at(body.len() / 2);
    connection
        .write_all(format!("{head}{first}").as_bytes())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &process.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // The server waits for it...
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        process.child.try_wait().unwrap().is_none(),
        "crm exited with a request in flight"
    );
    // ...which completes with its answer once the body is all there.
    connection.write_all(rest.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    connection.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 401 "), "{answer}");
    assert!(answer.contains("invalid_credentials"), "{answer}");

    let exit = loop {
        if let Some(exit) = process.child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "crm did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "{exit:?}");
}
