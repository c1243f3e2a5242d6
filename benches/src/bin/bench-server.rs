//! One load-test server of the HTTP comparison (`benches/http/run.sh`): the same route
//! (`GET /customer`, about 170 bytes of JSON) behind one authentication stack.
//!
//! Run with `cargo run --release -p tollgate-benches --bin bench-server -- <mode> <port> [redis-url]`,
//! or `... -- token` to print the HS256 token the load generator sends.
//!
//! Modes: `bare` (no authentication), `empty-layer` (bare plus a `route_layer` that does
//! nothing: what axum's layering itself costs), `verify` (tollgate `VerifyLayer`), `verify-cached`
//! (with the verified-token cache), `verify-policy` (plus `RequirePolicyLayer`),
//! `verify-revocation` (plus `RevocationLayer` on the in-process `MemoryRevocationStore`),
//! `verify-redis-cached` and `verify-redis-direct` (plus `RevocationLayer` on tollgate-redis,
//! with and without its local cache), `handwritten` (an axum `from_fn` middleware calling
//! `jsonwebtoken::decode`, what most applications write) and `handwritten-redis` (the same
//! plus a Redis `EXISTS` on the `jti`).
//!
//! The server runs on a current-thread tokio runtime: `run.sh` pins it to one core. Stacked
//! layers go into one `route_layer` through a `ServiceBuilder`: each `route_layer` call boxes
//! and clones the route once more per request.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    Router,
    extract::{Request, State},
    http::{StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use jsonwebtoken::{DecodingKey, Validation};
use tollgate::{
    RequirePolicyLayer, RevocationLayer, StandardClaims, VerifyLayer,
    key::Algorithm,
    policy::{Authorizer, Policy},
    revocation::{MemoryRevocationStore, RevocationStore},
    verify::VerifiedCache,
};
use tollgate_benches::{BODY, Keys, now};
use tollgate_redis::{LocalCache, RedisRevocationStore};
use tower::ServiceBuilder;

async fn customer() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], BODY)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let keys = Keys::new(Algorithm::HS256);
    match args.first().map(String::as_str) {
        Some("token") => {
            println!("{}", keys.token("0f8fad5b-d9cb-469f-a165-70867728950e"));
        }
        Some(mode) => {
            let port: u16 = args
                .get(1)
                .and_then(|p| p.parse().ok())
                .unwrap_or_else(|| usage());
            let redis = args.get(2).cloned();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(serve(mode.to_owned(), port, redis, keys));
        }
        None => usage(),
    }
}

#[allow(clippy::exit)]
fn usage() -> ! {
    eprintln!("usage: bench-server token | bench-server <mode> <port> [redis-url]");
    std::process::exit(2)
}

async fn serve(mode: String, port: u16, redis: Option<String>, keys: Keys) {
    let route = Router::new().route("/customer", get(customer));
    let verifier = keys.verifier();
    let app = match mode.as_str() {
        "bare" => route,
        "empty-layer" => route.route_layer(tower::util::MapRequestLayer::new(
            |request: axum::extract::Request| request,
        )),
        "verify" => route.route_layer(VerifyLayer::new(verifier)),
        "verify-cached" => {
            route.route_layer(VerifyLayer::new(verifier.cache(VerifiedCache::new(10_000))))
        }
        "verify-policy" => route.route_layer(
            ServiceBuilder::new()
                .layer(VerifyLayer::new(verifier))
                .layer(RequirePolicyLayer::new(
                    &Authorizer::new(),
                    Policy::permission("customer:read").unwrap(),
                )),
        ),
        "verify-revocation" => {
            let store = MemoryRevocationStore::new();
            fill(&store).await;
            route.route_layer(
                ServiceBuilder::new()
                    .layer(VerifyLayer::new(verifier))
                    .layer(RevocationLayer::new(store)),
            )
        }
        "verify-redis-cached" | "verify-redis-direct" => {
            let client = redis::Client::open(redis.clone().unwrap_or_else(|| usage())).unwrap();
            let mut builder = RedisRevocationStore::builder(client)
                .prefix(format!("tollgate-http-bench:{}:", std::process::id()))
                .unwrap();
            if mode == "verify-redis-cached" {
                builder = builder.local_cache(LocalCache::new());
            }
            let store = builder.build().unwrap();
            fill(&store).await;
            route.route_layer(
                ServiceBuilder::new()
                    .layer(VerifyLayer::new(verifier))
                    .layer(RevocationLayer::new(store)),
            )
        }
        "handwritten" => route.route_layer(middleware::from_fn_with_state(
            Arc::new(Handwritten::new(&keys, None)),
            handwritten,
        )),
        "handwritten-redis" => {
            let client = redis::Client::open(redis.clone().unwrap_or_else(|| usage())).unwrap();
            let connection = client.get_connection_manager().await.unwrap();
            route.route_layer(middleware::from_fn_with_state(
                Arc::new(Handwritten::new(&keys, Some(connection))),
                handwritten,
            ))
        }
        _ => usage(),
    };
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .unwrap();
    eprintln!("{mode} listening on {}", listener.local_addr().unwrap());
    axum::serve(listener, app).await.unwrap();
}

/// Revoke 1 000 other tokens, so the store is not empty.
async fn fill(store: &impl RevocationStore) {
    let until = now() + 3600;
    for i in 0..1_000 {
        store
            .revoke_token(&format!("{i:08x}-7425-40de-944b-e07fc1f90ae7"), until)
            .await
            .unwrap();
    }
    // Let a local cache subscribe before the load starts.
    tokio::time::sleep(Duration::from_millis(200)).await;
}

/// What a hand-written middleware keeps: the key, the validation, maybe a Redis connection.
struct Handwritten {
    key: DecodingKey,
    validation: Validation,
    redis: Option<redis::aio::ConnectionManager>,
}

impl Handwritten {
    fn new(keys: &Keys, redis: Option<redis::aio::ConnectionManager>) -> Self {
        Self {
            key: keys.decoding.clone(),
            validation: keys.validation(),
            redis,
        }
    }
}

async fn handwritten(
    State(auth): State<Arc<Handwritten>>,
    mut request: Request,
    next: Next,
) -> Result<Response, StatusCode> {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or(StatusCode::UNAUTHORIZED)?;
    let data = jsonwebtoken::decode::<StandardClaims>(token, &auth.key, &auth.validation)
        .map_err(|_| StatusCode::UNAUTHORIZED)?;
    if let Some(redis) = &auth.redis {
        let jti = data.claims.jti.as_deref().ok_or(StatusCode::UNAUTHORIZED)?;
        let revoked: bool = redis::cmd("EXISTS")
            .arg(format!("revoked:{jti}"))
            .query_async(&mut redis.clone())
            .await
            .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
        if revoked {
            return Err(StatusCode::UNAUTHORIZED);
        }
    }
    request.extensions_mut().insert(data.claims);
    Ok(next.run(request).await)
}
