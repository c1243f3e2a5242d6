use std::{
    convert::Infallible,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use tower::{ServiceBuilder, ServiceExt, service_fn};

use super::*;

fn request(headers: &[(&str, &[u8])]) -> Request<()> {
    let mut builder = Request::post("/auth/refresh");
    for (name, value) in headers {
        builder = builder.header(*name, HeaderValue::from_bytes(value).unwrap());
    }
    builder.body(()).unwrap()
}

fn check(layer: &CsrfGuardLayer, headers: &[(&str, &[u8])]) -> Result<(), CsrfErrorKind> {
    layer
        .config
        .check(&request(headers))
        .map_err(|error| error.kind())
}

fn layer() -> CsrfGuardLayer {
    CsrfGuardLayer::new()
        .add_allowed_origin("https://app.example")
        .unwrap()
}

const HOST: (&str, &[u8]) = ("host", b"api.example");

#[test]
fn allowed_and_own_origins_pass() {
    let layer = layer();
    assert_eq!(
        check(&layer, &[HOST, ("origin", b"https://app.example")]),
        Ok(())
    );
    assert_eq!(
        check(&layer, &[HOST, ("origin", b"https://APP.example:443")]),
        Ok(())
    );
    assert_eq!(
        check(&layer, &[HOST, ("origin", b"https://api.example")]),
        Ok(())
    );
    assert_eq!(
        check(&layer, &[HOST, ("origin", b"http://api.example")]),
        Ok(())
    );
    assert_eq!(
        check(
            &layer,
            &[
                ("host", b"localhost:8080"),
                ("origin", b"http://localhost:8080")
            ]
        ),
        Ok(())
    );
    assert_eq!(
        check(
            &layer,
            &[
                HOST,
                ("origin", b"https://api.example"),
                ("sec-fetch-site", b"same-origin")
            ]
        ),
        Ok(())
    );
}

#[test]
fn foreign_origins_are_refused() {
    let layer = layer();
    for origin in [
        &b"https://evil.example"[..],
        b"https://api.example:8443",
        b"https://sub.api.example",
        b"http://app.example",
        b"https://app.example:444",
    ] {
        assert_eq!(
            check(&layer, &[HOST, ("origin", origin)]),
            Err(CsrfErrorKind::ForeignOrigin),
            "{origin:?}"
        );
    }
    // No Host: nothing is the request's own origin.
    assert_eq!(
        check(&layer, &[("origin", b"https://api.example")]),
        Err(CsrfErrorKind::ForeignOrigin)
    );
    // Two Host headers: neither is trusted.
    assert_eq!(
        check(
            &layer,
            &[
                HOST,
                ("host", b"evil.example"),
                ("origin", b"https://evil.example")
            ]
        ),
        Err(CsrfErrorKind::ForeignOrigin)
    );
}

#[test]
fn cross_site_fetch_metadata_is_refused_unless_the_origin_is_allowed() {
    let layer = layer();
    let cross = ("sec-fetch-site", &b"cross-site"[..]);
    assert_eq!(
        check(&layer, &[HOST, cross, ("origin", b"https://evil.example")]),
        Err(CsrfErrorKind::CrossSite)
    );
    assert_eq!(check(&layer, &[HOST, cross]), Err(CsrfErrorKind::CrossSite));
    // Even an Origin equal to the Host: the browser's word wins.
    assert_eq!(
        check(&layer, &[HOST, cross, ("origin", b"https://api.example")]),
        Err(CsrfErrorKind::CrossSite)
    );
    assert_eq!(
        check(&layer, &[HOST, cross, ("origin", b"https://app.example")]),
        Ok(())
    );
    // A second Sec-Fetch-Site cannot hide a cross-site one.
    assert_eq!(
        check(
            &layer,
            &[
                HOST,
                ("sec-fetch-site", b"same-origin"),
                cross,
                ("origin", b"https://api.example")
            ]
        ),
        Err(CsrfErrorKind::CrossSite)
    );
}

#[test]
fn requests_without_origin_follow_fetch_metadata_and_the_setting() {
    let layer = layer();
    assert_eq!(check(&layer, &[HOST]), Ok(()));
    assert_eq!(check(&layer, &[]), Ok(()));
    assert_eq!(
        check(&layer, &[HOST, ("sec-fetch-site", b"same-origin")]),
        Ok(())
    );
    assert_eq!(check(&layer, &[HOST, ("sec-fetch-site", b"none")]), Ok(()));
    for site in [&b"same-site"[..], b"Same-Origin", b"", b"whatever"] {
        assert_eq!(
            check(&layer, &[HOST, ("sec-fetch-site", site)]),
            Err(CsrfErrorKind::MissingOrigin),
            "{site:?}"
        );
    }
    let strict = layer.allow_missing_origin(false);
    assert_eq!(check(&strict, &[HOST]), Err(CsrfErrorKind::MissingOrigin));
    assert_eq!(
        check(&strict, &[HOST, ("sec-fetch-site", b"same-origin")]),
        Ok(())
    );
}

#[test]
fn malformed_origins_are_refused() {
    let layer = layer();
    for origin in [
        &b"null"[..],
        b"",
        b"garbage",
        b"https://app.example/",
        b"https://\xff\xfe.example",
        b"https://app.example, https://app.example",
        b"file:///etc/passwd",
    ] {
        assert_eq!(
            check(&layer, &[HOST, ("origin", origin)]),
            Err(CsrfErrorKind::MalformedOrigin),
            "{origin:?}"
        );
    }
    assert_eq!(
        check(
            &layer,
            &[
                HOST,
                ("origin", b"https://app.example"),
                ("origin", b"https://app.example")
            ]
        ),
        Err(CsrfErrorKind::MalformedOrigin)
    );
}

#[test]
fn without_same_host_only_listed_origins_pass() {
    let layer = layer().allow_same_host(false);
    assert_eq!(
        check(&layer, &[HOST, ("origin", b"https://api.example")]),
        Err(CsrfErrorKind::ForeignOrigin)
    );
    assert_eq!(
        check(&layer, &[HOST, ("origin", b"https://app.example")]),
        Ok(())
    );
}

#[test]
fn the_uri_authority_and_scheme_count_without_a_host_header() {
    let layer = layer();
    let request = |uri: &str, origin: &'static str| {
        Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header("origin", origin)
            .body(())
            .unwrap()
    };
    let own = request("https://api.example/auth/refresh", "https://api.example");
    assert!(layer.config.check(&own).is_ok());
    let other_scheme = request("https://api.example/auth/refresh", "http://api.example");
    assert!(layer.config.check(&other_scheme).is_err());
}

#[test]
fn allowed_origins_are_validated_and_kept_once() {
    for bad in [
        "*",
        "https://*.example",
        "https://app.example/",
        "null",
        "app.example",
        "ftp://a.example",
    ] {
        assert!(
            matches!(
                CsrfGuardLayer::new().add_allowed_origin(bad),
                Err(tollgate::ConfigError::InvalidUrl { .. })
            ),
            "{bad:?}"
        );
    }
    let layer = CsrfGuardLayer::new()
        .add_allowed_origin("https://App.example")
        .unwrap()
        .add_allowed_origin("https://app.example:443")
        .unwrap()
        .add_allowed_origin("http://localhost:8080")
        .unwrap();
    assert_eq!(
        layer.allowed_origins().collect::<Vec<_>>(),
        ["https://app.example", "http://localhost:8080"]
    );
}

#[tokio::test]
async fn a_refusal_is_a_problem_and_the_inner_service_is_not_called() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let service =
        ServiceBuilder::new()
            .layer(layer())
            .service(service_fn(move |_: Request<Full<Bytes>>| {
                counted.fetch_add(1, Ordering::SeqCst);
                async {
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"inner"))))
                }
            }));

    let refused = Request::post("/")
        .header("host", "api.example")
        .header("origin", "https://evil.example")
        .body(Full::default())
        .unwrap();
    let response = service.clone().oneshot(refused).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(
        response
            .extensions()
            .get::<CsrfError>()
            .map(CsrfError::kind),
        Some(CsrfErrorKind::ForeignOrigin)
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        problem,
        serde_json::json!({
            "type": "about:blank",
            "title": "Forbidden",
            "status": 403,
            "detail": CsrfErrorKind::ForeignOrigin.description(),
            "code": "csrf",
        })
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    let passed = Request::post("/")
        .header("host", "api.example")
        .header("origin", "https://app.example")
        .body(Full::default())
        .unwrap();
    let response = service.oneshot(passed).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"inner");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn the_guard_gives_access_to_its_inner_service() {
    let mut guard = CsrfGuard::new(7_u8);
    assert_eq!(*guard.get_ref(), 7);
    *guard.get_mut() = 8;
    assert_eq!(guard.clone().into_inner(), 8);
    assert!(format!("{guard:?}").starts_with("CsrfGuard { inner: 8"));
    let layer = CsrfGuard::<()>::layer()
        .add_allowed_origin("https://app.example")
        .unwrap();
    assert!(format!("{layer:?}").contains("https://app.example"));
}
