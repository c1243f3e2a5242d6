//! The one behaviour suite, run against every store in this crate on the real databases:
//! memory, SQLite (a temporary file) and PostgreSQL (the server at
//! `TOLLGATE_TEST_DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/test`, in a schema
//! of its own). The Redis store runs the same suite in `tollgate-redis`.
#![cfg(feature = "test-suite")]

#[cfg(feature = "postgres")]
#[path = "../support/postgres.rs"]
mod postgres;

use tollgate_session::{MemorySessionStore, suite};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_passes_the_suite() {
    suite::run(MemorySessionStore::new()).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store_passes_the_suite() {
    use std::str::FromStr;

    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
    use tollgate_session::SqliteSessionStore;

    let path = std::env::temp_dir().join(format!(
        "tollgate-session-suite-{}-{}.db",
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
        .max_connections(8)
        .connect_with(options)
        .await
        .unwrap();
    let store = SqliteSessionStore::new(pool.clone());
    store.migrate().await.unwrap();
    // Migrating twice is harmless.
    store.migrate().await.unwrap();
    suite::run(store).await;
    pool.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_store_passes_the_suite() {
    use tollgate_session::PostgresSessionStore;

    let Some(schema) = postgres::PrivateSchema::create("tollgate_session", 8).await else {
        return;
    };
    let store = PostgresSessionStore::new(schema.pool.clone());
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    suite::run(store).await;
    schema.drop_schema().await;
}
