//! The SQL session stores, through sqlx: SQLite (feature `sqlite`) and PostgreSQL (feature
//! `postgres`).
//!
//! Both use one table, `tollgate_sessions`, created by the migrations shipped in the crate
//! (`migrations/sqlite`, `migrations/postgres`). Rotation is one conditional `UPDATE ...
//! WHERE id = $sid AND refresh_jti = $presented AND active AND <not expired>`: the database
//! applies it to one row at a time, so of concurrent rotations of one token exactly one
//! changes the row. A rotation that changed nothing reads the row to tell why (reuse, grace
//! retry, ended, expired), and a reuse then ends the session.
//!
//! The same SQL text serves both databases (`$n` placeholders, `RETURNING`, `TRUE`/`FALSE`):
//! SQLite 3.35 or later is needed, which the bundled SQLite of sqlx satisfies.

use sqlx::Row;

use super::{
    Decision, Kept, RotateOutcome, Rotation, SessionStoreError, SessionStoreErrorKind, decide,
};
use crate::session::Session;

macro_rules! columns {
    () => {
        "id, subject, device_info, ip_address, user_agent, created_at, last_activity, expires_at, \
         idle_expires_at, refresh_jti, active"
    };
}

const INSERT: &str = concat!(
    "INSERT INTO tollgate_sessions (",
    columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
);

const SELECT: &str = concat!(
    "SELECT ",
    columns!(),
    ", spent_jti, kept_until, kept_answer FROM tollgate_sessions WHERE id = $1"
);

const ROTATE: &str = concat!(
    "UPDATE tollgate_sessions SET refresh_jti = $1, last_activity = $2, idle_expires_at = $3, \
     spent_jti = $4, kept_until = $5, kept_answer = $6 \
     WHERE id = $7 AND refresh_jti = $4 AND active AND expires_at > $2 \
     AND (idle_expires_at IS NULL OR idle_expires_at > $2) RETURNING ",
    columns!()
);

const END: &str = concat!(
    "UPDATE tollgate_sessions SET active = FALSE, kept_until = NULL, kept_answer = NULL \
     WHERE id = $1 AND active RETURNING ",
    columns!()
);

const END_ALL: &str = concat!(
    "UPDATE tollgate_sessions SET active = FALSE, kept_until = NULL, kept_answer = NULL \
     WHERE subject = $1 AND active RETURNING ",
    columns!()
);

const LIST: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM tollgate_sessions WHERE subject = $1 AND active AND expires_at > $2 \
     AND (idle_expires_at IS NULL OR idle_expires_at > $2) ORDER BY created_at, id"
);

const PURGE: &str = "DELETE FROM tollgate_sessions WHERE NOT active OR expires_at <= $1 \
                     OR (idle_expires_at IS NOT NULL AND idle_expires_at <= $1)";

/// How often a rotation re-reads a row that changed between its two statements.
const ROTATE_ATTEMPTS: usize = 4;

fn unavailable(error: sqlx::Error) -> SessionStoreError {
    let kind = match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => SessionStoreErrorKind::Conflict,
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::Decode(_)
        | sqlx::Error::TypeNotFound { .. } => SessionStoreErrorKind::Corrupt,
        _ => SessionStoreErrorKind::Unavailable,
    };
    SessionStoreError::new(kind, error)
}

fn session_from<R>(row: &R) -> Result<Session, SessionStoreError>
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<i64>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> bool: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(Session {
        id: row.try_get("id").map_err(unavailable)?,
        subject: row.try_get("subject").map_err(unavailable)?,
        device_info: row.try_get("device_info").map_err(unavailable)?,
        ip_address: row.try_get("ip_address").map_err(unavailable)?,
        user_agent: row.try_get("user_agent").map_err(unavailable)?,
        created_at: row.try_get("created_at").map_err(unavailable)?,
        last_activity: row.try_get("last_activity").map_err(unavailable)?,
        expires_at: row.try_get("expires_at").map_err(unavailable)?,
        idle_expires_at: row.try_get("idle_expires_at").map_err(unavailable)?,
        refresh_jti: row.try_get("refresh_jti").map_err(unavailable)?,
        active: row.try_get("active").map_err(unavailable)?,
    })
}

fn kept_from<R>(row: &R) -> Result<Option<Kept>, SessionStoreError>
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<i64>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let spent_jti: Option<String> = row.try_get("spent_jti").map_err(unavailable)?;
    let until: Option<i64> = row.try_get("kept_until").map_err(unavailable)?;
    let answer: Option<String> = row.try_get("kept_answer").map_err(unavailable)?;
    Ok(match (spent_jti, until, answer) {
        (Some(spent_jti), Some(until), Some(answer)) => Some(Kept {
            spent_jti,
            until,
            answer,
        }),
        _ => None,
    })
}

fn sorted(mut sessions: Vec<Session>) -> Vec<Session> {
    sessions.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    sessions
}

/// The session as it was before an `UPDATE ... SET active = FALSE ... RETURNING`.
fn before_end(mut session: Session) -> Session {
    session.active = true;
    session
}

macro_rules! sql_store {
    (
        $(#[$meta:meta])*
        $name:ident, $feature:literal, $pool:ty, $migrations:literal
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug)]
        #[cfg_attr(docsrs, doc(cfg(feature = $feature)))]
        pub struct $name {
            pool: $pool,
        }

        impl $name {
            /// A store on `pool`. Run [`migrate`](Self::migrate) once (at start) to create
            /// the table.
            #[must_use]
            pub fn new(pool: $pool) -> Self {
                Self { pool }
            }

            /// Create or update the `tollgate_sessions` table with the migrations shipped in
            /// this crate (sqlx's migrator, which records them in `_sqlx_migrations`).
            ///
            /// The migrator ignores migrations it does not know, so the application's own
            /// sqlx migrations can share the database; the application's migrator must then
            /// also ignore missing ones (`Migrator::set_ignore_missing(true)`), or the
            /// application can copy this crate's migration files into its own.
            ///
            /// # Errors
            ///
            /// [`SessionStoreErrorKind::Unavailable`] when a migration fails.
            pub async fn migrate(&self) -> Result<(), SessionStoreError> {
                let mut migrator = sqlx::migrate!($migrations);
                migrator.set_ignore_missing(true);
                migrator
                    .run(&self.pool)
                    .await
                    .map_err(|error| SessionStoreError::new(SessionStoreErrorKind::Unavailable, error))
            }

            /// The connection pool.
            #[must_use]
            pub fn pool(&self) -> &$pool {
                &self.pool
            }

            async fn read(
                &self,
                id: &str,
            ) -> Result<Option<(Session, Option<Kept>)>, SessionStoreError> {
                let row = sqlx::query(SELECT)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(unavailable)?;
                row.map(|row| Ok((session_from(&row)?, kept_from(&row)?)))
                    .transpose()
            }
        }

        impl super::SessionStore for $name {
            async fn create(&self, session: &Session) -> Result<(), SessionStoreError> {
                sqlx::query(INSERT)
                    .bind(&session.id)
                    .bind(&session.subject)
                    .bind(&session.device_info)
                    .bind(&session.ip_address)
                    .bind(&session.user_agent)
                    .bind(session.created_at)
                    .bind(session.last_activity)
                    .bind(session.expires_at)
                    .bind(session.idle_expires_at)
                    .bind(&session.refresh_jti)
                    .bind(session.active)
                    .execute(&self.pool)
                    .await
                    .map_err(unavailable)?;
                Ok(())
            }

            async fn get(&self, id: &str) -> Result<Option<Session>, SessionStoreError> {
                Ok(self.read(id).await?.map(|(session, _)| session))
            }

            async fn rotate(&self, rotation: &Rotation<'_>) -> Result<RotateOutcome, SessionStoreError> {
                let (kept_until, kept_answer) = match rotation.grace {
                    Some((until, answer)) => (Some(until), Some(answer)),
                    None => (None, None),
                };
                for _ in 0..ROTATE_ATTEMPTS {
                    let rotated = sqlx::query(ROTATE)
                        .bind(rotation.new_jti)
                        .bind(rotation.now)
                        .bind(rotation.idle_expires_at)
                        .bind(rotation.presented_jti)
                        .bind(kept_until)
                        .bind(kept_answer)
                        .bind(rotation.session_id)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(unavailable)?;
                    if let Some(row) = rotated {
                        return Ok(RotateOutcome::Rotated(session_from(&row)?));
                    }
                    // Nothing changed: read the row to tell why.
                    let read = self.read(rotation.session_id).await?;
                    let (session, kept) = match &read {
                        Some((session, kept)) => (Some(session), kept.as_ref()),
                        None => (None, None),
                    };
                    match decide(session, kept, rotation) {
                        Decision::Outcome(outcome) => return Ok(outcome),
                        // The row changed between the two statements: try again.
                        Decision::Rotate(_) => {}
                        Decision::Reuse => {
                            let ended = sqlx::query(END)
                                .bind(rotation.session_id)
                                .fetch_optional(&self.pool)
                                .await
                                .map_err(unavailable)?;
                            if let Some(row) = ended {
                                return Ok(RotateOutcome::Reused(before_end(session_from(
                                    &row,
                                )?)));
                            }
                            // Ended by someone else meanwhile: the next round says so.
                        }
                    }
                }
                Err(SessionStoreError::new(
                    SessionStoreErrorKind::Unavailable,
                    "the session kept changing during the rotation",
                ))
            }

            async fn list(&self, subject: &str, now: i64) -> Result<Vec<Session>, SessionStoreError> {
                let rows = sqlx::query(LIST)
                    .bind(subject)
                    .bind(now)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(unavailable)?;
                rows.iter().map(session_from).collect()
            }

            async fn end(&self, id: &str) -> Result<Option<Session>, SessionStoreError> {
                let row = sqlx::query(END)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(unavailable)?;
                row.map(|row| session_from(&row).map(before_end)).transpose()
            }

            async fn end_all(&self, subject: &str) -> Result<Vec<Session>, SessionStoreError> {
                let rows = sqlx::query(END_ALL)
                    .bind(subject)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(unavailable)?;
                let sessions = rows
                    .iter()
                    .map(|row| session_from(row).map(before_end))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(sorted(sessions))
            }

            async fn purge(&self, now: i64) -> Result<u64, SessionStoreError> {
                let done = sqlx::query(PURGE)
                    .bind(now)
                    .execute(&self.pool)
                    .await
                    .map_err(unavailable)?;
                Ok(done.rows_affected())
            }
        }
    };
}

#[cfg(feature = "sqlite")]
sql_store!(
    /// A session store in SQLite, through sqlx (feature `sqlite`).
    ///
    /// For one instance, or several sharing the database file on one host. Open the pool with
    /// a busy timeout (sqlx's default is 5 seconds) so that concurrent writers wait for each
    /// other; WAL journal mode is recommended. See [`SessionStore`](crate::SessionStore) for the
    /// contract.
    ///
    /// ```
    /// use sqlx::sqlite::SqlitePoolOptions;
    /// use tollgate_session::{SessionStore, SqliteSessionStore};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // One connection: each connection to `sqlite::memory:` is its own database.
    /// let pool = SqlitePoolOptions::new().max_connections(1).connect("sqlite::memory:").await?;
    /// let store = SqliteSessionStore::new(pool);
    /// store.migrate().await?;
    /// assert!(store.list("42", 0).await?.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    SqliteSessionStore,
    "sqlite",
    sqlx::SqlitePool,
    "./migrations/sqlite"
);

#[cfg(feature = "postgres")]
sql_store!(
    /// A session store in PostgreSQL, through sqlx (feature `postgres`).
    ///
    /// Shared by any number of instances. The table lives in the connection's `search_path`
    /// (set it to use a dedicated schema). See [`SessionStore`](crate::SessionStore) for the
    /// contract.
    ///
    /// ```no_run
    /// use sqlx::PgPool;
    /// use tollgate_session::PostgresSessionStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = PostgresSessionStore::new(PgPool::connect("postgres://postgres@127.0.0.1/app").await?);
    /// store.migrate().await?;
    /// # Ok(())
    /// # }
    /// ```
    PostgresSessionStore,
    "postgres",
    sqlx::PgPool,
    "./migrations/postgres"
);
