//! The session metrics (feature `metrics`), read with `metrics-util`'s debugging recorder,
//! against every store of this crate on the real databases: memory, SQLite (a temporary file)
//! and PostgreSQL (the server at `TOLLGATE_TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`, in a schema of its own). The Redis store runs the
//! same scenario in `tollgate-redis`.
#![cfg(feature = "metrics")]

mod recorded;
mod scenario;

use tollgate::revocation::MemoryRevocationStore;
use tollgate_session::MemorySessionStore;

use recorded::recorded;

#[test]
fn memory_store_sessions_move_their_metrics() {
    recorded(|meter| async move {
        scenario::run(
            MemorySessionStore::new(),
            MemoryRevocationStore::new(),
            &meter,
        )
        .await;
    });
}

#[cfg(feature = "sqlite")]
#[test]
fn sqlite_store_sessions_move_their_metrics() {
    use std::str::FromStr;

    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
    use tollgate_session::SqliteSessionStore;

    recorded(|meter| async move {
        let path = std::env::temp_dir().join(format!(
            "tollgate-session-metrics-{}-{}.db",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .unwrap()
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .unwrap();
        let store = SqliteSessionStore::new(pool.clone());
        store.migrate().await.unwrap();
        scenario::run(store, MemoryRevocationStore::new(), &meter).await;
        pool.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    });
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_store_sessions_move_their_metrics() {
    use sqlx::{Executor, postgres::PgPoolOptions};
    use tollgate_session::PostgresSessionStore;

    recorded(|meter| async move {
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
                eprintln!(
                    "SKIPPED postgres_store_sessions_move_their_metrics: PostgreSQL at {url} is unreachable ({error})"
                );
                return;
            }
        };
        let schema = format!(
            "tollgate_session_metrics_{}_{}",
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
            .max_connections(4)
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
        let store = PostgresSessionStore::new(pool.clone());
        store.migrate().await.unwrap();
        scenario::run(store, MemoryRevocationStore::new(), &meter).await;
        pool.close().await;
        admin
            .execute(format!("DROP SCHEMA {schema} CASCADE").as_str())
            .await
            .unwrap();
    });
}
