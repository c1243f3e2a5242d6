//! Claim validation: time claims with leeway, issuers and audiences, token types, required
//! claims, several issuers.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use tollgate::{
    AuthErrorKind, ConfigError, StandardClaims, key::Algorithm, verify::ClaimMapping,
    verify::TrustedIssuer, verify::Verifier,
};

use crate::support::{AUDIENCE, ISSUER, TestKey, claims, now};

async fn check(verifier: &Verifier, key: &TestKey, payload: &Value) -> Result<(), AuthErrorKind> {
    let token = key.sign(payload);
    verifier
        .verify::<StandardClaims>(&token)
        .await
        .map(drop)
        .map_err(|e| e.kind())
}

fn with(claim: &str, value: Value) -> Value {
    let mut payload = claims();
    if value.is_null() {
        payload.as_object_mut().unwrap().remove(claim);
    } else {
        payload[claim] = value;
    }
    payload
}

#[tokio::test]
async fn time_claims() {
    let key = TestKey::new(Algorithm::HS256);
    let verifier = key.verifier();
    let now = now();
    assert_eq!(
        check(&verifier, &key, &with("exp", json!(now - 1))).await,
        Err(AuthErrorKind::Expired)
    );
    assert_eq!(
        check(&verifier, &key, &with("exp", json!(now))).await,
        Err(AuthErrorKind::Expired)
    );
    assert_eq!(
        check(&verifier, &key, &with("exp", Value::Null)).await,
        Err(AuthErrorKind::MissingClaim)
    );
    assert_eq!(
        check(&verifier, &key, &with("nbf", json!(now + 60))).await,
        Err(AuthErrorKind::NotYetValid)
    );
    assert_eq!(
        check(&verifier, &key, &with("iat", json!(now + 60))).await,
        Err(AuthErrorKind::IssuedInFuture)
    );
    assert_eq!(
        check(
            &verifier,
            &key,
            &with("exp", json!((now + 60) as f64 + 0.5))
        )
        .await,
        Ok(())
    );

    let lenient = verifier.clone().leeway(Duration::from_secs(120)).unwrap();
    assert_eq!(
        check(&lenient, &key, &with("exp", json!(now - 60))).await,
        Ok(())
    );
    assert_eq!(
        check(&lenient, &key, &with("nbf", json!(now + 60))).await,
        Ok(())
    );
    assert_eq!(
        check(&lenient, &key, &with("iat", json!(now + 60))).await,
        Ok(())
    );
    assert_eq!(
        check(&lenient, &key, &with("exp", json!(now - 600))).await,
        Err(AuthErrorKind::Expired)
    );

    let no_exp = verifier.clone().require_exp(false);
    assert_eq!(
        check(&no_exp, &key, &with("exp", Value::Null)).await,
        Ok(())
    );
    assert!(matches!(
        verifier.leeway(Duration::from_secs(7200)),
        Err(ConfigError::OutOfRange { .. })
    ));
}

#[tokio::test]
async fn issuer_and_audience_are_required_once_configured() {
    let key = TestKey::new(Algorithm::HS256);
    let verifier = key.verifier();
    assert_eq!(
        check(&verifier, &key, &with("iss", json!("https://other.test"))).await,
        Err(AuthErrorKind::InvalidIssuer)
    );
    assert_eq!(
        check(&verifier, &key, &with("iss", Value::Null)).await,
        Err(AuthErrorKind::InvalidIssuer)
    );
    assert_eq!(
        check(&verifier, &key, &with("aud", json!("other"))).await,
        Err(AuthErrorKind::InvalidAudience)
    );
    assert_eq!(
        check(&verifier, &key, &with("aud", Value::Null)).await,
        Err(AuthErrorKind::InvalidAudience)
    );
    assert_eq!(
        check(&verifier, &key, &with("aud", json!([]))).await,
        Err(AuthErrorKind::InvalidAudience)
    );
    assert_eq!(
        check(&verifier, &key, &with("aud", json!(["other", AUDIENCE]))).await,
        Ok(())
    );

    // No issuer name and, explicitly, any audience: `iss` and `aud` are not checked. (Without
    // `accept_any_audience`, the `aud` these tokens carry would be refused since no audience
    // is configured, RFC 7519 §4.1.3: see the next test.)
    let any = Verifier::new(TrustedIssuer::any_issuer(key.key.clone()).accept_any_audience())
        .header_typ("at+jwt")
        .unwrap();
    assert_eq!(check(&any, &key, &with("iss", Value::Null)).await, Ok(()));
    assert_eq!(check(&any, &key, &with("aud", Value::Null)).await, Ok(()));
}

/// RFC 7519 §4.1.3: a recipient that does not identify itself with a value in `aud` rejects
/// the token. A verifier without a configured audience identifies itself with none.
#[tokio::test]
async fn without_a_configured_audience_a_token_carrying_aud_is_refused() {
    let key = TestKey::new(Algorithm::HS256);
    let no_audience = Verifier::new(TrustedIssuer::new(ISSUER, key.key.clone()));
    for aud in [json!(AUDIENCE), json!(["one", "two"]), json!("")] {
        assert_eq!(
            check(&no_audience, &key, &with("aud", aud.clone())).await,
            Err(AuthErrorKind::InvalidAudience),
            "{aud}"
        );
    }
    // A token without `aud` (or with an empty array, which names no one) is accepted.
    assert_eq!(
        check(&no_audience, &key, &with("aud", Value::Null)).await,
        Ok(())
    );
    assert_eq!(
        check(&no_audience, &key, &with("aud", json!([]))).await,
        Ok(())
    );

    // The explicit opt-out: every audience of the issuer is trusted.
    let any_audience =
        Verifier::new(TrustedIssuer::new(ISSUER, key.key.clone()).accept_any_audience());
    for aud in [json!(AUDIENCE), json!(["one", "two"]), Value::Null] {
        assert_eq!(
            check(&any_audience, &key, &with("aud", aud.clone())).await,
            Ok(()),
            "{aud}"
        );
    }

    // A configured audience wins over the opt-out: `aud` is required and must match.
    let configured = Verifier::new(
        TrustedIssuer::new(ISSUER, key.key.clone())
            .accept_any_audience()
            .add_audience(AUDIENCE),
    );
    assert_eq!(check(&configured, &key, &claims()).await, Ok(()));
    assert_eq!(
        check(&configured, &key, &with("aud", json!("other"))).await,
        Err(AuthErrorKind::InvalidAudience)
    );
    assert_eq!(
        check(&configured, &key, &with("aud", Value::Null)).await,
        Err(AuthErrorKind::InvalidAudience)
    );

    // With several issuers, each issuer's own rule applies.
    let other = TestKey::new(Algorithm::ES256);
    let mixed = Verifier::new(TrustedIssuer::new(ISSUER, key.key.clone()))
        .add_issuer(TrustedIssuer::new("https://b.test", other.key.clone()).accept_any_audience())
        .unwrap();
    let mut for_b = claims();
    for_b["iss"] = json!("https://b.test");
    assert_eq!(check(&mixed, &other, &for_b).await, Ok(()));
    assert_eq!(
        check(&mixed, &key, &claims()).await,
        Err(AuthErrorKind::InvalidAudience)
    );
}

#[tokio::test]
async fn refresh_tokens_are_not_access_tokens() {
    let key = TestKey::new(Algorithm::HS256);
    let verifier = key.verifier().token_type_claim("access").unwrap();
    let refresh = with("token_type", json!("refresh"));
    assert_eq!(
        check(&verifier, &key, &refresh).await,
        Err(AuthErrorKind::InvalidType)
    );
    let untyped = with("token_type", Value::Null);
    assert_eq!(
        check(&verifier, &key, &untyped).await,
        Err(AuthErrorKind::InvalidType)
    );

    let by_header = |typ: Option<&str>| {
        let token = key.sign_typ(typ, &claims());
        let verifier = verifier.clone();
        async move {
            verifier
                .verify::<StandardClaims>(&token)
                .await
                .map(drop)
                .map_err(|e| e.kind())
        }
    };
    assert_eq!(
        by_header(Some("refresh+jwt")).await,
        Err(AuthErrorKind::InvalidType)
    );
    assert_eq!(
        by_header(Some("JWT")).await,
        Err(AuthErrorKind::InvalidType)
    );
    assert_eq!(by_header(None).await, Err(AuthErrorKind::InvalidType));
    assert_eq!(by_header(Some("application/at+jwt")).await, Ok(()));
    assert_eq!(by_header(Some("AT+JWT")).await, Ok(()));
}

#[tokio::test]
async fn required_claims() {
    let key = TestKey::new(Algorithm::HS256);
    let verifier = key
        .verifier()
        .require_claim("jti")
        .unwrap()
        .require_claim("tenant")
        .unwrap();
    assert_eq!(
        check(&verifier, &key, &claims()).await,
        Err(AuthErrorKind::MissingClaim)
    );
    assert_eq!(
        check(&verifier, &key, &with("tenant", json!("t1"))).await,
        Ok(())
    );
    let mut no_jti = with("tenant", json!("t1"));
    no_jti.as_object_mut().unwrap().remove("jti");
    assert_eq!(
        check(&verifier, &key, &no_jti).await,
        Err(AuthErrorKind::MissingClaim)
    );
}

/// Required claims are JSON claim names, whatever the claim mapping reads into the standard
/// claims of the same name.
#[tokio::test]
async fn required_claims_are_claim_names_under_a_mapping() {
    let key = TestKey::new(Algorithm::HS256);
    let verifier = key
        .verifier()
        .claim_mapping(ClaimMapping::simplejwt().organization("tenant").unwrap())
        .require_claim("user_id")
        .unwrap()
        .require_claim("org")
        .unwrap();
    let mut payload = with("user_id", json!(42));
    payload["tenant"] = json!(7);
    // `sub` and `org` are in the payload; `user_id` too.
    assert_eq!(check(&verifier, &key, &payload).await, Ok(()));
    // `org` is read from `tenant` into the standard claims, but the claim `org` is required.
    payload.as_object_mut().unwrap().remove("org");
    assert_eq!(
        check(&verifier, &key, &payload).await,
        Err(AuthErrorKind::MissingClaim)
    );
    // `user_id` is read into `sub`: without it the required claim is missing.
    let mut payload = with("user_id", Value::Null);
    payload["tenant"] = json!(7);
    assert_eq!(
        check(&verifier, &key, &payload).await,
        Err(AuthErrorKind::MissingClaim)
    );
}

#[tokio::test]
async fn several_issuers_are_routed_by_iss() {
    let a = TestKey::new(Algorithm::HS256);
    let b = TestKey::new(Algorithm::ES256);
    let verifier =
        Verifier::new(TrustedIssuer::new("https://a.test", a.key.clone()).add_audience("api-a"))
            .add_issuer(TrustedIssuer::new("https://b.test", b.key.clone()).add_audience("api-b"))
            .unwrap();
    let for_issuer = |iss: &str, aud: &str| {
        let mut payload = claims();
        payload["iss"] = json!(iss);
        payload["aud"] = json!(aud);
        payload
    };
    assert_eq!(
        check(&verifier, &a, &for_issuer("https://a.test", "api-a")).await,
        Ok(())
    );
    assert_eq!(
        check(&verifier, &b, &for_issuer("https://b.test", "api-b")).await,
        Ok(())
    );
    // b's audience is not a's, and a token naming a but signed by b is refused.
    assert_eq!(
        check(&verifier, &a, &for_issuer("https://a.test", "api-b")).await,
        Err(AuthErrorKind::InvalidAudience)
    );
    assert_eq!(
        check(&verifier, &b, &for_issuer("https://a.test", "api-a")).await,
        Err(AuthErrorKind::UnsupportedAlgorithm)
    );
    assert_eq!(
        check(&verifier, &a, &for_issuer("https://c.test", "api-a")).await,
        Err(AuthErrorKind::InvalidIssuer)
    );
    assert_eq!(
        check(&verifier, &a, &with("iss", Value::Null)).await,
        Err(AuthErrorKind::InvalidIssuer)
    );

    assert!(matches!(
        verifier
            .clone()
            .add_issuer(TrustedIssuer::new("https://a.test", a.key.clone())),
        Err(ConfigError::DuplicateIssuer { .. })
    ));
    assert!(matches!(
        verifier.add_issuer(TrustedIssuer::any_issuer(a.key.clone())),
        Err(ConfigError::AmbiguousIssuer)
    ));
}

#[derive(Debug, Deserialize)]
struct MyClaims {
    sub: String,
    department: String,
}

#[tokio::test]
async fn claims_are_typed_by_the_user() {
    let key = TestKey::new(Algorithm::EdDSA);
    let verifier = key.verifier();
    let signed = with("department", json!("sales"));
    let token = key.sign(&signed);
    let verified = verifier.verify::<MyClaims>(&token).await.unwrap();
    assert_eq!(verified.claims().department, "sales");
    assert_eq!(verified.claims().sub, "user-1");
    // The registered claims are decoded beside the user's type, for the other layers.
    assert_eq!(verified.standard().jti.as_deref(), signed["jti"].as_str());
    assert_eq!(verified.standard().sid.as_deref(), Some("session-1"));
    assert_eq!(verified.algorithm(), Algorithm::EdDSA);
    // A token without the user's required field is malformed for that type.
    let token = key.sign(&claims());
    assert_eq!(
        verifier
            .verify::<MyClaims>(&token)
            .await
            .unwrap_err()
            .kind(),
        AuthErrorKind::Malformed
    );
}

#[tokio::test]
async fn every_mapping_setter_reads_its_claim_from_the_mapped_name() {
    let key = TestKey::new(Algorithm::HS256);
    let mapping = ClaimMapping::new()
        .subject("uid")
        .and_then(|m| m.organization("tenant"))
        .and_then(|m| m.token_type("kind"))
        .and_then(|m| m.permission_version("pv"))
        .and_then(|m| m.audience(["client"]))
        .unwrap();
    let verifier =
        Verifier::new(TrustedIssuer::new(ISSUER, key.key.clone()).add_audience(AUDIENCE))
            .claim_mapping(mapping)
            .token_type_claim("access")
            .unwrap();
    let mut payload = claims();
    let object = payload.as_object_mut().unwrap();
    for name in ["sub", "org", "token_type", "ver", "aud"] {
        object.remove(name);
    }
    payload["uid"] = json!("user-7");
    payload["tenant"] = json!("org-7");
    payload["kind"] = json!("access");
    payload["pv"] = json!(3);
    payload["client"] = json!(AUDIENCE);
    let verified = verifier
        .verify::<StandardClaims>(&key.sign(&payload))
        .await
        .unwrap();
    let standard: &StandardClaims = verified.claims();
    assert_eq!(standard.sub.as_deref(), Some("user-7"));
    assert_eq!(standard.org.as_deref(), Some("org-7"));
    assert_eq!(standard.token_type.as_deref(), Some("access"));
    assert_eq!(standard.ver, Some(3));
    assert!(standard.aud.contains(AUDIENCE));

    // The mapped claims are the ones checked: another audience, another token type.
    let mut other = payload.clone();
    other["client"] = json!("someone-else");
    assert_eq!(
        check(&verifier, &key, &other).await,
        Err(AuthErrorKind::InvalidAudience)
    );
    let mut refresh = payload.clone();
    refresh["kind"] = json!("refresh");
    assert_eq!(
        check(&verifier, &key, &refresh).await,
        Err(AuthErrorKind::InvalidType)
    );
    // The standard names are no longer read: `token_type` beside `kind` changes nothing.
    let mut both = payload;
    both["token_type"] = json!("refresh");
    assert_eq!(check(&verifier, &key, &both).await, Ok(()));
}

/// A permission that is not `resource:action` (`reports.export`) grants nothing as a
/// permission; read as a scope, `Policy::scope` requires it exactly.
#[tokio::test]
async fn a_permissions_claim_read_as_scopes_meets_scope_policies() {
    use tollgate::policy::{Authorizer, Policy};
    let key = TestKey::new(Algorithm::HS256);
    let mapping = ClaimMapping::new()
        .permissions(Vec::<&str>::new())
        .and_then(|m| m.scopes(["scope", "perms"]))
        .unwrap();
    let verifier = key.verifier().claim_mapping(mapping);
    let mut payload = claims();
    payload["perms"] = json!(["reports.export", "customer:read"]);
    payload["scope"] = json!("openid");
    let verified = verifier
        .verify::<StandardClaims>(&key.sign(&payload))
        .await
        .unwrap();
    let standard: &StandardClaims = verified.claims();
    assert!(standard.perms.is_empty());
    let authorizer = Authorizer::new();
    for scope in ["reports.export", "openid", "customer:read"] {
        let policy = Policy::scope(scope).unwrap();
        assert!(
            authorizer.check_claims(&policy, standard).is_ok(),
            "{scope}"
        );
    }
    let export = Policy::scope("reports.*").unwrap();
    assert!(authorizer.check_claims(&export, standard).is_err());
    // `resource:action` scopes still count as permissions where the authorizer reads scopes.
    let read = Policy::permission("customer:read").unwrap();
    assert!(authorizer.check_claims(&read, standard).is_err());
    let scopes_too = Authorizer::new().scope_claim(true);
    assert!(scopes_too.check_claims(&read, standard).is_ok());
}
