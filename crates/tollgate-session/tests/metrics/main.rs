//! The session metrics (feature `metrics`), read with `metrics-util`'s debugging recorder,
//! against every store of this crate on the real databases: memory, SQLite (a temporary file)
//! and PostgreSQL (the server at `TOLLGATE_TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`, in a schema of its own). The Redis store runs the
//! same scenario in `tollgate-redis`.
#![cfg(feature = "metrics")]

mod recorded;
mod scenario;

#[cfg(feature = "postgres")]
#[path = "../support/postgres.rs"]
mod postgres;

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
    use tollgate_session::PostgresSessionStore;

    recorded(|meter| async move {
        let Some(schema) = postgres::PrivateSchema::create("tollgate_session_metrics", 4).await
        else {
            return;
        };
        let store = PostgresSessionStore::new(schema.pool.clone());
        store.migrate().await.unwrap();
        scenario::run(store, MemoryRevocationStore::new(), &meter).await;
        schema.drop_schema().await;
    });
}
