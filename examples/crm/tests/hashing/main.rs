//! Password hashing under load, on the compiled `crm` (Linux: it reads the process's
//! `/proc/<pid>/status`):
//!
//! - memory: the resident set stays under 100 MB during 200 concurrent registrations and
//!   after 1 000 logins (each hash needs 19 MiB; the slots' memory is reused);
//! - fairness: during a flood of registrations a login is answered while the registrations
//!   queued before it still wait, and registrations past the queue are answered 503 `busy`
//!   with `Retry-After` at once.

#[path = "../support/mod.rs"]
mod support;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use support::{Database, process, random, within};
use tokio::task::JoinSet;

/// The memory the server may hold, in bytes.
const MEMORY_BOUND: u64 = 100 * 1000 * 1000;

/// The compiled `crm` on a free port, and a client that waits long for it.
struct Crm {
    server: process::Crm,
    client: reqwest::Client,
}

impl Crm {
    async fn start(database_url: &str, extra: &[&str]) -> Self {
        let mut args = vec![
            "--database-url",
            database_url,
            "--login-rate",
            "1000000/min",
        ];
        args.extend(extra);
        Self {
            server: process::Crm::start(&args).await,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .unwrap(),
        }
    }

    /// A field of `/proc/<pid>/status` in bytes (`VmRSS`: resident now, `VmHWM`: the peak).
    fn memory(&self, field: &str) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.server.child.id())).unwrap();
        let line = status
            .lines()
            .find(|line| line.starts_with(&format!("{field}:")))
            .unwrap();
        let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kib * 1024
    }

    /// `POST` `body` to `path`: the status, the `Retry-After` header and the body.
    async fn post(&self, path: &str, body: Value) -> (u16, String, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.server.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_owned();
        (
            status,
            retry_after,
            response.json().await.unwrap_or(Value::Null),
        )
    }
}

fn registration(name: &str) -> Value {
    json!({"username": name, "email": format!("{name}@example.com"), "password": "long enough"})
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_stays_bounded_under_registrations_and_logins() {
    let db = Database::sqlite();
    // Two slots (19 MiB each); a queue that lets every registration in.
    let crm = Arc::new(
        Crm::start(
            &db.url(),
            &["--hash-concurrency", "2", "--hash-queue", "200"],
        )
        .await,
    );
    let started = crm.memory("VmRSS");

    let clock = Instant::now();
    let mut registrations = JoinSet::new();
    let prefix = format!("memory-{}", random());
    for i in 0..200 {
        let (crm, name) = (Arc::clone(&crm), format!("{prefix}-{i}"));
        registrations
            .spawn(async move { crm.post("/api/auth/register", registration(&name)).await });
    }
    while let Some(answer) = registrations.join_next().await {
        let (status, _, body) = answer.unwrap();
        assert_eq!(status, 201, "{body}");
    }
    let after_registrations = crm.memory("VmHWM");
    let registering = clock.elapsed();
    let clock = Instant::now();

    let mut logins = JoinSet::new();
    let login = json!({"username": format!("{prefix}-0"), "password": "long enough"});
    for _ in 0..8 {
        let (crm, login) = (Arc::clone(&crm), login.clone());
        logins.spawn(async move {
            for _ in 0..125 {
                let (status, _, body) = crm.post("/api/auth/login", login.clone()).await;
                assert_eq!(status, 200, "{body}");
            }
        });
    }
    while let Some(done) = logins.join_next().await {
        done.unwrap();
    }
    let logging_in = clock.elapsed();
    let (resident, peak) = (crm.memory("VmRSS"), crm.memory("VmHWM"));
    eprintln!(
        "crm memory: {} at start, peak {} during 200 registrations ({registering:.1?}), {} after \
         1 000 logins ({logging_in:.1?}; peak {})",
        mb(started),
        mb(after_registrations),
        mb(resident),
        mb(peak)
    );
    assert!(
        after_registrations <= MEMORY_BOUND,
        "peak {} during 200 registrations",
        mb(after_registrations)
    );
    assert!(
        resident <= MEMORY_BOUND,
        "{} after 1 000 logins",
        mb(resident)
    );
    assert!(peak <= MEMORY_BOUND, "peak {} with 1 000 logins", mb(peak));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_keep_their_share_during_a_registration_flood() {
    let db = Database::sqlite();
    let crm = Arc::new(
        Crm::start(
            &db.url(),
            &["--hash-concurrency", "2", "--hash-queue", "32"],
        )
        .await,
    );
    let name = format!("regular-{}", random());
    let (status, _, body) = crm.post("/api/auth/register", registration(&name)).await;
    assert_eq!(status, 201, "{body}");

    let login = json!({"username": name, "password": "long enough"});
    let clock = Instant::now();
    let (status, _, body) = crm.post("/api/auth/login", login.clone()).await;
    let quiet = clock.elapsed();
    assert_eq!(status, 200, "{body}");

    // 200 registrations at once; count the answers, and the 201s, as they come.
    let answered = Arc::new(AtomicUsize::new(0));
    let registered = Arc::new(AtomicUsize::new(0));
    let mut flood = JoinSet::new();
    let prefix = format!("flood-{}", random());
    for i in 0..200 {
        let (crm, answered) = (Arc::clone(&crm), Arc::clone(&answered));
        let registered = Arc::clone(&registered);
        let name = format!("{prefix}-{i}");
        flood.spawn(async move {
            let answer = crm.post("/api/auth/register", registration(&name)).await;
            if answer.0 == 201 {
                registered.fetch_add(1, Ordering::SeqCst);
            }
            answered.fetch_add(1, Ordering::SeqCst);
            answer
        });
    }
    // Once 40 are answered, every other one has long reached the hashing queue (or was
    // refused): a login then.
    let flooding = within(Duration::from_secs(120), || {
        let answered = Arc::clone(&answered);
        async move { answered.load(Ordering::SeqCst) >= 40 }
    })
    .await;
    assert!(
        flooding.is_some(),
        "40 registrations not answered within 120 s"
    );
    let before = registered.load(Ordering::SeqCst);
    let clock = Instant::now();
    let (status, _, body) = crm.post("/api/auth/login", login).await;
    let took = clock.elapsed();
    assert_eq!(status, 200, "{body}");
    let during_login = registered.load(Ordering::SeqCst) - before;

    let busy = AtomicUsize::new(0);
    while let Some(answer) = flood.join_next().await {
        let (status, retry_after, body) = answer.unwrap();
        match status {
            201 => {}
            503 => {
                assert_eq!(body["code"], "busy", "{body}");
                assert_eq!(retry_after, "1", "{body}");
                busy.fetch_add(1, Ordering::SeqCst);
            }
            _ => panic!("registration answered {status}: {body}"),
        }
    }
    let (registered, busy) = (registered.load(Ordering::SeqCst), busy.into_inner());
    eprintln!(
        "{registered} registered, {busy} busy; the login took {took:.1?} ({quiet:.1?} without \
         the flood), {during_login} registered meanwhile"
    );
    // The login waited for a hash or two, not for the registrations queued before it.
    assert!(
        during_login <= 20,
        "{during_login} registrations were hashed while the login waited"
    );
    // The queue is bounded: past it, registrations are refused at once.
    assert!(busy > 0, "all 200 registrations were queued");
}
