//! Tests against a JWK Set served by a real HTTP server on loopback.

use std::{
    convert::Infallible,
    error::Error as StdError,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use aws_lc_rs::{
    rand::SystemRandom,
    signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair},
};
use axum::{
    Router,
    body::Body,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use bytes::Bytes;
use http_body::Frame;
use jsonwebtoken::{
    EncodingKey,
    jwk::{Jwk, JwkSet},
};

use super::{builder::DEFAULT_MAX_RESPONSE_BYTES, error::JwksErrorKind, *};
use crate::{error::ConfigError, key::algorithm::Algorithm};

/// A bound on how long the tests wait for a background refresh to land. Generous: the
/// refreshes under test are due after one second.
const PROPAGATION_BOUND: Duration = Duration::from_secs(15);

fn jwk(kid: &str) -> Jwk {
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .unwrap();
    let key = EncodingKey::from_ec_der(pkcs8.as_ref());
    let mut jwk = Jwk::from_encoding_key(&key, jsonwebtoken::Algorithm::ES256).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    jwk
}

fn jwks(keys: &[&Jwk]) -> String {
    serde_json::to_string(&JwkSet {
        keys: keys.iter().map(|&jwk| jwk.clone()).collect(),
    })
    .unwrap()
}

#[derive(Clone)]
enum Reply {
    Jwks {
        body: String,
        cache_control: Option<&'static str>,
    },
    Status(StatusCode),
    /// 302 to `/moved.json`, which serves a valid set.
    Redirect,
    /// A body streamed in `count` chunks of `size` bytes, without `Content-Length`.
    Chunked {
        size: usize,
        count: usize,
    },
    /// Never answers.
    Stall,
}

impl Reply {
    fn jwks(keys: &[&Jwk]) -> Self {
        Self::Jwks {
            body: jwks(keys),
            cache_control: None,
        }
    }

    fn body(body: &str) -> Self {
        Self::Jwks {
            body: body.to_owned(),
            cache_control: None,
        }
    }
}

#[derive(Clone)]
struct Server {
    addr: std::net::SocketAddr,
    hits: Arc<AtomicUsize>,
    moved_hits: Arc<AtomicUsize>,
    reply: Arc<Mutex<Reply>>,
}

impl Server {
    async fn start(reply: Reply) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = Self {
            addr: listener.local_addr().unwrap(),
            hits: Arc::default(),
            moved_hits: Arc::default(),
            reply: Arc::new(Mutex::new(reply)),
        };
        let app = Router::new()
            .route("/jwks.json", get(serve))
            .route("/moved.json", get(moved))
            .with_state(server.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        server
    }

    fn url(&self) -> String {
        format!("http://{}/jwks.json", self.addr)
    }

    fn set(&self, reply: Reply) {
        *self.reply.lock().unwrap() = reply;
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn serve(State(server): State<Server>) -> Response {
    server.hits.fetch_add(1, Ordering::SeqCst);
    let reply = server.reply.lock().unwrap().clone();
    match reply {
        Reply::Jwks {
            body,
            cache_control,
        } => {
            let mut response = body.into_response();
            if let Some(value) = cache_control {
                response
                    .headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
            }
            response
        }
        Reply::Status(status) => status.into_response(),
        Reply::Redirect => (
            StatusCode::FOUND,
            [(
                header::LOCATION,
                format!("http://{}/moved.json", server.addr),
            )],
        )
            .into_response(),
        Reply::Chunked { size, count } => Body::new(Chunks { size, count }).into_response(),
        Reply::Stall => std::future::pending().await,
    }
}

async fn moved(State(server): State<Server>) -> String {
    server.moved_hits.fetch_add(1, Ordering::SeqCst);
    jwks(&[&jwk("moved")])
}

/// A body of unknown length, sent with chunked transfer encoding.
struct Chunks {
    size: usize,
    count: usize,
}

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.count == 0 {
            return Poll::Ready(None);
        }
        self.count -= 1;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b' '; self.size])))))
    }
}

fn kids(jwks: &RemoteJwks) -> Vec<String> {
    jwks.key_set()
        .map(|keys| {
            keys.iter()
                .filter_map(|key| key.kid())
                .map(ToOwned::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Poll `condition` until it holds, for at most [`PROPAGATION_BOUND`].
async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < PROPAGATION_BOUND,
            "{what}: not within {PROPAGATION_BOUND:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn fetches_a_jwk_set_over_http() {
    let server = Server::start(Reply::jwks(&[&jwk("a"), &jwk("b")])).await;
    let jwks = RemoteJwks::new(&server.url()).unwrap();
    assert!(jwks.key_set().is_none(), "nothing is fetched before use");
    assert_eq!(server.hits(), 0);

    jwks.refresh().await.unwrap();
    assert_eq!(server.hits(), 1);
    assert_eq!(kids(&jwks), ["a", "b"]);
    let keys = jwks.current().unwrap();
    assert_eq!(keys.get("a").unwrap().algorithm(), Algorithm::ES256);
    assert!(jwks.last_error().is_none());
    assert_eq!(jwks.url(), server.url());
}

#[tokio::test]
async fn shared_secret_keys_in_a_fetched_set_are_ignored() {
    let secret = r#"{"kty":"oct","alg":"HS256","kid":"s","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}"#;
    let public = serde_json::to_string(&jwk("a")).unwrap();
    let server = Server::start(Reply::body(&format!(r#"{{"keys":[{secret},{public}]}}"#))).await;
    let jwks = RemoteJwks::new(&server.url()).unwrap();
    jwks.refresh().await.unwrap();
    assert_eq!(kids(&jwks), ["a"]);

    // A set of nothing but secrets has no usable key.
    server.set(Reply::body(&format!(r#"{{"keys":[{secret}]}}"#)));
    let error = jwks.refresh().await.unwrap_err();
    assert_eq!(error.kind(), JwksErrorKind::NoUsableKeys);
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let padding = " ".repeat(DEFAULT_MAX_RESPONSE_BYTES);
    let body = format!("{}{padding}", jwks(&[&jwk("a")]));
    let server = Server::start(Reply::body(&body)).await;
    let jwks = RemoteJwks::new(&server.url()).unwrap();
    let error = jwks.refresh().await.unwrap_err();
    assert_eq!(error.kind(), JwksErrorKind::TooLarge);
    assert!(jwks.key_set().is_none());

    // Without Content-Length, the body is cut off while it streams in.
    server.set(Reply::Chunked {
        size: 16 * 1024,
        count: 1024,
    });
    let error = jwks.refresh().await.unwrap_err();
    assert_eq!(error.kind(), JwksErrorKind::TooLarge);

    // A body just under the limit is read to its end (and then is no JWK set).
    server.set(Reply::Chunked {
        size: 1024,
        count: 255,
    });
    let error = jwks.refresh().await.unwrap_err();
    assert_eq!(error.kind(), JwksErrorKind::InvalidJwks);
}

#[tokio::test]
async fn the_size_limit_is_configurable() {
    let server = Server::start(Reply::jwks(&[&jwk("a")])).await;
    let jwks = RemoteJwks::builder(&server.url())
        .unwrap()
        .max_response_bytes(1024)
        .unwrap()
        .build()
        .unwrap();
    jwks.refresh().await.unwrap();
    let many: Vec<Jwk> = (0..10).map(|i| jwk(&i.to_string())).collect();
    server.set(Reply::jwks(&many.iter().collect::<Vec<_>>()));
    let error = jwks.refresh().await.unwrap_err();
    assert_eq!(error.kind(), JwksErrorKind::TooLarge);
    assert_eq!(kids(&jwks), ["a"], "the last good set stays");
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let server = Server::start(Reply::Redirect).await;
    let jwks = RemoteJwks::new(&server.url()).unwrap();
    let error = jwks.refresh().await.unwrap_err();
    assert_eq!(error.kind(), JwksErrorKind::Redirect);
    assert_eq!(error.status(), Some(StatusCode::FOUND));
    assert_eq!(server.moved_hits.load(Ordering::SeqCst), 0);
    assert!(jwks.key_set().is_none());

    // A custom client that follows redirects: the answer still is not used.
    let jwks = RemoteJwks::builder(&server.url())
        .unwrap()
        .client(reqwest::Client::new())
        .build()
        .unwrap();
    let error = jwks.refresh().await.unwrap_err();
    assert_eq!(error.kind(), JwksErrorKind::Redirect);
    assert!(jwks.key_set().is_none());
}

#[tokio::test]
async fn a_failed_refresh_keeps_the_last_good_set() {
    let server = Server::start(Reply::jwks(&[&jwk("a")])).await;
    let jwks = RemoteJwks::new(&server.url()).unwrap();
    jwks.refresh().await.unwrap();

    server.set(Reply::Status(StatusCode::INTERNAL_SERVER_ERROR));
    let error = jwks.refresh().await.unwrap_err();
    assert_eq!(error.kind(), JwksErrorKind::Status);
    assert_eq!(error.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));
    assert_eq!(kids(&jwks), ["a"]);
    assert_eq!(jwks.last_error().unwrap().kind(), JwksErrorKind::Status);

    for (reply, kind) in [
        (Reply::body("not json"), JwksErrorKind::InvalidJwks),
        (Reply::body(r#"{"keys":{}}"#), JwksErrorKind::InvalidJwks),
        (Reply::body(r#"{"keys":[]}"#), JwksErrorKind::NoUsableKeys),
        (
            Reply::body(
                r#"{"keys":[{"kty":"EC","crv":"P-256","use":"enc","kid":"e","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#,
            ),
            JwksErrorKind::NoUsableKeys,
        ),
    ] {
        server.set(reply);
        assert_eq!(jwks.refresh().await.unwrap_err().kind(), kind);
        assert_eq!(kids(&jwks), ["a"]);
    }

    // Recovery replaces the set and clears the error.
    server.set(Reply::jwks(&[&jwk("b")]));
    jwks.refresh().await.unwrap();
    assert_eq!(kids(&jwks), ["b"]);
    assert!(jwks.last_error().is_none());
}

#[tokio::test]
async fn a_stale_set_is_dropped_after_max_stale() {
    let server = Server::start(Reply::jwks(&[&jwk("a")])).await;
    let jwks = RemoteJwks::builder(&server.url())
        .unwrap()
        .refresh_interval(Duration::from_secs(1))
        .unwrap()
        .max_stale(Duration::ZERO)
        .unwrap()
        .build()
        .unwrap();
    jwks.refresh().await.unwrap();
    assert!(jwks.current().is_some());

    server.set(Reply::Status(StatusCode::SERVICE_UNAVAILABLE));
    eventually("the stale set is dropped", || jwks.current().is_none()).await;
    eventually("the background refresh failed", || {
        jwks.last_error().is_some()
    })
    .await;
    assert_eq!(jwks.last_error().unwrap().kind(), JwksErrorKind::Status);

    // The background task keeps retrying and recovers.
    server.set(Reply::jwks(&[&jwk("b")]));
    eventually("the key source recovers", || kids(&jwks) == ["b"]).await;
}

#[tokio::test]
async fn unreachable_and_silent_endpoints_fail() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    drop(listener);
    let jwks = RemoteJwks::new(&url).unwrap();
    let error = jwks.refresh().await.unwrap_err();
    assert_eq!(error.kind(), JwksErrorKind::Unreachable);
    assert!(StdError::source(&error).is_some());

    let server = Server::start(Reply::Stall).await;
    let jwks = RemoteJwks::builder(&server.url())
        .unwrap()
        .timeout(Duration::from_millis(200))
        .unwrap()
        .build()
        .unwrap();
    let error = jwks.refresh().await.unwrap_err();
    assert_eq!(error.kind(), JwksErrorKind::Timeout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_cause_one_fetch() {
    let server = Server::start(Reply::jwks(&[&jwk("a")])).await;
    let jwks = RemoteJwks::new(&server.url()).unwrap();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let jwks = jwks.clone();
            tokio::spawn(async move {
                jwks.refresh_on_miss().await;
                // Every caller waited for the one fetch.
                jwks.current().is_some()
            })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap(), "a caller returned before the fetch");
    }
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn misses_inside_the_cool_down_do_not_fetch() {
    let server = Server::start(Reply::jwks(&[&jwk("a")])).await;
    // The default cool-down is 10 s: far longer than this test takes.
    let jwks = RemoteJwks::new(&server.url()).unwrap();
    jwks.refresh_on_miss().await;
    assert_eq!(server.hits(), 1);

    server.set(Reply::jwks(&[&jwk("a"), &jwk("b")]));
    for _ in 0..50 {
        jwks.refresh_on_miss().await;
    }
    assert_eq!(server.hits(), 1);
    assert_eq!(kids(&jwks), ["a"]);

    // An explicit refresh is not limited by the cool-down.
    jwks.refresh().await.unwrap();
    assert_eq!(server.hits(), 2);
    assert_eq!(kids(&jwks), ["a", "b"]);
}

#[tokio::test]
async fn a_miss_inside_the_cool_down_schedules_one_fetch_at_its_end() {
    let server = Server::start(Reply::jwks(&[&jwk("a")])).await;
    let jwks = RemoteJwks::builder(&server.url())
        .unwrap()
        .min_refresh_interval(Duration::from_secs(1))
        .unwrap()
        .build()
        .unwrap();
    jwks.refresh_on_miss().await;
    assert_eq!(kids(&jwks), ["a"]);

    server.set(Reply::jwks(&[&jwk("a"), &jwk("b")]));
    for _ in 0..50 {
        jwks.refresh_on_miss().await;
    }
    eventually("the scheduled fetch picks up the new key", || {
        kids(&jwks) == ["a", "b"]
    })
    .await;
    assert_eq!(server.hits(), 2, "the 50 misses scheduled one fetch");
}

#[tokio::test]
async fn periodic_and_explicit_fetches_start_no_cool_down() {
    let server = Server::start(Reply::jwks(&[&jwk("a")])).await;
    let jwks = RemoteJwks::new(&server.url()).unwrap();
    jwks.refresh().await.unwrap();
    // A new key appears right after a fetch that was not caused by a miss: the first token
    // that names it causes a fetch at once.
    server.set(Reply::jwks(&[&jwk("a"), &jwk("b")]));
    jwks.refresh_on_miss().await;
    assert_eq!(server.hits(), 2);
    assert_eq!(kids(&jwks), ["a", "b"]);
    // That fetch started a cool-down.
    server.set(Reply::jwks(&[&jwk("c")]));
    jwks.refresh_on_miss().await;
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn rotation_is_picked_up_by_the_periodic_refresh() {
    let server = Server::start(Reply::jwks(&[&jwk("a")])).await;
    let jwks = RemoteJwks::builder(&server.url())
        .unwrap()
        .refresh_interval(Duration::from_secs(1))
        .unwrap()
        .build()
        .unwrap();
    jwks.refresh().await.unwrap();
    server.set(Reply::jwks(&[&jwk("a"), &jwk("b")]));
    eventually("the new key is fetched", || kids(&jwks) == ["a", "b"]).await;
    server.set(Reply::jwks(&[&jwk("b")]));
    eventually("the old key is dropped", || kids(&jwks) == ["b"]).await;
}

#[tokio::test]
async fn cache_control_max_age_shortens_the_refresh() {
    let server = Server::start(Reply::Jwks {
        body: jwks(&[&jwk("a")]),
        cache_control: Some("public, max-age=1"),
    })
    .await;
    // Without max-age, the next refresh would be an hour away.
    let jwks = RemoteJwks::builder(&server.url())
        .unwrap()
        .refresh_interval(Duration::from_secs(3600))
        .unwrap()
        .min_refresh_interval(Duration::from_secs(1))
        .unwrap()
        .build()
        .unwrap();
    jwks.refresh().await.unwrap();
    server.set(Reply::jwks(&[&jwk("b")]));
    eventually("max-age=1 is honoured", || kids(&jwks) == ["b"]).await;
}

#[tokio::test]
async fn dropping_the_last_handle_stops_the_refresher() {
    let server = Server::start(Reply::jwks(&[&jwk("a")])).await;
    let jwks = RemoteJwks::builder(&server.url())
        .unwrap()
        .refresh_interval(Duration::from_secs(1))
        .unwrap()
        .build()
        .unwrap();
    jwks.refresh().await.unwrap();
    let weak = jwks.downgrade();
    drop(jwks.clone());
    assert!(weak.upgrade().is_some());
    drop(jwks);
    // The fetch task lets go of its reference right after it reported the outcome.
    eventually("nothing keeps the cache alive", || weak.upgrade().is_none()).await;
    let hits = server.hits();
    // Two refresh intervals: a live refresher would have fetched again.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(server.hits(), hits);
}

#[test]
fn a_miss_outside_a_runtime_does_nothing() {
    let jwks = RemoteJwks::new("https://idp.example.com/jwks.json").unwrap();
    // Only the call: there is no runtime to poll it on, and it must not panic.
    drop(jwks.refresh_on_miss());
    assert!(jwks.current().is_none());
}

#[test]
fn config_is_checked_where_it_is_given() {
    for url in [
        "https://idp.example.com/.well-known/jwks.json",
        "http://127.0.0.1:8080/jwks.json",
        "http://127.8.9.10/jwks.json",
        "http://localhost/jwks.json",
        "http://[::1]:8080/jwks.json",
    ] {
        assert!(RemoteJwks::new(url).is_ok(), "{url}");
    }
    for url in [
        "http://idp.example.com/jwks.json",
        "http://10.0.0.1/jwks.json",
        "ftp://idp.example.com/jwks.json",
        "file:///etc/jwks.json",
        "/jwks.json",
        "not a url",
    ] {
        assert!(
            matches!(RemoteJwks::new(url), Err(ConfigError::InvalidUrl { .. })),
            "{url}"
        );
    }
    assert!(RemoteJwks::builder_allow_http("http://keycloak:8080/certs").is_ok());
    assert!(RemoteJwks::builder_allow_http("ftp://keycloak/certs").is_err());

    let builder = || RemoteJwks::builder("https://idp.example.com/jwks.json").unwrap();
    let out_of_range = |result: Result<RemoteJwksBuilder, ConfigError>| {
        matches!(result, Err(ConfigError::OutOfRange { .. }))
    };
    assert!(out_of_range(builder().refresh_interval(Duration::ZERO)));
    assert!(out_of_range(
        builder().refresh_interval(Duration::from_secs(2 * 86_400))
    ));
    assert!(out_of_range(
        builder().min_refresh_interval(Duration::from_millis(10))
    ));
    assert!(out_of_range(
        builder().max_stale(Duration::from_secs(8 * 86_400))
    ));
    assert!(out_of_range(builder().timeout(Duration::ZERO)));
    assert!(out_of_range(builder().max_response_bytes(10)));
    assert!(out_of_range(builder().max_response_bytes(1 << 30)));
    assert!(out_of_range(builder().rsa_default(Algorithm::ES256)));
    assert!(out_of_range(builder().rsa_default(Algorithm::HS256)));
    assert!(
        builder()
            .refresh_interval(Duration::from_secs(60))
            .and_then(|b| b.min_refresh_interval(Duration::from_secs(5)))
            .and_then(|b| b.max_stale(Duration::ZERO))
            .and_then(|b| b.timeout(Duration::from_secs(2)))
            .and_then(|b| b.max_response_bytes(64 * 1024))
            .and_then(|b| b.rsa_default(Algorithm::PS256))
            .and_then(RemoteJwksBuilder::build)
            .is_ok()
    );
}
