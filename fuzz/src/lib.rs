//! What the fuzz targets share: the verifier they attack, its keys, signing, and the
//! independent checks of what a verifier may accept.
//!
//! The verifier trusts two issuers, each with its own HMAC key (a token is judged by the one
//! its `iss` names), and reads the time from a fixed clock, so that the seed tokens stay valid
//! and every run judges the same input the same way.

use std::{
    pin::pin,
    sync::Arc,
    task::{Context, Poll, Waker},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use aws_lc_rs::hmac;
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::Value;
use tollgate::{
    AuthErrorKind, StandardClaims,
    key::{Algorithm, Key},
    verify::{TrustedIssuer, VerifiedCache, Verifier},
};

/// The verifier's time, in seconds since the Unix epoch (June 2025).
pub const NOW: i64 = 1_750_000_000;
/// The issuer whose tokens are HS256 with [`SECRET`], kid [`KID`], for [`AUDIENCE`].
pub const ISSUER: &str = "https://issuer.example";
/// The audience [`ISSUER`]'s tokens must name.
pub const AUDIENCE: &str = "crm";
/// The `kid` of [`ISSUER`]'s key.
pub const KID: &str = "hs";
/// [`ISSUER`]'s HS256 secret.
pub const SECRET: &[u8] = b"fuzzing-secret-of-at-least-32-bytes!";
/// The second issuer: HS384 with [`OTHER_SECRET`], no `kid`, no audience.
pub const OTHER_ISSUER: &str = "https://other.example";
/// [`OTHER_ISSUER`]'s HS384 secret.
pub const OTHER_SECRET: &[u8] = b"another-fuzzing-secret-of-at-least-48-bytes-long";

fn clock() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW.unsigned_abs())
}

/// The verifier under attack, without a cache.
pub fn verifier() -> Verifier {
    let key = Key::hmac(Algorithm::HS256, SECRET).unwrap().with_kid(KID);
    let other = Key::hmac(Algorithm::HS384, OTHER_SECRET).unwrap();
    Verifier::new(TrustedIssuer::new(ISSUER, key).add_audience(AUDIENCE))
        .add_issuer(TrustedIssuer::new(OTHER_ISSUER, other))
        .unwrap()
        .with_clock(clock)
}

/// The same verifier with a verified-token cache.
pub fn cached_verifier() -> Verifier {
    verifier().cache(VerifiedCache::new(1_000))
}

/// The verdict on `token`: the standard claims, or why it was refused.
pub fn verdict(verifier: &Verifier, token: &str) -> Result<Arc<StandardClaims>, AuthErrorKind> {
    now_or_never(verifier.verify::<StandardClaims>(token))
        .expect("static keys never wait")
        .map(|verified| Arc::clone(&verified.claims().0))
        .map_err(|error| error.kind())
}

/// The verdict on `token` with the whole claims set as JSON: the same as [`verdict`], since
/// the standard claims are read (and the JSON checked) first.
pub fn verdict_as_json(verifier: &Verifier, token: &str) -> Result<(), AuthErrorKind> {
    now_or_never(verifier.verify::<Value>(token))
        .expect("static keys never wait")
        .map(drop)
        .map_err(|error| error.kind())
}

/// Judge `token` with the plain verifier and, twice, with the cached one (the second answer
/// from the cache if the token was admitted): the verdicts must be the same, and an accepted
/// token must pass [`assert_acceptable`].
pub fn judge(plain: &Verifier, cached: &Verifier, token: &str) {
    let verdict_plain = verdict(plain, token);
    let verdict_cached = verdict(cached, token);
    let verdict_again = verdict(cached, token);
    assert_eq!(verdict_plain, verdict_cached, "the cache changed a verdict");
    assert_eq!(
        verdict_plain, verdict_again,
        "a cache hit changed a verdict"
    );
    assert_eq!(
        verdict_plain.as_ref().map(drop).map_err(|kind| *kind),
        verdict_as_json(plain, token),
        "the claims type changed a verdict"
    );
    if let Ok(claims) = verdict_plain {
        assert_acceptable(token, &claims);
    }
}

/// `header.payload` signed with HMAC `algorithm` and `secret`, as a compact JWS.
pub fn sign(header: &[u8], payload: &[u8], algorithm: hmac::Algorithm, secret: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let tag = hmac::sign(&hmac::Key::new(algorithm, secret), input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

/// Checks, independent of tollgate, that a token it accepted deserved it: strict base64url
/// segments; header and claims strict JSON objects; the header's `alg` the one of the key of
/// the issuer the claims name, and the signature that key's; no `crit`; the times, issuer and
/// audience valid at [`NOW`]; the claims handed over are the token's.
///
/// # Panics
///
/// When any of that does not hold: a verifier accepted what it must not.
pub fn assert_acceptable(token: &str, claims: &StandardClaims) {
    let mut segments = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        panic!("accepted a token that is not three segments");
    };
    let decode = |segment: &str| {
        URL_SAFE_NO_PAD
            .decode(segment)
            .expect("accepted a segment that is not strict base64url")
    };
    let (header_bytes, payload_bytes, signature) =
        (decode(header), decode(payload), decode(signature));
    // serde_json's `Value` reads every member: what it refuses is not strict JSON.
    let header_json: Value =
        serde_json::from_slice(&header_bytes).expect("accepted a header that is not JSON");
    let payload_json: Value =
        serde_json::from_slice(&payload_bytes).expect("accepted claims that are not JSON");
    let header_json = header_json.as_object().expect("header not an object");
    let payload_json = payload_json.as_object().expect("claims not an object");
    assert!(!header_json.contains_key("crit"), "accepted a crit header");

    let iss = payload_json.get("iss").and_then(Value::as_str);
    let (alg, key_alg, secret, audience) = match iss {
        Some(ISSUER) => ("HS256", hmac::HMAC_SHA256, SECRET, Some(AUDIENCE)),
        Some(OTHER_ISSUER) => ("HS384", hmac::HMAC_SHA384, OTHER_SECRET, None),
        _ => panic!("accepted a token from an unknown issuer"),
    };
    assert_eq!(
        header_json.get("alg").and_then(Value::as_str),
        Some(alg),
        "accepted the wrong alg"
    );
    let signing_input = &token[..header.len() + 1 + payload.len()];
    hmac::verify(
        &hmac::Key::new(key_alg, secret),
        signing_input.as_bytes(),
        &signature,
    )
    .expect("accepted a token its issuer's key did not sign");

    let number = |name: &str| payload_json.get(name).and_then(Value::as_f64);
    #[allow(clippy::cast_precision_loss)]
    let now = NOW as f64;
    let exp = number("exp").expect("accepted a token without a numeric exp");
    assert!(exp.trunc() > now, "accepted an expired token");
    assert!(
        number("nbf").is_none_or(|nbf| nbf.trunc() <= now),
        "accepted a token before its nbf"
    );
    assert!(
        number("iat").is_none_or(|iat| iat.trunc() <= now),
        "accepted a token issued in the future"
    );
    let audiences: Vec<&str> = match payload_json.get("aud") {
        None => Vec::new(),
        Some(Value::String(one)) => vec![one],
        Some(Value::Array(many)) => many
            .iter()
            .map(|aud| aud.as_str().expect("accepted a non-string aud"))
            .collect(),
        Some(_) => panic!("accepted an aud that is neither a string nor an array"),
    };
    match audience {
        Some(audience) => assert!(audiences.contains(&audience), "accepted a foreign aud"),
        None => assert!(audiences.is_empty(), "accepted an aud nobody trusts"),
    }
    let read: StandardClaims = serde_json::from_slice(&payload_bytes).expect("claims unreadable");
    assert_eq!(&read, claims, "the claims handed over are not the token's");
}

/// Poll `future` once: the verifier's future is ready at once with static keys.
pub fn now_or_never<F: Future>(future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}
