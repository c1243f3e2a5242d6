//! Serving the router: request ids, the request log and metrics, the server with its
//! connection timeouts, limit and graceful shutdown, and the signal that starts the shutdown.

use std::{
    future::{Future, poll_fn},
    io,
    net::SocketAddr,
    pin::pin,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    Router,
    extract::{Request, State},
    http::{
        HeaderName, HeaderValue, Method, StatusCode,
        header::{AUTHORIZATION, CONNECTION, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE},
    },
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use hyper::server::conn::http1;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use tokio::{net::TcpListener, sync::Semaphore, task::JoinSet};
use tollgate::response::problem_body;
use tower_http::{
    cors::{AllowOrigin, CorsLayer},
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};
use tower_service::Service;

use crate::config::ServerLimits;

/// CORS for `--allowed-origins`: those origins only (never `*`), with credentials (the
/// refresh cookie), the API's methods, and the `Authorization` and `Content-Type` request
/// headers. With no origin listed, no CORS header is ever sent: the browser allows
/// same-origin calls only.
pub(crate) fn cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_credentials(true)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([AUTHORIZATION, CONTENT_TYPE])
        .expose_headers([WWW_AUTHENTICATE, RETRY_AFTER, REQUEST_ID])
        .max_age(std::time::Duration::from_secs(600))
}

/// The header that carries a request's id, in the request and in its answer.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest request id kept from a caller.
const MAX_REQUEST_ID_LEN: usize = 64;

/// Whether [`serve`] records the HTTP metrics (`http_requests_total`,
/// `http_request_duration_seconds`) of the requests it serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMetrics {
    /// Record them (into the recorder `--metrics-listen` installs).
    Recorded,
    /// Record nothing.
    NotRecorded,
}

/// Whether `id` is kept as the request's id: 1 to 64 characters, each a letter, a digit,
/// or one of `.` `_` `:` `-`.
fn is_sane_request_id(id: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID_LEN).contains(&id.len())
        && id
            .iter()
            .all(|byte| byte.is_ascii_alphanumeric() || b"._:-".contains(byte))
}

/// Keeps the caller's `x-request-id` only when it is a single sane one (see
/// [`is_sane_request_id`]); otherwise drops it, so that a new one is made.
async fn drop_insane_request_id(mut request: Request) -> Request {
    let mut ids = request.headers().get_all(&REQUEST_ID).iter();
    let sane = match (ids.next(), ids.next()) {
        (None, _) => return request,
        (Some(id), None) => is_sane_request_id(id.as_bytes()),
        (Some(_), Some(_)) => false,
    };
    if !sane {
        request.headers_mut().remove(&REQUEST_ID);
    }
    request
}

/// The span of a request: its method, the route that matched and its id. Every line logged
/// while the request is served, the libraries' included, carries them.
fn request_span(request: &Request) -> tracing::Span {
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|id| id.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        target: "crm::http",
        "request",
        method = %crate::metrics::method_label(request.method()),
        route = %crate::metrics::route_label(request),
        request_id = %id,
    )
}

/// The one line of a request, when its answer's head is ready: its status and the time
/// since its head was read (the span adds the method, route and id). Never the path's
/// query, a header or a body.
fn log_answer(response: &Response, latency: Duration, _span: &tracing::Span) {
    tracing::info!(
        target: "crm::http",
        status = response.status().as_u16(),
        ?latency,
        "answered"
    );
}

/// What every request served gets, outermost first: a sane `x-request-id` (the caller's, or
/// a new random UUID) echoed on the answer, a span and one log line, the HTTP metrics when
/// `metrics` says so, and the request deadline.
fn per_request(app: Router, request_timeout: Duration, metrics: HttpMetrics) -> Router {
    let mut app = app.layer(middleware::from_fn_with_state(
        request_timeout,
        request_deadline,
    ));
    if metrics == HttpMetrics::Recorded {
        app = app.layer(middleware::from_fn(crate::metrics::record_http));
    }
    app.layer(
        TraceLayer::new_for_http()
            .make_span_with(request_span)
            .on_request(())
            .on_response(log_answer)
            .on_body_chunk(())
            .on_eos(())
            .on_failure(()),
    )
    .layer(PropagateRequestIdLayer::new(REQUEST_ID))
    .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
    .layer(middleware::map_request(drop_insane_request_id))
}

/// At the connection limit, a warning at most this often.
const LIMIT_WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// Serve `app` on `listener` (with the peer address available for rate limiting) within
/// `limits` until `shutdown` completes; then stop accepting, let the requests in flight finish
/// for at most [`ServerLimits::shutdown_timeout`] and close the connections still open.
///
/// Each connection is HTTP/1.1 with keep-alive. It is closed without an answer when it does
/// not send a whole request head within [`ServerLimits::header_read_timeout`] (counted from
/// when it opens or from the previous answer); a request not answered within
/// [`ServerLimits::request_timeout`] of its head (a body sent too slowly, or a handler stuck)
/// gets a 408 and the connection is closed. At most [`ServerLimits::max_connections`] are
/// served at once: beyond, the listener is not polled and new connections wait in its backlog
/// until one closes. An accept that fails for want of resources (out of file descriptors)
/// pauses the accepting for a second instead of retrying at once.
///
/// Every request that reaches `app` gets an `x-request-id` (the caller's when it is 1 to 64
/// characters of `A-Z a-z 0-9 . _ : -`, else a new random UUID) that its answer carries,
/// whatever the answer (the 408 of the deadline included); a span with its method, route and
/// id; and one `info` line (target `crm::http`) when its answer's head is ready, with its
/// status and latency. With [`HttpMetrics::Recorded`], its `http_requests_total` and
/// `http_request_duration_seconds` are recorded too.
///
/// Anything to do between the signal and the end of accepting (a drain period) belongs in
/// the `shutdown` future.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
    metrics: HttpMetrics,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let app = per_request(app, limits.request_timeout, metrics);
    let mut make_service = app.into_make_service_with_connect_info::<SocketAddr>();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    let mut warned: Option<Instant> = None;
    loop {
        while connections.try_join_next().is_some() {}
        // A free slot first: at the limit nothing is accepted, and new connections wait in
        // the listen backlog.
        if slots.available_permits() == 0
            && warned.is_none_or(|at| at.elapsed() >= LIMIT_WARNING_INTERVAL)
        {
            tracing::warn!(
                max_connections = limits.max_connections,
                "connection limit reached: new connections wait until one closes"
            );
            warned = Some(Instant::now());
        }
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = Arc::clone(&slots).acquire_owned() => slot,
        };
        let Ok(slot) = slot else { break };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(&error).await;
                    continue;
                }
            },
        };
        let Ok(()) = poll_fn(|cx| Service::<SocketAddr>::poll_ready(&mut make_service, cx)).await;
        let Ok(service) = make_service.call(peer).await;
        let connection = graceful
            .watch(http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service)));
        connections.spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection closed on an error");
            }
            drop(slot);
        });
    }

    // New connections are refused from here on.
    drop(listener);
    if tokio::time::timeout(limits.shutdown_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            deadline = ?limits.shutdown_timeout,
            "shutdown deadline passed: closing the connections still open"
        );
    }
    connections.shutdown().await;
}

/// After a failed accept: nothing for an error of that one connection (it was reset before
/// it was accepted); otherwise (out of file descriptors, out of memory) a log line and a
/// pause of a second, so that the loop neither spins nor stops while connections close.
async fn accept_failed(error: &io::Error) {
    if matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "cannot accept a connection: pausing the accepting for 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// The whole request, from its head to its answer, within `limit`: past it, a 408 problem
/// answer that closes the connection (the rest of the body is never read).
async fn request_deadline(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    if let Ok(response) = tokio::time::timeout(limit, next.run(request)).await {
        return response;
    }
    tracing::warn!(target: "crm::http", %method, path, ?limit, "request timed out");
    let status = StatusCode::REQUEST_TIMEOUT;
    let detail = "the request was not received and answered in time";
    (
        status,
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("application/problem+json"),
            ),
            (CONNECTION, HeaderValue::from_static("close")),
        ],
        problem_body(status, detail, "request_timeout"),
    )
        .into_response()
}

/// Listens for ctrl-c and SIGTERM from the moment it is called, and returns a future that
/// completes on the first of them. Call it before announcing the server: a signal that
/// arrives before the future is first polled is still seen.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        let listen = |kind: SignalKind, name: &str| {
            signal(kind)
                .inspect_err(|error| tracing::error!(%error, "cannot listen for {name}"))
                .ok()
        };
        [
            listen(SignalKind::interrupt(), "ctrl-c"),
            listen(SignalKind::terminate(), "SIGTERM"),
        ]
    };
    async move {
        #[cfg(unix)]
        {
            let [mut interrupt, mut terminate] = signals;
            tokio::select! {
                () = received(interrupt.as_mut()) => {}
                () = received(terminate.as_mut()) => {}
            }
        }
        #[cfg(not(unix))]
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
        tracing::info!("shutdown signal received");
    }
}

/// Completes when `signal` is received; never without a signal to listen to.
#[cfg(unix)]
async fn received(signal: Option<&mut tokio::signal::unix::Signal>) {
    match signal {
        Some(signal) => {
            signal.recv().await;
        }
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_kept_only_when_short_and_plain() {
        assert!(is_sane_request_id(b"a"));
        assert!(is_sane_request_id(b"Req-1.a_b:c"));
        assert!(is_sane_request_id("a".repeat(64).as_bytes()));
        assert!(!is_sane_request_id("a".repeat(65).as_bytes()));
        assert!(!is_sane_request_id(b""));
        for bad in [
            &b"a b"[..],
            b"a\tb",
            b"a\x7fb",
            b"caf\xc3\xa9",
            b"<x>",
            b"a/b",
            b"a\"b",
        ] {
            assert!(!is_sane_request_id(bad), "{bad:?}");
        }
    }
}
