//! The Redis session store (feature `session`): [`RedisSessionStore`] implements
//! `tollgate-session`'s [`SessionStore`], so that several instances share their sessions.

use std::{collections::HashMap, fmt, sync::Arc, time::Duration};

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use tokio::time;
use tollgate::ConfigError;
use tollgate_session::{
    RotateOutcome, Rotation, Session, SessionStore, SessionStoreError, SessionStoreErrorKind,
};

/// Creates a session unless its id exists. KEYS: session, subject index, deadlines. ARGV: ttl,
/// created_at, deadline score, id, then the hash's field/value pairs.
const CREATE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
return 1
";

/// The rotation. KEYS: session, deadlines. ARGV: presented jti, new jti, now, new idle
/// deadline ('' for none), kept until ('' for none), kept answer, retention.
///
/// Answers `{status}` or `{status, field, value, ...}`; the rule is tollgate-session's
/// (`store::RotateOutcome`). The same rotation sent again (after a connection dropped before
/// its answer arrived) finds its own new jti in place and answers `rotated` again.
const ROTATE: &str = r"
local s = redis.call('HGETALL', KEYS[1])
if #s == 0 then return {'not_found'} end
local h = {}
for i = 1, #s, 2 do h[s[i]] = s[i + 1] end
local now = tonumber(ARGV[3])
if h['active'] ~= '1' then return {'ended'} end
local expires_at = tonumber(h['expires_at'])
if expires_at <= now then return {'expired'} end
if h['idle_expires_at'] and tonumber(h['idle_expires_at']) <= now then return {'idle'} end
if h['refresh_jti'] == ARGV[2] and h['spent_jti'] == ARGV[1] then
  table.insert(s, 1, 'rotated')
  return s
end
if h['refresh_jti'] == ARGV[1] then
  redis.call('HSET', KEYS[1], 'refresh_jti', ARGV[2], 'last_activity', ARGV[3], 'spent_jti', ARGV[1])
  local deadline = expires_at
  if ARGV[4] == '' then
    redis.call('HDEL', KEYS[1], 'idle_expires_at')
  else
    redis.call('HSET', KEYS[1], 'idle_expires_at', ARGV[4])
    deadline = math.min(deadline, tonumber(ARGV[4]))
  end
  if ARGV[5] == '' then
    redis.call('HDEL', KEYS[1], 'kept_until', 'kept_answer')
  else
    redis.call('HSET', KEYS[1], 'kept_until', ARGV[5], 'kept_answer', ARGV[6])
  end
  redis.call('ZADD', KEYS[2], deadline, h['id'])
  redis.call('EXPIRE', KEYS[1], math.max(deadline - now, 0) + tonumber(ARGV[7]))
  local after = redis.call('HGETALL', KEYS[1])
  table.insert(after, 1, 'rotated')
  return after
end
if h['spent_jti'] == ARGV[1] and h['kept_until'] and now <= tonumber(h['kept_until']) then
  return {'retried', h['kept_answer']}
end
redis.call('HSET', KEYS[1], 'active', '0')
redis.call('HDEL', KEYS[1], 'kept_until', 'kept_answer')
redis.call('ZADD', KEYS[2], 0, h['id'])
table.insert(s, 1, 'reused')
return s
";

/// Ends one session. KEYS: session, deadlines. Answers the session as it was, or `{}`.
const END: &str = r"
local s = redis.call('HGETALL', KEYS[1])
if #s == 0 then return {} end
local h = {}
for i = 1, #s, 2 do h[s[i]] = s[i + 1] end
if h['active'] ~= '1' then return {} end
redis.call('HSET', KEYS[1], 'active', '0')
redis.call('HDEL', KEYS[1], 'kept_until', 'kept_answer')
redis.call('ZADD', KEYS[2], 0, h['id'])
return s
";

/// Ends a subject's sessions. KEYS: subject index, deadlines. ARGV: session key prefix.
/// Answers the sessions that were active, as they were.
const END_ALL: &str = r"
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local key = ARGV[1] .. id
  local s = redis.call('HGETALL', key)
  if #s == 0 then
    redis.call('ZREM', KEYS[1], id)
  else
    local h = {}
    for i = 1, #s, 2 do h[s[i]] = s[i + 1] end
    if h['active'] == '1' then
      redis.call('HSET', key, 'active', '0')
      redis.call('HDEL', key, 'kept_until', 'kept_answer')
      redis.call('ZADD', KEYS[2], 0, id)
      out[#out + 1] = s
    end
  end
end
return out
";

/// A subject's live sessions, oldest first (the index's order: score, then id). KEYS: subject
/// index. ARGV: session key prefix, now. Drops index entries whose session is gone.
const LIST: &str = r"
local now = tonumber(ARGV[2])
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local s = redis.call('HGETALL', ARGV[1] .. id)
  if #s == 0 then
    redis.call('ZREM', KEYS[1], id)
  else
    local h = {}
    for i = 1, #s, 2 do h[s[i]] = s[i + 1] end
    if h['active'] == '1' and tonumber(h['expires_at']) > now
      and (not h['idle_expires_at'] or tonumber(h['idle_expires_at']) > now) then
      out[#out + 1] = s
    end
  end
end
return out
";

/// Removes up to ARGV[4] sessions whose deadline is at or before ARGV[1] (ended ones score 0).
/// KEYS: deadlines. ARGV: now, session key prefix, subject index prefix, batch size.
const PURGE: &str = r"
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[4])
for _, id in ipairs(ids) do
  local key = ARGV[2] .. id
  local subject = redis.call('HGET', key, 'subject')
  if subject then redis.call('ZREM', ARGV[3] .. subject, id) end
  redis.call('DEL', key)
  redis.call('ZREM', KEYS[1], id)
end
return #ids
";

/// How many sessions one purge script removes before the next call.
const PURGE_BATCH: usize = 500;

/// A [`SessionStore`] on Redis.
///
/// Every call is bounded by the [`timeout`](RedisSessionStoreBuilder::timeout) (one second by default) and
/// fails with [`SessionStoreErrorKind::Unavailable`] past it. A rotation that timed out may have
/// been applied: the client's retry with the same refresh token is then a reuse, which ends
/// the session unless the manager's grace interval covers it.
///
/// A call that finds its connection dropped (Redis restarted or the connection was killed
/// since the last call) is sent once more, within the same bound, on the connection the
/// [`ConnectionManager`] makes anew: the first call after a restart succeeds instead of
/// failing. Every call is safe to send twice (a rotation that was applied answers the same).
///
/// Handles are cheap to clone and share one connection (a [`ConnectionManager`] unless
/// another is given with [`RedisSessionStoreBuilder::with_connection`]).
///
/// # Key layout
///
/// ```text
/// <prefix>session:<sid>        HASH  the session, plus the refresh jti spent last and the
///                                    answer kept for the grace interval
/// <prefix>sessions:<subject>   ZSET  the subject's session ids, scored by creation time
/// <prefix>session-deadlines    ZSET  every session id, scored by its deadline (0 once ended):
///                                    what a purge removes
/// ```
///
/// Every operation that changes more than one key, and the rotation, is one Lua script, which
/// Redis runs without interleaving: [`rotate`](SessionStore::rotate) reads the session,
/// decides and writes in one step, so of concurrent refreshes of one token exactly one wins.
/// Each session hash also expires on its own, [`retention`](RedisSessionStoreBuilder::retention) (one day by
/// default) after its deadline, in case no cleanup task purges it.
///
/// With Redis Cluster, give the store a prefix with a hash tag (`{sessions}:`) so that all its
/// keys live in one slot: the scripts for listing, ending all and purging reach the session
/// hashes through the indexes.
///
/// # Example
///
/// ```no_run
/// use tollgate::{StandardClaims, key::Algorithm};
/// use tollgate_redis::RedisSessionStore;
/// use tollgate_session::{ClaimsError, Issuer, NewSession, Session, SessionManager, SigningKey};
///
/// #[tokio::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let client = redis::Client::open("redis://127.0.0.1:6379/")?;
///     let store = RedisSessionStore::builder(client).prefix("myapp:")?.build()?;
///
///     let issuer = Issuer::new("crm", "crm-api", SigningKey::generate("k1", Algorithm::ES256)?);
///     let claims = |_: Session| async { Ok::<_, ClaimsError>(StandardClaims::default()) };
///     let sessions = SessionManager::new(issuer, store, claims)?;
///     let (_session, pair) = sessions.login(NewSession::new("42")).await?;
///     let _next = sessions.refresh(pair.refresh_token()).await?;
///     Ok(())
/// }
/// ```
pub struct RedisSessionStore<C = ConnectionManager> {
    inner: Arc<Inner<C>>,
}

struct Inner<C> {
    connection: C,
    prefix: String,
    timeout: Duration,
    retention: i64,
    scripts: Scripts,
}

struct Scripts {
    create: redis::Script,
    rotate: redis::Script,
    end: redis::Script,
    end_all: redis::Script,
    list: redis::Script,
    purge: redis::Script,
}

impl<C> Clone for RedisSessionStore<C> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<C> fmt::Debug for RedisSessionStore<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSessionStore")
            .field("prefix", &self.inner.prefix)
            .field("timeout", &self.inner.timeout)
            .field("retention", &self.inner.retention)
            .finish_non_exhaustive()
    }
}

impl RedisSessionStore {
    /// The default prefix of every key.
    pub const DEFAULT_PREFIX: &'static str = "tollgate:";

    /// The default bound on every store call.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

    /// The default retention: how long a session hash outlives its deadline when no purge
    /// removes it.
    pub const DEFAULT_RETENTION: Duration = Duration::from_secs(24 * 3600);

    /// A builder for a store on the server `client` points at, with a [`ConnectionManager`]
    /// that reconnects with backoff (at most 1 s between attempts).
    pub fn builder(client: redis::Client) -> RedisSessionStoreBuilder {
        RedisSessionStoreBuilder::new(Box::new(move || {
            ConnectionManager::new_lazy_with_config(
                client,
                ConnectionManagerConfig::new().set_max_delay(Duration::from_secs(1)),
            )
        }))
    }
}

impl<C> RedisSessionStore<C> {
    /// The prefix of every key.
    #[must_use]
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// The bound on every call.
    #[must_use]
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    fn session_key(&self, id: &str) -> String {
        format!("{}session:{id}", self.inner.prefix)
    }

    fn subject_key(&self, subject: &str) -> String {
        format!("{}sessions:{subject}", self.inner.prefix)
    }

    fn deadlines_key(&self) -> String {
        format!("{}session-deadlines", self.inner.prefix)
    }
}

impl<C> RedisSessionStore<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    /// Send `call` and read its answer, within the timeout. When the connection turns out to
    /// have dropped (Redis restarted since the last call), it is sent once more on the
    /// connection the manager makes anew, so the first call after a restart succeeds; the
    /// `bool` says whether it was. Every call is safe to send again: reads and purges repeat
    /// as they are, a rotation already applied answers `rotated` again (see `ROTATE`), and
    /// the callers of `create`, `end` and `end_all` read a repeated answer accordingly.
    async fn call<T: redis::FromRedisValue>(
        &self,
        call: Call<'_>,
    ) -> Result<(T, bool), SessionStoreError> {
        let attempts = async {
            let mut connection = self.inner.connection.clone();
            match call.send(&mut connection).await {
                Err(error) if error.is_connection_dropped() => {
                    tracing::debug!(
                        target: "tollgate_redis::session",
                        %error,
                        "session store connection dropped: sending the call again"
                    );
                    call.send(&mut connection).await.map(|value| (value, true))
                }
                answer => answer.map(|value| (value, false)),
            }
        };
        match time::timeout(self.inner.timeout, attempts).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(error)) => Err(SessionStoreError::new(
                SessionStoreErrorKind::Unavailable,
                error,
            )),
            Err(_) => Err(SessionStoreError::new(
                SessionStoreErrorKind::Unavailable,
                "the session store timed out",
            )),
        }
    }

    /// [`call`](Self::call), for the answer alone.
    async fn answer<T: redis::FromRedisValue>(
        &self,
        call: Call<'_>,
    ) -> Result<T, SessionStoreError> {
        self.call(call).await.map(|(value, _)| value)
    }
}

/// One store call: a command or a script, which can be sent again.
#[derive(Clone, Copy)]
enum Call<'a> {
    Command(&'a redis::Cmd),
    Script(&'a redis::ScriptInvocation<'a>),
}

impl Call<'_> {
    async fn send<T, C>(self, connection: &mut C) -> redis::RedisResult<T>
    where
        T: redis::FromRedisValue,
        C: ConnectionLike + Send + Sync,
    {
        match self {
            Self::Command(command) => command.query_async(connection).await,
            Self::Script(script) => script.invoke_async(connection).await,
        }
    }
}

impl<C> SessionStore for RedisSessionStore<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    async fn create(&self, session: &Session) -> Result<(), SessionStoreError> {
        let deadline = if session.active {
            session.deadline()
        } else {
            0
        };
        let ttl = session
            .deadline()
            .saturating_sub(session.last_activity)
            .max(0)
            .saturating_add(self.inner.retention);
        let mut invocation = self.inner.scripts.create.key(self.session_key(&session.id));
        invocation
            .key(self.subject_key(&session.subject))
            .key(self.deadlines_key())
            .arg(ttl)
            .arg(session.created_at)
            .arg(deadline)
            .arg(&session.id);
        for (field, value) in fields(session) {
            invocation.arg(field).arg(value);
        }
        let (created, repeated): (i64, bool) = self.call(Call::Script(&invocation)).await?;
        // Sent again after a dropped connection, an existing session is the one the first
        // attempt stored: session ids are random, no other caller has this one.
        if created == 1 || repeated {
            Ok(())
        } else {
            Err(SessionStoreError::from_kind(
                SessionStoreErrorKind::Conflict,
            ))
        }
    }

    async fn get(&self, id: &str) -> Result<Option<Session>, SessionStoreError> {
        let mut command = redis::cmd("HGETALL");
        command.arg(self.session_key(id));
        let flat: Vec<String> = self.answer(Call::Command(&command)).await?;
        if flat.is_empty() {
            return Ok(None);
        }
        parse_session(&flat).map(Some)
    }

    async fn rotate(&self, rotation: &Rotation<'_>) -> Result<RotateOutcome, SessionStoreError> {
        let (kept_until, kept_answer) = match rotation.grace {
            Some((until, answer)) => (until.to_string(), answer),
            None => (String::new(), ""),
        };
        let mut invocation = self
            .inner
            .scripts
            .rotate
            .key(self.session_key(rotation.session_id));
        invocation
            .key(self.deadlines_key())
            .arg(rotation.presented_jti)
            .arg(rotation.new_jti)
            .arg(rotation.now)
            .arg(
                rotation
                    .idle_expires_at
                    .map(|idle| idle.to_string())
                    .unwrap_or_default(),
            )
            .arg(kept_until)
            .arg(kept_answer)
            .arg(self.inner.retention);
        let reply: Vec<String> = self.answer(Call::Script(&invocation)).await?;
        let (status, rest) = reply
            .split_first()
            .ok_or_else(|| corrupt("an empty rotation answer"))?;
        Ok(match status.as_str() {
            "rotated" => RotateOutcome::Rotated(parse_session(rest)?),
            "reused" => RotateOutcome::Reused(parse_session(rest)?),
            "retried" => RotateOutcome::Retried(
                rest.first()
                    .cloned()
                    .ok_or_else(|| corrupt("a retry without its answer"))?,
            ),
            "not_found" => RotateOutcome::NotFound,
            "ended" => RotateOutcome::Ended,
            "expired" => RotateOutcome::Expired,
            "idle" => RotateOutcome::Idle,
            _ => return Err(corrupt("an unknown rotation answer")),
        })
    }

    async fn list(&self, subject: &str, now: i64) -> Result<Vec<Session>, SessionStoreError> {
        let mut invocation = self.inner.scripts.list.key(self.subject_key(subject));
        invocation.arg(self.session_key("")).arg(now);
        let rows: Vec<Vec<String>> = self.answer(Call::Script(&invocation)).await?;
        rows.iter().map(|row| parse_session(row)).collect()
    }

    async fn end(&self, id: &str) -> Result<Option<Session>, SessionStoreError> {
        let mut invocation = self.inner.scripts.end.key(self.session_key(id));
        invocation.key(self.deadlines_key());
        let flat: Vec<String> = self.answer(Call::Script(&invocation)).await?;
        if flat.is_empty() {
            return Ok(None);
        }
        parse_session(&flat).map(Some)
    }

    async fn end_all(&self, subject: &str) -> Result<Vec<Session>, SessionStoreError> {
        let mut invocation = self.inner.scripts.end_all.key(self.subject_key(subject));
        invocation
            .key(self.deadlines_key())
            .arg(self.session_key(""));
        let rows: Vec<Vec<String>> = self.answer(Call::Script(&invocation)).await?;
        rows.iter().map(|row| parse_session(row)).collect()
    }

    async fn purge(&self, now: i64) -> Result<u64, SessionStoreError> {
        let mut purged = 0_u64;
        loop {
            let mut invocation = self.inner.scripts.purge.key(self.deadlines_key());
            invocation
                .arg(now)
                .arg(self.session_key(""))
                .arg(self.subject_key(""))
                .arg(PURGE_BATCH);
            let removed: u64 = self.answer(Call::Script(&invocation)).await?;
            purged += removed;
            if removed < PURGE_BATCH as u64 {
                return Ok(purged);
            }
        }
    }
}

/// The hash fields of a new session (optional ones only when set).
fn fields(session: &Session) -> Vec<(&'static str, String)> {
    let mut fields = vec![
        ("id", session.id.clone()),
        ("subject", session.subject.clone()),
        ("created_at", session.created_at.to_string()),
        ("last_activity", session.last_activity.to_string()),
        ("expires_at", session.expires_at.to_string()),
        ("refresh_jti", session.refresh_jti.clone()),
        ("active", if session.active { "1" } else { "0" }.to_owned()),
    ];
    let optional = [
        ("device_info", session.device_info.clone()),
        ("ip_address", session.ip_address.clone()),
        ("user_agent", session.user_agent.clone()),
        (
            "idle_expires_at",
            session.idle_expires_at.map(|idle| idle.to_string()),
        ),
    ];
    fields.extend(
        optional
            .into_iter()
            .filter_map(|(field, value)| value.map(|value| (field, value))),
    );
    fields
}

/// A session from a flat `HGETALL` answer.
fn parse_session(flat: &[String]) -> Result<Session, SessionStoreError> {
    let mut map: HashMap<&str, &str> = HashMap::with_capacity(flat.len() / 2);
    for pair in flat.chunks(2) {
        if let [field, value] = pair {
            map.insert(field, value);
        } else {
            return Err(corrupt("an odd number of hash members"));
        }
    }
    let text = |field: &str| -> Result<String, SessionStoreError> {
        map.get(field)
            .map(|value| (*value).to_owned())
            .ok_or_else(|| corrupt("a session without one of its fields"))
    };
    let number = |field: &str| -> Result<i64, SessionStoreError> {
        map.get(field)
            .ok_or_else(|| corrupt("a session without one of its fields"))?
            .parse()
            .map_err(|_| corrupt("a session time that is not a number"))
    };
    let optional = |field: &str| map.get(field).map(|value| (*value).to_owned());
    Ok(Session {
        id: text("id")?,
        subject: text("subject")?,
        device_info: optional("device_info"),
        ip_address: optional("ip_address"),
        user_agent: optional("user_agent"),
        created_at: number("created_at")?,
        last_activity: number("last_activity")?,
        expires_at: number("expires_at")?,
        idle_expires_at: map
            .get("idle_expires_at")
            .map(|value| value.parse())
            .transpose()
            .map_err(|_| corrupt("a session time that is not a number"))?,
        refresh_jti: text("refresh_jti")?,
        active: map.get("active") == Some(&"1"),
    })
}

fn corrupt(what: &'static str) -> SessionStoreError {
    SessionStoreError::new(SessionStoreErrorKind::Corrupt, what)
}

/// How the builder makes the store's connection.
type Connect<C> = Box<dyn FnOnce() -> redis::RedisResult<C> + Send>;

/// A builder for [`RedisSessionStore`], from [`RedisSessionStore::builder`].
///
/// See [`RedisSessionStore`] for an example.
#[must_use]
pub struct RedisSessionStoreBuilder<C = ConnectionManager> {
    connect: Connect<C>,
    prefix: String,
    timeout: Duration,
    retention: Duration,
}

impl<C> fmt::Debug for RedisSessionStoreBuilder<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSessionStoreBuilder")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

impl<C> RedisSessionStoreBuilder<C> {
    fn new(connect: Connect<C>) -> Self {
        Self {
            connect,
            prefix: RedisSessionStore::DEFAULT_PREFIX.to_owned(),
            timeout: RedisSessionStore::DEFAULT_TIMEOUT,
            retention: RedisSessionStore::DEFAULT_RETENTION,
        }
    }

    /// Use `connection` instead of the one the builder would make (a cluster or sentinel
    /// connection, or any other reconnecting one).
    pub fn with_connection<D: Send + 'static>(self, connection: D) -> RedisSessionStoreBuilder<D> {
        RedisSessionStoreBuilder {
            connect: Box::new(move || Ok(connection)),
            prefix: self.prefix,
            timeout: self.timeout,
            retention: self.retention,
        }
    }

    /// The prefix of every key (default `tollgate:`); the keys are
    /// `<prefix>session:<sid>`, `<prefix>sessions:<subject>` and
    /// `<prefix>session-deadlines`. With Redis Cluster, use a hash-tagged prefix
    /// (`{sessions}:`).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Empty`] when `prefix` is empty.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Result<Self, ConfigError> {
        self.prefix = crate::settings::prefix(prefix)?;
        Ok(self)
    }

    /// The bound on every call (default one second).
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] when `timeout` is zero.
    pub fn timeout(mut self, timeout: Duration) -> Result<Self, ConfigError> {
        self.timeout = crate::settings::timeout(timeout)?;
        Ok(self)
    }

    /// How long a session hash outlives its deadline when no purge removes it (default one
    /// day, at least one second).
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention.max(Duration::from_secs(1));
        self
    }

    /// Build the store. Nothing is sent to Redis yet: the connection is made on first use.
    ///
    /// # Errors
    ///
    /// When the connection cannot be set up from its configuration.
    ///
    /// # Panics
    ///
    /// When called outside a Tokio runtime with the default connection (it needs one).
    pub fn build(self) -> Result<RedisSessionStore<C>, redis::RedisError>
    where
        C: ConnectionLike + Clone + Send + Sync + 'static,
    {
        Ok(RedisSessionStore {
            inner: Arc::new(Inner {
                connection: (self.connect)()?,
                prefix: self.prefix,
                timeout: self.timeout,
                retention: i64::try_from(self.retention.as_secs()).unwrap_or(i64::MAX),
                scripts: Scripts {
                    create: redis::Script::new(CREATE),
                    rotate: redis::Script::new(ROTATE),
                    end: redis::Script::new(END),
                    end_all: redis::Script::new(END_ALL),
                    list: redis::Script::new(LIST),
                    purge: redis::Script::new(PURGE),
                },
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_round_trip_through_hash_fields() {
        let session = Session {
            id: "s".to_owned(),
            subject: "u".to_owned(),
            device_info: Some("phone".to_owned()),
            ip_address: None,
            user_agent: Some("ua".to_owned()),
            created_at: 1,
            last_activity: 2,
            expires_at: 3,
            idle_expires_at: Some(4),
            refresh_jti: "j".to_owned(),
            active: false,
        };
        let flat: Vec<String> = fields(&session)
            .into_iter()
            .flat_map(|(field, value)| [field.to_owned(), value])
            .collect();
        assert_eq!(parse_session(&flat).unwrap(), session);
        assert!(parse_session(&flat[..3]).is_err());
        assert!(parse_session(&["id".to_owned(), "s".to_owned()]).is_err());
    }
}
