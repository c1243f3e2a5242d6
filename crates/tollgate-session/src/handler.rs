//! axum handlers (feature `axum`): the JWKS document and RFC 7009 token revocation.
//!
//! Both are plain closures, so they work as axum handlers without this crate depending on
//! axum itself (only on `axum-core`):
//!
//! ```
//! use axum::{Router, routing::{get, post}};
//! use tollgate::key::Algorithm;
//! use tollgate_session::{ClaimsError, Issuer, MemorySessionStore, Session, SessionManager, SigningKey};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let issuer = Issuer::new("crm", "crm-api", SigningKey::generate("k1", Algorithm::ES256)?);
//! let sessions = SessionManager::new(issuer.clone(), MemorySessionStore::new(), |_: Session| async {
//!     Ok::<_, ClaimsError>(())
//! })?;
//!
//! let app: Router = Router::new()
//!     .route("/.well-known/jwks.json", get(issuer.jwks_handler()))
//!     .route("/oauth/revoke", post(sessions.revocation_handler()));
//! # Ok(())
//! # }
//! ```

use std::{
    future::{Future, Ready, ready},
    pin::Pin,
};

use axum_core::response::Response;
use bytes::Bytes;
use http::{
    HeaderMap, HeaderValue, StatusCode,
    header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER},
};
use serde::Deserialize;
use tollgate::{response::problem_body, revocation::RevocationStore};

use crate::{
    error::SessionErrorKind, issuer::Issuer, manager::SessionManager, source::ClaimsSource,
    store::SessionStore,
};

const JSON: HeaderValue = HeaderValue::from_static("application/json");
const PROBLEM_JSON: HeaderValue = HeaderValue::from_static("application/problem+json");

impl Issuer {
    /// An axum handler serving the public keys as a JWK Set (`GET /.well-known/jwks.json`).
    ///
    /// 200 with `application/json` and `Cache-Control: public, max-age=300` (consumers
    /// refetch within five minutes, which bounds step 1 of key rotation, see
    /// [key rotation](crate::SigningKey#key-rotation)). When the issuer has no public key to publish (it signs with an
    /// HMAC secret and has no asymmetric verification keys), 404 with a problem body (`code`
    /// `not_found`): a
    /// shared secret is never published, and an empty set would only tell clients that no
    /// token can be verified.
    ///
    /// The document is built once, when the handler is made.
    ///
    /// See the [module docs](crate::handler) for an example.
    #[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
    pub fn jwks_handler(&self) -> impl Fn() -> Ready<Response> + Clone + Send + Sync + 'static {
        let jwks = self.jwks();
        let body = if jwks.keys.is_empty() {
            None
        } else {
            serde_json::to_vec(&jwks).ok().map(Bytes::from)
        };
        move || {
            ready(match &body {
                Some(body) => {
                    let mut response = Response::new(body.clone().into());
                    let headers = response.headers_mut();
                    headers.insert(CONTENT_TYPE, JSON);
                    headers.insert(
                        CACHE_CONTROL,
                        HeaderValue::from_static("public, max-age=300"),
                    );
                    response
                }
                None => problem(
                    StatusCode::NOT_FOUND,
                    "this issuer signs with a shared secret and publishes no keys",
                    "not_found",
                ),
            })
        }
    }
}

impl<S, F, R> SessionManager<S, F, R>
where
    S: SessionStore,
    F: ClaimsSource,
    R: RevocationStore,
{
    /// An axum handler for token revocation as RFC 7009 describes it (`POST`, body
    /// `application/x-www-form-urlencoded` or `application/json` with `token` and an optional
    /// `token_type_hint`).
    ///
    /// - 200 with an empty body once the token is revoked, and also for a token that is
    ///   invalid, expired or unknown (RFC 7009 §2.2): a refresh token ends its session, an
    ///   access token has its `jti` revoked (see [`SessionManager::revoke`]).
    /// - 400 `{"error":"invalid_request"}` for a body without `token`, with a parameter given
    ///   twice, or of another content type.
    /// - 503 `{"error":"temporarily_unavailable"}` with `Retry-After` when a store cannot
    ///   record the revocation; the client should retry.
    ///
    /// Client authentication (RFC 7009 §2.1, for confidential clients) is not part of it: put
    /// it in front if your clients have credentials. Possession of the token is what lets a
    /// public client revoke it.
    ///
    /// See the [module docs](crate::handler) for an example.
    #[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
    pub fn revocation_handler(
        &self,
    ) -> impl Fn(HeaderMap, Bytes) -> HandlerFuture + Clone + Send + Sync + 'static {
        let manager = self.clone();
        move |headers: HeaderMap, body: Bytes| {
            let manager = manager.clone();
            Box::pin(async move {
                let Some(request) = RevokeRequest::parse(&headers, &body) else {
                    return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
                };
                match manager
                    .revoke(&request.token, request.token_type_hint.as_deref())
                    .await
                {
                    Ok(_) => Response::new(Bytes::new().into()),
                    Err(error) => {
                        tracing::warn!(target: "tollgate::session", %error, "token revocation failed");
                        let mut response = match error.kind() {
                            SessionErrorKind::Unavailable => oauth_error(
                                StatusCode::SERVICE_UNAVAILABLE,
                                "temporarily_unavailable",
                            ),
                            _ => oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
                        };
                        response
                            .headers_mut()
                            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
                        response
                    }
                }
            })
        }
    }
}

/// The future of this crate's asynchronous axum handlers: the RFC 7009 revocation handler
/// ([`SessionManager::revocation_handler`]) and, with the `browser` feature, the browser
/// refresh and logout handlers.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Response> + Send + 'static>>;

/// The body of an RFC 7009 request.
#[derive(Deserialize)]
struct RevokeRequest {
    token: String,
    #[serde(default)]
    token_type_hint: Option<String>,
}

impl RevokeRequest {
    fn parse(headers: &HeaderMap, body: &[u8]) -> Option<Self> {
        let content_type = headers.get(CONTENT_TYPE)?.to_str().ok()?;
        let media_type = content_type.split(';').next()?.trim();
        if media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            let mut token = None;
            let mut token_type_hint = None;
            for (name, value) in form_urlencoded::parse(body) {
                let slot = match &*name {
                    "token" => &mut token,
                    "token_type_hint" => &mut token_type_hint,
                    _ => continue,
                };
                // RFC 6749 §3.1: a parameter must not be repeated.
                if slot.replace(value.into_owned()).is_some() {
                    return None;
                }
            }
            Some(Self {
                token: token.filter(|token| !token.is_empty())?,
                token_type_hint,
            })
        } else if media_type.eq_ignore_ascii_case("application/json") {
            serde_json::from_slice::<Self>(body)
                .ok()
                .filter(|request| !request.token.is_empty())
        } else {
            None
        }
    }
}

fn oauth_error(status: StatusCode, code: &'static str) -> Response {
    let body = serde_json::json!({ "error": code }).to_string();
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, JSON);
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn problem(status: StatusCode, detail: &'static str, code: &'static str) -> Response {
    let mut response = Response::new(problem_body(status, detail, code).into());
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, PROBLEM_JSON);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(content_type: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
        headers
    }

    #[test]
    fn revocation_requests_are_form_or_json() {
        let form = headers("application/x-www-form-urlencoded; charset=utf-8");
        let request =
            RevokeRequest::parse(&form, b"token=abc&token_type_hint=refresh_token").unwrap();
        assert_eq!(request.token, "abc");
        assert_eq!(request.token_type_hint.as_deref(), Some("refresh_token"));
        assert!(RevokeRequest::parse(&form, b"token=a&token=b").is_none());
        assert!(RevokeRequest::parse(&form, b"token_type_hint=access_token").is_none());
        assert!(RevokeRequest::parse(&form, b"token=").is_none());

        let json = headers("application/json");
        let request = RevokeRequest::parse(&json, br#"{"token":"abc"}"#).unwrap();
        assert_eq!(request.token_type_hint, None);
        assert!(RevokeRequest::parse(&json, br#"{"token":3}"#).is_none());
        assert!(RevokeRequest::parse(&headers("text/plain"), b"token=abc").is_none());
        assert!(RevokeRequest::parse(&HeaderMap::new(), b"token=abc").is_none());
    }
}
