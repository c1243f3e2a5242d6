//! The stores picked at start: revocations (in process, or Redis), sessions (SQL), and the
//! source of a user's claims.

use std::{future::Future, pin::Pin};

use serde::Serialize;
use tollgate::revocation::{
    MemoryRevocationStore, RevocationStatus, RevocationStore, RevocationStoreError,
    RevocationStoreErrorKind, TokenRef,
};
use tollgate_redis::{RedisRevocationStore, RedisSessionStore};
use tollgate_session::{
    ClaimsError, ClaimsSource, PostgresSessionStore, RotateOutcome, Rotation, Session,
    SessionStore, SessionStoreError, SqliteSessionStore,
};

use crate::{
    db::{Db, unix_now},
    roles,
};

/// The revocation store: in process (with a durable copy in the database, reloaded at
/// start), or Redis with its coherent local cache.
#[derive(Debug, Clone)]
pub enum Revocations {
    /// moka in this process; every write also goes to the `crm_revocations` table.
    Memory {
        /// The in-process store that answers checks.
        store: MemoryRevocationStore,
        /// The database keeping the durable copy.
        db: Db,
    },
    /// Redis, shared by every instance.
    Redis(RedisRevocationStore),
}

impl Revocations {
    /// The in-process store, loaded with the entries the database still holds.
    ///
    /// # Errors
    ///
    /// When the database cannot be read.
    pub async fn memory(db: Db, leeway: std::time::Duration) -> Result<Self, sqlx::Error> {
        let store =
            MemoryRevocationStore::new().leeway(leeway.max(MemoryRevocationStore::DEFAULT_LEEWAY));
        let mut loaded = 0usize;
        for (name, value, until) in db.revocations(unix_now()).await? {
            let Some((kind, id)) = name.split_once(':') else {
                continue;
            };
            let written = match kind {
                "jti" => store.revoke_token(id, until).await,
                "sid" => store.end_session(id, until).await,
                "cut" => store.cut_off(id, value, until).await,
                "ver" => {
                    store
                        .set_version(id, u64::try_from(value).unwrap_or(0), until)
                        .await
                }
                _ => Ok(()),
            };
            if written.is_ok() {
                loaded += 1;
            }
        }
        tracing::debug!(entries = loaded, "in-process revocation store loaded");
        Ok(Self::Memory { store, db })
    }

    /// Where revocations are kept, for logs.
    #[must_use]
    pub fn describe(&self) -> &'static str {
        match self {
            Self::Memory { .. } => "in-process (durable copy in the database)",
            Self::Redis(_) => "redis (coherent local cache)",
        }
    }

    async fn persist(
        &self,
        name: String,
        value: i64,
        until: i64,
    ) -> Result<(), RevocationStoreError> {
        if let Self::Memory { db, .. } = self {
            db.put_revocation(&name, value, until)
                .await
                .map_err(|error| {
                    RevocationStoreError::new(RevocationStoreErrorKind::Unavailable, error)
                })?;
        }
        Ok(())
    }
}

impl RevocationStore for Revocations {
    type CheckFuture =
        Pin<Box<dyn Future<Output = Result<RevocationStatus, RevocationStoreError>> + Send>>;

    fn check(&self, token: &TokenRef<'_>) -> Self::CheckFuture {
        match self {
            Self::Memory { store, .. } => Box::pin(store.check(token)),
            Self::Redis(store) => Box::pin(store.check(token)),
        }
    }

    async fn revoke_token(&self, jti: &str, until: i64) -> Result<(), RevocationStoreError> {
        self.persist(format!("jti:{jti}"), 1, until).await?;
        match self {
            Self::Memory { store, .. } => store.revoke_token(jti, until).await,
            Self::Redis(store) => store.revoke_token(jti, until).await,
        }
    }

    async fn end_session(&self, sid: &str, until: i64) -> Result<(), RevocationStoreError> {
        self.persist(format!("sid:{sid}"), 1, until).await?;
        match self {
            Self::Memory { store, .. } => store.end_session(sid, until).await,
            Self::Redis(store) => store.end_session(sid, until).await,
        }
    }

    async fn cut_off(&self, sub: &str, at: i64, until: i64) -> Result<(), RevocationStoreError> {
        self.persist(format!("cut:{sub}"), at, until).await?;
        match self {
            Self::Memory { store, .. } => store.cut_off(sub, at, until).await,
            Self::Redis(store) => store.cut_off(sub, at, until).await,
        }
    }

    async fn set_version(
        &self,
        sub: &str,
        version: u64,
        until: i64,
    ) -> Result<(), RevocationStoreError> {
        self.persist(
            format!("ver:{sub}"),
            i64::try_from(version).unwrap_or(i64::MAX),
            until,
        )
        .await?;
        match self {
            Self::Memory { store, .. } => store.set_version(sub, version, until).await,
            Self::Redis(store) => store.set_version(sub, version, until).await,
        }
    }
}

/// The session store: the database's `tollgate_sessions` table, or Redis.
#[derive(Debug, Clone)]
pub enum Sessions {
    /// SQLite.
    Sqlite(SqliteSessionStore),
    /// PostgreSQL.
    Postgres(PostgresSessionStore),
    /// Redis, shared by every instance (when `--redis-url` is set).
    Redis(RedisSessionStore),
}

impl Sessions {
    /// The session store of `db`.
    #[must_use]
    pub fn sql(db: &Db) -> Self {
        match db {
            Db::Sqlite(pool) => Self::Sqlite(SqliteSessionStore::new(pool.clone())),
            Db::Postgres(pool) => Self::Postgres(PostgresSessionStore::new(pool.clone())),
        }
    }

    /// Where sessions are kept, for logs.
    #[must_use]
    pub fn describe(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
            Self::Redis(_) => "redis",
        }
    }
}

macro_rules! delegate {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            Sessions::Sqlite($store) => $call.await,
            Sessions::Postgres($store) => $call.await,
            Sessions::Redis($store) => $call.await,
        }
    };
}

impl SessionStore for Sessions {
    async fn create(&self, session: &Session) -> Result<(), SessionStoreError> {
        delegate!(self, store => store.create(session))
    }

    async fn get(&self, id: &str) -> Result<Option<Session>, SessionStoreError> {
        delegate!(self, store => store.get(id))
    }

    async fn rotate(&self, rotation: &Rotation<'_>) -> Result<RotateOutcome, SessionStoreError> {
        delegate!(self, store => store.rotate(rotation))
    }

    async fn list(&self, subject: &str, now: i64) -> Result<Vec<Session>, SessionStoreError> {
        delegate!(self, store => store.list(subject, now))
    }

    async fn end(&self, id: &str) -> Result<Option<Session>, SessionStoreError> {
        delegate!(self, store => store.end(id))
    }

    async fn end_all(&self, subject: &str) -> Result<Vec<Session>, SessionStoreError> {
        delegate!(self, store => store.end_all(subject))
    }

    async fn purge(&self, now: i64) -> Result<u64, SessionStoreError> {
        delegate!(self, store => store.purge(now))
    }
}

/// The claims of the CRM's access tokens, beyond the registered ones the issuer sets.
#[derive(Debug, Clone, Serialize)]
pub struct CrmClaims {
    /// Organization id.
    pub org: String,
    /// Role names (plus `superuser` for a superuser).
    pub roles: Vec<String>,
    /// Permissions, `resource:action`.
    pub perms: Vec<String>,
    /// The user's permission version.
    pub ver: u64,
}

/// Loads a user's current claims from the database at login and at every refresh; refuses
/// suspended and unknown users.
#[derive(Debug, Clone)]
pub struct UserClaims {
    db: Db,
}

impl UserClaims {
    /// Claims from `db`.
    #[must_use]
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

impl ClaimsSource for UserClaims {
    type Claims = CrmClaims;

    fn claims(
        &self,
        session: &Session,
    ) -> impl Future<Output = Result<CrmClaims, ClaimsError>> + Send {
        let db = self.db.clone();
        let subject = session.subject.clone();
        async move {
            let user = db.user(&subject).await.map_err(ClaimsError::unavailable)?;
            match user {
                Some(user) if !user.suspended => Ok(CrmClaims {
                    org: user.organization_id,
                    roles: roles::claim_names(&user.roles, user.is_superuser),
                    perms: roles::permissions(&user.roles, user.is_superuser),
                    ver: u64::try_from(user.permission_version).unwrap_or(0),
                }),
                _ => Err(ClaimsError::refused()),
            }
        }
    }
}
