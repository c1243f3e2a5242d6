//! The axum side (feature `axum`): grants and errors as responses, and the refresh and logout
//! handlers.

use axum_core::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{
    HeaderMap, HeaderValue, StatusCode,
    header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, SET_COOKIE},
};
use tollgate::{response::problem_body, revocation::RevocationStore};

use super::{
    error::BrowserError,
    sessions::{BrowserGrant, BrowserSessions},
};
use crate::{handler::HandlerFuture, source::ClaimsSource, store::SessionStore};

impl<S, F, R> BrowserSessions<S, F, R>
where
    S: SessionStore,
    F: ClaimsSource,
    R: RevocationStore,
{
    /// An axum handler for the browser's refresh route (`POST`, no body): 200 with the
    /// new access token in the body and the rotated cookie (see [`BrowserGrant`]); 401 with
    /// a problem body and the cookie cleared when the cookie is missing or refused; 503 (with
    /// `Retry-After`, the cookie kept) when a store is unavailable. See
    /// [`refresh`](Self::refresh).
    ///
    /// Put a [`CsrfGuardLayer`](super::CsrfGuardLayer) in front of it.
    ///
    /// ```
    /// use axum::{Router, routing::post};
    /// use tollgate::key::Algorithm;
    /// use tollgate_session::{
    ///     ClaimsError, Issuer, MemorySessionStore, Session, SessionManager, SigningKey,
    ///     browser::{BrowserSessions, CsrfGuardLayer, RefreshCookie},
    /// };
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let issuer = Issuer::new("crm", "crm-api", SigningKey::generate("k1", Algorithm::ES256)?);
    /// let manager = SessionManager::new(issuer, MemorySessionStore::new(), |_: Session| async {
    ///     Ok::<_, ClaimsError>(())
    /// })?;
    /// let browser = BrowserSessions::new(manager, RefreshCookie::new("/auth")?);
    ///
    /// let app: Router = Router::new()
    ///     .route("/auth/refresh", post(browser.refresh_handler()))
    ///     .route("/auth/logout", post(browser.logout_handler()))
    ///     .route_layer(CsrfGuardLayer::new().add_allowed_origin("https://app.example")?);
    /// # Ok(())
    /// # }
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
    pub fn refresh_handler(
        &self,
    ) -> impl Fn(HeaderMap) -> HandlerFuture + Clone + Send + Sync + 'static {
        let browser = self.clone();
        move |headers: HeaderMap| {
            let browser = browser.clone();
            Box::pin(async move {
                match browser.refresh(&headers).await {
                    Ok(grant) => grant.into_response(),
                    Err(error) => error.into_response(),
                }
            })
        }
    }

    /// An axum handler for the browser's logout route (`POST`, no body): 204 with the cookie
    /// cleared, whether or not the request had a live session; 503 (the cookie kept) when a
    /// store cannot record the end. See [`logout`](Self::logout).
    ///
    /// Put a [`CsrfGuardLayer`](super::CsrfGuardLayer) in front of it; see
    /// [`refresh_handler`](Self::refresh_handler) for an example.
    #[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
    pub fn logout_handler(
        &self,
    ) -> impl Fn(HeaderMap) -> HandlerFuture + Clone + Send + Sync + 'static {
        let browser = self.clone();
        move |headers: HeaderMap| {
            let browser = browser.clone();
            Box::pin(async move {
                match browser.logout(&headers).await {
                    Ok(_) => {
                        let mut response = Response::new(Bytes::new().into());
                        *response.status_mut() = StatusCode::NO_CONTENT;
                        let headers = response.headers_mut();
                        headers.insert(SET_COOKIE, browser.cookie().clearing());
                        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
                        response
                    }
                    Err(error) => {
                        tracing::warn!(target: "tollgate::session", %error, "browser logout failed");
                        error.into_response()
                    }
                }
            })
        }
    }
}

/// 200 with the grant's [`headers`](BrowserGrant::headers) and the body
/// `{"access_token", "token_type": "Bearer", "expires_in"}`.
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl IntoResponse for BrowserGrant {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "access_token": self.access_token(),
            "token_type": "Bearer",
            "expires_in": self.expires_in(),
        })
        .to_string();
        let mut response = Response::new(body.into());
        let headers = response.headers_mut();
        headers.extend(self.headers());
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }
}

/// An RFC 9457 problem (`application/problem+json`) with the status of
/// [`BrowserError::status_code`] and the kind's `code`; the `Set-Cookie` that clears the
/// cookie when the error refuses it; `Retry-After: 1` for 503. The error itself is in the
/// response's extensions, for outer layers.
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl IntoResponse for BrowserError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let kind = self.kind();
        let body = problem_body(status, kind.description(), kind.code());
        let mut response = Response::new(body.into());
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(clearing) = self.clearing_cookie() {
            headers.insert(SET_COOKIE, clearing.clone());
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response.extensions_mut().insert(self);
        response
    }
}
