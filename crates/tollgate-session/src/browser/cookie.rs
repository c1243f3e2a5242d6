//! [`RefreshCookie`]: the configuration of the cookie that carries a browser's refresh token,
//! its `Set-Cookie` values, and reading it back from a request.

use std::{borrow::Cow, fmt, time::Duration};

use cookie::{Cookie, SameSite, prefix::Prefix as _};
use http::{HeaderMap, HeaderValue, header::COOKIE};
use tollgate::ConfigError;

use super::error::{BrowserError, BrowserErrorKind};

/// The name of the cookie, after its prefix, unless [`RefreshCookie::name`] says otherwise.
const DEFAULT_NAME: &str = "refresh_token";
/// What a remembered (persistent) cookie's value starts with, before the token. `~` is not in
/// the alphabet of a compact JWS, so the two can never be confused.
const PERSISTENT_MARK: &str = "r~";
/// The longest path accepted (RFC 6265bis limits an attribute value to 1024 bytes).
const MAX_PATH_LEN: usize = 1024;
/// The longest name accepted, prefix excluded.
const MAX_NAME_LEN: usize = 64;

/// The prefix of the cookie's name, which makes the browser enforce attributes (RFC 6265bis
/// "Cookie Name Prefixes").
///
/// See [`RefreshCookie::prefix`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CookiePrefix {
    /// `__Secure-`: the browser keeps the cookie only if it was set with `Secure` from a
    /// secure origin. Works with any path.
    Secure,
    /// `__Host-`: as `__Secure-`, and the cookie must also have `Path=/` and no `Domain`, so
    /// it is bound to this exact host and no sibling subdomain can set or shadow it. It is then
    /// sent with every request to the host, not only to the refresh and logout routes.
    Host,
}

impl CookiePrefix {
    /// The prefix as it starts the cookie's name: `"__Secure-"` or `"__Host-"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Secure => cookie::prefix::Secure::PREFIX,
            Self::Host => cookie::prefix::Host::PREFIX,
        }
    }
}

/// The cookie that carries a browser's refresh token: `HttpOnly; Secure; SameSite=Strict`,
/// scoped to one path, with no `Domain`.
///
/// - [`to_set_cookie`](Self::to_set_cookie) makes the `Set-Cookie` value for a refresh token:
///   a session cookie (neither `Max-Age` nor `Expires`: it dies with the browser), or, for a
///   remembered login, one with a `Max-Age`.
/// - [`clearing`](Self::clearing) makes the `Set-Cookie` value that removes it (empty value,
///   `Max-Age=0`, same name, path and attributes).
/// - [`read`](Self::read) finds it in a request's `Cookie` headers, among any other cookies.
///
/// `HttpOnly` keeps it from scripts (an XSS can use the session while it runs, but cannot
/// carry the refresh token away); `Secure` keeps it off plain HTTP; `SameSite=Strict` keeps
/// browsers from sending it with requests that another site starts; the path keeps it off
/// every request but the refresh and logout routes; without `Domain` it goes to this host only.
/// None of these can be turned off.
///
/// Defaults: the name `refresh_token` behind the strongest prefix the path allows: `__Host-`
/// for the path `/`, `__Secure-` for any other path (`__Host-` requires `Path=/`).
///
/// # The value
///
/// The cookie's value is the refresh token, preceded by `r~` when the login asked to be
/// remembered. A browser never sends a cookie's attributes back, and a session does not record
/// whether it was remembered, so this mark is how a refresh knows to keep the rotated cookie
/// persistent (with a `Max-Age`) or not. The mark is no secret and changes nothing on the
/// server: the token is verified as always.
///
/// # Example
///
/// ```
/// use std::time::Duration;
///
/// use http::{HeaderMap, HeaderValue, header::COOKIE};
/// use tollgate_session::browser::{CookiePrefix, RefreshCookie};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let cookie = RefreshCookie::new("/auth")?;
/// assert_eq!(cookie.cookie_name(), "__Secure-refresh_token");
///
/// // A session cookie, and a remembered one.
/// # let token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJl";
/// let set_cookie = cookie.to_set_cookie(token, None)?;
/// assert!(set_cookie.to_str()?.ends_with("; HttpOnly; SameSite=Strict; Secure; Path=/auth"));
/// let set_cookie = cookie.to_set_cookie(token, Some(Duration::from_secs(3600)))?;
/// assert!(set_cookie.to_str()?.ends_with("; Path=/auth; Max-Age=3600"));
///
/// // Reading it back, among other cookies.
/// let mut headers = HeaderMap::new();
/// headers.insert(COOKIE, HeaderValue::from_str(&format!("theme=dark; __Secure-refresh_token={token}"))?);
/// let presented = cookie.read(&headers)?.expect("the cookie is there");
/// assert_eq!(presented.token(), token);
/// assert!(!presented.is_persistent());
///
/// // The strongest prefix needs the path `/`.
/// assert_eq!(RefreshCookie::new("/")?.cookie_name(), "__Host-refresh_token");
/// assert!(RefreshCookie::new("/auth")?.prefix(CookiePrefix::Host).is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
#[must_use]
pub struct RefreshCookie {
    prefix: CookiePrefix,
    name: Box<str>,
    path: Box<str>,
    /// `prefix` + `name`.
    cookie_name: Box<str>,
    /// The `Set-Cookie` value that removes the cookie, made once.
    clearing: HeaderValue,
}

impl RefreshCookie {
    /// A cookie scoped to `path`: the common prefix of the refresh and logout routes (the
    /// login route sets it too, so it should share the prefix), such as `/auth` for
    /// `/auth/login`, `/auth/refresh` and `/auth/logout`. Browsers send it to `path` and the
    /// paths below it, and to nothing else.
    ///
    /// The prefix is `__Host-` when `path` is `/`, else `__Secure-`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] when `path` does not start with `/`, or holds `;`, a space,
    /// a control or a non-ASCII character, or is longer than 1024 bytes.
    pub fn new(path: impl Into<String>) -> Result<Self, ConfigError> {
        let path = path.into();
        if !is_cookie_path(&path) {
            return Err(ConfigError::OutOfRange {
                setting: "cookie path",
                expected: "an absolute path (`/...`) of at most 1024 visible ASCII characters without `;`",
            });
        }
        let prefix = if path == "/" {
            CookiePrefix::Host
        } else {
            CookiePrefix::Secure
        };
        Self::from_parts(prefix, DEFAULT_NAME.into(), path.into())
    }

    /// The cookie's name after its prefix: `refresh_token` by default.
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] when `name` is empty, longer than 64 bytes, holds a
    /// character that a cookie name may not hold (RFC 6265: separators, spaces, controls,
    /// non-ASCII), or starts with a prefix itself (set that with [`prefix`](Self::prefix)).
    pub fn name(self, name: impl Into<String>) -> Result<Self, ConfigError> {
        let name = name.into();
        if !is_cookie_name(&name) || starts_with_prefix(&name) {
            return Err(ConfigError::OutOfRange {
                setting: "cookie name",
                expected: "1 to 64 token characters (RFC 6265), without a `__Secure-` or `__Host-` prefix",
            });
        }
        Self::from_parts(self.prefix, name.into(), self.path)
    }

    /// The prefix of the cookie's name: `__Host-` (for the path `/`) or `__Secure-`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] for [`CookiePrefix::Host`] when the path is not `/`: a
    /// browser refuses a `__Host-` cookie that has another path (or a `Domain`, which this
    /// cookie never has).
    pub fn prefix(self, prefix: CookiePrefix) -> Result<Self, ConfigError> {
        if prefix == CookiePrefix::Host && &*self.path != "/" {
            return Err(ConfigError::OutOfRange {
                setting: "cookie prefix",
                expected: "`__Secure-` for a cookie whose path is not `/` (`__Host-` requires `Path=/`)",
            });
        }
        Self::from_parts(prefix, self.name, self.path)
    }

    /// The one constructor: every setter ends here, so the name and the clearing value always
    /// follow the settings.
    fn from_parts(
        prefix: CookiePrefix,
        name: Box<str>,
        path: Box<str>,
    ) -> Result<Self, ConfigError> {
        let cookie_name: Box<str> = format!("{}{name}", prefix.as_str()).into();
        let mut removal = hardened(Cookie::new(&*cookie_name, ""), &path);
        removal.make_removal();
        // Every part was checked above, so this does not fail; if it ever did, the setting
        // is refused rather than a response broken later.
        let clearing =
            HeaderValue::try_from(removal.to_string()).map_err(|_| ConfigError::OutOfRange {
                setting: "cookie name",
                expected: "characters that fit an HTTP header",
            })?;
        Ok(Self {
            prefix,
            name,
            path,
            cookie_name,
            clearing,
        })
    }

    /// The cookie's full name, prefix included (`__Secure-refresh_token` by default).
    #[must_use]
    pub fn cookie_name(&self) -> &str {
        &self.cookie_name
    }

    /// The cookie's path.
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The `Set-Cookie` value that gives the browser `refresh_token`.
    ///
    /// Without `lifetime` the cookie is a session cookie: it has neither `Max-Age` nor
    /// `Expires`, and dies when the browser closes. With `lifetime` (a remembered login) it
    /// has `Max-Age` = `lifetime` in whole seconds (at least one), and its value carries the
    /// mark that keeps it persistent across refreshes (see the [type docs](Self)).
    ///
    /// The header value is marked sensitive (`HeaderValue::set_sensitive`): it holds a token.
    ///
    /// # Errors
    ///
    /// [`BrowserErrorKind::UnfitToken`] when `refresh_token` is empty or not a compact JWS
    /// (base64url segments and dots): the tokens of an [`Issuer`](crate::Issuer) always are.
    pub fn to_set_cookie(
        &self,
        refresh_token: &str,
        lifetime: Option<Duration>,
    ) -> Result<HeaderValue, BrowserError> {
        if !is_compact_jws(refresh_token) {
            return Err(BrowserError::new(BrowserErrorKind::UnfitToken));
        }
        let value = match lifetime {
            Some(_) => Cow::Owned(format!("{PERSISTENT_MARK}{refresh_token}")),
            None => Cow::Borrowed(refresh_token),
        };
        let mut cookie = hardened(Cookie::new(&*self.cookie_name, value), &self.path);
        if let Some(lifetime) = lifetime {
            let seconds = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX).max(1);
            cookie.set_max_age(cookie::time::Duration::seconds(seconds));
        }
        let mut header = HeaderValue::try_from(cookie.to_string())
            .map_err(|_| BrowserError::new(BrowserErrorKind::UnfitToken))?;
        header.set_sensitive(true);
        Ok(header)
    }

    /// The `Set-Cookie` value that removes the cookie: the same name, path and attributes,
    /// an empty value, `Max-Age=0` and an `Expires` in the past (for browsers that predate
    /// `Max-Age`).
    #[must_use]
    pub fn clearing(&self) -> HeaderValue {
        self.clearing.clone()
    }

    /// The refresh token the request's cookie carries, if any.
    ///
    /// Every `Cookie` header is read (HTTP/2 may split one into several), each holding any
    /// number of cookies; only this cookie's exact name counts. An empty value, or the mark of
    /// a remembered login with no token after it, counts as absent. A header that is not valid UTF-8 is read with the invalid bytes replaced, so a
    /// stray byte in another cookie does not hide this one.
    ///
    /// # Errors
    ///
    /// [`BrowserErrorKind::AmbiguousCookie`] when the name appears more than once with
    /// different values. A browser sends two cookies of one name when they differ in domain
    /// or path: for example one that a sibling subdomain set for the parent domain, which a
    /// `__Secure-` prefix does not prevent. Picking one could log the user into the other's
    /// session, so neither is used. The same value twice is that value.
    pub fn read<'a>(
        &self,
        headers: &'a HeaderMap,
    ) -> Result<Option<PresentedRefreshToken<'a>>, BrowserError> {
        let mut found: Option<Cow<'a, str>> = None;
        for value in self.values(headers) {
            match &found {
                Some(first) if *first != value => {
                    return Err(BrowserError::new(BrowserErrorKind::AmbiguousCookie)
                        .with_clearing(self.clearing()));
                }
                Some(_) => {}
                None => found = Some(value),
            }
        }
        Ok(found.map(PresentedRefreshToken::from_value))
    }

    /// Every value of this cookie in `headers` that holds a token, duplicates included.
    pub(super) fn values<'a>(&self, headers: &'a HeaderMap) -> impl Iterator<Item = Cow<'a, str>> {
        headers.get_all(COOKIE).iter().flat_map(move |header| {
            let text = String::from_utf8_lossy(header.as_bytes());
            let values: Vec<Cow<'a, str>> = match text {
                Cow::Borrowed(text) => Cookie::split_parse(text)
                    .filter_map(Result::ok)
                    .filter(|cookie| cookie.name() == &*self.cookie_name)
                    .filter_map(|cookie| cookie.value_raw().map(Cow::Borrowed))
                    .collect(),
                Cow::Owned(text) => Cookie::split_parse(text)
                    .filter_map(Result::ok)
                    .filter(|cookie| cookie.name() == &*self.cookie_name)
                    .map(|cookie| Cow::Owned(cookie.value().to_owned()))
                    .collect(),
            };
            // The persistent mark alone carries no token: as absent as an empty value.
            values
                .into_iter()
                .filter(|value| !value.is_empty() && value != PERSISTENT_MARK)
        })
    }
}

impl fmt::Debug for RefreshCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshCookie")
            .field("cookie_name", &self.cookie_name)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// A refresh token read from the cookie by [`RefreshCookie::read`].
///
/// `Debug` never prints the token.
#[derive(Clone, PartialEq, Eq)]
pub struct PresentedRefreshToken<'a> {
    token: Cow<'a, str>,
    persistent: bool,
}

impl<'a> PresentedRefreshToken<'a> {
    pub(super) fn from_value(value: Cow<'a, str>) -> Self {
        match value {
            Cow::Borrowed(value) => match value.strip_prefix(PERSISTENT_MARK) {
                Some(token) => Self {
                    token: Cow::Borrowed(token),
                    persistent: true,
                },
                None => Self {
                    token: Cow::Borrowed(value),
                    persistent: false,
                },
            },
            Cow::Owned(value) => match value.strip_prefix(PERSISTENT_MARK) {
                Some(token) => Self {
                    token: Cow::Owned(token.to_owned()),
                    persistent: true,
                },
                None => Self {
                    token: Cow::Owned(value),
                    persistent: false,
                },
            },
        }
    }

    /// The refresh token.
    #[must_use]
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Whether the cookie was set for a remembered login (with a `Max-Age`), so that its
    /// successor must be too.
    #[must_use]
    pub fn is_persistent(&self) -> bool {
        self.persistent
    }
}

impl fmt::Debug for PresentedRefreshToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PresentedRefreshToken")
            .field("persistent", &self.persistent)
            .finish_non_exhaustive()
    }
}

/// `cookie` with the attributes every refresh cookie has.
fn hardened<'c>(mut cookie: Cookie<'c>, path: &str) -> Cookie<'c> {
    cookie.set_http_only(true);
    cookie.set_secure(true);
    cookie.set_same_site(SameSite::Strict);
    cookie.set_path(path.to_owned());
    cookie
}

/// RFC 6265 `cookie-name`: an RFC 7230 token.
fn is_cookie_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte))
}

/// Browsers match the prefixes case-insensitively (RFC 6265bis).
fn starts_with_prefix(name: &str) -> bool {
    [CookiePrefix::Secure, CookiePrefix::Host]
        .iter()
        .any(|prefix| {
            let prefix = prefix.as_str();
            name.get(..prefix.len())
                .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
        })
}

/// RFC 6265 `path-value`, narrowed to visible ASCII, absolute.
fn is_cookie_path(path: &str) -> bool {
    path.starts_with('/')
        && path.len() <= MAX_PATH_LEN
        && path
            .bytes()
            .all(|byte| byte.is_ascii_graphic() && byte != b';')
}

/// Base64url segments separated by dots: what a compact JWS is made of, and all cookie-safe.
fn is_compact_jws(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "aGVhZGVy.cGF5bG9hZA.c2ln";

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(COOKIE, HeaderValue::from_bytes(value).unwrap());
        }
        headers
    }

    fn cookie() -> RefreshCookie {
        RefreshCookie::new("/auth").unwrap()
    }

    #[test]
    fn the_default_prefix_is_the_strongest_the_path_allows() {
        assert_eq!(cookie().cookie_name(), "__Secure-refresh_token");
        let root = RefreshCookie::new("/").unwrap();
        assert_eq!(root.cookie_name(), "__Host-refresh_token");
        let root = root.prefix(CookiePrefix::Secure).unwrap();
        assert_eq!(root.cookie_name(), "__Secure-refresh_token");
        let renamed = cookie().name("rt").unwrap();
        assert_eq!(renamed.cookie_name(), "__Secure-rt");
        assert_eq!(renamed.path(), "/auth");
    }

    #[test]
    fn a_host_prefix_requires_the_root_path() {
        let error = cookie().prefix(CookiePrefix::Host).unwrap_err();
        assert!(matches!(
            error,
            ConfigError::OutOfRange {
                setting: "cookie prefix",
                ..
            }
        ));
        assert!(
            RefreshCookie::new("/")
                .unwrap()
                .prefix(CookiePrefix::Host)
                .is_ok()
        );
    }

    #[test]
    fn names_and_paths_are_checked_where_they_are_given() {
        for bad in [
            "",
            "a b",
            "a;b",
            "a=b",
            "é",
            "__Host-x",
            "__secure-x",
            "a,b",
        ] {
            assert!(cookie().name(bad).is_err(), "{bad:?}");
        }
        assert!(cookie().name("x".repeat(65)).is_err());
        for bad in ["", "auth", "/a;b", "/a b", "/é", "/a\u{7f}"] {
            assert!(RefreshCookie::new(bad).is_err(), "{bad:?}");
        }
        assert!(RefreshCookie::new(format!("/{}", "a".repeat(1024))).is_err());
        assert!(RefreshCookie::new("/api/auth/browser").is_ok());
    }

    #[test]
    fn set_cookie_values_carry_every_attribute() {
        let session = cookie().to_set_cookie(TOKEN, None).unwrap();
        assert!(session.is_sensitive());
        assert_eq!(
            session,
            "__Secure-refresh_token=aGVhZGVy.cGF5bG9hZA.c2ln; HttpOnly; SameSite=Strict; Secure; Path=/auth"
        );
        let remembered = cookie()
            .to_set_cookie(TOKEN, Some(Duration::from_secs(86_400)))
            .unwrap();
        assert_eq!(
            remembered,
            "__Secure-refresh_token=r~aGVhZGVy.cGF5bG9hZA.c2ln; HttpOnly; SameSite=Strict; Secure; Path=/auth; Max-Age=86400"
        );
        let short = cookie()
            .to_set_cookie(TOKEN, Some(Duration::from_millis(10)))
            .unwrap();
        assert!(short.to_str().unwrap().ends_with("; Max-Age=1"));
    }

    #[test]
    fn only_compact_jws_tokens_become_cookies() {
        for bad in ["", "a b", "a;b", "r~x", "a\u{1}", "é"] {
            let error = cookie().to_set_cookie(bad, None).unwrap_err();
            assert_eq!(error.kind(), BrowserErrorKind::UnfitToken, "{bad:?}");
        }
    }

    #[test]
    fn the_clearing_value_matches_the_cookie() {
        let clearing = cookie().clearing();
        let text = clearing.to_str().unwrap();
        assert!(
            text.starts_with(
                "__Secure-refresh_token=; HttpOnly; SameSite=Strict; Secure; Path=/auth; Max-Age=0; Expires="
            ),
            "{text}"
        );
        assert!(!text.contains("Domain"));
    }

    #[test]
    fn reading_finds_the_cookie_among_others_and_in_any_header() {
        let c = cookie();
        let cookie_header = format!("a=1; __Secure-refresh_token={TOKEN}; b=2");
        let map = headers(&[cookie_header.as_bytes()]);
        let read = c.read(&map).unwrap().unwrap();
        assert_eq!(read.token(), TOKEN);
        assert!(!read.is_persistent());

        let cookie_header = format!("__Secure-refresh_token=r~{TOKEN}");
        let map = headers(&[b"a=1", cookie_header.as_bytes()]);
        let read = c.read(&map).unwrap().unwrap();
        assert_eq!(read.token(), TOKEN);
        assert!(read.is_persistent());
        assert!(!format!("{read:?}").contains(TOKEN));
    }

    #[test]
    fn reading_ignores_other_names_empty_values_and_garbage() {
        let c = cookie();
        for value in [
            &b"refresh_token=x; __Host-refresh_token=y; __secure-refresh_token=z"[..],
            b"__Secure-refresh_token=",
            b";;; =; ==",
            b"",
        ] {
            assert!(c.read(&headers(&[value])).unwrap().is_none(), "{value:?}");
        }
        assert!(c.read(&HeaderMap::new()).unwrap().is_none());
    }

    #[test]
    fn the_persistent_mark_alone_counts_as_absent() {
        // Found by the `refresh_cookie` fuzz target: `r~` with no token after it was read as
        // a present, empty refresh token.
        let c = cookie();
        for value in [
            &b"__Secure-refresh_token=r~"[..],
            b"a=b; __Secure-refresh_token=r~",
        ] {
            assert!(c.read(&headers(&[value])).unwrap().is_none(), "{value:?}");
        }
        let token = format!("__Secure-refresh_token={TOKEN}");
        let map = headers(&[b"__Secure-refresh_token=r~", token.as_bytes()]);
        assert_eq!(c.read(&map).unwrap().unwrap().token(), TOKEN);
    }

    #[test]
    fn a_non_utf8_byte_elsewhere_does_not_hide_the_cookie() {
        let mut value = b"theme=\xff\xfe; ".to_vec();
        value.extend_from_slice(format!("__Secure-refresh_token={TOKEN}").as_bytes());
        let map = headers(&[&value]);
        assert_eq!(cookie().read(&map).unwrap().unwrap().token(), TOKEN);
    }

    #[test]
    fn duplicates_with_different_values_are_refused() {
        let c = cookie();
        let same = format!("__Secure-refresh_token={TOKEN}; __Secure-refresh_token={TOKEN}");
        assert_eq!(
            c.read(&headers(&[same.as_bytes()]))
                .unwrap()
                .unwrap()
                .token(),
            TOKEN
        );
        let first = format!("__Secure-refresh_token={TOKEN}");
        for second in [
            "__Secure-refresh_token=other",
            "__Secure-refresh_token=r~other",
        ] {
            let error = c
                .read(&headers(&[first.as_bytes(), second.as_bytes()]))
                .unwrap_err();
            assert_eq!(error.kind(), BrowserErrorKind::AmbiguousCookie);
            assert_eq!(error.status_code(), 401);
            assert_eq!(error.clearing_cookie(), Some(&c.clearing()));
        }
    }
}
