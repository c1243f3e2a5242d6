//! Parsing of the compact JWS serialization (RFC 7515 §7.1): exactly three base64url
//! segments, a header that is a strict JSON object with no duplicate members.

use std::borrow::Cow;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::Deserialize;

use super::strict;
use crate::error::AuthErrorKind;

/// A compact JWS split into its segments; nothing is decoded yet.
pub(crate) struct Compact<'a> {
    /// `header.payload`, the signing input.
    pub(crate) signing_input: &'a str,
    pub(crate) header: &'a str,
    pub(crate) payload: &'a str,
    pub(crate) signature: &'a str,
}

impl<'a> Compact<'a> {
    /// Split `token` on its two dots; any other number of segments, or an empty header or
    /// payload, is malformed. An empty signature (a stripped one, or `alg: none`) is left for
    /// the caller to refuse once it has read the header.
    pub(crate) fn split(token: &'a str) -> Result<Self, AuthErrorKind> {
        let (signing_input, signature) = token.rsplit_once('.').ok_or(AuthErrorKind::Malformed)?;
        let (header, payload) = signing_input
            .split_once('.')
            .ok_or(AuthErrorKind::Malformed)?;
        if header.is_empty() || payload.is_empty() || payload.contains('.') {
            return Err(AuthErrorKind::Malformed);
        }
        Ok(Self {
            signing_input,
            header,
            payload,
            signature,
        })
    }
}

/// Strict base64url: no padding, no whitespace, canonical trailing bits.
#[cfg(test)]
pub(crate) fn decode_segment(segment: &str) -> Result<Vec<u8>, AuthErrorKind> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| AuthErrorKind::Malformed)
}

/// Strict base64url, as [`decode_segment`], into `buf` when the segment fits in it (no
/// allocation for the usual header, claims and signature), onto the heap otherwise.
pub(crate) fn decode_segment_into<'b>(
    segment: &str,
    buf: &'b mut [u8],
) -> Result<Cow<'b, [u8]>, AuthErrorKind> {
    if base64::decoded_len_estimate(segment.len()) <= buf.len() {
        let len = URL_SAFE_NO_PAD
            .decode_slice(segment, buf)
            .map_err(|_| AuthErrorKind::Malformed)?;
        Ok(Cow::Borrowed(&buf[..len]))
    } else {
        URL_SAFE_NO_PAD
            .decode(segment)
            .map(Cow::Owned)
            .map_err(|_| AuthErrorKind::Malformed)
    }
}

/// The header members tollgate reads. Unknown members (`jku`, `x5u`, `jwk`, `x5c`, ...) are
/// ignored: keys only ever come from the configuration. A repeated member is an error.
#[derive(Deserialize)]
pub(crate) struct Header<'a> {
    #[serde(borrow)]
    pub(crate) alg: Cow<'a, str>,
    #[serde(borrow, default)]
    pub(crate) kid: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) typ: Option<Cow<'a, str>>,
    /// Whether the member is there at all: `"crit": null` counts too.
    #[serde(default, deserialize_with = "present")]
    pub(crate) crit: Option<serde::de::IgnoredAny>,
}

/// `Some` for any value, `null` included (serde's `Option` would read `null` as absent).
fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<serde::de::IgnoredAny>, D::Error> {
    serde::Deserialize::deserialize(deserializer).map(Some)
}

impl<'a> Header<'a> {
    /// Parse a header: a JSON object, strict JSON throughout (see [`strict`](super::strict)).
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, AuthErrorKind> {
        let header: Self = strict::from_slice(bytes)?;
        // tollgate understands no extension, so any `crit` (even an empty one or `null`,
        // which RFC 7515 §4.1.11 forbids) makes the token invalid.
        if header.crit.is_some() {
            return Err(AuthErrorKind::UnsupportedCritical);
        }
        Ok(header)
    }
}

/// Compare a `typ` with the expected one: case-insensitively, with an optional
/// `application/` prefix (RFC 7515 §4.1.9, RFC 9068 §4). `expected` is already normalized
/// (see [`normalize_typ`]).
pub(crate) fn typ_matches(actual: &str, expected: &str) -> bool {
    normalize_prefix(actual).eq_ignore_ascii_case(expected)
}

/// The form `typ` values are compared in: lowercase, without `application/`.
pub(crate) fn normalize_typ(typ: &str) -> String {
    normalize_prefix(typ).to_ascii_lowercase()
}

fn normalize_prefix(typ: &str) -> &str {
    const PREFIX: &str = "application/";
    match typ.get(..PREFIX.len()) {
        Some(prefix) if prefix.eq_ignore_ascii_case(PREFIX) => &typ[PREFIX.len()..],
        _ => typ,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_counts() {
        assert!(Compact::split("a.b.c").is_ok());
        assert_eq!(Compact::split("a.b").err(), Some(AuthErrorKind::Malformed));
        assert_eq!(
            Compact::split("a.b.c.d").err(),
            Some(AuthErrorKind::Malformed)
        );
        assert_eq!(
            Compact::split("a.b.c.d.e").err(),
            Some(AuthErrorKind::Malformed)
        );
        assert_eq!(Compact::split("..c").err(), Some(AuthErrorKind::Malformed));
        assert!(Compact::split("a.b.").is_ok_and(|c| c.signature.is_empty()));
        assert_eq!(Compact::split("").err(), Some(AuthErrorKind::Malformed));
    }

    #[test]
    fn stack_and_heap_decoding_agree() {
        let mut small = [0u8; 4];
        let mut large = [0u8; 64];
        for segment in [
            "YQ",
            "YWJj",
            "YWJjZGVmZ2hpams",
            "YQ==",
            "YR",
            "Y Q",
            "Y+/",
            "",
        ] {
            let heap = decode_segment(segment);
            let stack_small = decode_segment_into(segment, &mut small).map(Cow::into_owned);
            let stack_large = decode_segment_into(segment, &mut large).map(Cow::into_owned);
            assert_eq!(heap, stack_small, "{segment}");
            assert_eq!(heap, stack_large, "{segment}");
        }
    }

    #[test]
    fn base64url_is_strict() {
        assert_eq!(decode_segment("YQ").unwrap(), b"a");
        assert!(decode_segment("YQ==").is_err(), "padding");
        assert!(decode_segment("YR").is_err(), "non-canonical trailing bits");
        assert!(decode_segment("Y Q").is_err(), "whitespace");
        assert!(decode_segment("Y+/").is_err(), "standard alphabet");
    }

    #[test]
    fn header_rules() {
        assert!(Header::parse(br#"{"alg":"HS256","jku":"https://evil"}"#).is_ok());
        assert_eq!(
            Header::parse(br#"{"alg":"HS256","alg":"none"}"#).err(),
            Some(AuthErrorKind::Malformed)
        );
        assert_eq!(
            Header::parse(br#"{"alg":"HS256","crit":["exp"]}"#).err(),
            Some(AuthErrorKind::UnsupportedCritical)
        );
        assert_eq!(Header::parse(b"[]").err(), Some(AuthErrorKind::Malformed));
        assert_eq!(
            Header::parse(br#"{"alg":1}"#).err(),
            Some(AuthErrorKind::Malformed)
        );
    }

    #[test]
    fn typ_comparison() {
        assert_eq!(normalize_typ("Application/At+JWT"), "at+jwt");
        assert!(typ_matches("at+jwt", "at+jwt"));
        assert!(typ_matches("application/AT+JWT", "at+jwt"));
        assert!(!typ_matches("applicati\u{e9}/at+jwt", "at+jwt"));
        assert!(!typ_matches("refresh+jwt", "at+jwt"));
        assert!(!typ_matches("JWT", "at+jwt"));
    }
}
