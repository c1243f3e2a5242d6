//! Verification keys, each bound to exactly one algorithm, and key sets selected by `kid`.
//!
//! A [`Key`] is prepared once, when it is built: the secret or public key is parsed into the
//! crypto backend's own form (aws-lc-rs), so that verifying a token does no key parsing.
//! Each key verifies exactly one [`Algorithm`] (RFC 8725 §3.1): a token's header can pick a
//! key by `kid`, but never the key type or the algorithm.
//!
//! ```
//! use tollgate::key::{Algorithm, Key, KeySet};
//!
//! let current = Key::hmac(Algorithm::HS256, b"0123456789abcdef0123456789abcdef")?.with_kid("2026-11");
//! let previous = Key::hmac(Algorithm::HS256, b"fedcba9876543210fedcba9876543210")?.with_kid("2026-10");
//! let keys = KeySet::new().add_key(current)?.add_key(previous)?;
//! assert_eq!(keys.len(), 2);
//! # Ok::<(), tollgate::ConfigError>(())
//! ```

mod algorithm;
#[cfg(feature = "jwks-remote")]
mod remote;

pub use algorithm::{Algorithm, UnknownAlgorithm};

#[cfg(feature = "jwks-remote")]
pub use remote::{JwksError, JwksErrorKind, RemoteJwks, RemoteJwksBuilder};

use std::{fmt, sync::Arc};

use aws_lc_rs::{hmac, signature as sig};
use jsonwebtoken::{
    DecodingKey, DecodingKeyKind,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyOperations, PublicKeyUse},
};

use crate::ConfigError;

/// A key that verifies signatures of exactly one algorithm.
///
/// See the [module docs](self) for an example.
#[derive(Clone)]
pub struct Key {
    kid: Option<Arc<str>>,
    algorithm: Algorithm,
    material: Material,
}

#[derive(Clone)]
enum Material {
    // aws-lc-rs's HMAC key holds its precomputed state inline (over a kilobyte): shared, a
    // `Key` stays small and cheap to clone.
    Hmac(Arc<hmac::Key>),
    Public(Arc<sig::ParsedPublicKey>),
}

impl Key {
    /// An HMAC key (`HS256`, `HS384` or `HS512`).
    ///
    /// # Errors
    ///
    /// [`ConfigError::WeakSecret`] when the secret is shorter than the hash output
    /// (RFC 7518 §3.2: 32 bytes for HS256, 48 for HS384, 64 for HS512), and
    /// [`ConfigError::InvalidKey`] when `algorithm` is not an HMAC algorithm.
    pub fn hmac(algorithm: Algorithm, secret: &[u8]) -> Result<Self, ConfigError> {
        let (hmac_algorithm, min) = match algorithm {
            Algorithm::HS256 => (hmac::HMAC_SHA256, 32),
            Algorithm::HS384 => (hmac::HMAC_SHA384, 48),
            Algorithm::HS512 => (hmac::HMAC_SHA512, 64),
            other => {
                return Err(invalid(None, format!("{other} is not an HMAC algorithm")));
            }
        };
        if secret.len() < min {
            return Err(ConfigError::WeakSecret {
                algorithm,
                len: secret.len(),
                min,
            });
        }
        Ok(Self::with_material(
            algorithm,
            Material::Hmac(Arc::new(hmac::Key::new(hmac_algorithm, secret))),
        ))
    }

    /// A public key from PEM (`-----BEGIN PUBLIC KEY-----`, `-----BEGIN RSA PUBLIC KEY-----`, or
    /// a certificate), for an RSA, ECDSA or EdDSA algorithm.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidKey`] when the PEM does not parse, holds a key of another type
    /// than `algorithm` needs, or `algorithm` is an HMAC algorithm (use [`Key::hmac`]).
    pub fn from_pem(algorithm: Algorithm, pem: &[u8]) -> Result<Self, ConfigError> {
        let decoded = match algorithm {
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => DecodingKey::from_rsa_pem(pem),
            Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_pem(pem),
            Algorithm::EdDSA => DecodingKey::from_ed_pem(pem),
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                return Err(invalid(None, "use Key::hmac for HMAC secrets".to_owned()));
            }
        }
        .map_err(|error| {
            invalid(
                None,
                format!("PEM does not hold a {algorithm} key: {error}"),
            )
        })?;
        Self::from_decoding_key(algorithm, &decoded, None)
    }

    /// A key from a JWK (RFC 7517), bound to the JWK's `alg`.
    ///
    /// Without `alg`, the algorithm follows from the key where that is unambiguous: `EC` P-256
    /// is ES256, P-384 is ES384, `OKP` Ed25519 is EdDSA. An `RSA` or `oct` JWK without `alg`
    /// needs [`Key::from_jwk_with_algorithm`]. The JWK's `kid` becomes the key's `kid`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidKey`] when the JWK is not a signature-verification key
    /// (`use` other than `sig`, `key_ops` without `verify`), its algorithm is missing and
    /// ambiguous, or its material does not fit its algorithm.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, ConfigError> {
        let kid = jwk.common.key_id.as_deref();
        let algorithm = match jwk.common.key_algorithm {
            Some(alg) => alg
                .to_string()
                .parse::<Algorithm>()
                .map_err(|_| invalid(kid, format!("{alg} is not a signature algorithm")))?,
            None => match &jwk.algorithm {
                AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
                    EllipticCurve::P256 => Algorithm::ES256,
                    EllipticCurve::P384 => Algorithm::ES384,
                    _ => return Err(invalid(kid, "unsupported curve".to_owned())),
                },
                AlgorithmParameters::OctetKeyPair(_) => Algorithm::EdDSA,
                _ => {
                    return Err(invalid(
                        kid,
                        "the JWK has no `alg`: name its algorithm with from_jwk_with_algorithm"
                            .to_owned(),
                    ));
                }
            },
        };
        Self::from_jwk_with_algorithm(jwk, algorithm)
    }

    /// A key from a JWK, bound to `algorithm`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidKey`] as for [`Key::from_jwk`], and when the JWK's own `alg`
    /// differs from `algorithm`.
    pub fn from_jwk_with_algorithm(jwk: &Jwk, algorithm: Algorithm) -> Result<Self, ConfigError> {
        let kid = jwk.common.key_id.as_deref();
        if let Some(alg) = jwk.common.key_algorithm
            && alg.to_string() != algorithm.as_str()
        {
            return Err(invalid(
                kid,
                format!("the JWK is for {alg}, not {algorithm}"),
            ));
        }
        if let Some(key_use) = &jwk.common.public_key_use
            && *key_use != PublicKeyUse::Signature
        {
            return Err(invalid(
                kid,
                "the JWK is not for signatures (`use`)".to_owned(),
            ));
        }
        if let Some(ops) = &jwk.common.key_operations
            && !ops.contains(&KeyOperations::Verify)
        {
            return Err(invalid(
                kid,
                "the JWK's `key_ops` do not include `verify`".to_owned(),
            ));
        }
        match (&jwk.algorithm, algorithm) {
            (
                AlgorithmParameters::OctetKey(_),
                Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512,
            ) => {}
            (
                AlgorithmParameters::RSA(_),
                Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512,
            ) => {}
            (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES256)
                if ec.curve == EllipticCurve::P256 => {}
            (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES384)
                if ec.curve == EllipticCurve::P384 => {}
            (AlgorithmParameters::OctetKeyPair(okp), Algorithm::EdDSA)
                if okp.curve == EllipticCurve::Ed25519 => {}
            _ => {
                return Err(invalid(
                    kid,
                    format!("the JWK's key type does not fit {algorithm}"),
                ));
            }
        }
        let decoded = DecodingKey::from_jwk(jwk)
            .map_err(|error| invalid(kid, format!("bad key material: {error}")))?;
        Self::from_decoding_key(algorithm, &decoded, kid)
    }

    fn from_decoding_key(
        algorithm: Algorithm,
        key: &DecodingKey,
        kid: Option<&str>,
    ) -> Result<Self, ConfigError> {
        let material = match (algorithm, key.kind()) {
            (
                Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512,
                DecodingKeyKind::SecretOrDer(secret),
            ) => {
                let mut key = Self::hmac(algorithm, secret)?;
                key.kid = kid.map(Arc::from);
                return Ok(key);
            }
            (_, DecodingKeyKind::SecretOrDer(bytes)) => public_key(algorithm, bytes, kid)?,
            (_, DecodingKeyKind::RsaModulusExponent { n, e }) => {
                use aws_lc_rs::encoding::AsDer;
                let der = aws_lc_rs::rsa::PublicKeyComponents {
                    n: n.as_slice(),
                    e: e.as_slice(),
                }
                .as_der()
                .map_err(|_| invalid(kid, "bad RSA modulus or exponent".to_owned()))?;
                public_key(algorithm, der.as_ref(), kid)?
            }
        };
        let mut key = Self::with_material(algorithm, material);
        key.kid = kid.map(Arc::from);
        Ok(key)
    }

    fn with_material(algorithm: Algorithm, material: Material) -> Self {
        Self {
            kid: None,
            algorithm,
            material,
        }
    }

    /// Give the key a `kid`: tokens whose header names this `kid` are verified by this key.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<Arc<str>>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The key's `kid`, if it has one.
    #[must_use]
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    pub(crate) fn kid_arc(&self) -> Option<Arc<str>> {
        self.kid.clone()
    }

    /// The one algorithm this key verifies.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Verify `signature` over `message`, in constant time for HMAC.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.material {
            Material::Hmac(key) => hmac::verify(key, message, signature).is_ok(),
            Material::Public(key) => key.verify_sig(message, signature).is_ok(),
        }
    }
}

fn public_key(
    algorithm: Algorithm,
    bytes: &[u8],
    kid: Option<&str>,
) -> Result<Material, ConfigError> {
    let verification: &'static dyn sig::VerificationAlgorithm = match algorithm {
        Algorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &sig::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &sig::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &sig::RSA_PSS_2048_8192_SHA512,
        Algorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED,
        Algorithm::ES384 => &sig::ECDSA_P384_SHA384_FIXED,
        Algorithm::EdDSA => &sig::ED25519,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            return Err(invalid(kid, "an HMAC algorithm needs a secret".to_owned()));
        }
    };
    if algorithm.is_rsa() {
        // RFC 7518 §3.3: RSA keys of at least 2048 bits. aws-lc-rs would refuse smaller ones
        // at verification time; refusing them here makes it a configuration error.
        let rsa = aws_lc_rs::rsa::PublicKey::from_der(bytes)
            .map_err(|error| invalid(kid, format!("not an RSA public key: {error}")))?;
        if rsa.modulus_len() < 256 {
            return Err(invalid(
                kid,
                format!(
                    "RSA key of {} bits, at least 2048 are required",
                    rsa.modulus_len() * 8
                ),
            ));
        }
    }
    let parsed = sig::ParsedPublicKey::new(verification, bytes)
        .map_err(|error| invalid(kid, format!("not a {algorithm} public key: {error}")))?;
    Ok(Material::Public(Arc::new(parsed)))
}

fn invalid(kid: Option<&str>, reason: String) -> ConfigError {
    ConfigError::InvalidKey {
        kid: kid.map(ToOwned::to_owned),
        reason,
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// The keys one issuer signs with, selected by the token's `kid`.
///
/// Key rotation is adding the new key next to the old one (each with its own `kid`), then
/// removing the old one once no live token names it. A token without a `kid` is tried against
/// the keys of its algorithm, in order.
///
/// See the [module docs](self) for an example.
#[derive(Clone, Default)]
pub struct KeySet {
    keys: Vec<Key>,
}

impl KeySet {
    /// An empty key set.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a key.
    ///
    /// # Errors
    ///
    /// [`ConfigError::DuplicateKid`] when a key with the same `kid` is already in the set.
    pub fn add_key(mut self, key: Key) -> Result<Self, ConfigError> {
        if let Some(kid) = key.kid()
            && self.keys.iter().any(|k| k.kid() == Some(kid))
        {
            return Err(ConfigError::DuplicateKid {
                kid: kid.to_owned(),
            });
        }
        self.keys.push(key);
        Ok(self)
    }

    /// A key set from a JWK Set document (RFC 7517 §5).
    ///
    /// Keys that are not for signature verification (`use: enc`, encryption algorithms,
    /// unsupported key types or curves) are skipped, as a JWKS commonly carries them; see
    /// [`Key::from_jwk`] for how each key's algorithm is found. RSA keys without `alg` are bound
    /// to `rsa_default` when given, and skipped otherwise.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidJwks`] when the document is not a JWK Set,
    /// [`ConfigError::DuplicateKid`] when two usable keys share a `kid`.
    pub fn from_jwks(json: &[u8], rsa_default: Option<Algorithm>) -> Result<Self, ConfigError> {
        let set: JwkSet =
            serde_json::from_slice(json).map_err(|error| ConfigError::InvalidJwks {
                reason: error.to_string(),
            })?;
        let mut keys = Self::new();
        for jwk in &set.keys {
            let key = match (&jwk.algorithm, jwk.common.key_algorithm, rsa_default) {
                (AlgorithmParameters::RSA(_), None, Some(alg)) => {
                    Key::from_jwk_with_algorithm(jwk, alg)
                }
                _ => Key::from_jwk(jwk),
            };
            match key {
                Ok(key) => keys = keys.add_key(key)?,
                Err(error) => {
                    tracing::debug!(target: "tollgate::keys", %error, "skipping a JWK that cannot verify signatures");
                }
            }
        }
        Ok(keys)
    }

    /// The number of keys.
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set has no key.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = &Key> {
        self.keys.iter()
    }

    /// The key named `kid`.
    #[must_use]
    pub fn get(&self, kid: &str) -> Option<&Key> {
        self.keys.iter().find(|key| key.kid() == Some(kid))
    }

    /// Whether some key verifies `algorithm`.
    #[must_use]
    pub fn supports(&self, algorithm: Algorithm) -> bool {
        self.keys.iter().any(|key| key.algorithm == algorithm)
    }
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.keys).finish()
    }
}

impl From<Key> for KeySet {
    fn from(key: Key) -> Self {
        Self { keys: vec![key] }
    }
}

/// Where an issuer's keys come from: a fixed [`KeySet`] (or one [`Key`]), or, with the
/// `jwks-remote` feature, a [`RemoteJwks`] fetched and refreshed over HTTP.
///
/// Built with `From`/`Into`: `TrustedIssuer::new("iss", key)` takes anything that converts.
#[derive(Clone, Debug)]
pub struct KeySource(SourceKind);

#[derive(Clone, Debug)]
pub(crate) enum SourceKind {
    Static(Arc<KeySet>),
    #[cfg(feature = "jwks-remote")]
    Remote(RemoteJwks),
}

impl KeySource {
    pub(crate) fn kind(&self) -> &SourceKind {
        &self.0
    }
}

impl From<KeySet> for KeySource {
    fn from(keys: KeySet) -> Self {
        Self(SourceKind::Static(Arc::new(keys)))
    }
}

impl From<Key> for KeySource {
    fn from(key: Key) -> Self {
        KeySet::from(key).into()
    }
}

#[cfg(feature = "jwks-remote")]
impl From<RemoteJwks> for KeySource {
    fn from(remote: RemoteJwks) -> Self {
        Self(SourceKind::Remote(remote))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_hmac_secrets_are_refused() {
        let error = Key::hmac(Algorithm::HS256, &[7; 31]).unwrap_err();
        assert!(matches!(
            error,
            ConfigError::WeakSecret {
                min: 32,
                len: 31,
                ..
            }
        ));
        assert!(Key::hmac(Algorithm::HS512, &[7; 63]).is_err());
        assert!(Key::hmac(Algorithm::HS512, &[7; 64]).is_ok());
        assert!(Key::hmac(Algorithm::RS256, &[7; 64]).is_err());
    }

    #[test]
    fn duplicate_kids_are_refused() {
        let key = Key::hmac(Algorithm::HS256, &[1; 32]).unwrap().with_kid("a");
        let set = KeySet::new().add_key(key.clone()).unwrap();
        assert!(matches!(
            set.add_key(key),
            Err(ConfigError::DuplicateKid { .. })
        ));
    }

    #[test]
    fn jwk_key_type_must_fit_the_algorithm() {
        let jwk: Jwk = serde_json::from_str(
            r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","alg":"RS256"}"#,
        )
        .unwrap();
        assert!(Key::from_jwk(&jwk).is_err());
        let jwk: Jwk = serde_json::from_str(
            r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#,
        )
        .unwrap();
        assert_eq!(Key::from_jwk(&jwk).unwrap().algorithm(), Algorithm::ES256);
    }

    #[test]
    fn encryption_keys_are_skipped_in_a_jwks() {
        let jwks = br#"{"keys":[
            {"kty":"EC","crv":"P-256","use":"enc","kid":"e","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
            {"kty":"EC","crv":"P-256","use":"sig","kid":"s","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}
        ]}"#;
        let set = KeySet::from_jwks(jwks, None).unwrap();
        assert_eq!(set.len(), 1);
        assert!(set.get("s").is_some());
        assert!(KeySet::from_jwks(b"{}", None).is_err());
    }
}
