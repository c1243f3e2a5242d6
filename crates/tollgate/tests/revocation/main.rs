//! Revocation over real transports: the hybrid router with axum over loopback HTTP, one tonic
//! service behind the check, and the memory store's footprint.
#![cfg(feature = "memory-store")]

#[cfg(feature = "tonic")]
#[path = "../support/grpc.rs"]
mod grpc_support;
#[path = "../support/mod.rs"]
mod support;

mod footprint;
#[cfg(feature = "tonic")]
mod grpc;
mod http;

use std::future::{Ready, ready};

use tollgate::revocation::{
    RevocationStatus, RevocationStore, RevocationStoreError, RevocationStoreErrorKind, TokenRef,
};

/// A store whose backend is down: every call fails. A legitimate implementation of the trait,
/// used to show the failure policies on real routes (the Redis fault tests stop a real server).
#[derive(Debug, Clone)]
pub struct DownStore;

fn down() -> RevocationStoreError {
    RevocationStoreError::new(RevocationStoreErrorKind::Unavailable, "connection refused")
}

impl RevocationStore for DownStore {
    type CheckFuture = Ready<Result<RevocationStatus, RevocationStoreError>>;

    fn check(&self, _: &TokenRef<'_>) -> Self::CheckFuture {
        ready(Err(down()))
    }

    async fn revoke_token(&self, _: &str, _: i64) -> Result<(), RevocationStoreError> {
        Err(down())
    }

    async fn end_session(&self, _: &str, _: i64) -> Result<(), RevocationStoreError> {
        Err(down())
    }

    async fn cut_off(&self, _: &str, _: i64, _: i64) -> Result<(), RevocationStoreError> {
        Err(down())
    }

    async fn set_version(&self, _: &str, _: u64, _: i64) -> Result<(), RevocationStoreError> {
        Err(down())
    }
}
