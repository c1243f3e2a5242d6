//! Sessions for tollgate: issuing token pairs, refresh rotation with reuse detection, session
//! stores, and JWKS publishing.
//!
//! # Overview
//!
//! - An [`Issuer`] mints an access token (`typ: at+jwt`) and a refresh token
//!   (`typ: refresh+jwt`) per session, signed with one [`SigningKey`] (HMAC, RSA, ECDSA or
//!   EdDSA) and verifiable with several ([`VerificationKey`], for key rotation). It builds the
//!   tollgate [`Verifier`](tollgate::verify::Verifier)s that accept exactly its access tokens
//!   or exactly its refresh tokens, and (feature `axum`) serves its public keys as
//!   `/.well-known/jwks.json`.
//! - A [`SessionManager`] opens sessions ([`login`](SessionManager::login)), refreshes them by
//!   rotation ([`refresh`](SessionManager::refresh): one atomic store step, exactly one of
//!   concurrent refreshes wins, a spent token presented again ends the session), lists and
//!   ends them, and writes the ends to a tollgate
//!   [`RevocationStore`](tollgate::revocation::RevocationStore) so that access tokens die
//!   too on the routes that check revocation. It serves RFC 7009 revocation (feature `axum`)
//!   and purges dead sessions in the background ([`CleanupTask`]).
//! - A [`SessionStore`] keeps the sessions: [`MemorySessionStore`] here, SQLite and PostgreSQL with
//!   the `sqlite` / `postgres` features, Redis in `tollgate-redis`. All pass one behaviour
//!   suite (`suite`, feature `test-suite`).
//! - For browsers (feature `browser`), `browser::BrowserSessions` keeps the refresh token in
//!   an `HttpOnly; Secure; SameSite=Strict` cookie that it rotates and clears, and
//!   `browser::CsrfGuardLayer` refuses cross-site requests on the routes the cookie
//!   authenticates (guide: `docs/browser.md`).
//!
//! The guide `docs/sessions.md` in the repository covers the lifecycle, rotation and reuse
//! detection, the grace interval, the choice of store, cleanup and the cut-off same-second
//! rule.
//!
//! # Example
//!
//! ```
//! use tollgate::{StandardClaims, key::Algorithm, revocation::MemoryRevocationStore as Revocations};
//! use tollgate_session::{
//!     ClaimsError, Issuer, MemorySessionStore, NewSession, Session, SessionManager, SigningKey,
//! };
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let issuer = Issuer::new("crm", "crm-api", SigningKey::generate("2026-11", Algorithm::ES256)?);
//!
//! // The subject's current claims, loaded at login and at every refresh.
//! let claims = |session: Session| async move {
//!     Ok::<_, ClaimsError>(StandardClaims {
//!         org: Some("7".into()),
//!         perms: vec!["customer:read".into()],
//!         ver: Some(1),
//!         ..StandardClaims::default()
//!     })
//! };
//! let sessions = SessionManager::new(issuer, MemorySessionStore::new(), claims)?
//!     .with_revocation(Revocations::new());
//!
//! let (session, pair) = sessions.login(NewSession::new("42").remember_me(true)).await?;
//! let access = sessions.access_verifier().verify::<StandardClaims>(pair.access_token()).await?;
//! assert_eq!(access.standard().sid.as_deref(), Some(session.id.as_str()));
//!
//! let next = sessions.refresh(pair.refresh_token()).await?;
//! assert!(sessions.refresh(pair.refresh_token()).await.is_err()); // reuse: the session ends
//! assert!(sessions.refresh(next.refresh_token()).await.is_err());
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `axum` | `Issuer::jwks_handler` and `SessionManager::revocation_handler` (RFC 7009), on `axum-core` |
//! | `browser` | `browser`: the refresh cookie, browser logins, refreshes and logouts, and the CSRF guard; with `axum`, the refresh and logout handlers |
//! | `sqlite` | `SqliteSessionStore` (sqlx), with its migrations |
//! | `postgres` | `PostgresSessionStore` (sqlx), with its migrations |
//! | `sqlx` | both SQL stores |
//! | `test-suite` | `suite`: the behaviour suite every store passes, for store implementations |
//! | `metrics` | metrics of logins, refreshes, ended and purged sessions through the [`metrics`](https://docs.rs/metrics) facade (`docs/observability.md`); the application installs the exporter |
//! | `full` | all of the above |
//!
//! # Getting help
//!
//! Open an issue in the tollgate repository; `docs/` there holds the architecture and the
//! security model.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "browser")]
#[cfg_attr(docsrs, doc(cfg(feature = "browser")))]
pub mod browser;
mod cleanup;
mod clock;
#[cfg(doctest)]
mod doctests;
mod error;
#[cfg(feature = "axum")]
pub mod handler;
mod issuer;
mod key;
mod manager;
mod random;
mod revocation;
mod session;
mod source;
mod store;
#[cfg(feature = "test-suite")]
pub mod suite;
mod telemetry;

pub use cleanup::CleanupTask;
pub use error::{SessionError, SessionErrorKind};
pub use issuer::{
    ACCESS_HEADER_TYP, ACCESS_TOKEN_TYPE_CLAIM, IssueError, IssueErrorKind, Issuer,
    REFRESH_HEADER_TYP, REFRESH_TOKEN_TYPE_CLAIM, TokenPair,
};
pub use key::{SigningKey, VerificationKey};
pub use manager::{Revoked, SessionManager};
pub use revocation::NoRevocation;
pub use session::{EndReason, NewSession, Session};
pub use source::{ClaimsError, ClaimsSource};
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use store::PostgresSessionStore;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use store::SqliteSessionStore;
pub use store::{
    MemorySessionStore, RotateOutcome, Rotation, SessionStore, SessionStoreError,
    SessionStoreErrorKind,
};
