//! The layer over real HTTP on loopback, with axum.

use std::net::SocketAddr;

use axum::{Router, body::Body, routing::get};
use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use serde_json::{Value, json};
use tollgate::{
    AuthError, AuthErrorKind, Claims, StandardClaims, VerifyLayer,
    key::Algorithm,
    response::DefaultResponder,
    verify::{TokenSource, TrustedIssuer, Verifier},
};
use tower::ServiceExt;

use crate::support::{ISSUER, TestKey, claims, hs256_raw, now};

async fn me(Claims(claims): Claims<StandardClaims>) -> String {
    claims.sub.as_deref().unwrap_or_default().to_owned()
}

async fn maybe(claims: Option<Claims<StandardClaims>>) -> String {
    claims.map_or_else(
        || "anonymous".to_owned(),
        |c| c.sub.as_deref().unwrap_or_default().to_owned(),
    )
}

/// A handler that refuses on its own, as a policy check in a handler does.
async fn denied() -> Result<String, AuthError> {
    Err(AuthError::insufficient_scope("report:read"))
}

fn app(key: &TestKey) -> Router {
    let verifier = key.verifier();
    let realm = DefaultResponder::new().realm("crm").unwrap();
    let teapot = |error: &AuthError, _: &HeaderMap| {
        let mut response = Response::new(Bytes::from(format!("no: {}", error.kind().code())));
        *response.status_mut() = StatusCode::IM_A_TEAPOT;
        response
    };
    Router::new()
        .route("/me", get(me))
        .route_layer(VerifyLayer::new(verifier.clone()))
        .merge(
            Router::new()
                .route("/maybe", get(maybe))
                .route_layer(VerifyLayer::new(verifier.clone()).optional(true)),
        )
        .merge(
            Router::new()
                .route("/teapot", get(me))
                .route_layer(VerifyLayer::new(verifier.clone()).with_responder(teapot)),
        )
        .merge(
            Router::new()
                .route("/cookie", get(me))
                .route_layer(VerifyLayer::new(verifier.clone()).source(TokenSource::cookie("at"))),
        )
        .merge(
            Router::new()
                .route("/denied", get(denied))
                .route_layer(VerifyLayer::new(verifier.clone()).with_responder(realm)),
        )
        .merge(
            Router::new()
                .route("/teapot-denied", get(denied))
                .route_layer(VerifyLayer::new(verifier.clone()).with_responder(teapot)),
        )
        .merge(
            // Forgot `.claims::<Department>()`: only the standard claims are decoded.
            Router::new()
                .route("/forgot-claims", get(department))
                .route_layer(VerifyLayer::new(verifier)),
        )
        .route("/unprotected", get(me))
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

struct Answer {
    status: StatusCode,
    challenge: Option<String>,
    content_type: Option<String>,
    body: String,
}

impl Answer {
    fn problem(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

async fn get_with(addr: SocketAddr, path: &str, headers: &[(&str, String)]) -> Answer {
    let client = reqwest::Client::new();
    let mut request = client.get(format!("http://{addr}{path}"));
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    Answer {
        status: response.status(),
        challenge: header("www-authenticate"),
        content_type: header("content-type"),
        body: response.text().await.unwrap(),
    }
}

fn bearer(token: &str) -> Vec<(&'static str, String)> {
    vec![("authorization", format!("Bearer {token}"))]
}

#[tokio::test]
async fn accepts_a_valid_token_and_hands_claims_to_the_handler() {
    let key = TestKey::new(Algorithm::ES256);
    let addr = serve(app(&key)).await;
    let answer = get_with(addr, "/me", &bearer(&key.sign(&claims()))).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, "user-1");
}

#[tokio::test]
async fn missing_token_is_a_bare_challenge() {
    let key = TestKey::new(Algorithm::HS256);
    let addr = serve(app(&key)).await;
    let answer = get_with(addr, "/me", &[]).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.challenge.as_deref(), Some("Bearer"));
    assert_eq!(
        answer.content_type.as_deref(),
        Some("application/problem+json")
    );
    let problem = answer.problem();
    assert_eq!(problem["status"], 401);
    assert_eq!(problem["code"], "missing_token");
    assert_eq!(problem["title"], "Unauthorized");
}

#[tokio::test]
async fn each_reject_path_names_what_failed() {
    let key = TestKey::new(Algorithm::HS256);
    let addr = serve(app(&key)).await;
    let mut expired = claims();
    expired["exp"] = json!(now() - 10);
    let mut wrong_aud = claims();
    wrong_aud["aud"] = json!("elsewhere");
    let mut wrong_iss = claims();
    wrong_iss["iss"] = json!("https://evil.test");
    let mut future = claims();
    future["nbf"] = json!(now() + 600);
    let other = TestKey::new(Algorithm::HS384);
    let mut issued_later = claims();
    issued_later["iat"] = json!(now() + 600);
    let mut no_exp = claims();
    no_exp.as_object_mut().unwrap().remove("exp");
    // A valid token's head and body with another valid token's signature.
    let signed = key.sign(&claims());
    let forged = format!(
        "{}.{}",
        signed.rsplit_once('.').unwrap().0,
        key.sign(&wrong_aud).rsplit_once('.').unwrap().1
    );
    let critical = hs256_raw(
        br#"{"alg":"HS256","typ":"at+jwt","crit":["exp"]}"#,
        claims().to_string().as_bytes(),
    );
    let cases = [
        (forged, "invalid_signature"),
        (
            TestKey::new(Algorithm::HS256)
                .with_kid("nobody-has-it")
                .sign(&claims()),
            "unknown_key",
        ),
        (key.sign(&issued_later), "token_issued_in_future"),
        (key.sign(&no_exp), "missing_claim"),
        (critical, "unsupported_critical_header"),
        (key.sign(&expired), "token_expired"),
        (key.sign(&wrong_aud), "invalid_audience"),
        (key.sign(&wrong_iss), "invalid_issuer"),
        (key.sign(&future), "token_not_yet_valid"),
        (
            key.sign_typ(Some("refresh+jwt"), &claims()),
            "invalid_token_type",
        ),
        (other.sign(&claims()), "unsupported_algorithm"),
        ("abc.def".to_owned(), "malformed_token"),
        ("a".repeat(9000), "token_too_large"),
    ];
    for (token, code) in cases {
        let answer = get_with(addr, "/me", &bearer(&token)).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{code}");
        assert_eq!(
            answer.challenge.as_deref(),
            Some(r#"Bearer error="invalid_token""#),
            "{code}"
        );
        assert_eq!(answer.problem()["code"], code);
        assert!(
            !answer.body.contains(&token),
            "the body never echoes the token"
        );
    }
}

/// RFC 7519 §4.1.3 over HTTP: without a configured audience, a token naming one is a 401
/// `invalid_audience`; without `aud` it passes; `accept_any_audience` lets any through.
#[tokio::test]
async fn without_a_configured_audience_a_token_naming_one_is_refused() {
    let key = TestKey::new(Algorithm::HS256);
    let app = |issuer: TrustedIssuer| {
        Router::new()
            .route("/me", get(me))
            .route_layer(VerifyLayer::new(Verifier::new(issuer)))
    };
    let no_audience = serve(app(TrustedIssuer::new(ISSUER, key.key.clone()))).await;
    let any_audience = serve(app(
        TrustedIssuer::new(ISSUER, key.key.clone()).accept_any_audience()
    ))
    .await;
    let with_aud = key.sign(&claims());
    let mut payload = claims();
    payload.as_object_mut().unwrap().remove("aud");
    let without_aud = key.sign(&payload);

    let answer = get_with(no_audience, "/me", &bearer(&with_aud)).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.challenge.as_deref(),
        Some(r#"Bearer error="invalid_token""#)
    );
    assert_eq!(answer.problem()["code"], "invalid_audience");

    let answer = get_with(no_audience, "/me", &bearer(&without_aud)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, "user-1");

    let answer = get_with(any_audience, "/me", &bearer(&with_aud)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, "user-1");
}

#[tokio::test]
async fn malformed_authorization_headers() {
    let key = TestKey::new(Algorithm::HS256);
    let addr = serve(app(&key)).await;
    let answer = get_with(addr, "/me", &[("authorization", "Bearer".to_owned())]).await;
    assert_eq!(answer.problem()["code"], "malformed_token");
    let answer = get_with(
        addr,
        "/me",
        &[("authorization", "Basic dXNlcjpwdw==".to_owned())],
    )
    .await;
    assert_eq!(
        answer.challenge.as_deref(),
        Some("Bearer"),
        "another scheme is no bearer token"
    );
    let token = key.sign(&claims());
    let answer = get_with(
        addr,
        "/me",
        &[
            ("authorization", format!("Bearer {token}")),
            ("authorization", format!("Bearer {token}")),
        ],
    )
    .await;
    assert_eq!(
        answer.problem()["code"],
        "malformed_token",
        "two Authorization headers"
    );
    let answer = get_with(addr, "/me", &[("authorization", format!("bEaReR {token}"))]).await;
    assert_eq!(answer.status, StatusCode::OK, "scheme is case-insensitive");
    // A header far larger than any token is refused without harm, and the server goes on.
    let answer = get_with(addr, "/me", &bearer(&"x".repeat(60_000))).await;
    assert!(answer.status.is_client_error());
    let answer = get_with(addr, "/me", &bearer(&token)).await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test]
async fn optional_mode_lets_anonymous_requests_through_but_not_bad_tokens() {
    let key = TestKey::new(Algorithm::HS256);
    let addr = serve(app(&key)).await;
    assert_eq!(get_with(addr, "/maybe", &[]).await.body, "anonymous");
    assert_eq!(
        get_with(addr, "/maybe", &bearer(&key.sign(&claims())))
            .await
            .body,
        "user-1"
    );
    let mut expired = claims();
    expired["exp"] = json!(now() - 10);
    let answer = get_with(addr, "/maybe", &bearer(&key.sign(&expired))).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn custom_responses_replace_the_default() {
    let key = TestKey::new(Algorithm::HS256);
    let addr = serve(app(&key)).await;
    let answer = get_with(addr, "/teapot", &[]).await;
    assert_eq!(answer.status, StatusCode::IM_A_TEAPOT);
    assert_eq!(answer.body, "no: missing_token");
}

#[tokio::test]
async fn cookie_source() {
    let key = TestKey::new(Algorithm::HS256);
    let addr = serve(app(&key)).await;
    let token = key.sign(&claims());
    let answer = get_with(
        addr,
        "/cookie",
        &[("cookie", format!("theme=dark; at={token}"))],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    let answer = get_with(addr, "/cookie", &bearer(&token)).await;
    assert_eq!(
        answer.status,
        StatusCode::UNAUTHORIZED,
        "this route reads only the cookie"
    );
}

#[tokio::test]
async fn wiring_mistakes_and_unknown_routes() {
    let key = TestKey::new(Algorithm::HS256);
    let addr = serve(app(&key)).await;
    for path in ["/unprotected", "/forgot-claims"] {
        let answer = get_with(addr, path, &bearer(&key.sign(&claims()))).await;
        assert_eq!(
            answer.status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{path}: Claims without its VerifyLayer"
        );
        assert_eq!(
            answer.content_type.as_deref(),
            Some("application/problem+json")
        );
        assert_eq!(answer.problem()["code"], "missing_verify_layer", "{path}");
        assert!(
            !answer.body.contains("Department") && !answer.body.contains("StandardClaims"),
            "the body names no type: {}",
            answer.body
        );
    }
    let answer = get_with(addr, "/nowhere", &[]).await;
    assert_eq!(
        answer.status,
        StatusCode::NOT_FOUND,
        "route_layer keeps 404 for unknown routes"
    );
}

#[tokio::test]
async fn the_rejection_is_in_the_response_extensions() {
    let key = TestKey::new(Algorithm::HS256);
    let response = app(&key)
        .oneshot(Request::get("/me").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let error = response.extensions().get::<AuthError>().unwrap();
    assert_eq!(error.kind(), AuthErrorKind::MissingToken);
}

/// The handlers' own claims type, beside the registered claims the other layers read.
#[derive(Debug, serde::Deserialize)]
struct Department {
    sub: String,
    department: String,
}

async fn department(
    Claims(own): Claims<Department>,
    Claims(standard): Claims<StandardClaims>,
) -> String {
    format!(
        "{} {} {}",
        own.sub,
        own.department,
        standard.jti.as_deref().unwrap_or("no jti")
    )
}

#[tokio::test]
async fn user_typed_claims_reach_the_handler_beside_the_standard_ones() {
    let key = TestKey::new(Algorithm::HS256);
    let app = Router::new()
        .route("/department", get(department))
        .route_layer(VerifyLayer::new(key.verifier()).claims::<Department>());
    let addr = serve(app).await;

    let mut payload = claims();
    payload["department"] = json!("sales");
    let jti = payload["jti"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {}", key.sign(&payload));
    let answer = get_with(addr, "/department", &[("authorization", bearer)]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, format!("user-1 sales {jti}"));

    // A token without the field the handlers' type requires is malformed, and refused
    // before any handler runs.
    let bearer = format!("Bearer {}", key.sign(&claims()));
    let answer = get_with(addr, "/department", &[("authorization", bearer)]).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.problem()["code"], "malformed_token");
}

#[tokio::test]
async fn an_error_a_handler_returns_is_rendered_by_the_layers_responder() {
    let key = TestKey::new(Algorithm::HS256);
    let addr = serve(app(&key)).await;
    let token = key.sign(&claims());

    // The realm configured on the layer, not the default responder of `IntoResponse`.
    let answer = get_with(addr, "/denied", &bearer(&token)).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        answer.challenge.as_deref(),
        Some(r#"Bearer realm="crm", error="insufficient_scope", scope="report:read""#)
    );
    assert_eq!(answer.problem()["code"], "insufficient_scope");

    // A custom responder answers for the handler too.
    let answer = get_with(addr, "/teapot-denied", &bearer(&token)).await;
    assert_eq!(answer.status, StatusCode::IM_A_TEAPOT);
    assert_eq!(answer.body, "no: insufficient_scope");

    // A gRPC caller gets a gRPC status, whatever the handler returned.
    let mut headers = bearer(&token);
    headers.push(("content-type", "application/grpc".to_owned()));
    let client = reqwest::Client::new();
    let mut request = client.get(format!("http://{addr}/denied"));
    for (name, value) in &headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.headers()["grpc-status"], "7");
}

/// A maximum token age over HTTP: a token issued longer ago than `max_age` is a 401
/// `token_too_old` even with a valid `exp`, one without `iat` a 401 `missing_claim`, a
/// recent one passes.
#[tokio::test]
async fn max_age_refuses_old_tokens_whatever_their_exp() {
    let key = TestKey::new(Algorithm::HS256);
    let verifier = key
        .verifier()
        .max_age(std::time::Duration::from_secs(600))
        .unwrap();
    let addr = serve(
        Router::new()
            .route("/me", get(me))
            .route_layer(VerifyLayer::new(verifier)),
    )
    .await;
    let mut old = claims();
    old["iat"] = json!(now() - 3600);
    old["nbf"] = json!(now() - 3600);
    old["exp"] = json!(now() + 3600);
    let mut just_young_enough = claims();
    just_young_enough["iat"] = json!(now() - 590);
    let mut no_iat = claims();
    no_iat.as_object_mut().unwrap().remove("iat");

    let answer = get_with(addr, "/me", &bearer(&key.sign(&just_young_enough))).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, "user-1");
    for (token, code, detail) in [
        (
            key.sign(&old),
            "token_too_old",
            "the token was issued too long ago",
        ),
        (
            key.sign(&no_iat),
            "missing_claim",
            "the token lacks a required claim",
        ),
    ] {
        let answer = get_with(addr, "/me", &bearer(&token)).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{code}");
        assert_eq!(
            answer.challenge.as_deref(),
            Some(r#"Bearer error="invalid_token""#)
        );
        let problem = answer.problem();
        assert_eq!(problem["code"], code);
        assert_eq!(problem["detail"], detail);
    }
    // Without the setting, the old token is fine: its `exp` is in the future.
    let addr = serve(app(&key)).await;
    assert_eq!(
        get_with(addr, "/me", &bearer(&key.sign(&old))).await.status,
        StatusCode::OK
    );
}

#[test]
fn max_age_is_validated_where_it_is_given() {
    let verifier = TestKey::new(Algorithm::HS256).verifier();
    for bad in [
        std::time::Duration::ZERO,
        std::time::Duration::from_millis(999),
        std::time::Duration::from_secs(367 * 24 * 3600),
    ] {
        assert!(matches!(
            verifier.clone().max_age(bad),
            Err(tollgate::ConfigError::OutOfRange {
                setting: "max_age",
                ..
            })
        ));
    }
}

/// A token in a query parameter over HTTP, as a browser's WebSocket upgrade sends it:
/// found (percent-encoded or not), the header still preferred, a bad or repeated value a
/// 401 `malformed_token`, none a bare 401.
#[tokio::test]
async fn query_source_reads_a_token_from_the_url() {
    let key = TestKey::new(Algorithm::ES256);
    let verifier = key.verifier();
    let addr = serve(
        Router::new().route("/ws", get(me)).route_layer(
            VerifyLayer::new(verifier)
                .source(TokenSource::bearer().or(TokenSource::query("access_token"))),
        ),
    )
    .await;
    let token = key.sign(&claims());
    let encoded: String = token
        .bytes()
        .map(|b| match b {
            b'.' => "%2E".to_owned(),
            other => char::from(other).to_string(),
        })
        .collect();
    for path in [
        format!("/ws?access_token={token}"),
        format!("/ws?room=7&access_token={encoded}&x=%20"),
    ] {
        let answer = get_with(addr, &path, &[]).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        assert_eq!(answer.body, "user-1");
    }
    let mut other_claims = claims();
    other_claims["sub"] = json!("from-header");
    let answer = get_with(
        addr,
        &format!("/ws?access_token={token}"),
        &bearer(&key.sign(&other_claims)),
    )
    .await;
    assert_eq!(answer.body, "from-header", "the first source wins");

    for path in [
        format!("/ws?access_token={token}&access_token={token}"),
        "/ws?access_token=not%20a%20token".to_owned(),
        "/ws?access_token=a.b%FF.c".to_owned(),
    ] {
        let answer = get_with(addr, &path, &[]).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(answer.problem()["code"], "malformed_token", "{path}");
        assert!(
            !answer.body.contains(&token),
            "the body never echoes the token"
        );
    }
    let mut expired = claims();
    expired["exp"] = json!(now() - 10);
    let answer = get_with(
        addr,
        &format!("/ws?access_token={}", key.sign(&expired)),
        &[],
    )
    .await;
    assert_eq!(answer.problem()["code"], "token_expired");
    let answer = get_with(addr, "/ws?room=7", &[]).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.challenge.as_deref(), Some("Bearer"));
}
