//! The cost of the tower stack around the checks, in process and without a network: drives
//! `n` requests through the same axum router as `bench-server` builds for a mode, each
//! request built in the loop, sent with `oneshot` on a clone of the router (what axum's
//! server does per request) and its response body collected.
//!
//! Run with `cargo run --release -p tollgate-benches --bin bench-stack -- <mode> <n>`.
//! Wall-clock time is printed, but the figure to use is the instruction count per request,
//! which a shared machine does not disturb: run the binary under
//! `valgrind --tool=callgrind` at two values of `n` and divide the difference of the
//! instruction counts by the difference of `n` (start-up cancels out).
//!
//! Modes: `empty` (a `route_layer` that does nothing: what axum's layering costs by itself),
//! `verify` (`VerifyLayer`), `verify-cached` (with the verified-token cache), `verify-policy`
//! (plus `RequirePolicyLayer`, a permission of the `perms` claim), `verify-revocation` (plus
//! `RevocationLayer` on the in-process `MemoryRevocationStore` holding 1 000 revoked tokens),
//! `verify-revocation-policy` and `verify-revocation-policy-cached` (all three layers,
//! uncached and cached), and `rejected` (`VerifyLayer`, the request without a token: the
//! rejection path).

use std::time::Instant;

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
    response::IntoResponse,
    routing::get,
};
use tollgate::{
    RequirePolicyLayer, RevocationLayer, VerifyLayer,
    key::Algorithm,
    policy::{Authorizer, Policy},
    revocation::{MemoryRevocationStore, RevocationStore},
    verify::VerifiedCache,
};
use tollgate_benches::{BODY, Keys, now};
use tower::{ServiceBuilder, ServiceExt};

async fn customer() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], BODY)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(mode), Some(n)) = (
        args.first().cloned(),
        args.get(1).and_then(|n| n.parse::<u64>().ok()),
    ) else {
        usage()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(&mode, n));
}

#[allow(clippy::exit)]
fn usage() -> ! {
    eprintln!("usage: bench-stack <mode> <n>");
    std::process::exit(2)
}

/// The router of `mode`, built as `bench-server` builds it.
async fn app(mode: &str, keys: &Keys) -> Router {
    let route = Router::new().route("/customer", get(customer));
    let verifier = keys.verifier();
    let policy = || {
        RequirePolicyLayer::new(
            &Authorizer::new(),
            Policy::permission("customer:read").unwrap(),
        )
    };
    match mode {
        "empty" => route.route_layer(tower::util::MapRequestLayer::new(
            |request: axum::extract::Request| request,
        )),
        "verify" | "rejected" => route.route_layer(VerifyLayer::new(verifier)),
        "verify-cached" => {
            route.route_layer(VerifyLayer::new(verifier.cache(VerifiedCache::new(10_000))))
        }
        "verify-policy" => route.route_layer(
            ServiceBuilder::new()
                .layer(VerifyLayer::new(verifier))
                .layer(policy()),
        ),
        "verify-revocation" => route.route_layer(
            ServiceBuilder::new()
                .layer(VerifyLayer::new(verifier))
                .layer(RevocationLayer::new(filled().await)),
        ),
        "verify-revocation-policy" | "verify-revocation-policy-cached" => {
            let verifier = if mode.ends_with("-cached") {
                verifier.cache(VerifiedCache::new(10_000))
            } else {
                verifier
            };
            route.route_layer(
                ServiceBuilder::new()
                    .layer(VerifyLayer::new(verifier))
                    .layer(RevocationLayer::new(filled().await))
                    .layer(policy()),
            )
        }
        _ => usage(),
    }
}

/// A `MemoryRevocationStore` holding 1 000 other revoked tokens, as `bench-server` fills it.
async fn filled() -> MemoryRevocationStore {
    let store = MemoryRevocationStore::new();
    let until = now() + 3600;
    for i in 0..1_000 {
        store
            .revoke_token(&format!("{i:08x}-7425-40de-944b-e07fc1f90ae7"), until)
            .await
            .unwrap();
    }
    store
}

async fn run(mode: &str, n: u64) {
    let keys = Keys::new(Algorithm::HS256);
    let app = app(mode, &keys).await;
    let authorization = format!(
        "Bearer {}",
        keys.token("0f8fad5b-d9cb-469f-a165-70867728950e")
    );
    let expected = if mode == "rejected" {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    let start = Instant::now();
    let mut bytes = 0;
    for _ in 0..n {
        let mut request = Request::get("/customer");
        if mode != "rejected" {
            request = request.header(header::AUTHORIZATION, authorization.as_str());
        }
        let request = request.body(Body::empty()).unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), expected, "{mode}: unexpected status");
        bytes += axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
            .len();
    }
    let elapsed = start.elapsed();
    #[allow(clippy::cast_precision_loss)]
    let per_request = elapsed.as_secs_f64() * 1e6 / n.max(1) as f64;
    println!(
        "{mode}: {n} requests, {bytes} bytes of body, {per_request:.3} µs per request (wall clock, noisy)"
    );
}
