//! `/health` (and how it follows Redis), `/.well-known/jwks.json`, and the answers to unknown
//! routes and methods.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::{
    run,
    support::{self, Backend, Database, Env, RedisServer, TestApp, within},
};

suite!(health_jwks_and_unknown_routes);

async fn health_jwks_and_unknown_routes(env: Env) {
    let app = env.start(&[]).await;
    let health = app.get("/health", None).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body, json!({"status": "ok"}));

    // HS256 (the generated secret): nothing to publish.
    let jwks = app.get("/.well-known/jwks.json", None).await;
    jwks.assert_problem(404);
    assert_eq!(jwks.body["code"], "not_found", "{}", jwks.text);

    app.get("/nope", None).await.assert_problem(404);
    // An unknown route under the protected prefix is 404, not 401 (route_layer).
    app.get("/api/customers/x/y", None)
        .await
        .assert_problem(404);
    app.send(Method::DELETE, "/health", None, None)
        .await
        .assert_problem(405);
    app.stop().await;
}

/// The app on `db` and a private `redis-server`, `/health` answering 200; `None` (a panic in
/// CI) without `redis-server`.
async fn app_on_private_redis(db: &Database) -> Option<(RedisServer, TestApp)> {
    let Ok(redis) = RedisServer::start() else {
        assert!(!support::in_ci(), "redis-server is required in CI");
        return None;
    };
    let app = TestApp::start(
        [
            "crm",
            "--database-url",
            &db.url(),
            "--redis-url",
            &redis.url(),
        ]
        .map(str::to_owned)
        .to_vec(),
    )
    .await;
    assert_eq!(app.get("/health", None).await.status, 200);
    Some((redis, app))
}

/// `/health` answers 503 naming Redis while the Redis of `--redis-url` is stopped, and 200
/// again once it is back, without a restart of the app.
async fn health_follows_redis(db: Database) {
    let Some((mut redis, app)) = app_on_private_redis(&db).await else {
        return;
    };

    redis.stop();
    let down = app.get("/health", None).await;
    down.assert_problem(503);
    assert_eq!(down.body["code"], "unavailable", "{}", down.text);
    assert_eq!(down.body["down"], json!(["redis"]), "{}", down.text);
    assert!(down.body["detail"].as_str().unwrap().contains("redis"));
    assert!(!down.header("retry-after").is_empty());
    assert!(!down.header("x-request-id").is_empty(), "{down:?}");

    redis.restart().unwrap();
    let back = within(Duration::from_secs(20), || async {
        app.get("/health", None).await.status == 200
    })
    .await;
    assert!(back.is_some(), "/health stayed 503 after Redis came back");
    app.stop().await;
}

/// A Redis that accepts connections but answers nothing (frozen with `SIGSTOP`): `/health`
/// still answers, 503 naming Redis, once its one-second check has run out, rather than
/// hanging with it; 200 again once Redis runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_503_while_redis_hangs() {
    let db = Database::sqlite();
    let Some((redis, app)) = app_on_private_redis(&db).await else {
        return;
    };

    redis.pause();
    // The test client waits far longer than the check's timeout: an answer at all shows
    // that the check gave up on Redis.
    let hung = app.get("/health", None).await;
    redis.resume();
    hung.assert_problem(503);
    assert_eq!(hung.body["down"], json!(["redis"]), "{}", hung.text);

    let back = within(Duration::from_secs(20), || async {
        app.get("/health", None).await.status == 200
    })
    .await;
    assert!(back.is_some(), "/health stayed 503 after Redis ran again");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_follows_redis_on_sqlite() {
    health_follows_redis(Database::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_follows_redis_on_postgres() {
    if let Some(db) = Database::postgres().await {
        health_follows_redis(db).await;
    }
}

/// A TCP relay between the app and PostgreSQL that can stop relaying (a database that hangs)
/// or cut every connection and refuse new ones (a database that is down).
struct Relay {
    address: std::net::SocketAddr,
    mode: tokio::sync::watch::Sender<Mode>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Relay,
    Hang,
    Down,
}

impl Relay {
    async fn start(upstream: std::net::SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (mode, _) = tokio::sync::watch::channel(Mode::Relay);
        let modes = mode.clone();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            let mut watch = modes.subscribe();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((client, _)) = accepted else { continue };
                        if *modes.borrow() == Mode::Down {
                            continue; // dropped: closed at once
                        }
                        let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                            continue;
                        };
                        let (client_read, client_write) = client.into_split();
                        let (server_read, server_write) = server.into_split();
                        connections.spawn(pipe(client_read, server_write, modes.subscribe()));
                        connections.spawn(pipe(server_read, client_write, modes.subscribe()));
                    }
                    Ok(()) = watch.changed() => {
                        if *watch.borrow_and_update() == Mode::Down {
                            connections.abort_all();
                        }
                    }
                }
            }
        });
        Self {
            address,
            mode,
            task,
        }
    }

    fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Copy from `from` to `to`, holding what it read while the mode is `Hang`.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut mode: tokio::sync::watch::Receiver<Mode>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buffer = vec![0_u8; 16 * 1024];
    loop {
        let Ok(read) = from.read(&mut buffer).await else {
            return;
        };
        if read == 0 {
            return;
        }
        if mode.wait_for(|mode| *mode == Mode::Relay).await.is_err() {
            return;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}

/// `/health` names the database while PostgreSQL hangs (answers nothing: the check gives up
/// after its one second) and while it is down (connections cut and refused), and answers 200
/// again once it is back, without a restart of the app.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_follows_the_database() {
    let Some(db) = Database::postgres().await else {
        return;
    };
    let mut url = reqwest::Url::parse(&db.url()).unwrap();
    let upstream = url.socket_addrs(|| Some(5432)).unwrap()[0];
    let relay = Relay::start(upstream).await;
    url.set_ip_host(relay.address.ip()).unwrap();
    url.set_port(Some(relay.address.port())).unwrap();
    let app = TestApp::start(
        ["crm", "--database-url", url.as_str()]
            .map(str::to_owned)
            .to_vec(),
    )
    .await;
    assert_eq!(app.get("/health", None).await.status, 200);

    for mode in [Mode::Hang, Mode::Down] {
        relay.set(mode);
        let down = app.get("/health", None).await;
        down.assert_problem(503);
        assert_eq!(
            down.body["down"],
            json!(["database"]),
            "{mode:?}: {}",
            down.text
        );
        assert!(!down.header("retry-after").is_empty());

        relay.set(Mode::Relay);
        let back = within(Duration::from_secs(20), || async {
            app.get("/health", None).await.status == 200
        })
        .await;
        assert!(
            back.is_some(),
            "/health stayed 503 after the database ({mode:?}) came back"
        );
    }
    app.stop().await;
}
