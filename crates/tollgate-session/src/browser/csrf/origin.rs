//! Origins (RFC 6454 §6.2 serialization, `scheme://host[:port]`): parsed from a request's
//! `Origin` header and from the allowed origins of the configuration, and compared with the
//! request's own host.

use std::fmt;

use tollgate::ConfigError;

/// The schemes a browser origin that can carry our cookie has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scheme {
    Http,
    Https,
}

impl Scheme {
    fn parse(scheme: &str) -> Option<Self> {
        if scheme.eq_ignore_ascii_case("https") {
            Some(Self::Https)
        } else if scheme.eq_ignore_ascii_case("http") {
            Some(Self::Http)
        } else {
            None
        }
    }

    const fn default_port(self) -> u16 {
        match self {
            Self::Http => 80,
            Self::Https => 443,
        }
    }

    const fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }
}

/// An origin, borrowed from where it was read. The port is the effective one (the scheme's
/// default when none is written), so `https://a.example` and `https://a.example:443` are the
/// same origin.
#[derive(Debug, Clone, Copy)]
pub(super) struct OriginRef<'a> {
    scheme: Scheme,
    host: &'a str,
    port: u16,
}

impl<'a> OriginRef<'a> {
    /// Parse `scheme://host[:port]`; the error is the reason, for configuration errors.
    pub(super) fn parse(text: &'a str) -> Result<Self, &'static str> {
        if text.eq_ignore_ascii_case("null") {
            return Err("an opaque origin (`null`) names no site");
        }
        if text.contains('*') {
            return Err("wildcards are not allowed: list each origin");
        }
        let Some((scheme, authority)) = text.split_once("://") else {
            return Err("expected `scheme://host[:port]`");
        };
        let Some(scheme) = Scheme::parse(scheme) else {
            return Err("the scheme must be `http` or `https`");
        };
        if authority.contains(['/', '?', '#']) {
            return Err("an origin has no path, query or fragment (not even a trailing `/`)");
        }
        if authority.contains('@') {
            return Err("an origin has no user information");
        }
        let Some((host, port)) = split_host_port(authority) else {
            return Err("the host or the port is malformed (give an IDN host in punycode)");
        };
        Ok(Self {
            scheme,
            host,
            port: port.unwrap_or(scheme.default_port()),
        })
    }

    /// Whether the request's own authority (its `Host` header, or the authority of its URI)
    /// and scheme (of its URI, when the server sees one) name this origin.
    ///
    /// Behind a proxy that terminates TLS the server cannot see the scheme the browser used:
    /// the authority alone decides then, with its port defaulting by this origin's scheme.
    pub(super) fn is_authority(&self, authority: &str, scheme: Option<&str>) -> bool {
        let scheme = match scheme {
            Some(scheme) => match Scheme::parse(scheme) {
                Some(scheme) => scheme,
                None => return false,
            },
            None => self.scheme,
        };
        let Some((host, port)) = split_host_port(authority) else {
            return false;
        };
        scheme == self.scheme
            && port.unwrap_or(scheme.default_port()) == self.port
            && host.eq_ignore_ascii_case(self.host)
    }
}

/// An origin that the configuration allows, canonical: lowercase, the default port dropped.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct AllowedOrigin {
    scheme: Scheme,
    host: Box<str>,
    port: u16,
}

impl AllowedOrigin {
    pub(super) fn parse(text: &str) -> Result<Self, ConfigError> {
        let origin = OriginRef::parse(text).map_err(|reason| ConfigError::InvalidUrl {
            url: text.to_owned(),
            reason,
        })?;
        Ok(Self {
            scheme: origin.scheme,
            host: origin.host.to_ascii_lowercase().into(),
            port: origin.port,
        })
    }

    pub(super) fn matches(&self, origin: &OriginRef<'_>) -> bool {
        self.scheme == origin.scheme
            && self.port == origin.port
            && self.host.eq_ignore_ascii_case(origin.host)
    }
}

impl fmt::Display for AllowedOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme.as_str(), self.host)?;
        if self.port != self.scheme.default_port() {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

impl fmt::Debug for AllowedOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// `host[:port]` as in a `Host` header or an origin: a DNS name or IPv4 address (ASCII
/// letters, digits, `-` and `.`), or an IPv6 address in brackets; a port of 1 to 65535.
fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, rest) = if authority.starts_with('[') {
        let end = authority.find(']')?;
        let (host, rest) = authority.split_at(end + 1);
        let inside = &host[1..host.len() - 1];
        let valid = !inside.is_empty()
            && inside
                .bytes()
                .all(|byte| byte.is_ascii_hexdigit() || matches!(byte, b':' | b'.'));
        (valid.then_some(host)?, rest)
    } else {
        let end = authority.find(':').unwrap_or(authority.len());
        let (host, rest) = authority.split_at(end);
        let valid = !host.is_empty()
            && host.len() <= 253
            && host
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.'));
        (valid.then_some(host)?, rest)
    };
    let port = match rest.strip_prefix(':') {
        None if rest.is_empty() => None,
        None => return None,
        Some(digits) => {
            if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            Some(digits.parse::<u16>().ok().filter(|port| *port != 0)?)
        }
    };
    Some((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(text: &str) -> OriginRef<'_> {
        OriginRef::parse(text).unwrap()
    }

    #[test]
    fn origins_parse_with_their_effective_port() {
        let o = origin("https://app.example");
        assert_eq!(
            (o.scheme, o.host, o.port),
            (Scheme::Https, "app.example", 443)
        );
        let o = origin("http://localhost:8080");
        assert_eq!(
            (o.scheme, o.host, o.port),
            (Scheme::Http, "localhost", 8080)
        );
        let o = origin("http://[::1]:3000");
        assert_eq!((o.host, o.port), ("[::1]", 3000));
        let o = origin("HTTPS://App.Example:443");
        assert_eq!(
            (o.scheme, o.host, o.port),
            (Scheme::Https, "App.Example", 443)
        );
        let o = origin("http://192.0.2.7");
        assert_eq!((o.host, o.port), ("192.0.2.7", 80));
    }

    #[test]
    fn malformed_origins_are_refused_with_a_reason() {
        for bad in [
            "",
            "null",
            "NULL",
            "app.example",
            "https//app.example",
            "ftp://app.example",
            "file://",
            "https://",
            "https://app.example/",
            "https://app.example/path",
            "https://app.example?x",
            "https://app.example#x",
            "https://user@app.example",
            "https://*.app.example",
            "*",
            "https://app.example:",
            "https://app.example:0",
            "https://app.example:65536",
            "https://app.example:80x",
            "https://app.example:+80",
            "https://app example",
            "https://app_example",
            "https://xn--ls8h.example:443:1",
            "https://[::1",
            "https://[]",
            "https://[::1]x",
            "https://[zz::1]",
            "https://bücher.example",
            "https://app.example\u{0}",
        ] {
            assert!(OriginRef::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            OriginRef::parse("https://*.example").unwrap_err(),
            "wildcards are not allowed: list each origin"
        );
    }

    #[test]
    fn allowed_origins_are_canonical_and_match_any_spelling() {
        let allowed = AllowedOrigin::parse("HTTPS://App.Example:443").unwrap();
        assert_eq!(allowed.to_string(), "https://app.example");
        assert!(allowed.matches(&origin("https://app.example")));
        assert!(allowed.matches(&origin("https://APP.example:443")));
        assert!(!allowed.matches(&origin("http://app.example")));
        assert!(!allowed.matches(&origin("https://app.example:8443")));
        assert!(!allowed.matches(&origin("https://evil.app.example")));
        assert!(!allowed.matches(&origin("https://app.example.evil")));
        let allowed = AllowedOrigin::parse("http://localhost:8080").unwrap();
        assert_eq!(allowed.to_string(), "http://localhost:8080");

        match AllowedOrigin::parse("https://app.example/") {
            Err(ConfigError::InvalidUrl { url, reason }) => {
                assert_eq!(url, "https://app.example/");
                assert!(reason.contains("no path"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_own_authority_compares_host_and_effective_port() {
        let o = origin("https://app.example");
        assert!(o.is_authority("app.example", None));
        assert!(o.is_authority("APP.example:443", None));
        assert!(o.is_authority("app.example", Some("https")));
        assert!(!o.is_authority("app.example", Some("http")));
        assert!(!o.is_authority("app.example:8443", None));
        assert!(!o.is_authority("api.app.example", None));
        assert!(!o.is_authority("app.example:", None));
        assert!(!o.is_authority("", None));
        assert!(!o.is_authority("app.example", Some("ws")));

        let o = origin("http://127.0.0.1:8080");
        assert!(o.is_authority("127.0.0.1:8080", None));
        assert!(!o.is_authority("127.0.0.1", None));
        let o = origin("http://[::1]:8080");
        assert!(o.is_authority("[::1]:8080", None));
    }
}
