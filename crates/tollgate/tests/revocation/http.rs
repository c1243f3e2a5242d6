//! The documented hybrid over real HTTP on loopback: every route verifies the token
//! statelessly, only the sensitive ones ask the revocation store.

use std::{net::SocketAddr, time::Duration};

use axum::{
    Router,
    extract::State,
    handler::Handler,
    routing::{get, post},
};
use http::StatusCode;
use serde_json::{Value, json};
use tollgate::{
    AuthError, Claims, RevocationLayer, StandardClaims, VerifyLayer,
    key::Algorithm,
    revocation::{FailurePolicy, MemoryRevocationStore, RevocationMetrics, RevocationStore},
};

use crate::{
    DownStore,
    support::{TestKey, claims, now},
};

async fn ok() -> &'static str {
    "ok"
}

/// Logout in one line: revoke the presented token.
async fn logout(
    State(store): State<MemoryRevocationStore>,
    Claims(claims): Claims<StandardClaims>,
) -> Result<StatusCode, AuthError> {
    store.revoke_claims(&claims).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The same against a store that is down: the store's error becomes a 503 through `?`.
async fn logout_down(Claims(claims): Claims<StandardClaims>) -> Result<StatusCode, AuthError> {
    DownStore
        .revoke_token(claims.jti.as_deref().unwrap_or_default(), 0)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The application: `/profile` and `GET /payments` are stateless; `/password` and
/// `/sessions` opt in with `route_layer` on their router; `POST /payments` opts in on its
/// method alone; `/billing` and `/feed` opt in with a store that is down, failing closed and
/// open.
fn app(key: &TestKey, store: &MemoryRevocationStore, metrics: &RevocationMetrics) -> Router {
    let revocation = RevocationLayer::new(store.clone());
    let sensitive = Router::new()
        .route("/password", post(ok))
        .route("/sessions", get(ok))
        .route_layer(revocation.clone());
    let billing = Router::new()
        .route("/billing", get(ok))
        .route_layer(RevocationLayer::new(DownStore).retry_after(Duration::from_secs(2)));
    let feed = Router::new().route("/feed", get(ok)).route_layer(
        RevocationLayer::new(DownStore)
            .failure_policy(FailurePolicy::Open)
            .with_metrics(metrics.clone()),
    );
    Router::new()
        .route("/logout", post(logout).with_state(store.clone()))
        .route("/logout-down", post(logout_down))
        .route("/profile", get(ok))
        .route("/payments", get(ok).post(ok.layer(revocation)))
        .merge(sensitive)
        .merge(billing)
        .merge(feed)
        // Added last, so it runs first: the revocation layers read the claims it inserts.
        .route_layer(VerifyLayer::new(key.verifier()))
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

#[derive(Debug)]
struct Answer {
    status: StatusCode,
    challenge: Option<String>,
    retry_after: Option<String>,
    body: String,
}

impl Answer {
    fn code(&self) -> Value {
        serde_json::from_str::<Value>(&self.body).unwrap_or(Value::Null)["code"].clone()
    }
}

async fn send(addr: SocketAddr, method: &str, path: &str, token: &str) -> Answer {
    let client = reqwest::Client::new();
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let response = client
        .request(method, format!("http://{addr}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    Answer {
        status: response.status(),
        challenge: header("www-authenticate"),
        retry_after: header("retry-after"),
        body: response.text().await.unwrap(),
    }
}

struct App {
    addr: SocketAddr,
    key: TestKey,
    store: MemoryRevocationStore,
    metrics: RevocationMetrics,
}

async fn start() -> App {
    let key = TestKey::new(Algorithm::HS256);
    let store = MemoryRevocationStore::new();
    let metrics = RevocationMetrics::new();
    let addr = serve(app(&key, &store, &metrics)).await;
    App {
        addr,
        key,
        store,
        metrics,
    }
}

impl App {
    async fn send(&self, method: &str, path: &str, token: &str) -> Answer {
        send(self.addr, method, path, token).await
    }

    /// Assert the stateless routes accept `token` and the sensitive ones refuse it with
    /// `code`.
    async fn refused_only_where_checked(&self, token: &str, code: &str) {
        for (method, path) in [("GET", "/profile"), ("GET", "/payments")] {
            let answer = self.send(method, path, token).await;
            assert_eq!(answer.status, StatusCode::OK, "{method} {path}: {answer:?}");
        }
        for (method, path) in [
            ("POST", "/password"),
            ("GET", "/sessions"),
            ("POST", "/payments"),
        ] {
            let answer = self.send(method, path, token).await;
            assert_eq!(
                answer.status,
                StatusCode::UNAUTHORIZED,
                "{method} {path}: {answer:?}"
            );
            assert_eq!(
                answer.challenge.as_deref(),
                Some(r#"Bearer error="invalid_token""#)
            );
            assert_eq!(answer.code(), code, "{method} {path}");
        }
    }

    async fn accepted_everywhere(&self, token: &str) {
        for (method, path) in [
            ("GET", "/profile"),
            ("GET", "/payments"),
            ("POST", "/password"),
            ("GET", "/sessions"),
            ("POST", "/payments"),
        ] {
            let answer = self.send(method, path, token).await;
            assert_eq!(answer.status, StatusCode::OK, "{method} {path}: {answer:?}");
        }
    }
}

#[tokio::test]
async fn revoked_token_is_refused_on_sensitive_routes_only() {
    let app = start().await;
    let claims = claims();
    let token = app.key.sign(&claims);
    app.accepted_everywhere(&token).await;

    let jti = claims["jti"].as_str().unwrap();
    let exp = claims["exp"].as_i64().unwrap();
    app.store.revoke_token(jti, exp).await.unwrap();
    app.refused_only_where_checked(&token, "token_revoked")
        .await;

    // Another token of the same user and session is unaffected.
    app.accepted_everywhere(&app.key.sign(&crate::support::claims()))
        .await;
}

#[tokio::test]
async fn ended_session_refuses_all_its_tokens_on_sensitive_routes() {
    let app = start().await;
    let first = app.key.sign(&claims());
    let second = app.key.sign(&claims());
    let mut other = claims();
    other["sid"] = json!("session-2");
    let other = app.key.sign(&other);

    app.store
        .end_session("session-1", now() + 300)
        .await
        .unwrap();
    app.refused_only_where_checked(&first, "session_ended")
        .await;
    app.refused_only_where_checked(&second, "session_ended")
        .await;
    app.accepted_everywhere(&other).await;
}

#[tokio::test]
async fn cut_off_refuses_older_tokens_and_accepts_newer_ones() {
    let app = start().await;
    let now = now();
    let mut old = claims();
    old["iat"] = json!(now - 10);
    let old = app.key.sign(&old);

    // Logout everywhere at `now - 5`: tokens issued at or before it are refused. A token for
    // the next login must be issued after the cut-off (strictly later second).
    app.store
        .cut_off("user-1", now - 5, now + 300)
        .await
        .unwrap();
    app.refused_only_where_checked(&old, "token_cut_off").await;

    let mut fresh = claims();
    fresh["iat"] = json!(now);
    app.accepted_everywhere(&app.key.sign(&fresh)).await;

    // Another subject is unaffected.
    let mut bob = claims();
    bob["sub"] = json!("bob");
    bob["iat"] = json!(now - 10);
    app.accepted_everywhere(&app.key.sign(&bob)).await;
}

#[tokio::test]
async fn stale_permission_version_asks_for_a_refresh_on_sensitive_routes() {
    let app = start().await;
    // The fixture's tokens carry `ver: 1`.
    let stale = app.key.sign(&claims());
    app.store
        .set_version("user-1", 2, now() + 300)
        .await
        .unwrap();
    app.refused_only_where_checked(&stale, "stale_claims").await;

    let mut current = claims();
    current["ver"] = json!(2);
    app.accepted_everywhere(&app.key.sign(&current)).await;
}

#[tokio::test]
async fn token_without_jti_is_refused_where_revocation_is_checked() {
    let app = start().await;
    let mut claims = claims();
    claims.as_object_mut().unwrap().remove("jti");
    let token = app.key.sign(&claims);
    app.refused_only_where_checked(&token, "missing_jti").await;
}

#[tokio::test]
async fn store_outage_fails_closed_or_open_per_route_and_stateless_routes_keep_serving() {
    let app = start().await;
    let token = app.key.sign(&claims());

    let billing = app.send("GET", "/billing", &token).await;
    assert_eq!(billing.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(billing.retry_after.as_deref(), Some("2"));
    assert_eq!(billing.challenge, None);
    assert_eq!(billing.code(), "revocation_store_unavailable");

    let feed = app.send("GET", "/feed", &token).await;
    assert_eq!(feed.status, StatusCode::OK);
    assert_eq!(feed.body, "ok");
    assert_eq!(app.metrics.failed_open(), 1);
    assert_eq!(app.metrics.store_errors(), 1);

    assert_eq!(
        app.send("GET", "/profile", &token).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn verification_still_comes_first_on_sensitive_routes() {
    let app = start().await;
    let mut expired = claims();
    expired["exp"] = json!(now() - 10);
    let answer = app.send("POST", "/password", &app.key.sign(&expired)).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.code(), "token_expired");

    // The down store is never asked about a token the verify layer refused.
    let answer = app.send("GET", "/feed", "not-a-token").await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.metrics.store_errors(), 0);
}

#[tokio::test]
async fn a_handler_revokes_the_presented_token_in_one_line() {
    let app = start().await;
    let token = app.key.sign(&claims());
    app.accepted_everywhere(&token).await;
    let answer = app.send("POST", "/logout", &token).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{answer:?}");
    app.refused_only_where_checked(&token, "token_revoked")
        .await;

    // A token without `jti`: the handler's `?` answers 401 missing_jti, nothing is written.
    let mut bare = claims();
    bare.as_object_mut().unwrap().remove("jti");
    let answer = app.send("POST", "/logout", &app.key.sign(&bare)).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{answer:?}");
    assert_eq!(answer.code(), "missing_jti");
}

#[tokio::test]
async fn a_store_error_returned_by_a_handler_is_a_503() {
    let app = start().await;
    let answer = app
        .send("POST", "/logout-down", &app.key.sign(&claims()))
        .await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{answer:?}");
    assert_eq!(answer.code(), "revocation_store_unavailable");
    assert_eq!(answer.retry_after.as_deref(), Some("1"));
}
