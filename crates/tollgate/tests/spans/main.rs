//! The way of a request through the layers as `tracing` spans: one per layer, named after it,
//! at `DEBUG` under the layer's target, with the outcome (and the revocation status) as fields;
//! never the token in any field of any span or event.
//!
//! Its own test binary, with a global subscriber: `tracing` caches each callsite's interest
//! process-wide.
#![cfg(all(feature = "axum", feature = "memory-store"))]

#[path = "../support/mod.rs"]
mod support;

use std::{
    collections::BTreeMap,
    fmt::Debug,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use axum::{Router, routing::get};
use serde_json::json;
use tollgate::{
    RequirePolicyLayer, RevocationLayer, VerifyLayer,
    key::Algorithm,
    policy::{Authorizer, Policy},
    revocation::{MemoryRevocationStore, RevocationStore},
};
use tracing::{
    Event, Id, Metadata, Subscriber,
    field::{Field, Visit},
    span::{Attributes, Record},
    subscriber::Interest,
};

use support::{TestKey, claims, now};

/// One span as the subscriber saw it: target, name, level and every field recorded.
#[derive(Clone, Debug)]
struct SeenSpan {
    target: String,
    name: &'static str,
    level: tracing::Level,
    fields: Vec<(String, String)>,
}

impl SeenSpan {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
    }
}

/// A subscriber that keeps every span of a `tollgate` target and every field value of any
/// span or event.
#[derive(Clone, Default)]
struct Capture {
    next: Arc<AtomicU64>,
    /// By id, which grows with each span.
    spans: Arc<Mutex<BTreeMap<u64, SeenSpan>>>,
    /// Every value of every field of every span and event, tollgate's or not.
    values: Arc<Mutex<Vec<String>>>,
}

struct Fields<'a>(&'a mut Vec<(String, String)>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
}

impl Capture {
    fn keep(&self, fields: &[(String, String)]) {
        self.values
            .lock()
            .unwrap()
            .extend(fields.iter().map(|(_, value)| value.clone()));
    }

    /// The spans of `tollgate` targets opened since the last call, in order.
    fn take(&self) -> Vec<SeenSpan> {
        std::mem::take(&mut *self.spans.lock().unwrap())
            .into_values()
            .filter(|span| span.target.starts_with("tollgate"))
            .collect()
    }
}

impl Subscriber for Capture {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::always()
    }

    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut fields = Vec::new();
        span.record(&mut Fields(&mut fields));
        self.keep(&fields);
        let id = self.next.fetch_add(1, Ordering::SeqCst) + 1;
        let metadata = span.metadata();
        self.spans.lock().unwrap().insert(
            id,
            SeenSpan {
                target: metadata.target().to_owned(),
                name: metadata.name(),
                level: *metadata.level(),
                fields,
            },
        );
        Id::from_u64(id)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut fields = Vec::new();
        values.record(&mut Fields(&mut fields));
        self.keep(&fields);
        if let Some(seen) = self.spans.lock().unwrap().get_mut(&span.into_u64()) {
            seen.fields.extend(fields);
        }
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = Vec::new();
        event.record(&mut Fields(&mut fields));
        self.keep(&fields);
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

async fn ok() -> &'static str {
    "ok"
}

#[tokio::test]
async fn each_layer_is_a_span_with_its_outcome_and_never_the_token() {
    let capture = Capture::default();
    tracing::subscriber::set_global_default(capture.clone()).unwrap();

    let key = TestKey::new(Algorithm::HS256);
    let store = MemoryRevocationStore::new();
    let authorizer = Authorizer::new();
    let app = Router::new()
        .route("/customers", get(ok))
        .route_layer(RequirePolicyLayer::new(
            &authorizer,
            Policy::permission("customer:read").unwrap(),
        ))
        .merge(
            Router::new()
                .route("/invoices", get(ok))
                .route_layer(RequirePolicyLayer::new(
                    &authorizer,
                    Policy::permission("invoice:read").unwrap(),
                )),
        )
        .route_layer(RevocationLayer::new(store.clone()))
        .route_layer(VerifyLayer::new(key.verifier()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let valid = key.sign(&claims());
    let mut revoked = claims();
    revoked["jti"] = json!("revoked-jti");
    let revoked = key.sign(&revoked);
    store
        .revoke_token("revoked-jti", now() + 600)
        .await
        .unwrap();
    let mut expired = claims();
    expired["exp"] = json!(now() - 60);
    let expired = key.sign(&expired);

    let client = reqwest::Client::new();
    let call = |path: &'static str, token: &str| {
        client
            .get(format!("http://{addr}{path}"))
            .bearer_auth(token)
            .send()
    };
    // (path, token, status, the spans: name, outcome, status field)
    type Expected = &'static [(&'static str, &'static str, Option<&'static str>)];
    let cases: [(&str, &String, u16, Expected); 4] = [
        (
            "/customers",
            &valid,
            200,
            &[
                ("verify", "allowed", None),
                ("revocation", "allowed", Some("active")),
                ("policy", "allowed", None),
            ],
        ),
        (
            "/invoices",
            &valid,
            403,
            &[
                ("verify", "allowed", None),
                ("revocation", "allowed", Some("active")),
                ("policy", "insufficient_scope", None),
            ],
        ),
        (
            "/customers",
            &revoked,
            401,
            &[
                ("verify", "allowed", None),
                ("revocation", "token_revoked", Some("revoked")),
            ],
        ),
        (
            "/customers",
            &expired,
            401,
            &[("verify", "token_expired", None)],
        ),
    ];
    for (path, token, status, expected) in cases {
        capture.take();
        assert_eq!(call(path, token).await.unwrap().status().as_u16(), status);
        let spans = capture.take();
        let seen: Vec<_> = spans
            .iter()
            .map(|span| (span.name, span.field("outcome"), span.field("status")))
            .collect();
        let expected: Vec<_> = expected
            .iter()
            .map(|(name, outcome, status)| (*name, Some(*outcome), *status))
            .collect();
        assert_eq!(seen, expected, "{path}");
        for span in &spans {
            assert_eq!(span.target, format!("tollgate::{}", span.name));
            assert_eq!(span.level, tracing::Level::DEBUG);
        }
    }

    // Not a token, nor any of its segments, in any field of any span or event.
    let values = capture.values.lock().unwrap();
    assert!(!values.is_empty());
    for token in [&valid, &revoked, &expired] {
        for segment in token.split('.') {
            assert!(
                values.iter().all(|value| !value.contains(segment)),
                "a token segment was recorded: {values:?}"
            );
        }
    }
}
