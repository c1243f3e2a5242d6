//! The `kid` the CRM gives its HS256 secret, so that this service finds the same key.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

/// The `kid` the CRM (`examples/crm`) writes into the header of tokens it signs with the
/// HS256 secret `secret`: `hs256-` and the first 12 characters of the unpadded base64url
/// SHA-256 of the secret. It names the secret without revealing it, so a service given the
/// same secret can expect the same `kid`.
#[must_use]
pub fn crm_hs256_kid(secret: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret);
    let mut kid = URL_SAFE_NO_PAD.encode(digest.as_ref());
    kid.truncate(12);
    format!("hs256-{kid}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crm_kid_is_a_prefix_of_the_secret_digest() {
        // SHA-256("abc") = ba7816bf 8f01cfea ..., base64url "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        assert_eq!(crm_hs256_kid(b"abc"), "hs256-ungWv48Bz-pB");
    }
}
