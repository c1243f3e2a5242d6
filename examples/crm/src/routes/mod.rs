//! The routes of the API, and the extractors they share.

pub mod admin;
pub mod auth;
pub mod browser;
pub mod customers;
pub mod health;
pub mod jwks;
pub mod web;

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::Arc,
};

use axum::{
    extract::{ConnectInfo, FromRef, FromRequestParts, Query},
    http::{HeaderMap, HeaderName, HeaderValue, header::USER_AGENT, request::Parts},
};
use serde::Deserialize;
use tollgate::{Claims, StandardClaims, extract::ClaimsRejection};
use utoipa::IntoParams;

use crate::{
    config::TrustedProxies, db::Page, error::ApiError, roles::SUPERUSER_ROLE, state::Settings,
};

/// The header through which proxies give the client address (`--trusted-proxies`).
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

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

/// Where a request comes from: the client's address and its user agent.
#[derive(Debug, Clone)]
pub struct Client {
    /// The client address: the TCP peer, or, when the peer is one of `--trusted-proxies`, the
    /// address its `X-Forwarded-For` gives (see [`client_address`]).
    pub ip: IpAddr,
    /// The `User-Agent` header, if any (at most 512 bytes kept).
    pub user_agent: Option<String>,
}

impl<S> FromRequestParts<S> for Client
where
    S: Send + Sync,
    Arc<Settings>: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
        let settings = Arc::<Settings>::from_ref(state);
        let ip = client_address(peer, &parts.headers, &settings.trusted_proxies);
        let user_agent = parts
            .headers
            .get(USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(|value| value.chars().take(512).collect());
        Ok(Self { ip, user_agent })
    }
}

/// The client address of a request from `peer`: `peer` itself unless it is one of `trusted`.
/// From a trusted peer, the `X-Forwarded-For` entries (every line of the header, in order,
/// each a comma-separated list) are walked from the right: trusted addresses are skipped and
/// the first one that is not trusted is the client. An entry that is not an address (`ip` or
/// `ip:port`, `[ipv6]:port`) stops the walk: the client is then the last trusted hop walked,
/// and nothing left of the garbage is believed. When every entry is trusted (or there is
/// none), the leftmost is the client (or the peer).
#[must_use]
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let peer = peer.to_canonical();
    if trusted.is_empty() || !trusted.contains(peer) {
        return peer;
    }
    let lines: Vec<&HeaderValue> = headers.get_all(X_FORWARDED_FOR).iter().collect();
    let mut hop = peer;
    for line in lines.into_iter().rev() {
        let Ok(line) = line.to_str() else {
            return hop;
        };
        for entry in line.rsplit(',') {
            let Some(ip) = forwarded_address(entry) else {
                return hop;
            };
            if !trusted.contains(ip) {
                return ip;
            }
            hop = ip;
        }
    }
    hop
}

/// The address of one `X-Forwarded-For` entry: `ip`, `ip:port` or `[ipv6]:port` (spaces
/// around it allowed); `None` for anything else.
fn forwarded_address(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|address| address.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn walk(peer: &str, lines: &[&str], trusted: &[&str]) -> IpAddr {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(X_FORWARDED_FOR, HeaderValue::from_str(line).unwrap());
        }
        let trusted = TrustedProxies::new(
            trusted
                .iter()
                .map(|net| net.parse::<ipnet::IpNet>().unwrap()),
        );
        client_address(ip(peer), &headers, &trusted)
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        assert_eq!(walk("192.0.2.9", &["203.0.113.1"], &[]), ip("192.0.2.9"));
        assert_eq!(
            walk("192.0.2.9", &["203.0.113.1"], &["10.0.0.0/8"]),
            ip("192.0.2.9")
        );
    }

    #[test]
    fn the_walk_skips_trusted_hops_from_the_right() {
        let trusted = ["10.0.0.0/8", "127.0.0.1/32"];
        assert_eq!(
            walk("10.0.0.1", &["203.0.113.1"], &trusted),
            ip("203.0.113.1")
        );
        // The client may forge entries on the left: only the rightmost untrusted one counts.
        assert_eq!(
            walk("10.0.0.1", &["1.1.1.1, 203.0.113.1, 10.0.0.2"], &trusted),
            ip("203.0.113.1")
        );
        // Several lines are one list, in order.
        assert_eq!(
            walk(
                "10.0.0.1",
                &["1.1.1.1", "203.0.113.1, 10.0.0.3", "10.0.0.2"],
                &trusted
            ),
            ip("203.0.113.1")
        );
        assert_eq!(
            walk("10.0.0.1", &["10.0.0.3, 10.0.0.2"], &trusted),
            ip("10.0.0.3")
        );
        assert_eq!(walk("10.0.0.1", &[], &trusted), ip("10.0.0.1"));
        assert_eq!(
            walk(
                "10.0.0.1",
                &["203.0.113.1:4711", "[2001:db8::1]:80"],
                &trusted
            ),
            ip("2001:db8::1")
        );
        assert_eq!(
            walk("::ffff:10.0.0.1", &["::ffff:203.0.113.1"], &trusted),
            ip("203.0.113.1")
        );
    }

    #[test]
    fn garbage_stops_the_walk_at_the_last_trusted_hop() {
        let trusted = ["10.0.0.0/8"];
        assert_eq!(
            walk("10.0.0.1", &["203.0.113.1, unknown, 10.0.0.2"], &trusted),
            ip("10.0.0.2")
        );
        assert_eq!(
            walk("10.0.0.1", &["203.0.113.1,"], &trusted),
            ip("10.0.0.1")
        );
        assert_eq!(
            walk("10.0.0.1", &["203.0.113.1", ""], &trusted),
            ip("10.0.0.1")
        );
        let mut headers = HeaderMap::new();
        headers.append(
            X_FORWARDED_FOR,
            HeaderValue::from_bytes(b"203.0.113.1, caf\xc3\xa9").unwrap(),
        );
        let trusted = TrustedProxies::new(["10.0.0.0/8".parse().unwrap()]);
        assert_eq!(
            client_address(ip("10.0.0.1"), &headers, &trusted),
            ip("10.0.0.1")
        );
    }
}
