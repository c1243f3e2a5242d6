//! Verification: the stateless layer that checks a JWT on every request without touching any
//! store.
//!
//! [`VerifyLayer`](crate::VerifyLayer) reads the token (by default from `Authorization: Bearer`), has a
//! [`Verifier`] check it, and puts the claims into the request extensions:
//! `Claims<StandardClaims>` always (the revocation and policy layers read it), and
//! `Claims<C>` for your own claims type. A rejected request never reaches the inner service;
//! it gets a 401 (or 503 when a remote key source is down) rendered by the layer's
//! [`Responder`](crate::response::Responder).
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//!
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode, header::AUTHORIZATION};
//! use http_body_util::Full;
//! use tollgate::{Claims, StandardClaims, VerifyLayer, key::{Algorithm, Key}, verify::{TrustedIssuer, Verifier}};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let secret = b"a secret of at least thirty-two bytes!";
//! let verifier = Verifier::new(
//!     TrustedIssuer::new("https://auth.example", Key::hmac(Algorithm::HS256, secret)?)
//!         .add_audience("crm-api"),
//! )
//! .header_typ("at+jwt")?;
//!
//! let service = ServiceBuilder::new()
//!     .layer(VerifyLayer::new(verifier))
//!     .service(service_fn(|request: Request<String>| async move {
//!         // Present whenever the layer let the request through.
//!         let sub = request.extensions().get::<Claims<StandardClaims>>().and_then(|c| c.sub.clone());
//!         let body = format!("hello {}", sub.as_deref().unwrap_or("?"));
//!         // The layer answers in the inner service's body type (a `RejectionBody`).
//!         Ok::<_, Infallible>(Response::new(Full::<Bytes>::from(body)))
//!     }));
//!
//! # let exp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() + 60;
//! # let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
//! # header.typ = Some("at+jwt".into());
//! # let token = jsonwebtoken::encode(
//! #     &header,
//! #     &serde_json::json!({"iss": "https://auth.example", "aud": "crm-api", "sub": "42", "exp": exp}),
//! #     &jsonwebtoken::EncodingKey::from_secret(secret),
//! # )?;
//! // A request with a valid token reaches the handler...
//! let request = Request::get("/").header(AUTHORIZATION, format!("Bearer {token}")).body(String::new())?;
//! let response = service.clone().oneshot(request).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//!
//! // ...one without a token gets a 401 challenge.
//! let response = service.oneshot(Request::get("/").body(String::new())?).await?;
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(response.headers()["www-authenticate"], "Bearer");
//! # Ok(())
//! # }
//! ```
//!
//! # What is checked
//!
//! See [`Verifier`] for the checks and their order, and `docs/security.md` for the RFC 8725
//! checklist. Two defaults a newcomer should know:
//!
//! - **Audience.** With [`add_audience`](TrustedIssuer::add_audience), `aud` is required and
//!   must name one of the audiences. Without it, a token that carries an `aud` is refused
//!   (RFC 7519 §4.1.3: it is meant for someone else);
//!   [`accept_any_audience`](TrustedIssuer::accept_any_audience) is the explicit opt-out.
//! - **Header `typ`.** [`header_typ`](Verifier::header_typ) (for example `at+jwt`, RFC 9068)
//!   refuses tokens whose header says `typ: "JWT"` or nothing: set it only for an issuer that
//!   writes the explicit type.
//!
//! # Tokens from identity providers
//!
//! The claims are read as [`StandardClaims`](crate::StandardClaims) through the verifier's
//! [`ClaimMapping`] ([`Verifier::claim_mapping`]): where the subject, organization, roles,
//! permissions, scopes, audience and token type are, by claim name or [`ClaimPath`] into
//! nested objects. Presets read what Keycloak, Auth0, Entra ID, Okta, Cognito and Django's
//! simplejwt write; `docs/interop.md` has a sample token of each.

#[cfg(feature = "verify-cache")]
mod cache;
mod future;
mod issuer;
mod jws;
mod known_headers;
pub(crate) mod layer;
pub(crate) mod service;
mod source;
mod strict;
mod unverified;
mod validate;
mod verifier;

pub use crate::claims::{ClaimMapping, ClaimPath, MAX_CLAIM_VALUES};
#[cfg(feature = "verify-cache")]
#[cfg_attr(docsrs, doc(cfg(feature = "verify-cache")))]
pub use cache::VerifiedCache;
pub use future::VerifyFuture;
pub use issuer::TrustedIssuer;
pub use service::Verify;
pub use source::TokenSource;
pub use unverified::Unverified;
pub use verifier::{DEFAULT_MAX_TOKEN_LEN, Verified, Verifier};
