//! The Rust examples of the READMEs and of the repository's `docs/`, compiled and run by
//! `cargo test --doc` (only then is this module built), so that no example a reader copies is
//! out of date. Each document is checked here when the features its examples use are on.

#[doc = include_str!("../README.md")]
struct CrateReadme;

#[doc = include_str!("../../../README.md")]
struct WorkspaceReadme;

#[cfg(feature = "jwks-remote")]
#[doc = include_str!("../../../docs/jwks.md")]
struct Jwks;

#[cfg(all(feature = "axum", feature = "tonic", feature = "memory-store"))]
#[doc = include_str!("../../../docs/policy.md")]
struct Policy;

#[cfg(all(feature = "axum", feature = "tonic", feature = "memory-store"))]
#[doc = include_str!("../../../docs/revocation.md")]
struct Revocation;

#[cfg(feature = "jwks-remote")]
#[doc = include_str!("../../../docs/interop.md")]
struct Interop;

#[doc = include_str!("../../../docs/security.md")]
struct Security;

#[doc = include_str!("../../../docs/performance.md")]
struct Performance;
