//! One load-test server of the HTTP comparison (`benches/http/run.sh`,
//! `benches/http/instructions.sh`): the same route (`GET /customer`, about 170 bytes of JSON)
//! behind one authentication stack.
//!
//! Run with `cargo run --release -p tollgate-benches --bin bench-server -- <mode> <port> [redis-url]`,
//! or `... -- token [mode]` to print the token the load generator sends to that mode's server
//! (HS256 unless the mode names another algorithm; without a mode, the HS256 token, which the
//! `jwt-authorizer` server of `benches/http/peers` accepts too).
//!
//! Modes:
//!
//! - `bare`: no authentication; `empty-layer`: bare plus a `route_layer` that does nothing
//!   (what axum's layering itself costs).
//! - `verify`: tollgate `VerifyLayer`; `verify-cached`: with the verified-token cache.
//! - `verify-reads-claims`, `verify-cached-reads-claims`: the same, with a handler that takes
//!   `Claims<StandardClaims>` and answers the customer with the token's `sub` and `roles`
//!   (as many bytes as the other routes: padded with JSON whitespace).
//! - `verify-policy`: plus `RequirePolicyLayer` (a permission of the `perms` claim).
//! - `verify-revocation`: plus `RevocationLayer` on the in-process `MemoryRevocationStore`;
//!   `verify-revocation-policy` and `verify-revocation-policy-cached`: verify (uncached,
//!   cached), revocation on `MemoryRevocationStore` and policy.
//! - `verify-redis-cached`, `verify-redis-direct`: verify plus `RevocationLayer` on
//!   tollgate-redis, with and without its local cache; `verify-redis-policy-cached`: cached
//!   verify, tollgate-redis with its local cache, and policy.
//! - `es256-cached`, `rs256-cached`, `eddsa-cached`: cached verify of a token of that
//!   algorithm.
//! - `handwritten`: an axum `from_fn` middleware calling `jsonwebtoken::decode`, what most
//!   applications write; `handwritten-redis`: the same plus a Redis `EXISTS` on the `jti`.
//!
//! Every revocation store holds 1 000 revoked tokens (not the benchmark's). The server runs on
//! a current-thread tokio runtime: the scripts pin it to one core. Stacked layers go into one
//! `route_layer` through a `ServiceBuilder`: each `route_layer` call boxes and clones the route
//! once more per request.

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
use serde::Serialize;
use tollgate::{
    Claims, RequirePolicyLayer, RevocationLayer, StandardClaims, VerifyLayer,
    key::Algorithm,
    policy::{Authorizer, Policy},
    revocation::{MemoryRevocationStore, RevocationStore},
    verify::{VerifiedCache, Verifier},
};
use tollgate_benches::{BODY, Keys, now};
use tollgate_redis::{LocalCache, RedisRevocationStore};
use tower::ServiceBuilder;

/// Every mode, in the order of the comparison.
const MODES: [&str; 19] = [
    "bare",
    "empty-layer",
    "verify",
    "verify-cached",
    "verify-reads-claims",
    "verify-cached-reads-claims",
    "verify-policy",
    "verify-revocation",
    "verify-revocation-policy",
    "verify-revocation-policy-cached",
    "verify-redis-cached",
    "verify-redis-policy-cached",
    "verify-redis-direct",
    "es256-cached",
    "rs256-cached",
    "eddsa-cached",
    "handwritten",
    "handwritten-redis",
    // Listed so that `token` knows it; served by `benches/http/peers`, not by this binary.
    "jwt-authorizer",
];

/// The algorithm of the tokens a mode's server accepts.
fn algorithm(mode: &str) -> Algorithm {
    match mode.split('-').next() {
        Some("es256") => Algorithm::ES256,
        Some("rs256") => Algorithm::RS256,
        Some("eddsa") => Algorithm::EdDSA,
        _ => Algorithm::HS256,
    }
}

/// The route's answer, the same for every mode.
async fn customer() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], BODY)
}

/// The customer as the claims-reading route answers it.
#[derive(Serialize)]
struct Customer<'a> {
    id: &'a str,
    name: &'a str,
    plan: &'a str,
    owner: &'a str,
    roles: Vec<&'a str>,
    created: &'a str,
}

/// The route's answer built from the caller's claims: its `sub` as the owner, its `roles`;
/// padded with JSON whitespace to the length of [`BODY`], so every route answers as many bytes.
async fn customer_of(Claims(claims): Claims<StandardClaims>) -> Response {
    let customer = Customer {
        id: "cus_1042",
        name: "Acme Corporation",
        plan: "enterprise",
        owner: claims.sub.as_deref().unwrap_or_default(),
        roles: claims.roles.iter().map(AsRef::<str>::as_ref).collect(),
        created: "2026-01-15T09:30:00Z",
    };
    let mut body = Vec::with_capacity(BODY.len());
    if serde_json::to_writer(&mut body, &customer).is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    if body.len() < BODY.len() {
        body.resize(BODY.len(), b' ');
    }
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("token") => {
            let mode = args.get(1).map_or("verify", String::as_str);
            if !MODES.contains(&mode) {
                usage();
            }
            let keys = Keys::new(algorithm(mode));
            println!("{}", keys.token("0f8fad5b-d9cb-469f-a165-70867728950e"));
        }
        Some(mode) if MODES.contains(&mode) && mode != "jwt-authorizer" => {
            let port: u16 = args
                .get(1)
                .and_then(|p| p.parse().ok())
                .unwrap_or_else(|| usage());
            let redis = args.get(2).cloned();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(serve(mode.to_owned(), port, redis));
        }
        _ => usage(),
    }
}

#[allow(clippy::exit)]
fn usage() -> ! {
    eprintln!("usage: bench-server token [mode] | bench-server <mode> <port> [redis-url]");
    eprintln!("modes: {}", MODES.join(" "));
    std::process::exit(2)
}

/// The policy of the policy stacks: a permission the token's `perms` claim grants.
fn policy_layer() -> RequirePolicyLayer {
    RequirePolicyLayer::new(
        &Authorizer::new(),
        Policy::permission("customer:read").unwrap(),
    )
}

/// The in-process store, filled.
async fn memory_store() -> MemoryRevocationStore {
    let store = MemoryRevocationStore::new();
    fill(&store).await;
    store
}

/// tollgate-redis on `url` (with its local cache if `cached`), filled.
async fn redis_store(url: Option<&str>, cached: bool) -> RedisRevocationStore {
    let client = redis::Client::open(url.unwrap_or_else(|| usage())).unwrap();
    // A bound on each store call far above what loopback needs: under valgrind
    // (`instructions.sh`) the server runs some fifty times slower.
    let mut builder = RedisRevocationStore::builder(client)
        .prefix(format!("tollgate-http-bench:{}:", std::process::id()))
        .unwrap()
        .timeout(Duration::from_secs(5))
        .unwrap();
    if cached {
        builder = builder.local_cache(LocalCache::new());
    }
    let store = builder.build().unwrap();
    fill(&store).await;
    // The local cache answers from memory only once subscribed: wait for it (at most 30 s).
    for _ in 0..300 {
        if !cached || store.is_subscribed() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        !cached || store.is_subscribed(),
        "the local cache did not subscribe within 30 s"
    );
    store
}

/// The verifier with the verified-token cache.
fn cached(verifier: Verifier) -> Verifier {
    verifier.cache(VerifiedCache::new(10_000))
}

async fn serve(mode: String, port: u16, redis: Option<String>) {
    let keys = Keys::new(algorithm(&mode));
    let verifier = keys.verifier();
    let route = Router::new().route("/customer", get(customer));
    let app = match mode.as_str() {
        "bare" => route,
        "empty-layer" => route.route_layer(tower::util::MapRequestLayer::new(
            |request: axum::extract::Request| request,
        )),
        "verify" => route.route_layer(VerifyLayer::new(verifier)),
        "verify-cached" | "es256-cached" | "rs256-cached" | "eddsa-cached" => {
            route.route_layer(VerifyLayer::new(cached(verifier)))
        }
        "verify-reads-claims" => Router::new()
            .route("/customer", get(customer_of))
            .route_layer(VerifyLayer::new(verifier)),
        "verify-cached-reads-claims" => Router::new()
            .route("/customer", get(customer_of))
            .route_layer(VerifyLayer::new(cached(verifier))),
        "verify-policy" => route.route_layer(
            ServiceBuilder::new()
                .layer(VerifyLayer::new(verifier))
                .layer(policy_layer()),
        ),
        "verify-revocation" => route.route_layer(
            ServiceBuilder::new()
                .layer(VerifyLayer::new(verifier))
                .layer(RevocationLayer::new(memory_store().await)),
        ),
        "verify-revocation-policy" | "verify-revocation-policy-cached" => {
            let verifier = if mode.ends_with("-cached") {
                cached(verifier)
            } else {
                verifier
            };
            route.route_layer(
                ServiceBuilder::new()
                    .layer(VerifyLayer::new(verifier))
                    .layer(RevocationLayer::new(memory_store().await))
                    .layer(policy_layer()),
            )
        }
        "verify-redis-cached" | "verify-redis-direct" => {
            let store = redis_store(redis.as_deref(), mode == "verify-redis-cached").await;
            route.route_layer(
                ServiceBuilder::new()
                    .layer(VerifyLayer::new(verifier))
                    .layer(RevocationLayer::new(store)),
            )
        }
        "verify-redis-policy-cached" => {
            let store = redis_store(redis.as_deref(), true).await;
            route.route_layer(
                ServiceBuilder::new()
                    .layer(VerifyLayer::new(cached(verifier)))
                    .layer(RevocationLayer::new(store))
                    .layer(policy_layer()),
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
