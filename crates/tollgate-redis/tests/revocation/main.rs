//! The Redis revocation store against a real Redis: the four checks, expiry, the key layout,
//! two instances with their own local caches (propagation measured), and faults on a private
//! server (stopped and restarted; subscription killed; an outage without a local cache).

#[path = "../support/mod.rs"]
mod support;

use std::{
    convert::Infallible,
    time::{Duration, Instant},
};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use redis::AsyncCommands;
use support::{
    eventually, four_checks, jti_entry, now, private_redis, redis, token, unique_prefix,
};
use tollgate::{
    Claims, RevocationLayer, StandardClaims,
    revocation::{RevocationStatus, RevocationStore, RevocationStoreErrorKind},
};
use tollgate_redis::{LocalCache, RedisRevocationStore};
use tower::{ServiceBuilder, ServiceExt};

fn store(client: redis::Client, prefix: &str, cache: Option<LocalCache>) -> RedisRevocationStore {
    let builder = RedisRevocationStore::builder(client)
        .prefix(prefix)
        .unwrap();
    match cache {
        Some(cache) => builder.local_cache(cache),
        None => builder,
    }
    .build()
    .unwrap()
}

async fn subscribed(store: &RedisRevocationStore) {
    assert!(
        eventually(Duration::from_secs(10), || store.is_subscribed()).await,
        "the local cache did not subscribe"
    );
}

async fn raw(client: &redis::Client) -> redis::aio::MultiplexedConnection {
    client.get_multiplexed_async_connection().await.unwrap()
}

#[tokio::test]
async fn each_of_the_four_checks_without_a_local_cache() {
    let Some(redis) = redis() else { return };
    let store = store(redis.client(), &unique_prefix("four-plain"), None);
    four_checks(&store, "plain").await;
}

#[tokio::test]
async fn each_of_the_four_checks_with_a_local_cache() {
    let Some(redis) = redis() else { return };
    let store = store(
        redis.client(),
        &unique_prefix("four-cached"),
        Some(LocalCache::new()),
    );
    subscribed(&store).await;
    four_checks(&store, "cached").await;
}

#[tokio::test]
async fn keys_values_expiry_and_messages_follow_the_documented_layout() {
    let Some(redis) = redis() else { return };
    let client = redis.client();
    let prefix = unique_prefix("layout");
    let store = store(client.clone(), &prefix, None);
    assert_eq!(store.channel(), format!("{prefix}revocations"));

    let (mut sink, mut messages) = client.get_async_pubsub().await.unwrap().split();
    sink.subscribe(store.channel()).await.unwrap();

    let until = now() + 600;
    store.revoke_token("t-1", until).await.unwrap();
    store.end_session("s-1", until).await.unwrap();
    store.cut_off("u-1", 1_000, until).await.unwrap();
    store.set_version("u-1", 4, until + 60).await.unwrap();
    // Keys are kept for the leeway after their `until`.
    assert_eq!(store.leeway(), Duration::from_secs(60));
    let until = until + 60;

    let mut connection = raw(&client).await;
    // A revoked token: a field of its shard, named by its digest, holding its `<until>`; the
    // shard expires at its latest `<until>`.
    let (shard, field) = jti_entry(&prefix, "t-1");
    let stored: Option<String> = connection.hget(&shard, &field).await.unwrap();
    assert_eq!(stored, Some(until.to_string()));
    let expire_time: i64 = redis::cmd("EXPIRETIME")
        .arg(&shard)
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(expire_time, until);
    let encoding: String = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg(&shard)
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(encoding, "listpack");
    for (key, value, expires) in [
        ("sid:s-1", format!("1:{until}"), until),
        ("cut:u-1", format!("1000:{until}"), until),
        ("ver:u-1", format!("4:{}", until + 60), until + 60),
    ] {
        let full = format!("{prefix}{key}");
        let stored: String = connection.get(&full).await.unwrap();
        assert_eq!(stored, value, "{key}");
        let expire_time: i64 = redis::cmd("EXPIRETIME")
            .arg(&full)
            .query_async(&mut connection)
            .await
            .unwrap();
        assert_eq!(expire_time, expires, "{key}");
    }

    // An expiry is never shortened.
    store.revoke_token("t-1", until - 300).await.unwrap();
    let stored: Option<String> = connection.hget(&shard, &field).await.unwrap();
    assert_eq!(stored, Some(until.to_string()));

    use futures_util_stream::next;
    for expected in ["jti:t-1", "sid:s-1", "cut:u-1", "ver:u-1", "jti:t-1"] {
        let message = tokio::time::timeout(Duration::from_secs(5), next(&mut messages))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(message.get_payload_bytes(), expected.as_bytes());
    }
}

/// Another id whose digest falls in the same shard as `jti`'s (about 65 536 tries).
fn same_shard(jti: &str, tag: &str) -> String {
    let (shard, _) = jti_entry("", jti);
    (0..)
        .map(|i| format!("{tag}-{i}"))
        .find(|other| jti_entry("", other).0 == shard)
        .unwrap()
}

async fn expire_time(connection: &mut redis::aio::MultiplexedConnection, key: &str) -> i64 {
    redis::cmd("EXPIRETIME")
        .arg(key)
        .query_async(connection)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_shard_expires_at_its_latest_until_and_its_writes_remove_what_has_passed() {
    let Some(redis) = redis() else { return };
    let client = redis.client();
    let prefix = unique_prefix("shard");
    let store = store(client.clone(), &prefix, None);
    let mut connection = raw(&client).await;
    let (shard, _) = jti_entry(&prefix, "first");
    let second = same_shard("first", "second");
    let passed = same_shard("first", "passed");
    let (_, passed_field) = jti_entry(&prefix, &passed);

    // The shard's expiry only ever grows, to the latest `<until>` of its fields.
    let until = now() + 600;
    store.revoke_token("first", until).await.unwrap();
    store.revoke_token(&second, until - 300).await.unwrap();
    assert_eq!(expire_time(&mut connection, &shard).await, until + 60);
    store.revoke_token(&second, until + 300).await.unwrap();
    assert_eq!(expire_time(&mut connection, &shard).await, until + 360);
    for jti in ["first", second.as_str()] {
        assert_eq!(
            store.check(&token(jti, None, None)).await.unwrap(),
            RevocationStatus::Revoked,
            "{jti}"
        );
    }

    // A field whose `<until>` has passed is no revocation, even before a write removes it.
    let _: () = connection
        .hset(&shard, &passed_field, now() - 1)
        .await
        .unwrap();
    assert_eq!(
        store.check(&token(&passed, None, None)).await.unwrap(),
        RevocationStatus::Active
    );
    let fields: usize = connection.hlen(&shard).await.unwrap();
    assert_eq!(fields, 3);
    // The shard's next write removes it, and keeps the others.
    store.revoke_token("first", until).await.unwrap();
    let left: bool = connection.hexists(&shard, &passed_field).await.unwrap();
    assert!(!left, "the passed field was not removed");
    let fields: usize = connection.hlen(&shard).await.unwrap();
    assert_eq!(fields, 2);
    assert_eq!(expire_time(&mut connection, &shard).await, until + 360);

    // A revocation whose `until` (with the leeway) has already passed stores nothing.
    let late = RedisRevocationStore::builder(client.clone())
        .prefix(format!("{prefix}late:"))
        .unwrap()
        .leeway(Duration::ZERO)
        .build()
        .unwrap();
    late.revoke_token("late", now() - 10).await.unwrap();
    let (late_shard, _) = jti_entry(&format!("{prefix}late:"), "late");
    let exists: bool = connection.exists(&late_shard).await.unwrap();
    assert!(!exists);
    assert_eq!(
        late.check(&token("late", None, None)).await.unwrap(),
        RevocationStatus::Active
    );
    let _: () = connection.del(&shard).await.unwrap();
}

/// `Stream::next` without a dependency on a futures utility crate.
mod futures_util_stream {
    use std::pin::Pin;

    pub(super) async fn next<S: futures_core::Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
        std::future::poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await
    }
}

#[tokio::test]
async fn entries_disappear_after_their_until() {
    let Some(redis) = redis() else { return };
    let client = redis.client();
    let prefix = unique_prefix("expiry");
    let build = |cache: Option<LocalCache>| {
        let builder = RedisRevocationStore::builder(client.clone())
            .prefix(&prefix)
            .unwrap()
            .leeway(Duration::ZERO);
        match cache {
            Some(cache) => builder.local_cache(cache),
            None => builder,
        }
        .build()
        .unwrap()
    };
    let plain = build(None);
    let cached = build(Some(LocalCache::new()));
    subscribed(&cached).await;

    let until = now() + 2;
    plain.revoke_token("short", until).await.unwrap();
    plain.end_session("short-session", until).await.unwrap();
    plain.cut_off("short-subject", now(), until).await.unwrap();
    let revoked = token("short", None, None);
    let ended = token("other", None, Some("short-session"));
    let mut cut = token("third", Some("short-subject"), None);
    cut.iat = Some(now() - 100);
    for store in [&plain, &cached] {
        assert_eq!(
            store.check(&revoked).await.unwrap(),
            RevocationStatus::Revoked
        );
        assert_eq!(
            store.check(&ended).await.unwrap(),
            RevocationStatus::SessionEnded
        );
        assert_eq!(store.check(&cut).await.unwrap(), RevocationStatus::CutOff);
    }

    // Wait (for real) until the entries' `until` has passed.
    while now() <= until {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    for store in [&plain, &cached] {
        assert_eq!(
            store.check(&revoked).await.unwrap(),
            RevocationStatus::Active
        );
        assert_eq!(store.check(&ended).await.unwrap(), RevocationStatus::Active);
        assert_eq!(store.check(&cut).await.unwrap(), RevocationStatus::Active);
    }
    let mut connection = raw(&client).await;
    let keys: Vec<String> = connection.keys(format!("{prefix}*")).await.unwrap();
    assert!(keys.is_empty(), "left behind: {keys:?}");
}

#[tokio::test]
async fn the_local_cache_answers_from_memory_until_a_published_write_invalidates_it() {
    let Some(redis) = redis() else { return };
    let client = redis.client();
    let prefix = unique_prefix("memory");
    // A long time to live: only the channel can make this cache see a change.
    let cache = LocalCache::new()
        .time_to_live(Duration::from_secs(60))
        .unwrap();
    let store = store(client.clone(), &prefix, Some(cache));
    subscribed(&store).await;

    let t = token("in-memory", None, None);
    assert!(store.check_now(&t).is_none(), "nothing cached yet");
    assert_eq!(store.check(&t).await.unwrap(), RevocationStatus::Active);
    assert_eq!(
        store.check_now(&t).unwrap().unwrap(),
        RevocationStatus::Active
    );
    // A write behind the store's back (no message): the cached answer stands, which shows
    // the check is answered from memory.
    let mut connection = raw(&client).await;
    let (shard, field) = jti_entry(&prefix, "in-memory");
    let _: () = connection.hset(shard, field, now() + 600).await.unwrap();
    assert_eq!(store.check(&t).await.unwrap(), RevocationStatus::Active);
    // The same write through the store is published and seen at once.
    store.revoke_token("in-memory", now() + 600).await.unwrap();
    assert!(store.check_now(&t).is_none(), "invalidated by the write");
    assert_eq!(store.check(&t).await.unwrap(), RevocationStatus::Revoked);
    // The write's own message comes back on the subscription some time later and empties the
    // entry once more (an invalidation is never skipped, even for this instance's writes);
    // after it, the answer fetched again stays in memory.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        assert_eq!(store.check(&t).await.unwrap(), RevocationStatus::Revoked);
        match store.check_now(&t) {
            Some(answer) => {
                assert_eq!(answer.unwrap(), RevocationStatus::Revoked);
                break;
            }
            None => assert!(
                Instant::now() < deadline,
                "the revoked answer was never cached"
            ),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_revocation_through_one_instance_is_enforced_by_another_within_the_bound() {
    let Some(redis) = redis() else { return };
    let prefix = unique_prefix("instances");
    // Two instances: separate clients, connections, caches and subscriptions. The long time
    // to live leaves the channel as the only way for `b` to learn of `a`'s writes.
    let cache = LocalCache::new()
        .time_to_live(Duration::from_secs(60))
        .unwrap();
    let a = store(redis.client(), &prefix, Some(cache.clone()));
    let b = store(redis.client(), &prefix, Some(cache));
    subscribed(&a).await;
    subscribed(&b).await;

    // The documented bound with the subscription up: one pub/sub delivery, asserted here
    // under 250 ms per write (the default store timeout) on loopback.
    let bound = Duration::from_millis(250);
    let mut delays = Vec::new();
    for round in 0..20 {
        let jti = format!("propagate-{round}");
        let sub = format!("user-{round}");
        let sid = format!("session-{round}");
        let t = token(&jti, Some(&sub), Some(&sid));
        assert_eq!(b.check(&t).await.unwrap(), RevocationStatus::Active);
        // Now cached by `b`.
        let (write, expected) = match round % 4 {
            0 => (
                a.revoke_token(&jti, now() + 600).await,
                RevocationStatus::Revoked,
            ),
            1 => (
                a.end_session(&sid, now() + 600).await,
                RevocationStatus::SessionEnded,
            ),
            2 => (
                a.cut_off(&sub, now(), now() + 600).await,
                RevocationStatus::CutOff,
            ),
            _ => (
                a.set_version(&sub, 2, now() + 600).await,
                RevocationStatus::Stale,
            ),
        };
        write.unwrap();
        let written = Instant::now();
        loop {
            let status = b.check(&t).await.unwrap();
            if status == expected {
                break;
            }
            assert_eq!(status, RevocationStatus::Active);
            assert!(
                written.elapsed() < bound,
                "round {round}: not enforced by the other instance within {bound:?}"
            );
            tokio::task::yield_now().await;
        }
        delays.push(written.elapsed());
    }
    delays.sort();
    eprintln!(
        "propagation between instances over {} writes: median {:?}, max {:?} (bound {bound:?})",
        delays.len(),
        delays[delays.len() / 2],
        delays[delays.len() - 1],
    );
}

#[tokio::test]
async fn a_lost_message_is_bounded_by_the_time_to_live() {
    let Some(redis) = redis() else { return };
    let client = redis.client();
    let prefix = unique_prefix("ttl-bound");
    let cache = LocalCache::new()
        .time_to_live(Duration::from_millis(500))
        .unwrap();
    let bound = cache.propagation_bound();
    let store = store(client.clone(), &prefix, Some(cache));
    subscribed(&store).await;

    let t = token("lost", None, None);
    assert_eq!(store.check(&t).await.unwrap(), RevocationStatus::Active);
    // The worst case: a revocation whose message never arrives (written behind the store's
    // back). The cached "nothing known" must not outlive the time to live (plus the one
    // round trip that fetched it, bounded by the store timeout).
    let mut connection = raw(&client).await;
    let (shard, field) = jti_entry(&prefix, "lost");
    let _: () = connection.hset(shard, field, now() + 600).await.unwrap();
    let written = Instant::now();
    while store.check(&t).await.unwrap() != RevocationStatus::Revoked {
        assert!(
            written.elapsed() < bound + store.timeout(),
            "a stale answer outlived the bound"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    eprintln!(
        "lost message: enforced after {:?} (bound {bound:?})",
        written.elapsed()
    );
}

fn request(jti: &str) -> Request<Full<Bytes>> {
    let mut request = Request::new(Full::default());
    request.extensions_mut().insert(Claims::new(StandardClaims {
        sub: Some("fault-user".into()),
        jti: Some(jti.into()),
        exp: Some(now() + 3600),
        iat: Some(now() - 10),
        ..StandardClaims::default()
    }));
    request
}

#[tokio::test]
async fn checks_fail_within_the_timeout_while_redis_is_down_and_recover_when_it_returns() {
    let Some(mut server) = private_redis() else {
        return;
    };
    let client = redis::Client::open(server.url()).unwrap();
    let cache = LocalCache::new()
        .heartbeat(Duration::from_millis(200))
        .unwrap();
    let store = RedisRevocationStore::builder(client)
        .timeout(Duration::from_millis(250))
        .unwrap()
        .local_cache(cache)
        .build()
        .unwrap();
    subscribed(&store).await;
    let service = ServiceBuilder::new()
        .layer(RevocationLayer::new(store.clone()))
        .service_fn(|_request: Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
        });

    store.revoke_token("revoked", now() + 600).await.unwrap();
    let revoked = token("revoked", Some("fault-user"), None);
    assert_eq!(
        store.check(&revoked).await.unwrap(),
        RevocationStatus::Revoked
    );
    let response = service.clone().oneshot(request("fine")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    server.stop();
    assert!(
        eventually(Duration::from_secs(5), || !store.is_subscribed()).await,
        "the lost subscription went unnoticed"
    );
    // Every call fails, within the timeout (plus scheduling slack), with a store error; the
    // cached revocation is not trusted while the subscription is down either.
    let limit = store.timeout() + Duration::from_millis(250);
    for round in 0..5 {
        let jti = format!("during-outage-{round}");
        for t in [token(&jti, Some("fault-user"), None), revoked] {
            let started = Instant::now();
            let error = store.check(&t).await.unwrap_err();
            assert!(started.elapsed() < limit, "{:?}", started.elapsed());
            assert!(matches!(
                error.kind(),
                RevocationStoreErrorKind::Unavailable | RevocationStoreErrorKind::Timeout
            ));
        }
        let started = Instant::now();
        let error = store.revoke_token(&jti, now() + 600).await.unwrap_err();
        assert!(started.elapsed() < limit, "{:?}", started.elapsed());
        assert!(matches!(
            error.kind(),
            RevocationStoreErrorKind::Unavailable | RevocationStoreErrorKind::Timeout
        ));
        // Through the layer: fail closed (the default policy), also within the timeout.
        let started = Instant::now();
        let response = service.clone().oneshot(request(&jti)).await.unwrap();
        assert!(started.elapsed() < limit, "{:?}", started.elapsed());
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    }

    // Redis comes back on the same port, empty: the same store recovers on its own.
    server.restart().unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while store.check(&token("after", None, None)).await.is_err() {
        assert!(Instant::now() < deadline, "checks did not recover");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    store.revoke_token("after", now() + 600).await.unwrap();
    assert_eq!(
        store.check(&token("after", None, None)).await.unwrap(),
        RevocationStatus::Revoked
    );
    let response = service.clone().oneshot(request("fine")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = service.clone().oneshot(request("after")).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    subscribed(&store).await;
}

#[tokio::test]
async fn a_dropped_subscription_does_not_leave_a_stale_cache() {
    let Some(server) = private_redis() else {
        return;
    };
    let client = redis::Client::open(server.url()).unwrap();
    // A long time to live: without the subscription's care, `b` would keep its stale answer
    // for a minute.
    let cache = LocalCache::new()
        .time_to_live(Duration::from_secs(60))
        .unwrap();
    let a = store(client.clone(), "drop:", Some(cache.clone()));
    let b = store(client.clone(), "drop:", Some(cache));
    subscribed(&a).await;
    subscribed(&b).await;

    let t = token("while-down", None, None);
    assert_eq!(b.check(&t).await.unwrap(), RevocationStatus::Active);

    // Kill every subscriber connection on the server.
    let mut connection = raw(&client).await;
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub")
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(killed >= 2, "killed {killed} subscribers");
    assert!(
        eventually(Duration::from_secs(5), || !b.is_subscribed()).await,
        "the killed subscription went unnoticed"
    );

    // A revocation written while `b`'s subscriber is down: its message reaches no one
    // (unless `b` has already resubscribed), yet `b` enforces it.
    a.revoke_token("while-down", now() + 600).await.unwrap();
    assert_eq!(b.check(&t).await.unwrap(), RevocationStatus::Revoked);

    // `b` resubscribes on its own, and the channel works again.
    subscribed(&b).await;
    subscribed(&a).await;
    assert_eq!(b.check(&t).await.unwrap(), RevocationStatus::Revoked);
    let next = token("after-resubscribe", None, None);
    assert_eq!(b.check(&next).await.unwrap(), RevocationStatus::Active);
    a.revoke_token("after-resubscribe", now() + 600)
        .await
        .unwrap();
    let written = Instant::now();
    while b.check(&next).await.unwrap() != RevocationStatus::Revoked {
        assert!(written.elapsed() < Duration::from_millis(250));
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn a_silent_subscription_is_noticed_within_two_heartbeats() {
    let Some(server) = private_redis() else {
        return;
    };
    let client = redis::Client::open(server.url()).unwrap();
    let heartbeat = Duration::from_millis(200);
    let cache = LocalCache::new().heartbeat(heartbeat).unwrap();
    let store = store(client.clone(), "silent:", Some(cache));
    subscribed(&store).await;

    // The server stops answering every client (the connection stays open): only the
    // heartbeat can notice.
    let mut connection = raw(&client).await;
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(3_000)
        .arg("ALL")
        .query_async(&mut connection)
        .await
        .unwrap();
    let paused = Instant::now();
    assert!(
        eventually(Duration::from_secs(3), || !store.is_subscribed()).await,
        "the silent subscription went unnoticed"
    );
    // The documented bound: two heartbeats (plus scheduling slack).
    let noticed = paused.elapsed();
    assert!(
        noticed < 2 * heartbeat + Duration::from_millis(500),
        "{noticed:?}"
    );
    eprintln!("silent subscription noticed after {noticed:?} (heartbeat {heartbeat:?})");

    // When the server answers again, the store resubscribes on its own.
    subscribed(&store).await;
}

#[tokio::test]
async fn without_a_local_cache_a_failed_check_starts_the_outage_and_an_answered_error_does_not() {
    let Some(mut server) = private_redis() else {
        return;
    };
    let client = redis::Client::open(server.url()).unwrap();
    let timeout = Duration::from_secs(2);
    let store = RedisRevocationStore::builder(client.clone())
        .prefix("outage:")
        .unwrap()
        .timeout(timeout)
        .unwrap()
        .build()
        .unwrap();
    let t = token("t", None, None);
    assert_eq!(store.check(&t).await.unwrap(), RevocationStatus::Active);

    // An error Redis answers (the key holds another type) is no outage: Redis is there.
    let mut connection = raw(&client).await;
    let (shard, _) = jti_entry("outage:", "wrong");
    let _: () = connection.set(shard, "v").await.unwrap();
    store.revoke_token("wrong", now() + 600).await.unwrap_err();
    assert!(!store.is_down());
    assert_eq!(store.check(&t).await.unwrap(), RevocationStatus::Active);

    // Redis goes away: the check that finds out fails (within the timeout), and from then on
    // checks fail at once, until the probe sees Redis again.
    server.stop();
    store.check(&t).await.unwrap_err();
    assert!(
        eventually(Duration::from_secs(10), || store.is_down()).await,
        "the failed check did not start the outage"
    );
    for _ in 0..20 {
        let started = Instant::now();
        let error = store.check(&t).await.unwrap_err();
        assert_eq!(error.kind(), RevocationStoreErrorKind::Unavailable);
        assert!(started.elapsed() < timeout / 2, "{:?}", started.elapsed());
    }
    server.restart().unwrap();
    assert!(
        eventually(Duration::from_secs(15), || !store.is_down()).await,
        "the probe did not see Redis come back"
    );
    assert_eq!(store.check(&t).await.unwrap(), RevocationStatus::Active);
}
