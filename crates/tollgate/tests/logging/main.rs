//! Rejections as `tracing` events: the reason, never the token.
//!
//! Its own test binary, with a global subscriber: `tracing` caches each callsite's interest
//! process-wide, so a thread-local subscriber could miss events whose callsite another test's
//! thread registered first.
#![cfg(feature = "axum")]

use std::sync::{Arc, Mutex};

use axum::{Router, body::Body, routing::get};
use http::{Request, StatusCode};
use serde_json::json;
use tollgate::{Claims, StandardClaims, VerifyLayer, key::Algorithm};
use tower::ServiceExt;

#[path = "../support/mod.rs"]
mod support;

use support::{TestKey, claims, now};

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

async fn me(Claims(claims): Claims<StandardClaims>) -> String {
    claims.sub.as_deref().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn each_rejection_is_a_tracing_event_naming_the_reason_never_the_token() {
    let captured = Captured::default();
    let writer = captured.clone();
    // Every level: "never the token" holds at trace too.
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish(),
    )
    .unwrap();

    let key = TestKey::new(Algorithm::HS256);
    let mut expired = claims();
    expired["exp"] = json!(now() - 60);
    let expired = key.sign(&expired);
    let forged = {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.typ = Some("at+jwt".to_owned());
        let other = jsonwebtoken::EncodingKey::from_secret(b"another secret, also 32 bytes long");
        jsonwebtoken::encode(&header, &claims(), &other).unwrap()
    };
    let app = Router::new()
        .route("/me", get(me))
        .route_layer(VerifyLayer::new(key.verifier()));
    for (token, code) in [(&expired, "token_expired"), (&forged, "invalid_signature")] {
        let request = Request::get("/me")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let logged = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let line = logged
            .lines()
            .rfind(|line| line.contains("tollgate::rejection"))
            .unwrap_or_else(|| panic!("no rejection event for {code}: {logged}"));
        assert!(line.contains(code), "{line}");
        assert!(line.contains("layer=\"verify\""), "{line}");
        // Not the token, nor any of its segments, in anything logged.
        for segment in token.split('.') {
            assert!(
                !logged.contains(segment),
                "a token segment was logged: {logged}"
            );
        }
    }
}
