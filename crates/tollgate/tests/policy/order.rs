//! Which orders of verify, revocation and policy work, and the one that cannot.
//!
//! `ServiceBuilder` runs its layers top to bottom on the way in. The policy reads the claims
//! the verify layer inserts, so verify must come before it; revocation needs the claims too.
//! Revocation and policy may come in either order after verification:
//!
//! - verify → revocation → policy: a revoked token is answered 401 everywhere, even where it
//!   would be refused anyway; every verified request costs a store look-up.
//! - verify → policy → revocation: a request the policy refuses gets 403 without a look-up;
//!   a revoked token that lacks the permission learns 403, not that it is revoked.
//!
//! Policy before verify cannot work: the policy finds no claims and answers 401 to every
//! request, valid token or not.

use axum::{Router, routing::get};
use http::StatusCode;
use serde_json::json;
use tollgate::{
    RequirePolicyLayer, RevocationLayer, VerifyLayer,
    key::Algorithm,
    policy::{Authorizer, Policy},
};
use tower::ServiceBuilder;

use crate::{
    CountingStore,
    http::{send, serve},
    revoke,
    support::TestKey,
    token,
};

async fn ok() -> &'static str {
    "ok"
}

fn delete_customers() -> RequirePolicyLayer {
    RequirePolicyLayer::new(
        &Authorizer::default(),
        Policy::permission("customer:delete").unwrap(),
    )
}

#[tokio::test]
async fn policy_before_verify_answers_401_to_every_request() {
    let key = TestKey::new(Algorithm::HS256);
    let wrong = Router::new().route("/customers", get(ok)).layer(
        ServiceBuilder::new()
            .layer(delete_customers())
            .layer(VerifyLayer::new(key.verifier())),
    );
    let right = Router::new().route("/customers", get(ok)).layer(
        ServiceBuilder::new()
            .layer(VerifyLayer::new(key.verifier()))
            .layer(delete_customers()),
    );
    let (wrong, right) = (serve(wrong).await, serve(right).await);

    let (allowed, _) = token(&key, json!({ "perms": ["customer:delete"] }));
    let answer = send(wrong, "GET", "/customers", Some(&allowed), &[]).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    // The policy found no claims: "no token", although a valid one was sent.
    assert_eq!(answer.challenge.as_deref(), Some("Bearer"));
    assert_eq!(answer.problem()["code"], "missing_token");

    let answer = send(right, "GET", "/customers", Some(&allowed), &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    let (denied, _) = token(&key, json!({ "perms": ["customer:read"] }));
    let answer = send(right, "GET", "/customers", Some(&denied), &[]).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn revocation_and_policy_in_either_order_after_verify() {
    let key = TestKey::new(Algorithm::HS256);
    let revocation_first = CountingStore::default();
    let policy_first = CountingStore::default();
    let app = Router::new()
        .route("/revocation-first", get(ok))
        .layer(
            ServiceBuilder::new()
                .layer(VerifyLayer::new(key.verifier()))
                .layer(RevocationLayer::new(revocation_first.clone()))
                .layer(delete_customers()),
        )
        .merge(
            Router::new().route("/policy-first", get(ok)).layer(
                ServiceBuilder::new()
                    .layer(VerifyLayer::new(key.verifier()))
                    .layer(delete_customers())
                    .layer(RevocationLayer::new(policy_first.clone())),
            ),
        );
    let addr = serve(app).await;
    let call = |path: &'static str, token: String| async move {
        send(addr, "GET", path, Some(&token), &[]).await
    };

    let (allowed, allowed_claims) = token(&key, json!({ "perms": ["customer:delete"] }));
    let (denied, denied_claims) = token(&key, json!({ "perms": ["customer:read"] }));

    // Valid and allowed: both pass, both ask the store.
    assert_eq!(call("/revocation-first", allowed.clone()).await.status, 200);
    assert_eq!(call("/policy-first", allowed.clone()).await.status, 200);
    assert_eq!((revocation_first.checks(), policy_first.checks()), (1, 1));

    // Not allowed: both 403; only revocation-first spent a look-up.
    assert_eq!(call("/revocation-first", denied.clone()).await.status, 403);
    assert_eq!(call("/policy-first", denied.clone()).await.status, 403);
    assert_eq!((revocation_first.checks(), policy_first.checks()), (2, 1));

    // Revoked and not allowed: the first layer to refuse answers.
    revoke(&revocation_first.store, &denied_claims).await;
    revoke(&policy_first.store, &denied_claims).await;
    let answer = call("/revocation-first", denied.clone()).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.problem()["code"], "token_revoked");
    let answer = call("/policy-first", denied).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.problem()["code"], "insufficient_scope");

    // Revoked and allowed: refused by either order.
    revoke(&revocation_first.store, &allowed_claims).await;
    revoke(&policy_first.store, &allowed_claims).await;
    for path in ["/revocation-first", "/policy-first"] {
        let answer = call(path, allowed.clone()).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(answer.problem()["code"], "token_revoked", "{path}");
    }
}

#[tokio::test]
async fn an_anonymous_request_through_an_optional_verify_layer_is_401() {
    let key = TestKey::new(Algorithm::HS256);
    let app = Router::new()
        .route(
            "/account",
            get(ok).route_layer(RequirePolicyLayer::new(
                &Authorizer::default(),
                Policy::authenticated(),
            )),
        )
        .route("/catalog", get(ok))
        .route_layer(VerifyLayer::new(key.verifier()).optional(true));
    let addr = serve(app).await;

    let answer = send(addr, "GET", "/account", None, &[]).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.challenge.as_deref(), Some("Bearer"));
    assert_eq!(send(addr, "GET", "/catalog", None, &[]).await.status, 200);

    let (valid, _) = token(&key, json!({}));
    assert_eq!(
        send(addr, "GET", "/account", Some(&valid), &[])
            .await
            .status,
        200
    );
    // A bad token is still refused by the verify layer.
    let answer = send(addr, "GET", "/account", Some("not-a-jwt"), &[]).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_ne!(answer.challenge.as_deref(), Some("Bearer"));
}
