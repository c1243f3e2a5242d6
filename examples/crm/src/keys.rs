//! The signing key: an HS256 secret (given, or generated once and kept in the database), or
//! an RSA, P-256 or Ed25519 private key from a PEM file.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::ThumbprintHash;
use tollgate::key::Algorithm;
use tollgate_session::SigningKey;

use crate::{
    config::{MIN_SECRET_LEN, Signing, StartError},
    db::Db,
};

/// The settings row holding the generated HS256 secret.
const GENERATED_SECRET: &str = "jwt_hs256_secret";

/// Build the signing key `signing` describes.
///
/// # Errors
///
/// A [`StartError`] naming `--jwt-secret` or `--jwt-private-key`, or `--database-url` when the
/// generated secret cannot be read or kept.
pub async fn signing_key(signing: &Signing, db: &Db) -> Result<SigningKey, StartError> {
    match signing {
        Signing::Secret(secret) => hmac_key(secret, "--jwt-secret"),
        Signing::PrivateKey(path) => {
            let pem = tokio::fs::read(path).await.map_err(|error| {
                StartError::flag(
                    "--jwt-private-key",
                    format!("cannot read {}: {error}", path.display()),
                )
            })?;
            from_pem(&pem).map_err(|reason| {
                StartError::flag("--jwt-private-key", format!("{}: {reason}", path.display()))
            })
        }
        Signing::Generated => {
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
    }
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
