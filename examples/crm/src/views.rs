//! The JSON shapes of the answers.

use serde::Serialize;
use tollgate_session::{Session, TokenPair};
use utoipa::ToSchema;

use crate::{
    db::{Customer, LoginAttempt, User, rfc3339},
    roles,
};

/// A user, as `/api/auth/me` and the admin routes show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// Id.
    pub id: String,
    /// Username.
    pub username: String,
    /// Email.
    pub email: String,
    /// Organization id.
    pub organization_id: String,
    /// Assigned roles.
    pub roles: Vec<&'static str>,
    /// Effective permissions.
    pub permissions: Vec<String>,
    /// Superuser flag.
    pub is_superuser: bool,
    /// Creation time, RFC 3339.
    pub created_at: String,
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.clone(),
            username: user.username.clone(),
            email: user.email.clone(),
            organization_id: user.organization_id.clone(),
            roles: user.roles.iter().map(|role| role.as_str()).collect(),
            permissions: roles::permissions(&user.roles, user.is_superuser),
            is_superuser: user.is_superuser,
            created_at: rfc3339(user.created_at),
        }
    }
}

/// A user as the admin routes show it: with its suspension.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserView {
    /// The user.
    #[serde(flatten)]
    pub user: UserView,
    /// Whether login is refused.
    pub suspended: bool,
}

impl From<&User> for AdminUserView {
    fn from(user: &User) -> Self {
        Self {
            user: user.into(),
            suspended: user.suspended,
        }
    }
}

/// `{user}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// The caller.
    pub user: UserView,
}

/// A token pair, as register, login and refresh answer it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Tokens {
    /// The user (register and login only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<UserView>,
    /// Access token.
    pub access: String,
    /// Refresh token.
    pub refresh: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

impl Tokens {
    /// The answer for `pair`.
    #[must_use]
    pub fn new(pair: &TokenPair, user: Option<&User>) -> Self {
        Self {
            user: user.map(UserView::from),
            access: pair.access_token().to_owned(),
            refresh: pair.refresh_token().to_owned(),
            token_type: "Bearer",
            expires_in: pair.expires_in(),
        }
    }
}

/// A session of the caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// Session id (the tokens' `sid`).
    pub id: String,
    /// Device description given at login.
    pub device_info: Option<String>,
    /// Client IP at login.
    pub ip_address: Option<String>,
    /// User agent at login.
    pub user_agent: Option<String>,
    /// Login time.
    pub created_at: String,
    /// Last refresh.
    pub last_activity: String,
    /// When the session ends at the latest.
    pub expires_at: String,
    /// Whether it is the session of the token making the request.
    pub current: bool,
}

impl SessionView {
    /// The view of `session`; `current` when it is the caller's.
    #[must_use]
    pub fn new(session: &Session, current_sid: Option<&str>) -> Self {
        Self {
            id: session.id.clone(),
            device_info: session.device_info.clone(),
            ip_address: session.ip_address.clone(),
            user_agent: session.user_agent.clone(),
            created_at: rfc3339(session.created_at),
            last_activity: rfc3339(session.last_activity),
            expires_at: rfc3339(session.deadline()),
            current: current_sid == Some(session.id.as_str()),
        }
    }
}

/// A customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerView {
    /// Id.
    pub id: String,
    /// Organization id.
    pub organization_id: String,
    /// Name.
    pub name: String,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Company.
    pub company: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

impl From<Customer> for CustomerView {
    fn from(customer: Customer) -> Self {
        Self {
            id: customer.id,
            organization_id: customer.organization_id,
            name: customer.fields.name,
            email: customer.fields.email,
            phone: customer.fields.phone,
            company: customer.fields.company,
            notes: customer.fields.notes,
            created_at: rfc3339(customer.created_at),
            updated_at: rfc3339(customer.updated_at),
        }
    }
}

/// A sign-in attempt, as `GET /api/auth/logins` shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginAttemptView {
    /// When, RFC 3339.
    pub at: String,
    /// Whether it signed in.
    pub success: bool,
    /// Client IP.
    pub ip_address: Option<String>,
    /// `User-Agent`.
    pub user_agent: Option<String>,
}

impl From<&LoginAttempt> for LoginAttemptView {
    fn from(attempt: &LoginAttempt) -> Self {
        Self {
            at: rfc3339(attempt.at),
            success: attempt.success,
            ip_address: attempt.ip_address.clone(),
            user_agent: attempt.user_agent.clone(),
        }
    }
}
