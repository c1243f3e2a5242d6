//! Revocation checks: the in-process `MemoryRevocationStore`, and tollgate-redis's store through its
//! coherent local cache and direct (one round trip), as the revoked tokens in Redis grow.
//!
//! `revocation/memory-scale` checks the in-process store holding 1 000 to 10 million revoked
//! `jti`s, each size filled once (10 million take about 400 MiB and some seconds to write);
//! run it alone with `cargo bench -p tollgate-benches --bench stores -- memory-scale`.
//!
//! The Redis groups need a Redis: `TOLLGATE_TEST_REDIS_URL` (e.g. `redis://127.0.0.1:6379`);
//! without it they are skipped with a message. They use a private key prefix and delete what
//! they wrote. They are measured with 1 000, 10 000, 100 000 and 1 000 000 revoked tokens in
//! Redis (written between the measurements, 64 writes at a time); `TOLLGATE_BENCH_REDIS_COUNTS`
//! (comma-separated, increasing) sets other counts.
//!
//! Run with `cargo bench -p tollgate-benches --bench stores`.

use std::{
    hint::black_box,
    time::{Duration, Instant},
};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use tollgate::{
    StandardClaims,
    revocation::{MemoryRevocationStore, RevocationStatus, RevocationStore, TokenRef},
};
use tollgate_benches::{claims, now, now_or_never};
use tollgate_redis::{LocalCache, RedisRevocationStore};

/// The claims of the benchmark token, and of another token whose `jti` is revoked.
fn tokens() -> (StandardClaims, StandardClaims) {
    let active = serde_json::from_value(claims("0f8fad5b-d9cb-469f-a165-70867728950e")).unwrap();
    let revoked = serde_json::from_value(claims("7c9e6679-7425-40de-944b-e07fc1f90ae7")).unwrap();
    (active, revoked)
}

/// Revoke `revoked`'s jti and 10 000 others, cut off 1 000 other subjects.
async fn fill(store: &impl RevocationStore, revoked: &StandardClaims, count: usize) {
    let until = now() + 3600;
    store
        .revoke_token(revoked.jti.as_deref().unwrap(), until)
        .await
        .unwrap();
    for i in 0..count {
        store
            .revoke_token(&format!("{i:08x}-7425-40de-944b-e07fc1f90ae7"), until)
            .await
            .unwrap();
        if i % 10 == 0 {
            store
                .cut_off(&format!("user-{i}"), now() - 10, until)
                .await
                .unwrap();
        }
    }
}

/// Revoke the tokens `from..to` (ids of the form of the benchmark's), 64 writes at a time.
async fn revoke_many(store: &RedisRevocationStore, from: usize, to: usize) {
    let until = now() + 3600;
    let tasks = 64;
    let mut set = tokio::task::JoinSet::new();
    for task in 0..tasks {
        let store = store.clone();
        set.spawn(async move {
            for i in (from + task..to).step_by(tasks) {
                store
                    .revoke_token(&format!("{i:08x}-7425-40de-944b-e07fc1f90ae8"), until)
                    .await
                    .unwrap();
            }
        });
    }
    while let Some(done) = set.join_next().await {
        done.unwrap();
    }
}

fn memory(c: &mut Criterion) {
    let (active, revoked) = tokens();
    let store = MemoryRevocationStore::new();
    now_or_never(fill(&store, &revoked, 10_000)).unwrap();
    store.remove_expired();
    let active_ref = TokenRef::from_claims(&active).unwrap();
    let revoked_ref = TokenRef::from_claims(&revoked).unwrap();
    assert_eq!(
        now_or_never(store.check(&active_ref)).unwrap().unwrap(),
        RevocationStatus::Active
    );
    assert_eq!(
        now_or_never(store.check(&revoked_ref)).unwrap().unwrap(),
        RevocationStatus::Revoked
    );

    let mut group = c.benchmark_group("revocation/memory");
    group.bench_function("active", |b| {
        b.iter(|| now_or_never(store.check(black_box(&active_ref))))
    });
    group.bench_function("revoked", |b| {
        b.iter(|| now_or_never(store.check(black_box(&revoked_ref))))
    });
    group.finish();
}

/// Check time as the revoked `jti`s go from 1 000 to 10 million: an active token (all three
/// look-ups) and a revoked one (the first decides).
fn memory_scale(c: &mut Criterion) {
    let (active, revoked) = tokens();
    let active_ref = TokenRef::from_claims(&active).unwrap();
    let revoked_ref = TokenRef::from_claims(&revoked).unwrap();
    let mut group = c.benchmark_group("revocation/memory-scale");
    for count in [1_000, 10_000, 100_000, 1_000_000, 10_000_000] {
        let store = MemoryRevocationStore::new();
        let until = now() + 3600;
        now_or_never(store.revoke_token(revoked_ref.jti, until))
            .unwrap()
            .unwrap();
        for i in 0..count {
            now_or_never(
                store.revoke_token(&format!("{i:08x}-7425-40de-944b-e07fc1f90ae7"), until),
            )
            .unwrap()
            .unwrap();
        }
        assert_eq!(store.entry_count(), count as u64 + 1);
        for (status, token, expected) in [
            ("active", &active_ref, RevocationStatus::Active),
            ("revoked", &revoked_ref, RevocationStatus::Revoked),
        ] {
            assert_eq!(store.check_now(token).unwrap().unwrap(), expected);
            group.bench_with_input(BenchmarkId::new(status, count), token, |b, token| {
                b.iter(|| store.check_now(black_box(token)))
            });
        }
    }
    group.finish();
}

fn redis(c: &mut Criterion) {
    let Ok(url) = std::env::var("TOLLGATE_TEST_REDIS_URL") else {
        eprintln!(
            "revocation/redis: skipped, set TOLLGATE_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379)"
        );
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let prefix = format!("tollgate-bench:{}:", std::process::id());
    let client = redis::Client::open(url.as_str()).unwrap();
    let (active, revoked) = tokens();
    let active_ref = TokenRef::from_claims(&active).unwrap();
    let revoked_ref = TokenRef::from_claims(&revoked).unwrap();

    let (direct, cached) = runtime.block_on(async {
        let direct = RedisRevocationStore::builder(client.clone())
            .prefix(prefix.clone())
            .unwrap()
            .build()
            .unwrap();
        let cached = RedisRevocationStore::builder(client.clone())
            .prefix(prefix.clone())
            .unwrap()
            .local_cache(LocalCache::new())
            .build()
            .unwrap();
        fill(&direct, &revoked, 0).await;
        let deadline = Instant::now() + Duration::from_secs(5);
        while !cached.is_subscribed() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(cached.is_subscribed(), "the local cache never subscribed");
        for store in [&direct, &cached] {
            assert_eq!(
                store.check(&active_ref).await.unwrap(),
                RevocationStatus::Active
            );
            assert_eq!(
                store.check(&revoked_ref).await.unwrap(),
                RevocationStatus::Revoked
            );
        }
        (direct, cached)
    });

    let counts: Vec<usize> = std::env::var("TOLLGATE_BENCH_REDIS_COUNTS").map_or_else(
        |_| vec![1_000, 10_000, 100_000, 1_000_000],
        |counts| {
            counts
                .split(',')
                .map(|c| c.trim().parse().unwrap())
                .collect()
        },
    );
    let mut group = c.benchmark_group("revocation/redis");
    let mut written = 0;
    for count in counts {
        runtime.block_on(revoke_many(&direct, written, count));
        written = count;
        for (name, store) in [("cached", &cached), ("direct", &direct)] {
            for (status, token) in [("active", &active_ref), ("revoked", &revoked_ref)] {
                group.bench_function(BenchmarkId::new(format!("{name}-{status}"), count), |b| {
                    b.iter_custom(|iters| {
                        runtime.block_on(async {
                            let start = Instant::now();
                            for _ in 0..iters {
                                black_box(store.check(black_box(token)).await.unwrap());
                            }
                            start.elapsed()
                        })
                    });
                });
            }
        }
    }
    group.finish();

    runtime.block_on(async {
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}*"))
            .query_async(&mut connection)
            .await
            .unwrap();
        for chunk in keys.chunks(1000) {
            let () = redis::cmd("DEL")
                .arg(chunk)
                .query_async(&mut connection)
                .await
                .unwrap();
        }
    });
}

criterion_group!(benches, memory, memory_scale, redis);
criterion_main!(benches);
