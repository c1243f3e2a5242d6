//! Login rate limiting per client IP and per account (governor's keyed GCRA limiters).
//!
//! An attempt counts against its client IP first, then against the account it names: the
//! user's id when the username or email is known (so both count against one budget), else
//! the identifier as typed (trimmed, lowercased, at most 320 characters kept). A password
//! change counts against the caller's account too: the old password cannot be guessed faster
//! there than at login.

use std::{
    net::IpAddr,
    sync::{Arc, Weak},
    time::Duration,
};

use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};

use crate::config::LoginRate;

/// Two keyed limiters: attempts per client IP, and per username (or email) tried.
#[derive(Debug)]
pub struct LoginLimiter {
    by_ip: DefaultKeyedRateLimiter<IpAddr>,
    by_user: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl LoginLimiter {
    /// Limiters allowing `rate`: a burst of `count`, then one more every `per / count`.
    #[must_use]
    pub fn new(rate: LoginRate) -> Self {
        let period = rate.per / rate.count.get();
        let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
            .unwrap_or_else(|| Quota::per_second(rate.count))
            .allow_burst(rate.count);
        Self {
            by_ip: RateLimiter::keyed(quota),
            by_user: RateLimiter::keyed(quota),
            clock: DefaultClock::default(),
        }
    }

    /// Count one attempt from `ip`. `Err` holds how long to wait.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), Duration> {
        self.by_ip
            .check_key(&ip)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Count one attempt on `account`: a user id, or the identifier tried when it names no
    /// user. `Err` holds how long to wait.
    pub fn check_account(&self, account: &str) -> Result<(), Duration> {
        let key: String = account.trim().to_lowercase().chars().take(320).collect();
        self.by_user
            .check_key(&key)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
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
                limiter.by_ip.retain_recent();
                limiter.by_user.retain_recent();
                limiter.by_ip.shrink_to_fit();
                limiter.by_user.shrink_to_fit();
            }
        });
    }
}
