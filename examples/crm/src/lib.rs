//! A sample CRM API protected by tollgate: the whole stack as users will run it.
//!
//! Run with
//!
//! ```text
//! cargo run --release -p crm
//! ```
//!
//! and it listens on `127.0.0.1:8080` with a SQLite file `crm.db`. `examples/crm/README.md`
//! documents the HTTP API (every route, error code and flag), the configuration and a curl
//! walk-through.
//!
//! # Structure
//!
//! - [`Config`] parses and validates the flags; [`AppState::build`] connects the stores and
//!   checks everything at start.
//! - [`app`] builds the router: public routes, then the protected ones behind
//!   [`VerifyLayer`](tollgate::VerifyLayer) (as a `route_layer`, so unknown routes are 404),
//!   sensitive routes behind the [`RevocationLayer`](tollgate::RevocationLayer),
//!   permission routes behind a [`RequirePolicyLayer`](tollgate::RequirePolicyLayer). The order
//!   on every route is verify, then revocation, then policy.
//! - [`openapi`] makes the OpenAPI 3.1 document of those same routes, served at
//!   `GET /api/openapi.json`.
//! - [`serve`] runs it with graceful shutdown, a request id, a log line (and, with
//!   `--metrics-listen`, the HTTP [`metrics`]) for every request.

pub mod config;
pub mod db;
pub mod error;
pub mod keys;
pub mod limit;
pub mod metrics;
pub mod openapi;
pub mod password;
pub mod roles;
pub mod routes;
mod server;
pub mod state;
pub mod stores;
pub mod validate;
pub mod views;

use axum::{Extension, Router};
use utoipa_axum::{router::OpenApiRouter, routes};

pub use config::{Config, ConfigError, StartError};
pub use db::Db;
pub use error::ApiError;
pub use server::{HttpMetrics, REQUEST_ID, serve, shutdown_signal};
pub use state::AppState;

use openapi::{Document, permission, sensitive, token};
use routes::{admin, auth, browser, customers, health, jwks, web};

/// The router of the whole API, and its OpenAPI document at `/api/openapi.json`: both are
/// built from the one list of routes below (each handler's `#[utoipa::path]` gives its path
/// and method).
pub fn app(state: AppState) -> Router {
    let layers = state.layers.clone();
    let revocation = &layers.revocation;

    let public = OpenApiRouter::new()
        .routes(routes!(web::index))
        .routes(routes!(web::asset))
        .routes(routes!(health::check))
        .routes(routes!(jwks::keys))
        .routes(routes!(openapi::json))
        .routes(routes!(auth::register))
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::verify));

    // The web app's routes: the refresh token in a cookie, cross-site requests refused.
    let browser = OpenApiRouter::new()
        .routes(routes!(browser::register))
        .routes(routes!(browser::login))
        .routes(routes!(browser::refresh))
        .routes(routes!(browser::logout))
        .route_layer(layers.csrf.clone());

    // Every route below needs a valid access token: `route_layer`, so that a request for an
    // unknown path is still answered 404 rather than 401. On each route: verify, then
    // revocation (the routes the README marks sensitive), then the permission.
    let protected = OpenApiRouter::new()
        .routes(token(routes!(auth::me)))
        .routes(token(sensitive(routes!(auth::logout), revocation)))
        .routes(token(sensitive(routes!(auth::logout_all), revocation)))
        .routes(token(routes!(auth::list_sessions)))
        .routes(token(routes!(auth::logins)))
        .routes(token(sensitive(routes!(auth::end_session), revocation)))
        .routes(token(sensitive(routes!(auth::change_password), revocation)))
        .routes(token(permission(
            routes!(customers::list),
            &layers.customer_read,
            "customer:read",
        )))
        .routes(token(permission(
            routes!(customers::create),
            &layers.customer_create,
            "customer:create",
        )))
        .routes(token(permission(
            routes!(customers::get),
            &layers.customer_read,
            "customer:read",
        )))
        .routes(token(permission(
            routes!(customers::update),
            &layers.customer_update,
            "customer:update",
        )))
        .routes(token(sensitive(
            permission(
                routes!(customers::delete),
                &layers.customer_delete,
                "customer:delete",
            ),
            revocation,
        )))
        .routes(token(permission(
            routes!(admin::list),
            &layers.user_read,
            "user:read",
        )))
        .routes(token(permission(
            routes!(admin::create),
            &layers.user_create,
            "user:create",
        )))
        .routes(token(sensitive(
            permission(
                routes!(admin::set_roles),
                &layers.role_assign,
                "role:assign",
            ),
            revocation,
        )))
        .routes(token(sensitive(
            permission(
                routes!(admin::suspend),
                &layers.user_suspend,
                "user:suspend",
            ),
            revocation,
        )))
        .routes(token(sensitive(
            permission(
                routes!(admin::reinstate),
                &layers.user_suspend,
                "user:suspend",
            ),
            revocation,
        )))
        .routes(token(permission(
            routes!(admin::sessions),
            &layers.user_read,
            "user:read",
        )))
        .routes(token(sensitive(
            permission(
                routes!(admin::end_session),
                &layers.user_suspend,
                "user:suspend",
            ),
            revocation,
        )))
        .route_layer(layers.verify.clone());

    let (router, paths) = public.merge(browser).merge(protected).split_for_parts();
    let document = openapi::document(paths, state.browser.cookie().cookie_name());
    let mut router = router
        .layer(Extension(Document::new(&document)))
        .fallback(|| async { ApiError::no_route() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() });
    // CORS only when origins are listed: otherwise no CORS header at all.
    if !state.settings.allowed_origins.is_empty() {
        router = router.layer(server::cors(&state.settings.allowed_origins));
    }
    router.with_state(state)
}
