//! Shared helpers for tollgate's integration tests: keys from `tests/fixtures`, token
//! minting with `jsonwebtoken` (an independent JOSE implementation), default claims.
#![allow(dead_code, unreachable_pub)]

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};
use tollgate::{
    key::Algorithm,
    key::Key,
    verify::{TrustedIssuer, Verifier},
};

/// An HS256 secret for tests (32 bytes).
pub const SECRET: &[u8] = b"test-secret-of-thirty-two-bytes!";
pub const ISSUER: &str = "https://issuer.test";
pub const AUDIENCE: &str = "api.test";

pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A private key that signs tokens of one algorithm, and the matching verification key.
pub struct TestKey {
    pub algorithm: Algorithm,
    pub encoding: EncodingKey,
    pub key: Key,
    pub kid: Option<String>,
}

impl TestKey {
    pub fn new(algorithm: Algorithm) -> Self {
        let (encoding, key) = match algorithm {
            Algorithm::HS256 => (
                EncodingKey::from_secret(SECRET),
                Key::hmac(algorithm, SECRET).unwrap(),
            ),
            Algorithm::HS384 | Algorithm::HS512 => {
                let secret = [SECRET, SECRET].concat();
                (
                    EncodingKey::from_secret(&secret),
                    Key::hmac(algorithm, &secret).unwrap(),
                )
            }
            alg if alg.is_rsa() => (
                EncodingKey::from_rsa_pem(&fixture("rsa2048.pem")).unwrap(),
                Key::from_pem(alg, &fixture("rsa2048.pub.pem")).unwrap(),
            ),
            Algorithm::ES256 => (
                EncodingKey::from_ec_pem(&fixture("p256.pem")).unwrap(),
                Key::from_pem(algorithm, &fixture("p256.pub.pem")).unwrap(),
            ),
            Algorithm::ES384 => (
                EncodingKey::from_ec_pem(&fixture("p384.pem")).unwrap(),
                Key::from_pem(algorithm, &fixture("p384.pub.pem")).unwrap(),
            ),
            Algorithm::ES512 => {
                let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(json!({
                    "kty": "EC", "crv": "P-521", "x": P521_X, "y": P521_Y,
                }))
                .unwrap();
                (
                    EncodingKey::from_ec_der(p521_pkcs8().as_ref()),
                    Key::from_jwk(&jwk).unwrap(),
                )
            }
            Algorithm::EdDSA => (
                EncodingKey::from_ed_pem(&fixture("ed25519.pem")).unwrap(),
                Key::from_pem(algorithm, &fixture("ed25519.pub.pem")).unwrap(),
            ),
            other => panic!("no test key for {other}"),
        };
        Self {
            algorithm,
            encoding,
            key,
            kid: None,
        }
    }

    pub fn with_kid(mut self, kid: &str) -> Self {
        self.kid = Some(kid.to_owned());
        self.key = self.key.with_kid(kid);
        self
    }

    /// Sign `claims` with a header carrying this key's `alg` and `kid`, and `typ`.
    pub fn sign_typ(&self, typ: Option<&str>, claims: &Value) -> String {
        let Some(algorithm) = self.algorithm.to_jsonwebtoken() else {
            // ES512, which jsonwebtoken does not sign.
            let mut header = json!({"alg": self.algorithm.as_str()});
            if let Some(kid) = &self.kid {
                header["kid"] = json!(kid);
            }
            if let Some(typ) = typ {
                header["typ"] = json!(typ);
            }
            return es512_token(&header, claims);
        };
        let mut header = Header::new(algorithm);
        header.kid = self.kid.clone();
        header.typ = typ.map(ToOwned::to_owned);
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }

    /// Sign `claims` with `typ: at+jwt`.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_typ(Some("at+jwt"), claims)
    }

    /// A verifier trusting this key for [`ISSUER`] and [`AUDIENCE`], requiring `at+jwt`.
    pub fn verifier(&self) -> Verifier {
        Verifier::new(TrustedIssuer::new(ISSUER, self.key.clone()).add_audience(AUDIENCE))
            .header_typ("at+jwt")
            .unwrap()
    }
}

/// Valid access-token claims: issuer, audience, subject, five minutes of life, a jti.
pub fn claims() -> Value {
    let now = now();
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-1",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": format!("jti-{now}-{}", next_id()),
        "sid": "session-1",
        "org": "org-1",
        "roles": ["sales"],
        "perms": ["customer:read", "customer:create"],
        "ver": 1,
        "token_type": "access",
    })
}

fn next_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Sign arbitrary header and payload JSON with HS256 and [`SECRET`], bypassing any library
/// checks (for malformed-token tests).
pub fn hs256_raw(header: &[u8], payload: &[u8]) -> String {
    use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, SECRET);
    let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

/// The P-521 key of RFC 7515 Appendix A.4.
pub const P521_X: &str =
    "AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk";
pub const P521_Y: &str =
    "ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2";
const P521_D: &str =
    "AY5pb7A0UFiB3RELSD64fTLOSV_jazdF7fLYyuTw8lOfRhWg6Y6rUrPAxerEzgdRhajnu0ferB0d53vM9mE15j2C";

fn p521_pair() -> aws_lc_rs::signature::EcdsaKeyPair {
    use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
    let decode = |value: &str| URL_SAFE_NO_PAD.decode(value).unwrap();
    let mut public = vec![0x04];
    public.extend(decode(P521_X));
    public.extend(decode(P521_Y));
    aws_lc_rs::signature::EcdsaKeyPair::from_private_key_and_public_key(
        &aws_lc_rs::signature::ECDSA_P521_SHA512_FIXED_SIGNING,
        &decode(P521_D),
        &public,
    )
    .unwrap()
}

fn p521_pkcs8() -> aws_lc_rs::pkcs8::Document {
    p521_pair().to_pkcs8v1().unwrap()
}

/// A compact JWS over `header` and `claims`, signed ES512 with the RFC 7515 A.4 key
/// (jsonwebtoken does not sign ES512: aws-lc-rs does, directly).
pub fn es512_token(header: &Value, claims: &Value) -> String {
    use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = p521_pair()
        .sign(&aws_lc_rs::rand::SystemRandom::new(), input.as_bytes())
        .unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
}
