//! `/api/auth/browser/...`: register, login, refresh and logout for the web app (cookie mode).
//!
//! The refresh token lives only in tollgate-session's refresh cookie
//! ([`RefreshCookie`](tollgate_session::browser::RefreshCookie): `HttpOnly; Secure;
//! SameSite=Strict; Path=/api/auth/browser`, persistent only with `remember_me`); the access
//! token goes in the JSON body. [`BrowserSessions`] sets, rotates and clears the cookie; these
//! handlers check the credentials (as the JSON API does), record the sign-ins, and shape the
//! answers like the rest of the API. The CSRF guard in front of all four is set up in
//! [`crate::app`].

use std::sync::Arc;

use axum::{
    Json,
    extract::State,
    http::{
        HeaderMap, HeaderValue, StatusCode,
        header::{CACHE_CONTROL, SET_COOKIE},
    },
    response::{IntoResponse, Response},
};
use serde::Serialize;
use tollgate_session::browser::{BrowserError, BrowserGrant, BrowserSessions};
use utoipa::ToSchema;

use super::{
    Client,
    auth::{self, LoginBody, RegisterBody},
};
use crate::{
    db::{Db, User},
    error::{ApiError, JsonBody},
    limit::LoginLimiter,
    openapi::{Conflict, Csrf, TooManyRequests, Unauthorized, Unprocessable},
    password::Hasher,
    stores::{Revocations, Sessions, UserClaims},
    views::UserView,
};

/// The browser sessions of the app.
pub type Browser = BrowserSessions<Sessions, UserClaims, Revocations>;

/// The path the refresh cookie is scoped to: these routes and nothing else.
pub const COOKIE_PATH: &str = "/api/auth/browser";

/// `{user?, access, token_type, expires_in}`: no refresh token, it is in the cookie.
#[derive(Debug, Serialize, ToSchema)]
pub struct BrowserTokens {
    /// The user (register and login only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<UserView>,
    /// Access token.
    pub access: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

fn granted(status: StatusCode, grant: &BrowserGrant, user: Option<&User>) -> Response {
    let body = BrowserTokens {
        user: user.map(UserView::from),
        access: grant.access_token().to_owned(),
        token_type: "Bearer",
        expires_in: grant.expires_in(),
    };
    (status, grant.headers(), Json(body)).into_response()
}

/// A refusal of tollgate-session as the API's problem answer, with the `Set-Cookie` that
/// clears the cookie when the refusal is about the cookie.
fn refused(error: &BrowserError) -> Response {
    let api = match error.session_error() {
        Some(session) => ApiError::from(session.clone()),
        None if error.status_code() == 401 => {
            ApiError::invalid_token(error.kind().code(), error.kind().description())
        }
        None => ApiError::internal(error),
    };
    let mut response = api.into_response();
    if let Some(clearing) = error.clearing_cookie() {
        response.headers_mut().insert(SET_COOKIE, clearing.clone());
    }
    response
}

/// `POST /api/auth/browser/register`: as `/api/auth/register`, the refresh token in the
/// cookie (a session cookie: registering does not remember the device).
#[utoipa::path(
    post,
    path = "/api/auth/browser/register",
    operation_id = "browser_register",
    tag = "browser",
    request_body = RegisterBody,
    responses(
        (status = 201, description = "As `/api/auth/register`; the refresh token in the cookie", body = BrowserTokens, headers(("set-cookie" = String, description = "The refresh cookie (`HttpOnly; Secure; SameSite=Strict; Path=/api/auth/browser`)"))),
        (status = 403, response = Csrf),
        (status = 409, response = Conflict),
        (status = 422, response = Unprocessable),
    )
)]
pub async fn register(
    State(db): State<Db>,
    State(hasher): State<Hasher>,
    State(browser): State<Browser>,
    client: Client,
    JsonBody(body): JsonBody<RegisterBody>,
) -> Result<Response, ApiError> {
    let (user, new) = auth::create_account(&db, &hasher, &client, body).await?;
    let (_, grant) = match browser.login(new).await {
        Ok(opened) => opened,
        Err(error) => {
            auth::remove_account(&db, &user).await;
            return Ok(refused(&error));
        }
    };
    auth::login_succeeded(&db, &user, &client).await;
    Ok(granted(StatusCode::CREATED, &grant, Some(&user)))
}

/// `POST /api/auth/browser/login`: as `/api/auth/login` (same rate limits, same 401), the
/// refresh token in the cookie, persistent with `remember_me`.
#[utoipa::path(
    post,
    path = "/api/auth/browser/login",
    operation_id = "browser_login",
    tag = "browser",
    request_body = LoginBody,
    responses(
        (status = 200, description = "As `/api/auth/login`; the refresh token in the cookie", body = BrowserTokens, headers(("set-cookie" = String, description = "The refresh cookie (`HttpOnly; Secure; SameSite=Strict; Path=/api/auth/browser`)"))),
        (status = 401, response = Unauthorized),
        (status = 403, response = Csrf),
        (status = 422, response = Unprocessable),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn login(
    State(db): State<Db>,
    State(hasher): State<Hasher>,
    State(browser): State<Browser>,
    State(limiter): State<Arc<LoginLimiter>>,
    client: Client,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<Response, ApiError> {
    let (user, new) = auth::check_credentials(&db, &hasher, &limiter, &client, body).await?;
    match browser.login(new).await {
        Ok((_, grant)) => {
            auth::login_succeeded(&db, &user, &client).await;
            Ok(granted(StatusCode::OK, &grant, Some(&user)))
        }
        Err(error) => {
            let answer = match error.session_error() {
                Some(session) => auth::session_refused(session.clone()),
                None => ApiError::internal(&error),
            };
            Err(auth::login_failed(&db, &user, &client, answer).await)
        }
    }
}

/// `POST /api/auth/browser/refresh`: rotate the cookie; 401 (and the cookie cleared) when it
/// is missing, invalid, expired, spent (reuse ends the session) or revoked.
#[utoipa::path(
    post,
    path = "/api/auth/browser/refresh",
    operation_id = "browser_refresh",
    tag = "browser",
    security(("refresh_cookie" = [])),
    responses(
        (status = 200, description = "The cookie rotated, a new access token", body = BrowserTokens, headers(("set-cookie" = String, description = "The refresh cookie (`HttpOnly; Secure; SameSite=Strict; Path=/api/auth/browser`)"))),
        (status = 401, response = Unauthorized),
        (status = 403, response = Csrf),
    )
)]
pub async fn refresh(State(browser): State<Browser>, headers: HeaderMap) -> Response {
    match browser.refresh(&headers).await {
        Ok(grant) => granted(StatusCode::OK, &grant, None),
        Err(error) => refused(&error),
    }
}

/// `POST /api/auth/browser/logout`: end the cookie's session, revoke the access token sent
/// with it, clear the cookie. 204 whether or not there was a live session.
#[utoipa::path(
    post,
    path = "/api/auth/browser/logout",
    operation_id = "browser_logout",
    tag = "browser",
    security((), ("refresh_cookie" = []), ("refresh_cookie" = [], "bearer" = [])),
    responses(
        (status = 204, description = "The cookie's session ended (if any), the access token sent \
            as `Authorization: Bearer` (if any) revoked, and the cookie cleared", headers(("set-cookie" = String, description = "The refresh cookie (`HttpOnly; Secure; SameSite=Strict; Path=/api/auth/browser`)"))),
        (status = 403, response = Csrf),
    )
)]
pub async fn logout(State(browser): State<Browser>, headers: HeaderMap) -> Response {
    match browser.logout(&headers).await {
        Ok(ended) => {
            tracing::info!(ended, "browser logout");
            let mut response = StatusCode::NO_CONTENT.into_response();
            let headers = response.headers_mut();
            headers.insert(SET_COOKIE, browser.cookie().clearing());
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => refused(&error),
    }
}
