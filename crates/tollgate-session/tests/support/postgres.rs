//! A private PostgreSQL schema for one test: shared by the suite and the metrics tests.

#![allow(dead_code, unreachable_pub)]

use sqlx::{Executor, PgPool, postgres::PgPoolOptions};

/// A pool whose connections use a fresh schema of their own, and what drops it.
pub struct PrivateSchema {
    /// Connections with `search_path` set to the schema.
    pub pool: PgPool,
    admin: PgPool,
    schema: String,
}

impl PrivateSchema {
    /// A new schema on `TOLLGATE_TEST_DATABASE_URL` (default the local `test` database), or
    /// `None` (said loudly) when PostgreSQL cannot be reached outside CI. Under `CI=true` an
    /// unreachable PostgreSQL fails the test `test`.
    pub async fn create(test: &str, max_connections: u32) -> Option<Self> {
        let url = std::env::var("TOLLGATE_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let admin = match PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect(&url)
            .await
        {
            Ok(pool) => pool,
            Err(error) => {
                if std::env::var("CI").is_ok_and(|ci| ci == "true") {
                    panic!("PostgreSQL at {url} is unreachable under CI: {error}");
                }
                eprintln!("SKIPPED {test}: PostgreSQL at {url} is unreachable ({error})");
                return None;
            }
        };
        let schema = format!(
            "{test}_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_micros()
        );
        admin
            .execute(format!("CREATE SCHEMA {schema}").as_str())
            .await
            .unwrap();
        let search_path = format!("SET search_path TO {schema}");
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .after_connect(move |conn, _| {
                let search_path = search_path.clone();
                Box::pin(async move {
                    conn.execute(search_path.as_str()).await?;
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .unwrap();
        Some(Self {
            pool,
            admin,
            schema,
        })
    }

    /// Close the pool and drop the schema.
    pub async fn drop_schema(self) {
        self.pool.close().await;
        self.admin
            .execute(format!("DROP SCHEMA {} CASCADE", self.schema).as_str())
            .await
            .unwrap();
    }
}
