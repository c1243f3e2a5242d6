//! `/api/auth/...`: register, login, refresh, verify, me, logout, sessions, password.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::json;
use tollgate::{
    AuthErrorKind, StandardClaims,
    revocation::{FailurePolicy, RevocationStatus, RevocationStore, TokenRef},
};
use tollgate_session::{EndReason, NewSession, SessionError, SessionErrorKind, SessionStore};

use super::{Caller, Client};
use crate::{
    db::{Db, NewUser, Taken, User, is_unique_violation, unix_now},
    error::{ApiError, JsonBody, OptionalJsonBody},
    limit::LoginLimiter,
    password::Hasher,
    roles::Role,
    state::{Manager, Settings},
    validate,
    views::{LoginAttemptView, Me, SessionView, Tokens, UserView},
};

/// Usernames nobody can register: the superuser's.
pub(crate) const RESERVED_USERNAMES: [&str; 1] = ["admin"];

/// `POST /api/auth/register` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RegisterBody {
    /// 3 to 64 of `A-Z a-z 0-9 _ . -`; `admin` is reserved.
    #[schema(min_length = 3, max_length = 64, pattern = "^[A-Za-z0-9_.-]+$")]
    username: String,
    /// One `@`, a non-empty local part, a domain with a dot, no spaces, at most 254 bytes.
    #[schema(min_length = 5, max_length = 254)]
    email: String,
    /// At least 8 characters and at most 1024 bytes.
    #[schema(min_length = 8)]
    password: String,
    /// The organization's name (default: the username).
    #[serde(default)]
    #[schema(max_length = 200)]
    organization: Option<String>,
    /// A description of the device (informational; control characters dropped, at most 200
    /// characters kept).
    #[serde(default)]
    device_info: Option<String>,
}

/// The validated fields of a new user; 422 otherwise.
pub(crate) fn new_user_fields(
    username: &str,
    email: &str,
    password: &str,
) -> Result<(String, String), ApiError> {
    let username = validate::username(username).map_err(ApiError::unprocessable)?;
    if RESERVED_USERNAMES
        .iter()
        .any(|reserved| reserved.eq_ignore_ascii_case(&username))
    {
        return Err(ApiError::unprocessable("this username is reserved"));
    }
    let email = validate::email(email).map_err(ApiError::unprocessable)?;
    validate::password(password).map_err(ApiError::unprocessable)?;
    Ok((username, email))
}

/// The 409 for a duplicate username or email.
pub(crate) async fn duplicate(db: &Db, username: &str, email: &str) -> Result<ApiError, ApiError> {
    Ok(match db.taken(username, email).await? {
        Taken::Username => ApiError::conflict("a user with this username already exists"),
        Taken::Email => ApiError::conflict("a user with this email already exists"),
        Taken::Neither => ApiError::conflict("a user with this username or email already exists"),
    })
}

pub(crate) fn new_session(
    user_id: &str,
    client: &Client,
    remember_me: bool,
    device: Option<String>,
) -> NewSession {
    let mut session = NewSession::new(user_id)
        .remember_me(remember_me)
        .ip_address(client.ip.to_string());
    if let Some(agent) = &client.user_agent {
        session = session.user_agent(agent.clone());
    }
    // Free-form and informational: control characters are dropped, not refused.
    if let Some(device) = device
        .map(|device| {
            let kept = device.chars().filter(|c| !c.is_control());
            kept.collect::<String>()
                .trim()
                .chars()
                .take(200)
                .collect::<String>()
        })
        .filter(|device| !device.is_empty())
    {
        session = session.device_info(device);
    }
    session
}

/// `POST /api/auth/register`: a new organization, its admin, and a first session; all of
/// them or none (when the session cannot be opened, the user and the organization are
/// deleted again before the 503).
#[utoipa::path(
    post,
    path = "/api/auth/register",
    operation_id = "register",
    tag = "auth",
    request_body = RegisterBody,
    responses(
        (status = 201, description = "A new organization whose admin the user is, and a first session", body = Tokens),
        (status = 409, response = crate::openapi::Conflict),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn register(
    State(db): State<Db>,
    State(hasher): State<Hasher>,
    State(sessions): State<Manager>,
    client: Client,
    JsonBody(body): JsonBody<RegisterBody>,
) -> Result<Response, ApiError> {
    let (user, new) = create_account(&db, &hasher, &client, body).await?;
    let (_, pair) = match sessions.login(new).await {
        Ok(opened) => opened,
        Err(error) => {
            remove_account(&db, &user).await;
            return Err(error.into());
        }
    };
    login_succeeded(&db, &user, &client).await;
    Ok((StatusCode::CREATED, Json(Tokens::new(&pair, Some(&user)))).into_response())
}

/// Create the organization and its admin a registration asks for: the user and its first
/// session to open.
pub(crate) async fn create_account(
    db: &Db,
    hasher: &Hasher,
    client: &Client,
    body: RegisterBody,
) -> Result<(User, NewSession), ApiError> {
    let (username, email) = new_user_fields(&body.username, &body.email, &body.password)?;
    let organization = validate::optional("organization", body.organization.as_deref(), 200)
        .map_err(ApiError::unprocessable)?
        .unwrap_or_else(|| username.clone());
    if db.taken(&username, &email).await? != Taken::Neither {
        return Err(duplicate(db, &username, &email).await?);
    }
    let user = NewUser {
        username: username.clone(),
        email: email.clone(),
        password_hash: hasher.hash(body.password).await?,
        roles: vec![Role::Admin],
        is_superuser: false,
    };
    let user = match db.create_organization_with_user(&organization, &user).await {
        Ok(user) => user,
        Err(error) if is_unique_violation(&error) => {
            return Err(duplicate(db, &username, &email).await?);
        }
        Err(error) => return Err(error.into()),
    };
    tracing::info!(user = %user.id, organization = %user.organization_id, "user registered");
    let new = new_session(&user.id, client, false, body.device_info);
    Ok((user, new))
}

/// Undo [`create_account`] when the first session cannot be opened (the session store
/// fails): the user and its organization are deleted, so that the registration the client
/// retries finds the username and email free. Only a database that fails as well leaves the
/// account, with an error in the log.
pub(crate) async fn remove_account(db: &Db, user: &User) {
    match db
        .delete_organization_with_user(&user.organization_id, &user.id)
        .await
    {
        Ok(()) => {
            tracing::info!(user = %user.id, organization = %user.organization_id, "registration undone: no session could be opened");
        }
        Err(error) => {
            tracing::error!(%error, user = %user.id, organization = %user.organization_id, "registration half done: no session could be opened, and the account cannot be removed");
        }
    }
}

/// `POST /api/auth/login` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginBody {
    /// A username (any case) or an email: give this or `email`, not both.
    #[serde(default)]
    username: Option<String>,
    /// An email: give this or `username`, not both.
    #[serde(default)]
    email: Option<String>,
    /// The password.
    password: String,
    /// Keep the session for `--remember-me-ttl` instead of `--refresh-ttl`.
    #[serde(default)]
    remember_me: bool,
    /// A description of the device (informational).
    #[serde(default)]
    device_info: Option<String>,
}

/// `POST /api/auth/login`: rate limited per client IP and per account (see [`LoginLimiter`]).
#[utoipa::path(
    post,
    path = "/api/auth/login",
    operation_id = "login",
    tag = "auth",
    request_body = LoginBody,
    responses(
        (status = 200, description = "Signed in: a token pair and the user", body = Tokens),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 422, response = crate::openapi::Unprocessable),
        (status = 429, response = crate::openapi::TooManyRequests),
    )
)]
pub async fn login(
    State(db): State<Db>,
    State(hasher): State<Hasher>,
    State(sessions): State<Manager>,
    State(limiter): State<Arc<LoginLimiter>>,
    client: Client,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<Response, ApiError> {
    let (user, new) = check_credentials(&db, &hasher, &limiter, &client, body).await?;
    let (_, pair) = match sessions.login(new).await {
        Ok(opened) => opened,
        Err(error) => return Err(login_failed(&db, &user, &client, session_refused(error)).await),
    };
    login_succeeded(&db, &user, &client).await;
    Ok(Json(Tokens::new(&pair, Some(&user))).into_response())
}

/// Check a login's credentials (rate limits first): the user and the session to open for it.
/// A wrong password or a suspended user is recorded in the user's sign-in attempts and
/// answered 401 [`ApiError::invalid_credentials`].
pub(crate) async fn check_credentials(
    db: &Db,
    hasher: &Hasher,
    limiter: &LoginLimiter,
    client: &Client,
    body: LoginBody,
) -> Result<(User, NewSession), ApiError> {
    let (identifier, by_email) = match (&body.username, &body.email) {
        (Some(username), None) => (username.as_str(), false),
        (None, Some(email)) => (email.as_str(), true),
        (None, None) => {
            return Err(ApiError::bad_request(
                "invalid request body: missing field `username` or `email`",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::unprocessable(
                "give either username or email, not both",
            ));
        }
    };
    if let Err(wait) = limiter.check_ip(client.ip).await {
        tracing::warn!(ip = %client.ip, "login rate limit reached");
        return Err(ApiError::too_many_attempts(wait));
    }
    // An identifier with a control character cannot belong to an account (usernames and
    // emails refuse them): not looked up, so no database sees it.
    let user = if validate::has_control(identifier) {
        None
    } else if by_email {
        db.user_by_email(identifier.trim()).await?
    } else {
        db.user_by_username(identifier.trim()).await?
    };
    let account = user.as_ref().map_or(identifier, |user| user.id.as_str());
    if let Err(wait) = limiter.check_account(account).await {
        tracing::warn!(ip = %client.ip, "login rate limit reached for an account");
        return Err(ApiError::too_many_attempts(wait));
    }
    let hash = user.as_ref().map(|user| user.password_hash.clone());
    let matches = hasher.verify(body.password, hash).await?;
    let user = match user {
        Some(user) if matches && !user.suspended => user,
        Some(user) => {
            return Err(login_failed(db, &user, client, ApiError::invalid_credentials()).await);
        }
        None => {
            tracing::info!(ip = %client.ip, "login refused");
            return Err(ApiError::invalid_credentials());
        }
    };
    let new = new_session(&user.id, client, body.remember_me, body.device_info);
    Ok((user, new))
}

/// The answer to a login whose session could not be opened: a user suspended between the
/// password check and the session is answered like wrong credentials.
pub(crate) fn session_refused(error: SessionError) -> ApiError {
    if error.kind() == SessionErrorKind::Refused {
        ApiError::invalid_credentials()
    } else {
        error.into()
    }
}

/// Record a failed sign-in on `user` and answer `error`.
pub(crate) async fn login_failed(
    db: &Db,
    user: &User,
    client: &Client,
    error: ApiError,
) -> ApiError {
    tracing::info!(ip = %client.ip, user = %user.id, "login refused");
    record_attempt(db, user, client, false).await;
    error
}

/// Record a successful sign-in on `user`.
pub(crate) async fn login_succeeded(db: &Db, user: &User, client: &Client) {
    tracing::info!(user = %user.id, "login");
    record_attempt(db, user, client, true).await;
}

async fn record_attempt(db: &Db, user: &User, client: &Client, success: bool) {
    if let Err(error) = db
        .record_login_attempt(
            &user.id,
            success,
            &client.ip.to_string(),
            client.user_agent.as_deref(),
        )
        .await
    {
        tracing::warn!(%error, user = %user.id, "cannot record a sign-in attempt");
    }
}

/// `POST /api/auth/token/refresh` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RefreshBody {
    /// The refresh token.
    refresh: String,
}

/// `POST /api/auth/token/refresh`: rotate the refresh token.
#[utoipa::path(
    post,
    path = "/api/auth/token/refresh",
    operation_id = "refresh",
    tag = "auth",
    request_body = RefreshBody,
    responses(
        (status = 200, description = "A new pair (without `user`); the presented refresh token is spent", body = Tokens),
        (status = 401, response = crate::openapi::Unauthorized),
    )
)]
pub async fn refresh(
    State(sessions): State<Manager>,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Result<Response, ApiError> {
    let pair = sessions.refresh(&body.refresh).await?;
    Ok(Json(Tokens::new(&pair, None)).into_response())
}

/// `POST /api/auth/token/verify` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct VerifyBody {
    /// An access or a refresh token.
    token: String,
}

/// `POST /api/auth/token/verify`: signature, expiry and revocation of an access or refresh
/// token (for a refresh token: also that its session is live and it is not spent).
#[utoipa::path(
    post,
    path = "/api/auth/token/verify",
    operation_id = "verify",
    tag = "auth",
    request_body = VerifyBody,
    responses(
        (status = 200, description = "The token is valid", body = crate::openapi::Verified),
        (status = 401, description = "The token is not valid: `\"valid\": false` and the reason in `code`",
            body = crate::openapi::Problem, content_type = "application/problem+json",
            headers(("www-authenticate" = String, description = "`Bearer error=\"invalid_token\"`"))),
    )
)]
pub async fn verify(
    State(sessions): State<Manager>,
    State(settings): State<Arc<Settings>>,
    JsonBody(body): JsonBody<VerifyBody>,
) -> Result<Response, ApiError> {
    let invalid = |code: &'static str, detail: &'static str| {
        ApiError::invalid_token(code, detail).with_member("valid", false)
    };
    let (claims, token_type) = match sessions
        .access_verifier()
        .verify::<StandardClaims>(&body.token)
        .await
    {
        Ok(verified) => (verified.standard().clone(), "access"),
        Err(access_error) => match sessions
            .refresh_verifier()
            .verify::<StandardClaims>(&body.token)
            .await
        {
            Ok(verified) => (verified.standard().clone(), "refresh"),
            Err(refresh_error) => {
                let error = if access_error.kind() == AuthErrorKind::InvalidType {
                    refresh_error
                } else {
                    access_error
                };
                if error.kind() == AuthErrorKind::KeySourceUnavailable {
                    return Err(error.into());
                }
                return Err(invalid(error.kind().code(), error.kind().description()));
            }
        },
    };
    let Some(token) = TokenRef::from_claims(&claims) else {
        return Err(invalid(
            AuthErrorKind::MissingJti.code(),
            AuthErrorKind::MissingJti.description(),
        ));
    };
    let status = match sessions.revocation().check(&token).await {
        Ok(status) => status,
        Err(error) if settings.revocation_failure == FailurePolicy::Open => {
            tracing::warn!(%error, "revocation store unavailable: token verification fails open");
            RevocationStatus::Active
        }
        Err(error) => return Err(ApiError::revocation_store_unavailable(&error)),
    };
    let refused = match status {
        RevocationStatus::Revoked => Some(AuthErrorKind::Revoked),
        RevocationStatus::SessionEnded => Some(AuthErrorKind::SessionEnded),
        RevocationStatus::CutOff => Some(AuthErrorKind::CutOff),
        // A refresh token carries no `ver`: a refresh is how a client gets current claims.
        RevocationStatus::Stale if token_type == "access" => Some(AuthErrorKind::StaleClaims),
        _ => None,
    };
    if let Some(kind) = refused {
        return Err(invalid(kind.code(), kind.description()));
    }
    if token_type == "refresh" {
        let live = match (&claims.sid, &claims.jti, &claims.sub) {
            (Some(sid), Some(jti), Some(sub)) => sessions
                .store()
                .get(sid)
                .await
                .map_err(|error| ApiError::unavailable("session store", &error))?
                .filter(|session| session.subject == *sub && session.is_live(unix_now()))
                .map(|session| session.refresh_jti == *jti),
            _ => None,
        };
        match live {
            None => {
                return Err(invalid(
                    SessionErrorKind::Ended.code(),
                    SessionErrorKind::Ended.description(),
                ));
            }
            Some(false) => {
                return Err(invalid(
                    "refresh_token_spent",
                    "the refresh token was already used",
                ));
            }
            Some(true) => {}
        }
    }
    Ok(Json(json!({ "valid": true, "token_type": token_type, "exp": claims.exp })).into_response())
}

/// `GET /api/auth/me`.
#[utoipa::path(
    get,
    path = "/api/auth/me",
    operation_id = "me",
    tag = "auth",
    responses(
        (status = 200, description = "The caller, as it is now in the database", body = Me),
    )
)]
pub async fn me(State(db): State<Db>, caller: Caller) -> Result<Json<Me>, ApiError> {
    let user = db.user(caller.user_id()).await?.ok_or_else(|| {
        ApiError::invalid_token("unknown_user", "the token's user does not exist")
    })?;
    Ok(Json(Me {
        user: UserView::from(&user),
    }))
}

/// `POST /api/auth/logout` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LogoutBody {
    /// A refresh token of another of the caller's sessions, to end too.
    #[serde(default)]
    refresh: Option<String>,
}

/// `POST /api/auth/logout` (sensitive): end the session, spend its refresh token, revoke the
/// access token. A `refresh` token given in the body ends its session too (if it is one of
/// the caller's).
#[utoipa::path(
    post,
    path = "/api/auth/logout",
    operation_id = "logout",
    tag = "auth",
    request_body(content = Option<LogoutBody>, description = "Optional: none, or another session's refresh token to end too"),
    responses(
        (status = 204, description = "The token's session ended, its access token revoked"),
    )
)]
pub async fn logout(
    State(sessions): State<Manager>,
    caller: Caller,
    OptionalJsonBody(body): OptionalJsonBody<LogoutBody>,
) -> Result<StatusCode, ApiError> {
    sessions.logout(&caller.claims).await?;
    if let Some(refresh) = body.and_then(|body| body.refresh)
        && let Ok(verified) = sessions
            .refresh_verifier()
            .verify::<StandardClaims>(&refresh)
            .await
    {
        {
            let claims = verified.standard();
            if claims.sub == caller.claims.sub
                && claims.sid != caller.claims.sid
                && let Some(sid) = &claims.sid
            {
                sessions.end_session(sid, EndReason::Logout).await?;
            }
        }
    }
    tracing::info!(user = %caller.user_id(), "logout");
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/auth/logout-all` (sensitive): end every session of the caller; every access
/// token issued until now is refused on sensitive routes.
#[utoipa::path(
    post,
    path = "/api/auth/logout-all",
    operation_id = "logout_all",
    tag = "auth",
    responses(
        (status = 204, description = "Every session of the caller ended"),
    )
)]
pub async fn logout_all(
    State(sessions): State<Manager>,
    caller: Caller,
) -> Result<StatusCode, ApiError> {
    let ended = sessions
        .end_all(caller.user_id(), EndReason::LogoutAll)
        .await?;
    tracing::info!(user = %caller.user_id(), ended, "logout everywhere");
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/auth/sessions`: the caller's live sessions.
#[utoipa::path(
    get,
    path = "/api/auth/sessions",
    operation_id = "list_sessions",
    tag = "auth",
    responses(
        (status = 200, description = "The caller's live sessions, oldest first", body = Vec<SessionView>),
    )
)]
pub async fn list_sessions(
    State(sessions): State<Manager>,
    caller: Caller,
) -> Result<Json<Vec<SessionView>>, ApiError> {
    let list = sessions.sessions(caller.user_id()).await?;
    let current = caller.claims.sid.as_deref();
    Ok(Json(
        list.iter()
            .map(|session| SessionView::new(session, current))
            .collect(),
    ))
}

/// `GET /api/auth/logins`: the caller's last sign-in attempts, newest first.
#[utoipa::path(
    get,
    path = "/api/auth/logins",
    operation_id = "logins",
    tag = "auth",
    responses(
        (status = 200, description = "The caller's last 50 sign-in attempts, newest first", body = Vec<LoginAttemptView>),
    )
)]
pub async fn logins(
    State(db): State<Db>,
    caller: Caller,
) -> Result<Json<Vec<LoginAttemptView>>, ApiError> {
    let attempts = db.login_attempts(caller.user_id()).await?;
    Ok(Json(attempts.iter().map(LoginAttemptView::from).collect()))
}

/// `DELETE /api/auth/sessions/{id}` (sensitive): end one of the caller's sessions.
#[utoipa::path(
    delete,
    path = "/api/auth/sessions/{id}",
    operation_id = "end_session",
    tag = "auth",
    params(("id" = String, Path, description = "The session id")),
    responses(
        (status = 204, description = "The session ended"),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn end_session(
    State(sessions): State<Manager>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let session = sessions.session(&id).await?;
    match session {
        Some(session) if session.subject == caller.user_id() && session.is_live(unix_now()) => {
            sessions.end_session(&id, EndReason::Logout).await?;
            Ok(StatusCode::NO_CONTENT)
        }
        _ => Err(ApiError::not_found("session")),
    }
}

/// `POST /api/auth/password` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PasswordBody {
    /// The current password.
    old_password: String,
    /// At least 8 characters and at most 1024 bytes.
    #[schema(min_length = 8)]
    new_password: String,
}

/// `POST /api/auth/password` (sensitive): change the password; every other session ends and
/// every access token issued before now is refused on sensitive routes (the caller refreshes
/// to get a new one: its own session and refresh token stay valid).
///
/// Each call counts as an attempt on the caller's account in the login rate limit.
///
/// The older access tokens are refused through the permission version, bumped with the
/// password in one statement: a token's `ver` is then stale, whichever session minted it and
/// in whatever second, while refresh tokens carry no `ver` and so the caller's own refresh
/// token keeps working (a cut-off by time could not spare it: it was minted in the same
/// second as the session's latest access token).
#[utoipa::path(
    post,
    path = "/api/auth/password",
    operation_id = "change_password",
    tag = "auth",
    request_body = PasswordBody,
    responses(
        (status = 204, description = "The password changed; every other session ended"),
        (status = 422, response = crate::openapi::Unprocessable),
        (status = 429, response = crate::openapi::TooManyRequests),
    )
)]
pub async fn change_password(
    State(db): State<Db>,
    State(hasher): State<Hasher>,
    State(sessions): State<Manager>,
    State(settings): State<Arc<Settings>>,
    State(limiter): State<Arc<LoginLimiter>>,
    caller: Caller,
    JsonBody(body): JsonBody<PasswordBody>,
) -> Result<StatusCode, ApiError> {
    validate::password(&body.new_password).map_err(ApiError::unprocessable)?;
    // The old password is a password guess like a login's: same account budget.
    if let Err(wait) = limiter.check_account(caller.user_id()).await {
        tracing::warn!(user = %caller.user_id(), "password change rate limit reached");
        return Err(ApiError::too_many_attempts(wait));
    }
    let user = db.user(caller.user_id()).await?.ok_or_else(|| {
        ApiError::invalid_token("unknown_user", "the token's user does not exist")
    })?;
    if !hasher
        .verify(body.old_password, Some(user.password_hash.clone()))
        .await?
    {
        return Err(ApiError::wrong_password());
    }
    let hash = hasher.hash(body.new_password).await?;
    let user = db.set_password(&user.id, &hash).await?.ok_or_else(|| {
        ApiError::invalid_token("unknown_user", "the token's user does not exist")
    })?;
    let version = u64::try_from(user.permission_version).unwrap_or(0);
    sessions
        .revocation()
        .set_version(&user.id, version, settings.access_deadline())
        .await?;
    let sid = caller.claims.sid.as_deref().unwrap_or_default();
    sessions
        .end_others(&user.id, sid, EndReason::PasswordChange)
        .await?;
    tracing::info!(user = %user.id, "password changed");
    Ok(StatusCode::NO_CONTENT)
}
