//! The database: SQLite or PostgreSQL through sqlx, runtime queries only.
//!
//! One SQL text serves both databases (`$n` placeholders, `RETURNING`, `ON CONFLICT`); the
//! `on_db!` macro runs it on whichever pool is configured. Times are Unix seconds
//! (`INTEGER` / `BIGINT`), ids are random UUID-shaped strings (so that ids never collide
//! between databases sharing one Redis, and cannot be enumerated).

use std::{borrow::Cow, str::FromStr, time::Duration};

use futures_like::BoxFuture;
use sqlx::{
    Row,
    migrate::{Migration, MigrationSource, MigrationType, Migrator},
    postgres::{PgConnectOptions, PgPool, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions},
};

use crate::{
    config::{StartError, is_postgres_url, redact_url},
    roles::{self, Role},
};

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

const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[(
    20_260_802_000_001,
    "crm",
    include_str!("../migrations/sqlite/20260802000001_crm.sql"),
)];

const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[(
    20_260_802_000_001,
    "crm",
    include_str!("../migrations/postgres/20260802000001_crm.sql"),
)];

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

    // ---------------------------------------------------------------------------------------
    // Settings

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

    // ---------------------------------------------------------------------------------------
    // Organizations and users

    /// Create an organization and its first user in one transaction.
    pub async fn create_organization_with_user(
        &self,
        organization: &str,
        user: &NewUser,
    ) -> Result<User, sqlx::Error> {
        let org_id = new_id()?;
        let now = unix_now();
        on_db!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("INSERT INTO crm_organizations (id, name, created_at) VALUES ($1, $2, $3)")
                .bind(&org_id)
                .bind(organization)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let row = sqlx::query(INSERT_USER)
                .bind(new_id()?)
                .bind(&org_id)
                .bind(&user.username)
                .bind(&user.email)
                .bind(&user.password_hash)
                .bind(roles::to_column(&user.roles))
                .bind(user.is_superuser)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            let user = user_from(&row)?;
            tx.commit().await?;
            Ok(user)
        })
    }

    /// Create a user in an existing organization.
    pub async fn create_user(
        &self,
        organization_id: &str,
        user: &NewUser,
    ) -> Result<User, sqlx::Error> {
        let now = unix_now();
        on_db!(self, pool => {
            let row = sqlx::query(INSERT_USER)
                .bind(new_id()?)
                .bind(organization_id)
                .bind(&user.username)
                .bind(&user.email)
                .bind(&user.password_hash)
                .bind(roles::to_column(&user.roles))
                .bind(user.is_superuser)
                .bind(now)
                .fetch_one(pool)
                .await?;
            user_from(&row)
        })
    }

    /// Which of `username` and `email` is taken (for a 409's detail).
    pub async fn taken(&self, username: &str, email: &str) -> Result<Taken, sqlx::Error> {
        if self.user_by_username(username).await?.is_some() {
            return Ok(Taken::Username);
        }
        if self.user_by_email(email).await?.is_some() {
            return Ok(Taken::Email);
        }
        Ok(Taken::Neither)
    }

    /// The user `id`.
    pub async fn user(&self, id: &str) -> Result<Option<User>, sqlx::Error> {
        self.user_where("id = $1", id).await
    }

    /// The user named `username` (any case).
    pub async fn user_by_username(&self, username: &str) -> Result<Option<User>, sqlx::Error> {
        self.user_where("lower(username) = lower($1)", username)
            .await
    }

    /// The user with `email` (lowercased).
    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, sqlx::Error> {
        self.user_where("email = $1", &email.to_lowercase()).await
    }

    async fn user_where(&self, condition: &str, value: &str) -> Result<Option<User>, sqlx::Error> {
        let sql = format!("SELECT {USER_COLUMNS} FROM crm_users WHERE {condition}");
        on_db!(self, pool => {
            let row = sqlx::query(&sql).bind(value).fetch_optional(pool).await?;
            row.map(|row| user_from(&row)).transpose()
        })
    }

    /// The users of `organization_id` (all users when `None`), oldest first.
    pub async fn users(
        &self,
        organization_id: Option<&str>,
        page: Page,
    ) -> Result<Vec<User>, sqlx::Error> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM crm_users WHERE ($1 IS NULL OR organization_id = $1) \
             ORDER BY created_at, id LIMIT $2 OFFSET $3"
        );
        on_db!(self, pool => {
            let rows = sqlx::query(&sql)
                .bind(organization_id)
                .bind(page.limit)
                .bind(page.offset)
                .fetch_all(pool)
                .await?;
            rows.iter().map(user_from).collect()
        })
    }

    /// Set the roles of user `id` and bump its permission version, in one statement.
    pub async fn set_roles(&self, id: &str, roles: &[Role]) -> Result<Option<User>, sqlx::Error> {
        let sql = format!(
            "UPDATE crm_users SET roles = $1, permission_version = permission_version + 1, \
             updated_at = $2 WHERE id = $3 RETURNING {USER_COLUMNS}"
        );
        on_db!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(roles::to_column(roles))
                .bind(unix_now())
                .bind(id)
                .fetch_optional(pool)
                .await?;
            row.map(|row| user_from(&row)).transpose()
        })
    }

    /// Suspend or reinstate user `id`. Returns whether the user exists.
    pub async fn set_suspended(&self, id: &str, suspended: bool) -> Result<bool, sqlx::Error> {
        on_db!(self, pool => {
            let done = sqlx::query("UPDATE crm_users SET suspended = $1, updated_at = $2 WHERE id = $3")
                .bind(suspended)
                .bind(unix_now())
                .bind(id)
                .execute(pool)
                .await?;
            Ok(done.rows_affected() > 0)
        })
    }

    /// Replace the password hash of user `id`.
    pub async fn set_password(
        &self,
        id: &str,
        password_hash: &str,
    ) -> Result<Option<User>, sqlx::Error> {
        let sql = format!(
            "UPDATE crm_users SET password_hash = $1, permission_version = permission_version + 1, \
             updated_at = $2 WHERE id = $3 RETURNING {USER_COLUMNS}"
        );
        on_db!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(password_hash)
                .bind(unix_now())
                .bind(id)
                .fetch_optional(pool)
                .await?;
            row.map(|row| user_from(&row)).transpose()
        })
    }

    /// Make user `id` a superuser with `email`, reinstated.
    pub async fn make_superuser(&self, id: &str, email: &str) -> Result<(), sqlx::Error> {
        on_db!(self, pool => {
            sqlx::query("UPDATE crm_users SET is_superuser = TRUE, suspended = FALSE, email = $1, updated_at = $2 WHERE id = $3")
                .bind(email)
                .bind(unix_now())
                .bind(id)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    // ---------------------------------------------------------------------------------------
    // Customers

    /// The customers of `organization_id`, oldest first.
    pub async fn customers(
        &self,
        organization_id: &str,
        page: Page,
    ) -> Result<Vec<Customer>, sqlx::Error> {
        let sql = format!(
            "SELECT {CUSTOMER_COLUMNS} FROM crm_customers WHERE organization_id = $1 \
             ORDER BY created_at, id LIMIT $2 OFFSET $3"
        );
        on_db!(self, pool => {
            let rows = sqlx::query(&sql)
                .bind(organization_id)
                .bind(page.limit)
                .bind(page.offset)
                .fetch_all(pool)
                .await?;
            rows.iter().map(customer_from).collect()
        })
    }

    /// How many customers `organization_id` has.
    pub async fn count_customers(&self, organization_id: &str) -> Result<i64, sqlx::Error> {
        on_db!(self, pool => {
            let row = sqlx::query("SELECT COUNT(*) AS n FROM crm_customers WHERE organization_id = $1")
                .bind(organization_id)
                .fetch_one(pool)
                .await?;
            row.try_get::<i64, _>("n")
        })
    }

    /// The customer `id`, within `organization_id` unless `None` (a superuser).
    pub async fn customer(
        &self,
        id: &str,
        organization_id: Option<&str>,
    ) -> Result<Option<Customer>, sqlx::Error> {
        let sql = format!(
            "SELECT {CUSTOMER_COLUMNS} FROM crm_customers WHERE id = $1 \
             AND ($2 IS NULL OR organization_id = $2)"
        );
        on_db!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(id)
                .bind(organization_id)
                .fetch_optional(pool)
                .await?;
            row.map(|row| customer_from(&row)).transpose()
        })
    }

    /// Create a customer.
    pub async fn create_customer(
        &self,
        organization_id: &str,
        fields: &CustomerFields,
    ) -> Result<Customer, sqlx::Error> {
        let sql = format!(
            "INSERT INTO crm_customers (id, organization_id, name, email, phone, company, notes, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
             RETURNING {CUSTOMER_COLUMNS}"
        );
        on_db!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(new_id()?)
                .bind(organization_id)
                .bind(&fields.name)
                .bind(&fields.email)
                .bind(&fields.phone)
                .bind(&fields.company)
                .bind(&fields.notes)
                .bind(unix_now())
                .fetch_one(pool)
                .await?;
            customer_from(&row)
        })
    }

    /// Replace the fields of customer `id` (within `organization_id` unless `None`).
    pub async fn update_customer(
        &self,
        id: &str,
        organization_id: Option<&str>,
        fields: &CustomerFields,
    ) -> Result<Option<Customer>, sqlx::Error> {
        let sql = format!(
            "UPDATE crm_customers SET name = $1, email = $2, phone = $3, company = $4, notes = $5, \
             updated_at = $6 WHERE id = $7 AND ($8 IS NULL OR organization_id = $8) \
             RETURNING {CUSTOMER_COLUMNS}"
        );
        on_db!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(&fields.name)
                .bind(&fields.email)
                .bind(&fields.phone)
                .bind(&fields.company)
                .bind(&fields.notes)
                .bind(unix_now())
                .bind(id)
                .bind(organization_id)
                .fetch_optional(pool)
                .await?;
            row.map(|row| customer_from(&row)).transpose()
        })
    }

    /// Delete customer `id` (within `organization_id` unless `None`). Returns whether it
    /// existed.
    pub async fn delete_customer(
        &self,
        id: &str,
        organization_id: Option<&str>,
    ) -> Result<bool, sqlx::Error> {
        on_db!(self, pool => {
            let done = sqlx::query("DELETE FROM crm_customers WHERE id = $1 AND ($2 IS NULL OR organization_id = $2)")
                .bind(id)
                .bind(organization_id)
                .execute(pool)
                .await?;
            Ok(done.rows_affected() > 0)
        })
    }

    // ---------------------------------------------------------------------------------------
    // Revocations (durable copy of the in-process revocation store)

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

const USER_COLUMNS: &str = "id, organization_id, username, email, password_hash, roles, \
                            is_superuser, suspended, permission_version, created_at, updated_at";

const INSERT_USER: &str = "INSERT INTO crm_users (id, organization_id, username, email, \
     password_hash, roles, is_superuser, suspended, permission_version, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, FALSE, 1, $8, $8) \
     RETURNING id, organization_id, username, email, password_hash, roles, is_superuser, \
     suspended, permission_version, created_at, updated_at";

const CUSTOMER_COLUMNS: &str =
    "id, organization_id, name, email, phone, company, notes, created_at, updated_at";

/// Which of a username and an email is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// The username.
    Username,
    /// The email.
    Email,
    /// Neither (any more).
    Neither,
}

/// A page of a listing.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// At most this many items.
    pub limit: i64,
    /// After skipping this many.
    pub offset: i64,
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Username (validated).
    pub username: String,
    /// Email (validated, lowercased).
    pub email: String,
    /// argon2 PHC string.
    pub password_hash: String,
    /// Roles.
    pub roles: Vec<Role>,
    /// Superuser flag.
    pub is_superuser: bool,
}

/// A user row.
#[derive(Clone)]
pub struct User {
    /// Id.
    pub id: String,
    /// Organization id.
    pub organization_id: String,
    /// Username.
    pub username: String,
    /// Email.
    pub email: String,
    /// argon2 PHC string.
    pub password_hash: String,
    /// Roles.
    pub roles: Vec<Role>,
    /// Superuser flag.
    pub is_superuser: bool,
    /// Suspended: login refused.
    pub suspended: bool,
    /// The permission version (bumped by a role change).
    pub permission_version: i64,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("organization_id", &self.organization_id)
            .field("username", &self.username)
            .field("roles", &self.roles)
            .field("is_superuser", &self.is_superuser)
            .field("suspended", &self.suspended)
            .finish_non_exhaustive()
    }
}

/// A customer row.
#[derive(Debug, Clone)]
pub struct Customer {
    /// Id.
    pub id: String,
    /// Organization id.
    pub organization_id: String,
    /// Customer fields.
    pub fields: CustomerFields,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

/// The editable fields of a customer.
#[derive(Debug, Clone, Default)]
pub struct CustomerFields {
    /// Name (required).
    pub name: String,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Company.
    pub company: Option<String>,
    /// Notes.
    pub notes: Option<String>,
}

fn user_from<R>(row: &R) -> Result<User, sqlx::Error>
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> bool: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let roles: String = row.try_get("roles")?;
    Ok(User {
        id: row.try_get("id")?,
        organization_id: row.try_get("organization_id")?,
        username: row.try_get("username")?,
        email: row.try_get("email")?,
        password_hash: row.try_get("password_hash")?,
        roles: roles::from_column(&roles),
        is_superuser: row.try_get("is_superuser")?,
        suspended: row.try_get("suspended")?,
        permission_version: row.try_get("permission_version")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn customer_from<R>(row: &R) -> Result<Customer, sqlx::Error>
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(Customer {
        id: row.try_get("id")?,
        organization_id: row.try_get("organization_id")?,
        fields: CustomerFields {
            name: row.try_get("name")?,
            email: row.try_get("email")?,
            phone: row.try_get("phone")?,
            company: row.try_get("company")?,
            notes: row.try_get("notes")?,
        },
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
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
