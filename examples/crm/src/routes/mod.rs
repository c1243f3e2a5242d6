//! The routes of the API, and the extractors they share.

pub mod admin;
pub mod auth;
pub mod browser;
pub mod customers;
pub mod health;
pub mod jwks;
pub mod web;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts, Query},
    http::{header::USER_AGENT, request::Parts},
};
use serde::Deserialize;
use tollgate::{Claims, StandardClaims, extract::ClaimsRejection};
use utoipa::IntoParams;

use crate::{db::Page, error::ApiError, roles::SUPERUSER_ROLE};

/// The verified caller of a protected route.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's claims.
    pub claims: Claims<StandardClaims>,
}

impl Caller {
    /// The user id (`sub`).
    #[must_use]
    pub fn user_id(&self) -> &str {
        self.claims.sub.as_deref().unwrap_or_default()
    }

    /// The organization id (`org`).
    #[must_use]
    pub fn organization_id(&self) -> &str {
        self.claims.org.as_deref().unwrap_or_default()
    }

    /// Whether the caller is a superuser (its token carries the `superuser` role).
    #[must_use]
    pub fn is_superuser(&self) -> bool {
        self.claims.roles.iter().any(|role| role == SUPERUSER_ROLE)
    }

    /// The organization the caller's look-ups are limited to: its own, or none for a
    /// superuser.
    #[must_use]
    pub fn scope(&self) -> Option<&str> {
        (!self.is_superuser()).then(|| self.organization_id())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ClaimsRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let claims = Claims::<StandardClaims>::from_request_parts(parts, state).await?;
        Ok(Self { claims })
    }
}

/// Where a request comes from: the peer's IP and its user agent.
#[derive(Debug, Clone)]
pub struct Client {
    /// The peer IP (the TCP peer: a proxy in front is not looked through).
    pub ip: IpAddr,
    /// The `User-Agent` header, if any (at most 512 bytes kept).
    pub user_agent: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
        let user_agent = parts
            .headers
            .get(USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(|value| value.chars().take(512).collect());
        Ok(Self { ip, user_agent })
    }
}

/// `?limit=&offset=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// How many (1 to 200, default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// How many to skip (default 0).
    #[param(minimum = 0)]
    offset: Option<i64>,
}

/// The default page size.
pub const DEFAULT_LIMIT: i64 = 50;
/// The largest page size.
pub const MAX_LIMIT: i64 = 200;

/// The page a query asks for: 400 when it does not parse, 422 out of range.
pub fn page(
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Page, ApiError> {
    let Query(query) = query.map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    let offset = query.offset.unwrap_or(0);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::unprocessable(format!(
            "limit must be 1 to {MAX_LIMIT}"
        )));
    }
    if offset < 0 {
        return Err(ApiError::unprocessable("offset must not be negative"));
    }
    Ok(Page { limit, offset })
}
