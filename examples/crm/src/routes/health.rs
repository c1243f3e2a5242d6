//! `GET /health`.

use axum::{
    Json,
    extract::State,
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::{db::Db, error::ApiError, openapi::Health};

/// `GET /health`: 200 `{"status":"ok"}` while the database answers, 503 otherwise.
#[utoipa::path(
    get,
    path = "/health",
    operation_id = "health",
    tag = "app",
    responses((status = 200, description = "The database answers", body = Health))
)]
pub async fn check(State(db): State<Db>) -> Response {
    if db.ping().await {
        Json(json!({ "status": "ok" })).into_response()
    } else {
        ApiError::unavailable("database", &std::io::Error::other("health check failed"))
            .into_response()
    }
}
