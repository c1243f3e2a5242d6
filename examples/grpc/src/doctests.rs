//! The Rust example of the README, compiled by `cargo test --doc` (only then is this module
//! built), so that the code a reader copies is not out of date.

#[doc = include_str!("../README.md")]
struct Readme;
