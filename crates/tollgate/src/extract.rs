//! axum integration: the [`Claims`] extractor (and `Option<Claims<C>>`), and rejections as
//! responses.

use std::{any::type_name, fmt};

use axum_core::{
    body::Body,
    extract::{FromRequestParts, OptionalFromRequestParts},
    response::{IntoResponse, Response},
};
use http::{StatusCode, request::Parts};

use crate::{AuthError, AuthErrorKind, Claims, response::http_response, verify::Anonymous};

impl<S, C> FromRequestParts<S> for Claims<C>
where
    S: Send + Sync,
    C: Send + Sync + 'static,
{
    type Rejection = ClaimsRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(claims) = parts.extensions.get::<Self>() {
            return Ok(claims.clone());
        }
        if parts.extensions.get::<Anonymous>().is_some() {
            return Err(ClaimsRejection::Unauthenticated(
                AuthErrorKind::MissingToken.into(),
            ));
        }
        Err(ClaimsRejection::MissingVerifyLayer(MissingVerifyLayer {
            claims: type_name::<C>(),
        }))
    }
}

impl<S, C> OptionalFromRequestParts<S> for Claims<C>
where
    S: Send + Sync,
    C: Send + Sync + 'static,
{
    type Rejection = ClaimsRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Self>().cloned())
    }
}

/// Why the [`Claims`] extractor failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClaimsRejection {
    /// The request passed an optional `VerifyLayer` without a token: 401.
    Unauthenticated(AuthError),
    /// No `VerifyLayer` for this claims type runs in front of the handler: 500, a bug in
    /// the application's wiring.
    MissingVerifyLayer(MissingVerifyLayer),
}

impl ClaimsRejection {
    /// The HTTP status of the rejection.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthenticated(error) => error.status(),
            Self::MissingVerifyLayer(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The text of the rejection.
    #[must_use]
    pub fn body_text(&self) -> String {
        match self {
            Self::Unauthenticated(error) => error.body_text().to_owned(),
            Self::MissingVerifyLayer(missing) => missing.to_string(),
        }
    }
}

impl fmt::Display for ClaimsRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.body_text())
    }
}

impl std::error::Error for ClaimsRejection {}

impl IntoResponse for ClaimsRejection {
    fn into_response(self) -> Response {
        match self {
            Self::Unauthenticated(error) => error.into_response(),
            Self::MissingVerifyLayer(missing) => missing.into_response(),
        }
    }
}

/// `Claims<C>` was asked for on a route without a `VerifyLayer` decoding `C`.
#[derive(Debug, Clone, Copy)]
pub struct MissingVerifyLayer {
    claims: &'static str,
}

impl fmt::Display for MissingVerifyLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no `Claims<{}>` in the request: is a `VerifyLayer` decoding this type in front of the route?",
            self.claims
        )
    }
}

impl std::error::Error for MissingVerifyLayer {}

impl IntoResponse for MissingVerifyLayer {
    fn into_response(self) -> Response {
        tracing::error!(target: "tollgate::rejection", claims = self.claims, "Claims extractor used without its VerifyLayer");
        (StatusCode::INTERNAL_SERVER_ERROR, self.to_string()).into_response()
    }
}

/// A rejection as the default HTTP response: RFC 6750 challenge and RFC 9457 problem body.
/// Lets handlers return `Result<_, AuthError>` (e.g. from a policy check).
impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let (mut parts, body) = http_response(&self, None, false).into_parts();
        parts.extensions.insert(self);
        Response::from_parts(parts, Body::from(body))
    }
}
