//! End to end with the CRM: two `crm` processes on one database and one Redis, a user logged
//! in on both, and `tollgate revoke --prefix crm: subject USER_ID`.
//!
//! The `crm` binary is the one the last build of the workspace left next to this test
//! (`cargo test --workspace` builds it); outside CI the test is skipped, loudly, when it is
//! missing (`cargo build -p crm`).

#[path = "../support/mod.rs"]
mod support;

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use support::tollgate;
use tempfile::TempDir;
use tollgate_redis::{LocalCache, redis};

/// The `crm` binary of this build, or `None` (skipped loudly; a panic under CI).
fn crm_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<this test> -> target/<profile>/crm
    let binary = exe.parent()?.parent()?.join("crm");
    if binary.is_file() {
        return Some(binary);
    }
    let message = format!(
        "{} is missing: build it with `cargo build -p crm` (cargo test --workspace does)",
        binary.display()
    );
    assert!(
        !std::env::var("CI").is_ok_and(|ci| ci == "true"),
        "{message}"
    );
    eprintln!("\n!!! SKIPPED: {message}\n");
    None
}

/// A `crm` process on a free port, killed on drop.
struct Crm {
    child: Child,
    base: String,
}

impl Crm {
    async fn start(binary: &PathBuf, database_url: &str, redis_url: &str) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(binary)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--database-url", database_url])
            .args(["--redis-url", redis_url])
            .args(["--login-rate", "1000/min"])
            .env("CRM_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let crm = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            let health = client.get(format!("{}/health", crm.base)).send().await;
            if health.is_ok_and(|response| response.status() == 200) {
                return crm;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "crm did not come up on port {port}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    /// The status of a sensitive route (it checks revocation): 404 for a token it accepts
    /// (no such session), 401 for one it refuses.
    async fn sensitive(&self, token: &str) -> u16 {
        reqwest::Client::new()
            .delete(format!("{}/api/auth/sessions/no-such-session", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    async fn refresh(&self, refresh: &str) -> u16 {
        reqwest::Client::new()
            .post(format!("{}/api/auth/token/refresh", self.base))
            .json(&json!({"refresh": refresh}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

impl Drop for Crm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cutting_a_user_off_reaches_every_crm_instance_on_sqlite() {
    let folder = TempDir::new().unwrap();
    let database = format!(
        "sqlite://{}?mode=rwc",
        folder.path().join("crm.db").display()
    );
    cut_off_on_two_instances(&folder, &database).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cutting_a_user_off_reaches_every_crm_instance_on_postgres() {
    let Some(base) = std::env::var("TOLLGATE_TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
    else {
        let message = "TOLLGATE_TEST_DATABASE_URL is unset: the PostgreSQL run is skipped";
        assert!(
            !std::env::var("CI").is_ok_and(|ci| ci == "true"),
            "{message}"
        );
        eprintln!("\n!!! SKIPPED: {message}\n");
        return;
    };
    // A schema of its own, dropped at the end.
    let schema = format!("tollgate_cli_test_{}", std::process::id());
    let pool = sqlx::PgPool::connect(&base).await.unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&pool)
        .await
        .unwrap();
    let separator = if base.contains('?') { '&' } else { '?' };
    let database = format!("{base}{separator}options=-c%20search_path%3D{schema}");
    let folder = TempDir::new().unwrap();
    cut_off_on_two_instances(&folder, &database).await;
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

/// Two `crm` processes on `database` and one Redis; a user logged in on both is cut off
/// with `tollgate revoke`.
async fn cut_off_on_two_instances(folder: &TempDir, database: &str) {
    let Some(binary) = crm_binary() else { return };
    let Some(redis) = support::redis() else {
        return;
    };
    let redis_url = redis.url();
    // Migrations run on the first start; the second finds them done.
    let a = Crm::start(&binary, database, &redis_url).await;
    let b = Crm::start(&binary, database, &redis_url).await;

    // One user logged in on both instances, another on B only.
    let name = format!("cut-{}", std::process::id());
    let on_a = a
        .post(
            "/api/auth/register",
            json!({"username": name, "email": format!("{name}@example.com"), "password": "long enough"}),
        )
        .await;
    let on_b = b
        .post(
            "/api/auth/login",
            json!({"username": name, "password": "long enough"}),
        )
        .await;
    let other = format!("kept-{}", std::process::id());
    let kept = b
        .post(
            "/api/auth/register",
            json!({"username": other, "email": format!("{other}@example.com"), "password": "long enough"}),
        )
        .await;
    let access_a = on_a["access"].as_str().unwrap();
    let access_b = on_b["access"].as_str().unwrap();
    let access_kept = kept["access"].as_str().unwrap();
    for crm in [&a, &b] {
        for token in [access_a, access_b, access_kept] {
            assert_eq!(crm.sensitive(token).await, 404);
        }
    }

    // The user id, as an operator finds it: the token's `sub`.
    let inspected = tollgate(folder.path(), &["inspect", access_a, "--json"], None)
        .expect(0)
        .json();
    let user_id = inspected["claims"]["sub"].as_str().unwrap().to_owned();

    let revoked_at = Instant::now();
    tollgate(
        folder.path(),
        &[
            "revoke",
            "--redis-url",
            &redis_url,
            "--prefix",
            "crm:",
            "subject",
            &user_id,
        ],
        None,
    )
    .expect(0);

    // Both instances refuse both of the user's tokens within the local cache's bound.
    let bound = LocalCache::new().propagation_bound();
    loop {
        let mut refused = true;
        for crm in [&a, &b] {
            for token in [access_a, access_b] {
                refused &= crm.sensitive(token).await == 401;
            }
        }
        if refused {
            break;
        }
        assert!(
            revoked_at.elapsed() <= bound + Duration::from_secs(1),
            "a token of the cut-off user is still accepted {:?} after the revoke",
            revoked_at.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!(
        "both instances refused the user {:?} after the revoke",
        revoked_at.elapsed()
    );
    // Their refresh tokens are refused too; the other user is untouched.
    assert_eq!(a.refresh(on_b["refresh"].as_str().unwrap()).await, 401);
    for crm in [&a, &b] {
        assert_eq!(crm.sensitive(access_kept).await, 404);
    }
    // check agrees.
    let run = tollgate(
        folder.path(),
        &[
            "check",
            "--redis-url",
            &redis_url,
            "--prefix",
            "crm:",
            access_a,
        ],
        None,
    )
    .expect(1);
    assert_eq!(run.stdout.trim(), "cut_off");
    let run = tollgate(
        folder.path(),
        &[
            "check",
            "--redis-url",
            &redis_url,
            "--prefix",
            "crm:",
            access_kept,
        ],
        None,
    )
    .expect(0);
    assert_eq!(run.stdout.trim(), "active");

    // The cut-off would stay 30 days in a shared Redis.
    let mut connection = redis::Client::open(redis_url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    redis::cmd("DEL")
        .arg(format!("crm:cut:{user_id}"))
        .exec(&mut connection)
        .unwrap();
}
