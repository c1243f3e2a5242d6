//! Where the token is read from: the `Authorization: Bearer` header, a cookie, another
//! header, a query parameter, or a function of your own.

use std::{borrow::Cow, fmt, sync::Arc};

use http::{
    HeaderMap, Request, Uri,
    header::{AUTHORIZATION, COOKIE, HeaderName},
};

use crate::error::AuthErrorKind;

type ExtractFn = dyn for<'a> Fn(&'a HeaderMap) -> Option<&'a str> + Send + Sync;

/// Where [`VerifyLayer`](crate::VerifyLayer) reads the token from.
///
/// Sources can be chained with [`or`](TokenSource::or): the first one that finds a token
/// wins. The default is [`TokenSource::bearer`].
///
/// Cookies carry a CSRF risk that bearer headers do not, and a token in a query parameter
/// ends up in logs: see `docs/security.md`.
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
    Query(Box<str>),
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

    /// The query parameter `name` (e.g. `access_token` in `/ws?access_token=...`), for the
    /// requests that cannot carry a header: a browser's WebSocket upgrade
    /// (`new WebSocket(url)` sends no `Authorization`), a link that opens a download.
    ///
    /// The value is decoded as an HTML form does (`application/x-www-form-urlencoded`:
    /// percent escapes, and `+` for a space) in one pass over the query, then must be a
    /// `b64token` like every other source's, and is bounded like every token by the
    /// verifier's [`max_token_len`](crate::verify::Verifier::max_token_len). The parameter
    /// given twice, or a value that is not a token, is [`AuthErrorKind::Malformed`]; a
    /// parameter without a value (`?access_token`) counts as an empty, malformed one.
    ///
    /// **Risk**: a URL is written to access logs, proxy logs, browser history and `Referer`
    /// headers, where a header is not. Read tokens from the query only on the routes that
    /// need it (a WebSocket endpoint), give those tokens a short life (a minute, or a
    /// single-use ticket minted for the upgrade), and keep request URIs out of your logs there.
    /// The query is read by [`extract_request`](Self::extract_request), which
    /// [`VerifyLayer`](crate::VerifyLayer) calls; [`extract`](Self::extract) sees headers
    /// only, and finds nothing in this source.
    ///
    /// ```
    /// use http::Request;
    /// use tollgate::verify::TokenSource;
    ///
    /// let source = TokenSource::bearer().or(TokenSource::query("access_token"));
    /// let request = Request::get("/ws?room=7&access_token=abc.def%2Eghi").body(())?;
    /// assert_eq!(source.extract_request(&request), Ok(Some("abc.def.ghi".into())));
    /// let twice = Request::get("/ws?access_token=a.b.c&access_token=d.e.f").body(())?;
    /// assert!(source.extract_request(&twice).is_err());
    /// # Ok::<(), http::Error>(())
    /// ```
    #[must_use]
    pub fn query(name: impl Into<Box<str>>) -> Self {
        Self::one(Source::Query(name.into()))
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
    /// is malformed. A [`query`](Self::query) source finds nothing here: it needs the request
    /// URI, read by [`extract_request`](Self::extract_request).
    ///
    /// # Errors
    ///
    /// [`AuthErrorKind::Malformed`] for a duplicate `Authorization` header or a value that is
    /// not a valid token.
    pub fn extract<'a>(&self, headers: &'a HeaderMap) -> Result<Option<&'a str>, AuthErrorKind> {
        for source in self.sources.iter() {
            if let Some(found) = from_headers(source, headers)? {
                return found.check().map(Some);
            }
        }
        Ok(None)
    }

    /// The token in `request` (its headers, and its URI for a [`query`](Self::query)
    /// source): `Ok(None)` when there is none, an error when what is there is malformed.
    /// Borrowed from the request, unless a query value had to be percent-decoded.
    /// [`VerifyLayer`](crate::VerifyLayer) reads tokens with this.
    ///
    /// # Errors
    ///
    /// As [`extract`](Self::extract), and [`AuthErrorKind::Malformed`] for a query parameter
    /// given twice or whose value is not a valid token.
    pub fn extract_request<'a, B>(
        &self,
        request: &'a Request<B>,
    ) -> Result<Option<Cow<'a, str>>, AuthErrorKind> {
        match self.find_request(request)? {
            Some(found) => found.check_owned().map(Some),
            None => Ok(None),
        }
    }

    /// What [`extract_request`](Self::extract_request) finds, before the `b64token` check
    /// of a header's or a cookie's value: the verify layer first looks a token up in its
    /// verified-token cache, which holds only tokens that passed every check (a compact JWS
    /// is made of `b64token` characters), and checks the characters of the others.
    pub(crate) fn find_request<'a, B>(
        &self,
        request: &'a Request<B>,
    ) -> Result<Option<Found<'a>>, AuthErrorKind> {
        for source in self.sources.iter() {
            let found = match source {
                Source::Query(name) => query(request.uri(), name)?.map(Found::checked),
                other => match from_headers(other, request.headers())? {
                    Some(found) => Some(found.found()?),
                    None => None,
                },
            };
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }
}

/// A token a source found, and whether its characters are still to be checked.
pub(crate) struct Found<'a> {
    token: Cow<'a, str>,
    checked: bool,
}

impl<'a> Found<'a> {
    fn checked(token: Cow<'a, str>) -> Self {
        Self {
            token,
            checked: true,
        }
    }

    /// The token as found: UTF-8, its characters not necessarily checked yet.
    pub(crate) fn as_str(&self) -> &str {
        &self.token
    }

    /// The token, once its characters are checked to be a `b64token`.
    pub(crate) fn check_owned(self) -> Result<Cow<'a, str>, AuthErrorKind> {
        if !self.checked {
            b64token(self.token.as_bytes())?;
        }
        Ok(self.token)
    }
}

/// A token a header source found in the headers: its bytes (borrowed), or the string an
/// application's function returned.
enum InHeaders<'a> {
    Bytes(&'a [u8]),
    Given(&'a str),
}

impl<'a> InHeaders<'a> {
    /// The token, once its characters are checked to be a `b64token`.
    fn check(self) -> Result<&'a str, AuthErrorKind> {
        match self {
            Self::Bytes(bytes) => token_chars(bytes),
            Self::Given(token) => Ok(token),
        }
    }

    /// As found, before the `b64token` check; bytes that are not UTF-8 are no token.
    fn found(self) -> Result<Found<'a>, AuthErrorKind> {
        match self {
            Self::Bytes(bytes) => match std::str::from_utf8(bytes) {
                Ok(token) => Ok(Found {
                    token: Cow::Borrowed(token),
                    checked: false,
                }),
                Err(_) => Err(AuthErrorKind::Malformed),
            },
            Self::Given(token) => Ok(Found::checked(Cow::Borrowed(token))),
        }
    }
}

/// What one source finds in the headers: nothing for a query source.
fn from_headers<'a>(
    source: &Source,
    headers: &'a HeaderMap,
) -> Result<Option<InHeaders<'a>>, AuthErrorKind> {
    Ok(match source {
        Source::Bearer => bearer(headers)?.map(InHeaders::Bytes),
        Source::Header(name) => headers
            .get(name)
            .map(|value| InHeaders::Bytes(value.as_bytes())),
        Source::Cookie(name) => cookie(headers, name).map(InHeaders::Bytes),
        Source::Query(_) => None,
        Source::Custom(f) => f(headers).map(InHeaders::Given),
    })
}

/// The query parameter `name`, decoded as an HTML form does: once at most, a `b64token`.
fn query<'a>(uri: &'a Uri, name: &str) -> Result<Option<Cow<'a, str>>, AuthErrorKind> {
    let Some(query) = uri.query() else {
        return Ok(None);
    };
    let mut found = None;
    // Names and values are decoded (percent escapes, `+` for a space; bytes that are not
    // UTF-8 become U+FFFD, which no token contains), borrowed when nothing needs decoding.
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if key != name {
            continue;
        }
        if found.is_some() {
            return Err(AuthErrorKind::Malformed);
        }
        found = Some(value);
    }
    let Some(value) = found else {
        return Ok(None);
    };
    token_chars(value.as_bytes())?;
    Ok(Some(value))
}

impl Default for TokenSource {
    fn default() -> Self {
        Self::bearer()
    }
}

fn bearer(headers: &HeaderMap) -> Result<Option<&[u8]>, AuthErrorKind> {
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
    Ok(Some(rest[start..].trim_ascii_end()))
}

/// `bytes` as the token's text, once checked to be a `b64token` (so ASCII).
fn token_chars(bytes: &[u8]) -> Result<&str, AuthErrorKind> {
    b64token(bytes)?;
    std::str::from_utf8(bytes).map_err(|_| AuthErrorKind::Malformed)
}

/// Whether `bytes` are a `b64token` (RFC 6750 §2.1),
/// `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`: [`AuthErrorKind::Malformed`]
/// if not.
fn b64token(bytes: &[u8]) -> Result<(), AuthErrorKind> {
    let body_end = bytes.iter().rposition(|&b| b != b'=').map_or(0, |i| i + 1);
    // Every byte is checked, without early exit: the loop has no branch and vectorizes (a
    // token is read on every request, and is hundreds of bytes long).
    let valid = body_end > 0
        && bytes[..body_end]
            .iter()
            .fold(true, |valid, &b| valid & is_b64token_char(b));
    if valid {
        Ok(())
    } else {
        Err(AuthErrorKind::Malformed)
    }
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

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a [u8]> {
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
            return Some(cookie_value);
        }
    }
    None
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for source in self.sources.iter() {
            match source {
                Source::Bearer => list.entry(&"bearer"),
                Source::Header(name) => list.entry(name),
                Source::Cookie(name) => list.entry(&format_args!("cookie {name}")),
                Source::Query(name) => list.entry(&format_args!("query {name}")),
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

    fn request(uri: &str) -> Request<()> {
        Request::get(uri).body(()).unwrap()
    }

    #[test]
    fn query_parameters_are_form_decoded() {
        let source = TokenSource::query("access_token");
        let found = |uri: &str| {
            source
                .extract_request(&request(uri))
                .map(|token| token.map(Cow::into_owned))
        };
        assert_eq!(
            found("/ws?access_token=a.b.c"),
            Ok(Some("a.b.c".to_owned()))
        );
        assert_eq!(
            found("/ws?x=1&access%5Ftoken=a%2Eb.c%3D%3D&y"),
            Ok(Some("a.b.c==".to_owned()))
        );
        assert_eq!(
            found("/ws?access_token=a.b.c=="),
            Ok(Some("a.b.c==".to_owned()))
        );
        assert_eq!(found("/ws"), Ok(None));
        assert_eq!(found("/ws?other=a.b.c&access_token_x=a"), Ok(None));
        for malformed in [
            "/ws?access_token=a.b.c&access_token=a.b.c",
            "/ws?access_token",
            "/ws?access_token=",
            "/ws?access_token=a+b.c",
            "/ws?access_token=a%20b.c",
            "/ws?access_token=a.b%FF.c",
            "/ws?access_token=a.b.c%",
        ] {
            assert_eq!(
                found(malformed),
                Err(AuthErrorKind::Malformed),
                "{malformed}"
            );
        }
        // Borrowed from the URI when nothing needed decoding.
        let plain = request("/ws?access_token=a.b.c");
        assert!(matches!(
            source.extract_request(&plain),
            Ok(Some(Cow::Borrowed("a.b.c")))
        ));
    }

    #[test]
    fn the_query_is_read_from_the_request_only() {
        let source = TokenSource::query("t").or(TokenSource::cookie("t"));
        let mut with_both = request("/ws?t=q.q.q");
        with_both
            .headers_mut()
            .insert(COOKIE, HeaderValue::from_static("t=c.c.c"));
        assert_eq!(source.extract_request(&with_both), Ok(Some("q.q.q".into())));
        assert_eq!(source.extract(with_both.headers()), Ok(Some("c.c.c")));
        assert_eq!(format!("{source:?}"), "[query t, cookie t]");
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
