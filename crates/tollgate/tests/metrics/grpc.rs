//! The layers in front of a tonic service, called by a tonic client over loopback.

use tollgate::{
    RequirePolicyLayer, RevocationLayer, VerifyLayer,
    key::Algorithm,
    policy::{Authorizer, Policy},
    revocation::{MemoryRevocationStore, RevocationStore},
};
use tonic::Code;
use tower::ServiceBuilder;

use crate::{
    expect, grpc_support as grpc, run,
    support::{TestKey, claims, now},
};

#[test]
fn a_tonic_service_counts_the_decisions_of_each_layer() {
    run(|metrics| async move {
        let key = TestKey::new(Algorithm::HS256);
        let store = MemoryRevocationStore::new();
        let authorizer = Authorizer::new();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stack = ServiceBuilder::new()
            .layer(VerifyLayer::new(key.verifier()))
            .layer(RevocationLayer::new(store.clone()))
            .layer(RequirePolicyLayer::new(
                &authorizer,
                Policy::permission("customer:read").unwrap(),
            ))
            .service(grpc::WhoAmI);
        let router = tonic::transport::Server::builder().add_service(stack);
        tokio::spawn(async move {
            router
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
                .await
                .unwrap();
        });

        let token = key.sign(&claims());
        let mut revoked = claims();
        revoked["jti"] = serde_json::json!("revoked-jti");
        let revoked = key.sign(&revoked);
        store
            .revoke_token("revoked-jti", now() + 600)
            .await
            .unwrap();

        assert_eq!(
            grpc::call(addr, "Get", Some(&token)).await.unwrap(),
            "user-1"
        );
        let status = grpc::call(addr, "Get", None).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);
        let status = grpc::call(addr, "Get", Some(&revoked)).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);

        let taken = metrics.take();
        assert_eq!(
            taken.counters("tollgate_decisions_total"),
            expect(&[
                ("{layer=policy,outcome=allowed}", 1),
                ("{layer=revocation,outcome=allowed}", 1),
                ("{layer=revocation,outcome=refused,reason=token_revoked}", 1),
                ("{layer=verify,outcome=allowed}", 2),
                ("{layer=verify,outcome=refused,reason=missing_token}", 1),
            ])
        );
        assert_eq!(
            taken.counters("tollgate_revocation_checks_total"),
            expect(&[("{status=active}", 1), ("{status=revoked}", 1)])
        );
    });
}
