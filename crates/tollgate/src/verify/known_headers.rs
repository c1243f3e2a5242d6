//! The header segments that tokens for the configured keys usually carry, parsed when the
//! verifier is built: a token whose header segment is one of them skips decoding and parsing
//! its header.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};

use super::{issuer::TrustedIssuer, jws::Header};
use crate::key::{algorithm::Algorithm, source::SourceKind};

/// A header segment parsed in advance (by [`Header::parse`], from the same bytes): a token
/// whose header segment is exactly this text has exactly this header, since strict base64url
/// has one encoding per byte string.
#[derive(Clone, Debug)]
pub(super) struct KnownHeader {
    pub(super) segment: Box<str>,
    pub(super) alg: Algorithm,
    pub(super) kid: Option<Box<str>>,
    pub(super) typ: Option<Box<str>>,
}

/// At most this many headers are parsed in advance.
const MAX_KNOWN_HEADERS: usize = 64;

/// The header segments that tokens for `issuers`' static keys usually carry: `alg`, the key's
/// `kid` if it has one, and no `typ`, `JWT` or `at+jwt`, in the member orders common
/// libraries write (`typ` first as `jsonwebtoken` does, or `alg` first).
pub(super) fn known_headers(issuers: &[TrustedIssuer]) -> Vec<KnownHeader> {
    let mut known: Vec<KnownHeader> = Vec::new();
    // Without `jwks-remote` every source is static and the filter never drops one.
    #[cfg_attr(not(feature = "jwks-remote"), allow(clippy::unnecessary_filter_map))]
    let keys = issuers
        .iter()
        .filter_map(|issuer| match issuer.keys().kind() {
            SourceKind::Static(keys) => Some(keys.iter()),
            #[cfg(feature = "jwks-remote")]
            SourceKind::Remote(_) => None,
        });
    for key in keys.flatten() {
        let alg = key.algorithm().as_str();
        let kid = key
            .kid()
            .map(|kid| format!(",\"kid\":{}", serde_json::Value::from(kid)));
        let kid = kid.as_deref().unwrap_or("");
        for typ in [None, Some("JWT"), Some("at+jwt")] {
            let mut variants = vec![format!("{{\"alg\":\"{alg}\"{kid}}}")];
            if let Some(typ) = typ {
                variants = vec![
                    format!("{{\"typ\":\"{typ}\",\"alg\":\"{alg}\"{kid}}}"),
                    format!("{{\"alg\":\"{alg}\",\"typ\":\"{typ}\"{kid}}}"),
                    format!("{{\"alg\":\"{alg}\"{kid},\"typ\":\"{typ}\"}}"),
                ];
            }
            for json in variants {
                let segment = URL_SAFE_NO_PAD.encode(&json);
                if known.len() >= MAX_KNOWN_HEADERS {
                    return known;
                }
                if known.iter().any(|k| *k.segment == *segment) {
                    continue;
                }
                // Parsed by the same code as any other header: the entry is what parsing
                // the token's own header would give.
                let Ok(header) = Header::parse(json.as_bytes()) else {
                    continue;
                };
                let Ok(alg) = header.alg.parse::<Algorithm>() else {
                    continue;
                };
                known.push(KnownHeader {
                    segment: segment.into(),
                    alg,
                    kid: header.kid.map(|kid| kid.into()),
                    typ: header.typ.map(|typ| typ.into()),
                });
            }
        }
    }
    known
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::Key;

    #[test]
    fn known_headers_are_what_parsing_gives() {
        let key = Key::hmac(Algorithm::HS256, &[7; 32])
            .unwrap()
            .with_kid("k\"1");
        let known = &known_headers(&[TrustedIssuer::new("iss", key)]);
        assert!(!known.is_empty());
        for entry in known {
            let bytes = URL_SAFE_NO_PAD.decode(&*entry.segment).unwrap();
            let header = Header::parse(&bytes).unwrap();
            assert_eq!(header.alg.parse::<Algorithm>().unwrap(), entry.alg);
            assert_eq!(header.kid.as_deref(), entry.kid.as_deref());
            assert_eq!(header.kid.as_deref(), Some("k\"1"));
            assert_eq!(header.typ.as_deref(), entry.typ.as_deref());
        }
        // The header `jsonwebtoken` writes is among them.
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some("k\"1".to_owned());
        let segment = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap());
        assert!(known.iter().any(|k| *k.segment == *segment));
    }
}
