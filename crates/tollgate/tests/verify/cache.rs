//! The verified-token cache: hits return the same claims, entries never outlive the token,
//! a token one byte away never hits, settings changes start a new cache, and revocation
//! still applies to cached tokens.

use std::{
    cell::Cell,
    convert::Infallible,
    sync::Arc,
    time::{Duration, UNIX_EPOCH},
};

use http::{Request, Response, StatusCode, header::AUTHORIZATION};
use serde::Deserialize;
use serde_json::json;
use tollgate::{
    AuthErrorKind, RevocationLayer, StandardClaims, VerifyLayer,
    key::Algorithm,
    response::ResponseBody,
    revocation::{MemoryRevocationStore, RevocationStore},
    verify::VerifiedCache,
    verify::Verifier,
};
use tower::{ServiceBuilder, ServiceExt, service_fn};

use crate::support::{TestKey, claims, now};

fn cached(key: &TestKey) -> Verifier {
    key.verifier().cache(VerifiedCache::new(1_000))
}

#[tokio::test]
async fn a_hit_returns_the_same_claims_for_every_algorithm() {
    for algorithm in [
        Algorithm::HS256,
        Algorithm::HS512,
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ] {
        let key = TestKey::new(algorithm).with_kid("k1");
        let verifier = cached(&key);
        let token = key.sign(&claims());
        let first = verifier.verify::<StandardClaims>(&token).await.unwrap();
        let again = verifier.verify::<StandardClaims>(&token).await.unwrap();
        assert!(
            Arc::ptr_eq(&first.claims().0, &again.claims().0),
            "{algorithm}: the second verification is served from the cache"
        );
        assert!(Arc::ptr_eq(&first.standard().0, &again.standard().0));
        assert_eq!(again.algorithm(), algorithm);
        assert_eq!(again.kid(), Some("k1"));

        // A clone of the verifier shares the cache.
        let clone = verifier.clone();
        let third = clone.verify::<StandardClaims>(&token).await.unwrap();
        assert!(Arc::ptr_eq(&first.claims().0, &third.claims().0));

        // Without a cache every verification decodes anew.
        let uncached = key.verifier();
        let a = uncached.verify::<StandardClaims>(&token).await.unwrap();
        let b = uncached.verify::<StandardClaims>(&token).await.unwrap();
        assert!(!Arc::ptr_eq(&a.claims().0, &b.claims().0));
    }
}

thread_local! {
    /// The fake time of [`clock`], per test thread (tokio's current-thread tests run on it).
    static NOW: Cell<i64> = const { Cell::new(0) };
}

fn clock() -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW.get().try_into().unwrap())
}

#[tokio::test]
async fn an_entry_is_never_served_after_exp() {
    let key = TestKey::new(Algorithm::HS256);
    let start = now();
    NOW.set(start);
    let mut payload = claims();
    payload["exp"] = json!(start + 10);
    let token = key.sign(&payload);

    for leeway in [0, 5] {
        NOW.set(start);
        let verifier = key
            .verifier()
            .leeway(Duration::from_secs(leeway))
            .unwrap()
            .with_clock(clock)
            .cache(VerifiedCache::new(100));
        let first = verifier.verify::<StandardClaims>(&token).await.unwrap();
        NOW.set(start + 9 + leeway.cast_signed());
        let hit = verifier.verify::<StandardClaims>(&token).await.unwrap();
        assert!(Arc::ptr_eq(&first.claims().0, &hit.claims().0));
        NOW.set(start + 10 + leeway.cast_signed());
        let error = verifier.verify::<StandardClaims>(&token).await.unwrap_err();
        assert_eq!(error.kind(), AuthErrorKind::Expired, "leeway {leeway}");
        // Still refused when asked again (nothing was re-admitted).
        let error = verifier.verify::<StandardClaims>(&token).await.unwrap_err();
        assert_eq!(error.kind(), AuthErrorKind::Expired);
    }
}

/// `max_age` counts from `iat` on every hit too: a token admitted young is refused once it
/// is older than that, though its `exp` is far.
#[tokio::test]
async fn an_entry_is_never_served_past_max_age() {
    let key = TestKey::new(Algorithm::HS256);
    let start = now();
    NOW.set(start);
    let mut payload = claims();
    payload["iat"] = json!(start);
    payload["exp"] = json!(start + 3600);
    let token = key.sign(&payload);
    let verifier = key
        .verifier()
        .max_age(Duration::from_secs(60))
        .unwrap()
        .with_clock(clock)
        .cache(VerifiedCache::new(100));
    let first = verifier.verify::<StandardClaims>(&token).await.unwrap();
    NOW.set(start + 60);
    let hit = verifier.verify::<StandardClaims>(&token).await.unwrap();
    assert!(Arc::ptr_eq(&first.claims().0, &hit.claims().0));
    NOW.set(start + 61);
    for _ in 0..2 {
        let error = verifier.verify::<StandardClaims>(&token).await.unwrap_err();
        assert_eq!(error.kind(), AuthErrorKind::TooOld);
    }
}

#[tokio::test]
async fn a_token_not_yet_valid_is_not_admitted() {
    let key = TestKey::new(Algorithm::HS256);
    let start = now();
    NOW.set(start);
    let mut payload = claims();
    payload["nbf"] = json!(start + 30);
    payload["iat"] = json!(start);
    let token = key.sign(&payload);
    let verifier = key
        .verifier()
        .with_clock(clock)
        .cache(VerifiedCache::new(100));
    for _ in 0..2 {
        let error = verifier.verify::<StandardClaims>(&token).await.unwrap_err();
        assert_eq!(error.kind(), AuthErrorKind::NotYetValid);
    }
    NOW.set(start + 30);
    let first = verifier.verify::<StandardClaims>(&token).await.unwrap();
    let hit = verifier.verify::<StandardClaims>(&token).await.unwrap();
    assert!(Arc::ptr_eq(&first.claims().0, &hit.claims().0));
}

#[tokio::test]
async fn a_token_one_byte_away_never_hits() {
    const BASE64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let key = TestKey::new(Algorithm::HS256);
    let verifier = cached(&key);
    let token = key.sign(&claims());
    let cached = verifier.verify::<StandardClaims>(&token).await.unwrap();
    verifier.verify::<StandardClaims>(&token).await.unwrap();

    for position in 0..token.len() {
        let mut bytes = token.clone().into_bytes();
        if bytes[position] == b'.' {
            continue;
        }
        // Every other base64url character at this position; the last 32 bytes (what the
        // cache hashes) stay the same whenever the change is earlier in the token.
        for &replacement in BASE64URL {
            if replacement == token.as_bytes()[position] {
                continue;
            }
            bytes[position] = replacement;
            let other = std::str::from_utf8(&bytes).unwrap();
            // Strict base64url has one encoding per byte string, and the signature covers
            // the encoded header and claims: every such token is refused.
            assert!(
                verifier.verify::<StandardClaims>(other).await.is_err(),
                "a modified token verified (position {position})"
            );
        }
    }
    // Prefixes and extensions of the token miss too.
    for other in [
        &token[..token.len() - 1],
        &format!("{token}A"),
        &format!(" {token}"),
    ] {
        assert!(verifier.verify::<StandardClaims>(other).await.is_err());
    }
    // The original still hits.
    let hit = verifier.verify::<StandardClaims>(&token).await.unwrap();
    assert!(Arc::ptr_eq(&hit.claims().0, &cached.claims().0));
}

#[tokio::test]
async fn changing_a_setting_starts_a_new_cache() {
    let key = TestKey::new(Algorithm::HS256);
    let lax = Verifier::new(
        tollgate::verify::TrustedIssuer::new(crate::support::ISSUER, key.key.clone())
            .add_audience(crate::support::AUDIENCE),
    )
    .cache(VerifiedCache::new(100));
    let token = key.sign_typ(Some("JWT"), &claims());
    lax.verify::<StandardClaims>(&token).await.unwrap();
    lax.verify::<StandardClaims>(&token).await.unwrap();

    // The same verifier with a stricter rule refuses the token it cached before.
    let strict = lax.clone().header_typ("at+jwt").unwrap();
    let error = strict.verify::<StandardClaims>(&token).await.unwrap_err();
    assert_eq!(error.kind(), AuthErrorKind::InvalidType);
    // The lax one still accepts it.
    lax.verify::<StandardClaims>(&token).await.unwrap();
}

#[derive(Debug, Deserialize)]
struct Custom {
    sub: String,
    org: String,
}

#[tokio::test]
async fn another_claims_type_is_decoded_for_itself() {
    let key = TestKey::new(Algorithm::HS256);
    let verifier = cached(&key);
    let token = key.sign(&claims());
    let standard = verifier.verify::<StandardClaims>(&token).await.unwrap();
    let custom = verifier.verify::<Custom>(&token).await.unwrap();
    assert_eq!(custom.claims().sub, "user-1");
    assert_eq!(custom.claims().org, "org-1");
    let again = verifier.verify::<Custom>(&token).await.unwrap();
    assert!(Arc::ptr_eq(&custom.claims().0, &again.claims().0));
    assert_eq!(standard.claims().sub, again.standard().sub);
}

/// Revocation is its own layer, after verification: it runs on every request, whether the
/// verification came from the cache or not.
#[tokio::test]
async fn revocation_is_checked_for_cached_tokens() {
    let key = TestKey::new(Algorithm::HS256);
    let verifier = cached(&key);
    let store = MemoryRevocationStore::new();
    let service = ServiceBuilder::new()
        .layer(VerifyLayer::new(verifier.clone()))
        .layer(RevocationLayer::new(store.clone()))
        .service(service_fn(|_: Request<String>| async {
            Ok::<_, Infallible>(Response::new(ResponseBody::inner(String::new())))
        }));
    let payload = claims();
    let token = key.sign(&payload);
    let request = || {
        Request::get("/")
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .body(String::new())
            .unwrap()
    };
    for _ in 0..2 {
        let response = service.clone().oneshot(request()).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    // The token is in the cache now.
    let first = verifier.verify::<StandardClaims>(&token).await.unwrap();
    let hit = verifier.verify::<StandardClaims>(&token).await.unwrap();
    assert!(Arc::ptr_eq(&first.claims().0, &hit.claims().0));

    store
        .revoke_token(
            payload["jti"].as_str().unwrap(),
            payload["exp"].as_i64().unwrap(),
        )
        .await
        .unwrap();
    let response = service.clone().oneshot(request()).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

/// The layer looks a token up in the cache before it checks its characters (a cached token
/// passed every check): what is not a `b64token`, or not UTF-8, is still refused as
/// malformed, before and after the valid token is cached, and never hits.
#[tokio::test]
async fn a_cached_layer_still_refuses_malformed_header_values() {
    let key = TestKey::new(Algorithm::HS256);
    let verifier = cached(&key);
    let service = ServiceBuilder::new()
        .layer(VerifyLayer::new(verifier.clone()))
        .service(service_fn(|_: Request<String>| async {
            Ok::<_, Infallible>(Response::new(ResponseBody::inner(String::new())))
        }));
    let token = key.sign(&claims());
    let call = |value: Vec<u8>| {
        let service = service.clone();
        async move {
            let request = Request::get("/")
                .header(
                    AUTHORIZATION,
                    http::HeaderValue::from_bytes(&value).unwrap(),
                )
                .body(String::new())
                .unwrap();
            service.oneshot(request).await.unwrap()
        }
    };
    let bearer = |suffix: &[u8]| [b"Bearer ", token.as_bytes(), suffix].concat();
    for round in 0..2 {
        for value in [
            bearer(b"!"),
            bearer(b"\xff"),
            [
                b"Bearer ",
                token.as_bytes().split_at(10).0,
                b",",
                token.as_bytes().split_at(10).1,
            ]
            .concat(),
        ] {
            let response = call(value).await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "round {round}");
            let error = response.extensions().get::<tollgate::AuthError>().unwrap();
            assert_eq!(error.kind(), AuthErrorKind::Malformed, "round {round}");
        }
        // The valid token passes (and is cached after the first round).
        assert_eq!(call(bearer(b"")).await.status(), StatusCode::OK);
    }
}
