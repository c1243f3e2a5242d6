//! `crm_users`.

use sqlx::Row;

use super::{Db, Page, new_id, unix_now};
use crate::roles::{self, Role};

impl Db {
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

    /// Whether any user is a superuser.
    pub async fn has_superuser(&self) -> Result<bool, sqlx::Error> {
        on_db!(self, pool => {
            let row = sqlx::query("SELECT id FROM crm_users WHERE is_superuser = TRUE LIMIT 1")
                .fetch_optional(pool)
                .await?;
            Ok(row.is_some())
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
}

const USER_COLUMNS: &str = "id, organization_id, username, email, password_hash, roles, \
                            is_superuser, suspended, permission_version, created_at, updated_at";

pub(super) const INSERT_USER: &str = "INSERT INTO crm_users (id, organization_id, username, email, \
     password_hash, roles, is_superuser, suspended, permission_version, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, FALSE, 1, $8, $8) \
     RETURNING id, organization_id, username, email, password_hash, roles, is_superuser, \
     suspended, permission_version, created_at, updated_at";

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

pub(super) fn user_from<R>(row: &R) -> Result<User, sqlx::Error>
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
