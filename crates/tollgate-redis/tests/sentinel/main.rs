//! The Redis revocation store on a real (private) Sentinel deployment: the four checks through
//! the master the sentinel names, and a failover that the store follows without a restart.
#![cfg(feature = "sentinel")]

#[path = "../support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use redis::sentinel::{SentinelClient, SentinelServerType};
use support::{RedisSentinel, eventually, four_checks, jti_entry, now, redis_cli, token};
use tollgate::revocation::{RevocationStatus, RevocationStore};
use tollgate_redis::{LocalCache, RedisRevocationStore, SentinelConnection};

async fn store(deployment: &RedisSentinel) -> RedisRevocationStore<SentinelConnection> {
    let sentinel = SentinelClient::build(
        vec![deployment.sentinel_url()],
        "mymaster".to_owned(),
        None,
        SentinelServerType::Master,
    )
    .unwrap();
    let cache = LocalCache::new()
        .time_to_live(Duration::from_secs(60))
        .unwrap();
    let store = RedisRevocationStore::sentinel(sentinel)
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
async fn the_store_follows_the_master_through_a_sentinel_failover() {
    let Some(deployment) = RedisSentinel::start() else {
        return;
    };
    let a = store(&deployment).await;
    let b = store(&deployment).await;

    four_checks(&a, "sentinel").await;
    let until = now() + 600;
    a.revoke_token("before-failover", until).await.unwrap();
    let before = token("before-failover", None, None);
    assert_eq!(b.check(&before).await.unwrap(), RevocationStatus::Revoked);
    // Make sure the replica has every write before it is promoted.
    let acked = redis_cli(deployment.master.port(), &["WAIT", "1", "5000"]);
    assert_eq!(acked.trim(), "1");

    deployment.fail_over();

    // The old master now refuses writes (READONLY) or is unreachable while it turns into a
    // replica: the store forgets it and asks the sentinel again. A few calls may fail during
    // the switch; no restart is needed.
    let deadline = Instant::now() + Duration::from_secs(30);
    while a.revoke_token("after-failover", until).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "writes did not follow the failover"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let replica = deployment.replica.port().to_string();
    // The token's shard holds its `<until>` (plus the default leeway of 60 s).
    let (shard, _) = jti_entry("tollgate:", "after-failover");
    let stored = redis_cli(deployment.replica.port(), &["HVALS", &shard]);
    assert!(
        stored.lines().any(|line| line == (until + 60).to_string()),
        "the write did not reach the new master on port {replica}: {stored:?}"
    );

    let after = token("after-failover", None, None);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match b.check(&after).await {
            Ok(status) => {
                assert_eq!(status, RevocationStatus::Revoked);
                break;
            }
            Err(_) => assert!(
                Instant::now() < deadline,
                "checks did not follow the failover"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(b.check(&before).await.unwrap(), RevocationStatus::Revoked);

    // The instances' caches still learn of each other's writes after the failover (through
    // the replicated channel or a resubscription through the sentinel).
    let next = token("after-failover-2", None, None);
    assert_eq!(b.check(&next).await.unwrap(), RevocationStatus::Active);
    a.revoke_token("after-failover-2", until).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while b.check(&next).await.unwrap() != RevocationStatus::Revoked {
        assert!(Instant::now() < deadline, "the channel did not recover");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
