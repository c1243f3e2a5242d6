//! The revocation store on Redis, with its coherent local cache.
//!
//! [`RedisRevocationStore`] implements [`tollgate::revocation::RevocationStore`]: plug it into
//! [`tollgate::RevocationLayer`] like the in-process store. [`LocalCache`] adds
//! an in-process cache kept coherent through the revocation channel.
//!
//! See the [crate docs](crate) for the key layout, an example, and the behaviour during
//! Redis outages.

mod cache;
mod health;
mod keys;
#[cfg(feature = "sentinel")]
mod sentinel;
mod store;

pub use cache::LocalCache;
#[cfg(feature = "sentinel")]
pub use sentinel::SentinelConnection;
pub use store::{RedisCheckFuture, RedisRevocationStore, RedisRevocationStoreBuilder};
