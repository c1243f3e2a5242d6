//! The coherent local cache: an in-process moka cache in front of Redis, kept coherent by the
//! revocation channel.

use std::{
    future::Future,
    hash::{BuildHasher, RandomState},
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use futures_core::Stream;
use moka::{Expiry, sync::Cache};
use redis::aio::{PubSubSink, PubSubStream};
use tokio::time::{self, MissedTickBehavior};
use tollgate::{
    ConfigError,
    revocation::{RevocationEntries, RevocationStatus, TokenRef},
};

use super::keys::Kind;
use crate::telemetry;

/// Settings of the local cache in front of Redis, for
/// [`RedisRevocationStoreBuilder::local_cache`](crate::RedisRevocationStoreBuilder::local_cache).
///
/// Each store instance keeps the answers it fetched from Redis in memory and subscribes to the
/// revocation channel: every write through any instance is published there, and every
/// instance drops the entries it concerns at once. While the subscription is down, the cache
/// is bypassed (every check goes to Redis) and emptied, and a background task resubscribes
/// with backoff.
///
/// What is cached, and for how long:
///
/// - a revoked `jti` or an ended `sid`: until its `until` (such an entry can only be extended,
///   never withdrawn, so it is never wrong);
/// - "nothing known about this `jti` / `sid`" and the subject's cut-off and permission version
///   (which a later write can change): at most [`time_to_live`](Self::time_to_live).
///
/// # Propagation bound
///
/// While the subscription is up, a revocation written through one instance is enforced by
/// every other instance as soon as its message arrives: one pub/sub delivery (well under a
/// millisecond on a local network). A lost connection is noticed at once when it is closed and
/// within two [`heartbeat`](Self::heartbeat)s when it goes silent; from then on the instance
/// asks Redis directly. Whatever happens to the messages, no instance trusts an answer that a
/// later write could change for longer than `time_to_live` (plus the one round trip that
/// fetched it): that is the guaranteed bound, 2 s by default.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use tollgate_redis::LocalCache;
///
/// let cache = LocalCache::new()
///     .max_capacity(50_000)
///     .time_to_live(Duration::from_secs(1))?
///     .heartbeat(Duration::from_millis(500))?;
/// assert_eq!(cache.propagation_bound(), Duration::from_secs(1));
/// # Ok::<(), tollgate::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct LocalCache {
    max_capacity: u64,
    time_to_live: Duration,
    heartbeat: Duration,
}

impl LocalCache {
    /// The defaults: 100 000 entries per kind (tokens, sessions, subjects), a `time_to_live`
    /// of 2 s and a heartbeat every second.
    pub fn new() -> Self {
        Self {
            max_capacity: 100_000,
            time_to_live: Duration::from_secs(2),
            heartbeat: Duration::from_secs(1),
        }
    }

    /// The most entries kept per kind (tokens, sessions, subjects). Dropping an entry is always
    /// safe: the next check asks Redis.
    pub fn max_capacity(mut self, max_capacity: u64) -> Self {
        self.max_capacity = max_capacity;
        self
    }

    /// The longest an answer that a later write could change ("nothing known", a cut-off, a
    /// version) is trusted: the guaranteed propagation bound.
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] when `ttl` is zero.
    pub fn time_to_live(mut self, ttl: Duration) -> Result<Self, ConfigError> {
        if ttl.is_zero() {
            return Err(ConfigError::OutOfRange {
                setting: "time_to_live",
                expected: "more than zero",
            });
        }
        self.time_to_live = ttl;
        Ok(self)
    }

    /// How often the subscription is checked with a `PING` on its connection; a `PING` not
    /// answered within the same duration counts as a lost subscription.
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] when `interval` is zero.
    pub fn heartbeat(mut self, interval: Duration) -> Result<Self, ConfigError> {
        if interval.is_zero() {
            return Err(ConfigError::OutOfRange {
                setting: "heartbeat",
                expected: "more than zero",
            });
        }
        self.heartbeat = interval;
        Ok(self)
    }

    /// The guaranteed propagation bound: the `time_to_live` (see the type docs).
    #[must_use]
    pub fn propagation_bound(&self) -> Duration {
        self.time_to_live
    }

    pub(crate) fn heartbeat_interval(&self) -> Duration {
        self.heartbeat
    }
}

impl Default for LocalCache {
    fn default() -> Self {
        Self::new()
    }
}

/// A cached "is this `jti` revoked" or "has this `sid` ended".
#[derive(Debug, Clone, Copy)]
struct Flag {
    present: bool,
    ttl: Duration,
}

/// A cached cut-off and permission version of a subject.
#[derive(Debug, Clone, Copy)]
struct Subject {
    cut_off: Option<i64>,
    version: Option<u64>,
    ttl: Duration,
}

trait Ttl {
    fn ttl(&self) -> Duration;
}

impl Ttl for Flag {
    fn ttl(&self) -> Duration {
        self.ttl
    }
}

impl Ttl for Subject {
    fn ttl(&self) -> Duration {
        self.ttl
    }
}

/// Each entry lives for the time it carries, counted from its last write.
struct EntryTtl;

impl<V: Ttl> Expiry<String, V> for EntryTtl {
    fn expire_after_create(
        &self,
        _key: &String,
        value: &V,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(value.ttl())
    }

    fn expire_after_update(
        &self,
        _key: &String,
        value: &V,
        _updated_at: Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        Some(value.ttl())
    }
}

/// What Redis answered about a token: for each entry found, its value and its `until`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Facts {
    pub(crate) jti: Option<i64>,
    pub(crate) sid: Option<i64>,
    pub(crate) cut_off: Option<(i64, i64)>,
    pub(crate) version: Option<(u64, i64)>,
}

impl Facts {
    pub(crate) fn decide(&self, token: &TokenRef<'_>) -> RevocationStatus {
        RevocationEntries {
            token_revoked: self.jti.is_some(),
            session_ended: self.sid.is_some(),
            cut_off: self.cut_off.map(|(at, _)| at),
            current_version: self.version.map(|(version, _)| version),
        }
        .status_of(token)
    }
}

/// The cache and its coherence state, shared by the store handles and the subscriber task.
///
/// Coherence: `epoch` counts every event that can make a cached answer wrong (a published
/// write, a local write, the subscription going up or down). A check notes the epoch before
/// it asks Redis and, after it has cached the answer, takes the entries out again if the epoch
/// moved meanwhile: an invalidation that raced with the round trip is never undone by it.
/// Invalidations bump the epoch first and remove the entry second.
pub(crate) struct CacheState {
    tokens: Cache<String, Flag>,
    sessions: Cache<String, Flag>,
    subjects: Cache<String, Subject>,
    epoch: AtomicU64,
    subscribed: AtomicBool,
    time_to_live: Duration,
}

impl std::fmt::Debug for CacheState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheState")
            .field("tokens", &self.tokens.entry_count())
            .field("sessions", &self.sessions.entry_count())
            .field("subjects", &self.subjects.entry_count())
            .field("subscribed", &self.subscribed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl CacheState {
    pub(crate) fn new(settings: &LocalCache) -> Self {
        fn build<V: Ttl + Clone + Send + Sync + 'static>(capacity: u64) -> Cache<String, V> {
            Cache::builder()
                .max_capacity(capacity)
                .expire_after(EntryTtl)
                .build()
        }
        telemetry::subscribed(false);
        Self {
            tokens: build(settings.max_capacity),
            sessions: build(settings.max_capacity),
            subjects: build(settings.max_capacity),
            epoch: AtomicU64::new(0),
            subscribed: AtomicBool::new(false),
            time_to_live: settings.time_to_live,
        }
    }

    /// The current epoch, when the cache may be used (the subscription is up).
    pub(crate) fn begin(&self) -> Option<u64> {
        let epoch = self.epoch.load(Ordering::SeqCst);
        self.subscribed.load(Ordering::SeqCst).then_some(epoch)
    }

    pub(crate) fn is_subscribed(&self) -> bool {
        self.subscribed.load(Ordering::SeqCst)
    }

    /// The answer from memory, if every entry the token needs is cached.
    pub(crate) fn lookup(&self, token: &TokenRef<'_>) -> Option<RevocationStatus> {
        if self.tokens.get(token.jti)?.present {
            return Some(RevocationStatus::Revoked);
        }
        let session_ended = match token.sid {
            Some(sid) => self.sessions.get(sid)?.present,
            None => false,
        };
        let (cut_off, version) = match token.sub {
            Some(sub) => {
                let subject = self.subjects.get(sub)?;
                (subject.cut_off, subject.version)
            }
            None => (None, None),
        };
        let entries = RevocationEntries {
            token_revoked: false,
            session_ended,
            cut_off,
            current_version: version,
        };
        Some(entries.status_of(token))
    }

    /// Cache what Redis answered about `token`, unless the epoch moved since `epoch`.
    pub(crate) fn fill(&self, epoch: u64, token: &TokenRef<'_>, facts: &Facts) {
        let now = unix_now();
        let remaining = |until: i64| {
            u64::try_from(until.saturating_sub(now))
                .ok()
                .filter(|secs| *secs > 0)
                .map(Duration::from_secs)
        };
        let flag = |until: Option<i64>| match until {
            Some(until) => remaining(until).map(|ttl| Flag { present: true, ttl }),
            None => Some(Flag {
                present: false,
                ttl: self.time_to_live,
            }),
        };

        if let Some(flag) = flag(facts.jti) {
            self.tokens.insert(token.jti.to_owned(), flag);
        }
        if let (Some(sid), Some(flag)) = (token.sid, flag(facts.sid)) {
            self.sessions.insert(sid.to_owned(), flag);
        }
        if let Some(sub) = token.sub {
            let mut ttl = Some(self.time_to_live);
            for until in [facts.cut_off.map(|f| f.1), facts.version.map(|f| f.1)]
                .into_iter()
                .flatten()
            {
                ttl = ttl.zip(remaining(until)).map(|(a, b)| a.min(b));
            }
            if let Some(ttl) = ttl {
                let subject = Subject {
                    cut_off: facts.cut_off.map(|f| f.0),
                    version: facts.version.map(|f| f.0),
                    ttl,
                };
                self.subjects.insert(sub.to_owned(), subject);
            }
        }

        if self.epoch.load(Ordering::SeqCst) != epoch {
            self.tokens.invalidate(token.jti);
            if let Some(sid) = token.sid {
                self.sessions.invalidate(sid);
            }
            if let Some(sub) = token.sub {
                self.subjects.invalidate(sub);
            }
        }
    }

    /// Forget what is cached about `id` of `kind` (a write through this instance or a message).
    pub(crate) fn invalidate(&self, kind: Kind, id: &str) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        match kind {
            Kind::Jti => self.tokens.invalidate(id),
            Kind::Sid => self.sessions.invalidate(id),
            Kind::Cut | Kind::Ver => self.subjects.invalidate(id),
        }
    }

    fn invalidate_all(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.tokens.invalidate_all();
        self.sessions.invalidate_all();
        self.subjects.invalidate_all();
    }

    /// A message arrived on the channel.
    fn apply(&self, message: &[u8]) {
        telemetry::invalidation_received();
        match Kind::parse_message(message) {
            Some((kind, id)) => self.invalidate(kind, id),
            // Not a message this version writes: forget everything rather than guess.
            None => self.invalidate_all(),
        }
    }

    /// The subscription is confirmed: start trusting the (emptied) cache.
    fn mark_up(&self) {
        self.invalidate_all();
        telemetry::subscribed(true);
        self.subscribed.store(true, Ordering::SeqCst);
    }

    /// The subscription is lost: count it, stop trusting the cache and empty it.
    fn mark_down(&self) {
        telemetry::subscription_lost();
        telemetry::subscribed(false);
        self.subscribed.store(false, Ordering::SeqCst);
        self.invalidate_all();
    }
}

/// The current Unix time in whole seconds, by this machine's clock.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Where the subscription connects.
#[derive(Debug, Clone)]
pub(crate) enum SubscribeVia {
    /// This server.
    Client(redis::Client),
    /// The current master of a Sentinel deployment, asked again on every resubscription.
    #[cfg(feature = "sentinel")]
    Sentinel(super::sentinel::SentinelConnection),
}

impl SubscribeVia {
    async fn client(&self) -> redis::RedisResult<redis::Client> {
        match self {
            Self::Client(client) => Ok(client.clone()),
            #[cfg(feature = "sentinel")]
            Self::Sentinel(sentinel) => sentinel.master_client().await,
        }
    }
}

/// What the subscriber calls when it loses the subscription.
pub(crate) type OnLost = Box<dyn Fn() + Send + Sync>;

/// The background task that keeps the subscription; aborted when the last store handle goes.
#[derive(Debug)]
pub(crate) struct Subscriber(tokio::task::AbortHandle);

impl Subscriber {
    /// Spawn the task on the current Tokio runtime. `on_lost` runs each time the subscription
    /// is lost (the store then probes Redis).
    pub(crate) fn spawn(
        via: SubscribeVia,
        channel: String,
        state: Arc<CacheState>,
        heartbeat: Duration,
        on_lost: OnLost,
    ) -> Self {
        let task = tokio::spawn(subscribe_loop(via, channel, state, heartbeat, on_lost));
        Self(task.abort_handle())
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.0.abort();
    }
}

const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

async fn subscribe_loop(
    via: SubscribeVia,
    channel: String,
    state: Arc<CacheState>,
    heartbeat: Duration,
    on_lost: OnLost,
) {
    let mut failures: u32 = 0;
    loop {
        match time::timeout(heartbeat, subscribe(&via, &channel)).await {
            Ok(Ok((sink, stream))) => {
                failures = 0;
                state.mark_up();
                tracing::debug!(channel = %channel, "subscribed to the revocation channel");
                let reason = pump(sink, stream, &state, heartbeat).await;
                state.mark_down();
                on_lost();
                tracing::warn!(
                    channel = %channel,
                    reason,
                    "revocation channel lost: local cache bypassed until resubscribed"
                );
            }
            Ok(Err(error)) => {
                tracing::debug!(channel = %channel, %error, "resubscribing failed");
            }
            Err(_) => {
                tracing::debug!(channel = %channel, "resubscribing timed out");
            }
        }
        failures = failures.saturating_add(1);
        time::sleep(backoff(failures)).await;
    }
}

async fn subscribe(
    via: &SubscribeVia,
    channel: &str,
) -> redis::RedisResult<(PubSubSink, PubSubStream)> {
    let (mut sink, stream) = via.client().await?.get_async_pubsub().await?.split();
    sink.subscribe(channel).await?;
    Ok((sink, stream))
}

type Ping = Pin<
    Box<dyn Future<Output = Result<redis::RedisResult<redis::Value>, time::error::Elapsed>> + Send>,
>;

/// Apply messages until the subscription is lost; returns why.
async fn pump(
    sink: PubSubSink,
    mut stream: PubSubStream,
    state: &CacheState,
    heartbeat: Duration,
) -> &'static str {
    let mut ticks = time::interval_at(time::Instant::now() + heartbeat, heartbeat);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut ping: Option<Ping> = None;
    loop {
        tokio::select! {
            message = std::future::poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)) => {
                match message {
                    Some(message) => state.apply(message.get_payload_bytes()),
                    None => return "connection closed",
                }
            }
            _ = ticks.tick(), if ping.is_none() => {
                let mut sink = sink.clone();
                ping = Some(Box::pin(time::timeout(heartbeat, async move {
                    sink.ping::<redis::Value>().await
                })));
            }
            answer = async {
                match ping.as_mut() {
                    Some(ping) => ping.await,
                    None => std::future::pending().await,
                }
            }, if ping.is_some() => {
                ping = None;
                match answer {
                    Ok(Ok(_)) => {}
                    Ok(Err(_)) => return "heartbeat failed",
                    Err(_) => return "heartbeat timed out",
                }
            }
        }
    }
}

/// Exponential backoff from 50 ms to 2 s, with jitter (half to all of the step).
pub(crate) fn backoff(failures: u32) -> Duration {
    let step = MIN_BACKOFF
        .saturating_mul(1 << failures.saturating_sub(1).min(16))
        .min(MAX_BACKOFF);
    let jitter = RandomState::new().hash_one(failures) % 1024;
    step / 2 + step / 2 * u32::try_from(jitter).unwrap_or(0) / 1024
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token<'a>(jti: &'a str, sid: Option<&'a str>, sub: Option<&'a str>) -> TokenRef<'a> {
        let mut token = TokenRef::new(jti, 4_000_000_000);
        token.sid = sid;
        token.sub = sub;
        token.iat = Some(100);
        token.ver = Some(2);
        token
    }

    fn up(settings: &LocalCache) -> CacheState {
        let state = CacheState::new(settings);
        state.mark_up();
        state
    }

    #[test]
    fn nothing_is_used_while_not_subscribed() {
        let state = CacheState::new(&LocalCache::new());
        assert_eq!(state.begin(), None);
        state.mark_up();
        assert!(state.begin().is_some());
        state.mark_down();
        assert_eq!(state.begin(), None);
    }

    #[test]
    fn filled_answers_are_served_from_memory() {
        let state = up(&LocalCache::new());
        let t = token("j", Some("s"), Some("u"));
        assert_eq!(state.lookup(&t), None);
        let epoch = state.begin().unwrap();
        state.fill(epoch, &t, &Facts::default());
        assert_eq!(state.lookup(&t), Some(RevocationStatus::Active));

        let facts = Facts {
            version: Some((3, 4_000_000_000)),
            ..Facts::default()
        };
        state.fill(state.begin().unwrap(), &t, &facts);
        assert_eq!(state.lookup(&t), Some(RevocationStatus::Stale));
    }

    #[test]
    fn an_invalidation_during_the_round_trip_wins() {
        let state = up(&LocalCache::new());
        let t = token("j", Some("s"), Some("u"));
        let epoch = state.begin().unwrap();
        // A message about an unrelated entry arrives while the check waits for Redis.
        state.apply(b"jti:other");
        state.fill(epoch, &t, &Facts::default());
        assert_eq!(state.lookup(&t), None);
    }

    #[test]
    fn messages_invalidate_the_entries_they_name() {
        let state = up(&LocalCache::new());
        let t = token("j", Some("s"), Some("u"));
        for message in [&b"jti:j"[..], b"sid:s", b"cut:u", b"ver:u", b"unknown"] {
            state.fill(state.begin().unwrap(), &t, &Facts::default());
            assert!(state.lookup(&t).is_some());
            state.apply(message);
            assert_eq!(state.lookup(&t), None, "{message:?}");
        }
    }

    #[test]
    fn expired_revocations_are_not_cached() {
        let state = up(&LocalCache::new());
        let t = token("j", None, None);
        let facts = Facts {
            jti: Some(1),
            ..Facts::default()
        };
        state.fill(state.begin().unwrap(), &t, &facts);
        assert_eq!(state.lookup(&t), None);
    }

    #[test]
    fn losing_the_subscription_empties_the_cache() {
        let state = up(&LocalCache::new());
        let t = token("j", None, None);
        state.fill(state.begin().unwrap(), &t, &Facts::default());
        state.mark_down();
        state.mark_up();
        assert_eq!(state.lookup(&t), None);
    }

    #[test]
    fn settings_reject_zero_durations() {
        assert!(LocalCache::new().time_to_live(Duration::ZERO).is_err());
        assert!(LocalCache::new().heartbeat(Duration::ZERO).is_err());
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        for failures in 1..40 {
            let delay = backoff(failures);
            assert!(
                delay >= MIN_BACKOFF / 2 && delay <= MAX_BACKOFF,
                "{delay:?}"
            );
        }
        assert!(backoff(30) >= MAX_BACKOFF / 2);
    }
}
