//! The app's error answers: RFC 9457 problem bodies, with RFC 6750 challenges on 401/403.

use std::{borrow::Cow, error::Error as StdError, time::Duration};

use axum::{
    extract::{FromRequest, Request, rejection::BytesRejection},
    http::{
        HeaderValue, StatusCode,
        header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE},
    },
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tollgate::{AuthError, AuthErrorKind};
use tollgate_session::{SessionError, SessionErrorKind};

/// An error answer: status, a stable `code`, a `detail`, and the headers that go with it.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: Cow<'static, str>,
    challenge: Option<&'static str>,
    retry_after: Option<u64>,
    extra: Map<String, Value>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, detail: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            challenge: None,
            retry_after: None,
            extra: Map::new(),
        }
    }

    /// 400: malformed JSON, a missing field, a wrong type, a bad query.
    pub fn bad_request(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", detail)
    }

    /// 422: a well-formed request that fails validation.
    pub fn unprocessable(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            detail,
        )
    }

    /// 409: a duplicate.
    pub fn conflict(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", detail)
    }

    /// 404: no such resource (or one of another organization).
    pub fn not_found(what: &'static str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no such {what}"),
        )
    }

    /// 404 for an unknown route.
    pub fn no_route() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such route")
    }

    /// 405 for a known route and another method.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this route does not accept this method",
        )
    }

    /// 415: a body that is not JSON.
    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the body must be JSON (content-type: application/json)",
        )
    }

    /// A body that could not be read: 413 past the body limit (axum's 2 MB by default),
    /// 400 otherwise.
    pub fn unreadable_body(rejection: &BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the request body is too large",
            )
        } else {
            Self::bad_request(rejection.body_text())
        }
    }

    /// 401 for wrong credentials, or a suspended user (the same answer for both).
    pub fn invalid_credentials() -> Self {
        let mut error = Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "invalid username, email or password",
        );
        error.challenge = Some("Bearer");
        error
    }

    /// 401 for a wrong current password.
    pub fn wrong_password() -> Self {
        let mut error = Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "the old password is wrong",
        );
        error.challenge = Some("Bearer");
        error
    }

    /// 401 `invalid_token` with this code and detail.
    pub fn invalid_token(code: &'static str, detail: impl Into<Cow<'static, str>>) -> Self {
        let mut error = Self::new(StatusCode::UNAUTHORIZED, code, detail);
        error.challenge = Some(r#"Bearer error="invalid_token""#);
        error
    }

    /// 429 with `Retry-After`.
    pub fn too_many_attempts(retry_after: Duration) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "too many attempts: retry later",
        );
        error.retry_after = Some(retry_after.as_secs_f64().ceil().max(1.0) as u64);
        error
    }

    /// 503 with `Retry-After`: a store cannot answer. The cause is logged, not sent.
    pub fn unavailable(what: &'static str, source: &dyn StdError) -> Self {
        tracing::error!(error = %source, "{what} unavailable");
        let mut error = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!("the {what} is unavailable: retry later"),
        );
        error.retry_after = Some(1);
        error
    }

    /// 503 `unavailable` with `Retry-After` for `GET /health`: `down` names the stores that do
    /// not answer, in the detail and as the `down` member. Logged at `warn`: a load balancer
    /// asks every few seconds.
    pub fn down(down: &[&str]) -> Self {
        let names = down.join(" and ");
        tracing::warn!(down = %names, "health check failed");
        let mut error = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!("not ready: the {names} did not answer"),
        );
        error.retry_after = Some(1);
        error.with_member("down", down.to_vec())
    }

    /// 503 `draining` for `GET /health` once the shutdown signal is received: the load
    /// balancer takes the instance out while it still serves every other request.
    pub fn draining() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "draining",
            "the instance is draining: it is shutting down and takes no new traffic",
        )
    }

    /// 503 `busy` with `Retry-After`: too many requests already wait for a password hash.
    pub fn busy() -> Self {
        tracing::debug!("password hashing queue full: request refused");
        let mut error = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "the server is busy checking passwords: retry later",
        );
        error.retry_after = Some(1);
        error
    }

    /// 503 with `Retry-After`: the revocation store cannot answer a check. The code and
    /// detail are those the `RevocationLayer` answers with on sensitive routes
    /// (`revocation_store_unavailable`). The cause is logged, not sent.
    pub fn revocation_store_unavailable(source: &dyn StdError) -> Self {
        tracing::error!(error = %source, "revocation store unavailable");
        let kind = AuthErrorKind::StoreUnavailable;
        let mut error = Self::new(kind.status(), kind.code(), kind.description());
        error.retry_after = Some(1);
        error
    }

    /// 500: a bug or an unexpected failure. The cause is logged, not sent.
    pub fn internal(source: &dyn StdError) -> Self {
        tracing::error!(error = %source, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "an unexpected error occurred",
        )
    }

    /// Add a member to the problem body.
    #[must_use]
    pub fn with_member(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(name.to_owned(), value.into());
        self
    }

    /// The status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = Map::new();
        body.insert("type".to_owned(), "about:blank".into());
        body.insert(
            "title".to_owned(),
            self.status.canonical_reason().unwrap_or("Error").into(),
        );
        body.insert("status".to_owned(), self.status.as_u16().into());
        body.insert("detail".to_owned(), self.detail.into_owned().into());
        body.insert("code".to_owned(), self.code.into());
        body.extend(self.extra);
        let body = serde_json::to_vec(&Value::Object(body)).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(challenge) = self.challenge {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_) => Self::unavailable("database", &error),
            _ => Self::internal(&error),
        }
    }
}

impl From<SessionError> for ApiError {
    fn from(error: SessionError) -> Self {
        match error.kind() {
            SessionErrorKind::Unavailable => Self::unavailable("session store", &error),
            SessionErrorKind::Issue => Self::internal(&error),
            kind => {
                let (code, detail) = match error.auth_error() {
                    Some(auth) => (auth.kind().code(), auth.kind().description()),
                    None => (kind.code(), kind.description()),
                };
                Self::invalid_token(code, detail)
            }
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        let kind = error.kind();
        match kind {
            AuthErrorKind::KeySourceUnavailable => Self::unavailable("key source", &error),
            AuthErrorKind::StoreUnavailable => Self::unavailable("revocation store", &error),
            _ => Self::invalid_token(kind.code(), kind.description()),
        }
    }
}

impl From<tollgate::revocation::RevocationStoreError> for ApiError {
    fn from(error: tollgate::revocation::RevocationStoreError) -> Self {
        Self::unavailable("revocation store", &error)
    }
}

/// A JSON body: any syntax error, missing field or wrong type is a 400 problem (axum's
/// `Json` answers 422 for the last two, which this API reserves for validation).
///
/// A body with a `content-type` other than JSON is a 415; a body without one is read as JSON.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(&request) {
            return Err(ApiError::unsupported_media_type());
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| ApiError::unreadable_body(&rejection))?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// An optional JSON body: empty is `None`.
#[derive(Debug, Clone, Copy, Default)]
pub struct OptionalJsonBody<T>(pub Option<T>);

impl<S, T> FromRequest<S> for OptionalJsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = is_json(&request);
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| ApiError::unreadable_body(&rejection))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(None));
        }
        if !json {
            return Err(ApiError::unsupported_media_type());
        }
        parse_json(&bytes).map(|value| Self(Some(value)))
    }
}

fn is_json(request: &Request) -> bool {
    let Some(content_type) = request.headers().get(CONTENT_TYPE) else {
        return true;
    };
    let Ok(content_type) = content_type.to_str() else {
        return false;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|error| {
        let detail = match error.classify() {
            serde_json::error::Category::Data => format!("invalid request body: {error}"),
            _ => format!("malformed JSON: {error}"),
        };
        ApiError::bad_request(detail)
    })
}

#[cfg(test)]
mod tests {
    use axum::body::Body;

    use super::*;

    async fn status_of(body: Body) -> StatusCode {
        let request = Request::builder()
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .unwrap();
        match JsonBody::<Value>::from_request(request, &()).await {
            Ok(_) => StatusCode::OK,
            Err(error) => error.into_response().status(),
        }
    }

    #[tokio::test]
    async fn a_body_past_the_limit_is_413_and_a_broken_one_400() {
        let too_large = vec![b' '; 3 << 20];
        assert_eq!(
            status_of(Body::from(too_large)).await,
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert_eq!(status_of(Body::from("{")).await, StatusCode::BAD_REQUEST);
        assert_eq!(status_of(Body::from("{}")).await, StatusCode::OK);
    }
}
