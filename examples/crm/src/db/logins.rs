//! `crm_login_attempts`: the sign-in attempts on known accounts, successful and failed.

use sqlx::Row;

use super::{Db, unix_now};

/// How many attempts are kept per user (older ones are removed as new ones come in).
pub const KEPT_LOGIN_ATTEMPTS: i64 = 50;

/// One sign-in attempt.
#[derive(Debug, Clone)]
pub struct LoginAttempt {
    /// When, Unix seconds.
    pub at: i64,
    /// Whether it signed in.
    pub success: bool,
    /// Client IP.
    pub ip_address: Option<String>,
    /// `User-Agent`.
    pub user_agent: Option<String>,
}

impl Db {
    /// Record an attempt on `user_id`, and forget its attempts past the last
    /// [`KEPT_LOGIN_ATTEMPTS`].
    pub async fn record_login_attempt(
        &self,
        user_id: &str,
        success: bool,
        ip_address: &str,
        user_agent: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        let now = unix_now();
        on_db!(self, pool => {
            sqlx::query(
                "INSERT INTO crm_login_attempts (user_id, at, success, ip_address, user_agent) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(user_id)
            .bind(now)
            .bind(success)
            .bind(ip_address)
            .bind(user_agent)
            .execute(pool)
            .await?;
            sqlx::query(
                "DELETE FROM crm_login_attempts WHERE user_id = $1 AND seq NOT IN \
                 (SELECT seq FROM crm_login_attempts WHERE user_id = $1 ORDER BY seq DESC LIMIT $2)",
            )
            .bind(user_id)
            .bind(KEPT_LOGIN_ATTEMPTS)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    /// The last [`KEPT_LOGIN_ATTEMPTS`] attempts on `user_id`, newest first.
    pub async fn login_attempts(&self, user_id: &str) -> Result<Vec<LoginAttempt>, sqlx::Error> {
        on_db!(self, pool => {
            let rows = sqlx::query(
                "SELECT at, success, ip_address, user_agent FROM crm_login_attempts \
                 WHERE user_id = $1 ORDER BY seq DESC LIMIT $2",
            )
            .bind(user_id)
            .bind(KEPT_LOGIN_ATTEMPTS)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(LoginAttempt {
                        at: row.try_get("at")?,
                        success: row.try_get("success")?,
                        ip_address: row.try_get("ip_address")?,
                        user_agent: row.try_get("user_agent")?,
                    })
                })
                .collect()
        })
    }
}
