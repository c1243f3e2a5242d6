//! Verification: published test vectors, the RFC 8725 attacks, and the layer over real
//! transports.

#[cfg(feature = "tonic")]
#[path = "../support/grpc.rs"]
mod grpc_support;
#[path = "../support/mod.rs"]
mod support;

mod attacks;
#[cfg(all(feature = "verify-cache", feature = "memory-store"))]
mod cache;
mod claims;
#[cfg(feature = "tonic")]
mod grpc;
#[cfg(feature = "axum")]
mod http;
mod strict_json;
mod vectors;
