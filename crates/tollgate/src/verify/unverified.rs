//! [`Unverified`]: a token's header and claims, read without any check.

use std::fmt;

use serde_json::{Map, Value};

use super::{
    jws::{Compact, decode_segment_into},
    strict,
    verifier::DEFAULT_MAX_TOKEN_LEN,
};
use crate::{
    claims::StandardClaims,
    error::{AuthError, AuthErrorKind},
};

/// A token's header and claims, decoded **without verifying anything**: not the signature,
/// not the times, not the issuer.
///
/// For tools that show what a token says (a debugging command, a log of refused tokens) or
/// that look up what it names (its `jti`, `sid`, `sub`). Nothing read here may decide access:
/// that is [`Verifier::verify`](super::Verifier::verify).
///
/// The token is parsed as the [`Verifier`](super::Verifier) parses it: at most
/// [`DEFAULT_MAX_TOKEN_LEN`] bytes, three strict base64url segments, a header and a claims set
/// that are strict JSON objects; the claims tollgate knows must have their types.
///
/// ```
/// use tollgate::verify::Unverified;
///
/// // {"alg":"HS256"} . {"sub":"42","exp":1} . a signature nobody checks
/// let token = Unverified::decode("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiIsImV4cCI6MX0.c2ln")?;
/// assert_eq!(token.header()["alg"], "HS256");
/// assert_eq!(token.standard().sub.as_deref(), Some("42"));
/// assert!(Unverified::decode("not.a token").is_err());
/// # Ok::<(), tollgate::AuthError>(())
/// ```
#[derive(Clone)]
pub struct Unverified {
    header: Map<String, Value>,
    claims: Map<String, Value>,
    standard: StandardClaims,
}

impl Unverified {
    /// Decode `token`'s header and claims, checking nothing but their form.
    ///
    /// # Errors
    ///
    /// An [`AuthError`] of kind [`TooLarge`](AuthErrorKind::TooLarge) beyond
    /// [`DEFAULT_MAX_TOKEN_LEN`] bytes, [`Malformed`](AuthErrorKind::Malformed) when the token
    /// is not a compact JWS whose header and claims are strict JSON objects.
    pub fn decode(token: &str) -> Result<Self, AuthError> {
        if token.len() > DEFAULT_MAX_TOKEN_LEN {
            return Err(AuthErrorKind::TooLarge.into());
        }
        let compact = Compact::split(token)?;
        // Empty buffers: both segments are decoded onto the heap.
        let header = decode_segment_into(compact.header, &mut [])?;
        let payload = decode_segment_into(compact.payload, &mut [])?;
        Ok(Self {
            header: strict::from_slice(&header)?,
            claims: strict::from_slice(&payload)?,
            standard: strict::from_slice(&payload)?,
        })
    }

    /// The JOSE header, as it is.
    #[must_use]
    pub fn header(&self) -> &Map<String, Value> {
        &self.header
    }

    /// The claims set, as it is.
    #[must_use]
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// The claims tollgate knows, unverified.
    #[must_use]
    pub fn standard(&self) -> &StandardClaims {
        &self.standard
    }
}

impl fmt::Debug for Unverified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unverified")
            .field("header", &self.header)
            .field("claims", &self.claims)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_form_is_checked() {
        // {"alg":"none"} . {"sub":"7","iss":"x"} . no signature: decoded all the same.
        let token =
            Unverified::decode("eyJhbGciOiJub25lIn0.eyJzdWIiOiI3IiwiaXNzIjoieCJ9.").unwrap();
        assert_eq!(token.header()["alg"], "none");
        assert_eq!(token.claims()["iss"], "x");
        assert_eq!(token.standard().sub.as_deref(), Some("7"));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let kind = |token: &str| Unverified::decode(token).unwrap_err().kind();
        assert_eq!(kind(""), AuthErrorKind::Malformed);
        assert_eq!(kind("a.b"), AuthErrorKind::Malformed);
        // A header that is not an object: `[]`.
        assert_eq!(kind("W10.e30.c2ln"), AuthErrorKind::Malformed);
        // Claims with `exp` a string: {"exp":"1"}.
        assert_eq!(kind("e30.eyJleHAiOiIxIn0.c2ln"), AuthErrorKind::Malformed);
        assert_eq!(
            kind(&"a".repeat(DEFAULT_MAX_TOKEN_LEN + 1)),
            AuthErrorKind::TooLarge
        );
    }
}
