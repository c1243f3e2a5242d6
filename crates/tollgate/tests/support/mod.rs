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
        let mut header = Header::new(self.algorithm.to_jsonwebtoken());
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
