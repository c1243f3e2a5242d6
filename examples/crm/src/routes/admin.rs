//! `/api/admin/users`: the users of the caller's organization (every organization for a
//! superuser).

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, Query, State, rejection::QueryRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use tollgate::revocation::RevocationStore;
use tollgate_session::EndReason;
use utoipa::ToSchema;

use super::{Caller, PageQuery, auth, page};
use crate::{
    db::{Db, NewUser, User, is_unique_violation, unix_now},
    error::{ApiError, JsonBody},
    openapi::{BadRequest, Conflict, NotFound, Unprocessable},
    password::Hasher,
    roles,
    state::{Manager, Settings},
    views::{AdminUserView, SessionView},
};

/// `GET /api/admin/users?limit=&offset=`.
#[utoipa::path(
    get,
    path = "/api/admin/users",
    operation_id = "list_users",
    tag = "admin",
    params(PageQuery),
    responses(
        (status = 200, description = "The users, oldest first", body = Vec<AdminUserView>),
        (status = 400, response = BadRequest),
        (status = 422, response = Unprocessable),
    )
)]
pub async fn list(
    State(db): State<Db>,
    caller: Caller,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Vec<AdminUserView>>, ApiError> {
    let page = page(query)?;
    let users = db.users(caller.scope(), page).await?;
    Ok(Json(users.iter().map(AdminUserView::from).collect()))
}

/// `POST /api/admin/users` body.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = UserCreateBody)]
pub struct CreateBody {
    /// 3 to 64 of `A-Z a-z 0-9 _ . -`; `admin` is reserved.
    #[schema(min_length = 3, max_length = 64, pattern = "^[A-Za-z0-9_.-]+$")]
    username: String,
    /// One `@`, a non-empty local part, a domain with a dot, no spaces, at most 254 bytes.
    #[schema(min_length = 5, max_length = 254)]
    email: String,
    /// At least 8 characters and at most 1024 bytes.
    #[schema(min_length = 8)]
    password: String,
    /// Role names.
    #[schema(value_type = Vec<crate::roles::Role>)]
    roles: Vec<String>,
}

/// `POST /api/admin/users`: a user in the caller's organization.
#[utoipa::path(
    post,
    path = "/api/admin/users",
    operation_id = "create_user",
    tag = "admin",
    request_body = CreateBody,
    responses(
        (status = 201, description = "The new user", body = AdminUserView,
            links(
                ("SetRoles" = (operation_id = "set_roles", parameters(("id" = "$response.body#/id")))),
                ("Suspend" = (operation_id = "suspend_user", parameters(("id" = "$response.body#/id")))),
                ("Reinstate" = (operation_id = "reinstate_user", parameters(("id" = "$response.body#/id")))),
                ("Sessions" = (operation_id = "user_sessions", parameters(("id" = "$response.body#/id")))),
            )),
        (status = 409, response = Conflict),
        (status = 422, response = Unprocessable),
    )
)]
pub async fn create(
    State(db): State<Db>,
    State(hasher): State<Hasher>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<Response, ApiError> {
    let (username, email) = auth::new_user_fields(&body.username, &body.email, &body.password)?;
    let roles = roles::parse(&body.roles).map_err(ApiError::unprocessable)?;
    if db.taken(&username, &email).await? != crate::db::Taken::Neither {
        return Err(auth::duplicate(&db, &username, &email).await?);
    }
    let user = NewUser {
        username: username.clone(),
        email: email.clone(),
        password_hash: hasher.hash(body.password).await?,
        roles,
        is_superuser: false,
    };
    let user = match db.create_user(caller.organization_id(), &user).await {
        Ok(user) => user,
        Err(error) if is_unique_violation(&error) => {
            return Err(auth::duplicate(&db, &username, &email).await?);
        }
        Err(error) => return Err(error.into()),
    };
    tracing::info!(by = %caller.user_id(), user = %user.id, "user created");
    Ok((StatusCode::CREATED, Json(AdminUserView::from(&user))).into_response())
}

/// The user `id` as the caller may see it: in its organization and not a superuser, unless
/// the caller is a superuser. 404 otherwise.
async fn target(db: &Db, caller: &Caller, id: &str) -> Result<User, ApiError> {
    let user = db.user(id).await?;
    match user {
        Some(user)
            if caller.is_superuser()
                || (user.organization_id == caller.organization_id() && !user.is_superuser) =>
        {
            Ok(user)
        }
        _ => Err(ApiError::not_found("user")),
    }
}

/// `PUT /api/admin/users/{id}/roles` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RolesBody {
    /// Role names (replace the user's roles).
    #[schema(value_type = Vec<crate::roles::Role>)]
    roles: Vec<String>,
}

/// `PUT /api/admin/users/{id}/roles` (sensitive): replace the roles and bump the permission
/// version, so the user's older access tokens are stale on sensitive routes.
#[utoipa::path(
    put,
    path = "/api/admin/users/{id}/roles",
    operation_id = "set_roles",
    tag = "admin",
    params(("id" = String, Path, description = "The user id")),
    request_body = RolesBody,
    responses(
        (status = 200, description = "The user with its new roles", body = AdminUserView),
        (status = 404, response = NotFound),
        (status = 422, response = Unprocessable),
    )
)]
pub async fn set_roles(
    State(db): State<Db>,
    State(sessions): State<Manager>,
    State(settings): State<Arc<Settings>>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RolesBody>,
) -> Result<Json<AdminUserView>, ApiError> {
    target(&db, &caller, &id).await?;
    let roles = roles::parse(&body.roles).map_err(ApiError::unprocessable)?;
    let user = db
        .set_roles(&id, &roles)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    let version = u64::try_from(user.permission_version).unwrap_or(0);
    sessions
        .revocation()
        .set_version(&user.id, version, settings.access_deadline())
        .await?;
    tracing::info!(by = %caller.user_id(), user = %user.id, version, "roles changed");
    Ok(Json(AdminUserView::from(&user)))
}

/// `POST /api/admin/users/{id}/suspend` (sensitive): refuse logins, end every session and
/// every token of the user.
#[utoipa::path(
    post,
    path = "/api/admin/users/{id}/suspend",
    operation_id = "suspend_user",
    tag = "admin",
    params(("id" = String, Path, description = "The user id")),
    responses(
        (status = 204, description = "Suspended"),
        (status = 404, response = NotFound),
    )
)]
pub async fn suspend(
    State(db): State<Db>,
    State(sessions): State<Manager>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let user = target(&db, &caller, &id).await?;
    db.set_suspended(&user.id, true).await?;
    let ended = sessions.end_all(&user.id, EndReason::Suspension).await?;
    tracing::info!(by = %caller.user_id(), user = %user.id, ended, "user suspended");
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/admin/users/{id}/reinstate` (sensitive): allow logins again.
#[utoipa::path(
    post,
    path = "/api/admin/users/{id}/reinstate",
    operation_id = "reinstate_user",
    tag = "admin",
    params(("id" = String, Path, description = "The user id")),
    responses(
        (status = 204, description = "Reinstated"),
        (status = 404, response = NotFound),
    )
)]
pub async fn reinstate(
    State(db): State<Db>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let user = target(&db, &caller, &id).await?;
    db.set_suspended(&user.id, false).await?;
    tracing::info!(by = %caller.user_id(), user = %user.id, "user reinstated");
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/admin/users/{id}/sessions`: the live sessions of a user the caller may see.
#[utoipa::path(
    get,
    path = "/api/admin/users/{id}/sessions",
    operation_id = "user_sessions",
    tag = "admin",
    params(("id" = String, Path, description = "The user id")),
    responses(
        (status = 200, description = "The user's live sessions (`current` is always false)", body = Vec<SessionView>),
        (status = 404, response = NotFound),
    )
)]
pub async fn sessions(
    State(db): State<Db>,
    State(sessions): State<Manager>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<SessionView>>, ApiError> {
    let user = target(&db, &caller, &id).await?;
    let list = sessions.sessions(&user.id).await?;
    Ok(Json(
        list.iter()
            .map(|session| SessionView::new(session, None))
            .collect(),
    ))
}

/// `DELETE /api/admin/users/{id}/sessions/{sid}` (sensitive): end one session of that user.
#[utoipa::path(
    delete,
    path = "/api/admin/users/{id}/sessions/{sid}",
    operation_id = "end_user_session",
    tag = "admin",
    params(
        ("id" = String, Path, description = "The user id"),
        ("sid" = String, Path, description = "The session id"),
    ),
    responses(
        (status = 204, description = "The session ended"),
        (status = 404, response = NotFound),
    )
)]
pub async fn end_session(
    State(db): State<Db>,
    State(sessions): State<Manager>,
    caller: Caller,
    Path((id, sid)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let user = target(&db, &caller, &id).await?;
    match sessions.session(&sid).await? {
        Some(session) if session.subject == user.id && session.is_live(unix_now()) => {
            sessions.end_session(&sid, EndReason::Admin).await?;
            tracing::info!(by = %caller.user_id(), user = %user.id, "session ended by an admin");
            Ok(StatusCode::NO_CONTENT)
        }
        _ => Err(ApiError::not_found("session")),
    }
}
