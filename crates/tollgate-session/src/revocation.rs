//! [`NoRevocation`]: the revocation store of a manager configured without one.

use std::future::{Future, Ready, ready};

use tollgate::revocation::{RevocationStatus, RevocationStore, RevocationStoreError, TokenRef};

/// No revocation store: every check answers [`RevocationStatus::Active`] and every write is a no-op.
///
/// The default of a [`SessionManager`](crate::SessionManager). Without a revocation store,
/// ending a session stops its refreshes at once, but its access tokens stay valid until they
/// expire (at most the access token lifetime). Configure one with
/// [`SessionManager::with_revocation`](crate::SessionManager::with_revocation) to have them
/// refused on the routes that check revocation.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRevocation;

impl RevocationStore for NoRevocation {
    type CheckFuture = Ready<Result<RevocationStatus, RevocationStoreError>>;

    fn check(&self, _token: &TokenRef<'_>) -> Self::CheckFuture {
        ready(Ok(RevocationStatus::Active))
    }

    fn check_now(
        &self,
        _token: &TokenRef<'_>,
    ) -> Option<Result<RevocationStatus, RevocationStoreError>> {
        Some(Ok(RevocationStatus::Active))
    }

    fn revoke_token(
        &self,
        _jti: &str,
        _until: i64,
    ) -> impl Future<Output = Result<(), RevocationStoreError>> + Send {
        ready(Ok(()))
    }

    fn end_session(
        &self,
        _sid: &str,
        _until: i64,
    ) -> impl Future<Output = Result<(), RevocationStoreError>> + Send {
        ready(Ok(()))
    }

    fn cut_off(
        &self,
        _sub: &str,
        _at: i64,
        _until: i64,
    ) -> impl Future<Output = Result<(), RevocationStoreError>> + Send {
        ready(Ok(()))
    }

    fn set_version(
        &self,
        _sub: &str,
        _version: u64,
        _until: i64,
    ) -> impl Future<Output = Result<(), RevocationStoreError>> + Send {
        ready(Ok(()))
    }
}
