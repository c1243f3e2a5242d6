//! OpenID Connect discovery end to end: the identity provider serves its configuration
//! document and its JWK Set over real HTTP on loopback; the app behind `VerifyLayer` finds
//! the keys through the document.

use std::{
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use http::StatusCode;
use serde_json::json;
use tollgate::{
    ConfigError,
    key::{JwksErrorKind, RemoteJwks},
    verify::TrustedIssuer,
};

use super::{Idp, SigningKey, assert_key_source_unavailable, call, serve_issuer};

/// A bound on how long a test waits for a background refresh to land; the refreshes under
/// test are due after one second.
const PROPAGATION_BOUND: Duration = Duration::from_secs(15);

impl Idp {
    /// The issuer identifier: the provider's base URL.
    fn issuer(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Serve a configuration document naming `issuer` and the provider's JWK Set.
    fn configure(&self, issuer: &str) {
        self.serve_configuration(
            &json!({
                "issuer": issuer,
                "jwks_uri": self.url(),
                "authorization_endpoint": format!("{}/authorize", self.issuer()),
                "id_token_signing_alg_values_supported": ["ES256"],
            })
            .to_string(),
        );
    }

    fn serve_configuration(&self, body: &str) {
        body.clone_into(&mut self.configuration.lock().unwrap());
    }

    fn configuration_hits(&self) -> usize {
        self.configuration_hits.load(Ordering::SeqCst)
    }
}

/// A key source found through `issuer`'s document, refetched at most once a second.
fn discovered(issuer: &str) -> RemoteJwks {
    RemoteJwks::discovery_builder(issuer)
        .unwrap()
        .min_refresh_interval(Duration::from_secs(1))
        .unwrap()
        .build()
        .unwrap()
}

#[tokio::test]
async fn discovered_keys_verify_and_a_rotated_key_is_picked_up() {
    let old = SigningKey::new("k1");
    let new = SigningKey::new("k2");
    let idp = Idp::start(&[&old]).await;
    let issuer = idp.issuer();
    idp.configure(&issuer);
    let jwks = discovered(&issuer);
    assert_eq!(jwks.issuer(), Some(issuer.as_str()));
    assert_eq!(
        jwks.url(),
        format!("{issuer}/.well-known/openid-configuration")
    );
    assert_eq!(
        jwks.jwks_uri(),
        None,
        "nothing is fetched before the first use"
    );
    jwks.refresh().await.unwrap();
    assert_eq!(jwks.jwks_uri(), Some(idp.url()));
    let app = serve_issuer(TrustedIssuer::new(issuer.as_str(), jwks.clone())).await;
    let client = reqwest::Client::new();
    assert_eq!(
        call(&client, app, &old.token_from(&issuer, "alice")).await,
        (StatusCode::OK, String::new())
    );
    // A token from another issuer, signed by the same key, is still refused.
    assert_eq!(
        call(&client, app, &old.token("alice")).await,
        (StatusCode::UNAUTHORIZED, "invalid_issuer".to_owned())
    );

    // The provider rotates: the unknown `kid` refreshes the set from the `jwks_uri` read
    // before, without reading the document again.
    idp.publish(&[&old, &new]);
    assert_eq!(
        call(&client, app, &new.token_from(&issuer, "bob")).await.0,
        StatusCode::OK
    );
    assert_eq!(idp.hits(), 2);
    assert_eq!(idp.configuration_hits(), 1);
}

/// The provider moves its JWK Set: a fetch of the old `jwks_uri` fails (the token with the
/// new key is refused as a key-source outage), so the next fetch, after the cool-down, reads
/// the document again and the keys come from the new one.
#[tokio::test]
async fn a_moved_jwks_uri_is_found_through_the_document() {
    let old = SigningKey::new("k1");
    let new = SigningKey::new("k2");
    let provider = Idp::start(&[]).await;
    let (old_home, new_home) = (Idp::start(&[&old]).await, Idp::start(&[&old, &new]).await);
    let issuer = provider.issuer();
    let document = |jwks_uri: String| json!({"issuer": issuer, "jwks_uri": jwks_uri}).to_string();
    provider.serve_configuration(&document(old_home.url()));
    let jwks = discovered(&issuer);
    jwks.refresh().await.unwrap();
    assert_eq!(jwks.jwks_uri(), Some(old_home.url()));

    provider.serve_configuration(&document(new_home.url()));
    old_home.down.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1100)).await; // past the cool-down
    let app = serve_issuer(TrustedIssuer::new(issuer.as_str(), jwks.clone())).await;
    let client = reqwest::Client::new();
    let token = new.token_from(&issuer, "bob");
    assert_key_source_unavailable(&client, app, &token).await;
    assert_eq!(old_home.hits(), 2);
    tokio::time::sleep(Duration::from_millis(1100)).await; // past the cool-down
    assert_eq!(call(&client, app, &token).await.0, StatusCode::OK);
    assert_eq!(jwks.jwks_uri(), Some(new_home.url()));
    assert_eq!(provider.configuration_hits(), 2);
    assert_eq!((old_home.hits(), new_home.hits()), (2, 1));
    // The old key is still in the new set.
    assert_eq!(
        call(&client, app, &old.token_from(&issuer, "alice"))
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_one_liner_fetches_on_first_use() {
    let key = SigningKey::new("k1");
    let idp = Idp::start(&[&key]).await;
    let issuer = idp.issuer();
    idp.configure(&issuer);
    let app = serve_issuer(TrustedIssuer::discover(&issuer).unwrap()).await;
    let client = reqwest::Client::new();
    assert_eq!(
        call(&client, app, &key.token_from(&issuer, "alice"))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!((idp.configuration_hits(), idp.hits()), (1, 1));
}

#[tokio::test]
async fn a_document_for_another_issuer_is_refused() {
    let key = SigningKey::new("k1");
    let idp = Idp::start(&[&key]).await;
    let issuer = idp.issuer();
    let client = reqwest::Client::new();
    // Another issuer entirely, and the same one with a trailing slash: both differ.
    for named in ["https://idp.test".to_owned(), format!("{issuer}/")] {
        idp.configure(&named);
        let jwks = RemoteJwks::discover(&issuer).unwrap();
        let error = jwks.refresh().await.unwrap_err();
        assert_eq!(error.kind(), JwksErrorKind::IssuerMismatch, "{named}");
        assert!(error.is_discovery());
        assert_eq!(
            error.to_string(),
            "the OpenID configuration names another issuer than the one configured"
        );
        assert!(jwks.key_set().is_none());
        // The JWK Set it names is never fetched.
        assert_eq!(idp.hits(), 0);
        let app = serve_issuer(TrustedIssuer::new(issuer.as_str(), jwks)).await;
        assert_key_source_unavailable(&client, app, &key.token_from(&issuer, "alice")).await;
    }
}

#[tokio::test]
async fn the_provider_down_is_a_key_source_outage() {
    let key = SigningKey::new("k1");
    let idp = Idp::start(&[&key]).await;
    let issuer = idp.issuer();
    idp.configure(&issuer);
    // Stale keys are served for up to an hour (the default `max_stale`)...
    let tolerant = RemoteJwks::discover(&issuer).unwrap();
    // ...or not at all past their refresh time.
    let strict = RemoteJwks::discovery_builder(&issuer)
        .unwrap()
        .refresh_interval(Duration::from_secs(1))
        .unwrap()
        .max_stale(Duration::ZERO)
        .unwrap()
        .build()
        .unwrap();
    tolerant.refresh().await.unwrap();
    strict.refresh().await.unwrap();
    let tolerant_app = serve_issuer(TrustedIssuer::new(issuer.as_str(), tolerant.clone())).await;
    let strict_app = serve_issuer(TrustedIssuer::new(issuer.as_str(), strict.clone())).await;
    let client = reqwest::Client::new();
    let token = key.token_from(&issuer, "alice");

    idp.down.store(true, Ordering::SeqCst);
    // The key set's fetch fails first; the next attempt reads the document again, and that
    // fails too.
    let error = tolerant.refresh().await.unwrap_err();
    assert_eq!(error.kind(), JwksErrorKind::Status);
    assert!(!error.is_discovery());
    assert_eq!(tolerant.jwks_uri(), None);
    let error = tolerant.refresh().await.unwrap_err();
    assert_eq!(error.kind(), JwksErrorKind::Status);
    assert!(error.is_discovery());
    assert_eq!(
        error.to_string(),
        "the OpenID configuration endpoint answered with status 500 Internal Server Error"
    );
    assert_eq!(idp.configuration_hits(), 3);
    // Within `max_stale`, the last good keys still verify.
    assert_eq!(call(&client, tolerant_app, &token).await.0, StatusCode::OK);

    // Past it, 503 until the provider is back.
    let started = Instant::now();
    while strict.key_set().is_some() {
        assert!(
            started.elapsed() < PROPAGATION_BOUND,
            "the stale set is never dropped"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_key_source_unavailable(&client, strict_app, &token).await;
    // Whichever fetch failed first, the key set's or the document's, the next one reads the
    // document again, and fails there.
    assert!(strict.refresh().await.is_err());
    assert!(strict.refresh().await.unwrap_err().is_discovery());

    idp.down.store(false, Ordering::SeqCst);
    strict.refresh().await.unwrap();
    assert_eq!(call(&client, strict_app, &token).await.0, StatusCode::OK);
}

#[tokio::test]
async fn huge_or_malformed_documents_are_refused() {
    let key = SigningKey::new("k1");
    let idp = Idp::start(&[&key]).await;
    let issuer = idp.issuer();
    let refused = |kind: JwksErrorKind, body: String| {
        let (idp, issuer) = (idp.clone(), issuer.clone());
        async move {
            idp.serve_configuration(&body);
            let jwks = RemoteJwks::discovery_builder(&issuer)
                .unwrap()
                .max_response_bytes(4096)
                .unwrap()
                .build()
                .unwrap();
            let error = jwks.refresh().await.unwrap_err();
            assert_eq!(error.kind(), kind, "{body:.80}");
            assert!(error.is_discovery());
            assert!(jwks.key_set().is_none());
        }
    };
    let huge = json!({
        "issuer": issuer, "jwks_uri": idp.url(), "padding": "x".repeat(5000),
    });
    refused(JwksErrorKind::TooLarge, huge.to_string()).await;
    for body in [
        "not json".to_owned(),
        "[]".to_owned(),
        json!({"issuer": issuer}).to_string(),
        json!({"jwks_uri": idp.url()}).to_string(),
        json!({"issuer": issuer, "jwks_uri": 7}).to_string(),
        json!({"issuer": issuer, "jwks_uri": "/jwks.json"}).to_string(),
        json!({"issuer": issuer, "jwks_uri": "ftp://127.0.0.1/jwks.json"}).to_string(),
        // Plain http to another host than loopback.
        json!({"issuer": issuer, "jwks_uri": "http://idp.example.com/jwks.json"}).to_string(),
    ] {
        refused(JwksErrorKind::InvalidDiscovery, body).await;
    }
    assert_eq!(
        idp.hits(),
        0,
        "no JWK Set is fetched from a refused document"
    );
}

#[test]
fn issuers_are_checked_where_they_are_given() {
    for bad in [
        "not a url",
        "http://idp.example.com",
        "https://idp.example.com/?tenant=1",
        "https://idp.example.com/#top",
        "ftp://idp.example.com",
    ] {
        assert!(
            matches!(
                RemoteJwks::discover(bad),
                Err(ConfigError::InvalidUrl { .. })
            ),
            "{bad}"
        );
    }
    // A trailing slash is removed before the well-known path is appended.
    for issuer in [
        "https://idp.example.com/realms/main",
        "https://idp.example.com/realms/main/",
    ] {
        assert_eq!(
            RemoteJwks::discover(issuer).unwrap().url(),
            "https://idp.example.com/realms/main/.well-known/openid-configuration"
        );
    }
    assert!(RemoteJwks::discovery_builder_allow_http("http://idp.example.com").is_ok());
}
