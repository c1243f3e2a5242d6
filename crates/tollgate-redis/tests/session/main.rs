//! The Redis session store against a real Redis: tollgate-session's behaviour suite (the same
//! one the memory, SQLite and PostgreSQL stores pass), the key layout, and the store's own
//! expiry of session hashes, and the first call after a restart of Redis.
#![cfg(feature = "session")]

#[path = "../support/mod.rs"]
mod support;

use redis::AsyncCommands;
use support::{now, private_redis, redis, unique_prefix};
use tollgate_redis::RedisSessionStore;
use tollgate_session::{
    RotateOutcome, Rotation, Session, SessionStore, SessionStoreErrorKind, suite,
};

fn store(client: redis::Client, prefix: &str) -> RedisSessionStore {
    RedisSessionStore::builder(client)
        .prefix(prefix)
        .unwrap()
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_store_passes_the_suite() {
    let Some(redis) = redis() else { return };
    suite::run(store(redis.client(), &unique_prefix("session-suite"))).await;
}

#[tokio::test]
async fn keys_follow_the_documented_layout_and_expire_on_their_own() {
    let Some(redis) = redis() else { return };
    let prefix = unique_prefix("session-keys");
    let store = RedisSessionStore::builder(redis.client())
        .prefix(&prefix)
        .unwrap()
        .retention(std::time::Duration::from_secs(60))
        .build()
        .unwrap();
    let session = Session {
        id: "s1".to_owned(),
        subject: "u1".to_owned(),
        device_info: None,
        ip_address: None,
        user_agent: None,
        created_at: 1_000,
        last_activity: 1_000,
        expires_at: 1_100,
        idle_expires_at: Some(1_050),
        refresh_jti: "r".to_owned(),
        active: true,
    };
    store.create(&session).await.unwrap();

    let mut connection = redis
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let hash_key = format!("{prefix}session:s1");
    let ttl: i64 = connection.ttl(&hash_key).await.unwrap();
    assert!(
        (100..=110).contains(&ttl),
        "expires retention (60 s) after its deadline (50 s on): {ttl}"
    );
    let ids: Vec<(String, i64)> = connection
        .zrange_withscores(format!("{prefix}sessions:u1"), 0, -1)
        .await
        .unwrap();
    assert_eq!(ids, [("s1".to_owned(), 1_000)]);
    let deadlines: Vec<(String, i64)> = connection
        .zrange_withscores(format!("{prefix}session-deadlines"), 0, -1)
        .await
        .unwrap();
    assert_eq!(deadlines, [("s1".to_owned(), 1_050)]);

    // Ending scores the session for the next purge, which removes every key of it.
    store.end("s1").await.unwrap();
    assert_eq!(store.purge(0).await.unwrap(), 1);
    let exists: bool = connection.exists(&hash_key).await.unwrap();
    assert!(!exists);
    let left: i64 = connection
        .zcard(format!("{prefix}sessions:u1"))
        .await
        .unwrap();
    assert_eq!(left, 0);

    // A session whose hash expired is dropped from the listing's index.
    store
        .create(&Session {
            id: "s2".to_owned(),
            ..session
        })
        .await
        .unwrap();
    let _: () = connection.del(format!("{prefix}session:s2")).await.unwrap();
    assert!(store.list("u1", 1_000).await.unwrap().is_empty());
    let left: i64 = connection
        .zcard(format!("{prefix}sessions:u1"))
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn an_unreachable_redis_is_an_unavailable_store() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    let store = RedisSessionStore::builder(client)
        .timeout(std::time::Duration::from_millis(300))
        .unwrap()
        .build()
        .unwrap();
    let error = store.get("s").await.unwrap_err();
    assert_eq!(error.kind(), SessionStoreErrorKind::Unavailable);
}

fn live_session(id: &str, subject: &str, refresh_jti: &str) -> Session {
    let now = now();
    Session {
        id: id.to_owned(),
        subject: subject.to_owned(),
        device_info: None,
        ip_address: None,
        user_agent: None,
        created_at: now,
        last_activity: now,
        expires_at: now + 3600,
        idle_expires_at: None,
        refresh_jti: refresh_jti.to_owned(),
        active: true,
    }
}

#[tokio::test]
async fn the_first_call_after_a_restart_of_redis_succeeds() {
    let Some(mut server) = private_redis() else {
        return;
    };
    let client = redis::Client::open(server.url()).unwrap();
    let store = store(client, "restart:");
    store
        .create(&live_session("warm", "u", "r0"))
        .await
        .unwrap();

    // Each kind of call, as the first one after Redis restarted (empty: no persistence).
    server.restart().unwrap();
    store.create(&live_session("s1", "u", "r1")).await.unwrap();
    server.restart().unwrap();
    assert_eq!(store.get("s1").await.unwrap(), None);
    server.restart().unwrap();
    assert!(store.list("u", now()).await.unwrap().is_empty());
    server.restart().unwrap();
    let rotation = Rotation::new("s1", "r1", "r2", now());
    assert_eq!(
        store.rotate(&rotation).await.unwrap(),
        RotateOutcome::NotFound
    );
    server.restart().unwrap();
    assert_eq!(store.end("s1").await.unwrap(), None);
    server.restart().unwrap();
    assert!(store.end_all("u").await.unwrap().is_empty());
    server.restart().unwrap();
    assert_eq!(store.purge(now()).await.unwrap(), 0);

    // The connection dropped without a restart (the data stays): the call goes through on
    // the new connection, and the session is there.
    store.create(&live_session("s2", "u", "r1")).await.unwrap();
    let mut admin = redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("normal")
        .arg("SKIPME")
        .arg("yes")
        .query_async(&mut admin)
        .await
        .unwrap();
    assert!(killed >= 1, "killed {killed} connections");
    let rotation = Rotation::new("s2", "r1", "r2", now());
    let RotateOutcome::Rotated(rotated) = store.rotate(&rotation).await.unwrap() else {
        panic!("the current token rotates");
    };
    assert_eq!(rotated.refresh_jti, "r2");
}

#[tokio::test]
async fn a_rotation_sent_twice_answers_the_same() {
    let Some(redis) = redis() else { return };
    let store = store(redis.client(), &unique_prefix("session-replay"));
    store.create(&live_session("s", "u", "r1")).await.unwrap();
    let rotation = Rotation::new("s", "r1", "r2", now());
    let first = store.rotate(&rotation).await.unwrap();
    assert!(matches!(first, RotateOutcome::Rotated(_)), "{first:?}");
    // The same rotation again (as after a connection dropped before its answer arrived) is
    // not a reuse of the spent token: it answers what the first one did.
    assert_eq!(store.rotate(&rotation).await.unwrap(), first);
    // Another new jti for the spent token is still a reuse.
    let reuse = Rotation::new("s", "r1", "r3", now());
    assert!(matches!(
        store.rotate(&reuse).await.unwrap(),
        RotateOutcome::Reused(_)
    ));
}
