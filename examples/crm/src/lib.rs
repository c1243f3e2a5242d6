//! A sample CRM API protected by tollgate: the whole stack as users will run it.
//!
//! Run with
//!
//! ```text
//! cargo run --release -p crm
//! ```
//!
//! and it listens on `127.0.0.1:8080` with a SQLite file `crm.db`. The HTTP contract is
//! `shared/specs/crm-api.md`; `examples/crm/README.md` has the configuration and a curl
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
pub mod state;
pub mod stores;
pub mod validate;
pub mod views;

use std::{future::Future, net::SocketAddr, time::Instant};

use axum::{
    Json, Router,
    extract::{Request, State},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{delete, get, patch, post, put},
};
use serde_json::json;
use tokio::net::TcpListener;

pub use config::{Config, ConfigError, StartError};
pub use db::Db;
pub use error::ApiError;
pub use state::AppState;

use routes::{admin, auth, customers};

/// The router of the whole contract.
pub fn app(state: AppState) -> Router {
    let layers = state.layers.clone();
    let sensitive = layers.revocation.clone();

    let public = Router::new()
        .route("/health", get(health))
        .route(
            "/.well-known/jwks.json",
            get(state.sessions.issuer().jwks_handler()),
        )
        .route("/api/auth/register", post(auth::register))
        .route("/api/auth/login", post(auth::login))
        .route("/api/auth/token/refresh", post(auth::refresh))
        .route("/api/auth/token/verify", post(auth::verify));

    // Every route below needs a valid access token: `route_layer`, so that a request for an
    // unknown path is still answered 404 rather than 401. On each route: verify, then
    // revocation (sensitive routes, the `S` of the contract), then the permission.
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
                .route_layer(sensitive),
        )
        .route_layer(layers.verify.clone());

    public
        .merge(protected)
        .fallback(|| async { ApiError::no_route() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// `GET /health`: 200 `{"status":"ok"}` while the database answers, 503 otherwise.
async fn health(State(db): State<Db>) -> Response {
    if db.ping().await {
        Json(json!({ "status": "ok" })).into_response()
    } else {
        ApiError::unavailable("database", &std::io::Error::other("health check failed"))
            .into_response()
    }
}

/// One `info` line per request: method, path (never the query or headers), status, time.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        target: "crm::http",
        %method,
        path,
        status = response.status().as_u16(),
        micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        "request"
    );
    response
}

/// Serve `app` on `listener` (with the peer address available for rate limiting) until
/// `shutdown` completes, then finish the requests in flight.
///
/// # Errors
///
/// When the server fails.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Completes on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing the requests in flight");
}
