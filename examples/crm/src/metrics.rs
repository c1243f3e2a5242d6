//! Metrics: the Prometheus recorder `--metrics-listen` installs, the `GET /metrics` router
//! of that second listener, and the HTTP metrics of the API's requests.
//!
//! The recorder is the process-wide one of the [`metrics`] facade: it receives whatever
//! is recorded in the process, the CRM's `http_*` metrics and those of the tollgate crates
//! alike. Without `--metrics-listen` no recorder is installed and nothing is recorded.

use std::time::{Duration, Instant};

use axum::{
    Router,
    extract::{MatchedPath, Request, State},
    http::{HeaderValue, Method, header::CONTENT_TYPE},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

use crate::error::ApiError;

/// The upper bounds of the buckets of every `_seconds` histogram, in seconds: from 1 ms to
/// 10 s, about three a decade (1, 2.5 and 5 of each power of ten).
pub const SECONDS_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How often the recorder's histograms are drained into their buckets between scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The `route` label of a request no route matched (an unknown path): one series, whatever
/// the paths scanned.
pub const UNMATCHED: &str = "unmatched";

/// The media type of the Prometheus text format.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Install the Prometheus recorder for the whole process, with [`SECONDS_BUCKETS`] for every
/// metric whose name ends in `_seconds`, and start its upkeep (on the current Tokio runtime).
///
/// # Errors
///
/// When a recorder is already installed in this process.
///
/// # Panics
///
/// Outside a Tokio runtime (the upkeep is a task of the runtime).
pub fn install() -> Result<PrometheusHandle, BuildError> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), &SECONDS_BUCKETS)?
        .install_recorder()?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(UPKEEP_INTERVAL);
        loop {
            interval.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}

/// The router of the `--metrics-listen` listener: `GET /metrics`, the recorder's metrics in
/// the Prometheus text format; any other path is 404 and another method 405 (problem
/// answers, as on the API).
pub fn router(handle: PrometheusHandle) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .fallback(|| async { ApiError::no_route() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .with_state(handle)
}

async fn scrape(State(handle): State<PrometheusHandle>) -> Response {
    (
        [(CONTENT_TYPE, HeaderValue::from_static(TEXT_FORMAT))],
        handle.render(),
    )
        .into_response()
}

/// Records `http_requests_total{method,route,status}` and
/// `http_request_duration_seconds{method,route}` for every request, from its head to its
/// answer's head.
pub(crate) async fn record_http(request: Request, next: Next) -> Response {
    let method = method_label(request.method());
    let route = route_label(&request).to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    metrics::counter!(
        "http_requests_total",
        "method" => method,
        "route" => route.clone(),
        "status" => response.status().as_u16().to_string(),
    )
    .increment(1);
    metrics::histogram!(
        "http_request_duration_seconds",
        "method" => method,
        "route" => route,
    )
    .record(elapsed);
    response
}

/// The `method` of a request as a label and a log field: one of the standard methods, else
/// `other` (so that made-up methods cannot make new series).
#[must_use]
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// The `route` of a request as a label and a log field: the template of the route that
/// matched (`/api/customers/{id}`), or [`UNMATCHED`]. Never the path itself.
#[must_use]
pub fn route_label<B>(request: &axum::http::Request<B>) -> &str {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_outside_the_standard_ones_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::DELETE), "DELETE");
        let made_up = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&made_up), "other");
    }

    #[test]
    fn buckets_rise_from_a_millisecond_to_ten_seconds() {
        assert_eq!(SECONDS_BUCKETS.first(), Some(&0.001));
        assert_eq!(SECONDS_BUCKETS.last(), Some(&10.0));
        assert!(SECONDS_BUCKETS.windows(2).all(|pair| pair[0] < pair[1]));
    }
}
