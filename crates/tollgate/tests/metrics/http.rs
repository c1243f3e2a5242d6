//! The layers over loopback HTTP: decisions of each layer, revocation statuses with the
//! in-process store, a failing store, and the verified-token cache.

use std::{
    future::{Ready, ready},
    sync::{
        Arc,
        atomic::{AtomicU8, Ordering},
    },
};

use axum::{Router, routing::get};
use serde_json::json;
use tollgate::{
    RequirePolicyLayer, RevocationLayer, VerifyLayer,
    key::Algorithm,
    policy::{Authorizer, Policy},
    revocation::{
        FailurePolicy, MemoryRevocationStore, RevocationStatus, RevocationStore,
        RevocationStoreError, RevocationStoreErrorKind, TokenRef,
    },
};

use crate::{
    call, expect, run, serve,
    support::{TestKey, claims, hs256_raw, now},
};

const DECISIONS: &str = "tollgate_decisions_total";

async fn ok() -> &'static str {
    "ok"
}

#[test]
fn verify_counts_each_decision_with_its_reason() {
    run(|metrics| async move {
        let key = TestKey::new(Algorithm::HS256).with_kid("k1");
        let app = Router::new()
            .route("/me", get(ok))
            .route_layer(VerifyLayer::new(key.verifier()))
            .merge(
                Router::new()
                    .route("/feed", get(ok))
                    .route_layer(VerifyLayer::new(key.verifier()).optional(true)),
            );
        let addr = serve(app).await;

        let valid = key.sign(&claims());
        let mut expired = claims();
        expired["exp"] = json!(now() - 60);
        let expired = key.sign(&expired);
        let forged = {
            let mut token = valid.clone();
            token.truncate(token.len() - 4);
            token.push_str("AAAA");
            token
        };
        let unknown_kid = TestKey::new(Algorithm::HS256)
            .with_kid("k2")
            .sign(&claims());

        assert_eq!(call(addr, "/me", Some(&valid)).await, 200);
        assert_eq!(call(addr, "/me", Some(&valid)).await, 200);
        assert_eq!(call(addr, "/me", None).await, 401);
        assert_eq!(call(addr, "/me", Some(&expired)).await, 401);
        assert_eq!(call(addr, "/me", Some(&forged)).await, 401);
        assert_eq!(call(addr, "/me", Some(&unknown_kid)).await, 401);
        assert_eq!(call(addr, "/me", Some("not-a-token")).await, 401);
        assert_eq!(call(addr, "/feed", None).await, 200);
        assert_eq!(call(addr, "/feed", Some(&valid)).await, 200);

        let taken = metrics.take();
        assert_eq!(
            taken.counters(DECISIONS),
            expect(&[
                ("{layer=verify,outcome=allowed}", 3),
                ("{layer=verify,outcome=anonymous}", 1),
                ("{layer=verify,outcome=refused,reason=invalid_signature}", 1),
                ("{layer=verify,outcome=refused,reason=malformed_token}", 1),
                ("{layer=verify,outcome=refused,reason=missing_token}", 1),
                ("{layer=verify,outcome=refused,reason=token_expired}", 1),
                ("{layer=verify,outcome=refused,reason=unknown_key}", 1),
            ])
        );
        // Nothing else is recorded for a verify layer without a cache.
        assert_eq!(taken.counters("tollgate_revocation"), expect(&[]));
        assert_eq!(taken.counters("tollgate_verify_cache"), expect(&[]));
    });
}

#[test]
fn revocation_and_policy_count_every_status_and_refusal() {
    run(|metrics| async move {
        let key = TestKey::new(Algorithm::HS256);
        let store = MemoryRevocationStore::new();
        let authorizer = Authorizer::new();
        let app =
            Router::new()
                .route("/customers", get(ok))
                .route_layer(RequirePolicyLayer::new(
                    &authorizer,
                    Policy::permission("customer:read").unwrap(),
                ))
                .merge(Router::new().route("/invoices", get(ok)).route_layer(
                    RequirePolicyLayer::new(
                        &authorizer,
                        Policy::permission("invoice:read").unwrap(),
                    ),
                ))
                .route_layer(RevocationLayer::new(store.clone()))
                .route_layer(VerifyLayer::new(key.verifier()));
        let addr = serve(app).await;

        let until = now() + 600;
        let token = |edit: &dyn Fn(&mut serde_json::Value)| {
            let mut claims = claims();
            edit(&mut claims);
            key.sign(&claims)
        };
        let active = token(&|_| {});
        let revoked = token(&|claims| claims["jti"] = json!("revoked-jti"));
        store.revoke_token("revoked-jti", until).await.unwrap();
        let ended = token(&|claims| claims["sid"] = json!("ended-session"));
        store.end_session("ended-session", until).await.unwrap();
        let cut = token(&|claims| {
            claims["sub"] = json!("cut-user");
            claims["iat"] = json!(now() - 10);
        });
        store.cut_off("cut-user", now(), until).await.unwrap();
        let stale = token(&|claims| claims["sub"] = json!("promoted-user"));
        store.set_version("promoted-user", 2, until).await.unwrap();
        let no_jti = token(&|claims| {
            claims.as_object_mut().unwrap().remove("jti");
        });

        assert_eq!(call(addr, "/customers", Some(&active)).await, 200);
        assert_eq!(call(addr, "/invoices", Some(&active)).await, 403);
        for refused in [&revoked, &ended, &cut, &stale, &no_jti] {
            assert_eq!(call(addr, "/customers", Some(refused)).await, 401);
        }

        let taken = metrics.take();
        assert_eq!(
            taken.counters(DECISIONS),
            expect(&[
                ("{layer=policy,outcome=allowed}", 1),
                (
                    "{layer=policy,outcome=refused,reason=insufficient_scope}",
                    1
                ),
                ("{layer=revocation,outcome=allowed}", 2),
                ("{layer=revocation,outcome=refused,reason=missing_jti}", 1),
                ("{layer=revocation,outcome=refused,reason=session_ended}", 1),
                ("{layer=revocation,outcome=refused,reason=stale_claims}", 1),
                ("{layer=revocation,outcome=refused,reason=token_cut_off}", 1),
                ("{layer=revocation,outcome=refused,reason=token_revoked}", 1),
                ("{layer=verify,outcome=allowed}", 7),
            ])
        );
        assert_eq!(
            taken.counters("tollgate_revocation_checks_total"),
            expect(&[
                ("{status=active}", 2),
                ("{status=cut_off}", 1),
                ("{status=revoked}", 1),
                ("{status=session_ended}", 1),
                ("{status=stale}", 1),
            ])
        );
        // One duration per store call: the token without a `jti` never reaches the store.
        assert_eq!(
            taken.histogram_count("tollgate_revocation_check_duration_seconds"),
            6
        );
        assert_eq!(
            taken.counters("tollgate_revocation_store_errors_total"),
            expect(&[])
        );
        assert_eq!(taken.gauge("tollgate_revocation_store_failing"), None);
    });
}

/// A store whose backend fails while `state` is 1 (unavailable) or 2 (timeout), and finds
/// nothing revoked otherwise. Its answers come through `check` (never `check_now`), as a
/// remote store's do.
#[derive(Clone, Default)]
struct FlakyStore {
    state: Arc<AtomicU8>,
}

impl FlakyStore {
    fn set(&self, state: u8) {
        self.state.store(state, Ordering::SeqCst);
    }

    fn answer(&self) -> Result<(), RevocationStoreError> {
        match self.state.load(Ordering::SeqCst) {
            0 => Ok(()),
            1 => Err(RevocationStoreError::new(
                RevocationStoreErrorKind::Unavailable,
                "connection refused",
            )),
            _ => Err(RevocationStoreError::timeout()),
        }
    }
}

impl RevocationStore for FlakyStore {
    type CheckFuture = Ready<Result<RevocationStatus, RevocationStoreError>>;

    fn check(&self, _: &TokenRef<'_>) -> Self::CheckFuture {
        ready(self.answer().map(|()| RevocationStatus::Active))
    }

    async fn revoke_token(&self, _: &str, _: i64) -> Result<(), RevocationStoreError> {
        self.answer()
    }

    async fn end_session(&self, _: &str, _: i64) -> Result<(), RevocationStoreError> {
        self.answer()
    }

    async fn cut_off(&self, _: &str, _: i64, _: i64) -> Result<(), RevocationStoreError> {
        self.answer()
    }

    async fn set_version(&self, _: &str, _: u64, _: i64) -> Result<(), RevocationStoreError> {
        self.answer()
    }
}

#[test]
fn a_failing_store_counts_errors_fail_open_passes_and_the_outage() {
    run(|metrics| async move {
        let key = TestKey::new(Algorithm::HS256);
        let store = FlakyStore::default();
        let app = Router::new()
            .route("/billing", get(ok))
            .route_layer(RevocationLayer::new(store.clone()))
            .merge(Router::new().route("/feed", get(ok)).route_layer(
                RevocationLayer::new(store.clone()).failure_policy(FailurePolicy::Open),
            ))
            .route_layer(VerifyLayer::new(key.verifier()));
        let addr = serve(app).await;
        let token = key.sign(&claims());

        // Healthy: nothing about failures.
        assert_eq!(call(addr, "/billing", Some(&token)).await, 200);
        let taken = metrics.take();
        assert_eq!(
            taken.counters("tollgate_revocation_checks_total"),
            expect(&[("{status=active}", 1)])
        );
        assert_eq!(
            taken.histogram_count("tollgate_revocation_check_duration_seconds"),
            1
        );
        assert_eq!(taken.gauge("tollgate_revocation_store_failing"), None);

        // Down: fail closed refuses, fail open lets through; every failure is counted by kind.
        store.set(1);
        assert_eq!(call(addr, "/billing", Some(&token)).await, 503);
        assert_eq!(call(addr, "/feed", Some(&token)).await, 200);
        store.set(2);
        assert_eq!(call(addr, "/feed", Some(&token)).await, 200);
        let taken = metrics.take();
        assert_eq!(
            taken.counters("tollgate_revocation_checks_total"),
            expect(&[("{status=error}", 3)])
        );
        assert_eq!(
            taken.counters("tollgate_revocation_store_errors_total"),
            expect(&[("{kind=timeout}", 1), ("{kind=unavailable}", 2)])
        );
        assert_eq!(taken.counter("tollgate_revocation_failed_open_total"), 2);
        assert_eq!(
            taken.counters(DECISIONS),
            expect(&[
                ("{layer=revocation,outcome=allowed}", 2),
                (
                    "{layer=revocation,outcome=refused,reason=revocation_store_unavailable}",
                    1
                ),
                ("{layer=verify,outcome=allowed}", 3),
            ])
        );
        assert_eq!(
            taken.histogram_count("tollgate_revocation_check_duration_seconds"),
            3
        );
        assert_eq!(taken.gauge("tollgate_revocation_store_failing"), Some(1.0));

        // Back: the outage is over.
        store.set(0);
        assert_eq!(call(addr, "/billing", Some(&token)).await, 200);
        assert_eq!(call(addr, "/feed", Some(&token)).await, 200);
        let taken = metrics.take();
        assert_eq!(taken.gauge("tollgate_revocation_store_failing"), Some(0.0));
        assert_eq!(
            taken.counters("tollgate_revocation_checks_total"),
            expect(&[("{status=active}", 2)])
        );
        assert_eq!(taken.counter("tollgate_revocation_failed_open_total"), 0);
    });
}

#[cfg(feature = "verify-cache")]
#[test]
fn the_verified_cache_counts_hits_misses_and_entries() {
    use tollgate::verify::VerifiedCache;

    run(|metrics| async move {
        let key = TestKey::new(Algorithm::HS256);
        let verifier = key.verifier().cache(VerifiedCache::new(100));
        let app = Router::new()
            .route("/me", get(ok))
            .route_layer(VerifyLayer::new(verifier));
        let addr = serve(app).await;
        let first = key.sign(&claims());
        let second = key.sign(&claims());

        assert_eq!(call(addr, "/me", Some(&first)).await, 200);
        let taken = metrics.take();
        assert_eq!(
            taken.counters("tollgate_verify_cache_requests_total"),
            expect(&[("{result=miss}", 1)])
        );
        assert_eq!(taken.gauge("tollgate_verify_cache_entries"), Some(1.0));

        assert_eq!(call(addr, "/me", Some(&first)).await, 200);
        assert_eq!(call(addr, "/me", Some(&first)).await, 200);
        assert_eq!(call(addr, "/me", Some(&second)).await, 200);
        // A rejected token is looked up (a miss), and never admitted.
        let foreign = hs256_raw(
            br#"{"alg":"HS256","typ":"at+jwt"}"#,
            br#"{"iss":"elsewhere"}"#,
        );
        assert_eq!(call(addr, "/me", Some(&foreign)).await, 401);
        let taken = metrics.take();
        assert_eq!(
            taken.counters("tollgate_verify_cache_requests_total"),
            expect(&[("{result=hit}", 2), ("{result=miss}", 2)])
        );
        // The gauge moves by what entered since the last snapshot: the second token.
        assert_eq!(taken.gauge("tollgate_verify_cache_entries"), Some(1.0));
    });
}
