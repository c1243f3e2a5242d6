//! The CSRF guard: [`CsrfGuardLayer`] refuses the requests that another site may have made a
//! browser send, before the inner service reads any cookie.

mod future;
mod layer;
mod origin;
mod service;
#[cfg(test)]
mod tests;

use std::{error::Error as StdError, fmt};

use http::{
    HeaderMap, HeaderValue, Request, Response, StatusCode,
    header::{CONTENT_TYPE, HOST, ORIGIN},
};

pub use future::CsrfGuardFuture;
pub use layer::CsrfGuardLayer;
pub use service::CsrfGuard;
use tollgate::response::{RejectionBody, problem_body};

use origin::{AllowedOrigin, OriginRef};

/// The `Sec-Fetch-Site` request header (W3C Fetch Metadata).
const SEC_FETCH_SITE: &str = "sec-fetch-site";

/// Why the [`CsrfGuard`] refused a request: every refusal is 403 with the problem code
/// `csrf`.
///
/// Opaque: ask [`kind`](Self::kind). The refusal response carries it in its extensions, so an
/// outer layer can tell the cases apart (or render its own answer).
///
/// See the [module docs](crate::browser) for an example.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsrfError {
    kind: CsrfErrorKind,
}

/// What the [`CsrfGuard`] found, as returned by [`CsrfError::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CsrfErrorKind {
    /// `Origin` names another origin than the request's own, and not an allowed one.
    ForeignOrigin,
    /// `Sec-Fetch-Site: cross-site`, and `Origin` is not an allowed origin.
    CrossSite,
    /// No `Origin`, and `Sec-Fetch-Site` does not show a same-origin request or one the user
    /// started (`same-site`, an unknown value, or none at all where
    /// [`allow_missing_origin(false)`](CsrfGuardLayer::allow_missing_origin) asks for one).
    MissingOrigin,
    /// `Origin` is not an origin: `null`, not ASCII, not `http(s)://host[:port]`, or sent
    /// twice.
    MalformedOrigin,
}

impl CsrfErrorKind {
    /// The problem code of every refusal: `"csrf"`.
    #[must_use]
    pub const fn code(self) -> &'static str {
        "csrf"
    }

    /// A short human description, the problem body's `detail`.
    #[must_use]
    pub const fn description(self) -> &'static str {
        match self {
            Self::ForeignOrigin => {
                "the request's Origin is neither this site nor an allowed origin"
            }
            Self::CrossSite => {
                "the browser marks the request cross-site and its Origin is not an allowed origin"
            }
            Self::MissingOrigin => {
                "the request has no Origin and does not show that it comes from this site"
            }
            Self::MalformedOrigin => "the request's Origin header is malformed",
        }
    }
}

impl fmt::Display for CsrfErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

impl CsrfError {
    fn new(kind: CsrfErrorKind) -> Self {
        Self { kind }
    }

    /// What the guard found.
    #[must_use]
    pub fn kind(&self) -> CsrfErrorKind {
        self.kind
    }

    /// The HTTP status of every refusal: 403.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        StatusCode::FORBIDDEN
    }

    /// The text of the refusal: the problem body's `detail`.
    #[must_use]
    pub fn body_text(&self) -> &'static str {
        self.kind.description()
    }

    /// The refusal: 403, `application/problem+json`, the problem body, and this error in the
    /// extensions.
    fn to_response<B: RejectionBody>(self) -> Response<B> {
        let mut response = Response::new(B::rejection(problem_body(
            self.status(),
            self.body_text(),
            self.kind.code(),
        )));
        *response.status_mut() = self.status();
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response.extensions_mut().insert(self);
        response
    }
}

impl fmt::Display for CsrfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.description())
    }
}

impl StdError for CsrfError {}

/// What a [`CsrfGuardLayer`] shares with its services.
#[derive(Clone)]
struct CsrfGuardConfig {
    allowed: Vec<AllowedOrigin>,
    allow_same_host: bool,
    allow_missing_origin: bool,
}

impl Default for CsrfGuardConfig {
    fn default() -> Self {
        Self {
            allowed: Vec::new(),
            allow_same_host: true,
            allow_missing_origin: true,
        }
    }
}

impl fmt::Debug for CsrfGuardConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsrfGuardConfig")
            .field("allowed_origins", &self.allowed)
            .field("allow_same_host", &self.allow_same_host)
            .field("allow_missing_origin", &self.allow_missing_origin)
            .finish()
    }
}

/// What `Sec-Fetch-Site` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FetchSite {
    /// No such header: a browser from before Fetch Metadata, or not a browser.
    Absent,
    /// `same-origin`, or `none` (the user started the request: typed it, or a bookmark).
    SameOriginOrUser,
    /// `same-site`: another origin of the same site, such as a sibling subdomain.
    SameSite,
    /// `cross-site`.
    CrossSite,
    /// Any other value, or several values.
    Unknown,
}

impl FetchSite {
    fn of(headers: &HeaderMap) -> Self {
        let mut values = headers.get_all(SEC_FETCH_SITE).iter();
        let Some(first) = values.next() else {
            return Self::Absent;
        };
        let mut site = Self::parse(first.as_bytes());
        for value in values {
            site = match Self::parse(value.as_bytes()) {
                Self::CrossSite => Self::CrossSite,
                _ if site == Self::CrossSite => Self::CrossSite,
                _ => Self::Unknown,
            };
        }
        site
    }

    fn parse(value: &[u8]) -> Self {
        // The Fetch Metadata values are lowercase tokens: matched byte for byte.
        match value {
            b"same-origin" | b"none" => Self::SameOriginOrUser,
            b"same-site" => Self::SameSite,
            b"cross-site" => Self::CrossSite,
            _ => Self::Unknown,
        }
    }
}

impl CsrfGuardConfig {
    /// The rule, in order; see the [module docs](crate::browser) ("The CSRF rule").
    fn check<B>(&self, request: &Request<B>) -> Result<(), CsrfError> {
        let headers = request.headers();
        let mut origins = headers.get_all(ORIGIN).iter();
        let origin = match (origins.next(), origins.next()) {
            (None, _) => None,
            (Some(value), None) => Some(
                value
                    .to_str()
                    .ok()
                    .and_then(|text| OriginRef::parse(text).ok())
                    .ok_or(CsrfError::new(CsrfErrorKind::MalformedOrigin))?,
            ),
            (Some(_), Some(_)) => return Err(CsrfError::new(CsrfErrorKind::MalformedOrigin)),
        };
        if let Some(origin) = &origin
            && self.allowed.iter().any(|allowed| allowed.matches(origin))
        {
            return Ok(());
        }
        let site = FetchSite::of(headers);
        if site == FetchSite::CrossSite {
            return Err(CsrfError::new(CsrfErrorKind::CrossSite));
        }
        match origin {
            Some(origin) if self.allow_same_host && is_own_origin(&origin, request) => Ok(()),
            Some(_) => Err(CsrfError::new(CsrfErrorKind::ForeignOrigin)),
            None => match site {
                FetchSite::SameOriginOrUser => Ok(()),
                FetchSite::Absent if self.allow_missing_origin => Ok(()),
                _ => Err(CsrfError::new(CsrfErrorKind::MissingOrigin)),
            },
        }
    }
}

/// Whether `origin` is the request's own: its `Host` header (or, without one, as in HTTP/2,
/// the authority of its URI) and the scheme of its URI when the server sees one.
fn is_own_origin<B>(origin: &OriginRef<'_>, request: &Request<B>) -> bool {
    let mut hosts = request.headers().get_all(HOST).iter();
    let authority = match (hosts.next(), hosts.next()) {
        (Some(host), None) => host.to_str().ok(),
        (None, _) => request.uri().authority().map(http::uri::Authority::as_str),
        (Some(_), Some(_)) => None,
    };
    authority.is_some_and(|authority| origin.is_authority(authority, request.uri().scheme_str()))
}
