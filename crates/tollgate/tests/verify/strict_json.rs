//! Tokens that are not strict JSON (RFC 7519 §7.2, RFC 8259): refused whole, header or
//! payload, even when the bad bytes sit in a member nothing reads; with the header parsed in
//! advance or parsed from the token, with the verified-token cache or without.

use serde_json::json;
use tollgate::{AuthErrorKind, StandardClaims, key::Algorithm, verify::Verifier};

use crate::support::{TestKey, claims, hs256_raw};

/// Values that are not strict JSON, for a member no claims type reads.
const NOT_STRICT: [&[u8]; 8] = [
    b"\"\xff\"",
    b"\"caf\xc3\"",
    br#""\ud800""#,
    br#""\udc00\ud800""#,
    br#"{"deep":["\ud800x"]}"#,
    b"1e400",
    b"[-1e400]",
    br#"{"\udfff":1}"#,
];

/// Unusual values that are strict JSON: accepted.
const STRICT: [&[u8]; 6] = [
    br#""\ud83d\ude00""#,
    "\"caf\u{e9}\"".as_bytes(),
    b"1e308",
    b"1e-400",
    br#"{"deep":[null,true,-0,"\u0000"]}"#,
    b"123456789012345678901234567890",
];

/// The header the verifier knows in advance (its fast path) and one it has to parse.
const KNOWN_HEADER: &[u8] = br#"{"alg":"HS256","typ":"at+jwt"}"#;
const PARSED_HEADER: &[u8] = br#"{"alg":"HS256","typ":"at+jwt","x5t":"unread"}"#;

/// Valid claims with one more member, `extra`, whose value is `value` byte for byte.
fn payload_with(value: &[u8]) -> Vec<u8> {
    let mut payload = claims().to_string().into_bytes();
    assert_eq!(payload.pop(), Some(b'}'));
    payload.extend_from_slice(b",\"extra\":");
    payload.extend_from_slice(value);
    payload.push(b'}');
    payload
}

/// A valid header with one more member, `extra`, whose value is `value` byte for byte.
fn header_with(value: &[u8]) -> Vec<u8> {
    let mut header = br#"{"alg":"HS256","typ":"at+jwt","extra":"#.to_vec();
    header.extend_from_slice(value);
    header.push(b'}');
    header
}

fn verifiers() -> Vec<(&'static str, Verifier)> {
    let verifier = TestKey::new(Algorithm::HS256).verifier();
    let mut verifiers = vec![("uncached", verifier.clone())];
    #[cfg(feature = "verify-cache")]
    verifiers.push((
        "cached",
        verifier.cache(tollgate::verify::VerifiedCache::new(100)),
    ));
    verifiers
}

/// The verdict on `token`, twice, so that a cached verifier answers the second time from its
/// cache if it admitted the token.
async fn verdict(verifier: &Verifier, token: &str) -> Result<(), AuthErrorKind> {
    let first = verifier.verify::<StandardClaims>(token).await.map(drop);
    let again = verifier.verify::<StandardClaims>(token).await.map(drop);
    assert_eq!(
        first.as_ref().map_err(|e| e.kind()),
        again.as_ref().map_err(|e| e.kind())
    );
    first.map_err(|e| e.kind())
}

fn shown(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn a_claim_nothing_reads_must_be_strict_json() {
    for (name, verifier) in verifiers() {
        for header in [KNOWN_HEADER, PARSED_HEADER] {
            for value in NOT_STRICT {
                let token = hs256_raw(header, &payload_with(value));
                assert_eq!(
                    verdict(&verifier, &token).await,
                    Err(AuthErrorKind::Malformed),
                    "{name}, header {}, claim {}",
                    shown(header),
                    shown(value)
                );
            }
            for value in STRICT {
                let token = hs256_raw(header, &payload_with(value));
                assert_eq!(
                    verdict(&verifier, &token).await,
                    Ok(()),
                    "{name}, header {}, claim {}",
                    shown(header),
                    shown(value)
                );
            }
        }
    }
}

#[tokio::test]
async fn a_header_member_nothing_reads_must_be_strict_json() {
    for (name, verifier) in verifiers() {
        for value in NOT_STRICT {
            let token = hs256_raw(&header_with(value), claims().to_string().as_bytes());
            assert_eq!(
                verdict(&verifier, &token).await,
                Err(AuthErrorKind::Malformed),
                "{name}, header member {}",
                shown(value)
            );
        }
        for value in STRICT {
            let token = hs256_raw(&header_with(value), claims().to_string().as_bytes());
            assert_eq!(
                verdict(&verifier, &token).await,
                Ok(()),
                "{name}, header member {}",
                shown(value)
            );
        }
    }
}

#[tokio::test]
async fn a_claims_type_that_reads_everything_sees_only_strict_json() {
    // The caller's own claims type is read after the standard claims: a token refused for
    // them is refused whatever `C` is, and a strict one reaches `C` whole.
    let verifier = TestKey::new(Algorithm::HS256).verifier();
    for value in NOT_STRICT {
        let token = hs256_raw(KNOWN_HEADER, &payload_with(value));
        let error = verifier
            .verify::<serde_json::Value>(&token)
            .await
            .unwrap_err();
        assert_eq!(error.kind(), AuthErrorKind::Malformed, "{}", shown(value));
    }
    let token = hs256_raw(KNOWN_HEADER, &payload_with(br#""\ud83d\ude00""#));
    let verified = verifier.verify::<serde_json::Value>(&token).await.unwrap();
    assert_eq!(verified.claims()["extra"], json!("\u{1f600}"));
}
