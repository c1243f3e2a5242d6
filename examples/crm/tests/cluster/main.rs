//! Three compiled `crm` processes behind a real HAProxy, as `deploy/run-cluster.sh` runs
//! them: one PostgreSQL schema of this run, one Redis (keys under a prefix of this run),
//! `--trusted-proxies 127.0.0.1`, a `--drain-period` above HAProxy's check interval × fall,
//! and HAProxy started with `deploy/haproxy.cfg` on free ports.
//!
//! - Revocation propagation under load: a background load through HAProxy, then 201 logouts,
//!   each on one instance directly while the two others are polled directly on a sensitive
//!   route until they refuse the token; p50, p99 and max of the delays are printed
//!   (`docs/deployment.md` quotes them), and each must be within the documented bound (the
//!   local cache's propagation bound, plus the polling request's own time).
//! - Login limits through HAProxy: N attempts in all, then 429 on every instance; clients on
//!   127.0.0.2 and 127.0.0.3 get separate budgets (HAProxy's `X-Forwarded-For`); a client
//!   forging `X-Forwarded-For`, to an instance directly or through HAProxy, gets no new one.
//! - Rolling restart under load (SIGTERM, exit, start on the same port, back in HAProxy's
//!   view): no failed request, HAProxy takes each instance out before it exits, and the
//!   session refreshes afterwards.
//! - `kill -9` of an instance under load: HAProxy routes around it (no read fails; only a
//!   write cut off in flight may fail, 502 or unanswered, unacknowledged), every acknowledged write
//!   is there, and the session refreshes.
//!
//! The tests need `haproxy`, PostgreSQL (`TOLLGATE_TEST_DATABASE_URL`) and Redis: without
//! them they are skipped loudly, and fail under `CI=true`. They run one at a time (each
//! cluster is four processes; the CI machine has two cores).

#[path = "../support/mod.rs"]
mod support;

use std::{
    fs::{File, OpenOptions},
    net::{IpAddr, Ipv4Addr},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use support::{
    Database, Redis, in_ci,
    process::{free_port, temp_dir},
    random, within,
};
use tollgate_redis::LocalCache;

/// One cluster at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// HAProxy's health check interval in these tests; it marks an instance down after 2 failed
/// checks, so the drain below is well above interval × fall.
const CHECK_INTERVAL: &str = "250ms";
const DRAIN_PERIOD: &str = "2s";

/// Whether `haproxy` runs; when it does not, the test is skipped loudly (a panic in CI).
fn haproxy_available() -> bool {
    let found = Command::new("haproxy")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !found {
        assert!(!in_ci(), "haproxy is not installed");
        eprintln!("\n!!! SKIPPED: haproxy is not installed (Debian: apt-get install haproxy)\n");
    }
    found
}

/// An HTTP client (connections from `local`, if given).
fn client(local: Option<IpAddr>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(30));
    if let Some(local) = local {
        builder = builder.local_address(local);
    }
    builder.build().unwrap()
}

/// One `crm` process of the cluster, on a fixed port.
struct Instance {
    port: u16,
    child: Option<Child>,
}

impl Instance {
    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// HAProxy in front of three `crm` instances, all stopped on drop.
struct Cluster {
    instances: Vec<Instance>,
    haproxy: Child,
    /// HAProxy's address for clients: `http://127.0.0.1:PORT`.
    lb: String,
    stats: String,
    args: Vec<String>,
    logs: PathBuf,
    _db: Database,
    _redis: Redis,
}

impl Cluster {
    /// The cluster with this `--login-rate`, once HAProxy sees every instance up; `None` when
    /// haproxy, PostgreSQL or Redis is missing outside CI.
    async fn start(login_rate: &str) -> Option<Self> {
        if !haproxy_available() {
            return None;
        }
        let db = Database::postgres().await?;
        let redis = Redis::get()?;
        let prefix = format!("crm-cluster-{}:", random());
        let args: Vec<String> = [
            "--database-url",
            db.url().as_str(),
            "--redis-url",
            redis.url().as_str(),
            "--redis-prefix",
            prefix.as_str(),
            "--trusted-proxies",
            "127.0.0.1",
            "--drain-period",
            DRAIN_PERIOD,
            "--refresh-grace",
            "10s",
            "--login-rate",
            login_rate,
        ]
        .map(str::to_owned)
        .into();
        let logs = temp_dir();
        let instances: Vec<Instance> = (0..3)
            .map(|_| Instance {
                port: free_port(),
                child: None,
            })
            .collect();
        let (lb_port, stats_port) = (free_port(), free_port());
        let haproxy = Command::new("haproxy")
            .args(["-db", "-f"])
            .arg(format!("{}/deploy/haproxy.cfg", env!("CARGO_MANIFEST_DIR")))
            .env("CRM_LB_LISTEN", format!("127.0.0.1:{lb_port}"))
            .env("CRM_LB_STATS", format!("127.0.0.1:{stats_port}"))
            .env("CRM_CHECK_INTERVAL", CHECK_INTERVAL)
            .env("CRM1_ADDRESS", format!("127.0.0.1:{}", instances[0].port))
            .env("CRM2_ADDRESS", format!("127.0.0.1:{}", instances[1].port))
            .env("CRM3_ADDRESS", format!("127.0.0.1:{}", instances[2].port))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(logs.join("haproxy.log")).unwrap())
            .spawn()
            .unwrap();
        let mut cluster = Self {
            instances,
            haproxy,
            lb: format!("http://127.0.0.1:{lb_port}"),
            stats: format!("http://127.0.0.1:{stats_port}/stats;csv"),
            args,
            logs,
            _db: db,
            _redis: redis,
        };
        // The first alone (it creates the tables and the signing secret), then the others.
        cluster.spawn(0);
        cluster.wait_healthy(0).await;
        cluster.spawn(1);
        cluster.spawn(2);
        for index in 0..3 {
            cluster.wait_healthy(index).await;
            cluster.wait_up(index).await;
        }
        Some(cluster)
    }

    /// Start instance `index` on its port (its log appended to its file).
    fn spawn(&mut self, index: usize) {
        let port = self.instances[index].port;
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.logs.join(format!("crm{}.log", index + 1)))
            .unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_crm"));
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("CRM_") {
                command.env_remove(name);
            }
        }
        let child = command
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(&self.args)
            .env("CRM_LOG", "warn")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.instances[index].child = Some(child);
    }

    /// Wait until instance `index` answers `/health` with 200 (directly).
    async fn wait_healthy(&self, index: usize) {
        let client = client(None);
        let health = format!("{}/health", self.instances[index].base());
        let ready = within(Duration::from_secs(30), || {
            let request = client.get(&health).send();
            async move { request.await.is_ok_and(|r| r.status() == 200) }
        })
        .await;
        assert!(ready.is_some(), "crm{} did not come up", index + 1);
    }

    /// HAProxy's state of each instance (`UP`, `DOWN`, `UP 1/2`, ...), from its statistics.
    async fn states(&self) -> Vec<String> {
        let Ok(response) = client(None).get(&self.stats).send().await else {
            return Vec::new();
        };
        let text = response.text().await.unwrap_or_default();
        (1..=3)
            .map(|n| {
                let prefix = format!("crm,crm{n},");
                text.lines()
                    .find(|line| line.starts_with(&prefix))
                    .and_then(|line| line.split(',').nth(17))
                    .unwrap_or("")
                    .to_owned()
            })
            .collect()
    }

    /// Wait until HAProxy sees instance `index` up.
    async fn wait_up(&self, index: usize) {
        let up = within(Duration::from_secs(30), || async {
            self.states().await.get(index).is_some_and(|s| s == "UP")
        })
        .await;
        assert!(
            up.is_some(),
            "HAProxy does not see crm{} up: {:?}",
            index + 1,
            self.states().await
        );
    }

    /// SIGTERM to instance `index`; wait for its exit (0). How long HAProxy took to see it
    /// down (`None`: it exited first), and how long it took to exit.
    async fn terminate(&mut self, index: usize) -> (Option<Duration>, Duration) {
        let mut child = self.instances[index].child.take().unwrap();
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let started = Instant::now();
        let mut down = None;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success(), "crm{} exited with {status}", index + 1);
                return (down, started.elapsed());
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "crm{} did not exit after SIGTERM",
                index + 1
            );
            if down.is_none()
                && self
                    .states()
                    .await
                    .get(index)
                    .is_some_and(|state| state.starts_with("DOWN"))
            {
                down = Some(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The tail of every log of the cluster.
    fn logs(&self) -> String {
        let mut all = String::new();
        for name in ["haproxy.log", "crm1.log", "crm2.log", "crm3.log"] {
            let text = std::fs::read_to_string(self.logs.join(name)).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(30)..].join("\n");
            all.push_str(&format!("--- {name}\n{tail}\n"));
        }
        all
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
        for instance in &mut self.instances {
            if let Some(mut child) = instance.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        let _ = self.haproxy.kill();
        let _ = self.haproxy.wait();
        let _ = std::fs::remove_dir_all(&self.logs);
    }
}

/// Register a new user (the admin of a new organization) at `base`: its username, access
/// and refresh tokens.
async fn register(client: &reqwest::Client, base: &str) -> (String, String, String) {
    let username = format!("cluster-{}", random());
    let response = client
        .post(format!("{base}/api/auth/register"))
        .json(&json!({"username": username, "email": format!("{username}@example.com"), "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    let token = |name: &str| body[name].as_str().unwrap().to_owned();
    (username, token("access"), token("refresh"))
}

/// The status of a sensitive route that changes nothing (ending an unknown session) at
/// `base` with `token`: 404 when the token passes every check, 401 once it is revoked.
async fn sensitive(client: &reqwest::Client, base: &str, token: &str) -> Option<u16> {
    let response = client
        .delete(format!("{base}/api/auth/sessions/no-such-session"))
        .bearer_auth(token)
        .send()
        .await
        .ok()?;
    Some(response.status().as_u16())
}

/// How long after `revoked` the sensitive route at `base` refused `token` (polled every few
/// milliseconds), or `None` when it still accepted it `limit` after.
async fn refused(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    revoked: Instant,
    limit: Duration,
) -> Option<Duration> {
    loop {
        if sensitive(client, base, token).await == Some(401) {
            return Some(revoked.elapsed());
        }
        if revoked.elapsed() > limit {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// A background load through HAProxy: `tasks` clients, each listing customers and (with
/// `writes`) creating one, over and over, until [`finish`](Load::finish).
struct Load {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<Outcome>>,
}

/// What the clients of a [`Load`] saw.
#[derive(Debug, Default)]
struct Outcome {
    answered: usize,
    /// Requests not answered as expected: the request and the status or error.
    failures: Vec<String>,
    /// The customers whose creation was acknowledged (201).
    created: Vec<String>,
}

impl Load {
    fn start(lb: &str, token: &str, tasks: usize, writes: bool) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let tasks = (0..tasks)
            .map(|task| {
                let (stop, lb, token) = (stop.clone(), lb.to_owned(), token.to_owned());
                tokio::spawn(async move {
                    let client = client(None);
                    let mut outcome = Outcome::default();
                    let mut n = 0_usize;
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        let (what, expected, request) = if writes && n.is_multiple_of(2) {
                            let request = client
                                .post(format!("{lb}/api/customers"))
                                .json(&json!({"name": format!("load {task}-{n}")}));
                            ("POST /api/customers", 201, request)
                        } else {
                            let request = client.get(format!("{lb}/api/customers"));
                            ("GET /api/customers", 200, request)
                        };
                        match request.bearer_auth(&token).send().await {
                            Ok(response) if response.status() == expected => {
                                match response.json::<Value>().await {
                                    Ok(body) => {
                                        outcome.answered += 1;
                                        if let Some(id) = body["id"].as_str() {
                                            outcome.created.push(id.to_owned());
                                        }
                                    }
                                    Err(error) => {
                                        outcome.failures.push(format!("{what}: {error}"));
                                    }
                                }
                            }
                            Ok(response) => outcome
                                .failures
                                .push(format!("{what}: {}", response.status())),
                            Err(error) => outcome.failures.push(format!("{what}: {error}")),
                        }
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    outcome
                })
            })
            .collect();
        Self { stop, tasks }
    }

    async fn finish(self) -> Outcome {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = Outcome::default();
        for task in self.tasks {
            let outcome = task.await.unwrap();
            all.answered += outcome.answered;
            all.failures.extend(outcome.failures);
            all.created.extend(outcome.created);
        }
        all
    }
}

/// The `p`-th percentile (nearest rank) of sorted `values`.
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted[rank - 1]
}

const REVOCATIONS: usize = 201;

/// What the propagation test allows beyond the documented bound: the time of the polling
/// request that sees the refusal.
const POLL_SLACK: Duration = Duration::from_millis(250);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_on_one_instance_is_enforced_by_the_others_under_load() {
    let _serial = SERIAL.lock().await;
    let Some(cluster) = Cluster::start("1000000/min").await else {
        return;
    };
    let client = client(None);

    // The sessions to end, registered through HAProxy (spread over the instances).
    let mut tokens = Vec::with_capacity(REVOCATIONS);
    for _ in 0..REVOCATIONS.div_ceil(3) {
        let (a, b, c) = tokio::join!(
            register(&client, &cluster.lb),
            register(&client, &cluster.lb),
            register(&client, &cluster.lb)
        );
        tokens.extend([a.1, b.1, c.1]);
    }
    tokens.truncate(REVOCATIONS);

    let (_, load_token, _) = register(&client, &cluster.lb).await;
    let load = Load::start(&cluster.lb, &load_token, 3, false);

    let bound = LocalCache::new().propagation_bound();
    // The bound is the promise; the poll that sees the refusal takes its own request's time.
    let limit = bound + POLL_SLACK;
    let mut delays = Vec::with_capacity(REVOCATIONS * 2);
    for (n, token) in tokens.iter().enumerate() {
        let bases: Vec<String> = cluster.instances.iter().map(Instance::base).collect();
        let (revoking, others) = (&bases[n % 3], [&bases[(n + 1) % 3], &bases[(n + 2) % 3]]);
        // Every instance has seen the token accepted (and may have cached that).
        for base in &bases {
            assert_eq!(sensitive(&client, base, token).await, Some(404));
        }
        let response = client
            .post(format!("{revoking}/api/auth/logout"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204, "logout {n}");
        let revoked = Instant::now();
        let (first, second) = tokio::join!(
            refused(&client, others[0], token, revoked, limit),
            refused(&client, others[1], token, revoked, limit)
        );
        for (took, base) in [(first, others[0]), (second, others[1])] {
            let took = took.unwrap_or_else(|| {
                panic!("logout {n} on {revoking}: {base} still accepts the token after {limit:?}")
            });
            delays.push(took);
        }
    }

    let outcome = load.finish().await;
    assert!(outcome.answered > 0);
    assert!(
        outcome.failures.is_empty(),
        "the load saw failures: {:?}",
        outcome.failures
    );
    delays.sort();
    eprintln!(
        "revocation propagation over {REVOCATIONS} logouts ({} delays, 2 instances polled each): \
         p50 {:?}, p99 {:?}, max {:?}; the load answered {} requests",
        delays.len(),
        percentile(&delays, 50),
        percentile(&delays, 99),
        delays[delays.len() - 1],
        outcome.answered,
    );
}

/// The clients of the load in the `kill -9` test.
const LOAD_CLIENTS: usize = 3;

/// The login rate of the limits test: per hour, so that no attempt is refilled during it.
const RATE: usize = 4;

/// A login with a wrong password for a new username at `base` through `client`, with an
/// `X-Forwarded-For` line for each of `forwarded`: the status (401 allowed, 429 limited).
async fn attempt(client: &reqwest::Client, base: &str, forwarded: &[&str]) -> u16 {
    let mut request = client
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"username": format!("nobody-{}", random()), "password": "a wrong password"}));
    for line in forwarded {
        request = request.header("x-forwarded-for", *line);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert!(status == 401 || status == 429, "{status}: {text}");
    status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_limit_is_one_per_client_across_the_instances_behind_haproxy() {
    let _serial = SERIAL.lock().await;
    let Some(cluster) = Cluster::start(&format!("{RATE}/hour")).await else {
        return;
    };
    let bases: Vec<String> = cluster.instances.iter().map(Instance::base).collect();
    let a = client(Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))));
    let b = client(Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3))));

    // Client A through HAProxy (round robin: the attempts reach every instance): RATE
    // attempts in all, then 429 whichever instance answers.
    for n in 0..RATE {
        assert_eq!(attempt(&a, &cluster.lb, &[]).await, 401, "attempt {n}");
    }
    for n in 0..3 {
        assert_eq!(attempt(&a, &cluster.lb, &[]).await, 429, "attempt {n} over");
    }
    // HAProxy's X-Forwarded-For gave the instances A's own address: A is limited on each
    // instance directly too (where the address is the TCP peer's).
    for base in &bases {
        assert_eq!(attempt(&a, base, &[]).await, 429, "{base}");
    }

    // Client B, through the same HAProxy, has a budget of its own.
    for n in 0..RATE {
        assert_eq!(attempt(&b, &cluster.lb, &[]).await, 401, "B: attempt {n}");
    }
    assert_eq!(attempt(&b, &cluster.lb, &[]).await, 429);

    // A forging X-Forwarded-For gets no new budget: directly (A is not a trusted proxy, so
    // the header is ignored) and through HAProxy (which appends A's address, the rightmost
    // untrusted one).
    for base in &bases {
        assert_eq!(attempt(&a, base, &["10.1.2.3"]).await, 429, "{base}");
    }
    assert_eq!(attempt(&a, &cluster.lb, &["10.1.2.3"]).await, 429);
    assert_eq!(
        attempt(&a, &cluster.lb, &["10.1.2.3, 127.0.0.4"]).await,
        429
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_under_load_fails_no_request_and_keeps_the_sessions() {
    let _serial = SERIAL.lock().await;
    let Some(mut cluster) = Cluster::start("1000000/min").await else {
        return;
    };
    let client = client(None);
    let (_, access, refresh) = register(&client, &cluster.lb).await;
    let load = Load::start(&cluster.lb, &access, 3, true);

    let mut figures = Vec::new();
    for index in 0..3 {
        // SIGTERM: the instance drains, HAProxy takes it out, then it exits 0.
        let (down, stopped) = cluster.terminate(index).await;
        let down = down.unwrap_or_else(|| {
            panic!(
                "crm{} exited after {stopped:?} before HAProxy took it out",
                index + 1
            )
        });
        let starting = Instant::now();
        cluster.spawn(index);
        cluster.wait_healthy(index).await;
        cluster.wait_up(index).await;
        figures.push((down, stopped, starting.elapsed()));
    }

    let outcome = load.finish().await;
    assert!(outcome.answered > 0);
    assert!(
        outcome.failures.is_empty(),
        "{} requests of the load failed during the rolling restart: {:?}",
        outcome.failures.len(),
        outcome.failures
    );

    // The session survived: its refresh token works through HAProxy, and the new access
    // token on every instance.
    let response = client
        .post(format!("{}/api/auth/token/refresh", cluster.lb))
        .json(&json!({"refresh": refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let access = body["access"].as_str().unwrap();
    for instance in &cluster.instances {
        let response = client
            .get(format!("{}/api/customers", instance.base()))
            .bearer_auth(access)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    for (index, (down, stopped, back)) in figures.iter().enumerate() {
        eprintln!(
            "crm{}: SIGTERM to down in HAProxy {down:?}, to exit {stopped:?} (drain \
             {DRAIN_PERIOD}); start to up in HAProxy {back:?}",
            index + 1
        );
    }
    eprintln!(
        "rolling restart: the load answered {} requests, {} failed",
        outcome.answered,
        outcome.failures.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_instance_is_routed_around_and_loses_no_acknowledged_write() {
    let _serial = SERIAL.lock().await;
    let Some(mut cluster) = Cluster::start("1000000/min").await else {
        return;
    };
    let client = client(None);
    let (_, access, refresh) = register(&client, &cluster.lb).await;
    let load = Load::start(&cluster.lb, &access, LOAD_CLIENTS, true);
    tokio::time::sleep(Duration::from_secs(1)).await;

    // kill -9: no drain, requests in flight cut off.
    let mut child = cluster.instances[1].child.take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let out = within(Duration::from_secs(30), || async {
        cluster
            .states()
            .await
            .get(1)
            .is_some_and(|state| state.starts_with("DOWN"))
    })
    .await;
    assert!(out.is_some(), "HAProxy still sees crm2 up");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let outcome = load.finish().await;

    // Reads were retried on the others; a write cut off in flight is not acknowledged
    // (HAProxy does not replay a POST): answered 502, or, when HAProxy drops the client's
    // kept-alive connection at that moment, not answered at all. Only a write in flight at
    // the kill is cut off (later ones meet a refused connection, which HAProxy retries on
    // another instance): at most one per client of the load.
    let unexpected: Vec<&String> = outcome
        .failures
        .iter()
        .filter(|failure| {
            let Some(rest) = failure.strip_prefix("POST /api/customers: ") else {
                return true;
            };
            rest.starts_with(|c: char| c.is_ascii_digit()) && !rest.starts_with("502")
        })
        .collect();
    assert!(unexpected.is_empty(), "requests failed: {unexpected:?}");
    assert!(
        outcome.failures.len() <= LOAD_CLIENTS,
        "more writes cut off than were in flight: {:?}",
        outcome.failures
    );
    assert!(!outcome.created.is_empty());
    // Every acknowledged write is there, read through HAProxy.
    for id in &outcome.created {
        let response = client
            .get(format!("{}/api/customers/{id}", cluster.lb))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "customer {id}");
    }
    // The session lives on (it is in Redis, not in the dead process).
    let response = client
        .post(format!("{}/api/auth/token/refresh", cluster.lb))
        .json(&json!({"refresh": refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // Started again, it is back in the pool.
    cluster.spawn(1);
    cluster.wait_healthy(1).await;
    cluster.wait_up(1).await;
    eprintln!(
        "kill -9: the load answered {} requests ({} writes acknowledged, all found); {} \
         writes cut off in flight (502 or no answer)",
        outcome.answered,
        outcome.created.len(),
        outcome.failures.len()
    );
}
