//! Claim validation: once the signature is verified, the header `typ`, then `token_type`,
//! `exp`, `nbf`, `iat`, `iss`, `aud` and the required claims.

use std::collections::BTreeMap;

use super::{issuer::TrustedIssuer, jws::typ_matches};
use crate::{
    claims::{ClaimMapping, StandardClaims},
    error::AuthErrorKind,
};

/// The checks on a verified token's claims, with the settings a
/// [`Verifier`](super::Verifier) was built with.
#[derive(Clone, Debug)]
pub(super) struct Validation {
    /// Clock-skew allowance for `exp`, `nbf` and `iat`, in seconds.
    pub(super) leeway: i64,
    pub(super) require_exp: bool,
    /// The oldest a token may be, from its `iat`, in seconds; `iat` is required when set.
    pub(super) max_age: Option<i64>,
    /// The header `typ` required, normalized.
    pub(super) typ: Option<Box<str>>,
    /// The `token_type` claim required.
    pub(super) token_type: Option<Box<str>>,
    /// Claims that must be present.
    pub(super) required: Vec<Box<str>>,
}

impl Validation {
    /// `exp` required, no leeway, any `typ` and `token_type`, no other required claim.
    pub(super) fn new() -> Self {
        Self {
            leeway: 0,
            require_exp: true,
            max_age: None,
            typ: None,
            token_type: None,
            required: Vec::new(),
        }
    }

    /// Every check but the required claims: the header `typ` (`header_typ`), `token_type`,
    /// the times, and `iss` and `aud` against `issuer`.
    pub(super) fn validate(
        &self,
        header_typ: Option<&str>,
        claims: &StandardClaims,
        issuer: &TrustedIssuer,
        now: i64,
    ) -> Result<(), AuthErrorKind> {
        if let Some(expected) = self.typ.as_deref()
            && !header_typ.is_some_and(|typ| typ_matches(typ, expected))
        {
            return Err(AuthErrorKind::InvalidType);
        }
        if let Some(expected) = self.token_type.as_deref()
            && claims.token_type.as_deref() != Some(expected)
        {
            return Err(AuthErrorKind::InvalidType);
        }
        self.validate_times(claims, now)?;
        if let Some(name) = issuer.name()
            && claims.iss.as_deref() != Some(name)
        {
            return Err(AuthErrorKind::InvalidIssuer);
        }
        let audiences = issuer.audiences();
        let audience_ok = if audiences.is_empty() {
            // RFC 7519 §4.1.3: an `aud` that names no one we know is refused, unless the
            // issuer's every audience is trusted explicitly.
            claims.aud.is_empty() || issuer.accepts_any_audience()
        } else {
            audiences
                .iter()
                .any(|audience| claims.aud.contains(audience))
        };
        if !audience_ok {
            return Err(AuthErrorKind::InvalidAudience);
        }
        Ok(())
    }

    /// The checks that depend on the time: `exp`, `nbf`, `iat` (not in the future, and not
    /// older than the maximum age).
    pub(super) fn validate_times(
        &self,
        claims: &StandardClaims,
        now: i64,
    ) -> Result<(), AuthErrorKind> {
        let leeway = self.leeway;
        match claims.exp {
            Some(exp) if now.saturating_sub(leeway) >= exp => return Err(AuthErrorKind::Expired),
            None if self.require_exp => return Err(AuthErrorKind::MissingClaim),
            _ => {}
        }
        if claims
            .nbf
            .is_some_and(|nbf| now.saturating_add(leeway) < nbf)
        {
            return Err(AuthErrorKind::NotYetValid);
        }
        if claims
            .iat
            .is_some_and(|iat| iat > now.saturating_add(leeway))
        {
            return Err(AuthErrorKind::IssuedInFuture);
        }
        if let Some(max_age) = self.max_age {
            match claims.iat {
                None => return Err(AuthErrorKind::MissingClaim),
                Some(iat) if now.saturating_sub(iat) > max_age.saturating_add(leeway) => {
                    return Err(AuthErrorKind::TooOld);
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// The required claims: each present in `claims`, or (for a claim [`StandardClaims`]
    /// does not hold under that name through `mapping`) in the JSON `payload`, with any value
    /// but `null`.
    pub(super) fn check_required(
        &self,
        claims: &StandardClaims,
        payload: &[u8],
        mapping: &ClaimMapping,
    ) -> Result<(), AuthErrorKind> {
        let mut generic: Option<BTreeMap<String, serde_json::Value>> = None;
        for name in &self.required {
            let name = &**name;
            let known = match name {
                "iss" => Some(claims.iss.is_some()),
                "sub" => Some(claims.sub.is_some()),
                "aud" => Some(!claims.aud.is_empty()),
                "exp" => Some(claims.exp.is_some()),
                "nbf" => Some(claims.nbf.is_some()),
                "iat" => Some(claims.iat.is_some()),
                "jti" => Some(claims.jti.is_some()),
                "sid" => Some(claims.sid.is_some()),
                "org" => Some(claims.org.is_some()),
                "ver" => Some(claims.ver.is_some()),
                "token_type" => Some(claims.token_type.is_some()),
                "scope" => Some(claims.scope.is_some()),
                _ => None,
            };
            // A standard claim the mapping reads from elsewhere is looked up by its name.
            let mapped = matches!(name, "sub" | "aud" | "org" | "token_type" | "ver" | "scope");
            let present = match known {
                Some(present) if !mapped || mapping.reads_own_name(name) => present,
                _ => {
                    if generic.is_none() {
                        generic = Some(
                            serde_json::from_slice(payload)
                                .map_err(|_| AuthErrorKind::Malformed)?,
                        );
                    }
                    generic
                        .as_ref()
                        .and_then(|map| map.get(name))
                        .is_some_and(|value| !value.is_null())
                }
            };
            if !present {
                return Err(AuthErrorKind::MissingClaim);
            }
        }
        Ok(())
    }
}
