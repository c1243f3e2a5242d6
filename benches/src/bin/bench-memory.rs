//! Memory per entry, one measurement per process (so none reuses memory another freed):
//!
//! - `store COUNT`: tollgate's in-process `MemoryRevocationStore` holding COUNT revoked `jti`s
//!   (growth of the process's resident set);
//! - `cache COUNT`: the verified-token cache holding COUNT distinct tokens (resident set);
//! - `redis URL COUNT`: Redis through tollgate-redis holding COUNT revoked `jti`s (growth of
//!   `INFO memory` `used_memory`).
//!
//! ```text
//! cargo run --release -p tollgate-benches --bin bench-memory -- store 1000000
//! cargo run --release -p tollgate-benches --bin bench-memory -- cache 100000
//! cargo run --release -p tollgate-benches --bin bench-memory -- redis redis://127.0.0.1:6390/ 1000000
//! ```
//!
//! Point `redis` at a private Redis (`redis-server --port 6390 --save '' --appendonly no`): it
//! writes under its own key prefix and deletes everything it wrote at the end, but
//! `used_memory` counts the whole server. Ids are 36-byte UUID-like strings, each revoked
//! until an hour from now.

use std::time::Instant;

use tollgate::{
    StandardClaims,
    key::Algorithm,
    revocation::{MemoryRevocationStore, RevocationStore},
    verify::VerifiedCache,
};
use tollgate_benches::{Keys, now, now_or_never};
use tollgate_redis::RedisRevocationStore;

const USAGE: &str = "usage: bench-memory store COUNT | cache COUNT | redis URL COUNT";

fn jti(i: usize) -> String {
    format!("{i:08x}-d9cb-469f-a165-70867728950e")
}

/// The resident set size of this process, in bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

fn count(arg: &str) -> Result<usize, String> {
    arg.parse()
        .map_err(|_| format!("COUNT must be a whole number, not {arg:?}\n{USAGE}"))
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    match args.as_slice() {
        ["store", n] => {
            let count = count(n)?;
            let _store = runtime.block_on(memory_store(count));
        }
        ["cache", n] => {
            let _cache = verify_cache(count(n)?);
        }
        ["redis", url, n] => {
            let count = count(n)?;
            runtime.block_on(redis_store(url, count));
        }
        _ => return Err(USAGE.to_owned()),
    }
    Ok(())
}

fn verify_cache(count: usize) -> (Vec<String>, tollgate::verify::Verifier) {
    let keys = Keys::new(Algorithm::HS256);
    let tokens: Vec<String> = (0..count).map(|i| keys.token(&jti(i))).collect();
    let verifier = keys.verifier().cache(VerifiedCache::new(count as u64 * 2));
    let before = rss();
    for token in &tokens {
        now_or_never(verifier.verify::<StandardClaims>(token))
            .unwrap()
            .unwrap();
    }
    let after = rss();
    println!(
        "VerifiedCache: {count} tokens of {} bytes, RSS +{:.1} MiB, {:.0} bytes per entry",
        tokens[0].len(),
        after.saturating_sub(before) as f64 / 1048576.0,
        after.saturating_sub(before) as f64 / count as f64,
    );
    (tokens, verifier)
}

async fn memory_store(count: usize) -> MemoryRevocationStore {
    let until = now() + 3600;
    let store = MemoryRevocationStore::new();
    store.revoke_token(&jti(usize::MAX), until).await.unwrap();
    store.remove_expired();
    let before = rss();
    let start = Instant::now();
    for i in 0..count {
        store.revoke_token(&jti(i), until).await.unwrap();
    }
    store.remove_expired();
    let elapsed = start.elapsed();
    let after = rss();
    assert_eq!(store.entry_count(), count as u64 + 1);
    println!(
        "MemoryRevocationStore: {count} revoked jti, RSS +{:.1} MiB, {:.0} bytes per entry ({:.2} s to write)",
        after.saturating_sub(before) as f64 / 1048576.0,
        after.saturating_sub(before) as f64 / count as f64,
        elapsed.as_secs_f64()
    );
    store
}

async fn used_memory(connection: &mut redis::aio::MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(connection)
        .await
        .unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix("used_memory:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

async fn redis_store(url: &str, count: usize) {
    let client = redis::Client::open(url).unwrap();
    let prefix = format!("tollgate-memory-bench:{}:", std::process::id());
    let store = RedisRevocationStore::builder(client.clone())
        .prefix(prefix.clone())
        .unwrap()
        .build()
        .unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let until = now() + 3600;
    // One write first: the script is loaded, the connection set up.
    store.revoke_token(&jti(usize::MAX), until).await.unwrap();
    let before = used_memory(&mut connection).await;
    let start = Instant::now();
    let tasks = 64;
    let mut set = tokio::task::JoinSet::new();
    for task in 0..tasks {
        let store = store.clone();
        set.spawn(async move {
            for i in (task..count).step_by(tasks) {
                store.revoke_token(&jti(i), until).await.unwrap();
            }
        });
    }
    while let Some(done) = set.join_next().await {
        done.unwrap();
    }
    let elapsed = start.elapsed();
    let after = used_memory(&mut connection).await;
    println!(
        "Redis: {count} revoked jti (prefix {} bytes), used_memory +{:.1} MiB, {:.0} bytes per entry ({:.2} s to write)",
        prefix.len(),
        after.saturating_sub(before) as f64 / 1048576.0,
        after.saturating_sub(before) as f64 / count as f64,
        elapsed.as_secs_f64()
    );

    // Clean up: everything under the prefix, counting the keys by encoding first (revoked
    // tokens are fields of hashes that Redis keeps compact, as listpacks, up to 128 fields).
    let mut cursor: u64 = 0;
    let mut deleted = 0usize;
    let mut encodings = std::collections::BTreeMap::<String, usize>::new();
    loop {
        // A thousand keys at a time: unlinking ten thousand shards in the hash table encoding
        // takes longer than the connection's response timeout.
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(1_000)
            .query_async(&mut connection)
            .await
            .unwrap();
        if !keys.is_empty() {
            let mut pipe = redis::pipe();
            for key in &keys {
                pipe.cmd("OBJECT").arg("ENCODING").arg(key);
            }
            let answers: Vec<String> = pipe.query_async(&mut connection).await.unwrap();
            for encoding in answers {
                *encodings.entry(encoding).or_default() += 1;
            }
            deleted += keys.len();
            let () = redis::cmd("UNLINK")
                .arg(&keys)
                .query_async(&mut connection)
                .await
                .unwrap();
        }
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    println!("Redis: deleted {deleted} keys, by encoding: {encodings:?}");
}
