//! The `jwt-authorizer` server of the HTTP load comparison: the same route, token and checks
//! as `bench-server` (HS256, issuer, audience, `exp`), on jwt-authorizer 0.15 and axum 0.7.
//!
//! Run with `cargo run --release -- <port>` (from this folder; `../run.sh` does it).

use axum::{http::header, response::IntoResponse, routing::get, Router};
use jwt_authorizer::{Authorizer, IntoLayer, JwtAuthorizer, JwtClaims, Validation};
use serde::Deserialize;

/// Must match `tollgate_benches::{SECRET, ISSUER, AUDIENCE, BODY}`.
const SECRET: &str = "benchmark-secret-of-32-bytes-ok!";
const ISSUER: &str = "https://auth.example.com";
const AUDIENCE: &str = "crm-api";
const BODY: &str = r#"{"id":"cus_1042","name":"Acme Corporation","email":"billing@acme.example","plan":"enterprise","seats":250,"owner":"user-42","created":"2026-01-15T09:30:00Z"}"#;

/// The claims the route's extractor reads (the same fields as tollgate's StandardClaims).
#[derive(Clone, Debug, Deserialize)]
#[allow(dead_code)]
struct User {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<serde_json_aud::Aud>,
    exp: Option<i64>,
    nbf: Option<i64>,
    iat: Option<i64>,
    jti: Option<String>,
    sid: Option<String>,
    org: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    perms: Vec<String>,
    scope: Option<String>,
    ver: Option<u64>,
    token_type: Option<String>,
}

mod serde_json_aud {
    use serde::Deserialize;

    #[derive(Clone, Debug, Deserialize)]
    #[serde(untagged)]
    #[allow(dead_code)]
    pub enum Aud {
        One(String),
        Many(Vec<String>),
    }
}

async fn customer(JwtClaims(_user): JwtClaims<User>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], BODY)
}

fn main() {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("usage: tollgate-bench-peers <port>");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let authorizer: Authorizer<User> = JwtAuthorizer::from_secret(SECRET)
            .validation(Validation::new().iss(&[ISSUER]).aud(&[AUDIENCE]).leeway(0))
            .build()
            .await
            .unwrap();
        let app = Router::new()
            .route("/customer", get(customer))
            .layer(authorizer.into_layer());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        eprintln!("jwt-authorizer listening on {}", listener.local_addr().unwrap());
        axum::serve(listener, app).await.unwrap();
    });
}
