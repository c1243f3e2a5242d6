//! `GET /.well-known/jwks.json`.

use axum::routing::{MethodRouter, get};
use tollgate_session::Issuer;

use crate::{error::ApiError, state::AppState};

/// The route of `issuer`'s JWK Set. With public keys (`--jwt-private-key`): tollgate-session's
/// handler, 200 and `Cache-Control: public, max-age=300`. Without (HS256: a shared secret is
/// never published): the app's 404 problem, with `code` `not_found` like every other 404.
pub fn route(issuer: &Issuer) -> MethodRouter<AppState> {
    if issuer.jwks().keys.is_empty() {
        get(|| async { ApiError::no_public_keys() })
    } else {
        get(issuer.jwks_handler())
    }
}
