//! Verify on every method, `customer:read` on List and Get, revocation and `customer:delete`
//! on Delete only.

use tollgate::RevocationLayer;
use tollgate::revocation::{MemoryRevocationStore, RevocationStore};
use tonic::Code;

use tollgate::AuthErrorKind;

use crate::support::{Client, KID, SECRET, claims, now, serve, sign, sign_with};

const ALL: &[&str] = &["customer:read", "customer:delete"];

#[tokio::test]
async fn valid_token_works_for_every_method() {
    let addr = serve(RevocationLayer::new(MemoryRevocationStore::new())).await;
    let mut client = Client::connect(addr).await;
    let token = sign(&claims("valid", "acme", ALL));

    let customers = client.list(Some(&token)).await.unwrap();
    assert_eq!(customers.len(), 5);
    assert!(customers.iter().all(|c| c.organization_id == "acme"));

    let customer = client.get(Some(&token), 2).await.unwrap();
    assert_eq!(customer.name, "Grace Hopper");

    client.delete(Some(&token), 2).await.unwrap();
    let status = client.get(Some(&token), 2).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(client.list(Some(&token)).await.unwrap().len(), 4);
    let status = client.delete(Some(&token), 2).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
}

#[tokio::test]
async fn wildcard_permissions_grant_every_method() {
    let addr = serve(RevocationLayer::new(MemoryRevocationStore::new())).await;
    let mut client = Client::connect(addr).await;
    for perms in [&["customer:*"][..], &["*:*"][..]] {
        let token = sign(&claims("wildcard", "acme", perms));
        client.list(Some(&token)).await.unwrap();
        client.get(Some(&token), 1).await.unwrap();
    }
    let token = sign(&claims("admin", "acme", &["*:*"]));
    client.delete(Some(&token), 1).await.unwrap();
}

#[tokio::test]
async fn no_token_is_unauthenticated_on_every_method() {
    let addr = serve(RevocationLayer::new(MemoryRevocationStore::new())).await;
    let mut client = Client::connect(addr).await;
    for status in [
        client.list(None).await.unwrap_err(),
        client.get(None, 1).await.unwrap_err(),
        client.delete(None, 1).await.unwrap_err(),
    ] {
        assert_eq!(status.code(), Code::Unauthenticated);
        assert_eq!(status.message(), AuthErrorKind::MissingToken.description());
    }
}

#[tokio::test]
async fn tokens_the_crm_would_not_accept_are_unauthenticated() {
    let addr = serve(RevocationLayer::new(MemoryRevocationStore::new())).await;
    let mut client = Client::connect(addr).await;
    let good = claims("bad", "acme", ALL);
    let expired = {
        let mut claims = good.clone();
        claims["exp"] = (now() - 60).into();
        claims
    };
    let refresh = {
        let mut claims = good.clone();
        claims["token_type"] = "refresh".into();
        claims
    };
    let other_audience = {
        let mut claims = good.clone();
        claims["aud"] = "billing-api".into();
        claims
    };
    let tokens = [
        sign(&expired),
        sign_with(&refresh, "refresh+jwt", KID, SECRET),
        sign_with(&good, "refresh+jwt", KID, SECRET),
        sign(&other_audience),
        sign_with(&good, "at+jwt", "another-kid", SECRET),
        sign_with(
            &good,
            "at+jwt",
            KID,
            b"another secret of at least thirty-two bytes",
        ),
        "not-a-jwt".to_owned(),
    ];
    for token in &tokens {
        let status = client.list(Some(token)).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
        let status = client.delete(Some(token), 1).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    }
    // None of them deleted anything.
    let token = sign(&good);
    assert_eq!(client.list(Some(&token)).await.unwrap().len(), 5);
}

#[tokio::test]
async fn missing_permission_is_permission_denied() {
    let addr = serve(RevocationLayer::new(MemoryRevocationStore::new())).await;
    let mut client = Client::connect(addr).await;

    // A viewer reads, but may not delete.
    let viewer = sign(&claims("viewer", "acme", &["customer:read"]));
    assert_eq!(client.list(Some(&viewer)).await.unwrap().len(), 5);
    client.get(Some(&viewer), 1).await.unwrap();
    let status = client.delete(Some(&viewer), 1).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(
        status.message(),
        AuthErrorKind::InsufficientScope.description()
    );

    // Other permissions (or roles alone: the service reads `perms`) grant nothing here.
    let other = sign(&claims("other", "acme", &["user:read", "customer:create"]));
    for status in [
        client.list(Some(&other)).await.unwrap_err(),
        client.get(Some(&other), 1).await.unwrap_err(),
        client.delete(Some(&other), 1).await.unwrap_err(),
    ] {
        assert_eq!(status.code(), Code::PermissionDenied);
    }

    // May delete but not read: Delete works, List does not.
    let deleter = sign(&claims("deleter", "acme", &["customer:delete"]));
    client.delete(Some(&deleter), 1).await.unwrap();
    let status = client.list(Some(&deleter)).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}

/// The hybrid: a revoked token keeps working on List and Get (stateless checks only) until
/// it expires, and is refused at once on Delete, the sensitive method.
#[tokio::test]
async fn revoked_token_is_refused_on_delete_only() {
    let store = MemoryRevocationStore::new();
    let addr = serve(RevocationLayer::new(store.clone())).await;
    let mut client = Client::connect(addr).await;
    let revoked = claims("to-revoke", "acme", ALL);
    let token = sign(&revoked);
    client.delete(Some(&token), 5).await.unwrap();

    // Logout: the CRM revokes the access token's `jti` until it expires.
    store
        .revoke_token("to-revoke", revoked["exp"].as_i64().unwrap())
        .await
        .unwrap();

    assert_eq!(client.list(Some(&token)).await.unwrap().len(), 4);
    assert_eq!(client.get(Some(&token), 1).await.unwrap().id, 1);
    let status = client.delete(Some(&token), 1).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), AuthErrorKind::Revoked.description());
    assert_eq!(client.get(Some(&token), 1).await.unwrap().id, 1);

    // Another token of the same user is not affected.
    let fresh = sign(&claims("fresh", "acme", ALL));
    client.delete(Some(&fresh), 1).await.unwrap();
}

/// The other revocations the CRM writes: logout of one session (its `sid` ended), logout
/// everywhere or a password change (a cut-off for the subject), a role change (a new
/// permission version). Each is refused on Delete only.
#[tokio::test]
async fn ended_session_cut_off_and_stale_version_are_refused_on_delete_only() {
    let store = MemoryRevocationStore::new();
    let addr = serve(RevocationLayer::new(store.clone())).await;
    let mut client = Client::connect(addr).await;
    let until = now() + 3600;
    let of = |sub: &str, jti: &str| {
        let mut claims = claims(jti, "acme", ALL);
        claims["sub"] = sub.into();
        claims
    };

    let session = of("1", "session");
    store
        .end_session(session["sid"].as_str().unwrap(), until)
        .await
        .unwrap();
    let cut = of("2", "cut");
    store.cut_off("2", now(), until).await.unwrap();
    let stale = of("3", "stale");
    store.set_version("3", 2, until).await.unwrap();

    for (claims, kind) in [
        (session, AuthErrorKind::SessionEnded),
        (cut, AuthErrorKind::CutOff),
        (stale, AuthErrorKind::StaleClaims),
    ] {
        let token = sign(&claims);
        client.list(Some(&token)).await.unwrap();
        client.get(Some(&token), 1).await.unwrap();
        let status = client.delete(Some(&token), 1).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{kind:?}");
        assert_eq!(status.message(), kind.description());
    }
}

#[tokio::test]
async fn customers_are_scoped_by_the_token_organization() {
    let addr = serve(RevocationLayer::new(MemoryRevocationStore::new())).await;
    let mut client = Client::connect(addr).await;
    let acme = sign(&claims("acme", "acme", ALL));
    let globex = sign(&claims("globex", "globex", ALL));

    client.delete(Some(&acme), 3).await.unwrap();
    assert_eq!(
        client.get(Some(&acme), 3).await.unwrap_err().code(),
        Code::NotFound
    );
    let customer = client.get(Some(&globex), 3).await.unwrap();
    assert_eq!(customer.organization_id, "globex");
    assert_eq!(client.list(Some(&globex)).await.unwrap().len(), 5);
}

#[tokio::test]
async fn unrouted_methods_are_unimplemented_without_reaching_the_service() {
    let addr = serve(RevocationLayer::new(MemoryRevocationStore::new())).await;
    let client = Client::connect(addr).await;
    let token = sign(&claims("probe", "acme", ALL));
    let mut grpc = tonic::client::Grpc::new(client.channel.clone());
    for path in [
        "/tollgate.examples.customers.v1.Customers/Update",
        "/tollgate.examples.other.v1.Other/List",
    ] {
        grpc.ready().await.unwrap();
        let status = grpc
            .unary::<_, grpc::proto::DeleteResponse, _>(
                crate::support::authorized(grpc::proto::GetRequest { id: 1 }, Some(&token)),
                http::uri::PathAndQuery::from_static(path),
                tonic_prost::ProstCodec::default(),
            )
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unimplemented, "{path}");
    }
    // Verification still comes first: without a token, UNAUTHENTICATED.
    grpc.ready().await.unwrap();
    let status = grpc
        .unary::<_, grpc::proto::DeleteResponse, _>(
            tonic::Request::new(grpc::proto::GetRequest { id: 1 }),
            http::uri::PathAndQuery::from_static(
                "/tollgate.examples.customers.v1.Customers/Update",
            ),
            tonic_prost::ProstCodec::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
}
