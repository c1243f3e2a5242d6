//! [`KeySet`]: the keys one issuer signs with, selected by `kid`.

use std::fmt;

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, KeyAlgorithm};
use serde::Deserialize;

use super::{Key, algorithm::Algorithm};
use crate::error::ConfigError;

/// The keys one issuer signs with, selected by the token's `kid`.
///
/// Key rotation is adding the new key next to the old one (each with its own `kid`), then
/// removing the old one once no live token names it. A token without a `kid` is tried against
/// the keys of its algorithm, in order.
///
/// See the [module docs](super) for an example.
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
        let invalid = |error: serde_json::Error| ConfigError::InvalidJwks {
            reason: error.to_string(),
        };
        let set: JwkSet = serde_json::from_slice(json).map_err(invalid)?;
        // `Jwk` reads any `alg` it has no variant for (ES512 among them) as unknown: the
        // `alg` texts are read again here, to bind such keys to what they declare.
        let algs: AlgTexts = serde_json::from_slice(json).map_err(invalid)?;
        let mut keys = Self::new();
        for (jwk, declared) in set.keys.iter().zip(&algs.keys) {
            let key = match (&jwk.algorithm, jwk.common.key_algorithm, rsa_default) {
                (AlgorithmParameters::RSA(_), None, Some(alg)) => {
                    Key::from_jwk_with_algorithm(jwk, alg)
                }
                (_, Some(KeyAlgorithm::UNKNOWN_ALGORITHM), _)
                    if declared.alg.as_deref() == Some(Algorithm::ES512.as_str()) =>
                {
                    Key::from_jwk_with_algorithm(jwk, Algorithm::ES512)
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

    /// Keep only the keys for which `keep` returns `true`.
    #[cfg(feature = "jwks-remote")]
    pub(super) fn retain(&mut self, keep: impl FnMut(&Key) -> bool) {
        self.keys.retain(keep);
    }

    /// Whether some key verifies `algorithm`.
    #[must_use]
    pub fn supports(&self, algorithm: Algorithm) -> bool {
        self.keys.iter().any(|key| key.algorithm == algorithm)
    }
}

/// The `alg` text of each key of a JWK Set, in order.
#[derive(Deserialize)]
struct AlgTexts {
    keys: Vec<AlgText>,
}

#[derive(Deserialize)]
struct AlgText {
    alg: Option<String>,
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

#[cfg(test)]
mod tests {
    use super::*;

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

    /// jsonwebtoken reads every `alg` it has no name for as one unknown value: a P-521 key
    /// declared for ES512 is bound to ES512, one declared for anything else (key agreement
    /// for encryption, a made-up name) is skipped, never taken as a signature key.
    #[test]
    fn p521_keys_are_bound_to_the_alg_they_declare() {
        let p521 = |kid: &str, alg: &str| {
            format!(
                r#"{{"kty":"EC","crv":"P-521","kid":"{kid}",{alg}"x":"AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk","y":"ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2"}}"#
            )
        };
        let jwks = format!(
            r#"{{"keys":[{},{},{},{}]}}"#,
            p521("declared", r#""alg":"ES512","#),
            p521("implied", ""),
            p521("agreement", r#""alg":"ECDH-ES","#),
            p521("made-up", r#""alg":"ES512X","#),
        );
        let set = KeySet::from_jwks(jwks.as_bytes(), None).unwrap();
        let kids: Vec<_> = set.iter().map(|key| key.kid().unwrap()).collect();
        assert_eq!(kids, ["declared", "implied"]);
        assert!(set.iter().all(|key| key.algorithm() == Algorithm::ES512));

        // One JWK: `from_jwk` cannot tell ES512 from other unknown names, the caller can.
        let jwk: jsonwebtoken::jwk::Jwk =
            serde_json::from_str(&p521("declared", r#""alg":"ES512","#)).unwrap();
        assert!(Key::from_jwk(&jwk).is_err());
        let key = Key::from_jwk_with_algorithm(&jwk, Algorithm::ES512).unwrap();
        assert_eq!(key.algorithm(), Algorithm::ES512);
        assert!(Key::from_jwk_with_algorithm(&jwk, Algorithm::ES384).is_err());
    }
}
