//! `crm_settings`: generated secrets and other instance-wide settings.

use sqlx::Row;

use super::Db;

impl Db {
    /// The setting `name`, inserting `value` first if it is not set (the first writer wins, so
    /// instances starting together agree).
    pub async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String, sqlx::Error> {
        on_db!(self, pool => {
            sqlx::query("INSERT INTO crm_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                .bind(name)
                .bind(value)
                .execute(pool)
                .await?;
            let row = sqlx::query("SELECT value FROM crm_settings WHERE name = $1")
                .bind(name)
                .fetch_one(pool)
                .await?;
            row.try_get::<String, _>("value")
        })
    }
}
