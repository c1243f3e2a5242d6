//! The layer in front of a tonic service, with a real tonic client over loopback.

use std::net::SocketAddr;

use serde_json::json;
use tollgate::{Algorithm, VerifyLayer};
use tonic::Code;

use crate::{
    grpc_support as grpc,
    support::{TestKey, claims, now},
};

async fn serve(key: &TestKey) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = tonic::transport::Server::builder()
        .layer(VerifyLayer::new(key.verifier()))
        .add_service(grpc::WhoAmI);
    tokio::spawn(async move {
        router
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await
            .unwrap();
    });
    addr
}

#[tokio::test]
async fn a_valid_token_reaches_the_service_with_its_claims() {
    let key = TestKey::new(Algorithm::EdDSA);
    let addr = serve(&key).await;
    let sub = grpc::call(addr, "Get", Some(&key.sign(&claims())))
        .await
        .unwrap();
    assert_eq!(sub, "user-1");
}

#[tokio::test]
async fn rejections_are_unauthenticated() {
    let key = TestKey::new(Algorithm::HS256);
    let addr = serve(&key).await;
    let status = grpc::call(addr, "Get", None).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), "no bearer token was sent");

    let mut expired = claims();
    expired["exp"] = json!(now() - 5);
    let status = grpc::call(addr, "Get", Some(&key.sign(&expired)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), "the token has expired");

    let status = grpc::call(addr, "Get", Some("not-a-token"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
}
