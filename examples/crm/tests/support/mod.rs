//! Test support: real databases (a temporary SQLite file; PostgreSQL in a fresh schema when
//! `TOLLGATE_TEST_DATABASE_URL` is set), real Redis (`TOLLGATE_TEST_REDIS_URL`, else a
//! private `redis-server`), the app served over real HTTP on 127.0.0.1:0, and (in
//! [`process`]) the compiled binary run to its end.
#![allow(dead_code, unreachable_pub)]

pub mod process;

use std::{
    hash::{BuildHasher, RandomState},
    io::{self, Read, Write},
    net::{IpAddr, TcpListener, TcpStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use reqwest::{Method, header::HeaderMap};
use serde_json::{Value, json};

/// A random hex string, unique per call.
pub fn random() -> String {
    let value = RandomState::new().hash_one((std::process::id(), Instant::now()));
    format!("{value:016x}")
}

/// Whether the tests run in CI (where every backend must be available).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|ci| ci == "true")
}

fn skip<T>(message: &str) -> Option<T> {
    if in_ci() {
        panic!("{message}");
    }
    eprintln!("\n!!! SKIPPED: {message}\n");
    None
}

// ------------------------------------------------------------------------------------------
// Databases

/// A database for one test: removed (file) or dropped (schema) at the end.
#[derive(Debug)]
pub enum Database {
    /// A SQLite file in a temporary folder.
    Sqlite(PathBuf),
    /// A fresh schema of the PostgreSQL database at `base`.
    Postgres { base: String, schema: String },
}

impl Database {
    /// A new SQLite file.
    pub fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(format!("crm-test-{}", random()));
        std::fs::create_dir_all(&dir).unwrap();
        Self::Sqlite(dir)
    }

    /// A fresh schema of `TOLLGATE_TEST_DATABASE_URL`, or `None` (skipped loudly; a panic in
    /// CI) when it is unset.
    pub async fn postgres() -> Option<Self> {
        let Some(base) = std::env::var("TOLLGATE_TEST_DATABASE_URL")
            .ok()
            .filter(|url| !url.is_empty())
        else {
            return skip("TOLLGATE_TEST_DATABASE_URL is unset: the PostgreSQL run is skipped");
        };
        let schema = format!("crm_test_{}", random());
        let pool = sqlx::PgPool::connect(&base).await.unwrap();
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        Some(Self::Postgres { base, schema })
    }

    /// The URL the app is given.
    pub fn url(&self) -> String {
        match self {
            Self::Sqlite(dir) => format!("sqlite://{}?mode=rwc", dir.join("crm.db").display()),
            Self::Postgres { base, schema } => {
                let separator = if base.contains('?') { '&' } else { '?' };
                format!("{base}{separator}options=-c%20search_path%3D{schema}")
            }
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        match self {
            Self::Sqlite(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Self::Postgres { base, schema } => {
                let (base, schema) = (base.clone(), schema.clone());
                let _ = thread::spawn(move || {
                    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        return;
                    };
                    runtime.block_on(async {
                        if let Ok(pool) = sqlx::PgPool::connect(&base).await {
                            let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                                .execute(&pool)
                                .await;
                            pool.close().await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// Redis

/// A `redis-server` of this test, on its own port.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Start one on a free port and wait until it answers PING.
    pub fn start() -> io::Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        Self::start_on(port)
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Stop it: the port refuses connections until [`restart`](Self::restart).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freeze it (`SIGSTOP`): connections stay open and nothing is answered, as a hung
    /// server does, until [`resume`](Self::resume).
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Let a paused server run again (`SIGCONT`).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("redis-server is running");
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} failed");
    }

    /// Start it again, empty, on the same port, and wait until it answers PING.
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop();
        *self = Self::start_on(self.port)?;
        Ok(())
    }

    fn start_on(port: u16) -> io::Result<Self> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let mut server = Self {
            port,
            child: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while ping(port).is_err() {
            if let Some(child) = &mut server.child
                && let Some(status) = child.try_wait()?
            {
                server.child = None;
                return Err(io::Error::other(format!("redis-server exited: {status}")));
            }
            if Instant::now() > deadline {
                return Err(io::Error::other("redis-server did not answer within 10 s"));
            }
            thread::sleep(Duration::from_millis(20));
        }
        Ok(server)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn ping(port: u16) -> io::Result<()> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(1)))?;
    stream.write_all(b"PING\r\n")?;
    let mut answer = [0_u8; 7];
    stream.read_exact(&mut answer)?;
    if &answer == b"+PONG\r\n" {
        Ok(())
    } else {
        Err(io::Error::other("unexpected answer to PING"))
    }
}

/// The Redis of a test: `TOLLGATE_TEST_REDIS_URL`, or a private server.
#[derive(Debug)]
pub enum Redis {
    /// The shared server.
    External(String),
    /// A private server, stopped on drop.
    Private(RedisServer),
}

impl Redis {
    /// `TOLLGATE_TEST_REDIS_URL`, else a private `redis-server`; `None` (skipped loudly; a
    /// panic in CI) when neither is available.
    pub fn get() -> Option<Self> {
        if let Ok(url) = std::env::var("TOLLGATE_TEST_REDIS_URL")
            && !url.is_empty()
        {
            return Some(Self::External(url));
        }
        match RedisServer::start() {
            Ok(server) => Some(Self::Private(server)),
            Err(error) => skip(&format!(
                "no Redis (TOLLGATE_TEST_REDIS_URL unset, redis-server failed: {error})"
            )),
        }
    }

    /// Its URL.
    pub fn url(&self) -> String {
        match self {
            Self::External(url) => url.clone(),
            Self::Private(server) => server.url(),
        }
    }
}

// ------------------------------------------------------------------------------------------
// The backends a suite runs on

/// Where the app keeps its data in a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, in-process revocations.
    Sqlite,
    /// SQLite and Redis.
    SqliteRedis,
    /// PostgreSQL, in-process revocations.
    Postgres,
    /// PostgreSQL and Redis.
    PostgresRedis,
}

/// The stores of one test.
#[derive(Debug)]
pub struct Env {
    pub db: Database,
    pub redis: Option<Redis>,
    /// The `--redis-prefix` of this test's apps: keys of this test only, since the login
    /// limits (kept in Redis) of parallel tests on a shared Redis would otherwise meet.
    pub redis_prefix: String,
}

impl Env {
    /// The stores for `backend`, or `None` when they are unavailable outside CI.
    pub async fn new(backend: Backend) -> Option<Self> {
        let db = match backend {
            Backend::Sqlite | Backend::SqliteRedis => Database::sqlite(),
            Backend::Postgres | Backend::PostgresRedis => Database::postgres().await?,
        };
        let redis = match backend {
            Backend::SqliteRedis | Backend::PostgresRedis => Some(Redis::get()?),
            Backend::Sqlite | Backend::Postgres => None,
        };
        let redis_prefix = format!("crm-test-{}:", random());
        Some(Self {
            db,
            redis,
            redis_prefix,
        })
    }

    /// The app on these stores, with a generous login rate unless `extra` sets one.
    pub async fn start(&self, extra: &[&str]) -> TestApp {
        let url = self.db.url();
        let redis = self.redis.as_ref().map(Redis::url);
        let mut args: Vec<String> = vec!["crm".into(), "--database-url".into(), url];
        if let Some(redis) = redis {
            args.extend(["--redis-url".into(), redis]);
            if !extra.contains(&"--redis-prefix") {
                args.extend(["--redis-prefix".into(), self.redis_prefix.clone()]);
            }
        }
        if !extra.contains(&"--login-rate") {
            args.extend(["--login-rate".into(), "100000/min".into()]);
        }
        args.extend(extra.iter().map(|arg| (*arg).to_owned()));
        TestApp::start(args).await
    }
}

// ------------------------------------------------------------------------------------------
// The app over HTTP

/// The app served on 127.0.0.1:0.
#[derive(Debug)]
pub struct TestApp {
    pub base: String,
    pub state: crm::AppState,
    client: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestApp {
    /// Build the app from these command-line arguments and serve it.
    pub async fn start(args: Vec<String>) -> Self {
        let config = match crm::Config::from_args(args) {
            Ok(config) => config,
            Err(error) => panic!("bad test configuration: {error:?}"),
        };
        let state = crm::AppState::build(&config)
            .await
            .unwrap_or_else(|error| panic!("the app did not start: {error}"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, signal) = tokio::sync::oneshot::channel::<()>();
        let app = crm::app(state.clone());
        let limits = config.server;
        let task = tokio::spawn(crm::serve(
            listener,
            app,
            limits,
            crm::HttpMetrics::NotRecorded,
            async {
                let _ = signal.await;
            },
        ));
        Self {
            base,
            state,
            client: client(None),
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }

    /// Stop serving and close the database (as a process exit would).
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
        self.state.db.close().await;
    }

    /// A request from 127.0.0.1.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        send(&self.client, &self.base, method, path, token, body).await
    }

    /// A request from another loopback address.
    pub async fn send_from(
        &self,
        ip: IpAddr,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Resp {
        send(&client(Some(ip)), &self.base, method, path, None, body).await
    }

    /// `GET`.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.send(Method::GET, path, token, None).await
    }

    /// `POST` with a JSON body.
    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.send(Method::POST, path, token, Some(body)).await
    }

    /// `POST` without a body.
    pub async fn post_empty(&self, path: &str, token: Option<&str>) -> Resp {
        self.send(Method::POST, path, token, None).await
    }

    /// `POST` with a raw body and content type.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: &str) -> Resp {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        Resp::read(response).await
    }

    /// `PATCH` with a JSON body.
    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.send(Method::PATCH, path, token, Some(body)).await
    }

    /// `PUT` with a JSON body.
    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.send(Method::PUT, path, token, Some(body)).await
    }

    /// `DELETE`.
    pub async fn delete(&self, path: &str, token: Option<&str>) -> Resp {
        self.send(Method::DELETE, path, token, None).await
    }

    /// Register a new user (a new organization, whose admin it is) with a unique username
    /// starting with `name`.
    pub async fn register(&self, name: &str) -> User {
        let username = format!("{name}-{}", random());
        let password = "correct horse battery".to_owned();
        let response = self
            .post(
                "/api/auth/register",
                None,
                json!({"username": username, "email": format!("{username}@example.com"), "password": password}),
            )
            .await;
        assert_eq!(response.status, 201, "{}", response.text);
        User::from_answer(&username, &password, &response.body)
    }

    /// Create a user with `roles` in `admin`'s organization and log it in.
    pub async fn create_user(&self, admin: &User, name: &str, roles: &[&str]) -> User {
        let username = format!("{name}-{}", random());
        let password = "another good password".to_owned();
        let response = self
            .post(
                "/api/admin/users",
                Some(&admin.access),
                json!({"username": username, "email": format!("{username}@example.com"), "password": password, "roles": roles}),
            )
            .await;
        assert_eq!(response.status, 201, "{}", response.text);
        self.login(&username, &password).await
    }

    /// Log in by username.
    pub async fn login(&self, username: &str, password: &str) -> User {
        let response = self
            .post(
                "/api/auth/login",
                None,
                json!({"username": username, "password": password}),
            )
            .await;
        assert_eq!(response.status, 200, "{}", response.text);
        User::from_answer(username, password, &response.body)
    }

    /// Refresh; the new pair.
    pub async fn refresh(&self, refresh: &str) -> Resp {
        self.post("/api/auth/token/refresh", None, json!({"refresh": refresh}))
            .await
    }

    /// A sensitive route any user may call that changes nothing: ending an unknown session.
    /// 404 means the token passed every check.
    pub async fn sensitive(&self, token: &str) -> Resp {
        self.delete("/api/auth/sessions/no-such-session", Some(token))
            .await
    }
}

fn client(local: Option<IpAddr>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(30));
    if let Some(ip) = local {
        builder = builder.local_address(ip);
    }
    builder.build().unwrap()
}

/// Send a request to `base`.
pub async fn send(
    client: &reqwest::Client,
    base: &str,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Resp {
    let mut request = client.request(method, format!("{base}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    Resp::read(request.send().await.unwrap()).await
}

/// An answer: status, headers, body (JSON when it parses, else `null`) and text.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    /// Read `response` whole.
    pub async fn read(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Self {
            status,
            headers,
            body,
            text,
        }
    }

    /// A header as text (`""` when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
    }

    /// Assert a problem answer with this status: `application/problem+json` and the four
    /// RFC 9457 members.
    #[track_caller]
    pub fn assert_problem(&self, status: u16) -> &Self {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(
            self.header("content-type"),
            "application/problem+json",
            "{}",
            self.text
        );
        assert_eq!(self.body["status"], status, "{}", self.text);
        assert!(self.body["type"].is_string(), "{}", self.text);
        assert!(self.body["title"].is_string(), "{}", self.text);
        assert!(self.body["detail"].is_string(), "{}", self.text);
        self
    }

    /// Assert a 401 with `WWW-Authenticate: Bearer error="invalid_token"` and `code`.
    #[track_caller]
    pub fn assert_invalid_token(&self, code: &str) -> &Self {
        self.assert_problem(401);
        assert_eq!(
            self.header("www-authenticate"),
            r#"Bearer error="invalid_token""#
        );
        assert_eq!(self.body["code"], code, "{}", self.text);
        self
    }
}

/// A logged-in user.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub organization_id: String,
    pub username: String,
    pub password: String,
    pub access: String,
    pub refresh: String,
}

impl User {
    fn from_answer(username: &str, password: &str, body: &Value) -> Self {
        Self {
            id: body["user"]["id"].as_str().unwrap().to_owned(),
            organization_id: body["user"]["organization_id"].as_str().unwrap().to_owned(),
            username: username.to_owned(),
            password: password.to_owned(),
            access: body["access"].as_str().unwrap().to_owned(),
            refresh: body["refresh"].as_str().unwrap().to_owned(),
        }
    }
}

/// A token's header and claims, decoded without verification.
pub fn decode(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let mut part = || {
        let bytes = URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap();
        serde_json::from_slice::<Value>(&bytes).unwrap()
    };
    (part(), part())
}

/// Wait until `check` returns true, polling every 20 ms; how long it took, or `None` past
/// `limit`.
pub async fn within<F, Fut>(limit: Duration, mut check: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if check().await {
            return Some(started.elapsed());
        }
        if started.elapsed() > limit {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A fixture file.
pub fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}
