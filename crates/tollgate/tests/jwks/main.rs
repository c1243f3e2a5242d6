//! Remote JWKS end to end: a JWK Set served over real HTTP on loopback, an axum app behind
//! `VerifyLayer` whose issuer's keys come from a `RemoteJwks`, and a real HTTP client.
//!
//! - a key rotation while the app is under concurrent requests: no 5xx, no rejection;
//! - the key source down with no cached key: 503 `key_source_unavailable`, never 401;
//! - the key source down with a cached key: tokens still accepted, and a token whose `kid`
//!   no cached key fits is 503 (the source may have published it), not 401;
//! - tokens with made-up `kid`s: 401 `unknown_key`, one fetch per cool-down;
//! - OpenID Connect discovery (`discovery.rs`): the same through the issuer's configuration
//!   document.
#![cfg(feature = "jwks-remote")]

mod discovery;

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use aws_lc_rs::{
    rand::SystemRandom,
    signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair},
};
use axum::{Extension, Router, extract::State, response::IntoResponse, routing::get};
use http::StatusCode;
use jsonwebtoken::{
    EncodingKey, Header,
    jwk::{Jwk, JwkSet},
};
use serde_json::{Value, json};
use tollgate::{
    Claims, StandardClaims, VerifyLayer,
    key::RemoteJwks,
    verify::{TrustedIssuer, Verifier},
};

const ISSUER: &str = "https://idp.test";
const AUDIENCE: &str = "api.test";

/// Concurrent clients of the app.
const WORKERS: usize = 16;
/// Requests sent in each phase of the rotation test (before and after the rotation).
const PHASE_REQUESTS: usize = 800;
/// A hard bound on the requests of one worker, whatever happens.
const MAX_REQUESTS_PER_WORKER: usize = 5_000;

/// An ES256 signing key of the identity provider, and its public JWK.
struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    jwk: Jwk,
}

impl SigningKey {
    fn new(kid: &str) -> Self {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .unwrap();
        let encoding = EncodingKey::from_ec_der(pkcs8.as_ref());
        let mut jwk = Jwk::from_encoding_key(&encoding, jsonwebtoken::Algorithm::ES256).unwrap();
        jwk.common.key_id = Some(kid.to_owned());
        Self {
            kid: kid.to_owned(),
            encoding,
            jwk,
        }
    }

    fn token(&self, sub: &str) -> String {
        self.token_from(ISSUER, sub)
    }

    fn token_from(&self, iss: &str, sub: &str) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut header = Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        let claims = json!({
            "iss": iss, "aud": AUDIENCE, "sub": sub, "iat": now, "exp": now + 600,
        });
        jsonwebtoken::encode(&header, &claims, &self.encoding).unwrap()
    }
}

/// The identity provider's JWKS endpoint, and its OpenID configuration document.
#[derive(Clone)]
struct Idp {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    jwks: Arc<Mutex<String>>,
    /// The body served at `/.well-known/openid-configuration`.
    configuration: Arc<Mutex<String>>,
    configuration_hits: Arc<AtomicUsize>,
    /// Both endpoints answer 500.
    down: Arc<AtomicBool>,
}

impl Idp {
    async fn start(keys: &[&SigningKey]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let idp = Self {
            addr: listener.local_addr().unwrap(),
            hits: Arc::default(),
            jwks: Arc::default(),
            configuration: Arc::default(),
            configuration_hits: Arc::default(),
            down: Arc::default(),
        };
        idp.publish(keys);
        let app = Router::new()
            .route("/jwks.json", get(jwks_endpoint))
            .route(
                "/.well-known/openid-configuration",
                get(configuration_endpoint),
            )
            .with_state(idp.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        idp
    }

    fn url(&self) -> String {
        format!("http://{}/jwks.json", self.addr)
    }

    fn publish(&self, keys: &[&SigningKey]) {
        let set = JwkSet {
            keys: keys.iter().map(|key| key.jwk.clone()).collect(),
        };
        *self.jwks.lock().unwrap() = serde_json::to_string(&set).unwrap();
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn jwks_endpoint(State(idp): State<Idp>) -> axum::response::Response {
    idp.hits.fetch_add(1, Ordering::SeqCst);
    if idp.down.load(Ordering::SeqCst) {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let body = idp.jwks.lock().unwrap().clone();
    (
        [(http::header::CONTENT_TYPE, "application/jwk-set+json")],
        body,
    )
        .into_response()
}

async fn configuration_endpoint(State(idp): State<Idp>) -> axum::response::Response {
    idp.configuration_hits.fetch_add(1, Ordering::SeqCst);
    if idp.down.load(Ordering::SeqCst) {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let body = idp.configuration.lock().unwrap().clone();
    ([(http::header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn me(Extension(claims): Extension<Claims<StandardClaims>>) -> String {
    claims.sub.as_deref().unwrap_or_default().to_owned()
}

/// The protected app, served on loopback.
async fn serve_app(jwks: RemoteJwks) -> SocketAddr {
    serve_issuer(TrustedIssuer::new(ISSUER, jwks)).await
}

/// The protected app trusting `issuer` (for [`AUDIENCE`]), served on loopback.
async fn serve_issuer(issuer: TrustedIssuer) -> SocketAddr {
    let verifier = Verifier::new(issuer.add_audience(AUDIENCE));
    let app = Router::new()
        .route("/me", get(me))
        .route_layer(VerifyLayer::new(verifier));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// The status of `GET /me` with `token`, and the problem `code` of a rejection.
async fn call(client: &reqwest::Client, app: SocketAddr, token: &str) -> (StatusCode, String) {
    let response = client
        .get(format!("http://{app}/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    let code = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|problem| problem["code"].as_str().map(ToOwned::to_owned))
        .unwrap_or_default();
    (status, code)
}

/// `GET /me` with `token` is a 503 with `Retry-After` and no challenge: "try again later",
/// not "bad token".
async fn assert_key_source_unavailable(client: &reqwest::Client, app: SocketAddr, token: &str) {
    let response = client
        .get(format!("http://{app}/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key(http::header::RETRY_AFTER));
    assert!(
        !response
            .headers()
            .contains_key(http::header::WWW_AUTHENTICATE)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_rotation_under_load_rejects_nothing() {
    let old = SigningKey::new("2026-01");
    let new = SigningKey::new("2026-02");
    let idp = Idp::start(&[&old]).await;
    // The default refresh interval (5 minutes) keeps the periodic refresh out of this test:
    // the new key can only arrive through the refresh on an unknown `kid`.
    let jwks = RemoteJwks::builder(&idp.url())
        .unwrap()
        .min_refresh_interval(Duration::from_secs(1))
        .unwrap()
        .build()
        .unwrap();
    // No prefetch: the first concurrent requests find no key set and cause the first fetch.
    let app = serve_app(jwks.clone()).await;

    let old_token = Arc::new(old.token("old"));
    let new_token = Arc::new(new.token("new"));
    let rotated = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let client = reqwest::Client::new();

    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (client, old_token, new_token) =
                (client.clone(), old_token.clone(), new_token.clone());
            let (rotated, stop, sent) = (rotated.clone(), stop.clone(), sent.clone());
            tokio::spawn(async move {
                let mut answers: BTreeMap<(String, u16, String), usize> = BTreeMap::new();
                for _ in 0..MAX_REQUESTS_PER_WORKER {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let (which, token) = if rotated.load(Ordering::SeqCst) {
                        ("new", &new_token)
                    } else {
                        ("old", &old_token)
                    };
                    let (status, code) = call(&client, app, token).await;
                    *answers
                        .entry((which.to_owned(), status.as_u16(), code))
                        .or_default() += 1;
                    sent.fetch_add(1, Ordering::SeqCst);
                }
                answers
            })
        })
        .collect();

    let wait_for_requests = |target: usize| {
        let sent = sent.clone();
        async move {
            while sent.load(Ordering::SeqCst) < target {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    // Phase 1: the old key, cold start included.
    wait_for_requests(PHASE_REQUESTS).await;
    assert_eq!(idp.hits(), 1, "the cold start caused one fetch");
    // Let the cool-down of that fetch pass, under load.
    tokio::time::sleep(Duration::from_millis(1100)).await;

    // The rotation: the new key is published, and tokens signed with it arrive at once.
    idp.publish(&[&old, &new]);
    rotated.store(true, Ordering::SeqCst);
    let rotated_at = sent.load(Ordering::SeqCst);
    wait_for_requests(rotated_at + PHASE_REQUESTS).await;
    stop.store(true, Ordering::SeqCst);

    let mut answers: BTreeMap<(String, u16, String), usize> = BTreeMap::new();
    for worker in workers {
        for (key, count) in worker.await.unwrap() {
            *answers.entry(key).or_default() += count;
        }
    }
    let rejected: Vec<_> = answers
        .iter()
        .filter(|((_, status, _), _)| *status != 200)
        .collect();
    assert!(
        rejected.is_empty(),
        "rejections during the rotation: {rejected:?}"
    );
    let accepted = |which: &str| {
        answers
            .iter()
            .filter(|((w, _, _), _)| w == which)
            .map(|(_, count)| count)
            .sum::<usize>()
    };
    assert!(accepted("old") >= PHASE_REQUESTS);
    assert!(accepted("new") >= PHASE_REQUESTS / 2);
    assert_eq!(idp.hits(), 2, "the rotation caused one fetch");
    let kids: Vec<_> = jwks
        .key_set()
        .unwrap()
        .iter()
        .filter_map(|key| key.kid().map(ToOwned::to_owned))
        .collect();
    assert_eq!(kids, ["2026-01", "2026-02"]);
}

#[tokio::test]
async fn key_source_down_without_a_cached_key_is_503() {
    let key = SigningKey::new("k1");
    // Nothing listens on this port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/jwks.json", closed.local_addr().unwrap());
    drop(closed);
    let jwks = RemoteJwks::new(&url).unwrap();
    let app = serve_app(jwks.clone()).await;
    let client = reqwest::Client::new();
    let token = key.token("alice");

    let calls: Vec<_> = (0..20)
        .map(|_| {
            let (client, token) = (client.clone(), token.clone());
            tokio::spawn(async move { call(&client, app, &token).await })
        })
        .collect();
    for answer in calls {
        let (status, code) = answer.await.unwrap();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(code, "key_source_unavailable");
    }
    assert!(jwks.last_error().is_some());

    // An endpoint that answers with an error is no better than one that is down.
    let idp = Idp::start(&[&key]).await;
    idp.down.store(true, Ordering::SeqCst);
    let app = serve_app(RemoteJwks::new(&idp.url()).unwrap()).await;
    assert_key_source_unavailable(&client, app, &token).await;
}

#[tokio::test]
async fn key_source_down_with_a_cached_key_keeps_accepting() {
    let key = SigningKey::new("k1");
    let idp = Idp::start(&[&key]).await;
    let jwks = RemoteJwks::new(&idp.url()).unwrap();
    jwks.refresh().await.unwrap();
    let app = serve_app(jwks.clone()).await;
    let client = reqwest::Client::new();

    idp.down.store(true, Ordering::SeqCst);
    assert!(jwks.refresh().await.is_err());
    let token = key.token("alice");
    for _ in 0..20 {
        assert_eq!(call(&client, app, &token).await.0, StatusCode::OK);
    }
}

#[tokio::test]
async fn key_source_down_and_no_cached_key_fits_is_503() {
    let old = SigningKey::new("k1");
    let new = SigningKey::new("k2");
    let idp = Idp::start(&[&old]).await;
    let jwks = RemoteJwks::new(&idp.url()).unwrap();
    jwks.refresh().await.unwrap();
    let app = serve_app(jwks.clone()).await;
    let client = reqwest::Client::new();

    // The provider rotates to a key this instance has not fetched, and goes down.
    idp.publish(&[&old, &new]);
    idp.down.store(true, Ordering::SeqCst);
    assert!(jwks.refresh().await.is_err());
    assert_key_source_unavailable(&client, app, &new.token("alice")).await;
    // The cached key still answers for its own tokens.
    assert_eq!(
        call(&client, app, &old.token("bob")).await.0,
        StatusCode::OK
    );

    // The provider is back: once a fetch succeeds (here an explicit one), the new key
    // verifies.
    idp.down.store(false, Ordering::SeqCst);
    jwks.refresh().await.unwrap();
    assert_eq!(
        call(&client, app, &new.token("alice")).await.0,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn made_up_kids_are_401_and_cost_one_fetch_per_cool_down() {
    let key = SigningKey::new("k1");
    let idp = Idp::start(&[&key]).await;
    // The default cool-down (10 s) is far longer than this test.
    let jwks = RemoteJwks::new(&idp.url()).unwrap();
    // An explicit fetch at startup starts no cool-down.
    jwks.refresh().await.unwrap();
    let app = serve_app(jwks).await;
    let client = reqwest::Client::new();
    assert_eq!(
        call(&client, app, &key.token("alice")).await.0,
        StatusCode::OK
    );
    assert_eq!(idp.hits(), 1);

    let started = Instant::now();
    let forged = SigningKey::new("made-up");
    let calls: Vec<_> = (0..50)
        .map(|i| {
            let client = client.clone();
            let token = forged.token(&format!("mallory-{i}"));
            tokio::spawn(async move { call(&client, app, &token).await })
        })
        .collect();
    for answer in calls {
        let (status, code) = answer.await.unwrap();
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(code, "unknown_key");
    }
    if started.elapsed() < Duration::from_secs(10) {
        assert_eq!(idp.hits(), 2, "fifty unknown kids, one fetch");
    }
}
