//! [`RedisRevocationStore`], its [`RedisRevocationStoreBuilder`] and its [`RedisCheckFuture`].

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::{Arc, Weak},
    task::{Context, Poll},
    time::Duration,
};

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use tokio::time;
use tollgate::{
    ConfigError,
    revocation::{
        RevocationStatus, RevocationStore, RevocationStoreError, RevocationStoreErrorKind, TokenRef,
    },
};

use crate::telemetry;

use super::{
    cache::{self, CacheState, Facts, LocalCache, SubscribeVia, Subscriber},
    health::Health,
    keys::{self, Keys, Kind, REVOKE_SCRIPT, WRITE_SCRIPT},
};

/// A [`RevocationStore`] on Redis, optionally with a coherent [`LocalCache`] in front.
///
/// One check is one round trip (an `HGET` of the token's digest in its shard and, when the
/// token has a `sid` or a `sub`, an `MGET` of their keys, sent together), or none when the
/// local cache knows the answer; every write is one atomic script that stores the entry with
/// its expiry and publishes it on the revocation channel.
///
/// A revoked `jti` is stored under a 16-byte digest (the first half of its SHA-256), one
/// field of one of 65 536 hashes (see the [crate docs](crate)). Two ids with the same digest
/// would be answered alike: if one of them is revoked, the other is refused too. That can
/// only refuse an unrevoked token (a false refusal, never a revoked token let through), and
/// its probability is about n / 2^128 per check for n revoked tokens (3 × 10^-30 at a
/// billion). Every call is bounded by the
/// [`timeout`](RedisRevocationStoreBuilder::timeout): a call that takes longer fails with
/// [`RevocationStoreErrorKind::Timeout`], an unreachable or failing server with
/// [`RevocationStoreErrorKind::Unavailable`].
///
/// Once Redis is known to be down (a call timed out or lost its connection, or the local
/// cache lost its subscription and a `PING` went unanswered), checks fail at once with
/// [`RevocationStoreErrorKind::Unavailable`] instead of waiting for the timeout again, and one
/// background probe sends `PING` with backoff (50 ms up to 0.5 s) until Redis answers; then
/// checks ask Redis again. See [`is_down`](Self::is_down). Writes are always sent: one that
/// succeeds ends the outage too.
///
/// The connection type `C` is a [`ConnectionManager`] (one multiplexed connection that
/// reconnects on its own) unless another is given with [`RedisRevocationStoreBuilder::with_connection`], for
/// example a cluster connection.
///
/// Handles are cheap to clone and share one connection and one local cache.
///
/// See the [crate docs](crate) for an example.
pub struct RedisRevocationStore<C = ConnectionManager> {
    inner: Arc<Inner<C>>,
}

struct Inner<C> {
    connection: C,
    keys: Keys,
    timeout: Duration,
    leeway: i64,
    /// Writes of a session, a cut-off or a version ([`WRITE_SCRIPT`]).
    write_script: redis::Script,
    /// Revocations of a token ([`REVOKE_SCRIPT`]).
    revoke_script: redis::Script,
    cache: Option<Arc<CacheState>>,
    local_cache: Option<LocalCache>,
    health: Health,
    /// The bound on one probe's `PING`: the heartbeat's with a local cache (the bound the
    /// subscription is held to), else the timeout.
    probe_timeout: Duration,
    // Aborts the subscriber task when the last handle goes.
    _subscriber: Option<Subscriber>,
}

impl<C> Clone for RedisRevocationStore<C> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<C> fmt::Debug for RedisRevocationStore<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRevocationStore")
            .field("prefix", &self.inner.keys.prefix())
            .field("timeout", &self.inner.timeout)
            .field("leeway", &self.inner.leeway)
            .field("local_cache", &self.inner.local_cache)
            .field("cache", &self.inner.cache)
            .field("down", &self.inner.health.is_down())
            .finish_non_exhaustive()
    }
}

impl RedisRevocationStore {
    /// The default prefix of every key and of the channel.
    pub const DEFAULT_PREFIX: &'static str = "tollgate:";

    /// The default bound on every store call.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(250);

    /// The default leeway: entries are kept this long after their `until`.
    pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);

    /// A builder for a store on the server `client` points at.
    ///
    /// The defaults: prefix [`DEFAULT_PREFIX`](Self::DEFAULT_PREFIX), timeout
    /// [`DEFAULT_TIMEOUT`](Self::DEFAULT_TIMEOUT), leeway
    /// [`DEFAULT_LEEWAY`](Self::DEFAULT_LEEWAY), a [`ConnectionManager`] on `client` that
    /// reconnects with backoff (at most 1 s between attempts), no local cache.
    pub fn builder(client: redis::Client) -> RedisRevocationStoreBuilder {
        let connection_client = client.clone();
        RedisRevocationStoreBuilder::new(
            SubscribeVia::Client(client),
            Box::new(move || {
                ConnectionManager::new_lazy_with_config(connection_client, default_config())
            }),
        )
    }
}

/// The default configuration of every [`ConnectionManager`] the store makes.
fn default_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new().set_max_delay(Duration::from_secs(1))
}

#[cfg(feature = "sentinel")]
impl RedisRevocationStore<super::sentinel::SentinelConnection> {
    /// A builder for a store on the master of a Sentinel deployment: `sentinel` (built with
    /// `SentinelServerType::Master`) is asked for the current master, again after a
    /// failover (see [`SentinelConnection`](super::sentinel::SentinelConnection)); the local cache
    /// subscribes through the master it names at each (re)subscription.
    ///
    /// The defaults are those of [`builder`](RedisRevocationStore::builder).
    #[cfg_attr(docsrs, doc(cfg(feature = "sentinel")))]
    pub fn sentinel(
        sentinel: redis::sentinel::SentinelClient,
    ) -> RedisRevocationStoreBuilder<super::sentinel::SentinelConnection> {
        let connection = super::sentinel::SentinelConnection::new(sentinel, default_config());
        let via = SubscribeVia::Sentinel(connection.clone());
        RedisRevocationStoreBuilder::new(via, Box::new(move || Ok(connection)))
    }
}

impl<C> RedisRevocationStore<C> {
    /// The prefix of every key and of the channel.
    #[must_use]
    pub fn prefix(&self) -> &str {
        self.inner.keys.prefix()
    }

    /// The pub/sub channel every write is published on: `<prefix>revocations`.
    #[must_use]
    pub fn channel(&self) -> &str {
        self.inner.keys.channel()
    }

    /// The bound on every store call.
    #[must_use]
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// How long entries are kept after their `until`.
    #[must_use]
    pub fn leeway(&self) -> Duration {
        Duration::from_secs(u64::try_from(self.inner.leeway).unwrap_or(0))
    }

    /// The local cache settings, if the store has one.
    #[must_use]
    pub fn local_cache(&self) -> Option<&LocalCache> {
        self.inner.local_cache.as_ref()
    }

    /// Whether the local cache is in use: the store has one and its subscription to the
    /// channel is up. While this is `false`, every check asks Redis.
    #[must_use]
    pub fn is_subscribed(&self) -> bool {
        self.inner
            .cache
            .as_ref()
            .is_some_and(|cache| cache.is_subscribed())
    }

    /// Whether Redis is known to be down: checks fail at once (no round trip) while a
    /// background probe waits for it to answer. `false` again as soon as it does.
    #[must_use]
    pub fn is_down(&self) -> bool {
        self.inner.health.is_down()
    }
}

impl<C> Inner<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    /// Redis may be down: probe it in the background (unless a probe runs). With `down`, a
    /// call just failed, so checks fail at once from now until the probe gets an answer;
    /// without it (the subscription was lost), only once the first probe goes unanswered.
    fn probe(self: &Arc<Self>, down: bool) {
        // The probe needs a runtime; without one, every check keeps asking Redis.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if down {
            self.health.mark_down();
        }
        if self.health.start_probing() {
            runtime.spawn(probe(Arc::downgrade(self)));
        }
    }

    /// A call failed with `error` (`None`: it timed out); the error for the caller. A timeout
    /// or a lost connection starts an outage; an error that Redis answered (a full memory, a
    /// replica that refuses writes) does not, since Redis is there to answer.
    fn failed(self: &Arc<Self>, error: Option<redis::RedisError>) -> RevocationStoreError {
        let down = error.as_ref().is_none_or(|error| {
            error.is_io_error() || error.is_unrecoverable_error() || error.is_timeout()
        });
        if down {
            self.probe(true);
        }
        error.map_or_else(RevocationStoreError::timeout, unavailable)
    }
}

/// `PING` Redis until it answers, with backoff (50 ms up to [`PROBE_MAX_DELAY`]); ends early
/// when the last handle goes.
async fn probe<C>(inner: Weak<Inner<C>>)
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    let mut failures: u32 = 0;
    loop {
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let mut connection = inner.connection.clone();
        let ping = redis::cmd("PING");
        let answered = time::timeout(
            inner.probe_timeout,
            ping.query_async::<redis::Value>(&mut connection),
        )
        .await
        .is_ok_and(|answer| answer.is_ok());
        if answered {
            inner.health.stop_probing();
            inner.health.mark_up();
            return;
        }
        inner.health.mark_down();
        drop(inner);
        failures = failures.saturating_add(1);
        time::sleep(cache::backoff(failures).min(PROBE_MAX_DELAY)).await;
    }
}

/// The longest pause between two probes: Redis is asked again at least this often while it
/// is down, so checks ask it again at most this long (plus the reconnection) after it is back.
const PROBE_MAX_DELAY: Duration = Duration::from_millis(500);

/// The answer of a check while Redis is known to be down.
fn known_down() -> RevocationStoreError {
    RevocationStoreError::new(
        RevocationStoreErrorKind::Unavailable,
        "Redis is down: not asked until a background probe gets an answer",
    )
}

impl<C> RedisRevocationStore<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    /// Store `value` for `id` of `kind` (a session, a cut-off, a version) until `until` (plus
    /// the leeway) and publish it.
    async fn write_entry(
        &self,
        kind: Kind,
        id: &str,
        value: impl redis::ToRedisArgs,
        until: i64,
    ) -> Result<(), RevocationStoreError> {
        let inner = &self.inner;
        let mut invocation = inner.write_script.key(inner.keys.key(kind, id));
        invocation.arg(value);
        self.write(invocation, kind, id, until).await
    }

    /// Run a write script whose key and first argument `invocation` holds, with `until` (plus
    /// the leeway), the channel and the message about `id` of `kind`.
    async fn write(
        &self,
        mut invocation: redis::ScriptInvocation<'_>,
        kind: Kind,
        id: &str,
        until: i64,
    ) -> Result<(), RevocationStoreError> {
        let inner = &self.inner;
        let until = until.saturating_add(inner.leeway);
        invocation
            .arg(until)
            .arg(inner.keys.channel())
            .arg(Keys::message(kind, id));
        let mut connection = inner.connection.clone();
        let result = time::timeout(
            inner.timeout,
            invocation.invoke_async::<redis::Value>(&mut connection),
        )
        .await;
        // Read-your-writes on this instance, without waiting for the message; also after a
        // failure or a timeout, since the write may have been stored all the same.
        if let Some(cache) = &inner.cache {
            cache.invalidate(kind, id);
        }
        match result {
            Ok(Ok(_)) => {
                inner.health.mark_up();
                Ok(())
            }
            Ok(Err(error)) => Err(inner.failed(Some(error))),
            Err(_) => Err(inner.failed(None)),
        }
    }
}

fn unavailable(error: redis::RedisError) -> RevocationStoreError {
    RevocationStoreError::new(RevocationStoreErrorKind::Unavailable, error)
}

/// The facts of a token, owned, for the check's future.
struct OwnedToken {
    jti: String,
    exp: i64,
    sub: Option<String>,
    sid: Option<String>,
    iat: Option<i64>,
    ver: Option<u64>,
}

impl OwnedToken {
    fn new(token: &TokenRef<'_>) -> Self {
        Self {
            jti: token.jti.to_owned(),
            exp: token.exp,
            sub: token.sub.map(ToOwned::to_owned),
            sid: token.sid.map(ToOwned::to_owned),
            iat: token.iat,
            ver: token.ver,
        }
    }

    fn as_ref(&self) -> TokenRef<'_> {
        let mut token = TokenRef::new(&self.jti, self.exp);
        token.sub = self.sub.as_deref();
        token.sid = self.sid.as_deref();
        token.iat = self.iat;
        token.ver = self.ver;
        token
    }
}

/// Read the answers: `jti`, the `<until>` stored under the token's digest (an entry whose
/// `<until>` is not after `now` counts as absent, whether or not its shard's next write has
/// removed it yet), and `values`, the `MGET` answer: the session's key, then the subject's two.
fn parse_facts(
    token: &TokenRef<'_>,
    jti: Option<Vec<u8>>,
    values: Vec<Option<Vec<u8>>>,
    now: i64,
) -> Result<Facts, RevocationStoreError> {
    let expected = usize::from(token.sid.is_some()) + 2 * usize::from(token.sub.is_some());
    if values.len() != expected {
        return Err(RevocationStoreError::new(
            RevocationStoreErrorKind::Corrupt,
            "MGET answered with the wrong number of values",
        ));
    }
    let mut values = values.into_iter();
    let mut next = || values.next().flatten();
    let flag = |raw: Option<Vec<u8>>| -> Result<Option<i64>, RevocationStoreError> {
        raw.map(|raw| keys::parse_value::<u8>(&raw).map(|(_, until)| until))
            .transpose()
    };
    let mut facts = Facts {
        jti: jti
            .map(|raw| keys::parse_until(&raw))
            .transpose()?
            .filter(|until| *until > now),
        ..Facts::default()
    };
    if token.sid.is_some() {
        facts.sid = flag(next())?;
    }
    if token.sub.is_some() {
        facts.cut_off = next().map(|raw| keys::parse_value(&raw)).transpose()?;
        facts.version = next().map(|raw| keys::parse_value(&raw)).transpose()?;
    }
    Ok(facts)
}

impl<C> RevocationStore for RedisRevocationStore<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    type CheckFuture = RedisCheckFuture;

    fn check(&self, token: &TokenRef<'_>) -> RedisCheckFuture {
        let epoch = self.inner.cache.as_ref().and_then(|cache| cache.begin());
        if let (Some(cache), Some(_)) = (&self.inner.cache, epoch)
            && let Some(status) = cache.lookup(token)
        {
            telemetry::cache_hit();
            return RedisCheckFuture::ready(Ok(status));
        }
        if self.inner.health.is_down() {
            return RedisCheckFuture::ready(Err(known_down()));
        }
        if self.inner.cache.is_some() {
            telemetry::cache_miss();
        }

        let keys = &self.inner.keys;
        let digest = keys::digest(token.jti);
        let mut hget = redis::cmd("HGET");
        hget.arg(keys.jti_shard(&digest)).arg(&digest[..]);
        let mut names = Vec::with_capacity(3);
        if let Some(sid) = token.sid {
            names.push(keys.key(Kind::Sid, sid));
        }
        if let Some(sub) = token.sub {
            names.push(keys.key(Kind::Cut, sub));
            names.push(keys.key(Kind::Ver, sub));
        }
        let owned = OwnedToken::new(token);
        let inner = Arc::clone(&self.inner);
        RedisCheckFuture::pending(Box::pin(async move {
            // The two commands go out together on the (multiplexed) connection: one round
            // trip. Separate commands rather than one pipeline, since a cluster connection
            // routes each by its own keys where a pipeline must stay in one slot.
            let query = async {
                let mut connection = inner.connection.clone();
                if names.is_empty() {
                    let jti = hget.query_async(&mut connection).await?;
                    return Ok((jti, Vec::new()));
                }
                let mut mget = redis::cmd("MGET");
                mget.arg(&names);
                let mut other = inner.connection.clone();
                tokio::try_join!(
                    hget.query_async::<Option<Vec<u8>>>(&mut connection),
                    mget.query_async::<Vec<Option<Vec<u8>>>>(&mut other),
                )
            };
            let (jti, values) = match time::timeout(inner.timeout, query).await {
                Ok(Ok(answers)) => answers,
                Ok(Err(error)) => return Err(inner.failed(Some(error))),
                Err(_) => return Err(inner.failed(None)),
            };
            let token = owned.as_ref();
            let facts = parse_facts(&token, jti, values, cache::unix_now())?;
            if let (Some(cache), Some(epoch)) = (&inner.cache, epoch) {
                cache.fill(epoch, &token, &facts);
            }
            Ok(facts.decide(&token))
        }))
    }

    /// The local cache's answer, when it has one (the subscription is up and every entry the
    /// token needs is cached), or the error while Redis is known to be down: the layer then
    /// needs no future at all.
    fn check_now(
        &self,
        token: &TokenRef<'_>,
    ) -> Option<Result<RevocationStatus, RevocationStoreError>> {
        if self.inner.health.is_down() {
            return Some(Err(known_down()));
        }
        let cache = self.inner.cache.as_ref()?;
        cache.begin()?;
        let status = cache.lookup(token)?;
        telemetry::cache_hit();
        Some(Ok(status))
    }

    async fn revoke_token(&self, jti: &str, until: i64) -> Result<(), RevocationStoreError> {
        let inner = &self.inner;
        let digest = keys::digest(jti);
        let mut invocation = inner.revoke_script.key(inner.keys.jti_shard(&digest));
        invocation.arg(&digest[..]);
        self.write(invocation, Kind::Jti, jti, until).await
    }

    async fn end_session(&self, sid: &str, until: i64) -> Result<(), RevocationStoreError> {
        self.write_entry(Kind::Sid, sid, 1, until).await
    }

    async fn cut_off(&self, sub: &str, at: i64, until: i64) -> Result<(), RevocationStoreError> {
        self.write_entry(Kind::Cut, sub, at, until).await
    }

    async fn set_version(
        &self,
        sub: &str,
        version: u64,
        until: i64,
    ) -> Result<(), RevocationStoreError> {
        self.write_entry(Kind::Ver, sub, version, until).await
    }
}

/// How the builder makes the store's connection.
type Connect<C> = Box<dyn FnOnce() -> redis::RedisResult<C> + Send>;

/// A builder for [`RedisRevocationStore`], from [`RedisRevocationStore::builder`].
///
/// See the [crate docs](crate) for an example.
#[must_use]
pub struct RedisRevocationStoreBuilder<C = ConnectionManager> {
    subscribe_via: SubscribeVia,
    connect: Connect<C>,
    prefix: String,
    timeout: Duration,
    leeway: Duration,
    local_cache: Option<LocalCache>,
}

impl<C> fmt::Debug for RedisRevocationStoreBuilder<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRevocationStoreBuilder")
            .field("subscribe_via", &self.subscribe_via)
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("leeway", &self.leeway)
            .field("local_cache", &self.local_cache)
            .finish_non_exhaustive()
    }
}

impl RedisRevocationStoreBuilder {
    /// Settings for the default [`ConnectionManager`] (reconnect backoff, response and
    /// connection timeouts). The store's own [`timeout`](Self::timeout) bounds every call
    /// whatever these say.
    ///
    /// It (re)places the connection with a new [`ConnectionManager`] on the builder's client.
    pub fn connection_config(mut self, config: ConnectionManagerConfig) -> Self {
        let client = match &self.subscribe_via {
            SubscribeVia::Client(client) => client.clone(),
            #[cfg(feature = "sentinel")]
            SubscribeVia::Sentinel(_) => return self,
        };
        self.connect = Box::new(move || ConnectionManager::new_lazy_with_config(client, config));
        self
    }
}

impl<C> RedisRevocationStoreBuilder<C> {
    fn new(subscribe_via: SubscribeVia, connect: Connect<C>) -> Self {
        Self {
            subscribe_via,
            connect,
            prefix: RedisRevocationStore::DEFAULT_PREFIX.to_owned(),
            timeout: RedisRevocationStore::DEFAULT_TIMEOUT,
            leeway: RedisRevocationStore::DEFAULT_LEEWAY,
            local_cache: None,
        }
    }

    /// Use `connection` for reads and writes instead of the one the builder would make: a
    /// cluster connection (`redis::cluster_async::ClusterConnection`, feature `cluster`), or
    /// any other reconnecting connection. The builder's client (or sentinel) is then used only
    /// for the local cache's subscription.
    pub fn with_connection<D>(self, connection: D) -> RedisRevocationStoreBuilder<D>
    where
        D: Send + 'static,
    {
        RedisRevocationStoreBuilder {
            subscribe_via: self.subscribe_via,
            connect: Box::new(move || Ok(connection)),
            prefix: self.prefix,
            timeout: self.timeout,
            leeway: self.leeway,
            local_cache: self.local_cache,
        }
    }

    /// The prefix of every key and of the channel (default `tollgate:`). With Redis Cluster a
    /// prefix with a hash tag (`{tollgate}:`) keeps every key in one slot; it is not needed,
    /// since the cluster connection routes the check's `HGET` and splits its `MGET` by slot.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Empty`] when `prefix` is empty: revocation keys must not mix with the
    /// other keys of the database.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Result<Self, ConfigError> {
        self.prefix = crate::settings::prefix(prefix)?;
        Ok(self)
    }

    /// The bound on every store call, checks and writes (default 250 ms). A call that takes
    /// longer fails with [`RevocationStoreErrorKind::Timeout`]; a timed-out write may still have been
    /// stored.
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] when `timeout` is zero.
    pub fn timeout(mut self, timeout: Duration) -> Result<Self, ConfigError> {
        self.timeout = crate::settings::timeout(timeout)?;
        Ok(self)
    }

    /// Keep every entry this much longer than its `until` (whole seconds; default one
    /// minute), as tollgate's `MemoryRevocationStore` does.
    ///
    /// Set it to at least the verify layer's leeway: a token is accepted until `exp` plus
    /// that leeway, and its revocation must outlive it. The cost is only that keys stay a
    /// little longer.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Keep a coherent local cache in front of Redis (see [`LocalCache`]).
    pub fn local_cache(mut self, local_cache: LocalCache) -> Self {
        self.local_cache = Some(local_cache);
        self
    }

    /// Build the store. Nothing is sent to Redis yet: the connection is made on first use
    /// (so an application can start while Redis is down; its checks fail until Redis is up),
    /// and the local cache's subscription by a background task.
    ///
    /// # Errors
    ///
    /// When the connection cannot be set up from its configuration.
    ///
    /// # Panics
    ///
    /// When called outside a Tokio runtime (the connection and the subscription need one).
    pub fn build(self) -> Result<RedisRevocationStore<C>, redis::RedisError>
    where
        C: ConnectionLike + Clone + Send + Sync + 'static,
    {
        let connection = (self.connect)()?;
        let keys = Keys::new(self.prefix);
        let cache = self
            .local_cache
            .as_ref()
            .map(|settings| Arc::new(CacheState::new(settings)));
        let probe_timeout = self.local_cache.as_ref().map_or(self.timeout, |settings| {
            settings.heartbeat_interval().min(self.timeout)
        });
        let inner = Arc::new_cyclic(|weak: &Weak<Inner<C>>| {
            let subscriber =
                cache
                    .as_ref()
                    .zip(self.local_cache.as_ref())
                    .map(|(cache, settings)| {
                        let weak = weak.clone();
                        Subscriber::spawn(
                            self.subscribe_via.clone(),
                            keys.channel().to_owned(),
                            Arc::clone(cache),
                            settings.heartbeat_interval(),
                            Box::new(move || {
                                if let Some(inner) = weak.upgrade() {
                                    inner.probe(false);
                                }
                            }),
                        )
                    });
            Inner {
                connection,
                keys,
                timeout: self.timeout,
                leeway: i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX),
                write_script: redis::Script::new(WRITE_SCRIPT),
                revoke_script: redis::Script::new(REVOKE_SCRIPT),
                cache,
                local_cache: self.local_cache,
                health: Health::default(),
                probe_timeout,
                _subscriber: subscriber,
            }
        });
        Ok(RedisRevocationStore { inner })
    }
}

/// The future of [`RedisRevocationStore::check`](RevocationStore::check): ready at once when
/// the local cache answers, one Redis round trip otherwise.
#[must_use = "futures do nothing unless polled"]
pub struct RedisCheckFuture {
    kind: CheckKind,
}

type BoxedCheck =
    Pin<Box<dyn Future<Output = Result<RevocationStatus, RevocationStoreError>> + Send>>;

enum CheckKind {
    Ready(Option<Result<RevocationStatus, RevocationStoreError>>),
    Pending(BoxedCheck),
}

impl RedisCheckFuture {
    fn ready(result: Result<RevocationStatus, RevocationStoreError>) -> Self {
        Self {
            kind: CheckKind::Ready(Some(result)),
        }
    }

    fn pending(future: BoxedCheck) -> Self {
        Self {
            kind: CheckKind::Pending(future),
        }
    }
}

impl fmt::Debug for RedisCheckFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.kind {
            CheckKind::Ready(Some(_)) => "ready",
            CheckKind::Ready(None) => "done",
            CheckKind::Pending(_) => "pending",
        };
        f.debug_struct("RedisCheckFuture")
            .field("state", &state)
            .finish()
    }
}

impl Future for RedisCheckFuture {
    type Output = Result<RevocationStatus, RevocationStoreError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.kind {
            CheckKind::Ready(result) => Poll::Ready(
                result
                    .take()
                    .expect("RedisCheckFuture polled after it completed"),
            ),
            CheckKind::Pending(future) => future.as_mut().poll(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_in_key_order() {
        let mut token = TokenRef::new("j", 10);
        token.sid = Some("s");
        token.sub = Some("u");
        let facts = parse_facts(
            &token,
            None,
            vec![
                Some(b"1:30".to_vec()),
                Some(b"7:40".to_vec()),
                Some(b"3:50".to_vec()),
            ],
            20,
        )
        .unwrap();
        assert_eq!(facts.jti, None);
        assert_eq!(facts.sid, Some(30));
        assert_eq!(facts.cut_off, Some((7, 40)));
        assert_eq!(facts.version, Some((3, 50)));

        let bare = TokenRef::new("j", 10);
        let facts = parse_facts(&bare, Some(b"30".to_vec()), Vec::new(), 20).unwrap();
        assert_eq!(facts.jti, Some(30));
        let error = parse_facts(&bare, None, vec![None], 20).unwrap_err();
        assert_eq!(error.kind(), RevocationStoreErrorKind::Corrupt);
        let error = parse_facts(&bare, Some(b"1:30".to_vec()), Vec::new(), 20).unwrap_err();
        assert_eq!(error.kind(), RevocationStoreErrorKind::Corrupt);
    }

    #[test]
    fn a_revoked_token_counts_until_its_until_and_not_after() {
        let bare = TokenRef::new("j", 10);
        let at = |now| {
            parse_facts(&bare, Some(b"30".to_vec()), Vec::new(), now)
                .unwrap()
                .jti
        };
        assert_eq!(at(29), Some(30));
        assert_eq!(at(30), None);
        assert_eq!(at(31), None);
    }

    #[test]
    fn builder_rejects_an_empty_prefix_and_a_zero_timeout() {
        let client = redis::Client::open("redis://127.0.0.1:1/").unwrap();
        let builder = RedisRevocationStore::builder(client);
        let builder = builder.prefix("").unwrap_err();
        assert!(matches!(builder, ConfigError::Empty { setting: "prefix" }));
        let client = redis::Client::open("redis://127.0.0.1:1/").unwrap();
        let error = RedisRevocationStore::builder(client)
            .timeout(Duration::ZERO)
            .unwrap_err();
        assert!(matches!(
            error,
            ConfigError::OutOfRange {
                setting: "timeout",
                ..
            }
        ));
    }

    #[tokio::test]
    async fn calls_to_an_unreachable_server_fail_within_the_timeout() {
        // Port 1 on loopback refuses connections.
        let client = redis::Client::open("redis://127.0.0.1:1/").unwrap();
        let store = RedisRevocationStore::builder(client)
            .timeout(Duration::from_millis(200))
            .unwrap()
            .build()
            .unwrap();
        let started = std::time::Instant::now();
        let error = store.check(&TokenRef::new("j", 10)).await.unwrap_err();
        assert!(matches!(
            error.kind(),
            RevocationStoreErrorKind::Unavailable | RevocationStoreErrorKind::Timeout
        ));
        let error = store.revoke_token("j", 10).await.unwrap_err();
        assert!(matches!(
            error.kind(),
            RevocationStoreErrorKind::Unavailable | RevocationStoreErrorKind::Timeout
        ));
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
