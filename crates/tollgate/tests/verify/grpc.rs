//! The layer in front of a tonic service, with a real tonic client over loopback.

use std::net::SocketAddr;

use serde_json::json;
use tollgate::{VerifyLayer, key::Algorithm};
use tonic::Code;

use crate::{
    grpc_support as grpc,
    support::{TestKey, claims, now},
};

async fn serve(key: &TestKey) -> SocketAddr {
    serve_with(VerifyLayer::new(key.verifier())).await
}

async fn serve_with<R>(layer: VerifyLayer<tollgate::StandardClaims, R>) -> SocketAddr
where
    R: tollgate::response::Responder + Clone + Send + Sync + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = tonic::transport::Server::builder()
        .layer(layer)
        .add_service(grpc::WhoAmI);
    tokio::spawn(async move {
        router
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await
            .unwrap();
    });
    addr
}

/// A token of `key` that expired five seconds ago.
fn expired(key: &TestKey) -> String {
    let mut claims = claims();
    claims["exp"] = json!(now() - 5);
    key.sign(&claims)
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

    let status = grpc::call(addr, "Get", Some(&expired(&key)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), "the token has expired");

    let status = grpc::call(addr, "Get", Some("not-a-token"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);

    // The other verification failures, each with its description as the message.
    let mut wrong_aud = claims();
    wrong_aud["aud"] = serde_json::json!("elsewhere");
    let signed = key.sign(&claims());
    let forged = format!(
        "{}.{}",
        signed.rsplit_once('.').unwrap().0,
        key.sign(&wrong_aud).rsplit_once('.').unwrap().1
    );
    let cases = [
        (forged, "the token's signature is invalid"),
        (
            key.sign(&wrong_aud),
            "the token is not meant for this audience",
        ),
        (
            TestKey::new(Algorithm::HS256)
                .with_kid("nobody")
                .sign(&claims()),
            "no trusted key matches the token",
        ),
        (
            TestKey::new(Algorithm::HS384).sign(&claims()),
            "the token's algorithm is not accepted",
        ),
    ];
    for (token, message) in cases {
        let status = grpc::call(addr, "Get", Some(&token)).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{message}");
        assert_eq!(status.message(), message);
    }
}

#[tokio::test]
async fn optional_mode_passes_calls_without_a_token_but_not_bad_tokens() {
    let key = TestKey::new(Algorithm::ES256);
    let addr = serve_with(VerifyLayer::new(key.verifier()).optional(true)).await;
    // The service is reached, without claims (it answers INTERNAL "no claims" then).
    let status = grpc::call(addr, "Get", None).await.unwrap_err();
    assert_eq!(status.code(), Code::Internal);
    assert_eq!(status.message(), "no claims");
    let sub = grpc::call(addr, "Get", Some(&key.sign(&claims())))
        .await
        .unwrap();
    assert_eq!(sub, "user-1");
    let status = grpc::call(addr, "Get", Some(&expired(&key)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn a_custom_responder_answers_grpc_calls() {
    let key = TestKey::new(Algorithm::HS256);
    let responder = |error: &tollgate::AuthError, _: &http::HeaderMap| {
        http::Response::builder()
            .header("content-type", "application/grpc")
            .header("grpc-status", "7")
            .header("grpc-message", format!("custom: {}", error.kind().code()))
            .body(bytes::Bytes::new())
            .unwrap()
    };
    let addr = serve_with(VerifyLayer::new(key.verifier()).with_responder(responder)).await;
    let status = grpc::call(addr, "Get", None).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(status.message(), "custom: missing_token");
}

/// The key source cannot be reached and no key is cached: UNAVAILABLE, never UNAUTHENTICATED.
#[cfg(feature = "jwks-remote")]
#[tokio::test]
async fn key_source_down_is_unavailable() {
    use tollgate::{key::RemoteJwks, verify::TrustedIssuer, verify::Verifier};

    // Port 1 (tcpmux): nothing listens there, the connection is refused.
    let jwks = RemoteJwks::builder_allow_http("http://127.0.0.1:1/jwks.json")
        .unwrap()
        .build()
        .unwrap();
    let verifier = Verifier::new(
        TrustedIssuer::new(crate::support::ISSUER, jwks).add_audience(crate::support::AUDIENCE),
    );
    let addr = serve_with(VerifyLayer::new(verifier)).await;
    let key = TestKey::new(Algorithm::ES256);
    let status = grpc::call(addr, "Get", Some(&key.sign(&claims())))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
}

#[tokio::test]
async fn a_service_wrapped_on_its_own_keeps_its_grpc_name() {
    use tollgate::verify::Verify;

    let key = TestKey::new(Algorithm::HS256);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // `Verify` is a `NamedService`: the server routes calls to it by the inner service's name.
    let router =
        tonic::transport::Server::builder().add_service(Verify::new(grpc::WhoAmI, key.verifier()));
    tokio::spawn(async move {
        router
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await
            .unwrap();
    });
    let sub = grpc::call(addr, "Get", Some(&key.sign(&claims())))
        .await
        .unwrap();
    assert_eq!(sub, "user-1");
    let status = grpc::call(addr, "Get", None).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
}
