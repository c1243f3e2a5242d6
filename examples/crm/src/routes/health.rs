//! `GET /health`: whether the stores this instance needs answer.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use axum::{
    Json,
    extract::State,
    response::{IntoResponse, Response},
};
use serde_json::json;
use tollgate_redis::redis::{self, aio::ConnectionManager};

use crate::{db::Db, error::ApiError, openapi::Health};

/// How long each store has to answer the health check: a check that hangs would be read as
/// a dead instance by the load balancer anyway, and must not hold a connection.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(1);

/// A connection to the Redis that holds the revocations and sessions (`--redis-url`), for
/// `GET /health` to ask; it reconnects by itself after an outage.
#[derive(Clone)]
pub struct RedisProbe(ConnectionManager);

impl std::fmt::Debug for RedisProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedisProbe")
    }
}

impl RedisProbe {
    /// A probe on `connection`.
    #[must_use]
    pub fn new(connection: ConnectionManager) -> Self {
        Self(connection)
    }

    /// Whether Redis answers `PING` within [`HEALTH_TIMEOUT`].
    async fn answers(&self) -> bool {
        let mut connection = self.0.clone();
        let command = redis::cmd("PING");
        let ping = command.query_async::<String>(&mut connection);
        matches!(tokio::time::timeout(HEALTH_TIMEOUT, ping).await, Ok(Ok(_)))
    }
}

/// Whether this instance is draining: set once the shutdown signal is received (see
/// `--drain-period`); from then on `GET /health` answers 503 `draining`. Cheap to clone: every
/// clone is the same flag.
#[derive(Debug, Clone, Default)]
pub struct Draining(Arc<AtomicBool>);

impl Draining {
    /// Start draining: `GET /health` answers 503 from now on.
    pub fn start(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether draining has started.
    #[must_use]
    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// `GET /health`: 503 `draining` once the instance drains (after SIGTERM, for
/// `--drain-period`); else 200 `{"status":"ok"}` when the database and, with `--redis-url`, Redis
/// answer within [`HEALTH_TIMEOUT`] (asked at the same time); otherwise 503 `unavailable`,
/// whose `detail` and `down` member name what does not answer, so that a load balancer takes
/// the instance out until its stores are back (no restart needed).
#[utoipa::path(
    get,
    path = "/health",
    operation_id = "health",
    tag = "app",
    responses(
        (status = 200, description = "The database and, when configured, Redis answer", body = Health),
        (status = 503, response = crate::openapi::Unavailable),
    )
)]
pub async fn check(
    State(db): State<Db>,
    State(redis): State<Option<RedisProbe>>,
    State(draining): State<Draining>,
) -> Response {
    if draining.is_draining() {
        return ApiError::draining().into_response();
    }
    let database = async {
        tokio::time::timeout(HEALTH_TIMEOUT, db.ping())
            .await
            .unwrap_or(false)
    };
    let redis = async {
        match &redis {
            Some(probe) => probe.answers().await,
            None => true,
        }
    };
    let (database, redis) = tokio::join!(database, redis);
    let down: Vec<&str> = [(database, "database"), (redis, "redis")]
        .into_iter()
        .filter_map(|(answers, name)| (!answers).then_some(name))
        .collect();
    if down.is_empty() {
        return Json(json!({ "status": "ok" })).into_response();
    }
    ApiError::down(&down).into_response()
}
