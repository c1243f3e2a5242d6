//! Where the token is read from: the `Authorization: Bearer` header, a cookie, another
//! header, or a function of your own.

use std::{fmt, sync::Arc};

use http::{
    HeaderMap,
    header::{AUTHORIZATION, COOKIE, HeaderName},
};

use crate::error::AuthErrorKind;

type ExtractFn = dyn for<'a> Fn(&'a HeaderMap) -> Option<&'a str> + Send + Sync;

/// Where [`VerifyLayer`](crate::VerifyLayer) reads the token from.
///
/// Sources can be chained with [`or`](TokenSource::or): the first one that finds a token
/// wins. The default is [`TokenSource::bearer`].
///
/// Cookies carry a CSRF risk that bearer headers do not: see `docs/security.md`.
///
/// ```
/// use http::{HeaderMap, HeaderValue};
/// use tollgate::verify::TokenSource;
///
/// let source = TokenSource::bearer().or(TokenSource::cookie("access_token"));
/// let mut headers = HeaderMap::new();
/// headers.insert("cookie", HeaderValue::from_static("theme=dark; access_token=abc.def.ghi"));
/// assert_eq!(source.extract(&headers), Ok(Some("abc.def.ghi")));
/// ```
#[derive(Clone)]
pub struct TokenSource {
    sources: Arc<[Source]>,
}

#[derive(Clone)]
enum Source {
    Bearer,
    Header(HeaderName),
    Cookie(Box<str>),
    Custom(Arc<ExtractFn>),
}

impl TokenSource {
    /// `Authorization: Bearer <token>` (RFC 6750 §2.1); the scheme is matched
    /// case-insensitively. Another scheme counts as no token; two `Authorization` headers,
    /// or a value that is not a `b64token`, as a malformed one.
    #[must_use]
    pub fn bearer() -> Self {
        Self::one(Source::Bearer)
    }

    /// The whole value of the header `name` (e.g. `x-access-token`).
    #[must_use]
    pub fn header(name: HeaderName) -> Self {
        Self::one(Source::Header(name))
    }

    /// The cookie `name`.
    #[must_use]
    pub fn cookie(name: impl Into<Box<str>>) -> Self {
        Self::one(Source::Cookie(name.into()))
    }

    /// A function of your own, returning the token found in the request headers, if any.
    #[must_use]
    pub fn from_fn<F>(f: F) -> Self
    where
        F: for<'a> Fn(&'a HeaderMap) -> Option<&'a str> + Send + Sync + 'static,
    {
        Self::one(Source::Custom(Arc::new(f)))
    }

    /// Try `self`, then `other`.
    #[must_use]
    pub fn or(self, other: Self) -> Self {
        Self {
            sources: self
                .sources
                .iter()
                .chain(other.sources.iter())
                .cloned()
                .collect(),
        }
    }

    fn one(source: Source) -> Self {
        Self {
            sources: Arc::new([source]),
        }
    }

    /// The token in `headers`: `Ok(None)` when there is none, an error when what is there
    /// is malformed.
    ///
    /// # Errors
    ///
    /// [`AuthErrorKind::Malformed`] for a duplicate `Authorization` header or a value that is
    /// not a valid token.
    pub fn extract<'a>(&self, headers: &'a HeaderMap) -> Result<Option<&'a str>, AuthErrorKind> {
        for source in self.sources.iter() {
            let found = match source {
                Source::Bearer => bearer(headers)?,
                Source::Header(name) => match headers.get(name) {
                    Some(value) => Some(token_chars(value.as_bytes())?),
                    None => None,
                },
                Source::Cookie(name) => cookie(headers, name)?,
                Source::Custom(f) => f(headers),
            };
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }
}

impl Default for TokenSource {
    fn default() -> Self {
        Self::bearer()
    }
}

fn bearer(headers: &HeaderMap) -> Result<Option<&str>, AuthErrorKind> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthErrorKind::Malformed);
    }
    let bytes = value.as_bytes();
    let Some(space) = bytes.iter().position(|&b| b == b' ') else {
        // A lone scheme: `Bearer` with no token is malformed, anything else is not ours.
        return if bytes.eq_ignore_ascii_case(b"bearer") {
            Err(AuthErrorKind::Malformed)
        } else {
            Ok(None)
        };
    };
    if !bytes[..space].eq_ignore_ascii_case(b"bearer") {
        return Ok(None);
    }
    let rest = &bytes[space..];
    let start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
    token_chars(rest[start..].trim_ascii_end()).map(Some)
}

/// A `b64token` (RFC 6750 §2.1): `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn token_chars(bytes: &[u8]) -> Result<&str, AuthErrorKind> {
    let body_end = bytes.iter().rposition(|&b| b != b'=').map_or(0, |i| i + 1);
    // Every byte is checked, without early exit: the loop has no branch and vectorizes (a
    // token is read on every request, and is hundreds of bytes long).
    let valid = body_end > 0
        && bytes[..body_end]
            .iter()
            .fold(true, |valid, &b| valid & is_b64token_char(b));
    if !valid {
        return Err(AuthErrorKind::Malformed);
    }
    std::str::from_utf8(bytes).map_err(|_| AuthErrorKind::Malformed)
}

/// `ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/"`, as arithmetic rather than branches.
const fn is_b64token_char(b: u8) -> bool {
    // Setting bit 5 maps `A-Z` onto `a-z` and leaves `a-z` alone; no other byte lands there.
    let letter = (b | 0x20).wrapping_sub(b'a') < 26;
    let digit = b.wrapping_sub(b'0') < 10;
    // `+` `-` `.` `/` are 0x2b, 0x2d, 0x2e, 0x2f; `_` 0x5f; `~` 0x7e.
    let symbol = (b == b'+') | (b.wrapping_sub(b'-') < 3) | (b == b'_') | (b == b'~');
    letter | digit | symbol
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, AuthErrorKind> {
    for value in headers.get_all(COOKIE) {
        for pair in value.as_bytes().split(|&b| b == b';') {
            let pair = pair.trim_ascii();
            let Some(eq) = pair.iter().position(|&b| b == b'=') else {
                continue;
            };
            if &pair[..eq] != name.as_bytes() {
                continue;
            }
            let mut cookie_value = &pair[eq + 1..];
            if let [b'"', inner @ .., b'"'] = cookie_value {
                cookie_value = inner;
            }
            return token_chars(cookie_value).map(Some);
        }
    }
    Ok(None)
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for source in self.sources.iter() {
            match source {
                Source::Bearer => list.entry(&"bearer"),
                Source::Header(name) => list.entry(name),
                Source::Cookie(name) => list.entry(&format_args!("cookie {name}")),
                Source::Custom(_) => list.entry(&"<fn>"),
            };
        }
        list.finish()
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn b64token_chars_are_exactly_the_rfc_6750_set() {
        for b in 0..=u8::MAX {
            let expected =
                b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
            assert_eq!(is_b64token_char(b), expected, "byte {b:#04x}");
        }
    }

    fn headers(pairs: &[(&'static str, &'static [u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_bytes(value).unwrap());
        }
        map
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        let bearer = TokenSource::bearer();
        for value in [&b"Bearer a.b.c"[..], b"bearer a.b.c", b"BEARER   a.b.c"] {
            assert_eq!(
                bearer.extract(&headers(&[("authorization", value)])),
                Ok(Some("a.b.c"))
            );
        }
    }

    #[test]
    fn other_schemes_are_no_token() {
        let bearer = TokenSource::bearer();
        assert_eq!(
            bearer.extract(&headers(&[("authorization", b"Basic dXNlcg==")])),
            Ok(None)
        );
        assert_eq!(
            bearer.extract(&headers(&[("authorization", b"Bearerx a")])),
            Ok(None)
        );
        assert_eq!(bearer.extract(&HeaderMap::new()), Ok(None));
    }

    #[test]
    fn malformed_bearer_values() {
        let bearer = TokenSource::bearer();
        for value in [
            &b"Bearer"[..],
            b"Bearer ",
            b"Bearer a b",
            b"Bearer a\xffb",
            b"Bearer ==",
            b"Bearer a=b",
        ] {
            assert_eq!(
                bearer.extract(&headers(&[("authorization", value)])),
                Err(AuthErrorKind::Malformed),
                "{value:?}"
            );
        }
        let twice = headers(&[
            ("authorization", b"Bearer a"),
            ("authorization", b"Bearer b"),
        ]);
        assert_eq!(bearer.extract(&twice), Err(AuthErrorKind::Malformed));
    }

    #[test]
    fn cookies_and_chains() {
        let source = TokenSource::bearer().or(TokenSource::cookie("at"));
        let h = headers(&[("cookie", b"a=1; at=\"x.y.z\""), ("cookie", b"at=ignored")]);
        assert_eq!(source.extract(&h), Ok(Some("x.y.z")));
        let h = headers(&[("cookie", b"at=x.y.z"), ("authorization", b"Bearer p.q.r")]);
        assert_eq!(
            source.extract(&h),
            Ok(Some("p.q.r")),
            "the first source wins"
        );
        let h = headers(&[("cookie", b"at=bad value")]);
        assert_eq!(source.extract(&h), Err(AuthErrorKind::Malformed));
    }

    #[test]
    fn custom_source() {
        let source = TokenSource::from_fn(|headers: &HeaderMap| {
            headers.get("x-token").and_then(|v| v.to_str().ok())
        });
        assert_eq!(
            source.extract(&headers(&[("x-token", b"t")])),
            Ok(Some("t"))
        );
    }
}
