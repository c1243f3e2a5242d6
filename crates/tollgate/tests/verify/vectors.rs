//! Published vectors: RFC 7515 Appendix A.1 (HS256), A.2 (RS256), A.3 (ES256), A.4
//! (ES512), RFC 7520 §4.3 (ES512) and RFC 8037 Appendix A (Ed25519). Each verifies with its published key and fails when any
//! one byte changes (A.4 signs a text, not a claims set: its published key also signs a
//! claims set here, for the same checks). The RFC 7515 tokens expired in 2011, so their verifier's clock is set
//! to before that expiry.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::jwk::Jwk;
use serde::Deserialize;
use tollgate::{
    AuthErrorKind,
    key::Key,
    verify::{TrustedIssuer, Verifier},
};

const PAYLOAD_2011: &str = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";

const A1_HS256: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const A1_JWK: &str = r#"{"kty":"oct","alg":"HS256","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}"#;

const A2_RS256: &str = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
const A2_JWK: &str = r#"{"kty":"RSA","alg":"RS256","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ","e":"AQAB"}"#;

const A3_ES256: &str = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
const A3_JWK: &str = r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;

const ED25519: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
const ED25519_JWK: &str =
    r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;

const A4_ES512: &str = "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA.AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZqwqT2SI-KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8KpEHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn";
const A4_JWK: &str = r#"{"kty":"EC","crv":"P-521","x":"AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk","y":"ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2"}"#;

const RFC7520_ES512: &str = "eyJhbGciOiJFUzUxMiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9.SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4.AE_R_YZCChjn4791jSQCrdPZCNYqHXCTZH0-JZGYNlaAjP2kqaluUIIUnC9qvbu9Plon7KRTzoNEuT4Va2cmL1eJAQy3mtPBu_u_sDDyYjnAMDxXPn7XrT0lw-kvAD890jl8e2puQens_IEKBpHABlsbEPX6sFY8OcGDqoRuBomu9xQ2";
/// RFC 7520 §3.1, as a JWK Set publishes it (with the `alg` §4.3 signs with).
const RFC7520_JWKS: &str = r#"{"keys":[{"kty":"EC","kid":"bilbo.baggins@hobbiton.example","use":"sig","alg":"ES512","crv":"P-521","x":"AHKZLLOsCOzz5cY97ewNUajB957y-C-U88c3v13nmGZx6sYl_oJXu9A5RkTKqjqvjyekWF-7ytDyRXYgCF5cj0Kt","y":"AdymlHvOiLxXkEhayXQnNCvDX4h9htZaCJN34kfmC6pV5OhQHiraVySsUdaQkAgDPrwQrJmbnX9cwlGfP-HqHZR1"}]}"#;

fn before_2011_expiry() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_300_819_000)
}

fn verifier(jwk: &str) -> Verifier {
    let jwk: Jwk = serde_json::from_str(jwk).unwrap();
    Verifier::new(TrustedIssuer::new("joe", Key::from_jwk(&jwk).unwrap()))
        .with_clock(before_2011_expiry)
}

#[derive(Debug, Deserialize)]
struct Joe {
    iss: String,
    #[serde(rename = "http://example.com/is_root")]
    is_root: bool,
}

async fn verify(verifier: &Verifier, token: &str) -> Result<(), AuthErrorKind> {
    verifier
        .verify::<Joe>(token)
        .await
        .map(|verified| {
            assert_eq!(verified.claims().iss, "joe");
            assert!(verified.claims().is_root);
        })
        .map_err(|e| e.kind())
}

/// Every token that differs from `token` in one byte (each position, a few replacement
/// values) is refused.
async fn every_single_byte_change_is_refused(verifier: &Verifier, token: &str) {
    let bytes = token.as_bytes();
    for i in 0..bytes.len() {
        for replacement in [b'A', b'z', b'0', b'_', b'-', b'.'] {
            if bytes[i] == replacement {
                continue;
            }
            let mut changed = bytes.to_vec();
            changed[i] = replacement;
            let changed = String::from_utf8(changed).unwrap();
            assert!(
                verifier
                    .verify::<serde_json::Value>(&changed)
                    .await
                    .is_err(),
                "accepted a token changed at byte {i}"
            );
        }
    }
}

#[tokio::test]
async fn rfc7515_a1_hs256() {
    let verifier = verifier(A1_JWK);
    verify(&verifier, A1_HS256).await.unwrap();
    every_single_byte_change_is_refused(&verifier, A1_HS256).await;
}

#[tokio::test]
async fn rfc7515_a2_rs256() {
    let verifier = verifier(A2_JWK);
    verify(&verifier, A2_RS256).await.unwrap();
    every_single_byte_change_is_refused(&verifier, A2_RS256).await;
}

#[tokio::test]
async fn rfc7515_a3_es256() {
    let verifier = verifier(A3_JWK);
    verify(&verifier, A3_ES256).await.unwrap();
    every_single_byte_change_is_refused(&verifier, A3_ES256).await;
}

#[tokio::test]
async fn the_2011_vectors_are_expired_today() {
    let jwk: Jwk = serde_json::from_str(A1_JWK).unwrap();
    let verifier = Verifier::new(TrustedIssuer::new("joe", Key::from_jwk(&jwk).unwrap()));
    assert_eq!(
        verify(&verifier, A1_HS256).await,
        Err(AuthErrorKind::Expired)
    );
    assert!(A1_HS256.contains(PAYLOAD_2011));
}

/// RFC 8037 A.4 signs the text "Example of Ed25519 signing", not a claims set: the signature
/// verifies (the verifier gets past it to the payload, which is not a JSON object, so the
/// token is malformed as a JWT), while any changed signature fails as a signature.
#[tokio::test]
async fn rfc8037_a4_ed25519() {
    let verifier = verifier(ED25519_JWK);
    assert_eq!(
        verify(&verifier, ED25519).await,
        Err(AuthErrorKind::Malformed)
    );
    let (input, signature) = ED25519.rsplit_once('.').unwrap();
    let mut sig = signature.as_bytes().to_vec();
    sig[10] = if sig[10] == b'A' { b'B' } else { b'A' };
    let changed = format!("{input}.{}", String::from_utf8(sig).unwrap());
    assert_eq!(
        verify(&verifier, &changed).await,
        Err(AuthErrorKind::InvalidSignature)
    );
    let (header, _) = input.split_once('.').unwrap();
    let other_payload = format!("{header}.SXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.{signature}");
    assert_eq!(
        verify(&verifier, &other_payload).await,
        Err(AuthErrorKind::InvalidSignature)
    );
}

/// RFC 8037 A.1's published private key (`d`), signing the RFC 7515 claims set: the token
/// verifies with the published public key (A.2's `x`), and fails when any one byte changes.
#[tokio::test]
async fn rfc8037_key_signs_a_claims_set_that_fails_on_any_change() {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

    let seed = URL_SAFE_NO_PAD
        .decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
        .unwrap();
    // PKCS#8 v1 for an Ed25519 seed (RFC 8410 section 7): a fixed prefix and the 32 bytes.
    let mut pkcs8 = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    pkcs8.extend_from_slice(&seed);
    let claims = serde_json::json!({
        "iss": "joe", "exp": 1_300_819_380, "http://example.com/is_root": true,
    });
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA),
        &claims,
        &jsonwebtoken::EncodingKey::from_ed_der(&pkcs8),
    )
    .unwrap();
    let verifier = verifier(ED25519_JWK);
    verify(&verifier, &token).await.unwrap();
    every_single_byte_change_is_refused(&verifier, &token).await;
}

/// A vector that signs a text, not a claims set: the signature verifies (the verifier gets
/// past it to the payload, which is not a JSON object, so the token is malformed as a JWT),
/// while a change to the signature or the payload fails as a signature.
async fn text_vector_verifies_and_fails_on_change(verifier: &Verifier, token: &str) {
    assert_eq!(verify(verifier, token).await, Err(AuthErrorKind::Malformed));
    let (input, signature) = token.rsplit_once('.').unwrap();
    for i in [2, signature.len() / 2, signature.len() - 2] {
        let mut sig = signature.as_bytes().to_vec();
        sig[i] = if sig[i] == b'A' { b'B' } else { b'A' };
        let changed = format!("{input}.{}", String::from_utf8(sig).unwrap());
        assert_eq!(
            verify(verifier, &changed).await,
            Err(AuthErrorKind::InvalidSignature),
            "signature changed at {i}"
        );
    }
    let (header, _) = input.split_once('.').unwrap();
    let other_payload = format!("{header}.UGF5bG9hZQ.{signature}");
    assert_eq!(
        verify(verifier, &other_payload).await,
        Err(AuthErrorKind::InvalidSignature)
    );
}

/// RFC 7515 A.4: ES512 (ECDSA P-521 SHA-512) over the text "Payload"; the JWK has no `alg`,
/// so its P-521 curve makes it an ES512 key.
#[tokio::test]
async fn rfc7515_a4_es512() {
    let verifier = verifier(A4_JWK);
    text_vector_verifies_and_fails_on_change(&verifier, A4_ES512).await;
}

/// The same key from PEM (SubjectPublicKeyInfo) verifies the same vector.
#[tokio::test]
async fn rfc7515_a4_es512_with_the_key_from_pem() {
    let key = Key::from_pem(
        tollgate::key::Algorithm::ES512,
        &crate::support::fixture("p521.pub.pem"),
    )
    .unwrap();
    let verifier = Verifier::new(TrustedIssuer::new("joe", key));
    text_vector_verifies_and_fails_on_change(&verifier, A4_ES512).await;
    // A P-256 key is not a P-521 key.
    assert!(
        Key::from_pem(
            tollgate::key::Algorithm::ES512,
            &crate::support::fixture("p256.pub.pem")
        )
        .is_err()
    );
}

/// RFC 7520 §4.3: ES512 over a text, with a `kid`; the key comes from a JWK Set that names
/// `"alg": "ES512"`.
#[tokio::test]
async fn rfc7520_4_3_es512_from_a_jwk_set() {
    let keys = tollgate::key::KeySet::from_jwks(RFC7520_JWKS.as_bytes(), None).unwrap();
    let key = keys.get("bilbo.baggins@hobbiton.example").unwrap();
    assert_eq!(key.algorithm(), tollgate::key::Algorithm::ES512);
    let verifier = Verifier::new(TrustedIssuer::new("joe", keys));
    text_vector_verifies_and_fails_on_change(&verifier, RFC7520_ES512).await;
}

/// RFC 7515 A.4's published private key (`d`) signs a claims set: it verifies with the
/// published public key, and fails when any one byte changes.
#[tokio::test]
async fn rfc7515_a4_key_signs_a_claims_set_that_fails_on_any_change() {
    let token = crate::support::es512_token(
        &serde_json::json!({"alg": "ES512"}),
        &serde_json::json!({"iss": "joe", "exp": 1_300_819_380, "http://example.com/is_root": true}),
    );
    let verifier = verifier(A4_JWK);
    verify(&verifier, &token).await.unwrap();
    every_single_byte_change_is_refused(&verifier, &token).await;
}
