//! A remote JWK Set served over loopback: fetches by outcome, keys held and the time of the
//! last good fetch, labelled with the configured URL; and the verify layer's answer to a
//! token whose key cannot be fetched.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{SystemTime, UNIX_EPOCH},
};

use axum::{Router, extract::State, response::IntoResponse, routing::get};
use http::StatusCode;
use jsonwebtoken::{
    EncodingKey, Header,
    jwk::{Jwk, JwkSet},
};
use serde_json::json;
use tollgate::{
    VerifyLayer,
    key::{JwksErrorKind, RemoteJwks},
    verify::{TrustedIssuer, Verifier},
};

use crate::{call, expect, run, serve, support::fixture};

/// The identity provider's ES256 signing key.
fn signing_key() -> EncodingKey {
    EncodingKey::from_ec_pem(&fixture("p256.pem")).unwrap()
}

#[derive(Clone, Default)]
struct Idp {
    jwks: Arc<Mutex<String>>,
    down: Arc<AtomicBool>,
}

async fn jwks_endpoint(State(idp): State<Idp>) -> axum::response::Response {
    if idp.down.load(Ordering::SeqCst) {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let body = idp.jwks.lock().unwrap().clone();
    ([(http::header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn fetches_keys_and_the_last_good_fetch_are_recorded_per_url() {
    run(|metrics| async move {
        let encoding = signing_key();
        let mut jwk = Jwk::from_encoding_key(&encoding, jsonwebtoken::Algorithm::ES256).unwrap();
        jwk.common.key_id = Some("k1".to_owned());
        let idp = Idp::default();
        *idp.jwks.lock().unwrap() = serde_json::to_string(&JwkSet { keys: vec![jwk] }).unwrap();
        let idp_addr = serve(
            Router::new()
                .route("/jwks.json", get(jwks_endpoint))
                .with_state(idp.clone()),
        )
        .await;
        let url = format!("http://{idp_addr}/jwks.json");
        let jwks = RemoteJwks::new(&url).unwrap();

        let before = unix_now();
        jwks.refresh().await.unwrap();
        let taken = metrics.take();
        let ok = format!("{{outcome=ok,url={url}}}");
        assert_eq!(
            taken.counters("tollgate_jwks_refreshes_total"),
            expect(&[(ok.as_str(), 1)])
        );
        let labels = format!("{{url={url}}}");
        assert_eq!(
            taken.gauge(&format!("tollgate_jwks_keys{labels}")),
            Some(1.0)
        );
        let at = taken
            .gauge(&format!(
                "tollgate_jwks_last_refresh_timestamp_seconds{labels}"
            ))
            .unwrap();
        assert!(before <= at && at <= unix_now(), "{before} <= {at}");

        // The source fails: the failure is counted by its code, the last good fetch stays.
        idp.down.store(true, Ordering::SeqCst);
        let error = jwks.refresh().await.unwrap_err();
        assert_eq!(error.kind(), JwksErrorKind::Status);
        let taken = metrics.take();
        let failed = format!("{{outcome=error_status,url={url}}}");
        assert_eq!(
            taken.counters("tollgate_jwks_refreshes_total"),
            expect(&[(failed.as_str(), 1)])
        );
        assert_eq!(
            taken.gauge(&format!(
                "tollgate_jwks_last_refresh_timestamp_seconds{labels}"
            )),
            Some(0.0),
            "not set again (the snapshot reset it)"
        );
    });
}

#[test]
fn a_key_source_that_cannot_be_reached_is_a_key_source_unavailable_refusal() {
    run(|metrics| async move {
        // A port nothing listens on: bound, then closed.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        drop(listener);
        let jwks = RemoteJwks::new(&url).unwrap();
        let verifier = Verifier::new(TrustedIssuer::new("https://idp.test", jwks));
        let app = Router::new()
            .route("/me", get(|| async { "ok" }))
            .route_layer(VerifyLayer::new(verifier));
        let addr = serve(app).await;
        let encoding = signing_key();
        let mut header = Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some("k1".to_owned());
        let token = jsonwebtoken::encode(
            &header,
            &json!({"iss": "https://idp.test", "sub": "1", "exp": unix_now() as i64 + 60}),
            &encoding,
        )
        .unwrap();

        assert_eq!(call(addr, "/me", Some(&token)).await, 503);
        let taken = metrics.take();
        assert_eq!(
            taken.counters("tollgate_decisions_total"),
            expect(&[(
                "{layer=verify,outcome=refused,reason=key_source_unavailable}",
                1
            )])
        );
        let unreachable = format!("{{outcome=unreachable,url={url}}}");
        assert_eq!(
            taken.counters("tollgate_jwks_refreshes_total"),
            expect(&[(unreachable.as_str(), 1)])
        );
    });
}
