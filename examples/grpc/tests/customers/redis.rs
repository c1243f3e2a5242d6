//! The hybrid with the Redis revocation store: what another service (the CRM) revokes in
//! Redis is refused on Delete, and List and Get keep working even while Redis is down.
//!
//! Runs against `TOLLGATE_TEST_REDIS_URL` when set, else a private `redis-server` on a free
//! port. Without either the tests are skipped loudly, unless `CI=true`, where they fail.

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use tollgate::{AuthErrorKind, RevocationLayer, revocation::RevocationStore};
use tollgate_redis::{LocalCache, RedisRevocationStore, redis};
use tonic::Code;

use crate::support::{Client, claims, now, serve, sign};

const ALL: &[&str] = &["customer:read", "customer:delete"];

/// A `redis-server` this test started, killed on drop.
struct PrivateRedis {
    port: u16,
    child: Child,
}

impl PrivateRedis {
    fn start() -> Option<Self> {
        let port = TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut server = Self { port, child };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !server.answers_ping() {
            if Instant::now() > deadline || server.child.try_wait().ok()?.is_some() {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(server)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn answers_ping(&self) -> bool {
        let ping = || -> std::io::Result<bool> {
            let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
            stream.set_read_timeout(Some(Duration::from_secs(1)))?;
            stream.write_all(b"PING\r\n")?;
            let mut answer = [0; 7];
            stream.read_exact(&mut answer)?;
            Ok(&answer == b"+PONG\r\n")
        };
        ping().unwrap_or(false)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Skip (loudly) when no Redis can be had, except in CI.
fn unavailable(what: &str) {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{what}: no Redis (set TOLLGATE_TEST_REDIS_URL or install redis-server)"
    );
    eprintln!("SKIPPED {what}: no Redis (set TOLLGATE_TEST_REDIS_URL or install redis-server)");
}

/// A key prefix of this test alone, so tests can share one Redis.
fn unique_prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("grpc-test:{test}:{}:{nanos}:", std::process::id())
}

/// A store as the server (or the CRM) builds it: prefix, timeout, coherent local cache.
fn store(url: &str, prefix: &str) -> RedisRevocationStore {
    RedisRevocationStore::builder(redis::Client::open(url).unwrap())
        .prefix(prefix)
        .unwrap()
        .local_cache(LocalCache::new())
        .build()
        .unwrap()
}

#[tokio::test]
async fn revocations_written_by_another_service_are_refused_on_delete_only() {
    let (url, _private) = match std::env::var("TOLLGATE_TEST_REDIS_URL") {
        Ok(url) => (url, None),
        Err(_) => match PrivateRedis::start() {
            Some(server) => (server.url(), Some(server)),
            None => return unavailable("revocations_written_by_another_service"),
        },
    };
    let prefix = unique_prefix("revoked");
    let addr = serve(RevocationLayer::new(store(&url, &prefix))).await;
    let mut client = Client::connect(addr).await;

    let active = sign(&claims("active", "acme", ALL));
    client.delete(Some(&active), 5).await.unwrap();

    // The CRM, another process with its own store on the same Redis and prefix, logs out.
    let crm = store(&url, &prefix);
    let logged_out = claims("logged-out", "acme", ALL);
    crm.revoke_token("logged-out", logged_out["exp"].as_i64().unwrap())
        .await
        .unwrap();
    let token = sign(&logged_out);
    assert_eq!(client.list(Some(&token)).await.unwrap().len(), 4);
    client.get(Some(&token), 1).await.unwrap();
    let status = client.delete(Some(&token), 1).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), AuthErrorKind::Revoked.description());

    // Logout everywhere for another user.
    let mut everywhere = claims("everywhere", "acme", ALL);
    everywhere["sub"] = "8".into();
    crm.cut_off("8", now(), now() + 3600).await.unwrap();
    let status = client
        .delete(Some(&sign(&everywhere)), 1)
        .await
        .unwrap_err();
    assert_eq!(status.message(), AuthErrorKind::CutOff.description());

    client.delete(Some(&active), 1).await.unwrap();
}

#[tokio::test]
async fn redis_outage_makes_delete_unavailable_and_reads_keep_working() {
    let Some(mut redis) = PrivateRedis::start() else {
        return unavailable("redis_outage_makes_delete_unavailable");
    };
    let addr = serve(RevocationLayer::new(store(&redis.url(), "grpc-test:"))).await;
    let mut client = Client::connect(addr).await;
    let token = sign(&claims("outage", "acme", ALL));
    client.delete(Some(&token), 5).await.unwrap();

    redis.stop();
    // A token the server's local cache has not seen: its check must ask Redis.
    let token = sign(&claims("during-outage", "acme", ALL));
    assert_eq!(client.list(Some(&token)).await.unwrap().len(), 4);
    client.get(Some(&token), 1).await.unwrap();
    let status = client.delete(Some(&token), 1).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(
        status.message(),
        AuthErrorKind::StoreUnavailable.description()
    );
}
