//! How a rejection becomes a response: RFC 6750 challenges with RFC 9457 problem bodies over
//! HTTP, trailers-only `grpc-status` answers for gRPC, or whatever a [`Responder`] of your
//! own returns.
//!
//! Every tollgate layer takes a responder (`with_responder`); the default,
//! [`DefaultResponder`], looks at the request's `content-type`: `application/grpc*` gets a
//! gRPC status, anything else an HTTP problem response.
//!
//! ```
//! use bytes::Bytes;
//! use http::{HeaderMap, Response, StatusCode};
//! use tollgate::{AuthError, response::{DefaultResponder, Responder}};
//!
//! // A responder of your own: a closure works.
//! let plain = |error: &AuthError, _request: &HeaderMap| {
//!     let mut response = Response::new(Bytes::from_static(b"no"));
//!     *response.status_mut() = error.status();
//!     response
//! };
//! let response = plain.respond(&AuthError::new(tollgate::AuthErrorKind::Expired), &HeaderMap::new());
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//!
//! // The default, with a realm in its challenges.
//! let default = DefaultResponder::new().realm("crm")?;
//! let response = default.respond(&AuthError::new(tollgate::AuthErrorKind::Expired), &HeaderMap::new());
//! assert_eq!(
//!     response.headers()["www-authenticate"],
//!     r#"Bearer realm="crm", error="invalid_token""#
//! );
//! # Ok::<(), tollgate::ConfigError>(())
//! ```

use std::{fmt, fmt::Write as _, sync::Arc};

use bytes::Bytes;
use http::{
    HeaderMap, HeaderValue, Response, StatusCode,
    header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE},
};

pub use crate::body::{RejectionBody, ResponseBody};
use crate::error::{AuthError, ConfigError};

/// Turns a rejection into a response.
///
/// Implemented by [`DefaultResponder`] and by closures
/// `Fn(&AuthError, &HeaderMap) -> Response<Bytes>` (the second argument is the request's
/// headers). tollgate adds the [`AuthError`] to the response extensions afterwards.
///
/// See the [module docs](self) for an example.
pub trait Responder: Clone {
    /// The response for `error`, given the rejected request's headers.
    fn respond(&self, error: &AuthError, request: &HeaderMap) -> Response<Bytes>;
}

impl<F> Responder for F
where
    F: Fn(&AuthError, &HeaderMap) -> Response<Bytes> + Clone,
{
    fn respond(&self, error: &AuthError, request: &HeaderMap) -> Response<Bytes> {
        self(error, request)
    }
}

/// The default [`Responder`]: HTTP problem responses, or gRPC statuses for gRPC requests.
///
/// - 401 and 403 carry `WWW-Authenticate: Bearer` (RFC 6750 §3): no `error` attribute when
///   no token was sent, `error="invalid_token"` for a bad token, `error="insufficient_scope"`
///   with the required `scope` for a denial; an optional `realm`, and `error_description`
///   when enabled.
/// - 503 (key source or revocation store unavailable) carries `Retry-After`.
/// - The body is `application/problem+json` (RFC 9457) with `type`, `title`, `status`,
///   `detail` and a `code` member ([`AuthErrorKind::code`](crate::AuthErrorKind::code)); it never contains the token.
/// - A request whose `content-type` starts with `application/grpc` gets a trailers-only
///   response with `grpc-status` 16 (UNAUTHENTICATED), 7 (PERMISSION_DENIED) or
///   14 (UNAVAILABLE) and a `grpc-message`.
///
/// See the [module docs](self) for an example.
#[derive(Clone, Default)]
pub struct DefaultResponder {
    realm: Option<Arc<str>>,
    error_description: bool,
}

impl DefaultResponder {
    /// The default responder: no realm, no `error_description`.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Add `realm="..."` to every challenge.
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] when the realm holds `"`, `\` or a character that is not
    /// visible ASCII or space.
    pub fn realm(mut self, realm: impl Into<Arc<str>>) -> Result<Self, ConfigError> {
        let realm = realm.into();
        if !is_quotable(&realm) {
            return Err(ConfigError::OutOfRange {
                setting: "realm",
                expected: "visible ASCII without quotes or backslashes",
            });
        }
        self.realm = Some(realm);
        Ok(self)
    }

    /// Add `error_description="..."` (the [`AuthErrorKind::description`](crate::AuthErrorKind::description)) to challenges.
    #[must_use]
    pub fn error_description(mut self, enabled: bool) -> Self {
        self.error_description = enabled;
        self
    }
}

impl DefaultResponder {
    /// The HTTP answer: the status, a `WWW-Authenticate: Bearer` challenge for 401 and 403
    /// (with this responder's realm and, when enabled, `error_description`), `Retry-After`
    /// for 503, and the problem body.
    #[must_use]
    pub fn http_response(&self, error: &AuthError) -> Response<Bytes> {
        let kind = error.kind();
        let status = kind.status();
        let body = problem(status, &error.to_string(), kind.code(), error.scope());
        let mut response = Response::new(body);
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::SERVICE_UNAVAILABLE {
            let seconds = error.retry_after().map_or(1, |d| d.as_secs().max(1));
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        } else if let Some(challenge) = self.challenge(error) {
            headers.insert(WWW_AUTHENTICATE, challenge);
        }
        response
    }

    /// The gRPC answer: a trailers-only response with `grpc-status` 16 (UNAUTHENTICATED),
    /// 7 (PERMISSION_DENIED) or 14 (UNAVAILABLE) and a `grpc-message`.
    #[must_use]
    pub fn grpc_response(&self, error: &AuthError) -> Response<Bytes> {
        let kind = error.kind();
        let code: u16 = match kind.status() {
            StatusCode::FORBIDDEN => 7,
            StatusCode::SERVICE_UNAVAILABLE => 14,
            _ => 16,
        };
        let mut response = Response::new(Bytes::new());
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        headers.insert("grpc-status", HeaderValue::from(code));
        // Descriptions are plain ASCII without '%', so they need no percent-encoding.
        headers.insert("grpc-message", HeaderValue::from_static(kind.description()));
        if kind.status() == StatusCode::UNAUTHORIZED {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }

    /// The `WWW-Authenticate: Bearer ...` value for a 401 or 403 (RFC 6750 §3).
    fn challenge(&self, error: &AuthError) -> Option<HeaderValue> {
        let kind = error.kind();
        if !matches!(
            kind.status(),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
        ) {
            return None;
        }
        let mut value = String::from("Bearer");
        let mut separator = " ";
        let mut param = |name: &str, content: &str| {
            // Writing to a String cannot fail.
            let _ = write!(value, "{separator}{name}=\"{content}\"");
            separator = ", ";
        };
        if let Some(realm) = &self.realm {
            param("realm", realm);
        }
        if let Some(code) = kind.bearer_error() {
            param("error", code);
            if self.error_description {
                param("error_description", kind.description());
            }
            if let Some(scope) = error.scope().filter(|s| is_quotable(s)) {
                param("scope", scope);
            }
        }
        HeaderValue::try_from(value).ok()
    }
}

impl Responder for DefaultResponder {
    fn respond(&self, error: &AuthError, request: &HeaderMap) -> Response<Bytes> {
        if is_grpc(request) {
            self.grpc_response(error)
        } else {
            self.http_response(error)
        }
    }
}

impl fmt::Debug for DefaultResponder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DefaultResponder")
            .field("realm", &self.realm)
            .field("error_description", &self.error_description)
            .finish()
    }
}

/// An RFC 9457 problem body: `type` (`about:blank`), `title` (the status's reason),
/// `status`, `detail` and the stable `code` member every tollgate answer carries. What the
/// [`DefaultResponder`] answers with, for other middleware and handlers that refuse the same
/// way (serve it as `application/problem+json`).
///
/// ```
/// use http::StatusCode;
///
/// let body = tollgate::response::problem_body(StatusCode::FORBIDDEN, "cross-site request", "csrf");
/// let json: serde_json::Value = serde_json::from_slice(&body)?;
/// assert_eq!(json["code"], "csrf");
/// assert_eq!(json["title"], "Forbidden");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[must_use]
pub fn problem_body(status: StatusCode, detail: &str, code: &str) -> Bytes {
    problem(status, detail, code, None)
}

/// [`problem_body`], with the required `scope` of a 403 `insufficient_scope`.
fn problem(status: StatusCode, detail: &str, code: &str, scope: Option<&str>) -> Bytes {
    let mut problem = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
        "code": code,
    });
    if let (Some(scope), Some(object)) = (scope, problem.as_object_mut()) {
        object.insert("scope".to_owned(), scope.into());
    }
    serde_json::to_vec(&problem)
        .map(Bytes::from)
        .unwrap_or_default()
}

/// Whether the request is a gRPC call (`content-type: application/grpc*`).
#[must_use]
pub fn is_grpc(request: &HeaderMap) -> bool {
    request
        .get(CONTENT_TYPE)
        .is_some_and(|ct| ct.as_bytes().starts_with(b"application/grpc"))
}

fn is_quotable(value: &str) -> bool {
    value
        .bytes()
        .all(|b| (b == b' ' || b.is_ascii_graphic()) && b != b'"' && b != b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AuthErrorKind;

    fn grpc_request() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/grpc+proto"),
        );
        headers
    }

    #[test]
    fn missing_token_challenge_has_no_error() {
        let response =
            DefaultResponder::new().respond(&AuthErrorKind::MissingToken.into(), &HeaderMap::new());
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()[WWW_AUTHENTICATE], "Bearer");
        assert_eq!(response.headers()[CONTENT_TYPE], "application/problem+json");
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body["status"], 401);
        assert_eq!(body["code"], "missing_token");
    }

    #[test]
    fn insufficient_scope_names_the_scope() {
        let response = DefaultResponder::new().error_description(true).respond(
            &AuthError::insufficient_scope("customer:read"),
            &HeaderMap::new(),
        );
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            response.headers()[WWW_AUTHENTICATE],
            r#"Bearer error="insufficient_scope", error_description="the token does not grant the required permission", scope="customer:read""#
        );
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(
            body["detail"],
            "the token does not grant the required permission (requires `customer:read`)"
        );
        assert_eq!(body["scope"], "customer:read");
    }

    #[test]
    fn unavailable_has_retry_after_and_no_challenge() {
        let response = DefaultResponder::new()
            .respond(&AuthErrorKind::StoreUnavailable.into(), &HeaderMap::new());
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[RETRY_AFTER], "1");
        assert!(response.headers().get(WWW_AUTHENTICATE).is_none());
    }

    #[test]
    fn grpc_requests_get_grpc_statuses() {
        let respond =
            |kind: AuthErrorKind| DefaultResponder::new().respond(&kind.into(), &grpc_request());
        assert_eq!(
            respond(AuthErrorKind::Expired).headers()["grpc-status"],
            "16"
        );
        assert_eq!(
            respond(AuthErrorKind::InsufficientScope).headers()["grpc-status"],
            "7"
        );
        assert_eq!(
            respond(AuthErrorKind::StoreUnavailable).headers()["grpc-status"],
            "14"
        );
        assert_eq!(respond(AuthErrorKind::Expired).status(), StatusCode::OK);
    }

    #[test]
    fn realm_must_be_quotable() {
        assert!(DefaultResponder::new().realm("a\"b").is_err());
        assert!(DefaultResponder::new().realm("my api").is_ok());
    }
}
