//! Composable tower layers for JWT authentication, revocation and authorization.
//!
//! tollgate checks bearer JWTs in front of any tower service (axum routers, tonic servers):
//!
//! - [`VerifyLayer`] verifies the token on every request without touching any store:
//!   signature with a key bound to one algorithm (chosen by `kid`, never by the token's
//!   header), then `exp`, `nbf`, `iat`, `iss`, `aud`, `typ` and required claims. It hands
//!   [`Claims`] to the handlers, read where the identity provider writes them
//!   ([`verify::ClaimMapping`]: Keycloak, Auth0, Entra ID, Okta, Cognito, simplejwt).
//! - [`RevocationLayer`], on the routes that opt in, asks a
//!   [`RevocationStore`](revocation::RevocationStore) whether the token was revoked, its
//!   session ended, its subject cut off, or its permissions changed.
//! - [`RequirePolicyLayer`] checks permissions, roles, scopes and the
//!   organization against the claims.
//!
//! Each rejection is one [`AuthError`], answered with an RFC 6750 challenge and an RFC 9457
//! problem body over HTTP, or a `grpc-status` for gRPC calls, through a replaceable
//! [`Responder`](response::Responder).
//!
//! # Example
//!
//! Verify on every route; check revocation and a permission on one:
//!
//! ```
//! # #[cfg(all(feature = "axum", feature = "memory-store"))]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Router, body::Body, routing::{delete, get}};
//! use http::{Request, StatusCode, header::AUTHORIZATION};
//! use tollgate::{
//!     Claims, RequirePolicyLayer, RevocationLayer, StandardClaims, VerifyLayer,
//!     key::{Algorithm, Key},
//!     policy::{Authorizer, Policy},
//!     revocation::{MemoryRevocationStore, RevocationStore},
//!     verify::{TrustedIssuer, Verifier},
//! };
//! use tower::ServiceExt;
//!
//! let secret = b"a secret of at least thirty-two bytes!";
//! let verifier = Verifier::new(
//!     TrustedIssuer::new("https://auth.example", Key::hmac(Algorithm::HS256, secret)?)
//!         .add_audience("crm-api"),
//! );
//! let revocations = MemoryRevocationStore::new();
//! let authorizer = Authorizer::new();
//!
//! async fn me(Claims(claims): Claims<StandardClaims>) -> String {
//!     claims.sub.as_deref().unwrap_or_default().to_owned()
//! }
//!
//! let app = Router::new()
//!     .route("/me", get(me))
//!     .merge(
//!         Router::new()
//!             .route("/customers/{id}", delete(|| async { StatusCode::NO_CONTENT }))
//!             .route_layer(RequirePolicyLayer::new(&authorizer, Policy::permission("customer:delete")?))
//!             .route_layer(RevocationLayer::new(revocations.clone())),
//!     )
//!     // `route_layer`: an unknown path still gets 404 (`layer` would answer 401 there).
//!     .route_layer(VerifyLayer::new(verifier));
//!
//! # let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
//! # let token = jsonwebtoken::encode(
//! #     &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
//! #     &serde_json::json!({
//! #         "iss": "https://auth.example", "aud": "crm-api", "sub": "42", "jti": "t-1",
//! #         "iat": now, "exp": now + 300, "perms": ["customer:*"],
//! #     }),
//! #     &jsonwebtoken::EncodingKey::from_secret(secret),
//! # )?;
//! let call = |method: &str, uri: &str| {
//!     Request::builder()
//!         .method(method)
//!         .uri(uri)
//!         .header(AUTHORIZATION, format!("Bearer {token}"))
//!         .body(Body::empty())
//! };
//! assert_eq!(app.clone().oneshot(call("GET", "/me")?).await?.status(), StatusCode::OK);
//! assert_eq!(app.clone().oneshot(call("DELETE", "/customers/7")?).await?.status(), StatusCode::NO_CONTENT);
//!
//! // Logout: the token is refused where revocation is checked, and still works elsewhere.
//! revocations.revoke_token("t-1", (now + 300) as i64).await?;
//! assert_eq!(app.clone().oneshot(call("DELETE", "/customers/7")?).await?.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(app.oneshot(call("GET", "/me")?).await?.status(), StatusCode::OK);
//! # Ok(())
//! # }
//! # #[cfg(not(all(feature = "axum", feature = "memory-store")))]
//! # fn main() {}
//! ```
//!
//! # One shape
//!
//! The three layers are built the same way, so one predicts the others:
//!
//! | | verify | revocation | policy |
//! |---|---|---|---|
//! | layer | [`VerifyLayer::new(verifier)`](VerifyLayer::new) | [`RevocationLayer::new(store)`](RevocationLayer::new) | [`RequirePolicyLayer::new(&authorizer, policy)`](RequirePolicyLayer::new) |
//! | service | [`Verify::new(inner, verifier)`](verify::Verify::new) | [`Revocation::new(inner, store)`](revocation::Revocation::new) | [`RequirePolicy::new(inner, &authorizer, policy)`](policy::RequirePolicy::new) |
//! | response future | [`VerifyFuture`](verify::VerifyFuture) | [`RevocationFuture`](revocation::RevocationFuture) | [`RequirePolicyFuture`](policy::RequirePolicyFuture) |
//!
//! Each layer holds its configuration, responder included, behind one `Arc` that its services
//! share; settings are builder methods, and `with_responder` replaces how rejections are
//! rendered. Each service has `new(inner, ..)`, `layer(..)`, `get_ref`, `get_mut` and
//! `into_inner`. A rejection is rendered when the response future is polled, by the layer's
//! [`Responder`](response::Responder), logged (target `tollgate::rejection`, with the layer's
//! name), and attached to the response extensions as the [`AuthError`]. An `AuthError` a
//! handler returns is rendered again by the layers it passes on its way out, so the client
//! gets the answer the outermost layer's responder gives.
//!
//! # Order
//!
//! Verify first, then revocation, then policy: the later layers read the claims the verify
//! layer puts into the request extensions. With axum's `Router::layer` / `route_layer` the
//! layer added last runs first; with `ServiceBuilder` the layer added first runs first.
//!
//! # Feature flags
//!
//! | feature | what it enables |
//! |---|---|
//! | `axum` (default) | [`Claims`] and `Option<Claims>` extractors, `IntoResponse` for [`AuthError`] |
//! | `tonic` | `From<AuthError> for tonic::Status`; `NamedService` for the three services |
//! | `jwks-remote` | `key::RemoteJwks`: a JWK Set fetched over HTTPS and kept fresh |
//! | `memory-store` (default) | `revocation::MemoryRevocationStore`: the in-process revocation store |
//! | `verify-cache` | `verify::VerifiedCache`: a repeated token skips parsing and the signature check (moka) |
//! | `metrics` | counters, gauges and histograms of every decision, revocation check, key-set fetch and cache look-up, through the [`metrics`](https://docs.rs/metrics) facade: the application installs a recorder (`docs/observability.md` names them all) |
//! | `full` | all of the above |
//!
//! Whatever the features, each layer's work on a request is a `tracing` span at `DEBUG`
//! (`verify`, `revocation`, `policy`, targets `tollgate::<layer>`) with its `outcome` as a
//! field, never the token or its claims.
//!
//! `axum` and `memory-store` are on by default, so that an axum application needs no feature
//! (without `axum`, handlers that take `Claims` fail to compile with an opaque `Handler`
//! error). With `default-features = false` the core depends on neither axum, moka nor any
//! runtime: what a tonic-only service wants. The crypto backend is aws-lc-rs, for
//! verification and (through `jsonwebtoken`'s `aws_lc_rs` feature) for key parsing.
//!
//! # Getting help
//!
//! `docs/` in the repository has the security model (with the RFC 8725 checklist), the
//! revocation data model, policy recipes, sessions and performance figures. Questions and bugs
//! go to the issue tracker.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod key;
pub mod policy;
pub mod response;
pub mod revocation;
pub mod verify;

mod body;
mod claims;
#[cfg(doctest)]
mod doctests;
mod error;
#[cfg(feature = "axum")]
pub mod extract;
#[cfg(feature = "tonic")]
mod grpc;
mod middleware;
mod telemetry;

pub use claims::{Audience, Claims, StandardClaims};
/// The string type of [`StandardClaims`]: short strings inline, longer ones on the heap
/// (re-exported from the `compact_str` crate, so that no other dependency is needed to build
/// or read claims).
pub use compact_str::CompactString;
pub use error::{AuthError, AuthErrorKind, ConfigError};
pub use policy::layer::RequirePolicyLayer;
pub use revocation::layer::RevocationLayer;
pub use verify::layer::VerifyLayer;
