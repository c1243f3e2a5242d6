//! Policy over real transports: an axum application over loopback HTTP and a tonic service,
//! with the verify, revocation and policy layers composed in the orders that work, and the
//! one that cannot.
#![cfg(all(feature = "axum", feature = "memory-store"))]

#[cfg(feature = "tonic")]
#[path = "../support/grpc.rs"]
mod grpc_support;
#[path = "../support/mod.rs"]
mod support;

#[cfg(feature = "tonic")]
mod grpc;
mod http;
mod order;

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use serde_json::Value;
use tollgate::{
    policy::{Authorizer, RoleMap},
    revocation::{
        MemoryRevocationStore, RevocationStatus, RevocationStore, RevocationStoreError, TokenRef,
    },
};

use crate::support::{TestKey, claims};

/// The role table of the CRM specification.
pub(crate) fn crm_roles() -> RoleMap {
    RoleMap::new()
        .add_role("admin", ["*:*"])
        .unwrap()
        .add_role("manager", ["customer:*", "user:read"])
        .unwrap()
        .add_role(
            "sales",
            ["customer:read", "customer:create", "customer:update"],
        )
        .unwrap()
        .add_role("viewer", ["customer:read"])
        .unwrap()
}

/// The application's authorizer: `perms` claim, the CRM roles, `superuser` passes all.
pub(crate) fn authorizer() -> Authorizer {
    Authorizer::new()
        .role_map(crm_roles())
        .superuser_role("superuser")
        .unwrap()
}

/// Valid access-token claims with `changes` merged in (for example other `roles`).
pub(crate) fn claims_with(changes: Value) -> Value {
    let mut claims = claims();
    if let (Some(claims), Value::Object(changes)) = (claims.as_object_mut(), changes) {
        claims.extend(changes);
    }
    claims
}

/// A signed token with `changes` merged into valid claims, and those claims.
pub(crate) fn token(key: &TestKey, changes: Value) -> (String, Value) {
    let claims = claims_with(changes);
    (key.sign(&claims), claims)
}

/// Revoke the token with these claims (its `jti`, until its `exp`).
pub(crate) async fn revoke(store: &impl RevocationStore, claims: &Value) {
    store
        .revoke_token(
            claims["jti"].as_str().unwrap(),
            claims["exp"].as_i64().unwrap(),
        )
        .await
        .unwrap();
}

/// A [`MemoryRevocationStore`] that counts the look-ups it answers, to show which layer order spends
/// them.
#[derive(Clone, Debug, Default)]
pub(crate) struct CountingStore {
    /// The store answering the look-ups.
    pub(crate) store: MemoryRevocationStore,
    checks: Arc<AtomicUsize>,
}

impl CountingStore {
    /// How many look-ups the store answered.
    pub(crate) fn checks(&self) -> usize {
        self.checks.load(Ordering::SeqCst)
    }
}

impl RevocationStore for CountingStore {
    type CheckFuture = <MemoryRevocationStore as RevocationStore>::CheckFuture;

    fn check(&self, token: &TokenRef<'_>) -> Self::CheckFuture {
        self.checks.fetch_add(1, Ordering::SeqCst);
        self.store.check(token)
    }

    fn check_now(
        &self,
        token: &TokenRef<'_>,
    ) -> Option<Result<RevocationStatus, RevocationStoreError>> {
        let answer = self.store.check_now(token);
        if answer.is_some() {
            self.checks.fetch_add(1, Ordering::SeqCst);
        }
        answer
    }

    async fn revoke_token(&self, jti: &str, until: i64) -> Result<(), RevocationStoreError> {
        self.store.revoke_token(jti, until).await
    }

    async fn end_session(&self, sid: &str, until: i64) -> Result<(), RevocationStoreError> {
        self.store.end_session(sid, until).await
    }

    async fn cut_off(&self, sub: &str, at: i64, until: i64) -> Result<(), RevocationStoreError> {
        self.store.cut_off(sub, at, until).await
    }

    async fn set_version(
        &self,
        sub: &str,
        version: u64,
        until: i64,
    ) -> Result<(), RevocationStoreError> {
        self.store.set_version(sub, version, until).await
    }
}
