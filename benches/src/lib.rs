//! Shared fixtures for tollgate's benchmarks and load-test servers: keys, one realistic token
//! per algorithm, and a way to run a future that is expected to complete at once.
//!
//! The criterion benchmarks are in `benches/` (`cargo bench -p tollgate-benches`), the HTTP
//! load comparison in `http/run.sh`; `docs/performance.md` has the results.

use std::{
    future::Future,
    pin::pin,
    task::{Context, Poll, Waker},
    time::{SystemTime, UNIX_EPOCH},
};

use aws_lc_rs::{hmac, signature as sig};
use jsonwebtoken::{DecodingKey, DecodingKeyKind, EncodingKey, Header};
use tollgate::{
    key::Algorithm,
    key::Key,
    verify::{TrustedIssuer, Verifier},
};

/// The HS256 secret of the benchmarks (32 bytes).
pub const SECRET: &[u8] = b"benchmark-secret-of-32-bytes-ok!";
/// The `iss` of every benchmark token.
pub const ISSUER: &str = "https://auth.example.com";
/// The `aud` of every benchmark token.
pub const AUDIENCE: &str = "crm-api";
/// The JSON the load-test route answers (about 170 bytes).
pub const BODY: &str = r#"{"id":"cus_1042","name":"Acme Corporation","email":"billing@acme.example","plan":"enterprise","seats":250,"owner":"user-42","created":"2026-01-15T09:30:00Z"}"#;

/// The algorithms the benchmarks cover.
pub const ALGORITHMS: [Algorithm; 6] = [
    Algorithm::HS256,
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../crates/tollgate/tests/fixtures/",
            $name
        ))
    };
}

/// Seconds since the Unix epoch.
#[must_use]
pub fn now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    i64::try_from(secs).unwrap_or(i64::MAX)
}

/// The claims of the benchmark token: what a CRM access token carries (registered claims,
/// session, organization, roles, permissions, scope, version, type), valid for a day; the
/// HS256 token is about 500 bytes.
#[must_use]
pub fn claims(jti: &str) -> serde_json::Value {
    let now = now();
    serde_json::json!({
        "iss": ISSUER,
        "sub": "user-4f1c2a9e",
        "aud": AUDIENCE,
        "exp": now + 86_400,
        "iat": now - 60,
        "jti": jti,
        "sid": "sess-6a2b1c9d",
        "org": "org-acme",
        "roles": ["sales", "viewer"],
        "perms": ["customer:read", "customer:write", "deal:read"],
        "scope": "openid profile",
        "ver": 3,
        "token_type": "access",
    })
}

/// A signing key and the matching tollgate and `jsonwebtoken` verification keys.
pub struct Keys {
    /// The algorithm.
    pub algorithm: Algorithm,
    /// Signs benchmark tokens.
    pub encoding: EncodingKey,
    /// `jsonwebtoken`'s verification key.
    pub decoding: DecodingKey,
    /// tollgate's prepared verification key.
    pub key: Key,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl Keys {
    /// The benchmark keys for `algorithm` (the fixtures of tollgate's tests).
    ///
    /// # Panics
    ///
    /// For an algorithm without a fixture (HS384, HS512, RS384, ...).
    #[must_use]
    pub fn new(algorithm: Algorithm) -> Self {
        let (encoding, decoding, key) = match algorithm {
            Algorithm::HS256 => (
                EncodingKey::from_secret(SECRET),
                DecodingKey::from_secret(SECRET),
                Key::hmac(algorithm, SECRET).unwrap(),
            ),
            Algorithm::RS256 | Algorithm::PS256 => (
                EncodingKey::from_rsa_pem(fixture!("rsa2048.pem")).unwrap(),
                DecodingKey::from_rsa_pem(fixture!("rsa2048.pub.pem")).unwrap(),
                Key::from_pem(algorithm, fixture!("rsa2048.pub.pem")).unwrap(),
            ),
            Algorithm::ES256 => (
                EncodingKey::from_ec_pem(fixture!("p256.pem")).unwrap(),
                DecodingKey::from_ec_pem(fixture!("p256.pub.pem")).unwrap(),
                Key::from_pem(algorithm, fixture!("p256.pub.pem")).unwrap(),
            ),
            Algorithm::ES384 => (
                EncodingKey::from_ec_pem(fixture!("p384.pem")).unwrap(),
                DecodingKey::from_ec_pem(fixture!("p384.pub.pem")).unwrap(),
                Key::from_pem(algorithm, fixture!("p384.pub.pem")).unwrap(),
            ),
            Algorithm::EdDSA => (
                EncodingKey::from_ed_pem(fixture!("ed25519.pem")).unwrap(),
                DecodingKey::from_ed_pem(fixture!("ed25519.pub.pem")).unwrap(),
                Key::from_pem(algorithm, fixture!("ed25519.pub.pem")).unwrap(),
            ),
            other => panic!("no benchmark key for {other}"),
        };
        Self {
            algorithm,
            encoding,
            decoding,
            key,
        }
    }

    /// The algorithm as jsonwebtoken names it: [`Keys::new`] has no ES512 key, the one
    /// algorithm jsonwebtoken does not implement.
    fn jsonwebtoken_algorithm(&self) -> jsonwebtoken::Algorithm {
        self.algorithm
            .to_jsonwebtoken()
            .expect("Keys::new makes no ES512 key")
    }

    /// A token with [`claims`] and `jti`, signed with this key, header `{"alg":..,"typ":"JWT"}`.
    ///
    /// # Panics
    ///
    /// If signing fails.
    #[must_use]
    pub fn token(&self, jti: &str) -> String {
        let header = Header::new(self.jsonwebtoken_algorithm());
        jsonwebtoken::encode(&header, &claims(jti), &self.encoding).unwrap()
    }

    /// A tollgate verifier trusting this key for [`ISSUER`] and [`AUDIENCE`].
    #[must_use]
    pub fn verifier(&self) -> Verifier {
        Verifier::new(TrustedIssuer::new(ISSUER, self.key.clone()).add_audience(AUDIENCE))
    }

    /// `jsonwebtoken`'s validation with the same checks (issuer, audience, `exp`).
    #[must_use]
    pub fn validation(&self) -> jsonwebtoken::Validation {
        let mut validation = jsonwebtoken::Validation::new(self.jsonwebtoken_algorithm());
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.leeway = 0;
        validation
    }

    /// The bare signature operation with aws-lc-rs, the key prepared once: the floor's
    /// crypto part.
    #[must_use]
    pub fn raw(&self) -> RawKey {
        let der = |key: &DecodingKey| match key.kind() {
            DecodingKeyKind::SecretOrDer(der) => der.clone(),
            DecodingKeyKind::RsaModulusExponent { .. } => unreachable!("PEM keys are DER"),
        };
        let algorithm: &'static dyn sig::VerificationAlgorithm = match self.algorithm {
            Algorithm::HS256 => return RawKey::Hmac(hmac::Key::new(hmac::HMAC_SHA256, SECRET)),
            Algorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
            Algorithm::PS256 => &sig::RSA_PSS_2048_8192_SHA256,
            Algorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED,
            Algorithm::ES384 => &sig::ECDSA_P384_SHA384_FIXED,
            Algorithm::EdDSA => &sig::ED25519,
            other => panic!("no benchmark key for {other}"),
        };
        RawKey::Public(sig::ParsedPublicKey::new(algorithm, der(&self.decoding)).unwrap())
    }
}

/// A key prepared for the bare signature operation.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // kept inline: the floor measures the bare operation
pub enum RawKey {
    /// HMAC.
    Hmac(hmac::Key),
    /// RSA, ECDSA, EdDSA.
    Public(sig::ParsedPublicKey),
}

impl RawKey {
    /// Verify `signature` over `message`.
    #[must_use]
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::Hmac(key) => hmac::verify(key, message, signature).is_ok(),
            Self::Public(key) => key.verify_sig(message, signature).is_ok(),
        }
    }
}

/// Poll `future` once with a no-op waker: its output if it completed at once.
///
/// tollgate's [`Verifier::verify`] completes at once unless a remote key set must be fetched,
/// so the benchmarks measure it without any executor.
pub fn now_or_never<F: Future>(future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}
