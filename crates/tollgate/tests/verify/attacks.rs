//! The attacks of RFC 8725 and the well-known JWT CVEs: each refused with the right error,
//! never a panic.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use proptest::prelude::*;
use serde_json::json;
use tollgate::{AuthErrorKind, StandardClaims, key::Algorithm, key::Key};

use crate::support::{self, TestKey, claims, hs256_raw};

async fn kind(verifier: &tollgate::verify::Verifier, token: &str) -> Result<(), AuthErrorKind> {
    verifier
        .verify::<StandardClaims>(token)
        .await
        .map(drop)
        .map_err(|e| e.kind())
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test]
async fn every_algorithm_signs_and_verifies_in_the_built_configuration() {
    for algorithm in Algorithm::ALL {
        let key = TestKey::new(algorithm);
        let token = key.sign(&claims());
        assert_eq!(kind(&key.verifier(), &token).await, Ok(()), "{algorithm}");
    }
}

#[tokio::test]
async fn alg_none_in_every_casing() {
    let verifier = TestKey::new(Algorithm::HS256).verifier();
    let payload = b64(claims().to_string().as_bytes());
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = b64(json!({"alg": alg, "typ": "at+jwt"}).to_string().as_bytes());
        for signature in ["", "c2ln"] {
            let token = format!("{header}.{payload}.{signature}");
            assert_eq!(
                kind(&verifier, &token).await,
                Err(AuthErrorKind::UnsupportedAlgorithm),
                "{alg}"
            );
        }
    }
}

#[tokio::test]
async fn hs256_signed_with_the_public_key_as_secret() {
    for (algorithm, public) in [
        (Algorithm::RS256, "rsa2048.pub.pem"),
        (Algorithm::ES256, "p256.pub.pem"),
        (Algorithm::ES512, "p521.pub.pem"),
        (Algorithm::EdDSA, "ed25519.pub.pem"),
    ] {
        let rsa = TestKey::new(algorithm).with_kid("k1");
        let verifier = rsa.verifier();
        let pem = support::fixture(public);
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some("k1".into());
        header.typ = Some("at+jwt".into());
        let token = jsonwebtoken::encode(
            &header,
            &claims(),
            &jsonwebtoken::EncodingKey::from_secret(&pem),
        )
        .unwrap();
        assert_eq!(
            kind(&verifier, &token).await,
            Err(AuthErrorKind::UnsupportedAlgorithm),
            "{algorithm}"
        );
    }
}

#[tokio::test]
async fn a_valid_signature_from_another_key() {
    let verifier = TestKey::new(Algorithm::HS256).verifier();
    let other = jsonwebtoken::EncodingKey::from_secret(b"another-secret-of-32-bytes-long!");
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.typ = Some("at+jwt".into());
    let token = jsonwebtoken::encode(&header, &claims(), &other).unwrap();
    assert_eq!(
        kind(&verifier, &token).await,
        Err(AuthErrorKind::InvalidSignature)
    );
}

#[tokio::test]
async fn a_key_of_the_same_algorithm_but_another_kid_is_not_tried() {
    let a = TestKey::new(Algorithm::HS256).with_kid("a");
    let b_secret = b"second-secret-of-thirty-two-byte";
    let keys = tollgate::key::KeySet::new()
        .add_key(a.key.clone())
        .unwrap()
        .add_key(Key::hmac(Algorithm::HS256, b_secret).unwrap().with_kid("b"))
        .unwrap();
    let verifier = tollgate::verify::Verifier::new(
        tollgate::verify::TrustedIssuer::new(support::ISSUER, keys).add_audience(support::AUDIENCE),
    );
    // Signed by "a" but naming "b".
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some("b".into());
    let token = jsonwebtoken::encode(&header, &claims(), &a.encoding).unwrap();
    assert_eq!(
        kind(&verifier, &token).await,
        Err(AuthErrorKind::InvalidSignature)
    );
    // Rotation: each kid verifies its own tokens.
    header.kid = Some("a".into());
    let token = jsonwebtoken::encode(&header, &claims(), &a.encoding).unwrap();
    assert_eq!(kind(&verifier, &token).await, Ok(()));
}

#[tokio::test]
async fn tampered_header_or_payload() {
    let key = TestKey::new(Algorithm::ES256);
    let verifier = key.verifier();
    let token = key.sign(&claims());
    let (header, rest) = token.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    let mut elevated = claims();
    elevated["perms"] = json!(["*:*"]);
    let forged = format!(
        "{header}.{}.{signature}",
        b64(elevated.to_string().as_bytes())
    );
    assert_eq!(
        kind(&verifier, &forged).await,
        Err(AuthErrorKind::InvalidSignature)
    );
    let other_header = b64(br#"{"alg":"ES256","typ":"AT+JWT"}"#);
    let forged = format!("{other_header}.{rest}");
    assert_eq!(
        kind(&verifier, &forged).await,
        Err(AuthErrorKind::InvalidSignature)
    );
}

#[tokio::test]
async fn stripped_and_all_zero_signatures() {
    for (algorithm, len) in [
        (Algorithm::HS256, 32),
        (Algorithm::ES256, 64),
        (Algorithm::ES512, 132),
        (Algorithm::EdDSA, 64),
        (Algorithm::RS256, 256),
    ] {
        let key = TestKey::new(algorithm);
        let verifier = key.verifier();
        let token = key.sign(&claims());
        let (input, _) = token.rsplit_once('.').unwrap();
        assert_eq!(
            kind(&verifier, &format!("{input}.")).await,
            Err(AuthErrorKind::InvalidSignature),
            "{algorithm} stripped"
        );
        let zeros = b64(&vec![0u8; len]);
        assert_eq!(
            kind(&verifier, &format!("{input}.{zeros}")).await,
            Err(AuthErrorKind::InvalidSignature),
            "{algorithm} zeros"
        );
    }
}

#[tokio::test]
async fn key_headers_in_the_token_are_ignored() {
    let key = TestKey::new(Algorithm::HS256);
    let verifier = key.verifier();
    // Our key's token with jku/x5u/jwk headers: they change nothing.
    let header = json!({"alg": "HS256", "typ": "at+jwt", "jku": "https://evil.test/jwks", "x5u": "https://evil.test/cert", "jwk": {"kty": "oct", "k": "AAAA"}});
    let token = hs256_raw(
        header.to_string().as_bytes(),
        claims().to_string().as_bytes(),
    );
    assert_eq!(kind(&verifier, &token).await, Ok(()));
    // An attacker's key embedded as `jwk`, signing with it: refused.
    let attacker = TestKey::new(Algorithm::ES256);
    let jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(
        &attacker.encoding,
        jsonwebtoken::Algorithm::ES256,
    )
    .unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.jwk = Some(jwk);
    header.typ = Some("at+jwt".into());
    let token = jsonwebtoken::encode(&header, &claims(), &attacker.encoding).unwrap();
    assert_eq!(
        kind(&verifier, &token).await,
        Err(AuthErrorKind::UnsupportedAlgorithm)
    );

    // The same with an algorithm the verifier does accept: the embedded key is still not
    // used, the token's signature is checked with the configured key only.
    let ours = TestKey::new(Algorithm::ES256);
    let pkcs8 = aws_lc_rs::signature::EcdsaKeyPair::generate_pkcs8(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &aws_lc_rs::rand::SystemRandom::new(),
    )
    .unwrap();
    let attacker = jsonwebtoken::EncodingKey::from_ec_der(pkcs8.as_ref());
    let jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&attacker, jsonwebtoken::Algorithm::ES256)
        .unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.jwk = Some(jwk);
    header.typ = Some("at+jwt".into());
    let token = jsonwebtoken::encode(&header, &claims(), &attacker).unwrap();
    assert_eq!(
        kind(&ours.verifier(), &token).await,
        Err(AuthErrorKind::InvalidSignature)
    );
}

#[tokio::test]
async fn hostile_kids() {
    let key = TestKey::new(Algorithm::HS256).with_kid("k1");
    let verifier = key.verifier();
    for kid in [
        "../../../../etc/passwd",
        "' OR '1'='1",
        "k1\u{0}",
        "k1 ",
        "K1",
        "",
        "%00",
        "\\\\server\\share",
        &"k".repeat(4000),
    ] {
        let header = json!({"alg": "HS256", "typ": "at+jwt", "kid": kid});
        let token = hs256_raw(
            header.to_string().as_bytes(),
            claims().to_string().as_bytes(),
        );
        assert_eq!(
            kind(&verifier, &token).await,
            Err(AuthErrorKind::UnknownKey),
            "{kid:?}"
        );
    }
}

#[tokio::test]
async fn unknown_crit_is_refused() {
    let verifier = TestKey::new(Algorithm::HS256).verifier();
    for crit in [
        json!(["exp"]),
        json!([]),
        json!(["b64"]),
        json!("x"),
        json!(null),
    ] {
        let header = json!({"alg": "HS256", "typ": "at+jwt", "crit": crit, "b64": false});
        let token = hs256_raw(
            header.to_string().as_bytes(),
            claims().to_string().as_bytes(),
        );
        assert_eq!(
            kind(&verifier, &token).await,
            Err(AuthErrorKind::UnsupportedCritical),
            "{crit}"
        );
    }
}

#[tokio::test]
async fn claims_of_the_wrong_json_type() {
    let verifier = TestKey::new(Algorithm::HS256).verifier();
    let header = br#"{"alg":"HS256","typ":"at+jwt"}"#;
    for (claim, value) in [
        ("exp", json!("9999999999")),
        ("nbf", json!(true)),
        ("iat", json!([1])),
        ("aud", json!(7)),
        ("iss", json!({"a": 1})),
        ("sub", json!(42)),
        ("ver", json!(-1)),
        // A list is an array of strings or one space-separated string, nothing else.
        ("roles", json!({"admin": true})),
        ("perms", json!([1])),
        ("scope", json!(["openid profile"])),
    ] {
        let mut payload = claims();
        payload[claim] = value;
        let token = hs256_raw(header, payload.to_string().as_bytes());
        assert_eq!(
            kind(&verifier, &token).await,
            Err(AuthErrorKind::Malformed),
            "{claim}"
        );
    }
    for payload in [
        &b"[]"[..],
        b"\"claims\"",
        b"null",
        b"{\"exp\":1",
        b"\xff\xfe",
    ] {
        let token = hs256_raw(header, payload);
        assert_eq!(
            kind(&verifier, &token).await,
            Err(AuthErrorKind::Malformed),
            "{payload:?}"
        );
    }
}

#[tokio::test]
async fn duplicate_names_are_refused() {
    let verifier = TestKey::new(Algorithm::HS256).verifier();
    let exp = support::now() + 300;
    let payload = format!(
        r#"{{"iss":"{}","aud":"{}","exp":{exp},"exp":9999999999}}"#,
        support::ISSUER,
        support::AUDIENCE
    );
    let token = hs256_raw(br#"{"alg":"HS256","typ":"at+jwt"}"#, payload.as_bytes());
    assert_eq!(kind(&verifier, &token).await, Err(AuthErrorKind::Malformed));
    let token = hs256_raw(
        br#"{"alg":"HS256","alg":"none","typ":"at+jwt"}"#,
        claims().to_string().as_bytes(),
    );
    assert_eq!(kind(&verifier, &token).await, Err(AuthErrorKind::Malformed));

    // A custom claim, duplicated, for a claims type that is a struct: refused too.
    #[derive(Debug, serde::Deserialize)]
    struct Team {
        #[allow(dead_code)]
        team: String,
    }
    let payload = format!(
        r#"{{"iss":"{}","aud":"{}","exp":{exp},"team":"blue","team":"admins"}}"#,
        support::ISSUER,
        support::AUDIENCE
    );
    let token = hs256_raw(br#"{"alg":"HS256","typ":"at+jwt"}"#, payload.as_bytes());
    let error = verifier.verify::<Team>(&token).await.unwrap_err();
    assert_eq!(error.kind(), AuthErrorKind::Malformed);
}

#[tokio::test]
async fn non_canonical_base64url() {
    let key = TestKey::new(Algorithm::HS256);
    let verifier = key.verifier();
    let token = key.sign(&claims());
    let segments: Vec<&str> = token.split('.').collect();
    for i in 0..3 {
        let mut padded = segments.clone();
        let with_padding = format!("{}=", segments[i]);
        padded[i] = &with_padding;
        assert_eq!(
            kind(&verifier, &padded.join(".")).await,
            Err(AuthErrorKind::Malformed),
            "padding in segment {i}"
        );
        let mut std = segments.clone();
        let with_std = format!("{}+/", &segments[i][..segments[i].len() - 2]);
        std[i] = &with_std;
        assert!(
            kind(&verifier, &std.join(".")).await.is_err(),
            "standard alphabet in segment {i}"
        );
    }
    // The HS256 signature is 32 bytes: 43 characters whose last one carries 2 spare bits.
    let sig = segments[2].as_bytes();
    let last = sig[sig.len() - 1];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let index = alphabet.iter().position(|&c| c == last).unwrap();
    let mut changed = sig.to_vec();
    changed[sig.len() - 1] = alphabet[index | 1];
    if changed != sig {
        let forged = format!(
            "{}.{}.{}",
            segments[0],
            segments[1],
            String::from_utf8(changed).unwrap()
        );
        assert_eq!(
            kind(&verifier, &forged).await,
            Err(AuthErrorKind::Malformed)
        );
    }
}

#[tokio::test]
async fn wrong_segment_counts() {
    let key = TestKey::new(Algorithm::HS256);
    let verifier = key.verifier();
    let token = key.sign(&claims());
    let (input, signature) = token.rsplit_once('.').unwrap();
    for forged in [
        input.to_owned(),
        format!("{token}.{signature}"),
        format!("{token}..x"),
        String::new(),
        "..".into(),
        ".".into(),
    ] {
        assert_eq!(
            kind(&verifier, &forged).await,
            Err(AuthErrorKind::Malformed),
            "{forged}"
        );
    }
}

#[tokio::test]
async fn huge_tokens_are_refused_before_decoding() {
    let key = TestKey::new(Algorithm::HS256);
    let verifier = key.verifier();
    let mut payload = claims();
    payload["pad"] = json!("x".repeat(9000));
    let token = key.sign(&payload);
    assert_eq!(kind(&verifier, &token).await, Err(AuthErrorKind::TooLarge));
    let garbage = "a".repeat(100_000);
    assert_eq!(
        kind(&verifier, &garbage).await,
        Err(AuthErrorKind::TooLarge)
    );
    let bigger = verifier.clone().max_token_len(16 * 1024).unwrap();
    assert_eq!(kind(&bigger, &token).await, Ok(()));
}

#[tokio::test]
async fn small_rsa_keys_and_weak_secrets_are_configuration_errors() {
    assert!(Key::from_pem(Algorithm::RS256, &support::fixture("rsa1024.pub.pem")).is_err());
    assert!(Key::from_pem(Algorithm::ES256, &support::fixture("rsa2048.pub.pem")).is_err());
    assert!(Key::from_pem(Algorithm::ES256, &support::fixture("p384.pub.pem")).is_err());
    assert!(Key::from_pem(Algorithm::HS256, b"secret").is_err());
    assert!(Key::hmac(Algorithm::HS256, b"short").is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any single-byte change of a valid token is refused.
    #[test]
    fn any_single_byte_mutation_is_refused(index in 0usize..4096, byte in any::<u8>(), alg in 0usize..4) {
        let algorithm = [Algorithm::HS256, Algorithm::ES256, Algorithm::EdDSA, Algorithm::PS256][alg];
        let key = TestKey::new(algorithm);
        let token = key.sign(&claims());
        let index = index % token.len();
        prop_assume!(token.as_bytes()[index] != byte);
        let mut bytes = token.into_bytes();
        bytes[index] = byte;
        if let Ok(mutated) = String::from_utf8(bytes) {
            let verifier = key.verifier();
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let result = runtime.block_on(verifier.verify::<StandardClaims>(&mutated));
            prop_assert!(result.is_err());
        }
    }
}
