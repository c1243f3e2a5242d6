//! The database: SQLite or PostgreSQL through sqlx, runtime queries only.
//!
//! One SQL text serves both databases (`$n` placeholders, `RETURNING`, `ON CONFLICT`); the
//! `on_db!` macro runs it on whichever pool is configured. Times are Unix seconds
//! (`INTEGER` / `BIGINT`), ids are random UUID-shaped strings (so that ids never collide
//! between databases sharing one Redis, and cannot be enumerated).
//!
//! One module per table, each adding its queries to [`Db`]: `settings` (`crm_settings`),
//! `organizations` (`crm_organizations`), `users` (`crm_users`), `customers`
//! (`crm_customers`), `revocations` (`crm_revocations`) and `logins`
//! (`crm_login_attempts`). This module has the pool, the
//! migrations and what the tables share.

use std::{
    borrow::Cow,
    io::ErrorKind,
    path::{Path, PathBuf},
    str::FromStr,
    time::Duration,
};

use futures_like::BoxFuture;
use sqlx::{
    migrate::{Migration, MigrationSource, MigrationType, Migrator},
    postgres::{PgConnectOptions, PgPool, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions},
};

use crate::config::{StartError, is_postgres_url, redact_url};

/// A connection pool on SQLite or PostgreSQL. Cheap to clone.
#[derive(Debug, Clone)]
pub enum Db {
    /// SQLite (the embedded default).
    Sqlite(SqlitePool),
    /// PostgreSQL.
    Postgres(PgPool),
}

/// Run `$body` with `$pool` bound to the configured pool (the body is compiled for each
/// database).
#[macro_export]
#[doc(hidden)]
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

mod customers;
mod logins;
mod organizations;
mod revocations;
mod settings;
mod users;

pub use customers::{Customer, CustomerFields};
pub use logins::{KEPT_LOGIN_ATTEMPTS, LoginAttempt};
pub use users::{NewUser, Taken, User};

mod futures_like {
    use std::{future::Future, pin::Pin};

    pub(super) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
}

/// The app's migrations, embedded in the binary (no files needed at run time).
#[derive(Debug)]
struct Embedded(&'static [(i64, &'static str, &'static str)]);

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> BoxFuture<'static, Result<Vec<Migration>, Box<dyn std::error::Error + Send + Sync>>> {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|&(version, description, sql)| {
                    Migration::new(
                        version,
                        Cow::Borrowed(description),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        20_260_802_000_001,
        "crm",
        include_str!("../../migrations/sqlite/20260802000001_crm.sql"),
    ),
    (
        20_261_203_000_001,
        "login attempts",
        include_str!("../../migrations/sqlite/20261203000001_login_attempts.sql"),
    ),
];

const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        20_260_802_000_001,
        "crm",
        include_str!("../../migrations/postgres/20260802000001_crm.sql"),
    ),
    (
        20_261_203_000_001,
        "login attempts",
        include_str!("../../migrations/postgres/20261203000001_login_attempts.sql"),
    ),
];

impl Db {
    /// Connect to `url` (`sqlite:` or `postgres://`).
    ///
    /// # Errors
    ///
    /// A [`StartError`] naming `--database-url` when the URL is invalid or the database
    /// cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, StartError> {
        let fail = |error: sqlx::Error| {
            StartError::flag(
                "--database-url",
                format!("cannot open {}: {error}", redact_url(url)),
            )
        };
        if is_postgres_url(url) {
            let options = PgConnectOptions::from_str(url).map_err(fail)?;
            let pool = PgPoolOptions::new()
                .max_connections(10)
                .acquire_timeout(Duration::from_secs(5))
                .connect_with(options)
                .await
                .map_err(fail)?;
            Ok(Self::Postgres(pool))
        } else {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(fail)?
                .journal_mode(SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(5))
                .connect_with(options)
                .await
                .map_err(fail)?;
            Ok(Self::Sqlite(pool))
        }
    }

    /// Create or update the tables: the session store's, then the app's.
    ///
    /// # Errors
    ///
    /// A [`StartError`] when a migration fails.
    pub async fn migrate(&self) -> Result<(), StartError> {
        let fail = |error: &dyn std::error::Error| {
            StartError::flag("--database-url", format!("migration failed: {error}"))
        };
        match self {
            Self::Sqlite(pool) => {
                tollgate_session::SqliteSessionStore::new(pool.clone())
                    .migrate()
                    .await
                    .map_err(|e| fail(&e))?;
                let mut migrator = Migrator::new(Embedded(SQLITE_MIGRATIONS))
                    .await
                    .map_err(|e| fail(&e))?;
                migrator.set_ignore_missing(true);
                migrator.run(pool).await.map_err(|e| fail(&e))
            }
            Self::Postgres(pool) => {
                tollgate_session::PostgresSessionStore::new(pool.clone())
                    .migrate()
                    .await
                    .map_err(|e| fail(&e))?;
                let mut migrator = Migrator::new(Embedded(POSTGRES_MIGRATIONS))
                    .await
                    .map_err(|e| fail(&e))?;
                migrator.set_ignore_missing(true);
                migrator.run(pool).await.map_err(|e| fail(&e))
            }
        }
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        on_db!(self, pool => sqlx::query("SELECT 1").execute(pool).await.is_ok())
    }

    /// Close the pool (waits for connections in use).
    pub async fn close(&self) {
        on_db!(self, pool => pool.close().await);
    }
}

/// The file a SQLite `url` names, when it does not exist yet (connecting will create it).
/// `None` for PostgreSQL, an in-memory database, or a file that exists.
#[must_use]
pub fn missing_sqlite_file(url: &str) -> Option<PathBuf> {
    if is_postgres_url(url) || url.contains(":memory:") || url.contains("mode=memory") {
        return None;
    }
    let options = SqliteConnectOptions::from_str(url).ok()?;
    let path = options.get_filename();
    let missing = matches!(
        std::fs::symlink_metadata(path),
        Err(error) if error.kind() == ErrorKind::NotFound
    );
    (missing && !path.as_os_str().is_empty()).then(|| path.to_path_buf())
}

/// Remove the SQLite database file `path` with its `-wal`, `-shm` and `-journal` files: what
/// a start that failed had created (see [`missing_sqlite_file`]).
pub fn remove_sqlite_file(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(error) if error.kind() == ErrorKind::NotFound => {}
            Err(error) => {
                tracing::warn!(file = %Path::new(&file).display(), %error, "cannot remove the database file this failed start created");
            }
        }
    }
}

/// A page of a listing.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// At most this many items.
    pub limit: i64,
    /// After skipping this many.
    pub offset: i64,
}

/// Whether `error` is a unique-constraint violation (a duplicate).
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// A new random id: 122 random bits in the UUID v4 layout.
///
/// # Errors
///
/// When the system's random source fails.
pub fn new_id() -> Result<String, sqlx::Error> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| sqlx::Error::Protocol("the random source failed".to_owned()))?;
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

/// Seconds since the Unix epoch.
#[must_use]
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

/// RFC 3339 (UTC, seconds) for a Unix time.
#[must_use]
pub fn rfc3339(unix: i64) -> String {
    let time = std::time::UNIX_EPOCH + Duration::from_secs(u64::try_from(unix).unwrap_or(0));
    humantime::format_rfc3339_seconds(time).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_sqlite_file_is_found_and_removed_with_its_companions() {
        let dir = std::env::temp_dir().join(format!("crm-db-file-{}", new_id().unwrap()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("crm.db");
        let url = format!("sqlite://{}?mode=rwc", path.display());
        assert_eq!(missing_sqlite_file(&url), Some(path.clone()));
        for suffix in ["", "-wal", "-shm"] {
            std::fs::write(dir.join(format!("crm.db{suffix}")), b"x").unwrap();
        }
        assert_eq!(missing_sqlite_file(&url), None, "the file exists");
        remove_sqlite_file(&path);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        std::fs::remove_dir(&dir).unwrap();

        assert_eq!(missing_sqlite_file("sqlite::memory:"), None);
        assert_eq!(missing_sqlite_file("postgres://localhost/crm"), None);
    }
}
