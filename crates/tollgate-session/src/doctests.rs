//! The Rust examples of the README and of the repository's `docs/sessions.md`, compiled by
//! `cargo test --doc` (only then is this module built), so that no example a reader copies
//! is out of date.

#[doc = include_str!("../README.md")]
struct CrateReadme;

#[doc = include_str!("../../../docs/sessions.md")]
struct Sessions;

#[cfg(all(feature = "browser", feature = "axum"))]
#[doc = include_str!("../../../docs/browser.md")]
struct Browser;
