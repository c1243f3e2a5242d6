use std::{
    convert::Infallible,
    future::{Future, Ready, ready},
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use http::{
    HeaderMap, HeaderValue, Request, Response, StatusCode,
    header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE},
};
use http_body_util::{BodyExt, Full};
use tower::{Service, ServiceBuilder, ServiceExt, service_fn};

use super::{layer::RevocationLayer, *};
use crate::{
    claims::{Claims, StandardClaims},
    error::{AuthError, AuthErrorKind},
};

const EXP: i64 = 4_000_000_000;

/// A store that always fails: the policy tests need one, and it is a legitimate
/// implementation of the trait (a store whose backend is down).
#[derive(Debug, Clone)]
struct DownStore;

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

fn claims(jti: Option<&str>) -> StandardClaims {
    StandardClaims {
        sub: Some("alice".into()),
        sid: Some("session-1".into()),
        jti: jti.map(Into::into),
        exp: Some(EXP),
        iat: Some(1_000),
        ver: Some(3),
        ..StandardClaims::default()
    }
}

fn request(claims: Option<StandardClaims>) -> Request<Full<Bytes>> {
    let mut request = Request::new(Full::default());
    if let Some(claims) = claims {
        request.extensions_mut().insert(Claims::new(claims));
    }
    request
}

/// The protected service: counts its calls, answers 200 "inner".
fn protected<St: RevocationStore>(
    layer: RevocationLayer<St>,
    calls: &Arc<AtomicUsize>,
) -> impl tower::Service<Request<Full<Bytes>>, Response = Response<Full<Bytes>>, Error = Infallible>
+ Clone {
    let calls = Arc::clone(calls);
    ServiceBuilder::new()
        .layer(layer)
        .service(service_fn(move |_request: Request<Full<Bytes>>| {
            calls.fetch_add(1, Ordering::SeqCst);
            ready(Ok::<_, Infallible>(Response::new(Full::new(
                Bytes::from_static(b"inner"),
            ))))
        }))
}

async fn send<St: RevocationStore>(
    layer: &RevocationLayer<St>,
    request: Request<Full<Bytes>>,
) -> (Response<Full<Bytes>>, usize) {
    let calls = Arc::new(AtomicUsize::new(0));
    let response = protected(layer.clone(), &calls)
        .oneshot(request)
        .await
        .unwrap();
    (response, calls.load(Ordering::SeqCst))
}

fn kind<B>(response: &Response<B>) -> Option<AuthErrorKind> {
    response
        .extensions()
        .get::<AuthError>()
        .map(AuthError::kind)
}

#[tokio::test]
async fn request_without_claims_is_refused_as_missing_token() {
    let (response, calls) = send(&RevocationLayer::new(DownStore), request(None)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(kind(&response), Some(AuthErrorKind::MissingToken));
    assert_eq!(response.headers()[WWW_AUTHENTICATE], "Bearer");
    assert_eq!(calls, 0);
}

#[tokio::test]
async fn token_without_jti_is_refused_and_the_store_is_not_asked() {
    // `DownStore` would answer 503: a 401 shows the store was never asked.
    let layer = RevocationLayer::new(DownStore);
    let (response, calls) = send(&layer, request(Some(claims(None)))).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(kind(&response), Some(AuthErrorKind::MissingJti));
    assert_eq!(
        response.headers()[WWW_AUTHENTICATE],
        r#"Bearer error="invalid_token""#
    );
    assert_eq!(calls, 0);
    assert_eq!(layer.metrics().store_errors(), 0);
}

#[tokio::test]
async fn token_without_exp_is_refused_as_missing_jti() {
    let mut claims = claims(Some("t"));
    claims.exp = None;
    let (response, calls) = send(&RevocationLayer::new(DownStore), request(Some(claims))).await;
    assert_eq!(kind(&response), Some(AuthErrorKind::MissingJti));
    assert_eq!(calls, 0);
}

#[tokio::test]
async fn failing_store_fails_closed_by_default() {
    let layer = RevocationLayer::new(DownStore).retry_after(Duration::from_secs(5));
    let (response, calls) = send(&layer, request(Some(claims(Some("t"))))).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(kind(&response), Some(AuthErrorKind::StoreUnavailable));
    assert_eq!(response.headers()[RETRY_AFTER], "5");
    assert!(response.headers().get(WWW_AUTHENTICATE).is_none());
    let error = response.extensions().get::<AuthError>().unwrap();
    assert_eq!(error.retry_after(), Some(Duration::from_secs(5)));
    assert!(
        std::error::Error::source(error)
            .unwrap()
            .to_string()
            .contains("connection refused")
    );
    assert_eq!(calls, 0);
    assert_eq!(layer.metrics().store_errors(), 1);
    assert_eq!(layer.metrics().failed_open(), 0);
}

#[tokio::test]
async fn failing_store_answers_grpc_unavailable_to_grpc_requests() {
    let mut request = request(Some(claims(Some("t"))));
    request.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/grpc+proto"),
    );
    let (response, calls) = send(&RevocationLayer::new(DownStore), request).await;
    assert_eq!(response.headers()["grpc-status"], "14");
    assert_eq!(calls, 0);
}

#[tokio::test]
async fn failing_store_lets_requests_through_when_open_and_counts_them() {
    let layer = RevocationLayer::new(DownStore).failure_policy(FailurePolicy::Open);
    let metrics = layer.metrics();
    for _ in 0..3 {
        let (response, calls) = send(&layer, request(Some(claims(Some("t"))))).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(calls, 1);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "inner");
    }
    assert_eq!(metrics.failed_open(), 3);
    assert_eq!(metrics.store_errors(), 3);
}

#[tokio::test]
async fn layers_can_share_one_set_of_metrics() {
    let metrics = RevocationMetrics::new();
    let closed = RevocationLayer::new(DownStore).with_metrics(metrics.clone());
    let open = RevocationLayer::new(DownStore)
        .failure_policy(FailurePolicy::Open)
        .with_metrics(metrics.clone());
    send(&closed, request(Some(claims(Some("t"))))).await;
    send(&open, request(Some(claims(Some("t"))))).await;
    assert_eq!(metrics.store_errors(), 2);
    assert_eq!(metrics.failed_open(), 1);
}

#[tokio::test]
async fn custom_responder_renders_rejections() {
    let layer =
        RevocationLayer::new(DownStore).with_responder(|error: &AuthError, _: &HeaderMap| {
            let mut response = Response::new(Bytes::from_static(b"custom"));
            *response.status_mut() = error.status();
            response
        });
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let service =
        ServiceBuilder::new()
            .layer(layer)
            .service_fn(move |_request: Request<Full<Bytes>>| {
                counted.fetch_add(1, Ordering::SeqCst);
                ready(Ok::<_, Infallible>(Response::new(Full::<Bytes>::default())))
            });
    let response = service.oneshot(request(None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(kind(&response), Some(AuthErrorKind::MissingToken));
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "custom");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

/// A check future that is pending once before it answers, as a remote store's is.
struct Later<T> {
    value: Option<T>,
    yielded: bool,
}

impl<T: Unpin> Future for Later<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        if !self.yielded {
            self.yielded = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Poll::Ready(self.value.take().expect("polled after completion"))
    }
}

/// A store that answers a fixed status, one wake-up later.
#[derive(Debug, Clone)]
struct SlowStore(RevocationStatus);

impl RevocationStore for SlowStore {
    type CheckFuture = Later<Result<RevocationStatus, RevocationStoreError>>;

    fn check(&self, _: &TokenRef<'_>) -> Self::CheckFuture {
        Later {
            value: Some(Ok(self.0)),
            yielded: false,
        }
    }

    async fn revoke_token(&self, _: &str, _: i64) -> Result<(), RevocationStoreError> {
        Ok(())
    }

    async fn end_session(&self, _: &str, _: i64) -> Result<(), RevocationStoreError> {
        Ok(())
    }

    async fn cut_off(&self, _: &str, _: i64, _: i64) -> Result<(), RevocationStoreError> {
        Ok(())
    }

    async fn set_version(&self, _: &str, _: u64, _: i64) -> Result<(), RevocationStoreError> {
        Ok(())
    }
}

#[tokio::test]
async fn pending_store_answers_are_awaited() {
    let (response, calls) = send(
        &RevocationLayer::new(SlowStore(RevocationStatus::Active)),
        request(Some(claims(Some("t")))),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(calls, 1);

    let (response, calls) = send(
        &RevocationLayer::new(SlowStore(RevocationStatus::Stale)),
        request(Some(claims(Some("t")))),
    )
    .await;
    assert_eq!(kind(&response), Some(AuthErrorKind::StaleClaims));
    assert_eq!(calls, 0);
}

#[tokio::test]
async fn one_service_serves_many_requests() {
    let calls = Arc::new(AtomicUsize::new(0));
    let mut service = protected(
        RevocationLayer::new(SlowStore(RevocationStatus::Active)),
        &calls,
    );
    for _ in 0..3 {
        let response = service
            .ready()
            .await
            .unwrap()
            .call(request(Some(claims(Some("t")))))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

/// An inner service that counts how often it is cloned.
struct CountClones(Arc<AtomicUsize>);

impl Clone for CountClones {
    fn clone(&self) -> Self {
        self.0.fetch_add(1, Ordering::SeqCst);
        Self(Arc::clone(&self.0))
    }
}

impl Service<Request<Full<Bytes>>> for CountClones {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<Full<Bytes>>) -> Self::Future {
        ready(Ok(Response::new(Full::default())))
    }
}

/// How many clones of the inner service one request through `layer` costs.
async fn clones_per_request<St: RevocationStore>(layer: RevocationLayer<St>) -> usize {
    let clones = Arc::new(AtomicUsize::new(0));
    let mut service = tower::Layer::layer(&layer, CountClones(Arc::clone(&clones)));
    let response = service
        .ready()
        .await
        .unwrap()
        .call(request(Some(claims(Some("t")))))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    clones.load(Ordering::SeqCst)
}

#[tokio::test]
async fn only_a_store_that_must_wait_costs_a_clone_of_the_inner_service() {
    assert_eq!(
        clones_per_request(RevocationLayer::new(SlowStore(RevocationStatus::Active))).await,
        1
    );
}

#[cfg(feature = "memory-store")]
mod memory {
    use std::time::{SystemTime, UNIX_EPOCH};

    use super::*;

    fn now() -> i64 {
        i64::try_from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
        .unwrap()
    }

    async fn status(store: &MemoryRevocationStore, token: &TokenRef<'_>) -> RevocationStatus {
        store.check(token).await.unwrap()
    }

    #[tokio::test]
    async fn answers_at_hand_call_the_inner_service_without_cloning_it() {
        assert_eq!(
            clones_per_request(RevocationLayer::new(MemoryRevocationStore::new())).await,
            0
        );
    }

    #[tokio::test]
    async fn check_now_and_check_agree() {
        let store = MemoryRevocationStore::new();
        store.revoke_token("t1", EXP).await.unwrap();
        for jti in ["t1", "t2"] {
            let token = TokenRef::new(jti, EXP);
            assert_eq!(
                store.check_now(&token).unwrap().unwrap(),
                store.check(&token).await.unwrap()
            );
        }
    }

    #[tokio::test]
    async fn active_token_reaches_the_service() {
        let layer = RevocationLayer::new(MemoryRevocationStore::new());
        let (response, calls) = send(&layer, request(Some(claims(Some("t1"))))).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(calls, 1);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "inner");
    }

    #[tokio::test]
    async fn revoked_token_is_refused() {
        let layer = RevocationLayer::new(MemoryRevocationStore::new());
        layer.store().revoke_token("t1", EXP).await.unwrap();
        let (response, calls) = send(&layer, request(Some(claims(Some("t1"))))).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(kind(&response), Some(AuthErrorKind::Revoked));
        assert_eq!(
            response.headers()[WWW_AUTHENTICATE],
            r#"Bearer error="invalid_token""#
        );
        assert_eq!(calls, 0);
        let body: serde_json::Value =
            serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes())
                .unwrap();
        assert_eq!(body["code"], "token_revoked");

        // Another token of the same user and session is unaffected.
        let (response, calls) = send(&layer, request(Some(claims(Some("t2"))))).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(calls, 1);
    }

    #[tokio::test]
    async fn token_of_an_ended_session_is_refused() {
        let layer = RevocationLayer::new(MemoryRevocationStore::new());
        layer.store().end_session("session-1", EXP).await.unwrap();
        let (response, calls) = send(&layer, request(Some(claims(Some("t1"))))).await;
        assert_eq!(kind(&response), Some(AuthErrorKind::SessionEnded));
        assert_eq!(calls, 0);

        let mut other = claims(Some("t2"));
        other.sid = Some("session-2".into());
        let (response, _) = send(&layer, request(Some(other))).await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn token_issued_at_or_before_the_cut_off_is_refused() {
        let layer = RevocationLayer::new(MemoryRevocationStore::new());
        // The fixture's tokens are issued at 1000.
        layer.store().cut_off("alice", 1_000, EXP).await.unwrap();
        let (response, calls) = send(&layer, request(Some(claims(Some("t1"))))).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(kind(&response), Some(AuthErrorKind::CutOff));
        assert_eq!(calls, 0);

        let mut newer = claims(Some("t2"));
        newer.iat = Some(1_001);
        let (response, _) = send(&layer, request(Some(newer))).await;
        assert_eq!(response.status(), StatusCode::OK);

        let mut other = claims(Some("t3"));
        other.sub = Some("bob".into());
        let (response, _) = send(&layer, request(Some(other))).await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn token_with_an_old_permission_version_is_stale() {
        let layer = RevocationLayer::new(MemoryRevocationStore::new());
        // The fixture's tokens carry `ver` 3.
        layer.store().set_version("alice", 3, EXP).await.unwrap();
        let (response, _) = send(&layer, request(Some(claims(Some("t1"))))).await;
        assert_eq!(response.status(), StatusCode::OK);

        layer.store().set_version("alice", 4, EXP).await.unwrap();
        let (response, calls) = send(&layer, request(Some(claims(Some("t1"))))).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(kind(&response), Some(AuthErrorKind::StaleClaims));
        assert_eq!(calls, 0);
        let body: serde_json::Value =
            serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes())
                .unwrap();
        assert_eq!(body["code"], "stale_claims");
    }

    #[tokio::test]
    async fn later_cut_off_replaces_an_earlier_one_never_the_reverse() {
        let store = MemoryRevocationStore::new();
        let at = |iat| TokenRef {
            sub: Some("alice"),
            iat: Some(iat),
            ..TokenRef::new("t", EXP)
        };
        store.cut_off("alice", 100, EXP).await.unwrap();
        assert_eq!(status(&store, &at(150)).await, RevocationStatus::Active);
        store.cut_off("alice", 200, EXP).await.unwrap();
        assert_eq!(status(&store, &at(150)).await, RevocationStatus::CutOff);
        store.cut_off("alice", 100, EXP).await.unwrap();
        assert_eq!(status(&store, &at(150)).await, RevocationStatus::CutOff);
        assert_eq!(status(&store, &at(201)).await, RevocationStatus::Active);
    }

    #[tokio::test]
    async fn higher_version_is_never_replaced_by_a_lower_one() {
        let store = MemoryRevocationStore::new();
        let ver = |ver| TokenRef {
            sub: Some("alice"),
            ver: Some(ver),
            iat: Some(11),
            ..TokenRef::new("t", EXP)
        };
        store.set_version("alice", 5, EXP).await.unwrap();
        store.set_version("alice", 2, EXP).await.unwrap();
        assert_eq!(status(&store, &ver(4)).await, RevocationStatus::Stale);
        assert_eq!(status(&store, &ver(5)).await, RevocationStatus::Active);
        // A subject's cut-off and version live side by side.
        store.cut_off("alice", 10, EXP).await.unwrap();
        assert_eq!(status(&store, &ver(4)).await, RevocationStatus::Stale);
        let old = TokenRef {
            iat: Some(10),
            ..ver(5)
        };
        assert_eq!(status(&store, &old).await, RevocationStatus::CutOff);
    }

    #[tokio::test]
    async fn ids_of_different_kinds_never_collide() {
        let store = MemoryRevocationStore::new();
        store.revoke_token("x", EXP).await.unwrap();
        let token = TokenRef {
            sub: Some("x"),
            sid: Some("x"),
            iat: Some(1),
            ver: Some(1),
            ..TokenRef::new("y", EXP)
        };
        assert_eq!(status(&store, &token).await, RevocationStatus::Active);
        store.end_session("y", EXP).await.unwrap();
        store.cut_off("y", 5, EXP).await.unwrap();
        assert_eq!(status(&store, &token).await, RevocationStatus::Active);
        store.end_session("x", EXP).await.unwrap();
        assert_eq!(status(&store, &token).await, RevocationStatus::SessionEnded);
    }

    #[tokio::test]
    async fn writes_whose_until_has_passed_store_nothing() {
        let store = MemoryRevocationStore::new().leeway(Duration::ZERO);
        let past = now() - 1;
        store.revoke_token("t", past).await.unwrap();
        store.end_session("s", past).await.unwrap();
        store.cut_off("alice", past, past).await.unwrap();
        store.set_version("alice", 9, past).await.unwrap();
        store.remove_expired();
        assert_eq!(store.entry_count(), 0);
        let token = TokenRef {
            sub: Some("alice"),
            sid: Some("s"),
            iat: Some(1),
            ver: Some(1),
            ..TokenRef::new("t", EXP)
        };
        assert_eq!(status(&store, &token).await, RevocationStatus::Active);

        // Within the leeway they are still stored: the verify layer may still accept such a
        // token.
        let store = MemoryRevocationStore::new().leeway(Duration::from_secs(60));
        store.revoke_token("t", past).await.unwrap();
        assert_eq!(status(&store, &token).await, RevocationStatus::Revoked);
    }

    #[tokio::test]
    async fn entries_expire_at_their_until() {
        let store = MemoryRevocationStore::new().leeway(Duration::ZERO);
        let soon = now() + 1;
        store.revoke_token("short", soon).await.unwrap();
        // Revoked twice: the later `until` wins, whatever the order.
        store.revoke_token("long", EXP).await.unwrap();
        store.revoke_token("long", soon).await.unwrap();
        store.end_session("s", soon).await.unwrap();
        store.cut_off("alice", 50, soon).await.unwrap();
        store.set_version("alice", 9, soon).await.unwrap();
        let subject = TokenRef {
            sub: Some("alice"),
            sid: Some("s"),
            iat: Some(10),
            ver: Some(1),
            ..TokenRef::new("other", EXP)
        };
        assert_eq!(
            status(&store, &TokenRef::new("short", EXP)).await,
            RevocationStatus::Revoked
        );
        assert_eq!(
            status(&store, &subject).await,
            RevocationStatus::SessionEnded
        );

        // Wait for the second `soon` to pass (bounded, so a broken expiry fails the test
        // instead of hanging it).
        for _ in 0..100 {
            if now() > soon
                && status(&store, &TokenRef::new("short", EXP)).await == RevocationStatus::Active
                && status(&store, &subject).await == RevocationStatus::Active
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            status(&store, &TokenRef::new("short", EXP)).await,
            RevocationStatus::Active
        );
        assert_eq!(status(&store, &subject).await, RevocationStatus::Active);
        assert_eq!(
            status(&store, &TokenRef::new("long", EXP)).await,
            RevocationStatus::Revoked
        );
        // Expired entries are never found (above); a sweep removes them from the store.
        assert_eq!(store.entry_count(), 4);
        store.remove_expired();
        assert_eq!(store.entry_count(), 1);
    }

    /// A 36-character id, the length of a UUID `jti`.
    fn id(kind: &str, i: usize) -> String {
        format!("{i:08x}-{kind:0>4}-4000-8000-{i:012x}")
    }

    #[tokio::test]
    async fn writes_sweep_the_entries_that_have_expired() {
        let store = MemoryRevocationStore::new().leeway(Duration::ZERO);
        let soon = now() + 1;
        for i in 0..1_000 {
            store.revoke_token(&id("old", i), soon).await.unwrap();
        }
        assert_eq!(store.entry_count(), 1_000);
        // Bounded wait for `soon` to pass.
        for _ in 0..50 {
            if now() >= soon {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(now() >= soon);
        // Expired, still stored: no write has come since.
        assert_eq!(store.entry_count(), 1_000);
        // The first write to each shard sweeps it (every shard's entries have expired). So
        // many writes reach every shard, up to the 1024 of a 256-core machine, with a
        // probability above 1 - 10^-5.
        for i in 0..20_000 {
            store.revoke_token(&id("new", i), EXP).await.unwrap();
        }
        assert_eq!(store.entry_count(), 20_000);
        for i in (0..1_000).step_by(7) {
            let (old, new) = (id("old", i), id("new", i));
            assert_eq!(
                status(&store, &TokenRef::new(&old, EXP)).await,
                RevocationStatus::Active
            );
            assert_eq!(
                status(&store, &TokenRef::new(&new, EXP)).await,
                RevocationStatus::Revoked
            );
        }
    }

    #[tokio::test]
    async fn every_revoked_jti_is_refused_and_no_other() {
        let store = MemoryRevocationStore::new();
        let count = 100_000;
        for i in 0..count {
            store.revoke_token(&id("rev", i), EXP).await.unwrap();
            store.end_session(&id("sid", i), EXP).await.unwrap();
        }
        assert_eq!(store.entry_count(), 2 * count as u64);
        for i in 0..count {
            let (revoked, active, ended) = (id("rev", i), id("act", i), id("sid", i));
            let check = |jti| store.check_now(&TokenRef::new(jti, EXP)).unwrap().unwrap();
            assert_eq!(check(&revoked), RevocationStatus::Revoked, "{revoked}");
            // A never revoked jti: refused only if its 128-bit digest equalled one of the
            // 100 000 revoked ones (about 3 chances in 10^34).
            assert_eq!(check(&active), RevocationStatus::Active, "{active}");
            // The same id as an ended session is not a revoked jti.
            assert_eq!(check(&ended), RevocationStatus::Active, "{ended}");
            let in_session = TokenRef::new(&active, EXP).session(&ended);
            assert_eq!(
                store.check_now(&in_session).unwrap().unwrap(),
                RevocationStatus::SessionEnded
            );
        }
    }

    /// Checks from several threads while another writes enough entries to grow every shard's
    /// table several times: a revoked token is refused by every check, an active one passes.
    #[test]
    fn checks_during_writes_from_other_threads_stay_exact() {
        let store = MemoryRevocationStore::new();
        let revoke = |store: &MemoryRevocationStore, jti: &str| {
            let mut write = std::pin::pin!(store.revoke_token(jti, EXP));
            let mut context = Context::from_waker(std::task::Waker::noop());
            assert!(write.as_mut().poll(&mut context).is_ready());
        };
        revoke(&store, "revoked");
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            let checkers: Vec<_> = (0..3)
                .map(|_| {
                    scope.spawn(|| {
                        // At least one round, however late the thread starts.
                        loop {
                            let revoked = TokenRef::new("revoked", EXP);
                            let active = TokenRef::new("active", EXP);
                            assert_eq!(
                                store.check_now(&revoked).unwrap().unwrap(),
                                RevocationStatus::Revoked
                            );
                            assert_eq!(
                                store.check_now(&active).unwrap().unwrap(),
                                RevocationStatus::Active
                            );
                            if done.load(Ordering::Relaxed) {
                                break;
                            }
                        }
                    })
                })
                .collect();
            for i in 0..100_000 {
                revoke(&store, &id("w", i));
            }
            done.store(true, Ordering::Relaxed);
            for checker in checkers {
                checker.join().unwrap();
            }
        });
        assert_eq!(store.entry_count(), 100_001);
    }

    #[tokio::test]
    async fn clones_share_entries() {
        let store = MemoryRevocationStore::new();
        let clone = store.clone();
        clone.revoke_token("t", EXP).await.unwrap();
        assert_eq!(
            status(&store, &TokenRef::new("t", EXP)).await,
            RevocationStatus::Revoked
        );
    }
}
