//! The Rust examples of the READMEs, compiled and run by `cargo test --doc` (only then is
//! this module built), so that no example a reader copies is out of date.

#[doc = include_str!("../README.md")]
struct CrateReadme;

#[doc = include_str!("../../../README.md")]
struct WorkspaceReadme;
