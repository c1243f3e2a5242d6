//! The verified-token cache: a repeated token skips parsing and the signature check.

use std::{
    any::Any,
    fmt,
    hash::{BuildHasher, DefaultHasher, Hasher, RandomState},
    sync::{Arc, Weak},
    time::{Duration, Instant},
};

use moka::{Expiry, sync::Cache};

use super::{
    issuer::TrustedIssuer,
    verifier::{Checked, Keys, Verified, Verifier},
};
#[cfg(feature = "jwks-remote")]
use crate::key::source::SourceKind;
use crate::{
    claims::{Claims, StandardClaims},
    key::{algorithm::Algorithm, set::KeySet},
    telemetry,
};

/// The verified-token cache of a [`Verifier`](super::Verifier) (feature `verify-cache`).
///
/// A client uses one access token for its whole lifetime, so most requests carry a token
/// that was already verified. With a cache, such a token is answered from memory: no
/// base64, no JSON, no signature operation, about the cost of one hash look-up.
///
/// What holds, by construction:
///
/// - **Only the same token hits.** Entries are keyed by the whole token: the look-up hashes
///   it, then compares it byte for byte with the stored one. A token that differs in one
///   byte (another signature, another claim) is a miss and goes through every check.
/// - **Only valid tokens are admitted.** A token enters the cache after it passed every
///   check; a rejected token never does.
/// - **Never served after `exp`.** On every hit the time checks run again with the
///   verifier's clock (`exp`, `nbf`, `iat`, with its leeway); an entry also leaves memory
///   when its token expires, and at the latest after [`time_to_live`](Self::time_to_live).
/// - **Key changes are honoured.** With a `RemoteJwks` (feature `jwks-remote`), an entry
///   is only served while the key set it was verified with is the current one: once the set
///   is refreshed (a key rotated out, for instance) the token is verified again.
/// - **One configuration per cache.** The cache belongs to its verifier: changing a setting
///   of the verifier afterwards (audience, leeway, `typ`, ...) starts a new, empty cache, so
///   no entry is served under rules other than the ones it was admitted under.
/// - **Bounded.** At most [`new`](Self::new)'s `max_capacity` tokens are kept; when it is
///   full, moka's admission policy (TinyLFU) keeps the tokens used most. An entry holds the
///   token and its claims: about 1.6 KiB for a 500-byte access token (see
///   `docs/performance.md`).
///
/// Revocation is a separate layer ([`RevocationLayer`](crate::RevocationLayer))
/// that runs after verification on every request, cached or not: a revoked token is refused
/// even while it sits in this cache.
///
/// # Example
///
/// ```
/// use tollgate::{StandardClaims, key::{Algorithm, Key}, verify::{TrustedIssuer, VerifiedCache, Verifier}};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let secret = b"a secret of at least thirty-two bytes!";
/// let verifier = Verifier::new(TrustedIssuer::new("https://auth.example", Key::hmac(Algorithm::HS256, secret)?))
///     .cache(VerifiedCache::new(100_000));
/// # let exp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() + 60;
/// # let token = jsonwebtoken::encode(
/// #     &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
/// #     &serde_json::json!({"iss": "https://auth.example", "sub": "42", "exp": exp}),
/// #     &jsonwebtoken::EncodingKey::from_secret(secret),
/// # )?;
///
/// let first = verifier.verify::<StandardClaims>(&token).await?; // verified, then cached
/// let again = verifier.verify::<StandardClaims>(&token).await?; // from the cache
/// assert!(std::sync::Arc::ptr_eq(&first.claims().0, &again.claims().0));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct VerifiedCache {
    max_capacity: u64,
    time_to_live: Duration,
}

impl VerifiedCache {
    /// A cache of at most `max_capacity` tokens, each kept until its `exp` and at most an
    /// hour.
    pub fn new(max_capacity: u64) -> Self {
        Self {
            max_capacity,
            time_to_live: Duration::from_secs(3600),
        }
    }

    /// The longest an entry is kept, whatever its `exp` (default one hour): the bound for
    /// tokens without `exp` or with a distant one.
    pub fn time_to_live(mut self, time_to_live: Duration) -> Self {
        self.time_to_live = time_to_live;
        self
    }
}

/// A cached verification: what [`Verified`] is rebuilt from.
pub(crate) struct Entry {
    pub(crate) standard: Claims<StandardClaims>,
    /// The `Arc<C>` of the caller's claims type.
    pub(crate) claims: Arc<dyn Any + Send + Sync>,
    pub(crate) algorithm: Algorithm,
    pub(crate) kid: Option<Arc<str>>,
    /// The index of the issuer in the verifier.
    pub(crate) issuer: usize,
    /// The fetched key set that verified the token; `None` for a static one.
    pub(crate) keys: Option<Weak<KeySet>>,
    /// How long to keep it.
    pub(crate) ttl: Duration,
}

/// A verifier's own cache, built from its [`VerifiedCache`] settings.
#[derive(Clone)]
pub(crate) struct TokenCache {
    settings: VerifiedCache,
    entries: Cache<Box<str>, Arc<Entry>, TailHash>,
    /// The handles of the hit and miss counters.
    metrics: telemetry::CacheMetrics,
}

impl TokenCache {
    pub(crate) fn new(settings: VerifiedCache) -> Self {
        let builder = Cache::builder()
            .max_capacity(settings.max_capacity)
            .expire_after(EntryExpiry);
        let entries =
            telemetry::count_cache_entries(builder).build_with_hasher(TailHash(RandomState::new()));
        Self {
            settings,
            entries,
            metrics: telemetry::CacheMetrics::default(),
        }
    }

    /// A new, empty cache with the same settings.
    pub(crate) fn fresh(&self) -> Self {
        Self::new(self.settings.clone())
    }

    pub(crate) fn get(&self, token: &str) -> Option<Arc<Entry>> {
        self.entries.get(token)
    }

    pub(crate) fn insert(&self, token: &str, entry: Entry) {
        self.entries.insert(token.into(), Arc::new(entry));
        telemetry::verify_cache_entry_added();
    }

    pub(crate) fn remove(&self, token: &str) {
        self.entries.invalidate(token);
    }

    pub(crate) fn time_to_live(&self) -> Duration {
        self.settings.time_to_live
    }
}

impl TokenCache {
    /// A cached verification of `token` by `verifier`, if there is one that is still valid;
    /// counted as a hit or a miss.
    pub(super) fn cached<C>(&self, verifier: &Verifier, token: &str) -> Option<Verified<C>>
    where
        C: Send + Sync + 'static,
    {
        let found = self.look_up(verifier, token);
        telemetry::verify_cache_lookup(&self.metrics, found.is_some());
        found
    }

    fn look_up<C>(&self, verifier: &Verifier, token: &str) -> Option<Verified<C>>
    where
        C: Send + Sync + 'static,
    {
        let entry = self.get(token)?;
        if verifier
            .validation()
            .validate_times(&entry.standard, verifier.now())
            .is_err()
        {
            // Expired (or the clock went back): the full check gives the reason.
            self.remove(token);
            return None;
        }
        if let Some(verified_with) = &entry.keys
            && !keys_unchanged(verifier.issuers().nth(entry.issuer), verified_with)
        {
            self.remove(token);
            return None;
        }
        // Another claims type than the one cached: verify again (and cache that one).
        let claims = Arc::clone(&entry.claims).downcast::<C>().ok()?;
        Some(Verified {
            standard: entry.standard.clone(),
            claims: Claims(claims),
            algorithm: entry.algorithm,
            kid: entry.kid.clone(),
        })
    }

    /// Put a token that passed every check of `verifier` into the cache, until it expires.
    pub(super) fn admit<C>(&self, verifier: &Verifier, token: &str, checked: &Checked<'_, C>)
    where
        C: Send + Sync + 'static,
    {
        let verified = &checked.verified;
        let max = self.time_to_live();
        let ttl = match verified.standard.exp {
            Some(exp) => {
                let left = exp
                    .saturating_add(verifier.validation().leeway)
                    .saturating_sub(verifier.now());
                u64::try_from(left)
                    .map_or(Duration::ZERO, |secs| Duration::from_secs(secs).min(max))
            }
            None => max,
        };
        if ttl.is_zero() {
            return;
        }
        let claims: Arc<dyn Any + Send + Sync> = Arc::clone(&verified.claims.0) as _;
        self.insert(
            token,
            Entry {
                standard: verified.standard.clone(),
                claims,
                algorithm: verified.algorithm,
                kid: verified.kid.clone(),
                issuer: checked.issuer,
                keys: fetched(&checked.keys),
                ttl,
            },
        );
    }
}

/// Whether the fetched key set `verified_with` is still the current one of `issuer`.
#[cfg_attr(not(feature = "jwks-remote"), allow(unused_variables))]
fn keys_unchanged(issuer: Option<&TrustedIssuer>, verified_with: &Weak<KeySet>) -> bool {
    match issuer.map(|issuer| issuer.keys().kind()) {
        #[cfg(feature = "jwks-remote")]
        Some(SourceKind::Remote(remote)) => remote
            .current()
            .is_some_and(|current| std::ptr::eq(Arc::as_ptr(&current), verified_with.as_ptr())),
        _ => false,
    }
}

/// The fetched key set that verified a token, to tell later whether it is still the current
/// one; `None` for a static one.
fn fetched(keys: &Keys<'_>) -> Option<Weak<KeySet>> {
    match keys {
        Keys::Borrowed(_) => None,
        #[cfg(feature = "jwks-remote")]
        Keys::Shared(keys) => Some(Arc::downgrade(keys)),
    }
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedCache")
            .field("max_capacity", &self.settings.max_capacity)
            .field("time_to_live", &self.settings.time_to_live)
            .field("entries", &self.entries.entry_count())
            .finish()
    }
}

struct EntryExpiry;

impl Expiry<Box<str>, Arc<Entry>> for EntryExpiry {
    fn expire_after_create(
        &self,
        _token: &Box<str>,
        entry: &Arc<Entry>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(entry.ttl)
    }

    fn expire_after_update(
        &self,
        _token: &Box<str>,
        entry: &Arc<Entry>,
        _updated_at: Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        Some(entry.ttl)
    }
}

/// How many bytes at the end of a token are hashed.
const TAIL: usize = 32;

/// Hashes a token by its length and its last [`TAIL`] bytes (keyed SipHash).
///
/// A token ends with its signature: bytes chosen by the issuer's key, so the tails of two
/// admitted tokens differ as much as whole tokens do, and hashing 32 bytes instead of 500
/// keeps a hit well under a microsecond. The hash only picks a bucket: a hit still needs the
/// whole token to be equal, and only verified tokens are ever stored, so a crafted token can
/// at worst cost one comparison per colliding entry.
#[derive(Clone)]
struct TailHash(RandomState);

impl BuildHasher for TailHash {
    type Hasher = TailHasher;

    fn build_hasher(&self) -> TailHasher {
        TailHasher(self.0.build_hasher())
    }
}

struct TailHasher(DefaultHasher);

impl Hasher for TailHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.write_usize(bytes.len());
        self.0.write(&bytes[bytes.len().saturating_sub(TAIL)..]);
    }

    fn finish(&self) -> u64 {
        self.0.finish()
    }
}

#[cfg(test)]
mod tests {
    use std::hash::Hash;

    use super::*;

    fn hash<T: Hash + ?Sized>(value: &T, state: &TailHash) -> u64 {
        state.hash_one(value)
    }

    #[test]
    fn owned_and_borrowed_tokens_hash_alike() {
        let state = TailHash(RandomState::new());
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJlLWJ5dGVzLW9mLWEtdG9rZW4tb2YtdGhpcnR5LXR3bw";
        let owned: Box<str> = token.into();
        assert_eq!(hash(token, &state), hash(&owned, &state));
        assert_ne!(hash(token, &state), hash(&token[1..], &state));
    }
}
