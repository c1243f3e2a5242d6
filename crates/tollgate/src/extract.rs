//! axum integration: the [`Claims`] extractor (and `Option<Claims<C>>`), and rejections as
//! responses.

use std::{any::type_name, fmt};

use axum_core::{
    body::Body,
    extract::{FromRequestParts, OptionalFromRequestParts},
    response::{IntoResponse, Response},
};
use http::{StatusCode, header::CONTENT_TYPE, request::Parts};

use crate::{
    claims::Claims,
    error::{AuthError, AuthErrorKind},
    middleware::HandlerRejection,
    response::{DefaultResponder, problem_body},
    verify::service::Anonymous,
};

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

/// `Claims<C>` was asked for on a route without a `VerifyLayer` decoding `C`: a bug in the
/// application's wiring, answered 500.
///
/// Its `Display` says what to do: put a `VerifyLayer` in front of the route, with
/// `.claims::<C>()` when `C` is not [`StandardClaims`](crate::StandardClaims). The response
/// is an RFC 9457 problem body with `code` `missing_verify_layer` and a detail that names no
/// type; the full message goes to the log (`error`, target `tollgate::rejection`).
#[derive(Debug, Clone, Copy)]
pub struct MissingVerifyLayer {
    claims: &'static str,
}

impl MissingVerifyLayer {
    /// The stable `code` of the problem body.
    pub const CODE: &'static str = "missing_verify_layer";
}

impl fmt::Display for MissingVerifyLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no `Claims<{claims}>` in the request: add a `VerifyLayer` in front of this route, \
             with `.claims::<{claims}>()` unless the type is `StandardClaims`",
            claims = self.claims
        )
    }
}

impl std::error::Error for MissingVerifyLayer {}

impl IntoResponse for MissingVerifyLayer {
    fn into_response(self) -> Response {
        tracing::error!(target: "tollgate::rejection", claims = self.claims, "{self}");
        let body = problem_body(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the server's authentication is misconfigured (see its log)",
            Self::CODE,
        );
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response()
    }
}

/// A rejection a handler returns (for example from [`Authorizer::check`](crate::policy::Authorizer::check),
/// or a revocation store's error through `?`): answered like the layers' own rejections.
///
/// On its own it is the [`DefaultResponder`]'s HTTP answer (RFC 6750 challenge, RFC 9457
/// problem body). Behind tollgate layers, each layer it passes on the way out renders it
/// again with that layer's responder, so the client gets what the outermost layer (normally
/// the `VerifyLayer`) would answer: its realm, its custom responder, and a gRPC status for a
/// gRPC call. That responder sees the request's `content-type` header only.
impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let (mut parts, body) = DefaultResponder::new().http_response(&self).into_parts();
        parts.extensions.insert(self);
        parts.extensions.insert(HandlerRejection);
        Response::from_parts(parts, Body::from(body))
    }
}
