//! `GET /.well-known/jwks.json`.

use axum::routing::{MethodRouter, get};
use tollgate_session::Issuer;

use crate::state::AppState;

/// The route of `issuer`'s JWK Set, served by tollgate-session's handler. With public keys
/// (`--jwt-private-key`): 200 and `Cache-Control: public, max-age=300`. Without (HS256: a
/// shared secret is never published): a 404 problem with `code` `not_found`, like every other
/// 404 of the app.
pub fn route(issuer: &Issuer) -> MethodRouter<AppState> {
    get(issuer.jwks_handler())
}
