//! A tonic service behind verify, revocation and policy, called by a real tonic client over
//! loopback: per-method policies on the whole server, and a policy on one service only.

use std::net::SocketAddr;

use serde_json::json;
use tollgate::{
    RequirePolicyLayer, RevocationLayer, VerifyLayer,
    key::Algorithm,
    policy::{Authorizer, Policy},
    revocation::MemoryRevocationStore,
};
use tonic::Code;
use tower::ServiceBuilder;

use crate::{authorizer, grpc_support as grpc, revoke, support::TestKey, token};

/// `Get` needs `customer:read`; `Delete` needs `customer:delete` as well.
fn per_method() -> Policy {
    Policy::all_of([
        Policy::permission("customer:read").unwrap(),
        Policy::on_path(
            "/tollgate.test.WhoAmI/Delete",
            Policy::permission("customer:delete").unwrap(),
        )
        .unwrap(),
    ])
    .unwrap()
}

/// Serve a tonic router on a free loopback port; evaluates to its address.
macro_rules! serve {
    ($router:expr) => {{
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let router = $router;
        tokio::spawn(async move {
            router
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
                .await
                .unwrap();
        });
        addr
    }};
}

/// The whole server behind one stack: verify, then revocation, then the per-method policy.
async fn serve_stack(key: &TestKey, store: &MemoryRevocationStore) -> SocketAddr {
    let router = tonic::transport::Server::builder()
        .layer(
            ServiceBuilder::new()
                .layer(VerifyLayer::new(key.verifier()))
                .layer(RevocationLayer::new(store.clone()))
                .layer(RequirePolicyLayer::new(&authorizer(), per_method())),
        )
        .add_service(grpc::WhoAmI);
    serve!(router)
}

#[tokio::test]
async fn per_method_policies_over_grpc() {
    let key = TestKey::new(Algorithm::EdDSA);
    let store = MemoryRevocationStore::new();
    let addr = serve_stack(&key, &store).await;

    let (reader, _) = token(&key, json!({ "roles": ["viewer"], "perms": [] }));
    let (manager, manager_claims) = token(&key, json!({ "roles": ["manager"], "perms": [] }));
    let (nobody, _) = token(&key, json!({ "roles": [], "perms": [] }));

    assert_eq!(
        grpc::call(addr, "Get", Some(&reader)).await.unwrap(),
        "user-1"
    );
    let status = grpc::call(addr, "Delete", Some(&reader)).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(
        status.message(),
        "the token does not grant the required permission"
    );
    assert_eq!(
        grpc::call(addr, "Delete", Some(&manager)).await.unwrap(),
        "user-1"
    );
    let status = grpc::call(addr, "Get", Some(&nobody)).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);

    // No token: the verify layer answers.
    let status = grpc::call(addr, "Get", None).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);

    // Revoked: the revocation layer answers, before the policy.
    revoke(&store, &manager_claims).await;
    let status = grpc::call(addr, "Delete", Some(&manager))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), "the token has been revoked");

    // A superuser passes every method.
    let (root, _) = token(&key, json!({ "roles": ["superuser"], "perms": [] }));
    assert_eq!(
        grpc::call(addr, "Delete", Some(&root)).await.unwrap(),
        "user-1"
    );
}

#[tokio::test]
async fn a_policy_on_one_service_and_the_order_that_cannot_work() {
    let key = TestKey::new(Algorithm::HS256);
    let store = MemoryRevocationStore::new();
    // Verify for the whole server; policy first, then revocation, on this service only.
    let right = tonic::transport::Server::builder()
        .layer(VerifyLayer::new(key.verifier()))
        .add_service(
            ServiceBuilder::new()
                .layer(RequirePolicyLayer::new(
                    &Authorizer::default(),
                    per_method(),
                ))
                .layer(RevocationLayer::new(store.clone()))
                .service(grpc::WhoAmI),
        );
    // The policy outside the verify layer finds no claims.
    let wrong = tonic::transport::Server::builder()
        .layer(
            ServiceBuilder::new()
                .layer(RequirePolicyLayer::new(
                    &Authorizer::default(),
                    per_method(),
                ))
                .layer(VerifyLayer::new(key.verifier())),
        )
        .add_service(grpc::WhoAmI);
    let (right, wrong) = (serve!(right), serve!(wrong));

    let (allowed, claims) = token(&key, json!({ "perms": ["customer:*"] }));
    assert_eq!(
        grpc::call(right, "Delete", Some(&allowed)).await.unwrap(),
        "user-1"
    );
    let status = grpc::call(wrong, "Get", Some(&allowed)).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), "no bearer token was sent");

    // Policy first: a revoked token without the permission is denied, not told it is revoked.
    let (reader, reader_claims) = token(&key, json!({ "perms": ["customer:read"] }));
    revoke(&store, &reader_claims).await;
    let status = grpc::call(right, "Delete", Some(&reader))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    revoke(&store, &claims).await;
    let status = grpc::call(right, "Delete", Some(&allowed))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
}
