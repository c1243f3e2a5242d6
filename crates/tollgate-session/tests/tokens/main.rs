//! Tokens minted by the `Issuer`, checked by tollgate's `Verifier` and `VerifyLayer` (over real
//! HTTP), and independently by the `jsonwebtoken` crate against the JWKS document fetched from
//! the `jwks_handler` over real HTTP.
#![cfg(feature = "axum")]

#[path = "../support/mod.rs"]
mod support;

use std::time::Duration;

use axum::{Router, routing::get};
use jsonwebtoken::{DecodingKey, Validation, jwk::JwkSet};
use serde_json::{Value, json};
use tollgate::{Claims, StandardClaims, VerifyLayer, key::Algorithm};
use tollgate_session::{
    ACCESS_HEADER_TYP, IssueErrorKind, Issuer, REFRESH_HEADER_TYP, Session, SigningKey, TokenPair,
    VerificationKey,
};

const RSA_PKCS8: &[u8] = include_bytes!("../fixtures/rsa-2048.pem");
const RSA_PKCS1: &[u8] = include_bytes!("../fixtures/rsa-2048-pkcs1.pem");
const RSA_PUBLIC: &[u8] = include_bytes!("../fixtures/rsa-2048.pub.pem");

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn session(id: &str) -> Session {
    let now = now();
    Session {
        id: id.to_owned(),
        subject: "42".to_owned(),
        device_info: None,
        ip_address: None,
        user_agent: None,
        created_at: now,
        last_activity: now,
        expires_at: now + 7 * 24 * 3600,
        idle_expires_at: None,
        refresh_jti: String::new(),
        active: true,
    }
}

fn crm_claims() -> StandardClaims {
    StandardClaims {
        org: Some("7".into()),
        roles: vec!["sales".into()],
        perms: vec!["customer:read".into(), "customer:create".into()],
        ver: Some(3),
        ..StandardClaims::default()
    }
}

fn issuer(key: SigningKey) -> Issuer {
    Issuer::new("crm", "crm-api", key)
        .access_ttl(Duration::from_secs(1800))
        .unwrap()
}

/// Serve the JWKS and a route behind `VerifyLayer` that echoes the claims.
async fn app(issuer: &Issuer) -> std::net::SocketAddr {
    let protected = Router::new()
        .route(
            "/me",
            get(|claims: Claims<StandardClaims>| async move {
                axum::Json(json!({ "sub": claims.sub, "sid": claims.sid, "perms": claims.perms }))
            }),
        )
        .route_layer(VerifyLayer::new(issuer.access_verifier().unwrap()));
    let app = Router::new()
        .route("/.well-known/jwks.json", get(issuer.jwks_handler()))
        .merge(protected);
    support::serve(app).await
}

/// Decode `token` with jsonwebtoken alone, with the key the JWKS names by the token's kid.
fn decode_independently(jwks: &JwkSet, token: &str, typ: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some(typ));
    let kid = header.kid.as_deref().expect("a kid in the header");
    let jwk = jwks.find(kid).expect("the JWKS names the token's kid");
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&["crm"]);
    validation.set_audience(&["crm-api"]);
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap()
        .claims
}

async fn check_asymmetric(key: SigningKey) {
    let alg = key.algorithm();
    let issuer = issuer(key);
    let addr = app(&issuer).await;
    let pair = issuer.issue_pair(&session("s-1"), &crm_claims()).unwrap();

    // The published JWKS, fetched over HTTP.
    let reply = support::request(addr, "GET", "/.well-known/jwks.json", &[], b"").await;
    assert_eq!(reply.status, 200, "{alg}");
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert!(reply.header("cache-control").unwrap().contains("max-age"));
    let jwks: JwkSet = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(jwks.keys.len(), 1);
    let published = serde_json::to_string(&jwks).unwrap();
    for private in ["\"d\"", "\"p\"", "\"q\""] {
        assert!(
            !published.contains(private),
            "{alg}: the JWKS holds no private member"
        );
    }

    // Independent decode of both tokens with jsonwebtoken against the JWKS.
    let access = decode_independently(&jwks, pair.access_token(), ACCESS_HEADER_TYP);
    assert_eq!(access["sub"], "42");
    assert_eq!(access["sid"], "s-1");
    assert_eq!(access["token_type"], "access");
    assert_eq!(access["org"], "7");
    assert_eq!(access["roles"], json!(["sales"]));
    assert_eq!(access["perms"], json!(["customer:read", "customer:create"]));
    assert_eq!(access["ver"], 3);
    assert_eq!(access["jti"], pair.access_jti());
    assert_eq!(access["iat"], access["nbf"]);
    assert_eq!(
        access["exp"].as_i64().unwrap() - access["iat"].as_i64().unwrap(),
        1800
    );
    let refresh = decode_independently(&jwks, pair.refresh_token(), REFRESH_HEADER_TYP);
    assert_eq!(refresh["token_type"], "refresh");
    assert_eq!(refresh["sid"], "s-1");
    assert_eq!(refresh["jti"], pair.refresh_jti());
    assert!(
        refresh.get("perms").is_none() && refresh.get("roles").is_none(),
        "a refresh token carries no permissions"
    );
    assert_ne!(access["jti"], refresh["jti"]);

    // tollgate's VerifyLayer over real HTTP: the access token passes, the refresh token not.
    let bearer = format!("Bearer {}", pair.access_token());
    let reply = support::request(addr, "GET", "/me", &[("authorization", &bearer)], b"").await;
    assert_eq!(
        reply.status, 200,
        "{alg}: the access token passes VerifyLayer"
    );
    assert_eq!(reply.json()["sid"], "s-1");
    let bearer = format!("Bearer {}", pair.refresh_token());
    let reply = support::request(addr, "GET", "/me", &[("authorization", &bearer)], b"").await;
    assert_eq!(
        reply.status, 401,
        "{alg}: a refresh token is refused as an access token"
    );
    assert!(
        reply
            .header("www-authenticate")
            .unwrap()
            .contains("invalid_token")
    );

    // And the refresh verifier takes only refresh tokens.
    let verifier = issuer.refresh_verifier().unwrap();
    assert!(
        verifier
            .verify::<StandardClaims>(pair.refresh_token())
            .await
            .is_ok()
    );
    let error = verifier
        .verify::<StandardClaims>(pair.access_token())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), tollgate::AuthErrorKind::InvalidType);
}

#[tokio::test]
async fn es256_tokens_verify_with_tollgate_and_with_jsonwebtoken() {
    check_asymmetric(SigningKey::generate("es-1", Algorithm::ES256).unwrap()).await;
}

#[tokio::test]
async fn es384_tokens_verify_with_tollgate_and_with_jsonwebtoken() {
    check_asymmetric(SigningKey::generate("es-2", Algorithm::ES384).unwrap()).await;
}

#[tokio::test]
async fn eddsa_tokens_verify_with_tollgate_and_with_jsonwebtoken() {
    check_asymmetric(SigningKey::generate("ed-1", Algorithm::EdDSA).unwrap()).await;
}

#[tokio::test]
async fn rsa_tokens_verify_with_tollgate_and_with_jsonwebtoken() {
    check_asymmetric(SigningKey::from_pem("rs-1", Algorithm::RS256, RSA_PKCS8).unwrap()).await;
    check_asymmetric(SigningKey::from_pem("ps-1", Algorithm::PS256, RSA_PKCS1).unwrap()).await;
}

#[tokio::test]
async fn hmac_issuers_publish_nothing() {
    let issuer = issuer(SigningKey::generate("hs-1", Algorithm::HS256).unwrap());
    let addr = app(&issuer).await;
    let reply = support::request(addr, "GET", "/.well-known/jwks.json", &[], b"").await;
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(reply.json()["status"], 404);

    let pair = issuer.issue_pair(&session("s-h"), &crm_claims()).unwrap();
    let bearer = format!("Bearer {}", pair.access_token());
    let reply = support::request(addr, "GET", "/me", &[("authorization", &bearer)], b"").await;
    assert_eq!(reply.status, 200);
    let header = jsonwebtoken::decode_header(pair.access_token()).unwrap();
    assert_eq!(header.kid.as_deref(), Some("hs-1"));
    assert_eq!(header.alg, jsonwebtoken::Algorithm::HS256);
}

#[tokio::test]
async fn rotated_keys_keep_verifying_and_stay_published() {
    let old = SigningKey::from_pem("2026-10", Algorithm::RS256, RSA_PKCS8).unwrap();
    let old_issuer = issuer(old.clone());
    let old_pair = old_issuer
        .issue_pair(&session("s-old"), &crm_claims())
        .unwrap();

    // Rotation: a new signing key, the old one kept for verification only (public half).
    let new_issuer = issuer(SigningKey::generate("2026-11", Algorithm::ES256).unwrap())
        .add_verification_key(
            VerificationKey::from_public_pem("2026-10", Algorithm::RS256, RSA_PUBLIC).unwrap(),
        )
        .unwrap();
    let new_pair = new_issuer
        .issue_pair(&session("s-new"), &crm_claims())
        .unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(new_pair.access_token())
            .unwrap()
            .kid
            .as_deref(),
        Some("2026-11")
    );

    let addr = app(&new_issuer).await;
    let jwks: JwkSet = serde_json::from_slice(
        &support::request(addr, "GET", "/.well-known/jwks.json", &[], b"")
            .await
            .body,
    )
    .unwrap();
    let kids: Vec<_> = jwks
        .keys
        .iter()
        .filter_map(|k| k.common.key_id.clone())
        .collect();
    assert_eq!(kids, ["2026-11", "2026-10"]);
    // The public key read from PEM is the one derived from the private key.
    assert_eq!(jwks.find("2026-10"), old.verification_key().jwk());

    for token in [old_pair.access_token(), new_pair.access_token()] {
        decode_independently(&jwks, token, ACCESS_HEADER_TYP);
        let bearer = format!("Bearer {token}");
        let reply = support::request(addr, "GET", "/me", &[("authorization", &bearer)], b"").await;
        assert_eq!(reply.status, 200);
    }
    // A kid can only be added once.
    assert!(
        new_issuer
            .add_verification_key(old.verification_key())
            .is_err()
    );
}

#[tokio::test]
async fn own_claims_and_their_limits() {
    #[derive(serde::Serialize)]
    struct Own {
        tenant: &'static str,
        features: [&'static str; 2],
    }
    let issuer = issuer(SigningKey::generate("k", Algorithm::HS384).unwrap());
    let pair = issuer
        .issue_pair(
            &session("s-own"),
            &Own {
                tenant: "acme",
                features: ["a", "b"],
            },
        )
        .unwrap();
    #[derive(serde::Deserialize)]
    struct Back {
        tenant: String,
        features: Vec<String>,
    }
    let verified = issuer
        .access_verifier()
        .unwrap()
        .verify::<Back>(pair.access_token())
        .await
        .unwrap();
    assert_eq!(verified.claims().tenant, "acme");
    assert_eq!(verified.claims().features, ["a", "b"]);

    // No claims at all is fine; registered claims and non-objects are refused.
    issuer.issue_pair(&session("s-unit"), &()).unwrap();
    for bad in [
        json!({"sub": "someone-else"}),
        json!({"exp": 1}),
        json!(["x"]),
        json!("x"),
    ] {
        let error = issuer.issue_pair(&session("s-bad"), &bad).unwrap_err();
        assert_eq!(error.kind(), IssueErrorKind::InvalidClaims, "{bad}");
    }
}

#[tokio::test]
async fn lifetimes_follow_the_session() {
    let issuer = issuer(SigningKey::generate("k", Algorithm::HS256).unwrap());
    let mut short = session("s-short");
    short.expires_at = short.created_at + 60;
    let pair: TokenPair = issuer.issue_pair(&short, &()).unwrap();
    assert_eq!(pair.refresh_expires_at(), short.expires_at);
    assert_eq!(
        pair.access_expires_at(),
        short.expires_at,
        "an access token never outlives its session"
    );
    assert_eq!(
        pair.expires_in(),
        pair.access_expires_at() - pair.issued_at()
    );
    assert!(pair.expires_in() <= 60);

    let mut idle = session("s-idle");
    idle.idle_expires_at = Some(idle.created_at + 600);
    let pair = issuer.issue_pair(&idle, &()).unwrap();
    assert_eq!(
        pair.refresh_expires_at(),
        idle.created_at + 600,
        "the refresh token dies at the idle deadline"
    );

    let mut over = session("s-over");
    over.expires_at = over.created_at - 1;
    assert_eq!(
        issuer.issue_pair(&over, &()).unwrap_err().kind(),
        IssueErrorKind::SessionOver
    );

    assert!(
        Issuer::new(
            "a",
            "b",
            SigningKey::generate("k", Algorithm::HS256).unwrap()
        )
        .access_ttl(Duration::ZERO)
        .is_err()
    );
    let debug = format!("{pair:?}");
    assert!(
        !debug.contains(pair.access_token()) && !debug.contains(pair.refresh_token()),
        "Debug hides the tokens"
    );
}
