//! `GET /.well-known/jwks.json`.

use axum::{extract::State, response::Response};

use crate::state::Manager;

/// `GET /.well-known/jwks.json`: the issuer's JWK Set, answered by tollgate-session's
/// handler. With public keys (`--jwt-private-key`): 200 and `Cache-Control: public,
/// max-age=300`. Without (HS256: a shared secret is never published): a 404 problem with
/// `code` `not_found`, like every other 404 of the app.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    operation_id = "jwks",
    tag = "app",
    responses(
        (status = 200, description = "The JWK Set of the signing key (`--jwt-private-key`)",
            body = serde_json::Value, content_type = "application/json",
            headers(("cache-control" = String, description = "`public, max-age=300`"))),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn keys(State(sessions): State<Manager>) -> Response {
    sessions.issuer().jwks_handler()().await
}
