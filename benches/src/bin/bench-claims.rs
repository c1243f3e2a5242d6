//! What the claims cost: a loop of one operation on the benchmark token (HS256, uncached), to
//! be counted with `valgrind --tool=callgrind` (instructions) or `valgrind` (allocations).
//!
//! ```sh
//! cargo build --release -p tollgate-benches --bin bench-claims
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/bench-claims route 1000
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/bench-claims route 11000
//! ```
//!
//! The difference of the two counts, divided by 10 000, is the cost of one operation without
//! the program's start-up. Modes:
//!
//! - `parse`: `serde_json::from_slice::<StandardClaims>` of the decoded claims set;
//! - `verify`: `Verifier::verify::<StandardClaims>`, the result dropped;
//! - `route`: one request through `VerifyLayer` to a handler that does not read the claims;
//! - `route-claims`: the same to a handler that reads them (`sub`, the roles, the audience)
//!   from `Claims<StandardClaims>`, as a CRM handler does.

use std::{convert::Infallible, future::ready, hint::black_box, process::ExitCode};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use http::{HeaderValue, Request, Response, header::AUTHORIZATION};
use tollgate::{Claims, StandardClaims, VerifyLayer, key::Algorithm};
use tollgate_benches::{AUDIENCE, Keys, now_or_never};
use tower::{Layer, Service, ServiceExt, service_fn};

/// The `jti` of the benchmark token (a UUID, as most issuers write it).
const JTI: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

/// What a handler reading the claims does with them: the subject, a role check, the audience.
fn read_claims(claims: &StandardClaims) -> usize {
    let sub = claims.sub.as_deref().unwrap_or_default();
    let manager = claims.roles.iter().any(|role| role == "manager");
    let audience = claims.aud.contains(AUDIENCE);
    sub.len() + usize::from(manager) + usize::from(audience)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(mode), Some(Ok(iterations))) = (args.next(), args.next().map(|n| n.parse::<u64>()))
    else {
        eprintln!("usage: bench-claims parse|verify|route|route-claims ITERATIONS");
        return ExitCode::FAILURE;
    };
    let keys = Keys::new(Algorithm::HS256);
    let token = keys.token(JTI);
    let verifier = keys.verifier();
    match mode.as_str() {
        "parse" => {
            let payload = token.split('.').nth(1).unwrap_or_default();
            let payload = URL_SAFE_NO_PAD.decode(payload).expect("base64url claims");
            for _ in 0..iterations {
                let claims: StandardClaims =
                    serde_json::from_slice(black_box(&payload)).expect("claims");
                black_box(claims);
            }
        }
        "verify" => {
            for _ in 0..iterations {
                let verified = now_or_never(verifier.verify::<StandardClaims>(black_box(&token)))
                    .expect("completes at once")
                    .expect("valid token");
                black_box(verified);
            }
        }
        "route" | "route-claims" => {
            let reads = mode == "route-claims";
            let service =
                VerifyLayer::new(verifier).layer(service_fn(move |request: Request<()>| {
                    let read = if reads {
                        let claims = request.extensions().get::<Claims<StandardClaims>>();
                        claims.map_or(0, |claims| read_claims(claims))
                    } else {
                        0
                    };
                    black_box(read);
                    ready(Ok::<_, Infallible>(
                        Response::new(axum::body::Body::empty()),
                    ))
                }));
            let bearer = HeaderValue::try_from(format!("Bearer {token}")).expect("header value");
            for _ in 0..iterations {
                let mut service = service.clone();
                let request = Request::get("/customers")
                    .header(AUTHORIZATION, bearer.clone())
                    .body(())
                    .expect("request");
                let ready = now_or_never(service.ready())
                    .expect("ready at once")
                    .expect("ready");
                let response = now_or_never(ready.call(black_box(request)))
                    .expect("completes at once")
                    .expect("infallible");
                assert_eq!(response.status(), http::StatusCode::OK);
            }
        }
        other => {
            eprintln!("unknown mode {other}: parse, verify, route or route-claims");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
