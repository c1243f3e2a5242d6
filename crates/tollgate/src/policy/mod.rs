//! Policy: permission, role and organization checks on verified claims.
//!
//! A [`Policy`] says what a route requires: a permission `resource:action` (with `*`
//! wildcards, see [`Permission`]), a role, the organization named by the request, a predicate
//! of your own, or [`any_of`](Policy::any_of) / [`all_of`](Policy::all_of) /
//! [`not`](Policy::not) of those. An [`Authorizer`] says how tokens grant permissions: the
//! `perms` claim, the OAuth `scope` claim, roles through a [`RoleMap`], and who is a
//! superuser. Both are parsed and validated when built: a typo in a permission is a
//! [`ConfigError`](crate::ConfigError) at start-up.
//!
//! [`RequirePolicyLayer`](crate::RequirePolicyLayer) enforces a policy on the `Claims<StandardClaims>` that
//! [`VerifyLayer`](crate::VerifyLayer) put into the request extensions. The check is
//! synchronous and, when it grants, allocates nothing (tested with a counting allocator). A
//! request that does not meet the policy gets 403 with
//! `WWW-Authenticate: Bearer error="insufficient_scope", scope="..."` and a problem body
//! naming the scope (gRPC: PERMISSION_DENIED); a request without claims gets 401. Rejections
//! go through the same replaceable [`Responder`](crate::response::Responder) as the other
//! layers.
//!
//! In handlers, [`Authorizer::check`] does the same check and returns
//! `Result<(), AuthError>`.
//!
//! # Order
//!
//! The policy reads the claims the verify layer inserts, so the verify layer must run first:
//! in a [`ServiceBuilder`](https://docs.rs/tower/latest/tower/builder/struct.ServiceBuilder.html)
//! list it *above* `RequirePolicyLayer` (with axum's `Router::layer`, add it *after*, since the
//! last layer added runs first). The other way round, every request is answered 401, as the
//! policy finds no claims. Revocation and policy may run in either order after verification:
//! revocation first answers a revoked token 401 even on a route it may not use (and spends a
//! store look-up on it); policy first answers 403 without touching the store. See
//! `docs/policy.md` for recipes.
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//!
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use tollgate::{Claims, RequirePolicyLayer, StandardClaims, policy::{Authorizer, Policy, RoleMap}};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let authorizer = Authorizer::new()
//!     .role_map(RoleMap::new().add_role("viewer", ["customer:read"])?);
//! let service = ServiceBuilder::new()
//!     // .layer(VerifyLayer::new(verifier)) goes here, first.
//!     .layer(RequirePolicyLayer::new(&authorizer, Policy::permission("customer:read")?))
//!     .service(service_fn(|_: Request<Full<Bytes>>| async {
//!         Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"customers"))))
//!     }));
//!
//! // What the verify layer inserts for a verified token.
//! let request = |roles: &[&str]| {
//!     let claims = StandardClaims {
//!         roles: roles.iter().map(|&r| r.into()).collect(),
//!         ..StandardClaims::default()
//!     };
//!     let mut request = Request::new(Full::default());
//!     request.extensions_mut().insert(Claims::new(claims));
//!     request
//! };
//!
//! let response = service.clone().oneshot(request(&["viewer"])).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//!
//! let response = service.clone().oneshot(request(&["intern"])).await?;
//! assert_eq!(response.status(), StatusCode::FORBIDDEN);
//! assert_eq!(
//!     response.headers()["www-authenticate"],
//!     r#"Bearer error="insufficient_scope", scope="customer:read""#
//! );
//!
//! // No claims: no verify layer ran, or it let an anonymous request through.
//! let response = service.oneshot(Request::new(Full::default())).await?;
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! # Ok(())
//! # }
//! ```

mod authorizer;
mod future;
mod grant;
pub(crate) mod layer;
mod permission;
mod role_map;
mod rule;
mod service;

pub use authorizer::Authorizer;
pub use future::RequirePolicyFuture;
pub use permission::Permission;
pub use role_map::RoleMap;
pub use rule::Policy;
pub use service::RequirePolicy;

#[cfg(test)]
mod tests;
