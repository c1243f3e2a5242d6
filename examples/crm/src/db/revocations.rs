//! `crm_revocations`: the durable copy of the in-process revocation store (unused with
//! Redis).

use sqlx::Row;

use super::Db;

impl Db {
    /// Record a revocation entry, merging with what is stored (the larger value and the later
    /// `until` win).
    pub async fn put_revocation(
        &self,
        key: &str,
        value: i64,
        until: i64,
    ) -> Result<(), sqlx::Error> {
        let greatest = match self {
            Self::Sqlite(_) => "max",
            Self::Postgres(_) => "GREATEST",
        };
        let sql = format!(
            "INSERT INTO crm_revocations (name, value, until) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET value = {greatest}(crm_revocations.value, excluded.value), \
             until = {greatest}(crm_revocations.until, excluded.until)"
        );
        on_db!(self, pool => {
            sqlx::query(&sql)
                .bind(key)
                .bind(value)
                .bind(until)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// The revocation entries still in force at `now`.
    pub async fn revocations(&self, now: i64) -> Result<Vec<(String, i64, i64)>, sqlx::Error> {
        on_db!(self, pool => {
            let rows = sqlx::query("SELECT name, value, until FROM crm_revocations WHERE until > $1")
                .bind(now)
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|row| Ok((row.try_get("name")?, row.try_get("value")?, row.try_get("until")?)))
                .collect()
        })
    }

    /// Remove the revocation entries that ended before `before`.
    pub async fn purge_revocations(&self, before: i64) -> Result<u64, sqlx::Error> {
        on_db!(self, pool => {
            let done = sqlx::query("DELETE FROM crm_revocations WHERE until < $1")
                .bind(before)
                .execute(pool)
                .await?;
            Ok(done.rows_affected())
        })
    }
}
