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
//! - [`serve`] runs it with graceful shutdown.

pub mod config;
pub mod db;
pub mod error;
pub mod keys;
pub mod limit;
pub mod password;
pub mod roles;
pub mod routes;
mod server;
pub mod state;
pub mod stores;
pub mod validate;
pub mod views;

use axum::{
    Router, middleware,
    routing::{delete, get, patch, post, put},
};

pub use config::{Config, ConfigError, StartError};
pub use db::Db;
pub use error::ApiError;
pub use server::{serve, shutdown_signal};
pub use state::AppState;

use routes::{admin, auth, browser, customers, health, jwks, web};

/// The router of the whole API.
pub fn app(state: AppState) -> Router {
    let layers = state.layers.clone();
    let sensitive = layers.revocation.clone();

    let public = Router::new()
        .route("/", get(web::index))
        .route("/assets/{name}", get(web::asset))
        .route("/health", get(health::check))
        .route(
            "/.well-known/jwks.json",
            jwks::route(state.sessions.issuer()),
        )
        .route("/api/auth/register", post(auth::register))
        .route("/api/auth/login", post(auth::login))
        .route("/api/auth/token/refresh", post(auth::refresh))
        .route("/api/auth/token/verify", post(auth::verify));

    // The web app's routes: the refresh token in a cookie, cross-site requests refused.
    let browser = Router::new()
        .route("/api/auth/browser/register", post(browser::register))
        .route("/api/auth/browser/login", post(browser::login))
        .route("/api/auth/browser/refresh", post(browser::refresh))
        .route("/api/auth/browser/logout", post(browser::logout))
        .route_layer(layers.csrf.clone());

    // Every route below needs a valid access token: `route_layer`, so that a request for an
    // unknown path is still answered 404 rather than 401. On each route: verify, then
    // revocation (the routes the README marks sensitive), then the permission.
    let protected = Router::new()
        .route("/api/auth/me", get(auth::me))
        .route(
            "/api/auth/logout",
            post(auth::logout).route_layer(sensitive.clone()),
        )
        .route(
            "/api/auth/logout-all",
            post(auth::logout_all).route_layer(sensitive.clone()),
        )
        .route("/api/auth/sessions", get(auth::list_sessions))
        .route("/api/auth/logins", get(auth::logins))
        .route(
            "/api/auth/sessions/{id}",
            delete(auth::end_session).route_layer(sensitive.clone()),
        )
        .route(
            "/api/auth/password",
            post(auth::change_password).route_layer(sensitive.clone()),
        )
        .route(
            "/api/customers",
            get(customers::list)
                .route_layer(layers.customer_read.clone())
                .merge(post(customers::create).route_layer(layers.customer_create.clone())),
        )
        .route(
            "/api/customers/{id}",
            get(customers::get)
                .route_layer(layers.customer_read.clone())
                .merge(patch(customers::update).route_layer(layers.customer_update.clone()))
                .merge(
                    delete(customers::delete)
                        .route_layer(layers.customer_delete.clone())
                        .route_layer(sensitive.clone()),
                ),
        )
        .route(
            "/api/admin/users",
            get(admin::list)
                .route_layer(layers.user_read.clone())
                .merge(post(admin::create).route_layer(layers.user_create.clone())),
        )
        .route(
            "/api/admin/users/{id}/roles",
            put(admin::set_roles)
                .route_layer(layers.role_assign.clone())
                .route_layer(sensitive.clone()),
        )
        .route(
            "/api/admin/users/{id}/suspend",
            post(admin::suspend)
                .route_layer(layers.user_suspend.clone())
                .route_layer(sensitive.clone()),
        )
        .route(
            "/api/admin/users/{id}/reinstate",
            post(admin::reinstate)
                .route_layer(layers.user_suspend.clone())
                .route_layer(sensitive.clone()),
        )
        .route(
            "/api/admin/users/{id}/sessions",
            get(admin::sessions).route_layer(layers.user_read.clone()),
        )
        .route(
            "/api/admin/users/{id}/sessions/{sid}",
            delete(admin::end_session)
                .route_layer(layers.user_suspend.clone())
                .route_layer(sensitive),
        )
        .route_layer(layers.verify.clone());

    let mut router = public
        .merge(browser)
        .merge(protected)
        .fallback(|| async { ApiError::no_route() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() });
    // CORS only when origins are listed: otherwise no CORS header at all.
    if !state.settings.allowed_origins.is_empty() {
        router = router.layer(server::cors(&state.settings.allowed_origins));
    }
    router
        .layer(middleware::from_fn(server::log_request))
        .with_state(state)
}
