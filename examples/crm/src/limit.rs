//! Login rate limiting per client address and per account, with the GCRA (a burst of `count`,
//! then one more every `per / count`).
//!
//! An attempt counts against its client address first (the TCP peer, or the address a
//! trusted proxy forwards: see [`Client`](crate::routes::Client)), then against the account
//! it names: the user's id when the username or email is known (so both count against one
//! budget), else the identifier as typed (trimmed, lowercased, at most 320 characters kept). A
//! password change counts against the caller's account too: the old password cannot be
//! guessed faster there than at login.
//!
//! With `--redis-url` the budgets are kept in Redis, so that every instance on that Redis
//! enforces one budget per client and per account: each check is one atomic script call
//! ([`GCRA_SCRIPT`]) under the keys `crm:login:<rate>:ip:<address>` and
//! `crm:login:<rate>:account:<SHA-256 of the account, 32 hex digits>`, which expire once
//! their budget is full again. A check Redis does not answer within [`REDIS_TIMEOUT`] (an
//! error, or no answer) is made on this instance's own budgets instead, never skipped: a
//! warning is logged when such an outage starts and an info line when Redis answers again.
//! Without Redis, the budgets are this instance's (governor's keyed limiters).

use std::{
    fmt,
    net::IpAddr,
    sync::{
        Arc, Weak,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use aws_lc_rs::digest;
use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};
use tollgate_redis::redis::{Script, aio::ConnectionManager};

use crate::config::LoginRate;

/// How long a check waits for Redis before it is made on this instance's budgets.
pub const REDIS_TIMEOUT: Duration = Duration::from_millis(250);

/// The GCRA as one Redis script: `KEYS[1]` is the budget, `ARGV[1]` the emission interval
/// (`per / count`) and `ARGV[2]` the burst tolerance (the interval times `count`), both in
/// microseconds. The clock is Redis's own (`TIME`), the same for every instance. Answers 0
/// when the attempt is allowed (and counted), else the microseconds to wait. The key holds the
/// theoretical arrival time and expires when the budget is full again.
pub const GCRA_SCRIPT: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now) or now
if tat < now then tat = now end
local next_tat = tat + interval
local ahead = next_tat - now
if ahead > tolerance then
  return ahead - tolerance
end
redis.call('SET', KEYS[1], string.format('%.0f', next_tat),
  'PX', string.format('%.0f', math.ceil(ahead / 1000)))
return 0
";

/// Login budgets per client address and per account: in Redis (shared by every instance) or
/// in this process. See the module docs.
#[derive(Debug)]
pub struct LoginLimiter {
    local: LocalLimits,
    shared: Option<SharedLimits>,
}

/// This process's budgets: two keyed limiters.
#[derive(Debug)]
struct LocalLimits {
    by_ip: DefaultKeyedRateLimiter<IpAddr>,
    by_user: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

/// The budgets kept in Redis.
struct SharedLimits {
    connection: ConnectionManager,
    script: Script,
    /// `<prefix>login:<rate>:`.
    keys: String,
    interval_us: u64,
    tolerance_us: u64,
    /// Whether the last check could not reach Redis.
    outage: AtomicBool,
}

impl fmt::Debug for SharedLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedLimits")
            .field("keys", &self.keys)
            .field("interval_us", &self.interval_us)
            .field("tolerance_us", &self.tolerance_us)
            .field("outage", &self.outage)
            .finish_non_exhaustive()
    }
}

/// What a budget is kept for.
#[derive(Clone, Copy)]
enum Budget<'a> {
    Ip(IpAddr),
    /// Normalized (see [`normalize_account`]).
    Account(&'a str),
}

/// The account key: trimmed, lowercased, at most 320 characters.
fn normalize_account(account: &str) -> String {
    account.trim().to_lowercase().chars().take(320).collect()
}

impl LoginLimiter {
    /// Budgets allowing `rate` in this process: a burst of `count`, then one more every
    /// `per / count`.
    #[must_use]
    pub fn new(rate: LoginRate) -> Self {
        let period = rate.per / rate.count.get();
        let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
            .unwrap_or_else(|| Quota::per_second(rate.count))
            .allow_burst(rate.count);
        Self {
            local: LocalLimits {
                by_ip: RateLimiter::keyed(quota),
                by_user: RateLimiter::keyed(quota),
                clock: DefaultClock::default(),
            },
            shared: None,
        }
    }

    /// Budgets allowing `rate` kept in Redis through `connection`, under keys starting with
    /// `prefix` (the app's `crm:`), with this process's budgets for when Redis does not answer.
    /// The rate is part of the key names: instances given different `--login-rate` values keep
    /// separate budgets.
    #[must_use]
    pub fn shared(rate: LoginRate, connection: ConnectionManager, prefix: &str) -> Self {
        let per_us = u64::try_from(rate.per.as_micros()).unwrap_or(u64::MAX);
        let count = u64::from(rate.count.get());
        let interval_us = (per_us / count).max(1);
        Self {
            shared: Some(SharedLimits {
                connection,
                script: Script::new(GCRA_SCRIPT),
                keys: format!("{prefix}login:{}per{}s:", rate.count, rate.per.as_secs()),
                interval_us,
                tolerance_us: interval_us.saturating_mul(count),
                outage: AtomicBool::new(false),
            }),
            ..Self::new(rate)
        }
    }

    /// Whether the budgets are kept in Redis.
    #[must_use]
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// Count one attempt from `ip`. `Err` holds how long to wait.
    pub async fn check_ip(&self, ip: IpAddr) -> Result<(), Duration> {
        self.check(Budget::Ip(ip)).await
    }

    /// Count one attempt on `account`: a user id, or the identifier tried when it names no
    /// user. `Err` holds how long to wait.
    pub async fn check_account(&self, account: &str) -> Result<(), Duration> {
        self.check(Budget::Account(&normalize_account(account)))
            .await
    }

    async fn check(&self, budget: Budget<'_>) -> Result<(), Duration> {
        if let Some(shared) = &self.shared {
            match shared.check(budget).await {
                Ok(verdict) => {
                    if shared.outage.swap(false, Ordering::Relaxed) {
                        tracing::info!("Redis answers again: the login limits are shared again");
                    }
                    return verdict;
                }
                Err(error) => {
                    if !shared.outage.swap(true, Ordering::Relaxed) {
                        tracing::warn!(
                            %error,
                            "Redis does not answer: the login limits are this instance's \
                             until it does"
                        );
                    }
                }
            }
        }
        self.local.check(budget)
    }

    /// Forget the keys whose limits are back to full, every minute, while the limiter lives.
    pub fn spawn_housekeeping(self: &Arc<Self>) {
        let weak: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(limiter) = weak.upgrade() else {
                    return;
                };
                let local = &limiter.local;
                local.by_ip.retain_recent();
                local.by_user.retain_recent();
                local.by_ip.shrink_to_fit();
                local.by_user.shrink_to_fit();
            }
        });
    }
}

impl LocalLimits {
    fn check(&self, budget: Budget<'_>) -> Result<(), Duration> {
        let checked = match budget {
            Budget::Ip(ip) => self.by_ip.check_key(&ip),
            Budget::Account(account) => self.by_user.check_key(&account.to_owned()),
        };
        checked.map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

impl SharedLimits {
    /// The key of `budget`: the address as text, the account as a hash (bounded, and no raw
    /// user input in Redis).
    fn key(&self, budget: Budget<'_>) -> String {
        match budget {
            Budget::Ip(ip) => format!("{}ip:{ip}", self.keys),
            Budget::Account(account) => {
                let hash = digest::digest(&digest::SHA256, account.as_bytes());
                let hex: String = hash.as_ref()[..16]
                    .iter()
                    .map(|byte| format!("{byte:02x}"))
                    .collect();
                format!("{}account:{hex}", self.keys)
            }
        }
    }

    /// The verdict of Redis, or why there is none.
    async fn check(&self, budget: Budget<'_>) -> Result<Result<(), Duration>, String> {
        let mut invocation = self.script.key(self.key(budget));
        invocation.arg(self.interval_us).arg(self.tolerance_us);
        let mut connection = self.connection.clone();
        let call = invocation.invoke_async::<u64>(&mut connection);
        match tokio::time::timeout(REDIS_TIMEOUT, call).await {
            Ok(Ok(0)) => Ok(Ok(())),
            Ok(Ok(wait)) => Ok(Err(Duration::from_micros(wait))),
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err(format!("no answer within {REDIS_TIMEOUT:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_local_budget_is_a_burst_of_count() {
        let limiter = LoginLimiter::new("3/min".parse().unwrap());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            assert!(limiter.check_ip(ip).await.is_ok());
        }
        let wait = limiter.check_ip(ip).await.unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert!(limiter.check_ip("192.0.2.2".parse().unwrap()).await.is_ok());
        for _ in 0..3 {
            assert!(limiter.check_account(" Alice ").await.is_ok());
        }
        assert!(limiter.check_account("alice").await.is_err());
    }
}
