//! The signing key: an HS256 secret (given, or generated once and kept in the database), or
//! an RSA, P-256 or Ed25519 private key from a PEM file.

use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use jsonwebtoken::jwk::ThumbprintHash;
use tollgate::key::Algorithm;
use tollgate_session::SigningKey;

use crate::{
    config::{MIN_SECRET_LEN, Signing, StartError},
    db::Db,
};

/// The settings row holding the generated HS256 secret.
const GENERATED_SECRET: &str = "jwt_hs256_secret";

/// The shortest RSA key accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;

/// The signing key a flag gives (`--jwt-secret`, `--jwt-private-key`), read before the
/// database is opened; `None` for the generated secret, which lives in the database (see
/// [`generated_key`]).
///
/// # Errors
///
/// A [`StartError`] naming `--jwt-secret` or `--jwt-private-key`.
pub async fn given_key(signing: &Signing) -> Result<Option<SigningKey>, StartError> {
    match signing {
        Signing::Secret(secret) => hmac_key(secret, "--jwt-secret").map(Some),
        Signing::PrivateKey(path) => {
            let pem = tokio::fs::read(path).await.map_err(|error| {
                StartError::flag(
                    "--jwt-private-key",
                    format!("cannot read {}: {error}", path.display()),
                )
            })?;
            from_pem(&pem).map(Some).map_err(|reason| {
                StartError::flag("--jwt-private-key", format!("{}: {reason}", path.display()))
            })
        }
        Signing::Generated => Ok(None),
    }
}

/// The HS256 key of the random secret kept in the database, generated at the first start.
///
/// # Errors
///
/// A [`StartError`] naming `--database-url` when the generated secret cannot be read or kept.
pub async fn generated_key(db: &Db) -> Result<SigningKey, StartError> {
    let mut secret = [0u8; MIN_SECRET_LEN];
    aws_lc_rs::rand::fill(&mut secret)
        .map_err(|_| StartError::other("the system's random source failed"))?;
    let stored = db
        .setting_or_insert(GENERATED_SECRET, &URL_SAFE_NO_PAD.encode(secret))
        .await
        .map_err(|error| {
            StartError::flag(
                "--database-url",
                format!("cannot keep the generated signing secret: {error}"),
            )
        })?;
    let secret = URL_SAFE_NO_PAD.decode(stored.trim()).map_err(|_| {
        StartError::flag(
            "--database-url",
            "the stored signing secret (crm_settings.jwt_hs256_secret) is not base64url",
        )
    })?;
    hmac_key(&secret, "--database-url")
}

fn hmac_key(secret: &[u8], flag: &'static str) -> Result<SigningKey, StartError> {
    // The kid names the secret without revealing it: a prefix of its SHA-256.
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret);
    let kid = format!("hs256-{}", &URL_SAFE_NO_PAD.encode(digest.as_ref())[..12]);
    SigningKey::hmac(kid, Algorithm::HS256, secret)
        .map_err(|error| StartError::flag(flag, error.to_string()))
}

/// A signing key from a PEM private key: RSA (RS256), P-256 (ES256) or Ed25519 (EdDSA). The
/// `kid` is the key's RFC 7638 thumbprint.
fn from_pem(pem: &[u8]) -> Result<SigningKey, String> {
    if let Some(bits) = rsa_key_bits(pem)
        && bits < MIN_RSA_BITS
    {
        return Err(format!(
            "the RSA key is {bits} bits long, at least {MIN_RSA_BITS} are required"
        ));
    }
    let mut reasons = Vec::new();
    for algorithm in [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA] {
        match SigningKey::from_pem("pending", algorithm, pem) {
            Ok(key) => {
                let thumbprint = key
                    .verification_key()
                    .jwk()
                    .and_then(|jwk| jwk.thumbprint(ThumbprintHash::SHA256).ok())
                    .ok_or_else(|| "cannot compute the key's thumbprint".to_owned())?;
                return SigningKey::from_pem(thumbprint, algorithm, pem)
                    .map_err(|error| error.to_string());
            }
            Err(error) => reasons.push(format!("{algorithm}: {error}")),
        }
    }
    tracing::debug!(reasons = ?reasons, "private key not recognized");
    Err("not an RSA, P-256 or Ed25519 private key in PEM".to_owned())
}

/// The size in bits of the RSA private key in `pem`: PKCS#1 (`RSA PRIVATE KEY`) or PKCS#8
/// (`PRIVATE KEY` with the `rsaEncryption` algorithm). `None` for anything else.
fn rsa_key_bits(pem: &[u8]) -> Option<usize> {
    /// The DER of the `rsaEncryption` OID, 1.2.840.113549.1.1.1.
    const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    let text = std::str::from_utf8(pem).ok()?;
    let (label, body) = pem_block(text)?;
    let pkcs1 = match label {
        "RSA PRIVATE KEY" => body,
        "PRIVATE KEY" => {
            // PrivateKeyInfo ::= SEQUENCE { version, AlgorithmIdentifier, privateKey OCTET STRING }
            let (info, _) = der::expect(&body, der::SEQUENCE)?;
            let (_version, info) = der::expect(info, der::INTEGER)?;
            let (algorithm, info) = der::expect(info, der::SEQUENCE)?;
            let (oid, _) = der::expect(algorithm, der::OID)?;
            if oid != RSA_ENCRYPTION {
                return None;
            }
            der::expect(info, der::OCTET_STRING)?.0.to_vec()
        }
        _ => return None,
    };
    // RSAPrivateKey ::= SEQUENCE { version INTEGER, modulus INTEGER, ... }
    let (key, _) = der::expect(&pkcs1, der::SEQUENCE)?;
    let (_version, key) = der::expect(key, der::INTEGER)?;
    let (modulus, _) = der::expect(key, der::INTEGER)?;
    let position = modulus.iter().position(|&byte| byte != 0)?;
    let significant = &modulus[position..];
    let leading = usize::try_from(significant[0].leading_zeros()).ok()?;
    Some(significant.len() * 8 - leading)
}

/// The label and the decoded body of the first PEM block of `text`.
fn pem_block(text: &str) -> Option<(&str, Vec<u8>)> {
    let start = text.find("-----BEGIN ")?;
    let rest = &text[start + "-----BEGIN ".len()..];
    let (label, rest) = rest.split_once("-----")?;
    let (body, _) = rest.split_once(&format!("-----END {label}-----"))?;
    let body: String = body.split_whitespace().collect();
    Some((label, STANDARD.decode(body).ok()?))
}

/// Just enough DER to find an RSA key's modulus.
mod der {
    pub(super) const INTEGER: u8 = 0x02;
    pub(super) const OCTET_STRING: u8 = 0x04;
    pub(super) const OID: u8 = 0x06;
    pub(super) const SEQUENCE: u8 = 0x30;

    /// The content of the element at the start of `input` if its tag is `tag`, and what
    /// follows it.
    pub(super) fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
        let (&found, rest) = input.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (length, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 || rest.len() < count {
                return None;
            }
            let (bytes, rest) = rest.split_at(count);
            let length = bytes
                .iter()
                .fold(0usize, |length, &byte| (length << 8) | usize::from(byte));
            (length, rest)
        };
        if found != tag || rest.len() < length {
            return None;
        }
        Some(rest.split_at(length))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(path).unwrap()
    }

    #[test]
    fn rsa_key_sizes_are_read_from_pkcs1_and_pkcs8() {
        assert_eq!(rsa_key_bits(&fixture("rsa2048.pem")), Some(2048));
        assert_eq!(rsa_key_bits(&fixture("rsa1024.pem")), Some(1024));
        assert_eq!(rsa_key_bits(&fixture("rsa1024-pkcs8.pem")), Some(1024));
        assert_eq!(rsa_key_bits(&fixture("p256.pem")), None);
        assert_eq!(rsa_key_bits(&fixture("ed25519.pem")), None);
        assert_eq!(rsa_key_bits(b"not a key"), None);
    }

    #[test]
    fn a_short_rsa_key_is_refused_with_its_size() {
        let Err(reason) = from_pem(&fixture("rsa1024.pem")) else {
            panic!("a 1024-bit key was accepted");
        };
        assert_eq!(
            reason,
            "the RSA key is 1024 bits long, at least 2048 are required"
        );
        assert!(from_pem(&fixture("rsa2048.pem")).is_ok());
    }
}
