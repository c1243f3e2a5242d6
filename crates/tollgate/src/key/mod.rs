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

pub(crate) mod algorithm;
#[cfg(feature = "jwks-remote")]
pub(crate) mod remote;
pub(crate) mod set;
pub(crate) mod source;

pub use algorithm::{Algorithm, UnknownAlgorithm};
#[cfg(feature = "jwks-remote")]
pub use remote::{RemoteJwks, builder::RemoteJwksBuilder, error::JwksError, error::JwksErrorKind};
pub use set::KeySet;
pub use source::KeySource;

use std::{fmt, sync::Arc};

use aws_lc_rs::{hmac, signature as sig};
use jsonwebtoken::{
    DecodingKey, DecodingKeyKind,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse},
};

use crate::error::ConfigError;

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
            Algorithm::ES256 | Algorithm::ES384 | Algorithm::ES512 => DecodingKey::from_ec_pem(pem),
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
    /// is ES256, P-384 is ES384, P-521 is ES512, `OKP` Ed25519 is EdDSA. An `RSA` or `oct` JWK without `alg`
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
            Some(KeyAlgorithm::UNKNOWN_ALGORITHM) => {
                return Err(invalid(
                    kid,
                    "the JWK's `alg` is unknown to the JWK parser (for ES512, name it with from_jwk_with_algorithm)"
                        .to_owned(),
                ));
            }
            Some(alg) => alg
                .to_string()
                .parse::<Algorithm>()
                .map_err(|_| invalid(kid, format!("{alg} is not a signature algorithm")))?,
            None => match &jwk.algorithm {
                AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
                    EllipticCurve::P256 => Algorithm::ES256,
                    EllipticCurve::P384 => Algorithm::ES384,
                    EllipticCurve::P521 => Algorithm::ES512,
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
    /// `jsonwebtoken`'s [`Jwk`] has no name for `ES512`: it reads `"alg": "ES512"` as
    /// [`KeyAlgorithm::UNKNOWN_ALGORITHM`], which [`Key::from_jwk`] refuses. Name the
    /// algorithm here (`Algorithm::ES512`) for such a JWK; [`KeySet::from_jwks`] reads the
    /// `alg` text itself and does this for you.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidKey`] as for [`Key::from_jwk`], and when the JWK's own `alg`
    /// differs from `algorithm`.
    pub fn from_jwk_with_algorithm(jwk: &Jwk, algorithm: Algorithm) -> Result<Self, ConfigError> {
        let kid = jwk.common.key_id.as_deref();
        if let Some(alg) = jwk.common.key_algorithm
            && alg.to_string() != algorithm.as_str()
            && !(alg == KeyAlgorithm::UNKNOWN_ALGORITHM && algorithm == Algorithm::ES512)
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
            (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES512)
                if ec.curve == EllipticCurve::P521 => {}
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
        Algorithm::ES512 => &sig::ECDSA_P521_SHA512_FIXED,
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
}
