//! Verification per algorithm: tollgate's `Verifier` (uncached and with the verified-token
//! cache), `jsonwebtoken::decode` with the same checks, and the floor for the same token.
//!
//! The floor is what no verifier can skip: base64url decoding of the three segments (into
//! stack buffers), the bare signature operation with aws-lc-rs on a key prepared once, and
//! parsing the claims into the same typed struct (`StandardClaims`).
//!
//! `stack` is the three layers around a service that answers at once, per request: what the
//! spans and (with `--features metrics`) the metrics cost on the request path.
//!
//! Run with `cargo bench -p tollgate-benches --bench verify`; the stack alone with
//! `cargo bench -p tollgate-benches --bench verify -- stack`, and with the `metrics` feature
//! with `cargo bench -p tollgate-benches --features metrics --bench verify -- stack`.

use std::{convert::Infallible, future::ready, hint::black_box};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderValue, Request, Response, header::AUTHORIZATION};
use tollgate::{
    RequirePolicyLayer, RevocationLayer, StandardClaims, VerifyLayer,
    key::Algorithm,
    policy::{Authorizer, Policy},
    response::ResponseBody,
    revocation::MemoryRevocationStore,
    verify::VerifiedCache,
};
use tollgate_benches::{ALGORITHMS, Keys, RawKey, now_or_never};
use tower::{Service, ServiceBuilder, ServiceExt, service_fn};

/// The floor: decode, verify the signature, parse the claims.
fn floor(token: &str, key: &RawKey) -> StandardClaims {
    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    let (header, payload) = signing_input.split_once('.').unwrap();
    let mut header_buf = [0u8; 256];
    let mut payload_buf = [0u8; 1024];
    let mut signature_buf = [0u8; 512];
    let header_len = URL_SAFE_NO_PAD
        .decode_slice(header, &mut header_buf)
        .unwrap();
    black_box(&header_buf[..header_len]);
    let payload_len = URL_SAFE_NO_PAD
        .decode_slice(payload, &mut payload_buf)
        .unwrap();
    let signature_len = URL_SAFE_NO_PAD
        .decode_slice(signature, &mut signature_buf)
        .unwrap();
    assert!(key.verify(signing_input.as_bytes(), &signature_buf[..signature_len]));
    serde_json::from_slice(&payload_buf[..payload_len]).unwrap()
}

fn per_algorithm(c: &mut Criterion) {
    for algorithm in ALGORITHMS {
        let keys = Keys::new(algorithm);
        let token = keys.token("0f8fad5b-d9cb-469f-a165-70867728950e");
        let verifier = keys.verifier();
        let cached = keys.verifier().cache(VerifiedCache::new(10_000));
        let validation = keys.validation();
        let raw = keys.raw();

        // Sanity: every contender accepts the token and reads the same claims.
        let ours = now_or_never(verifier.verify::<StandardClaims>(&token))
            .unwrap()
            .unwrap();
        let theirs =
            jsonwebtoken::decode::<StandardClaims>(&token, &keys.decoding, &validation).unwrap();
        assert_eq!(**ours.claims(), theirs.claims);
        assert_eq!(floor(&token, &raw), theirs.claims);

        let mut group = c.benchmark_group(format!("verify/{algorithm}"));
        group.bench_function("floor", |b| b.iter(|| floor(black_box(&token), &raw)));
        group.bench_function("tollgate", |b| {
            b.iter(|| now_or_never(verifier.verify::<StandardClaims>(black_box(&token))))
        });
        group.bench_function("tollgate-cached", |b| {
            b.iter(|| now_or_never(cached.verify::<StandardClaims>(black_box(&token))))
        });
        group.bench_function("jsonwebtoken", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<StandardClaims>(
                    black_box(&token),
                    &keys.decoding,
                    &validation,
                )
            })
        });
        group.finish();

        if algorithm == tollgate::key::Algorithm::HS256 {
            floor_parts(c, &token, &raw);
        }
    }
}

/// The floor's parts for HS256, to see where the time goes.
fn floor_parts(c: &mut Criterion, token: &str, key: &RawKey) {
    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    let (header, payload) = signing_input.split_once('.').unwrap();
    let decoded_payload = URL_SAFE_NO_PAD.decode(payload).unwrap();
    let decoded_signature = URL_SAFE_NO_PAD.decode(signature).unwrap();

    let mut group = c.benchmark_group("floor-parts/HS256");
    group.bench_function("base64url-3-segments", |b| {
        b.iter(|| {
            let mut header_buf = [0u8; 256];
            let mut payload_buf = [0u8; 1024];
            let mut signature_buf = [0u8; 512];
            let h = URL_SAFE_NO_PAD.decode_slice(black_box(header), &mut header_buf);
            let p = URL_SAFE_NO_PAD.decode_slice(black_box(payload), &mut payload_buf);
            let s = URL_SAFE_NO_PAD.decode_slice(black_box(signature), &mut signature_buf);
            black_box((&header_buf, &payload_buf, &signature_buf));
            (h, p, s)
        })
    });
    group.bench_function("hmac-sha256", |b| {
        b.iter(|| key.verify(black_box(signing_input.as_bytes()), &decoded_signature))
    });
    group.bench_function("claims-json", |b| {
        b.iter(|| serde_json::from_slice::<StandardClaims>(black_box(&decoded_payload)))
    });
    group.finish();
}

/// Verify (HS256, uncached), revocation (the in-process store) and policy (a permission of the
/// `perms` claim) around a service that answers at once: one request, through all three.
fn stack(c: &mut Criterion) {
    let keys = Keys::new(Algorithm::HS256);
    let bearer = HeaderValue::try_from(format!(
        "Bearer {}",
        keys.token("0f8fad5b-d9cb-469f-a165-70867728950e")
    ))
    .unwrap();
    // A new stack for each variant: a layer takes its metric handles from the recorder in
    // place at its first request.
    let new_call = || {
        let authorizer = Authorizer::new();
        let service = ServiceBuilder::new()
            .layer(VerifyLayer::new(keys.verifier()))
            .layer(RevocationLayer::new(MemoryRevocationStore::new()))
            .layer(RequirePolicyLayer::new(
                &authorizer,
                Policy::permission("customer:read").unwrap(),
            ))
            .service(service_fn(|_: Request<()>| {
                ready(Ok::<_, Infallible>(Response::new(ResponseBody::inner(()))))
            }));
        let bearer = bearer.clone();
        move || {
            let mut service = service.clone();
            let request = Request::get("/customers")
                .header(AUTHORIZATION, bearer.clone())
                .body(())
                .unwrap();
            let ready = now_or_never(service.ready()).unwrap().unwrap();
            now_or_never(ready.call(black_box(request)))
                .unwrap()
                .unwrap()
        }
    };
    assert_eq!(new_call()().status(), http::StatusCode::OK);

    let mut group = c.benchmark_group("stack");
    let call = new_call();
    group.bench_function("no-recorder-no-subscriber", |b| b.iter(&call));
    // A subscriber that keeps `DEBUG` off, as a service logging at `INFO` has it.
    let info = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(std::io::sink)
        .finish();
    let call = new_call();
    tracing::subscriber::with_default(info, || {
        group.bench_function("subscriber-at-info", |b| b.iter(&call));
    });
    #[cfg(feature = "metrics")]
    {
        // The recorder an application installs, without its HTTP listener.
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let call = new_call();
        metrics::with_local_recorder(&recorder, || {
            group.bench_function("prometheus-recorder", |b| b.iter(&call));
        });
        assert!(
            recorder
                .handle()
                .render()
                .contains(r#"tollgate_decisions_total{layer="policy",outcome="allowed"}"#)
        );
        // What the stack would record per request if it asked the recorder for each handle
        // (as the `metrics` macros do) instead of keeping them: the three decisions, the
        // check's status and its duration, with static keys; with no recorder and with the
        // Prometheus one.
        let records = || {
            use metrics::{Key, Label, Level, Metadata};
            static METADATA: Metadata<'static> =
                Metadata::new("tollgate", Level::INFO, Some("tollgate"));
            static LABELS: [[Label; 2]; 3] = [
                [
                    Label::from_static_parts("layer", "verify"),
                    Label::from_static_parts("outcome", "allowed"),
                ],
                [
                    Label::from_static_parts("layer", "revocation"),
                    Label::from_static_parts("outcome", "allowed"),
                ],
                [
                    Label::from_static_parts("layer", "policy"),
                    Label::from_static_parts("outcome", "allowed"),
                ],
            ];
            static DECISIONS: [Key; 3] = [
                Key::from_static_parts("tollgate_decisions_total", &LABELS[0]),
                Key::from_static_parts("tollgate_decisions_total", &LABELS[1]),
                Key::from_static_parts("tollgate_decisions_total", &LABELS[2]),
            ];
            static STATUS_LABELS: [Label; 1] = [Label::from_static_parts("status", "active")];
            static STATUS: Key =
                Key::from_static_parts("tollgate_revocation_checks_total", &STATUS_LABELS);
            static DURATION: Key =
                Key::from_static_name("tollgate_revocation_check_duration_seconds");
            let started = std::time::Instant::now();
            metrics::with_recorder(|recorder| {
                for key in &DECISIONS {
                    recorder.register_counter(key, &METADATA).increment(1);
                }
                recorder.register_counter(&STATUS, &METADATA).increment(1);
                recorder
                    .register_histogram(&DURATION, &METADATA)
                    .record(started.elapsed().as_secs_f64());
            });
        };
        group.bench_function("records-alone-no-recorder", |b| b.iter(records));
        metrics::with_local_recorder(&recorder, || {
            group.bench_function("records-alone-prometheus-recorder", |b| b.iter(records));
            // The same with the handles kept, as the layers keep them.
            let counters: Vec<metrics::Counter> = (0..4)
                .map(|i| metrics::counter!("tollgate_bench_kept_total", "i" => i.to_string()))
                .collect();
            let histogram = metrics::histogram!("tollgate_bench_kept_seconds");
            group.bench_function("records-alone-prometheus-handles-kept", |b| {
                b.iter(|| {
                    let started = std::time::Instant::now();
                    for counter in &counters {
                        counter.increment(1);
                    }
                    histogram.record(started.elapsed().as_secs_f64());
                })
            });
        });
    }
    // The three spans alone, with no subscriber: created, given their outcome, dropped.
    group.bench_function("three-spans-alone", |b| {
        b.iter(|| {
            for (target, name) in [
                ("verify", "verify"),
                ("revocation", "revocation"),
                ("policy", "policy"),
            ] {
                let span = match black_box(target) {
                    "verify" => tracing::debug_span!(target: "tollgate::verify", "verify", outcome = tracing::field::Empty),
                    "revocation" => tracing::debug_span!(target: "tollgate::revocation", "revocation", outcome = tracing::field::Empty, status = tracing::field::Empty),
                    _ => tracing::debug_span!(target: "tollgate::policy", "policy", outcome = tracing::field::Empty),
                };
                span.in_scope(|| black_box(name));
                span.record("outcome", "allowed");
            }
        })
    });
    group.finish();
}

criterion_group!(benches, per_algorithm, stack);
criterion_main!(benches);
