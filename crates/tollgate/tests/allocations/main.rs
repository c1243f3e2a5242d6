//! What allocates, counted with a counting global allocator (which is why this test is a
//! binary of its own): the policy check allocates nothing when it grants, as its docs say, a
//! layer lets a response through without boxing its body again, and a verification allocates
//! what its claims need and no more.

use std::{
    convert::Infallible,
    future::{Future, ready},
    pin::pin,
    task::{Context, Poll, Waker},
    time::{SystemTime, UNIX_EPOCH},
};

use axum::body::Body;
use http::{Request, Response};
use jsonwebtoken::{EncodingKey, Header};
use tollgate::{
    Claims, RequirePolicyLayer, StandardClaims,
    key::{Algorithm, Key},
    policy::{Authorizer, Policy, RoleMap},
    verify::{TrustedIssuer, Verifier},
};
use tower::{Layer, Service, service_fn};

fn claims() -> StandardClaims {
    StandardClaims {
        sub: Some("user-1".into()),
        org: Some("org-1".into()),
        roles: vec!["sales".into()],
        perms: vec!["invoice:read".into(), "report:*".into()],
        scope: Some("openid profile:read".into()),
        ..StandardClaims::default()
    }
}

#[test]
fn a_granted_check_allocates_nothing() {
    let authorizer = Authorizer::new()
        .scope_claim(true)
        .role_map(
            RoleMap::new()
                .add_role("sales", ["customer:read", "customer:update"])
                .unwrap(),
        )
        .superuser_role("superuser")
        .unwrap();
    let policies = [
        Policy::permission("invoice:read").unwrap(),
        Policy::permission("report:export").unwrap(),
        Policy::permission("customer:update").unwrap(),
        Policy::permission("profile:read").unwrap(),
        Policy::role("sales").unwrap(),
        Policy::any_of([
            Policy::role("admin").unwrap(),
            Policy::permission("customer:delete").unwrap(),
            Policy::permission("customer:read").unwrap(),
        ])
        .unwrap(),
        Policy::all_of([
            Policy::permission("customer:read").unwrap(),
            Policy::not(Policy::role("viewer").unwrap()),
            Policy::org_from_header("x-org").unwrap(),
            Policy::org_from_path(1),
        ])
        .unwrap(),
    ];
    let claims = claims();
    let (parts, ()) = Request::get("/orgs/org-1/customers")
        .header("x-org", "org-1")
        .body(())
        .unwrap()
        .into_parts();

    for policy in &policies {
        // Warm up anything lazily initialised, then count.
        authorizer.check(policy, &claims, &parts).unwrap();
        let counted = allocation_counter::measure(|| {
            for _ in 0..100 {
                assert!(authorizer.check(policy, &claims, &parts).is_ok());
            }
        });
        assert_eq!(counted.count_total, 0, "{policy:?} allocated");
    }
}

#[test]
fn the_counter_counts() {
    // The test above cannot pass for want of a working counter.
    let counted = allocation_counter::measure(|| {
        std::hint::black_box(vec![1_u8; 64]);
    });
    assert_eq!(counted.count_total, 1);
}

/// Poll `future` once: `Verifier::verify` completes at once with a static key.
fn now_or_never<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("pending"),
    }
}

#[test]
fn a_verification_allocates_for_its_claims_only() {
    const SECRET: &[u8] = b"allocation-secret-of-32-bytes-ok";
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // The claims of a CRM access token (the benchmark token of docs/performance.md).
    let claims = serde_json::json!({
        "iss": "https://auth.example.com",
        "sub": "user-4f1c2a9e",
        "aud": "crm-api",
        "exp": now + 86_400,
        "iat": now - 60,
        "jti": "0f8fad5b-d9cb-469f-a165-70867728950e",
        "sid": "sess-6a2b1c9d",
        "org": "org-acme",
        "roles": ["sales", "viewer"],
        "perms": ["customer:read", "customer:write", "deal:read"],
        "scope": "openid profile",
        "ver": 3,
        "token_type": "access",
    });
    let token = jsonwebtoken::encode(
        &Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET),
    )
    .unwrap();
    let verifier = Verifier::new(
        TrustedIssuer::new(
            "https://auth.example.com",
            Key::hmac(Algorithm::HS256, SECRET).unwrap(),
        )
        .add_audience("crm-api"),
    );
    let verify = || now_or_never(verifier.verify::<StandardClaims>(&token)).unwrap();
    let verified = verify();
    assert_eq!(
        verified.standard().perms,
        ["customer:read", "customer:write", "deal:read"]
    );
    drop(verified);

    let counted = allocation_counter::measure(|| {
        std::hint::black_box(verify());
    });
    // The `Arc` of the claims, the role list, the permission list, and the 36-byte `jti`
    // (longer than the 24 bytes a claim string keeps inline): every other string is inline.
    assert_eq!(counted.count_total, 4);
}

#[test]
fn a_granted_request_keeps_the_inner_body_without_a_box() {
    // Requests and the inner service's responses are made beforehand: only the layer's
    // call, its future, and axum's conversion of the response body (what a `route_layer`
    // does with every response) are counted.
    let mut responses: Vec<Response<Body>> =
        (0..100).map(|_| Response::new(Body::from("ok"))).collect();
    let mut requests: Vec<Request<Body>> = (0..100)
        .map(|_| {
            let mut request = Request::new(Body::empty());
            request.extensions_mut().insert(Claims::new(claims()));
            request
        })
        .collect();
    let inner = service_fn(move |_: Request<Body>| {
        ready(Ok::<_, Infallible>(
            responses.pop().expect("one response per request"),
        ))
    });
    let mut service = RequirePolicyLayer::new(
        &Authorizer::new(),
        Policy::permission("invoice:read").unwrap(),
    )
    .layer(inner);
    let counted = allocation_counter::measure(|| {
        while let Some(request) = requests.pop() {
            now_or_never(std::future::poll_fn(|cx| service.poll_ready(cx))).unwrap();
            let response = now_or_never(service.call(request)).unwrap();
            assert_eq!(response.status(), http::StatusCode::OK);
            // The layer's body is the inner one: axum takes it as it is.
            drop(Body::new(response.into_body()));
        }
    });
    assert_eq!(counted.count_total, 0);
}
