//! Claims: the ready [`StandardClaims`] type, the [`Claims`] wrapper handed to handlers, and
//! the [`ClaimMapping`] that says where the standard claims are read from.

mod mapping;
mod read;

use std::{cell::Cell, fmt, ops::Deref, sync::Arc};

use compact_str::CompactString;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use smallvec::SmallVec;

pub use mapping::{ClaimMapping, ClaimPath, MAX_CLAIM_VALUES};
pub(crate) use read::ClaimsSeed;

/// The claims tollgate knows: the registered JWT claims (RFC 7519 §4.1) and the ones its
/// revocation and policy layers use.
///
/// [`VerifyLayer`](crate::VerifyLayer) always decodes these (they carry what it
/// validates), and puts them into the request extensions as `Claims<StandardClaims>`, whatever
/// claims type the handlers use. Unknown claims are ignored.
///
/// The verifier reads them through its [`ClaimMapping`]: an identity provider's roles in
/// `realm_access.roles` land in `roles`, a simplejwt `user_id` in `sub`, and so on. Deserializing
/// `StandardClaims` yourself (`serde_json::from_slice`) uses the default mapping, the field
/// names below.
///
/// Numeric dates (`exp`, `nbf`, `iat`) must be JSON numbers (a fraction is truncated); a string
/// is a malformed token. A claim repeated in the payload is a malformed token too. `roles` and
/// `perms` are an array of strings or a space-separated string; `scope` a space-separated
/// string or an array of strings (kept space-separated); `aud` a string or an array of strings.
///
/// # Storage
///
/// Every token that is verified is parsed into this struct, so it is built to be cheap to
/// make: each string is a [`CompactString`], which keeps a string of up to 24 bytes inside
/// the struct and only puts a longer one on the heap, and one audience is kept inline in
/// [`Audience`]. The claims of a typical access token (ids, an issuer URL, a few roles and
/// permissions) then take four allocations (the role and permission lists, a UUID `jti`, and
/// the `Arc` of [`Claims`]) instead of one per string. A `CompactString` reads as a `&str`
/// (`claims.sub.as_deref()`, `role == "sales"`, `&*scope`), and one is made with `.into()`
/// from a `&str` or a `String`; `String::from(value)` or `value.into_string()` turn it back
/// into a `String`.
///
/// # Example
///
/// ```
/// use tollgate::StandardClaims;
///
/// let claims = StandardClaims {
///     sub: Some("42".into()),
///     perms: vec!["customer:read".into()],
///     ..StandardClaims::default()
/// };
/// assert_eq!(claims.sub.as_deref(), Some("42"));
/// assert!(claims.perms.iter().any(|perm| perm == "customer:read"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StandardClaims {
    /// Issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<CompactString>,
    /// Subject: the user id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<CompactString>,
    /// Audience: one value or several.
    #[serde(skip_serializing_if = "Audience::is_empty")]
    pub aud: Audience,
    /// Expiry, seconds since the Unix epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Not before, seconds since the Unix epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Issued at, seconds since the Unix epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Token id: the key of revocation entries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<CompactString>,
    /// Session id: ending the session revokes every token carrying it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<CompactString>,
    /// Organization (tenant) id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org: Option<CompactString>,
    /// Role names.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<CompactString>,
    /// Permissions, `resource:action`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub perms: Vec<CompactString>,
    /// OAuth scopes, space separated (RFC 9068 §2.2.3): from `scope`, or from `scp` with some
    /// [mappings](ClaimMapping::entra_id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<CompactString>,
    /// Permission version: compared with the subject's current one by the revocation layer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ver: Option<u64>,
    /// `access` or `refresh`: keeps one kind of token from being used as the other (read from
    /// the claim the [`ClaimMapping`] names, `token_type` by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<CompactString>,
}

impl<'de> Deserialize<'de> for StandardClaims {
    /// Read through the default [`ClaimMapping`].
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let detail = Cell::new(None);
        de::DeserializeSeed::deserialize(
            ClaimsSeed {
                mapping: &mapping::DEFAULT,
                detail: &detail,
            },
            deserializer,
        )
    }
}

/// The `aud` claim: absent, one string, or an array of strings.
///
/// One audience (the usual case) is kept inline, without an allocation of its own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audience(SmallVec<[CompactString; 1]>);

impl Audience {
    /// An audience of the given values.
    pub fn new<I, S>(values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<CompactString>,
    {
        Self(values.into_iter().map(Into::into).collect())
    }

    /// Whether the claim is absent (or an empty array).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `value` is one of the audiences.
    #[must_use]
    pub fn contains(&self, value: &str) -> bool {
        self.0.iter().any(|aud| aud == value)
    }

    /// The audiences.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(CompactString::as_str)
    }

    pub(crate) fn values_mut(&mut self) -> &mut SmallVec<[CompactString; 1]> {
        &mut self.0
    }
}

impl From<&str> for Audience {
    fn from(value: &str) -> Self {
        Self(SmallVec::from_buf([value.into()]))
    }
}

impl From<String> for Audience {
    fn from(value: String) -> Self {
        Self(SmallVec::from_buf([value.into()]))
    }
}

impl Serialize for Audience {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => serializer.serialize_str(one),
            many => many.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AudienceVisitor;

        impl<'de> de::Visitor<'de> for AudienceVisitor {
            type Value = Audience;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Audience, E> {
                Ok(Audience::from(value))
            }

            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Audience, A::Error> {
                let mut values = SmallVec::with_capacity(seq.size_hint().unwrap_or(1).min(16));
                while let Some(value) = seq.next_element::<CompactString>()? {
                    values.push(value);
                }
                Ok(Audience(values))
            }
        }

        deserializer.deserialize_any(AudienceVisitor)
    }
}

/// A NumericDate: a JSON number of seconds (fractions truncated), never a string.
pub(crate) struct NumericDate(pub(crate) i64);

impl<'de> Deserialize<'de> for NumericDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NumericDateVisitor;

        impl de::Visitor<'_> for NumericDateVisitor {
            type Value = NumericDate;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a NumericDate (a JSON number of seconds)")
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<NumericDate, E> {
                Ok(NumericDate(value))
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<NumericDate, E> {
                i64::try_from(value)
                    .map(NumericDate)
                    .map_err(|_| E::custom("NumericDate out of range"))
            }

            #[allow(clippy::cast_possible_truncation)]
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<NumericDate, E> {
                // Within ±2^53 every integer is exact; beyond that a date is meaningless anyway.
                const LIMIT: f64 = 9_007_199_254_740_992.0;
                if value.is_finite() && value.abs() < LIMIT {
                    Ok(NumericDate(value.trunc() as i64))
                } else {
                    Err(E::custom("NumericDate out of range"))
                }
            }
        }

        deserializer.deserialize_any(NumericDateVisitor)
    }
}

/// Verified claims of type `C`, as handed to handlers.
///
/// [`VerifyLayer`](crate::VerifyLayer) inserts it into the request extensions once the
/// token is verified; with the `axum` feature it is an extractor (and `Option<Claims<C>>` is
/// one for routes where the token is optional). With tonic, read it from
/// `request.extensions().get::<Claims<C>>()`.
///
/// The value is shared (`Arc`), so cloning it is cheap.
///
/// See the [`verify`](crate::verify) module docs for an example.
pub struct Claims<C = StandardClaims>(pub Arc<C>);

impl<C> Claims<C> {
    /// Wrap claims.
    pub fn new(claims: C) -> Self {
        Self(Arc::new(claims))
    }
}

impl<C> Clone for Claims<C> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<C> Deref for Claims<C> {
    type Target = C;

    fn deref(&self) -> &C {
        &self.0
    }
}

impl<C: fmt::Debug> fmt::Debug for Claims<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Claims").field(&self.0).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audience_is_a_string_or_an_array() {
        let one: StandardClaims = serde_json::from_str(r#"{"aud":"a"}"#).unwrap();
        assert!(one.aud.contains("a"));
        let many: StandardClaims = serde_json::from_str(r#"{"aud":["a","b"]}"#).unwrap();
        assert!(many.aud.contains("b"));
        assert!(serde_json::from_str::<StandardClaims>(r#"{"aud":3}"#).is_err());
        assert_eq!(
            serde_json::to_string(&Audience::from("a")).unwrap(),
            r#""a""#
        );
    }

    #[test]
    fn numeric_dates_are_numbers() {
        let claims: StandardClaims = serde_json::from_str(r#"{"exp":10.9,"iat":5}"#).unwrap();
        assert_eq!(claims.exp, Some(10));
        assert_eq!(claims.iat, Some(5));
        assert!(serde_json::from_str::<StandardClaims>(r#"{"exp":"10"}"#).is_err());
        assert!(serde_json::from_str::<StandardClaims>(r#"{"exp":1e300}"#).is_err());
        assert!(serde_json::from_str::<StandardClaims>(r#"{"exp":null}"#).is_err());
    }

    #[test]
    fn duplicate_claims_are_refused() {
        assert!(serde_json::from_str::<StandardClaims>(r#"{"exp":1,"exp":2}"#).is_err());
        assert!(serde_json::from_str::<StandardClaims>(r#"{"sub":"a","sub":"b"}"#).is_err());
    }
}
