//! A Redis outage seen through the revocation layer, on a private server that is stopped and
//! restarted: once the outage is known, requests are answered at once (not after the store
//! timeout), the outage is logged once when it starts and once when it ends, and the store
//! recovers on its own.
//!
//! Its own test binary, with a global subscriber: `tracing` caches each callsite's interest
//! process-wide, so a thread-local subscriber could miss events.

#[path = "../support/mod.rs"]
mod support;

use std::{
    convert::Infallible,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use support::{eventually, now, private_redis};
use tollgate::{
    Claims, RevocationLayer, StandardClaims,
    revocation::{FailurePolicy, RevocationMetrics, RevocationStore, TokenRef},
};
use tollgate_redis::{LocalCache, RedisRevocationStore};
use tower::{ServiceBuilder, ServiceExt};

/// A `tracing` writer that keeps what it is given.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines(&self) -> Vec<String> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(ToOwned::to_owned)
            .collect()
    }
}

fn request(jti: &str) -> Request<Full<Bytes>> {
    let mut request = Request::new(Full::default());
    request.extensions_mut().insert(Claims::new(StandardClaims {
        sub: Some("outage-user".into()),
        jti: Some(jti.into()),
        exp: Some(now() + 3600),
        iat: Some(now() - 10),
        ..StandardClaims::default()
    }));
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_is_answered_at_once_logged_once_and_recovered_from() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish(),
    )
    .unwrap();

    let Some(mut server) = private_redis() else {
        return;
    };
    // A long store timeout, so that "answered without waiting it" is plain to see.
    let timeout = Duration::from_secs(2);
    let store = RedisRevocationStore::builder(redis::Client::open(server.url()).unwrap())
        .timeout(timeout)
        .unwrap()
        .local_cache(
            LocalCache::new()
                .heartbeat(Duration::from_millis(200))
                .unwrap(),
        )
        .build()
        .unwrap();
    assert!(
        eventually(Duration::from_secs(10), || store.is_subscribed()).await,
        "the local cache did not subscribe"
    );
    // Two routes, one failing closed and one failing open, counting into one set.
    let metrics = RevocationMetrics::new();
    let inner = |_request: Request<Full<Bytes>>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
    };
    let closed = ServiceBuilder::new()
        .layer(RevocationLayer::new(store.clone()).with_metrics(metrics.clone()))
        .service_fn(inner);
    let open = ServiceBuilder::new()
        .layer(
            RevocationLayer::new(store.clone())
                .failure_policy(FailurePolicy::Open)
                .with_metrics(metrics.clone()),
        )
        .service_fn(inner);
    let response = closed.clone().oneshot(request("before")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    server.stop();
    assert!(
        eventually(Duration::from_secs(10), || store.is_down()).await,
        "the outage went unnoticed"
    );
    // Known down: every request is answered per the policy without waiting the timeout (the
    // bound is half of it, generous for a memory look-up).
    let rounds = 50;
    for round in 0..rounds {
        let jti = format!("during-{round}");
        let started = Instant::now();
        let response = closed.clone().oneshot(request(&jti)).await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let response = open.clone().oneshot(request(&jti)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let waited = started.elapsed();
        assert!(waited < timeout / 2, "round {round}: {waited:?}");
    }
    let started = Instant::now();
    assert!(
        store
            .check(&TokenRef::new("direct", now() + 60))
            .await
            .is_err()
    );
    assert!(started.elapsed() < timeout / 2, "{:?}", started.elapsed());
    assert_eq!(metrics.outages(), 1);
    assert!(metrics.is_store_failing());
    assert_eq!(metrics.store_errors(), 2 * rounds);
    assert_eq!(metrics.failed_open(), rounds);

    // Redis comes back (empty): the probe notices, and checks ask it again.
    server.restart().unwrap();
    assert!(
        eventually(Duration::from_secs(15), || !store.is_down()).await,
        "the store did not notice Redis came back"
    );
    let response = closed.clone().oneshot(request("after")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    store.revoke_token("after", now() + 600).await.unwrap();
    let response = closed.clone().oneshot(request("after")).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(!metrics.is_store_failing());
    assert_eq!(metrics.outages(), 1);

    // One line when the outage started, one when it ended; the refused requests in between
    // only counted.
    let lines = captured.lines();
    let started: Vec<_> = lines
        .iter()
        .filter(|line| line.contains("revocation store failing"))
        .collect();
    assert_eq!(started.len(), 1, "{lines:#?}");
    assert!(started[0].contains("WARN"), "{}", started[0]);
    let ended: Vec<_> = lines
        .iter()
        .filter(|line| line.contains("revocation store answers again"))
        .collect();
    assert_eq!(ended.len(), 1, "{lines:#?}");
    assert!(
        ended[0].contains(&format!("failed_checks={}", 2 * rounds)),
        "{}",
        ended[0]
    );
    let warnings = lines.iter().filter(|line| line.contains("WARN")).count();
    assert!(
        warnings <= 2,
        "the outage start and the lost channel at most: {lines:#?}"
    );
    eprintln!("{}", lines.join("\n"));
}
