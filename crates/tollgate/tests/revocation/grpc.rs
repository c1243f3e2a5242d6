//! One tonic service behind the revocation check, with a real tonic client over loopback.

use std::net::SocketAddr;

use tollgate::{
    RevocationLayer, VerifyLayer,
    key::Algorithm,
    revocation::{MemoryRevocationStore, RevocationStore},
};
use tonic::Code;
use tower::ServiceBuilder;

use crate::{
    DownStore, grpc_support as grpc,
    support::{TestKey, claims},
};

/// A server verifying every call, and checking revocation for the `WhoAmI` service.
async fn serve<St: RevocationStore>(key: &TestKey, store: St) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = tonic::transport::Server::builder()
        .layer(VerifyLayer::new(key.verifier()))
        .add_service(
            ServiceBuilder::new()
                .layer(RevocationLayer::new(store))
                .service(grpc::WhoAmI),
        );
    tokio::spawn(async move {
        router
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await
            .unwrap();
    });
    addr
}

#[tokio::test]
async fn revoked_token_is_unauthenticated() {
    let key = TestKey::new(Algorithm::EdDSA);
    let store = MemoryRevocationStore::new();
    let addr = serve(&key, store.clone()).await;
    let claims = claims();
    let token = key.sign(&claims);
    let sub = grpc::call(addr, "Get", Some(&token)).await.unwrap();
    assert_eq!(sub, "user-1");

    store
        .revoke_token(
            claims["jti"].as_str().unwrap(),
            claims["exp"].as_i64().unwrap(),
        )
        .await
        .unwrap();
    let status = grpc::call(addr, "Get", Some(&token)).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), "the token has been revoked");
}

#[tokio::test]
async fn store_outage_is_unavailable() {
    let key = TestKey::new(Algorithm::HS256);
    let addr = serve(&key, DownStore).await;
    let status = grpc::call(addr, "Get", Some(&key.sign(&claims())))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(status.message(), "the revocation store is unavailable");
}
