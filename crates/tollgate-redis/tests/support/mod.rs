//! Test support: finding or starting a real Redis.
//!
//! - [`redis()`]: the Redis for ordinary tests: `TOLLGATE_TEST_REDIS_URL` when set, else a
//!   private `redis-server` on a free port, stopped when the handle drops.
//! - [`private_redis()`]: always a private `redis-server`, for fault tests that stop, restart
//!   or disturb it (never the shared one).
//!
//! When neither works, the test is skipped with a loud message, unless `CI=true`, where it
//! panics: CI must run every test.
//!
//! Tests share the server, so each one works under its own [`unique_prefix`].
#![allow(dead_code, unreachable_pub)]

use tollgate::revocation::{RevocationStatus, RevocationStore, TokenRef};

use std::{
    hash::{BuildHasher, RandomState},
    io::{self, Read, Write},
    net::{TcpListener, TcpStream},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

/// A `redis-server` process of this test, on its own port.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    extra: Vec<String>,
    /// For a sentinel: its configuration file (sentinels need one they can rewrite).
    sentinel_config: Option<std::path::PathBuf>,
    /// Its working folder (a replica writes the RDB it receives there), removed on drop.
    dir: std::path::PathBuf,
    child: Option<Child>,
}

impl RedisServer {
    /// Start a server on a free port of 127.0.0.1.
    pub fn start() -> io::Result<Self> {
        Self::start_with(&[])
    }

    /// Start a server on a free port of 127.0.0.1 with extra arguments.
    pub fn start_with(extra: &[&str]) -> io::Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut server = Self {
            port,
            extra: extra.iter().map(|arg| (*arg).to_owned()).collect(),
            sentinel_config: None,
            dir: scratch_dir(port)?,
            child: None,
        };
        server.restart()?;
        Ok(server)
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The port, kept across restarts.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kill the server (like a crash: nothing is saved) and wait for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// (Re)start the server on the same port, empty, and wait until it answers `PING`.
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop();
        let mut command = Command::new("redis-server");
        if let Some(config) = &self.sentinel_config {
            command.arg(config).arg("--sentinel");
        }
        let child = command
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(&self.dir)
            .args(if self.sentinel_config.is_some() {
                &[][..]
            } else {
                &["--save", "", "--appendonly", "no"][..]
            })
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if ping(self.port).is_ok() {
                return Ok(());
            }
            if let Some(child) = &mut self.child
                && let Some(status) = child.try_wait()?
            {
                self.child = None;
                return Err(io::Error::other(format!(
                    "redis-server on port {} exited: {status}",
                    self.port
                )));
            }
            if Instant::now() > deadline {
                self.stop();
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "redis-server did not answer PING within 10 s",
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A new empty folder under the system's temporary folder.
fn scratch_dir(port: u16) -> io::Result<std::path::PathBuf> {
    let random = RandomState::new().hash_one((port, std::process::id(), Instant::now()));
    let dir = std::env::temp_dir().join(format!("tollgate-redis-{port}-{random:016x}"));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
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

/// The Redis a test runs against.
#[derive(Debug)]
pub enum Redis {
    /// The server named by `TOLLGATE_TEST_REDIS_URL`.
    External(String),
    /// A private server, stopped on drop.
    Private(RedisServer),
}

impl Redis {
    /// Its URL.
    pub fn url(&self) -> String {
        match self {
            Self::External(url) => url.clone(),
            Self::Private(server) => server.url(),
        }
    }

    /// A client for it.
    pub fn client(&self) -> redis::Client {
        redis::Client::open(self.url()).unwrap()
    }
}

/// The Redis for an ordinary test, or `None` (the test returns) when none is available
/// outside CI.
///
/// # Panics
///
/// Under `CI=true` when no Redis is available.
pub fn redis() -> Option<Redis> {
    if let Ok(url) = std::env::var("TOLLGATE_TEST_REDIS_URL")
        && !url.is_empty()
    {
        return Some(Redis::External(url));
    }
    match RedisServer::start() {
        Ok(server) => Some(Redis::Private(server)),
        Err(error) => unavailable(&error),
    }
}

/// A private `redis-server` for a fault test, or `None` (the test returns) when it cannot be
/// started outside CI.
///
/// # Panics
///
/// Under `CI=true` when `redis-server` cannot be started.
pub fn private_redis() -> Option<RedisServer> {
    match RedisServer::start() {
        Ok(server) => Some(server),
        Err(error) => unavailable(&error),
    }
}

fn unavailable<T>(error: &io::Error) -> Option<T> {
    let message = format!(
        "no Redis to test against (TOLLGATE_TEST_REDIS_URL is unset and redis-server \
         could not be started: {error})"
    );
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("{message}");
    }
    eprintln!("\n!!! SKIPPED: {message}\n");
    None
}

/// A key prefix no other test (or test run) uses: `tollgate-test:<test>:<random>:`.
pub fn unique_prefix(test: &str) -> String {
    let random = RandomState::new().hash_one((test, std::process::id(), Instant::now()));
    format!("tollgate-test:{test}:{random:016x}:")
}

/// Where the store keeps a revoked `jti`, computed here independently of the store from the
/// documented layout: the hash `<prefix>jtis:<shard>` and the field, the first 16 bytes of the
/// SHA-256 of the `jti`, the shard being their first two bytes in lowercase hex.
pub fn jti_entry(prefix: &str, jti: &str) -> (String, Vec<u8>) {
    let sha256 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, jti.as_bytes());
    let field = sha256.as_ref()[..16].to_vec();
    let shard = format!("{:02x}{:02x}", field[0], field[1]);
    (format!("{prefix}jtis:{shard}"), field)
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// Wait until `condition` holds, polling every 10 ms; `false` if it did not within `limit`.
pub async fn eventually(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A private Redis Cluster of three masters (no replicas), each node a [`RedisServer`] with
/// its cluster state in its own temporary folder.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
    folder: std::path::PathBuf,
}

impl RedisCluster {
    /// Start three nodes and join them with `redis-cli --cluster create`; `None` (or a panic
    /// under CI) when that is impossible.
    pub fn start() -> Option<Self> {
        match Self::try_start() {
            Ok(cluster) => Some(cluster),
            Err(error) => unavailable(&error),
        }
    }

    fn try_start() -> io::Result<Self> {
        let random = RandomState::new().hash_one((std::process::id(), Instant::now()));
        let folder = std::env::temp_dir().join(format!("tollgate-cluster-{random:016x}"));
        let mut nodes = Vec::new();
        for index in 0..3 {
            let dir = folder.join(index.to_string());
            std::fs::create_dir_all(&dir)?;
            let dir = dir.to_string_lossy().into_owned();
            nodes.push(RedisServer::start_with(&[
                "--cluster-enabled",
                "yes",
                "--dir",
                &dir,
                "--cluster-node-timeout",
                "2000",
            ])?);
        }
        let cluster = Self { nodes, folder };
        let addresses: Vec<String> = cluster
            .nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port()))
            .collect();
        let status = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        if !status.success() {
            return Err(io::Error::other(format!(
                "redis-cli --cluster create: {status}"
            )));
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while !cluster.nodes.iter().all(|node| cluster_ok(node.port())) {
            if Instant::now() > deadline {
                return Err(io::Error::other(
                    "the cluster did not reach cluster_state:ok",
                ));
            }
            thread::sleep(Duration::from_millis(50));
        }
        Ok(cluster)
    }

    /// The nodes' URLs.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.stop();
        }
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

fn cluster_ok(port: u16) -> bool {
    redis_cli(port, &["CLUSTER", "INFO"]).contains("cluster_state:ok")
}

/// A token of `sub` and `sid` issued 10 s ago, expiring in an hour, with `ver` 1.
pub fn token<'a>(jti: &'a str, sub: Option<&'a str>, sid: Option<&'a str>) -> TokenRef<'a> {
    let mut token = TokenRef::new(jti, now() + 3600);
    token.sub = sub;
    token.sid = sid;
    token.iat = Some(now() - 10);
    token.ver = Some(1);
    token
}

/// The four checks, and the merge rules of the writes, on one store.
pub async fn four_checks<S: RevocationStore>(store: &S, tag: &str) {
    let until = now() + 600;
    let jti = format!("{tag}-jti");
    let sid = format!("{tag}-sid");
    let sub = format!("{tag}-sub");

    let plain = token(&jti, Some(&sub), Some(&sid));
    assert_eq!(store.check(&plain).await.unwrap(), RevocationStatus::Active);

    // Ended session.
    store.end_session(&sid, until).await.unwrap();
    assert_eq!(
        store.check(&plain).await.unwrap(),
        RevocationStatus::SessionEnded
    );
    let other_session = token(&jti, Some(&sub), Some("another-session"));
    assert_eq!(
        store.check(&other_session).await.unwrap(),
        RevocationStatus::Active
    );

    // Revoked jti, which takes precedence.
    store.revoke_token(&jti, until).await.unwrap();
    assert_eq!(
        store.check(&plain).await.unwrap(),
        RevocationStatus::Revoked
    );

    // Cut-off: tokens issued at or before it are refused, later ones pass.
    let fresh = format!("{tag}-fresh");
    let mut issued_before = token(&fresh, Some(&sub), None);
    issued_before.iat = Some(1_000);
    let mut issued_after = token(&fresh, Some(&sub), None);
    issued_after.iat = Some(2_001);
    store.cut_off(&sub, 2_000, until).await.unwrap();
    assert_eq!(
        store.check(&issued_before).await.unwrap(),
        RevocationStatus::CutOff
    );
    assert_eq!(
        store.check(&issued_after).await.unwrap(),
        RevocationStatus::Active
    );
    // A later cut-off replaces it; an earlier one never does.
    store.cut_off(&sub, 3_000, until).await.unwrap();
    assert_eq!(
        store.check(&issued_after).await.unwrap(),
        RevocationStatus::CutOff
    );
    store.cut_off(&sub, 1_500, until).await.unwrap();
    assert_eq!(
        store.check(&issued_after).await.unwrap(),
        RevocationStatus::CutOff
    );

    // Permission version: lower `ver` is stale; the highest version wins.
    let versioned = format!("{tag}-versioned");
    let vsub = format!("{tag}-vsub");
    let mut v2 = token(&versioned, Some(&vsub), None);
    v2.ver = Some(2);
    let mut v3 = v2;
    v3.ver = Some(3);
    store.set_version(&vsub, 3, until).await.unwrap();
    assert_eq!(store.check(&v2).await.unwrap(), RevocationStatus::Stale);
    assert_eq!(store.check(&v3).await.unwrap(), RevocationStatus::Active);
    store.set_version(&vsub, 1, until).await.unwrap();
    assert_eq!(store.check(&v2).await.unwrap(), RevocationStatus::Stale);
    store.set_version(&vsub, u64::MAX, until).await.unwrap();
    assert_eq!(store.check(&v3).await.unwrap(), RevocationStatus::Stale);
}

/// A private Sentinel deployment: a master, one replica and one sentinel (quorum 1) that
/// monitors them as `mymaster`.
#[derive(Debug)]
pub struct RedisSentinel {
    pub master: RedisServer,
    pub replica: RedisServer,
    pub sentinel: RedisServer,
    folder: std::path::PathBuf,
}

impl RedisSentinel {
    /// Start the three processes and wait until the replica is in sync and the sentinel knows
    /// it; `None` (or a panic under CI) when that is impossible.
    pub fn start() -> Option<Self> {
        match Self::try_start() {
            Ok(deployment) => Some(deployment),
            Err(error) => unavailable(&error),
        }
    }

    fn try_start() -> io::Result<Self> {
        let random = RandomState::new().hash_one((std::process::id(), Instant::now()));
        let folder = std::env::temp_dir().join(format!("tollgate-sentinel-{random:016x}"));
        std::fs::create_dir_all(&folder)?;
        let master = RedisServer::start()?;
        let replica =
            RedisServer::start_with(&["--replicaof", "127.0.0.1", &master.port().to_string()])?;
        wait_for(Duration::from_secs(20), || {
            redis_cli(replica.port(), &["INFO", "replication"]).contains("master_link_status:up")
        })?;

        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let config = folder.join("sentinel.conf");
        std::fs::write(
            &config,
            format!(
                "bind 127.0.0.1\ndir {}\nsentinel monitor mymaster 127.0.0.1 {} 1\n\
                 sentinel down-after-milliseconds mymaster 2000\n\
                 sentinel failover-timeout mymaster 10000\n",
                folder.display(),
                master.port()
            ),
        )?;
        let mut sentinel = RedisServer {
            port,
            extra: Vec::new(),
            sentinel_config: Some(config),
            dir: scratch_dir(port)?,
            child: None,
        };
        sentinel.restart()?;
        let replica_port = replica.port().to_string();
        wait_for(Duration::from_secs(30), || {
            redis_cli(port, &["SENTINEL", "replicas", "mymaster"]).contains(&replica_port)
        })?;
        Ok(Self {
            master,
            replica,
            sentinel,
            folder,
        })
    }

    /// The sentinel's URL.
    pub fn sentinel_url(&self) -> String {
        self.sentinel.url()
    }

    /// The port of the master the sentinel names now.
    pub fn master_port(&self) -> Option<u16> {
        redis_cli(
            self.sentinel.port(),
            &["SENTINEL", "get-master-addr-by-name", "mymaster"],
        )
        .lines()
        .nth(1)
        .and_then(|port| port.trim().parse().ok())
    }

    /// Promote the replica (`SENTINEL FAILOVER`) and wait until the sentinel names it and the
    /// old master has become its replica.
    pub fn fail_over(&self) {
        // The sentinel refuses (NOGOODSLAVE) until it has polled the replica itself.
        let mut answer = String::new();
        wait_for(Duration::from_secs(30), || {
            answer = redis_cli(self.sentinel.port(), &["SENTINEL", "FAILOVER", "mymaster"]);
            answer.contains("OK")
        })
        .unwrap_or_else(|_| panic!("SENTINEL FAILOVER: {answer}"));
        let replica = self.replica.port();
        wait_for(Duration::from_secs(30), || {
            self.master_port() == Some(replica)
        })
        .unwrap();
        // Until the sentinel has turned the old master into a replica, it still takes writes
        // (which its resynchronisation then discards): Sentinel's own window, see
        // docs/revocation-redis.md. Wait for the end of it.
        wait_for(Duration::from_secs(30), || {
            redis_cli(self.master.port(), &["ROLE"]).starts_with("slave")
        })
        .unwrap();
    }
}

impl Drop for RedisSentinel {
    fn drop(&mut self) {
        self.sentinel.stop();
        self.replica.stop();
        self.master.stop();
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// What `redis-cli -p <port> <args>` prints (empty on failure).
pub fn redis_cli(port: u16, args: &[&str]) -> String {
    Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
        .unwrap_or_default()
}

fn wait_for(limit: Duration, mut condition: impl FnMut() -> bool) -> io::Result<()> {
    let deadline = Instant::now() + limit;
    while !condition() {
        if Instant::now() > deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "a condition did not hold in time",
            ));
        }
        thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}
