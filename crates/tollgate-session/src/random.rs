//! Random identifiers: token and session ids.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

/// 128 random bits, base64url without padding (22 characters): token and session ids.
pub(crate) fn random_id() -> Result<String, aws_lc_rs::error::Unspecified> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}
