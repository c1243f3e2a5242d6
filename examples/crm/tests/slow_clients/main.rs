//! Slow and idle clients against the compiled `crm`, over loopback.
//!
//! - 500 connections that send nothing, trickle a request head, or trickle a login body: the
//!   server keeps answering `/health` and a login while they are open, closes the first two
//!   kinds within `--header-read-timeout` and answers the third 408 within
//!   `--request-timeout` (on SQLite, and on PostgreSQL when `TOLLGATE_TEST_DATABASE_URL` is
//!   set).
//! - `--max-connections`: beyond it nothing is accepted (the server holds no more sockets)
//!   and a new client is served once an idle one is closed; a burst of 500 beyond it waits
//!   in the listen backlog.
//! - Out of file descriptors (a low `ulimit -n`): accepting pauses, without spinning, and the
//!   server serves again once the idle connections are closed.
//! - SIGTERM with a stalled request: the process exits once `--shutdown-timeout` has passed.
//!
//! The settings are given through the environment (`CRM_HEADER_READ_TIMEOUT`, …), like a
//! deployment would.

#[path = "../support/mod.rs"]
mod support;

use std::{
    fs::File,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use support::Database;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    task::JoinSet,
};

/// The header-read timeout of the tests.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(3);
/// The request timeout of the tests.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How late after its timeout a connection may be closed (a loaded test machine).
const MARGIN: Duration = Duration::from_secs(5);

/// A `crm` process, killed on drop; its log in a file.
struct Server {
    child: Child,
    address: String,
    logs: PathBuf,
}

impl Server {
    /// Start the compiled `crm` on `database_url` with `envs` (and no other `CRM_*` variable),
    /// through `sh -c 'ulimit -n N; exec crm'` when `open_files` is set, and wait until it
    /// listens.
    fn start(database_url: &str, envs: &[(&str, &str)], open_files: Option<u32>) -> Self {
        let logs = support::process::temp_dir();
        let crm = env!("CARGO_BIN_EXE_crm");
        let mut command = match open_files {
            Some(limit) => {
                let mut command = Command::new("sh");
                command.args(["-c", &format!("ulimit -n {limit} && exec \"$0\""), crm]);
                command
            }
            None => Command::new(crm),
        };
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("CRM_") {
                command.env_remove(name);
            }
        }
        let child = command
            .env("CRM_LISTEN", "127.0.0.1:0")
            .env("CRM_DATABASE_URL", database_url)
            .env("CRM_LOGIN_RATE", "100000/min")
            .env("CRM_LOG", "info")
            // A plain log to search, whatever features the build unified.
            .env("NO_COLOR", "1")
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(logs.join("stderr")).unwrap())
            .spawn()
            .unwrap();
        let mut server = Self {
            child,
            address: String::new(),
            logs,
        };
        let started = Instant::now();
        server.address = loop {
            if let Some(address) = server.log().lines().find_map(|line| {
                let (_, rest) = line.split_once("listening address=")?;
                Some(rest.split_whitespace().next()?.to_owned())
            }) {
                break address;
            }
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("crm exited ({status}):\n{}", server.log());
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "crm did not start:\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        server
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.logs.join("stderr")).unwrap_or_default()
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// The sockets the process holds (its listener and its connections).
    fn sockets(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .unwrap()
            .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
            .filter(|target| target.to_string_lossy().starts_with("socket:"))
            .count()
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Wait for the exit at most `limit`.
    async fn exit_within(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.logs);
    }
}

/// What a misbehaving client does once connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slow {
    /// Sends nothing.
    Idle,
    /// Sends a request head a header line at a time, never the blank line that ends it.
    Head,
    /// Sends a login head, then its body a byte at a time, never all of it.
    Body,
}

/// The end of a misbehaving connection: how long it stayed open and what the server sent.
#[derive(Debug)]
struct Closed {
    kind: Slow,
    after: Duration,
    answer: String,
}

/// Connect and misbehave as `kind` until the server closes the connection.
async fn misbehave(address: String, kind: Slow) -> Closed {
    // Before the handshake: the server's timers start after it.
    let opened = Instant::now();
    let mut stream = TcpStream::connect(&address).await.unwrap();
    let (mut reader, mut writer) = stream.split();
    let trickle = async {
        match kind {
            Slow::Idle => std::future::pending::<()>().await,
            Slow::Head => {
                let _ = writer
                    .write_all(format!("GET /health HTTP/1.1\r\nhost: {address}\r\n").as_bytes())
                    .await;
                for line in 0_u32.. {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    if writer
                        .write_all(format!("x-slow-{line}: 1\r\n").as_bytes())
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            }
            Slow::Body => {
                let head = format!(
                    "POST /api/auth/login HTTP/1.1\r\nhost: {address}\r\n\
                     content-type: application/json\r\ncontent-length: 1000\r\n\r\n{{"
                );
                let _ = writer.write_all(head.as_bytes()).await;
                loop {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    if writer.write_all(b" ").await.is_err() {
                        break;
                    }
                }
            }
        }
        std::future::pending::<()>().await;
    };
    let mut answer = Vec::new();
    tokio::select! {
        () = trickle => {}
        _ = reader.read_to_end(&mut answer) => {}
    }
    Closed {
        kind,
        after: opened.elapsed(),
        answer: String::from_utf8_lossy(&answer).into_owned(),
    }
}

/// Open `count` connections of the kinds in turn; returns once all are connected, with the
/// tasks that end when the server closes them.
async fn open(address: &str, count: usize, kinds: &[Slow]) -> JoinSet<Closed> {
    let mut connections = JoinSet::new();
    for i in 0..count {
        connections.spawn(misbehave(address.to_owned(), kinds[i % kinds.len()]));
    }
    // Every connection made (the handshake is the kernel's, accepted or not).
    tokio::time::sleep(Duration::from_millis(500)).await;
    connections
}

/// `GET /health` on a new connection: its status and how long it took.
async fn health(server: &Server) -> (u16, Duration) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let started = Instant::now();
    let status = match client.get(server.url("/health")).send().await {
        Ok(response) => response.status().as_u16(),
        Err(error) => panic!("GET /health failed: {error}\n{}", server.log()),
    };
    (status, started.elapsed())
}

/// The misbehaving connections, in turn.
const KINDS: [Slow; 3] = [Slow::Idle, Slow::Head, Slow::Body];

async fn slow_and_idle_clients(db: Database) {
    let header = format!("{}s", HEADER_READ_TIMEOUT.as_secs());
    let request = format!("{}s", REQUEST_TIMEOUT.as_secs());
    let mut server = Server::start(
        &db.url(),
        &[
            ("CRM_HEADER_READ_TIMEOUT", &header),
            ("CRM_REQUEST_TIMEOUT", &request),
            ("CRM_MAX_CONNECTIONS", "1000"),
        ],
        None,
    );
    let client = reqwest::Client::new();
    let name = format!("patient-{}", support::random());
    let login = json!({"username": name, "password": "correct horse battery"});
    let registered = client
        .post(server.url("/api/auth/register"))
        .json(&json!({"username": name, "email": format!("{name}@example.com"), "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);

    let opened = Instant::now();
    let mut connections = open(&server.address, 500, &KINDS).await;

    // While the 500 are open, others are served at once.
    for _ in 0..5 {
        let (status, took) = health(&server).await;
        assert_eq!(status, 200);
        assert!(took < Duration::from_secs(2), "GET /health took {took:?}");
    }
    let started = Instant::now();
    let response = client
        .post(server.url("/api/auth/login"))
        .json(&login)
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(response.status(), 200);
    assert!(took < Duration::from_secs(10), "a login took {took:?}");
    assert!(
        opened.elapsed() < HEADER_READ_TIMEOUT,
        "the checks ran after the timeout: they proved nothing"
    );

    // Then the server closes every one: the idle ones and the slow heads without an answer
    // once the header-read timeout has passed, the slow bodies with a 408.
    let limit = REQUEST_TIMEOUT + MARGIN;
    let mut closed = Vec::new();
    let all = async {
        while let Some(connection) = connections.join_next().await {
            closed.push(connection.unwrap());
        }
    };
    let done = tokio::time::timeout(limit, all).await.is_ok();
    let open_of = |kind: Slow| {
        let opened = (0..500).filter(|i| KINDS[i % KINDS.len()] == kind).count();
        opened - closed.iter().filter(|c| c.kind == kind).count()
    };
    assert!(
        done,
        "still open after {limit:?}: {} idle, {} slow heads, {} slow bodies\n{}",
        open_of(Slow::Idle),
        open_of(Slow::Head),
        open_of(Slow::Body),
        server.log()
    );
    for connection in &closed {
        let timeout = match connection.kind {
            Slow::Idle | Slow::Head => {
                assert_eq!(connection.answer, "", "{connection:?}");
                HEADER_READ_TIMEOUT
            }
            Slow::Body => {
                let (head, body) = connection.answer.split_once("\r\n\r\n").unwrap();
                assert!(head.starts_with("HTTP/1.1 408 "), "{connection:?}");
                assert!(head.contains("application/problem+json"), "{connection:?}");
                assert!(head.contains("connection: close"), "{connection:?}");
                let body: Value = serde_json::from_str(body).unwrap();
                assert_eq!(body["code"], "request_timeout");
                REQUEST_TIMEOUT
            }
        };
        assert!(
            connection.after >= timeout && connection.after < timeout + MARGIN,
            "{connection:?}: closed after {:?}, the timeout is {timeout:?}",
            connection.after
        );
    }
    let log = server.log();
    assert!(log.contains("request timed out"), "{log}");
    assert!(!log.contains("correct horse"), "{log}");

    server.terminate();
    let exit = server.exit_within(Duration::from_secs(20)).await;
    assert!(exit.is_some_and(|exit| exit.success()), "{exit:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_clients_are_closed_while_others_are_served_on_sqlite() {
    slow_and_idle_clients(Database::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_clients_are_closed_while_others_are_served_on_postgres() {
    if let Some(db) = Database::postgres().await {
        slow_and_idle_clients(db).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_connection_limit_new_clients_wait_for_a_free_slot() {
    let db = Database::sqlite();
    let header = format!("{}s", HEADER_READ_TIMEOUT.as_secs());
    let server = Server::start(
        &db.url(),
        &[
            ("CRM_HEADER_READ_TIMEOUT", &header),
            ("CRM_MAX_CONNECTIONS", "50"),
        ],
        None,
    );
    assert_eq!(health(&server).await.0, 200);
    let before = server.sockets();

    // 60 idle connections: 50 are accepted, 10 wait in the backlog, and so does the next.
    let opened = Instant::now();
    let connections = open(&server.address, 60, &[Slow::Idle]).await;
    let held = server.sockets() - before;
    assert!(
        held <= 50,
        "the server holds {held} connections, the limit is 50"
    );
    let (status, _) = health(&server).await;
    let took = opened.elapsed();
    assert_eq!(status, 200);
    // It was served once the first idle ones were closed, not before.
    assert!(
        took >= HEADER_READ_TIMEOUT && took < 2 * HEADER_READ_TIMEOUT + MARGIN,
        "GET /health answered {took:?} after the 60 connections"
    );
    assert!(
        server.log().contains("connection limit reached"),
        "{}",
        server.log()
    );
    drop(connections);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_beyond_the_connection_limit_waits_in_the_listen_backlog() {
    let db = Database::sqlite();
    let server = Server::start(
        &db.url(),
        &[
            ("CRM_HEADER_READ_TIMEOUT", "1h"),
            ("CRM_MAX_CONNECTIONS", "1"),
        ],
        None,
    );
    // The one slot taken: from here on the server accepts nothing.
    let _held = open(&server.address, 1, &[Slow::Idle]).await;
    // 500 handshakes at once all complete: they wait in the backlog (one of 128 would drop
    // most of them, and their clients would retry for seconds). The kernel caps the backlog
    // at `net.core.somaxconn` (4096 by default since Linux 5.4, 128 before).
    let somaxconn: usize = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(4096);
    let burst = somaxconn.min(500);
    let mut connects = JoinSet::new();
    for _ in 0..burst {
        let address = server.address.clone();
        connects.spawn(async move {
            tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(address)).await
        });
    }
    let mut waiting = Vec::new();
    while let Some(connect) = connects.join_next().await {
        if let Ok(Ok(stream)) = connect.unwrap() {
            waiting.push(stream);
        }
    }
    assert_eq!(waiting.len(), burst, "handshakes completed within 5 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_file_descriptors_the_server_pauses_and_recovers() {
    let db = Database::sqlite();
    let header = format!("{}s", HEADER_READ_TIMEOUT.as_secs());
    let server = Server::start(
        &db.url(),
        &[
            ("CRM_HEADER_READ_TIMEOUT", &header),
            ("CRM_MAX_CONNECTIONS", "1000"),
        ],
        Some(64),
    );
    assert_eq!(health(&server).await.0, 200);

    // More idle connections than descriptors: accepting fails with EMFILE.
    let opened = Instant::now();
    let connections = open(&server.address, 100, &[Slow::Idle]).await;
    let (status, _) = health(&server).await;
    let took = opened.elapsed();
    assert_eq!(status, 200, "{}", server.log());
    assert!(
        took < 3 * HEADER_READ_TIMEOUT + MARGIN,
        "GET /health answered {took:?} after the 100 connections"
    );
    let log = server.log();
    let failures = log.matches("cannot accept a connection").count();
    assert!(failures > 0, "no descriptor shortage: {log}");
    // A pause of a second after each failure, no spinning.
    let most = usize::try_from(took.as_secs()).unwrap() + 2;
    assert!(
        failures <= most,
        "{failures} failed accepts in {took:?}: the accept loop spins"
    );
    drop(connections);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_a_stalled_client_exits_within_the_deadline() {
    let db = Database::sqlite();
    let deadline = Duration::from_secs(2);
    let mut server = Server::start(
        &db.url(),
        &[
            ("CRM_HEADER_READ_TIMEOUT", "1h"),
            ("CRM_REQUEST_TIMEOUT", "1h"),
            ("CRM_SHUTDOWN_TIMEOUT", "2s"),
        ],
        None,
    );
    // A login whose body stalls halfway, a head that stalls, and an idle connection.
    let connections = open(&server.address, 3, &[Slow::Body, Slow::Head, Slow::Idle]).await;
    assert_eq!(health(&server).await.0, 200);

    let started = Instant::now();
    server.terminate();
    let exit = server.exit_within(deadline + Duration::from_secs(10)).await;
    let took = started.elapsed();
    let log = server.log();
    assert!(
        exit.is_some(),
        "crm still runs {took:?} after SIGTERM with a stalled client (deadline {deadline:?}):\n{log}"
    );
    assert!(exit.unwrap().success(), "{exit:?}\n{log}");
    // It waited for the stalled request until the deadline, then closed it.
    assert!(
        took >= deadline,
        "exited after {took:?}, before the deadline"
    );
    assert!(log.contains("shutdown deadline passed"), "{log}");
    assert!(log.contains("stopped"), "{log}");
    drop(connections);
}
