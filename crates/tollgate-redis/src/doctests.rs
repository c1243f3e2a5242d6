//! The Rust examples of the README, compiled by `cargo test --doc` (only then is this
//! module built), so that no example a reader copies is out of date.

#[doc = include_str!("../README.md")]
struct CrateReadme;
