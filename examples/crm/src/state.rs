//! The application state, its substates, and how it is built from a [`Config`].

use std::{sync::Arc, time::Duration};

use axum::extract::FromRef;
use tollgate::{
    ConfigError, RequirePolicyLayer, RevocationLayer, StandardClaims, VerifyLayer,
    policy::{Authorizer, Policy},
    revocation::FailurePolicy,
};
use tollgate_redis::{LocalCache, RedisRevocationStore, RedisSessionStore, redis};
use tollgate_session::{
    CleanupTask, Issuer, SessionManager, SigningKey,
    browser::{BrowserSessions, CsrfGuardLayer, RefreshCookie},
};

use crate::{
    config::{Config, StartError, TrustedProxies, redact_url},
    db::{self, Db, NewUser, unix_now},
    keys,
    limit::LoginLimiter,
    password::Hasher,
    roles::SUPERUSER_ROLE,
    routes::{
        browser::{Browser, COOKIE_PATH},
        health::{Draining, HEALTH_TIMEOUT, RedisProbe},
    },
    stores::{Revocations, Sessions, UserClaims},
};

/// The session manager of the app.
pub type Manager = SessionManager<Sessions, UserClaims, Revocations>;

/// Everything the handlers share. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// Sessions: login, refresh, logout.
    pub sessions: Manager,
    /// The same sessions for the web app: the refresh token in a cookie.
    pub browser: Browser,
    /// Login rate limits.
    pub limiter: Arc<LoginLimiter>,
    /// Password hashing: its slots and queues.
    pub hasher: Hasher,
    /// Settings the handlers need.
    pub settings: Arc<Settings>,
    /// The prepared auth layers.
    pub layers: Arc<Layers>,
    /// What `GET /health` asks of Redis, with `--redis-url`.
    pub redis_probe: Option<RedisProbe>,
    /// Whether the instance drains: `GET /health` answers 503 then.
    pub draining: Draining,
    _background: Arc<Background>,
}

/// Settings the handlers need.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Access token lifetime.
    pub access_ttl: Duration,
    /// Clock-skew allowance.
    pub leeway: Duration,
    /// What to do when the revocation store fails (sensitive routes, token verification).
    pub revocation_failure: FailurePolicy,
    /// Origins allowed to call the API from another origin (`--allowed-origins`).
    pub allowed_origins: Vec<String>,
    /// The proxies whose `X-Forwarded-For` gives the client address (`--trusted-proxies`).
    pub trusted_proxies: TrustedProxies,
}

impl Settings {
    /// Until when a revocation entry must last to outlive every access token minted up to now.
    #[must_use]
    pub fn access_deadline(&self) -> i64 {
        let secs = self.access_ttl.as_secs() + self.leeway.as_secs() + 1;
        unix_now().saturating_add(i64::try_from(secs).unwrap_or(i64::MAX))
    }
}

/// The auth layers, prepared once: verify (every protected route), revocation (sensitive
/// routes) and one policy layer per permission the routes require.
#[derive(Debug, Clone)]
pub struct Layers {
    /// Verifies access tokens.
    pub verify: VerifyLayer<StandardClaims>,
    /// Checks revocation on sensitive routes.
    pub revocation: RevocationLayer<Revocations>,
    /// `customer:read`.
    pub customer_read: RequirePolicyLayer,
    /// `customer:create`.
    pub customer_create: RequirePolicyLayer,
    /// `customer:update`.
    pub customer_update: RequirePolicyLayer,
    /// `customer:delete`.
    pub customer_delete: RequirePolicyLayer,
    /// `user:read`.
    pub user_read: RequirePolicyLayer,
    /// `user:create`.
    pub user_create: RequirePolicyLayer,
    /// `role:assign`.
    pub role_assign: RequirePolicyLayer,
    /// `user:suspend`.
    pub user_suspend: RequirePolicyLayer,
    /// Refuses cross-site requests on the routes the refresh cookie authenticates (the
    /// request's own origin and `--allowed-origins` pass).
    pub csrf: CsrfGuardLayer,
}

impl Layers {
    fn new(
        sessions: &Manager,
        failure: FailurePolicy,
        allowed_origins: &[String],
    ) -> Result<Self, StartError> {
        let mut csrf = CsrfGuardLayer::new();
        for origin in allowed_origins {
            csrf = csrf
                .add_allowed_origin(origin)
                .map_err(|e| StartError::flag("--allowed-origins", e.to_string()))?;
        }
        Self::with_csrf(sessions, failure, csrf)
            .map_err(|e| StartError::other(format!("cannot build the auth layers: {e}")))
    }

    fn with_csrf(
        sessions: &Manager,
        failure: FailurePolicy,
        csrf: CsrfGuardLayer,
    ) -> Result<Self, ConfigError> {
        // Tokens carry their permissions in `perms`; a superuser's carry the `superuser` role.
        let authorizer = Authorizer::new().superuser_role(SUPERUSER_ROLE)?;
        let require = |permission: &str| {
            Ok::<_, ConfigError>(RequirePolicyLayer::new(
                &authorizer,
                Policy::permission(permission)?,
            ))
        };
        Ok(Self {
            verify: VerifyLayer::new(sessions.access_verifier().clone()),
            revocation: RevocationLayer::new(sessions.revocation().clone()).failure_policy(failure),
            customer_read: require("customer:read")?,
            customer_create: require("customer:create")?,
            customer_update: require("customer:update")?,
            customer_delete: require("customer:delete")?,
            user_read: require("user:read")?,
            user_create: require("user:create")?,
            role_assign: require("role:assign")?,
            user_suspend: require("user:suspend")?,
            csrf,
        })
    }
}

macro_rules! substate {
    ($ty:ty, $field:ident) => {
        impl FromRef<AppState> for $ty {
            fn from_ref(state: &AppState) -> Self {
                state.$field.clone()
            }
        }
    };
}

substate!(Db, db);
substate!(Manager, sessions);
substate!(Browser, browser);
substate!(Arc<LoginLimiter>, limiter);
substate!(Hasher, hasher);
substate!(Arc<Settings>, settings);
substate!(Option<RedisProbe>, redis_probe);
substate!(Draining, draining);

/// Background upkeep: the session store's cleanup task, and (with the in-process revocation
/// store) the purge of the revocations the database keeps for restarts. Stops when the last
/// state is dropped.
#[derive(Debug)]
struct Background {
    _sessions: CleanupTask,
    revocations: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(task) = &self.revocations {
            task.abort();
        }
    }
}

/// How often dead sessions and old revocation entries are purged.
const UPKEEP_EVERY: Duration = Duration::from_secs(600);

impl AppState {
    /// Connect the stores, run the migrations, prepare the keys and the superuser: everything
    /// the app needs, checked at start.
    ///
    /// What needs no database is checked first (a key file, Redis), so that a start that fails
    /// there does not create a SQLite database file; a file this start creates is removed if
    /// the start fails after all.
    ///
    /// # Errors
    ///
    /// A [`StartError`] naming the flag whose value does not work (an unreachable database or
    /// Redis, an unreadable key file, ...).
    pub async fn build(config: &Config) -> Result<Self, StartError> {
        let key = keys::given_key(&config.signing).await?;
        let redis = match &config.redis_url {
            Some(url) => Some(redis_stores(url, config).await?),
            None => None,
        };
        let new_file = db::missing_sqlite_file(&config.database_url);
        let built = match Db::connect(&config.database_url).await {
            Ok(db) => match Self::build_on(config, &db, key, redis).await {
                Ok(state) => Ok(state),
                Err(error) => {
                    db.close().await;
                    Err(error)
                }
            },
            Err(error) => Err(error),
        };
        if built.is_err()
            && let Some(path) = &new_file
        {
            db::remove_sqlite_file(path);
        }
        built
    }

    /// The rest of [`AppState::build`], on the database `db`, with the key given by a flag
    /// (`None`: the generated secret kept in the database) and the Redis stores, if any.
    async fn build_on(
        config: &Config,
        db: &Db,
        key: Option<SigningKey>,
        redis: Option<RedisStores>,
    ) -> Result<Self, StartError> {
        let db = db.clone();
        db.migrate().await?;

        let (revocations, session_store, redis_connection) = match redis {
            Some(RedisStores {
                revocations,
                sessions,
                connection,
            }) => (
                Revocations::Redis(revocations),
                Sessions::Redis(sessions),
                Some(connection),
            ),
            None => (
                Revocations::memory(db.clone(), config.leeway)
                    .await
                    .map_err(|error| {
                        StartError::flag(
                            "--database-url",
                            format!("cannot load the revocations: {error}"),
                        )
                    })?,
                Sessions::sql(&db),
                None,
            ),
        };

        let key = match key {
            Some(key) => key,
            None => keys::generated_key(&db).await?,
        };
        let issuer = Issuer::new(config.issuer.clone(), config.audience.clone(), key)
            .access_ttl(config.access_ttl)
            .map_err(|e| StartError::flag("--access-ttl", e.to_string()))?
            .refresh_ttl(config.refresh_ttl)
            .map_err(|e| StartError::flag("--refresh-ttl", e.to_string()))?
            .remember_me_ttl(config.remember_me_ttl)
            .map_err(|e| StartError::flag("--remember-me-ttl", e.to_string()))?
            .leeway(config.leeway)
            .map_err(|e| StartError::flag("--leeway", e.to_string()))?;
        let algorithm = issuer.signing_key().algorithm();
        let kid = issuer.signing_key().kid().to_owned();
        let sessions = SessionManager::new(issuer, session_store, UserClaims::new(db.clone()))
            .map_err(|e| StartError::other(format!("cannot build the token verifiers: {e}")))?
            .grace_period(config.refresh_grace)
            .map_err(|e| StartError::flag("--refresh-grace", e.to_string()))?
            .with_revocation(revocations);

        let cookie = RefreshCookie::new(COOKIE_PATH)
            .map_err(|e| StartError::other(format!("cannot set up the refresh cookie: {e}")))?;
        let browser = BrowserSessions::new(sessions.clone(), cookie);

        let settings = Settings {
            access_ttl: config.access_ttl,
            leeway: config.leeway,
            revocation_failure: config.revocation_failure,
            allowed_origins: config.allowed_origins.clone(),
            trusted_proxies: config.trusted_proxies.clone(),
        };
        let layers = Layers::new(
            &sessions,
            config.revocation_failure,
            &config.allowed_origins,
        )?;

        let hasher = Hasher::new(config.hash_concurrency, config.hash_queue);
        if let Some(admin) = &config.admin {
            ensure_superuser(&db, &hasher, &admin.email, &admin.password).await?;
        }
        let has_superuser = db.has_superuser().await.map_err(|error| {
            StartError::flag("--database-url", format!("cannot read the users: {error}"))
        })?;
        if !has_superuser {
            tracing::info!(
                "no superuser yet: start with --admin-email EMAIL --admin-password PASSWORD \
                 (or CRM_ADMIN_EMAIL and CRM_ADMIN_PASSWORD) to create the superuser `admin`"
            );
        }

        let limiter = Arc::new(match &redis_connection {
            Some(connection) => {
                LoginLimiter::shared(config.login_rate, connection.clone(), &config.redis_prefix)
            }
            None => LoginLimiter::new(config.login_rate),
        });
        let redis_probe = redis_connection.map(RedisProbe::new);
        limiter.spawn_housekeeping();
        let background = Background {
            _sessions: sessions.spawn_cleanup(UPKEEP_EVERY),
            revocations: matches!(sessions.revocation(), Revocations::Memory { .. })
                .then(|| tokio::spawn(purge_revocations(db.clone()))),
        };

        if matches!(db, Db::Postgres(_))
            && matches!(sessions.revocation(), Revocations::Memory { .. })
        {
            tracing::warn!(
                "revocations are kept in this process: another crm on the same PostgreSQL \
                 database does not see them (a logout, a role change or a suspension made here \
                 is not enforced there until the token expires); give every instance \
                 --redis-url to share them"
            );
        }
        tracing::info!(
            database = if matches!(db, Db::Sqlite(_)) { "sqlite" } else { "postgres" },
            sessions = sessions.store().describe(),
            revocations = sessions.revocation().describe(),
            login_limits = if limiter.is_shared() { "redis" } else { "this instance" },
            algorithm = %algorithm,
            kid = %kid,
            "crm ready"
        );

        Ok(Self {
            db,
            sessions,
            browser,
            limiter,
            hasher,
            settings: Arc::new(settings),
            layers: Arc::new(layers),
            redis_probe,
            draining: Draining::default(),
            _background: Arc::new(background),
        })
    }
}

/// What the app keeps on Redis (`--redis-url`), and the connection that `GET /health` and
/// the login limits use.
struct RedisStores {
    revocations: RedisRevocationStore,
    sessions: RedisSessionStore,
    connection: redis::aio::ConnectionManager,
}

/// Connect to Redis, check it answers PING, and build the revocation and session stores on
/// it (keys under `crm:`), and the connection of the health probe and the login limits.
async fn redis_stores(url: &str, config: &Config) -> Result<RedisStores, StartError> {
    let shown = redact_url(url);
    let client = redis::Client::open(url).map_err(|error| {
        StartError::flag("--redis-url", format!("invalid URL {shown}: {error}"))
    })?;
    let ping = async {
        let mut connection = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
    };
    match tokio::time::timeout(Duration::from_secs(3), ping).await {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => {
            return Err(StartError::flag(
                "--redis-url",
                format!("cannot reach Redis at {shown}: {error}"),
            ));
        }
        Err(_) => {
            return Err(StartError::flag(
                "--redis-url",
                format!("cannot reach Redis at {shown}: no answer to PING within 3s"),
            ));
        }
    }
    let revocations = RedisRevocationStore::builder(client.clone())
        .prefix(config.redis_prefix.clone())
        .map_err(|e| StartError::other(e.to_string()))?
        .leeway(config.leeway.max(Duration::from_secs(60)))
        .local_cache(LocalCache::new())
        .build()
        .map_err(|error| StartError::flag("--redis-url", format!("{shown}: {error}")))?;
    let sessions = RedisSessionStore::builder(client.clone())
        .prefix(config.redis_prefix.clone())
        .map_err(|e| StartError::other(e.to_string()))?
        .build()
        .map_err(|error| StartError::flag("--redis-url", format!("{shown}: {error}")))?;
    let connection_config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(HEALTH_TIMEOUT))
        .set_response_timeout(Some(HEALTH_TIMEOUT))
        .set_max_delay(Duration::from_secs(1));
    let connection = tokio::time::timeout(
        Duration::from_secs(3),
        redis::aio::ConnectionManager::new_with_config(client, connection_config),
    )
    .await
    .map_err(|_| {
        StartError::flag(
            "--redis-url",
            format!("cannot reach Redis at {shown}: no connection within 3s"),
        )
    })?
    .map_err(|error| {
        StartError::flag(
            "--redis-url",
            format!("cannot reach Redis at {shown}: {error}"),
        )
    })?;
    Ok(RedisStores {
        revocations,
        sessions,
        connection,
    })
}

/// Make sure the superuser `admin` exists with this email and password.
async fn ensure_superuser(
    db: &Db,
    hasher: &Hasher,
    email: &str,
    password: &str,
) -> Result<(), StartError> {
    let fail = |error: sqlx::Error| {
        StartError::flag(
            "--admin-email",
            format!("cannot create the superuser: {error}"),
        )
    };
    let hash_failed = |_| StartError::flag("--admin-password", "cannot hash the password");
    if let Some(other) = db.user_by_email(email).await.map_err(fail)?
        && other.username != "admin"
    {
        {
            return Err(StartError::flag(
                "--admin-email",
                format!("{email} belongs to another user ({})", other.username),
            ));
        }
    }
    match db.user_by_username("admin").await.map_err(fail)? {
        Some(user) if !user.is_superuser => Err(StartError::flag(
            "--admin-email",
            "the username `admin` belongs to a regular user; rename that user first",
        )),
        Some(user) => {
            if !hasher
                .verify(password.to_owned(), Some(user.password_hash.clone()))
                .await
                .unwrap_or(false)
            {
                let hash = hasher
                    .hash(password.to_owned())
                    .await
                    .map_err(hash_failed)?;
                db.set_password(&user.id, &hash).await.map_err(fail)?;
            }
            db.make_superuser(&user.id, email).await.map_err(fail)?;
            tracing::info!("superuser `admin` is up to date");
            Ok(())
        }
        None => {
            let hash = hasher
                .hash(password.to_owned())
                .await
                .map_err(hash_failed)?;
            let user = NewUser {
                username: "admin".to_owned(),
                email: email.to_owned(),
                password_hash: hash,
                roles: Vec::new(),
                is_superuser: true,
            };
            db.create_organization_with_user("Administration", &user)
                .await
                .map_err(fail)?;
            tracing::info!("superuser `admin` created");
            Ok(())
        }
    }
}

/// Purge the database's copy of old revocation entries every ten minutes.
async fn purge_revocations(db: Db) {
    let mut tick = tokio::time::interval(UPKEEP_EVERY);
    loop {
        tick.tick().await;
        if let Err(error) = db.purge_revocations(unix_now() - 3600).await {
            tracing::warn!(%error, "revocation purge failed");
        }
    }
}
