//! The metrics of the local cache (feature `metrics`), read with `metrics-util`'s debugging
//! recorder against a real Redis: hits and misses, invalidation messages over the real
//! pub/sub channel, and the subscription lost (a private server stopped) and restored; and,
//! with `session`, the session metrics of tollgate-session's scenario on the Redis session
//! store.
#![cfg(feature = "metrics")]

#[path = "../support/mod.rs"]
mod support;

// One helper and one scenario for every session store: they live beside tollgate-session's
// metrics tests, which run them on its own stores.
#[path = "../../../tollgate-session/tests/metrics/recorded.rs"]
mod recorded;
#[cfg(feature = "session")]
#[path = "../../../tollgate-session/tests/metrics/scenario.rs"]
mod scenario;

use std::time::Duration;

use recorded::{moved, recorded};
use support::{eventually, now, private_redis, redis, token, unique_prefix};
use tollgate::revocation::{RevocationStatus, RevocationStore};
use tollgate_redis::{LocalCache, RedisRevocationStore};

const REQUESTS: &str = "tollgate_revocation_cache_requests_total";
const HIT: &str = "tollgate_revocation_cache_requests_total{result=\"hit\"}";
const MISS: &str = "tollgate_revocation_cache_requests_total{result=\"miss\"}";
const INVALIDATIONS: &str = "tollgate_revocation_invalidations_total";
const SUBSCRIBED: &str = "tollgate_revocation_subscribed";
const LOSSES: &str = "tollgate_revocation_subscription_losses_total";
const CACHE_COUNTERS: &[&str] = &[REQUESTS, INVALIDATIONS, LOSSES];
const METRICS: &[&str] = &[REQUESTS, INVALIDATIONS, LOSSES, SUBSCRIBED];

fn gauge(value: f64) -> std::collections::BTreeMap<String, f64> {
    std::collections::BTreeMap::from([(SUBSCRIBED.to_owned(), value)])
}

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

#[test]
fn checks_count_as_hits_and_misses_of_the_local_cache() {
    let Some(redis) = redis() else { return };
    recorded(|meter| async move {
        let prefix = unique_prefix("metrics-hits");
        let cached = store(redis.client(), &prefix, Some(LocalCache::new()));
        subscribed(&cached).await;
        meter.counters(CACHE_COUNTERS);

        let t = token("hit-or-miss", Some("u"), Some("s"));
        assert_eq!(cached.check(&t).await.unwrap(), RevocationStatus::Active);
        assert_eq!(meter.counters(CACHE_COUNTERS), moved(&[(MISS, 1)]));
        assert_eq!(cached.check(&t).await.unwrap(), RevocationStatus::Active);
        assert_eq!(
            cached.check_now(&t).unwrap().unwrap(),
            RevocationStatus::Active
        );
        assert_eq!(meter.counters(CACHE_COUNTERS), moved(&[(HIT, 2)]));

        // A store without a local cache has no cache to count.
        let plain = store(redis.client(), &prefix, None);
        assert_eq!(plain.check(&t).await.unwrap(), RevocationStatus::Active);
        assert!(plain.check_now(&t).is_none());
        assert_eq!(meter.counters(CACHE_COUNTERS), moved(&[]));
    });
}

#[test]
fn invalidation_messages_from_the_channel_are_counted() {
    let Some(redis) = redis() else { return };
    recorded(|meter| async move {
        let prefix = unique_prefix("metrics-invalidations");
        let cached = store(redis.client(), &prefix, Some(LocalCache::new()));
        // The writer has no local cache: it publishes and receives nothing.
        let writer = store(redis.client(), &prefix, None);
        subscribed(&cached).await;

        let t = token("invalidated", Some("u"), Some("s"));
        assert_eq!(cached.check(&t).await.unwrap(), RevocationStatus::Active);
        assert_eq!(meter.counters(CACHE_COUNTERS), moved(&[(MISS, 1)]));

        writer.end_session("s", now() + 600).await.unwrap();
        let total = meter
            .counters_until(CACHE_COUNTERS, |total| total.contains_key(INVALIDATIONS))
            .await;
        assert_eq!(total, moved(&[(INVALIDATIONS, 1)]));
        // The message dropped the cached answer: the next check asks Redis.
        assert_eq!(
            cached.check(&t).await.unwrap(),
            RevocationStatus::SessionEnded
        );
        assert_eq!(meter.counters(CACHE_COUNTERS), moved(&[(MISS, 1)]));
    });
}

#[test]
fn a_lost_subscription_is_counted_and_the_gauge_follows_it() {
    let Some(mut server) = private_redis() else {
        return;
    };
    recorded(|meter| async move {
        let client = redis::Client::open(server.url()).unwrap();
        let cached = store(client, "metrics-lost:", Some(LocalCache::new()));
        // Not subscribed yet: the subscriber task has not run on this thread.
        let reading = meter.read(METRICS);
        assert_eq!(reading.gauges, gauge(0.0));
        assert_eq!(reading.counters, moved(&[]));

        // Subscribed (the gauge goes to 1, read below), then the server goes away: the
        // subscription is lost, and stays lost while the server is down.
        subscribed(&cached).await;
        server.stop();
        assert!(
            eventually(Duration::from_secs(10), || !cached.is_subscribed()).await,
            "the lost subscription went unnoticed"
        );
        let reading = meter.read(METRICS);
        assert_eq!(reading.gauges, gauge(0.0));
        assert_eq!(reading.counters, moved(&[(LOSSES, 1)]));

        // Back: resubscribed on its own, without another loss.
        server.restart().unwrap();
        subscribed(&cached).await;
        let reading = meter.read(METRICS);
        assert_eq!(reading.gauges, gauge(1.0));
        assert_eq!(reading.counters, moved(&[]));
    });
}

#[cfg(feature = "session")]
#[test]
fn redis_store_sessions_move_their_metrics() {
    use tollgate_redis::RedisSessionStore;

    let Some(redis) = redis() else { return };
    recorded(|meter| async move {
        let prefix = unique_prefix("metrics-sessions");
        let sessions = RedisSessionStore::builder(redis.client())
            .prefix(&prefix)
            .unwrap()
            .build()
            .unwrap();
        let revocation = store(redis.client(), &prefix, Some(LocalCache::new()));
        subscribed(&revocation).await;
        scenario::run(sessions, revocation, &meter).await;
    });
}
