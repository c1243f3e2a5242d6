//! Running several `crm` processes behind a load balancer: the compiled binary over real HTTP.
//!
//! - Shared login limits: two processes on one Redis enforce one budget per client address
//!   and per account; without Redis each process has its own; with Redis stopped, each
//!   process limits on its own budgets and logs one warning (and one line when Redis is back).
//! - `--trusted-proxies`: `X-Forwarded-For` from a trusted peer gives the client address (the
//!   rate limits' key, and the address sessions record); from any other peer it is ignored;
//!   chains with several hops and with garbage.
//! - `--drain-period`: after SIGTERM `/health` answers 503 `draining` while other requests are
//!   still served, and the process exits after the drain.

#[path = "../support/mod.rs"]
mod support;

use std::{
    net::{IpAddr, Ipv4Addr},
    process::Command,
    time::Duration,
};

use serde_json::{Value, json};
use support::{Database, Redis, RedisServer, process::Crm, random, within};
use tollgate_redis::redis;

/// A loopback address of this test alone (127.100.0.0 to 127.199.255.255): the peer address
/// of a client, so that parallel tests on one Redis never share a budget.
fn loopback() -> IpAddr {
    let value = u64::from_str_radix(&random(), 16).unwrap();
    let [a, b, c, ..] = value.to_le_bytes();
    IpAddr::V4(Ipv4Addr::new(127, 100 + a % 100, b, c))
}

/// A username of nobody, new at each call: the attempts on it draw on an account budget of
/// their own.
fn anyone() -> String {
    format!("nobody-{}", random())
}

/// A client whose connections come from `local`.
fn client_from(local: IpAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(local)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A login with a wrong password for `username` on `crm`, with an `X-Forwarded-For` line for
/// each of `forwarded`: the status (401 allowed, 429 limited).
async fn attempt(client: &reqwest::Client, crm: &Crm, username: &str, forwarded: &[&str]) -> u16 {
    let mut request = client
        .post(format!("{}/api/auth/login", crm.base))
        .json(&json!({"username": username, "password": "a wrong password"}));
    for line in forwarded {
        request = request.header("x-forwarded-for", *line);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert!(status == 401 || status == 429, "{status}: {text}");
    status
}

/// Register a new user on `crm` through `client` (with `forwarded`, if any): its username
/// and access token.
async fn register(
    client: &reqwest::Client,
    crm: &Crm,
    forwarded: Option<&str>,
) -> (String, String) {
    let username = format!("scale-{}", random());
    let mut request = client
        .post(format!("{}/api/auth/register", crm.base))
        .json(&json!({"username": username, "email": format!("{username}@example.com"), "password": "correct horse battery"}));
    if let Some(forwarded) = forwarded {
        request = request.header("x-forwarded-for", forwarded);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    (username, body["access"].as_str().unwrap().to_owned())
}

/// The compiled `crm` on `database` with `args` and a login rate of 4 per minute.
async fn start(database: &Database, args: &[&str]) -> Crm {
    let url = database.url();
    let mut all = vec!["--database-url", url.as_str(), "--login-rate", "4/min"];
    all.extend_from_slice(args);
    Crm::start(&all).await
}

const RATE: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_redis_enforce_one_budget_per_client_and_per_account() {
    let Some(redis) = Redis::get() else { return };
    let db = Database::sqlite();
    let (url, prefix) = (redis.url(), format!("crm-scale-{}:", random()));
    let shared = [
        "--redis-url",
        url.as_str(),
        "--redis-prefix",
        prefix.as_str(),
    ];
    let a = start(&db, &shared).await;
    let b = start(&db, &shared).await;

    // Per client address: the attempts spread over both instances draw on one budget.
    let client_ip = loopback();
    let client = client_from(client_ip);
    for n in 0..RATE {
        let crm = if n % 2 == 0 { &a } else { &b };
        let status = attempt(&client, crm, &anyone(), &[]).await;
        assert_eq!(status, 401, "attempt {n}");
    }
    assert_eq!(attempt(&client, &a, &anyone(), &[]).await, 429);
    assert_eq!(attempt(&client, &b, &anyone(), &[]).await, 429);

    // Per account: from a new address each time, on both instances.
    let (username, _) = register(&client, &a, None).await;
    for n in 0..RATE {
        let crm = if n % 2 == 0 { &b } else { &a };
        let status = attempt(&client_from(loopback()), crm, &username, &[]).await;
        assert_eq!(status, 401, "attempt {n}");
    }
    assert_eq!(
        attempt(&client_from(loopback()), &a, &username, &[]).await,
        429
    );
    assert_eq!(
        attempt(&client_from(loopback()), &b, &username, &[]).await,
        429
    );

    // The budgets' keys: under the prefix, the address as such, the account hashed, and
    // each expiring within the period (when its budget is full again).
    let redis_client = redis::Client::open(url.as_str()).unwrap();
    let mut connection = redis_client
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}login:*"))
        .query_async(&mut connection)
        .await
        .unwrap();
    let ip_key = format!("{prefix}login:4per60s:ip:{client_ip}");
    assert!(keys.contains(&ip_key), "{keys:?}");
    let account_keys = format!("{prefix}login:4per60s:account:");
    assert!(
        keys.iter().any(|key| key.starts_with(&account_keys)),
        "{keys:?}"
    );
    for key in &keys {
        assert!(!key.contains(&username), "{key}");
        let ttl: i64 = redis::cmd("PTTL")
            .arg(key)
            .query_async(&mut connection)
            .await
            .unwrap();
        assert!((1..=60_000).contains(&ttl), "{key}: {ttl}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_each_instance_has_its_own_budget() {
    let db = Database::sqlite();
    let a = start(&db, &[]).await;
    let b = start(&db, &[]).await;
    let client = client_from(loopback());
    for crm in [&a, &b] {
        for n in 0..RATE {
            let status = attempt(&client, crm, &anyone(), &[]).await;
            assert_eq!(status, 401, "attempt {n} on {}", crm.base);
        }
        assert_eq!(attempt(&client, crm, &anyone(), &[]).await, 429);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_the_limits_are_per_instance_and_the_outage_is_logged_once() {
    let mut redis = match RedisServer::start() {
        Ok(redis) => redis,
        Err(error) => {
            assert!(!support::in_ci(), "redis-server is required in CI: {error}");
            eprintln!("\n!!! SKIPPED: redis-server failed: {error}\n");
            return;
        }
    };
    let db = Database::sqlite();
    let url = redis.url();
    let database = db.url();
    let crm = Crm::start_logged(
        &[
            "--database-url",
            &database,
            "--redis-url",
            &url,
            "--login-rate",
            "4/min",
        ],
        "info",
    )
    .await;
    let client = client_from(loopback());
    // One attempt through Redis.
    assert_eq!(attempt(&client, &crm, &anyone(), &[]).await, 401);

    redis.stop();
    // This instance's own budget, whole: still a limit.
    for n in 0..RATE {
        let status = attempt(&client, &crm, &anyone(), &[]).await;
        assert_eq!(status, 401, "attempt {n}:\n{}", crm.log());
    }
    assert_eq!(attempt(&client, &crm, &anyone(), &[]).await, 429);
    let log = crm.log();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("WARN") && line.contains("login limits"))
        .collect();
    assert_eq!(warnings.len(), 1, "{log}");
    assert!(!log.contains("answers again"), "{log}");

    // Redis back: the next check that reaches it logs the end of the outage.
    redis.restart().unwrap();
    let back = within(Duration::from_secs(30), || {
        let client = client_from(loopback());
        let crm = &crm;
        async move {
            attempt(&client, crm, &anyone(), &[]).await;
            crm.log().contains("Redis answers again")
        }
    })
    .await;
    let log = crm.log();
    assert!(back.is_some(), "no end of the outage logged:\n{log}");
    let warnings = log
        .lines()
        .filter(|line| line.contains("WARN") && line.contains("login limits"))
        .count();
    assert_eq!(warnings, 1, "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_proxy_gives_the_client_address() {
    let db = Database::sqlite();
    let crm = start(&db, &["--trusted-proxies", "127.0.0.0/8, 10.0.0.0/8"]).await;
    let client = client_from(loopback());

    // Two forwarded clients, two budgets.
    for forwarded in ["203.0.113.1", "203.0.113.2"] {
        for n in 0..RATE {
            let status = attempt(&client, &crm, &anyone(), &[forwarded]).await;
            assert_eq!(status, 401, "attempt {n} of {forwarded}");
        }
        assert_eq!(attempt(&client, &crm, &anyone(), &[forwarded]).await, 429);
    }

    // Several hops: trusted ones on the right are skipped, forged ones on the left ignored;
    // several header lines are one list.
    let chains: [&[&str]; 4] = [
        &["198.51.100.7"],
        &["192.0.2.1, 198.51.100.7, 10.1.1.1"],
        &["192.0.2.2", "198.51.100.7, 127.0.0.1"],
        &["198.51.100.7", "10.2.2.2", "10.3.3.3"],
    ];
    for (n, chain) in chains.iter().enumerate() {
        assert_eq!(
            attempt(&client, &crm, &anyone(), chain).await,
            401,
            "chain {n}"
        );
    }
    assert_eq!(
        attempt(&client, &crm, &anyone(), &["198.51.100.7"]).await,
        429
    );

    // Garbage stops the walk at the last trusted hop: here the peer itself, whose own budget
    // the requests without the header draw on too.
    let peer = loopback();
    let client = client_from(peer);
    let garbage: [&[&str]; 4] = [
        &["203.0.113.9, unknown"],
        &["203.0.113.10, 10.0.0.1, not-an-address"],
        &["203.0.113.11,"],
        &["203.0.113.12", ""],
    ];
    for (n, chain) in garbage.iter().enumerate() {
        assert_eq!(
            attempt(&client, &crm, &anyone(), chain).await,
            401,
            "garbage {n}"
        );
    }
    assert_eq!(attempt(&client, &crm, &anyone(), &[]).await, 429);

    // The session records the forwarded address.
    let (_, access) = register(&client, &crm, Some("198.51.100.77")).await;
    let sessions: Value = client
        .get(format!("{}/api/auth/sessions", crm.base))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sessions = sessions.as_array().unwrap_or_else(|| panic!("{sessions}"));
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert_eq!(sessions[0]["ip_address"], "198.51.100.77", "{sessions:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_forwarded_address_is_ignored_from_an_untrusted_peer() {
    let db = Database::sqlite();
    // No proxy trusted; then a proxy trusted that is not the peer.
    for args in [&[][..], &["--trusted-proxies", "10.0.0.0/8"][..]] {
        let crm = start(&db, args).await;
        let peer = loopback();
        let client = client_from(peer);
        for n in 0..RATE {
            let forged = format!("203.0.113.{n}");
            let status = attempt(&client, &crm, &anyone(), &[forged.as_str()]).await;
            assert_eq!(status, 401, "attempt {n} with {args:?}");
        }
        assert_eq!(
            attempt(&client, &crm, &anyone(), &["198.51.100.1"]).await,
            429,
            "{args:?}"
        );
        // The session records the peer.
        let (_, access) = register(&client, &crm, Some("198.51.100.77")).await;
        let sessions: Value = client
            .get(format!("{}/api/auth/sessions", crm.base))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(sessions[0]["ip_address"], peer.to_string(), "{sessions}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn during_the_drain_health_is_503_while_requests_are_served() {
    let db = Database::sqlite();
    let database = db.url();
    let mut crm = Crm::start_logged(
        &["--database-url", &database, "--drain-period", "10s"],
        "info",
    )
    .await;
    let status = Command::new("kill")
        .args(["-TERM", &crm.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());

    let health = format!("{}/health", crm.base);
    let draining = within(Duration::from_secs(10), || {
        let health = health.clone();
        async move {
            let response = reqwest::get(health).await.unwrap();
            response.status() == 503
                && response.json::<Value>().await.unwrap()["code"] == "draining"
        }
    })
    .await;
    assert!(
        draining.is_some(),
        "/health did not turn 503:\n{}",
        crm.log()
    );
    // A new connection, an API request: served.
    let client = reqwest::Client::new();
    let (_, access) = register(&client, &crm, None).await;
    let me = client
        .get(format!("{}/api/auth/me", crm.base))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    assert!(
        crm.child.try_wait().unwrap().is_none(),
        "crm exited during the drain:\n{}",
        crm.log()
    );

    // After the drain, the shutdown: the process exits by itself.
    let mut exit = None;
    let exited = within(Duration::from_secs(60), || {
        exit = crm.child.try_wait().unwrap();
        std::future::ready(exit.is_some())
    })
    .await;
    let log = crm.log();
    assert!(exited.is_some(), "crm did not stop after the drain:\n{log}");
    assert!(exit.unwrap().success(), "{exit:?}:\n{log}");
    assert!(log.contains("draining"), "{log}");
    assert!(log.contains("stopped"), "{log}");
}
