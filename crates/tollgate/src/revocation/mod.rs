//! Revocation: the opt-in check for routes that must refuse revoked tokens.
//!
//! A verified JWT stays valid until its `exp`: the stateless
//! [`VerifyLayer`](crate::VerifyLayer) cannot take it back. [`RevocationLayer`](crate::RevocationLayer) can,
//! on the routes that opt in (the hybrid: cheap stateless checks everywhere, one store look-up
//! where a revocation must take effect at once). One look-up in a [`RevocationStore`]
//! answers four questions about the verified token:
//!
//! - is its `jti` revoked ([`RevocationStore::revoke_token`]; answered 401
//!   [`Revoked`](crate::AuthErrorKind::Revoked));
//! - has its session `sid` ended ([`RevocationStore::end_session`];
//!   [`SessionEnded`](crate::AuthErrorKind::SessionEnded));
//! - was it issued (`iat`) at or before its subject's cut-off: logout everywhere, password
//!   change, suspension ([`RevocationStore::cut_off`]; [`CutOff`](crate::AuthErrorKind::CutOff));
//! - is its permission version `ver` older than the subject's current one: a role change
//!   ([`RevocationStore::set_version`]; [`StaleClaims`](crate::AuthErrorKind::StaleClaims), so
//!   the client refreshes instead of logging in again).
//!
//! A token without a `jti` (or `exp`) reaching a route that opts in is refused
//! ([`MissingJti`](crate::AuthErrorKind::MissingJti)), never passed unchecked. Entries are keyed
//! by `jti`, `sid` and `sub`, never by the token text, so another encoding of the same
//! token cannot slip past.
//!
//! When the store fails, the [`FailurePolicy`] decides: fail closed (503 with `Retry-After`,
//! the default) or fail open (pass, with a `warn` event and a count in
//! [`RevocationMetrics`]).
//!
//! `MemoryRevocationStore` (feature `memory-store`) is the in-process store; `tollgate-redis` provides
//! a shared one. `docs/revocation.md` in the repository has the data model, recipes for axum
//! and tonic, and sizing.
//!
//! # Order
//!
//! Verify, then revocation, then policy: the revocation layer reads the claims the verify
//! layer put into the request extensions, and a policy decision about a revoked token is
//! pointless. With `ServiceBuilder` the first layer added is the outermost.
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "memory-store")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::convert::Infallible;
//!
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use tollgate::{AuthError, Claims, AuthErrorKind, StandardClaims};
//! use tollgate::RevocationLayer;
//! use tollgate::revocation::{MemoryRevocationStore, RevocationStore};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! let store = MemoryRevocationStore::new();
//! let service = ServiceBuilder::new()
//!     // In an application, `VerifyLayer` goes here and puts the claims into the request.
//!     .layer(RevocationLayer::new(store.clone()))
//!     .service_fn(|_request: Request<Full<Bytes>>| async {
//!         Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"secret"))))
//!     });
//!
//! // What the verify layer would have put into the extensions.
//! let request = || {
//!     let mut request = Request::new(Full::default());
//!     request.extensions_mut().insert(Claims::new(StandardClaims {
//!         sub: Some("42".into()),
//!         jti: Some("token-1".into()),
//!         exp: Some(1_900_000_900),
//!         iat: Some(1_900_000_000),
//!         ..StandardClaims::default()
//!     }));
//!     request
//! };
//!
//! let response = service.clone().oneshot(request()).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//!
//! // Logout: revoke the token until it expires.
//! store.revoke_token("token-1", 1_900_000_900).await?;
//! let response = service.clone().oneshot(request()).await?;
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! let error = response.extensions().get::<AuthError>().expect("the rejection is attached");
//! assert_eq!(error.kind(), AuthErrorKind::Revoked);
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "memory-store"))]
//! # fn main() {}
//! ```
//!
//! The example needs the `memory-store` feature; the layer itself does not.

mod failure;
mod future;
pub(crate) mod layer;
#[cfg(feature = "memory-store")]
mod memory;
mod metrics;
mod service;
mod store;

pub use failure::FailurePolicy;
pub use future::RevocationFuture;
#[cfg(feature = "memory-store")]
#[cfg_attr(docsrs, doc(cfg(feature = "memory-store")))]
pub use memory::MemoryRevocationStore;
pub use metrics::RevocationMetrics;
pub use service::Revocation;
pub use store::{
    RevocationEntries, RevocationStatus, RevocationStore, RevocationStoreError,
    RevocationStoreErrorKind, TokenRef,
};

#[cfg(test)]
mod tests;
