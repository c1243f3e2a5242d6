//! The metrics of `docs/observability.md` move when their events happen, driven through the
//! real layers: axum over loopback HTTP with a real HTTP client, a tonic service with a tonic
//! client, a remote JWK Set served over loopback, the in-process revocation store, and a store
//! that fails (a `RevocationStore` of the test's own).
//!
//! Each test records into its own `DebuggingRecorder`, set for its thread with
//! `metrics::with_local_recorder`, and runs server and client on one current-thread runtime
//! on that thread: the tests of this binary run in parallel without seeing each other's
//! metrics.
#![cfg(all(feature = "metrics", feature = "axum", feature = "memory-store"))]

#[cfg(feature = "tonic")]
#[path = "../support/grpc.rs"]
mod grpc_support;
#[path = "../support/mod.rs"]
mod support;

#[cfg(feature = "tonic")]
mod grpc;
mod http;
#[cfg(feature = "jwks-remote")]
mod jwks;

use std::{collections::BTreeMap, future::Future, net::SocketAddr};

use axum::Router;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

/// What the recorder holds, taken (counters and gauges start again from zero).
#[derive(Debug)]
pub struct Metrics(Snapshotter);

/// One snapshot: each series as `name{label=value,...}` (labels sorted) and its value.
#[derive(Debug)]
pub struct Snapshot(BTreeMap<String, DebugValue>);

impl Metrics {
    /// What was recorded since the last call.
    pub fn take(&self) -> Snapshot {
        let mut series = BTreeMap::new();
        for (key, _, _, value) in self.0.snapshot().into_vec() {
            let (_, key) = key.into_parts();
            let mut labels: Vec<String> = key
                .labels()
                .map(|label| format!("{}={}", label.key(), label.value()))
                .collect();
            labels.sort();
            let name = if labels.is_empty() {
                key.name().to_owned()
            } else {
                format!("{}{{{}}}", key.name(), labels.join(","))
            };
            series.insert(name, value);
        }
        Snapshot(series)
    }
}

impl Snapshot {
    /// The counter `series` (0 when absent).
    pub fn counter(&self, series: &str) -> u64 {
        match self.0.get(series) {
            Some(DebugValue::Counter(value)) => *value,
            None => 0,
            Some(other) => panic!("{series} is not a counter: {other:?}"),
        }
    }

    /// The gauge `series`, if it was recorded.
    pub fn gauge(&self, series: &str) -> Option<f64> {
        match self.0.get(series) {
            Some(DebugValue::Gauge(value)) => Some(value.into_inner()),
            None => None,
            Some(other) => panic!("{series} is not a gauge: {other:?}"),
        }
    }

    /// How many values the histogram `series` received.
    pub fn histogram_count(&self, series: &str) -> usize {
        match self.0.get(series) {
            Some(DebugValue::Histogram(values)) => values.len(),
            None => 0,
            Some(other) => panic!("{series} is not a histogram: {other:?}"),
        }
    }

    /// The counters whose name is `name` and that moved, as `{labels} => value`.
    pub fn counters(&self, name: &str) -> BTreeMap<String, u64> {
        self.0
            .iter()
            .filter_map(|(series, value)| {
                let labels = series.strip_prefix(name)?;
                match value {
                    DebugValue::Counter(value) if *value > 0 => Some((labels.to_owned(), *value)),
                    _ => None,
                }
            })
            .collect()
    }
}

/// `{labels} => value` pairs, for comparing with [`Snapshot::counters`].
pub fn expect(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs
        .iter()
        .map(|(labels, value)| ((*labels).to_owned(), *value))
        .collect()
}

/// Run `test` with a recorder of its own, server and client on one current-thread runtime.
pub fn run<F: Future<Output = ()>>(test: impl FnOnce(Metrics) -> F) {
    let recorder = DebuggingRecorder::new();
    let metrics = Metrics(recorder.snapshotter());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || runtime.block_on(test(metrics)));
}

/// Serve `app` on loopback.
pub async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// `GET http://{addr}{path}` with an optional bearer token: the status.
pub async fn call(addr: SocketAddr, path: &str, token: Option<&str>) -> u16 {
    let mut request = reqwest::Client::new().get(format!("http://{addr}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().status().as_u16()
}
