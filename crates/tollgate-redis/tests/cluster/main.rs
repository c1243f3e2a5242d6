//! The Redis revocation store on a real (private, three-master) Redis Cluster: the four checks
//! with keys spread over the slots, and two instances with local caches subscribed through
//! different nodes.
#![cfg(feature = "cluster")]

#[path = "../support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use redis::cluster_async::ClusterConnection;
use support::{RedisCluster, eventually, four_checks, now, token};
use tollgate::revocation::{RevocationStatus, RevocationStore};
use tollgate_redis::{LocalCache, RedisRevocationStore};

async fn store(
    cluster: &redis::cluster::ClusterClient,
    subscribe_via: &str,
) -> RedisRevocationStore<ClusterConnection> {
    let cache = LocalCache::new()
        .time_to_live(Duration::from_secs(60))
        .unwrap();
    let store = RedisRevocationStore::builder(redis::Client::open(subscribe_via).unwrap())
        .with_connection(cluster.get_async_connection().await.unwrap())
        .local_cache(cache)
        .build()
        .unwrap();
    assert!(
        eventually(Duration::from_secs(10), || store.is_subscribed()).await,
        "the local cache did not subscribe"
    );
    store
}

#[tokio::test]
async fn the_store_works_on_a_redis_cluster() {
    let Some(cluster) = RedisCluster::start() else {
        return;
    };
    let urls = cluster.urls();
    let client = redis::cluster::ClusterClient::new(urls.clone()).unwrap();
    // Two instances whose subscriptions go through different nodes.
    let a = store(&client, &urls[0]).await;
    let b = store(&client, &urls[1]).await;

    four_checks(&a, "cluster").await;

    // The keys of many tokens land on every node, and checks and writes reach them all.
    let until = now() + 600;
    for index in 0..30 {
        let jti = format!("spread-{index}");
        let t = token(&jti, Some("spread-user"), Some("spread-session"));
        a.revoke_token(&jti, until).await.unwrap();
        assert_eq!(b.check(&t).await.unwrap(), RevocationStatus::Revoked);
    }
    for url in &urls {
        let mut node = redis::Client::open(url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let keys: i64 = redis::cmd("DBSIZE").query_async(&mut node).await.unwrap();
        assert!(keys > 0, "no key on {url}");
    }

    // Propagation between instances through the cluster's pub/sub.
    let bound = Duration::from_millis(250);
    for round in 0..10 {
        let jti = format!("cluster-propagate-{round}");
        let t = token(&jti, Some("cluster-user"), None);
        assert_eq!(b.check(&t).await.unwrap(), RevocationStatus::Active);
        a.revoke_token(&jti, until).await.unwrap();
        let written = Instant::now();
        while b.check(&t).await.unwrap() != RevocationStatus::Revoked {
            assert!(written.elapsed() < bound, "round {round}");
            tokio::task::yield_now().await;
        }
    }
}
