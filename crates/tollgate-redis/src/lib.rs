//! Redis stores for [tollgate]: the revocation store, with a coherent local cache.
//!
//! # Overview
//!
//! [`RedisRevocationStore`] implements tollgate's
//! [`RevocationStore`](tollgate::revocation::RevocationStore), so several instances of an
//! application share their revocations: a token revoked through one instance is refused by
//! all of them.
//!
//! - **One round trip per check**: an `HGET` of the token's digest and an `MGET` of its
//!   session's and subject's keys, sent together, answer all four questions (revoked `jti`,
//!   ended `sid`, the subject's cut-off and permission version), decided by tollgate's
//!   [`RevocationEntries::status_of`](tollgate::revocation::RevocationEntries::status_of) rule.
//! - **Compact**: a revoked token is a 16-byte digest of its `jti` and its `until`, one field of
//!   one of 65 536 hashes that Redis keeps in its compact encoding: about 36 bytes of Redis
//!   memory per revoked token at a million of them.
//! - **Entries go at their `until`**: every entry counts until the `until` it was written with
//!   plus a [leeway](RedisRevocationStoreBuilder::leeway) (60 s by default, like tollgate's
//!   `MemoryRevocationStore`) and not after; keys expire (`EXPIREAT`) then, and a hash of
//!   revoked tokens at the latest of its fields, the fields that have passed being removed by
//!   the hash's next write. Redis holds only what can still match a valid token, plus the passed
//!   fields of hashes not written since.
//! - **Atomic writes**: each write is one Lua script that merges with what is stored (a later
//!   cut-off replaces an earlier one and never the reverse, the highest version wins, an
//!   expiry is never shortened), sets the expiry and publishes the write on the channel
//!   `<prefix>revocations`. A write that fails returns an error: it is never dropped.
//! - **Bounded calls**: every call is bounded by a timeout (250 ms by default) and fails with
//!   [`RevocationStoreErrorKind::Timeout`](tollgate::revocation::RevocationStoreErrorKind::Timeout) or
//!   [`Unavailable`](tollgate::revocation::RevocationStoreErrorKind::Unavailable); the revocation
//!   layer's failure policy decides what the request gets. Once Redis is known to be down,
//!   checks fail at once instead of waiting for the timeout again, and a background probe
//!   (`PING` with backoff) notices when it answers
//!   ([`RedisRevocationStore::is_down`]). The connection
//!   ([`redis::aio::ConnectionManager`]) reconnects on its own: when Redis comes back, checks
//!   succeed again without a restart.
//! - **Coherent local cache** ([`LocalCache`]): most checks become memory look-ups. Each
//!   instance subscribes to the channel and drops what a write makes stale as soon as its
//!   message arrives; while the subscription is down the cache is bypassed and emptied, and a
//!   background task resubscribes with backoff. No answer that a later write could change is
//!   trusted longer than the cache's `time_to_live` (2 s by default): that is the
//!   propagation bound when messages are lost; with a healthy subscription a revocation
//!   reaches every instance within one pub/sub delivery.
//!
//! # Key layout
//!
//! ```text
//! <prefix>jtis:<shard> hash <digest> -> "<until>"  revoked tokens
//! <prefix>sid:<sid>    "1:<until>"                   an ended session
//! <prefix>cut:<sub>    "<at>:<until>"                tokens of <sub> issued at or before <at> are refused
//! <prefix>ver:<sub>    "<version>:<until>"           tokens of <sub> with a lower `ver` are stale
//! <prefix>revocations                                the channel; a message is "<kind>:<id>"
//! ```
//!
//! The prefix is `tollgate:` unless set with
//! [`RedisRevocationStoreBuilder::prefix`](RedisRevocationStoreBuilder::prefix); `<until>` is the `until` of the write
//! plus the leeway. `<digest>` is the first 16 bytes of the SHA-256 of the `jti` (binary),
//! `<shard>` its first two bytes in lowercase hex (`0000` to `ffff`): the same in every process,
//! instance, version and in the `tollgate` command-line tool.
//!
//! A key expires at its `<until>`. A shard expires at the latest `<until>` of its fields; each
//! revocation written to it removes its fields whose `<until>` has passed, and a check ignores
//! such a field, so the answer is exact whether or not it has been removed yet.
//!
//! **Digest collisions.** Two ids with the same digest are answered alike. That can only
//! refuse a token that was not revoked (its digest equals a revoked one's), never let a revoked
//! token through. With n revoked tokens, the chance that a given unrevoked token is refused is
//! about n / 2^128 (3 × 10^-30 at a billion). Making one on purpose means finding two ids
//! with the same truncated SHA-256 (about 2^64 hash computations) and having both issued as
//! `jti`s.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use tollgate::RevocationLayer;
//! use tollgate::revocation::{RevocationStatus, RevocationStore, TokenRef};
//! use tollgate_redis::{LocalCache, RedisRevocationStore};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let client = redis::Client::open("redis://127.0.0.1:6379/")?;
//!     let store = RedisRevocationStore::builder(client)
//!         .prefix("myapp:")?
//!         .timeout(Duration::from_millis(250))?
//!         .local_cache(LocalCache::new())
//!         .build()?;
//!
//!     // Logout: revoke the token until it expires. An error means it was not stored.
//!     store.revoke_token("token-1", 1_900_000_900).await?;
//!
//!     // What the revocation layer asks on every request of a route that opts in.
//!     let token = TokenRef::new("token-1", 1_900_000_900);
//!     assert_eq!(store.check(&token).await?, RevocationStatus::Revoked);
//!
//!     // Put it behind `VerifyLayer` on the routes that must refuse revoked tokens.
//!     let _layer = RevocationLayer::new(store);
//!     Ok(())
//! }
//! ```
//!
//! # Redis Cluster and Sentinel
//!
//! - **Cluster** (feature `cluster`): build a `redis::cluster::ClusterClient`, get its
//!   `get_async_connection().await?` and pass it to
//!   [`RedisRevocationStoreBuilder::with_connection`](RedisRevocationStoreBuilder::with_connection); pass a
//!   [`redis::Client`] for any one node to [`RedisRevocationStore::builder`] for the local
//!   cache's subscription (`PUBLISH` reaches the subscribers of every node). The cluster
//!   connection routes the check's `HGET` by its key, splits its `MGET` by slot, and routes
//!   each write script by its one key; a hash-tagged prefix such as `{tollgate}:` keeps
//!   everything in one slot (one node per check) if preferred.
//! - **Sentinel** (feature `sentinel`): build a `redis::sentinel::SentinelClient` for the
//!   master (`SentinelServerType::Master`) and start from
//!   `RedisRevocationStore::sentinel(sentinel_client)`. Its connection
//!   (`SentinelConnection`) asks the sentinels for the master and asks again
//!   after a failover (a lost connection, `READONLY` or `MASTERDOWN`); the local cache
//!   resubscribes through the master the sentinels name.
//! - Any other deployment: [`RedisRevocationStoreBuilder::with_connection`](RedisRevocationStoreBuilder::with_connection)
//!   takes any `redis::aio::ConnectionLike + Clone + Send + Sync + 'static`.
//!
//! # Feature flags
//!
//! | feature    | what it enables                                                         |
//! |------------|-------------------------------------------------------------------------|
//! | `cluster`  | `redis/cluster-async`: cluster connections for `RedisRevocationStoreBuilder::with_connection` |
//! | `sentinel` | `RedisRevocationStore::sentinel` and `SentinelConnection`                 |
//! | `session`  | `RedisSessionStore`: tollgate-session's `SessionStore` on Redis, shared by every instance |
//! | `metrics`  | metrics of the local cache (hits and misses, invalidations, the subscription) through the [`metrics`](https://docs.rs/metrics) facade, and with `session` tollgate-session's session metrics (`docs/observability.md`) |
//! | `full`     | `cluster`, `metrics` and `sentinel`                                     |
//!
//! # Getting help
//!
//! `docs/revocation-redis.md` in the repository covers the key layout, the local cache's
//! coherence and propagation bound, outages, Cluster and Sentinel, and sizing;
//! `docs/revocation.md` the data model and the layer. Issues go to the repository's tracker.
//!
//! [tollgate]: https://docs.rs/tollgate
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(doctest)]
mod doctests;
mod revocation;
#[cfg(feature = "session")]
mod session;
mod settings;
mod telemetry;

pub use redis;
#[cfg(feature = "sentinel")]
#[cfg_attr(docsrs, doc(cfg(feature = "sentinel")))]
pub use revocation::SentinelConnection;
pub use revocation::{
    LocalCache, RedisCheckFuture, RedisRevocationStore, RedisRevocationStoreBuilder,
};
#[cfg(feature = "session")]
#[cfg_attr(docsrs, doc(cfg(feature = "session")))]
pub use session::{RedisSessionStore, RedisSessionStoreBuilder};
