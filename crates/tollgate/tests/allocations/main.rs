//! The policy check allocates nothing when it grants, as its docs say, and a layer lets a
//! response through without boxing its body again: counted with a counting global
//! allocator, which is why this test is a binary of its own.

use std::{
    convert::Infallible,
    future::{Future, ready},
    pin::pin,
    task::{Context, Poll, Waker},
};

use axum::body::Body;
use http::{Request, Response};
use tollgate::{
    Claims, RequirePolicyLayer, StandardClaims,
    policy::{Authorizer, Policy, RoleMap},
};
use tower::{Layer, Service, service_fn};

fn claims() -> StandardClaims {
    StandardClaims {
        sub: Some("user-1".to_owned()),
        org: Some("org-1".to_owned()),
        roles: vec!["sales".to_owned()],
        perms: vec!["invoice:read".to_owned(), "report:*".to_owned()],
        scope: Some("openid profile:read".to_owned()),
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

/// The output of a future that completes at once.
fn now<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the future completes at once"),
    }
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
            now(std::future::poll_fn(|cx| service.poll_ready(cx))).unwrap();
            let response = now(service.call(request)).unwrap();
            assert_eq!(response.status(), http::StatusCode::OK);
            // The layer's body is the inner one: axum takes it as it is.
            drop(Body::new(response.into_body()));
        }
    });
    assert_eq!(counted.count_total, 0);
}

#[test]
fn the_counter_counts() {
    // The test above cannot pass for want of a working counter.
    let counted = allocation_counter::measure(|| {
        std::hint::black_box(vec![1_u8; 64]);
    });
    assert_eq!(counted.count_total, 1);
}
