//! Signing and verification keys: one [`SigningKey`] signs, several [`VerificationKey`]s verify.

use std::{fmt, sync::Arc};

use aws_lc_rs::{
    encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der},
    rand::SystemRandom,
    rsa::KeySize,
    signature::{
        ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
        EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair, RsaKeyPair, RsaPublicKeyComponents,
    },
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{
    DecodingKey, EncodingKey, Header,
    jwk::{
        AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters,
        EllipticCurveKeyType, Jwk, KeyAlgorithm, OctetKeyPairParameters, OctetKeyPairType,
        PublicKeyUse, RSAKeyParameters, RSAKeyType,
    },
};
use serde::Serialize;
use tollgate::{ConfigError, key::Algorithm, key::Key};

use crate::issuer::{IssueError, IssueErrorKind};

/// The key an [`Issuer`](crate::Issuer) signs with: a private key (or HMAC secret), its `kid`
/// and its one algorithm.
///
/// The public half is derived when the key is built, so a key that cannot sign is refused
/// there, never at the first login. `Debug` never prints key material. Every algorithm of
/// [`Algorithm`] but `ES512` signs here: tollgate verifies ES512 tokens from other issuers,
/// and every constructor refuses an ES512 key with [`ConfigError::InvalidKey`].
///
/// See [Key rotation](#key-rotation) below for an example.
///
/// # Key rotation
///
/// Every key has a `kid`, which goes into the header of each token it signs; verifiers pick the
/// key by that `kid`. Key rotation is:
///
/// 1. publish the new key first: add it with [`Issuer::add_verification_key`] on every instance
///    (it appears in the JWKS document), and wait until the caches of the JWKS consumers have
///    expired;
/// 2. sign with the new key: make it the [`Issuer`]'s signing key, and keep the old one as a
///    verification key;
/// 3. once the last token signed by the old key has expired (the longest refresh lifetime),
///    remove it.
///
/// ```
/// use tollgate::key::Algorithm;
/// use tollgate_session::{Issuer, SigningKey, VerificationKey};
///
/// let previous = SigningKey::generate("2026-10", Algorithm::ES256)?;
/// let current = SigningKey::generate("2026-11", Algorithm::ES256)?;
/// let issuer = Issuer::new("https://auth.example", "crm-api", current)
///     .add_verification_key(previous.verification_key())?;
/// assert_eq!(issuer.jwks().keys.len(), 2);
/// # Ok::<(), tollgate::ConfigError>(())
/// ```
///
///
/// [`Issuer`]: crate::Issuer
/// [`Issuer::add_verification_key`]: crate::Issuer::add_verification_key
#[derive(Clone)]
pub struct SigningKey {
    encoding: EncodingKey,
    /// The algorithm as jsonwebtoken, which signs, names it.
    jwt_algorithm: jsonwebtoken::Algorithm,
    verification: VerificationKey,
}

impl SigningKey {
    /// An HMAC key (`HS256`, `HS384` or `HS512`) named `kid`.
    ///
    /// An HMAC key is never published in the JWKS document: whoever verifies must share the
    /// secret.
    ///
    /// # Errors
    ///
    /// [`ConfigError::WeakSecret`] when the secret is shorter than the hash output (32, 48 or
    /// 64 bytes), [`ConfigError::InvalidKey`] when `algorithm` is not HMAC, and
    /// [`ConfigError::Empty`] for an empty `kid`.
    pub fn hmac(
        kid: impl Into<Arc<str>>,
        algorithm: Algorithm,
        secret: &[u8],
    ) -> Result<Self, ConfigError> {
        let verification = VerificationKey::hmac(kid, algorithm, secret)?;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            jwt_algorithm: jwt_algorithm(verification.kid(), algorithm)?,
            verification,
        })
    }

    /// A private key from PEM, named `kid`: PKCS#8 (`-----BEGIN PRIVATE KEY-----`) for RSA,
    /// ECDSA (P-256, P-384) and Ed25519, or PKCS#1 (`-----BEGIN RSA PRIVATE KEY-----`) for RSA.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidKey`] when the PEM does not hold a private key of the kind
    /// `algorithm` needs (or `algorithm` is HMAC: use [`SigningKey::hmac`]), and
    /// [`ConfigError::Empty`] for an empty `kid`.
    pub fn from_pem(
        kid: impl Into<Arc<str>>,
        algorithm: Algorithm,
        pem: &[u8],
    ) -> Result<Self, ConfigError> {
        let kid = non_empty_kid(kid)?;
        jwt_algorithm(&kid, algorithm)?;
        let encoding = if algorithm.is_rsa() {
            EncodingKey::from_rsa_pem(pem)
        } else {
            match algorithm {
                Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(pem),
                Algorithm::EdDSA => EncodingKey::from_ed_pem(pem),
                _ => {
                    return Err(invalid(
                        &kid,
                        "use SigningKey::hmac for HMAC secrets".to_owned(),
                    ));
                }
            }
        }
        .map_err(|error| {
            invalid(
                &kid,
                format!("PEM does not hold a {algorithm} private key: {error}"),
            )
        })?;
        Self::from_encoding_key(kid, algorithm, encoding)
    }

    /// A new random key named `kid`: a secret of the hash's length for HMAC, a fresh key pair
    /// for `ES256`, `ES384` and `EdDSA`.
    ///
    /// The key lives only in memory: tokens it signs cannot be verified after a restart unless
    /// the application keeps the key. Meant for tests, examples and single-process setups.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidKey`] for RSA algorithms (generate the key outside, then use
    /// [`SigningKey::from_pem`]) or when the system's random source fails, and
    /// [`ConfigError::Empty`] for an empty `kid`.
    pub fn generate(kid: impl Into<Arc<str>>, algorithm: Algorithm) -> Result<Self, ConfigError> {
        let kid = non_empty_kid(kid)?;
        jwt_algorithm(&kid, algorithm)?;
        let rng = SystemRandom::new();
        let random_failed = |kid: &str| invalid(kid, "the random source failed".to_owned());
        match algorithm {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                let len = match algorithm {
                    Algorithm::HS256 => 32,
                    Algorithm::HS384 => 48,
                    _ => 64,
                };
                let mut secret = vec![0; len];
                aws_lc_rs::rand::fill(&mut secret).map_err(|_| random_failed(&kid))?;
                Self::hmac(kid, algorithm, &secret)
            }
            Algorithm::ES256 | Algorithm::ES384 => {
                let document = EcdsaKeyPair::generate_pkcs8(ecdsa_signing(algorithm), &rng)
                    .map_err(|_| random_failed(&kid))?;
                Self::from_encoding_key(kid, algorithm, EncodingKey::from_ec_der(document.as_ref()))
            }
            Algorithm::EdDSA => {
                let document =
                    Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| random_failed(&kid))?;
                Self::from_encoding_key(kid, algorithm, EncodingKey::from_ed_der(document.as_ref()))
            }
            _ => Err(invalid(
                &kid,
                format!("{algorithm} keys are not generated here: load one with from_pem"),
            )),
        }
    }

    /// A new random RSA key of `bits` bits (2048, 3072, 4096 or 8192) named `kid`, for `RS256`
    /// to `PS512`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidKey`] when `algorithm` is not an RSA algorithm, `bits` is not one
    /// of the sizes above, or the system's random source fails, and [`ConfigError::Empty`] for
    /// an empty `kid`.
    pub fn generate_rsa(
        kid: impl Into<Arc<str>>,
        algorithm: Algorithm,
        bits: usize,
    ) -> Result<Self, ConfigError> {
        let kid = non_empty_kid(kid)?;
        if !algorithm.is_rsa() {
            return Err(invalid(
                &kid,
                format!("{algorithm} is not an RSA algorithm"),
            ));
        }
        let size = match bits {
            2048 => KeySize::Rsa2048,
            3072 => KeySize::Rsa3072,
            4096 => KeySize::Rsa4096,
            8192 => KeySize::Rsa8192,
            _ => {
                return Err(invalid(
                    &kid,
                    format!("RSA keys of {bits} bits are not generated: 2048, 3072, 4096 or 8192"),
                ));
            }
        };
        let pair = RsaKeyPair::generate(size)
            .map_err(|_| invalid(&kid, "the random source failed".to_owned()))?;
        let pkcs8: Pkcs8V1Der<'static> = pair
            .as_der()
            .map_err(|_| invalid(&kid, "cannot encode the RSA key".to_owned()))?;
        let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8.as_ref()));
        Self::from_pem(kid, algorithm, pem.as_bytes())
    }

    /// The HMAC secret, to store the key; `None` for a private key.
    #[must_use]
    pub fn hmac_secret(&self) -> Option<&[u8]> {
        if self.algorithm().is_hmac() {
            Some(self.encoding.as_bytes())
        } else {
            None
        }
    }

    /// The private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), to store the key: what
    /// [`SigningKey::from_pem`] reads back.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidKey`] for an HMAC key (see [`SigningKey::hmac_secret`]).
    pub fn to_pkcs8_pem(&self) -> Result<String, ConfigError> {
        let der = self.encoding.as_bytes();
        let pkcs8 = match self.algorithm() {
            algorithm if algorithm.is_rsa() => {
                let pair = RsaKeyPair::from_der(der).map_err(|error| {
                    invalid(self.kid(), format!("not an RSA private key: {error}"))
                })?;
                let pkcs8: Pkcs8V1Der<'static> = pair
                    .as_der()
                    .map_err(|_| invalid(self.kid(), "cannot encode the RSA key".to_owned()))?;
                pkcs8.as_ref().to_vec()
            }
            // ECDSA and Ed25519 keys are held as PKCS#8 already.
            Algorithm::ES256 | Algorithm::ES384 | Algorithm::EdDSA => der.to_vec(),
            _ => {
                return Err(invalid(
                    self.kid(),
                    "an HMAC key has no PEM form: store its secret".to_owned(),
                ));
            }
        };
        Ok(pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8)))
    }

    /// The public key as PEM (`-----BEGIN PUBLIC KEY-----`, SubjectPublicKeyInfo): what
    /// [`VerificationKey::from_public_pem`] reads.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidKey`] for an HMAC key, which has no public half.
    pub fn public_key_pem(&self) -> Result<String, ConfigError> {
        let der = self.encoding.as_bytes();
        let kid = self.kid();
        let spki: Result<PublicKeyX509Der<'static>, _> = match self.algorithm() {
            algorithm if algorithm.is_rsa() => RsaKeyPair::from_der(der)
                .map_err(|error| invalid(kid, format!("not an RSA private key: {error}")))?
                .public_key()
                .as_der(),
            Algorithm::ES256 | Algorithm::ES384 => {
                EcdsaKeyPair::from_pkcs8(ecdsa_signing(self.algorithm()), der)
                    .map_err(|error| invalid(kid, format!("not an ECDSA private key: {error}")))?
                    .public_key()
                    .as_der()
            }
            Algorithm::EdDSA => Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                .map_err(|error| invalid(kid, format!("not an Ed25519 private key: {error}")))?
                .public_key()
                .as_der(),
            _ => {
                return Err(invalid(kid, "an HMAC key has no public half".to_owned()));
            }
        };
        let spki = spki.map_err(|_| invalid(kid, "cannot encode the public key".to_owned()))?;
        Ok(pem::encode(&pem::Pem::new("PUBLIC KEY", spki.as_ref())))
    }

    /// Sign `claims` as a compact JWS: the header names this key's algorithm and `kid`, and
    /// `typ` when given (for example `at+jwt`). Nothing is added to the claims: an
    /// [`Issuer`](crate::Issuer) sets the registered claims of the tokens it mints; this is for
    /// tokens made by hand (tests, tools).
    ///
    /// # Errors
    ///
    /// [`IssueErrorKind::InvalidClaims`] when `claims` does not serialize to a JSON object,
    /// [`IssueErrorKind::Signing`] when signing fails.
    pub fn sign(&self, typ: Option<&str>, claims: &impl Serialize) -> Result<String, IssueError> {
        let claims = match serde_json::to_value(claims) {
            Ok(claims @ serde_json::Value::Object(_)) => claims,
            Ok(_) => {
                return Err(IssueError::new(
                    IssueErrorKind::InvalidClaims,
                    "the claims do not serialize to a JSON object",
                ));
            }
            Err(error) => return Err(IssueError::new(IssueErrorKind::InvalidClaims, error)),
        };
        let mut header = Header::new(self.jwt_algorithm);
        header.kid = Some(self.kid().to_owned());
        header.typ = typ.map(ToOwned::to_owned);
        jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|error| IssueError::new(IssueErrorKind::Signing, error))
    }

    /// Derive the public JWK from the private key, which also proves the key can sign.
    fn from_encoding_key(
        kid: Arc<str>,
        algorithm: Algorithm,
        encoding: EncodingKey,
    ) -> Result<Self, ConfigError> {
        let der = encoding.as_bytes();
        let parameters = if algorithm.is_rsa() {
            let pair = RsaKeyPair::from_der(der)
                .map_err(|error| invalid(&kid, format!("not an RSA private key: {error}")))?;
            let components = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
            AlgorithmParameters::RSA(RSAKeyParameters {
                key_type: RSAKeyType::RSA,
                n: URL_SAFE_NO_PAD.encode(&components.n),
                e: URL_SAFE_NO_PAD.encode(&components.e),
            })
        } else if algorithm == Algorithm::EdDSA {
            let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                .map_err(|error| invalid(&kid, format!("not an Ed25519 private key: {error}")))?;
            AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                key_type: OctetKeyPairType::OctetKeyPair,
                curve: EllipticCurve::Ed25519,
                x: URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
            })
        } else {
            let pair =
                EcdsaKeyPair::from_pkcs8(ecdsa_signing(algorithm), der).map_err(|error| {
                    invalid(&kid, format!("not a {algorithm} private key: {error}"))
                })?;
            // An uncompressed point: 0x04 || x || y.
            let point = pair.public_key().as_ref();
            let coordinate = (point.len().saturating_sub(1)) / 2;
            if point.first() != Some(&4) || coordinate == 0 {
                return Err(invalid(
                    &kid,
                    "unexpected EC public key encoding".to_owned(),
                ));
            }
            let (x, y) = point[1..].split_at(coordinate);
            AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
                key_type: EllipticCurveKeyType::EC,
                curve: if algorithm == Algorithm::ES256 {
                    EllipticCurve::P256
                } else {
                    EllipticCurve::P384
                },
                x: URL_SAFE_NO_PAD.encode(x),
                y: URL_SAFE_NO_PAD.encode(y),
            })
        };
        let jwk = public_jwk(&kid, algorithm, parameters)?;
        let verification = VerificationKey::from_jwk(&jwk)?;
        Ok(Self {
            encoding,
            jwt_algorithm: jwt_algorithm(&kid, algorithm)?,
            verification,
        })
    }

    /// The key's `kid`.
    #[must_use]
    pub fn kid(&self) -> &str {
        self.verification.kid()
    }

    /// The one algorithm this key signs with.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.verification.algorithm()
    }

    /// The key that verifies what this key signs (the public half, or the same HMAC secret).
    ///
    /// Keep it as a verification key after rotating to a new signing key.
    #[must_use]
    pub fn verification_key(&self) -> VerificationKey {
        self.verification.clone()
    }

    pub(crate) fn encoding_key(&self) -> &EncodingKey {
        &self.encoding
    }

    /// The algorithm as jsonwebtoken names it, for the headers this key signs.
    pub(crate) fn jwt_algorithm(&self) -> jsonwebtoken::Algorithm {
        self.jwt_algorithm
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        f.debug_struct("SigningKey")
            .field("kid", &self.kid())
            .field("algorithm", &self.algorithm())
            .finish_non_exhaustive()
    }
}

/// A key that verifies tokens: the public key of a (current or retired) signing key, or an
/// HMAC secret. Public keys are published in the JWKS document; HMAC secrets never are.
///
/// See [Key rotation](#key-rotation) below for an example.
#[derive(Clone)]
pub struct VerificationKey {
    key: Key,
    jwk: Option<Arc<Jwk>>,
}

impl VerificationKey {
    /// An HMAC secret named `kid`.
    ///
    /// # Errors
    ///
    /// As [`SigningKey::hmac`].
    pub fn hmac(
        kid: impl Into<Arc<str>>,
        algorithm: Algorithm,
        secret: &[u8],
    ) -> Result<Self, ConfigError> {
        let kid = non_empty_kid(kid)?;
        Ok(Self {
            key: Key::hmac(algorithm, secret)?.with_kid(kid),
            jwk: None,
        })
    }

    /// A public key from a JWK, which must name its `kid`. Its algorithm is the JWK's `alg`
    /// (or follows from an EC or OKP key's curve).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Empty`] when the JWK has no `kid`, [`ConfigError::InvalidKey`] when it
    /// holds a private or symmetric key, or as [`Key::from_jwk`].
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, ConfigError> {
        let kid = non_empty_kid(jwk.common.key_id.clone().unwrap_or_default())?;
        if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
            return Err(invalid(
                &kid,
                "a symmetric JWK is never published: use VerificationKey::hmac".to_owned(),
            ));
        }
        let key = Key::from_jwk(jwk)?;
        // Publish only the public members, with `alg` and `use` filled in.
        let jwk = public_jwk(&kid, key.algorithm(), jwk.algorithm.clone())?;
        Ok(Self {
            key,
            jwk: Some(Arc::new(jwk)),
        })
    }

    /// A public key from PEM (`-----BEGIN PUBLIC KEY-----`, or `RSA PUBLIC KEY`), named `kid`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidKey`] when the PEM does not hold a public key of the kind
    /// `algorithm` needs, [`ConfigError::Empty`] for an empty `kid`.
    pub fn from_public_pem(
        kid: impl Into<Arc<str>>,
        algorithm: Algorithm,
        pem: &[u8],
    ) -> Result<Self, ConfigError> {
        let kid = non_empty_kid(kid)?;
        jwt_algorithm(&kid, algorithm)?;
        let decoding = if algorithm.is_rsa() {
            DecodingKey::from_rsa_pem(pem)
        } else {
            match algorithm {
                Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_pem(pem),
                Algorithm::EdDSA => DecodingKey::from_ed_pem(pem),
                _ => {
                    return Err(invalid(
                        &kid,
                        "use VerificationKey::hmac for HMAC secrets".to_owned(),
                    ));
                }
            }
        }
        .map_err(|error| {
            invalid(
                &kid,
                format!("PEM does not hold a {algorithm} public key: {error}"),
            )
        })?;
        let mut jwk = Jwk::from_decoding_key(&decoding, algorithm.to_jsonwebtoken())
            .map_err(|error| invalid(&kid, format!("cannot describe the key as a JWK: {error}")))?;
        jwk.common.key_id = Some(kid.to_string());
        Self::from_jwk(&jwk)
    }

    /// The key's `kid`.
    #[must_use]
    pub fn kid(&self) -> &str {
        // Every constructor sets a non-empty kid.
        self.key.kid().unwrap_or_default()
    }

    /// The one algorithm this key verifies.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.key.algorithm()
    }

    /// The public JWK, for the JWKS document; `None` for an HMAC secret.
    #[must_use]
    pub fn jwk(&self) -> Option<&Jwk> {
        self.jwk.as_deref()
    }

    /// The prepared tollgate verification key.
    #[must_use]
    pub fn key(&self) -> &Key {
        &self.key
    }
}

impl fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerificationKey")
            .field("kid", &self.kid())
            .field("algorithm", &self.algorithm())
            .field("published", &self.jwk.is_some())
            .finish()
    }
}

/// The algorithm as jsonwebtoken (which signs and writes the JWKS here) names it: every
/// algorithm but ES512, which tollgate verifies and jsonwebtoken does not implement.
fn jwt_algorithm(kid: &str, algorithm: Algorithm) -> Result<jsonwebtoken::Algorithm, ConfigError> {
    algorithm.to_jsonwebtoken().ok_or_else(|| {
        invalid(
            kid,
            format!("{algorithm} keys are verified by tollgate, but not signed or published here"),
        )
    })
}

fn ecdsa_signing(algorithm: Algorithm) -> &'static EcdsaSigningAlgorithm {
    if algorithm == Algorithm::ES384 {
        &ECDSA_P384_SHA384_FIXED_SIGNING
    } else {
        &ECDSA_P256_SHA256_FIXED_SIGNING
    }
}

fn public_jwk(
    kid: &str,
    algorithm: Algorithm,
    parameters: AlgorithmParameters,
) -> Result<Jwk, ConfigError> {
    let key_algorithm = KeyAlgorithm::from(jwt_algorithm(kid, algorithm)?);
    let parameters = match parameters {
        // Keep only the public members of a key that may have come with more.
        AlgorithmParameters::OctetKey(_) => {
            return Err(invalid(
                kid,
                "a symmetric key is never published".to_owned(),
            ));
        }
        other => other,
    };
    Ok(Jwk {
        common: CommonParameters {
            public_key_use: Some(PublicKeyUse::Signature),
            key_algorithm: Some(key_algorithm),
            key_id: Some(kid.to_owned()),
            ..CommonParameters::default()
        },
        algorithm: parameters,
    })
}

fn non_empty_kid(kid: impl Into<Arc<str>>) -> Result<Arc<str>, ConfigError> {
    let kid = kid.into();
    if kid.is_empty() {
        return Err(ConfigError::Empty { setting: "kid" });
    }
    Ok(kid)
}

fn invalid(kid: &str, reason: String) -> ConfigError {
    ConfigError::InvalidKey {
        kid: Some(kid.to_owned()),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_publish_their_public_half() {
        for algorithm in [Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA] {
            let key = SigningKey::generate("k", algorithm).unwrap();
            let jwk = key.verification_key().jwk().cloned().unwrap();
            assert_eq!(jwk.common.key_id.as_deref(), Some("k"));
            assert_eq!(jwk.common.public_key_use, Some(PublicKeyUse::Signature));
            let json = serde_json::to_string(&jwk).unwrap();
            assert!(!json.contains("\"d\""), "no private member: {json}");
        }
        let hmac = SigningKey::generate("h", Algorithm::HS512).unwrap();
        assert!(hmac.verification_key().jwk().is_none());
        assert!(SigningKey::generate("r", Algorithm::RS256).is_err());
        assert!(SigningKey::generate("", Algorithm::ES256).is_err());
    }

    #[test]
    fn stored_keys_read_back_and_sign_alike() {
        let rsa = SigningKey::generate_rsa("r", Algorithm::PS256, 2048).unwrap();
        assert!(SigningKey::generate_rsa("r", Algorithm::ES256, 2048).is_err());
        assert!(SigningKey::generate_rsa("r", Algorithm::RS256, 1024).is_err());
        let generated = [
            rsa,
            SigningKey::generate("e", Algorithm::ES384).unwrap(),
            SigningKey::generate("d", Algorithm::EdDSA).unwrap(),
        ];
        for key in generated {
            let private = key.to_pkcs8_pem().unwrap();
            assert!(private.starts_with("-----BEGIN PRIVATE KEY-----"));
            assert!(key.hmac_secret().is_none());
            let again =
                SigningKey::from_pem(key.kid(), key.algorithm(), private.as_bytes()).unwrap();
            assert_eq!(again.verification_key().jwk(), key.verification_key().jwk());
            let public = VerificationKey::from_public_pem(
                key.kid(),
                key.algorithm(),
                key.public_key_pem().unwrap().as_bytes(),
            )
            .unwrap();
            assert_eq!(public.jwk(), key.verification_key().jwk());

            let token = again
                .sign(Some("at+jwt"), &serde_json::json!({"sub": "42"}))
                .unwrap();
            let header = jsonwebtoken::decode_header(&token).unwrap();
            assert_eq!(header.kid.as_deref(), Some(key.kid()));
            assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        }
        let hmac = SigningKey::generate("h", Algorithm::HS384).unwrap();
        assert_eq!(hmac.hmac_secret().map(<[u8]>::len), Some(48));
        assert!(hmac.to_pkcs8_pem().is_err());
        assert!(hmac.public_key_pem().is_err());
        let error = hmac.sign(None, &"not an object").unwrap_err();
        assert_eq!(error.kind(), IssueErrorKind::InvalidClaims);
    }

    #[test]
    fn weak_or_misfiled_keys_are_refused() {
        assert!(matches!(
            SigningKey::hmac("k", Algorithm::HS256, &[1; 16]),
            Err(ConfigError::WeakSecret { .. })
        ));
        assert!(SigningKey::from_pem("k", Algorithm::ES256, b"not a pem").is_err());
        assert!(SigningKey::from_pem("k", Algorithm::HS256, b"").is_err());
    }

    /// ES512 is verified by tollgate, but jsonwebtoken, which signs here, has no ES512: every
    /// constructor says so, rather than failing later or naming another cause.
    #[test]
    fn es512_keys_are_refused_by_name() {
        let expected = "invalid key `k`: ES512 keys are verified by tollgate, but not signed or published here";
        let errors = [
            SigningKey::generate("k", Algorithm::ES512).unwrap_err(),
            SigningKey::from_pem("k", Algorithm::ES512, b"").unwrap_err(),
            VerificationKey::from_public_pem("k", Algorithm::ES512, b"").unwrap_err(),
        ];
        for error in errors {
            assert_eq!(error.to_string(), expected);
        }
    }

    #[test]
    fn debug_never_prints_material() {
        let key = SigningKey::hmac("k", Algorithm::HS256, &[7; 32]).unwrap();
        let debug = format!("{key:?}");
        assert!(debug.contains("HS256") && !debug.contains("[7"));
    }
}
