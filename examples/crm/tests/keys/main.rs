//! Signing keys: a private key file (RSA, P-256, Ed25519) signs the tokens and is published
//! as the JWKS; a given HS256 secret signs them; a key file that does not work stops the
//! start with one line naming `--jwt-private-key`.

#[path = "../support/mod.rs"]
mod support;

use support::{
    Backend, Env, User, decode, fixture,
    process::{assert_one_line, run},
};

/// Asymmetric signing: the JWKS publishes the key, tokens carry its kid.
async fn private_key(file: &str, alg: &str, kty: &str) {
    let env = Env::new(Backend::Sqlite).await.unwrap();
    let key = fixture(file);
    let app = env.start(&["--jwt-private-key", &key]).await;
    let jwks = app.get("/.well-known/jwks.json", None).await;
    assert_eq!(jwks.status, 200, "{}", jwks.text);
    assert!(jwks.header("content-type").starts_with("application/json"));
    let keys = jwks.body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kty"], kty);
    assert!(keys[0].get("d").is_none(), "no private member is published");
    let user: User = app.register("signed").await;
    let (header, _) = decode(&user.access);
    assert_eq!(header["alg"], alg);
    assert_eq!(header["kid"], keys[0]["kid"]);
    assert_eq!(
        app.get("/api/auth/me", Some(&user.access)).await.status,
        200
    );
    assert_eq!(app.refresh(&user.refresh).await.status, 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsa_private_key_signs_rs256_and_publishes_jwks() {
    private_key("rsa2048.pem", "RS256", "RSA").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p256_private_key_signs_es256_and_publishes_jwks() {
    private_key("p256.pem", "ES256", "EC").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ed25519_private_key_signs_eddsa_and_publishes_jwks() {
    private_key("ed25519.pem", "EdDSA", "OKP").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_given_secret_signs_hs256_and_tokens_of_another_secret_are_refused() {
    let env = Env::new(Backend::Sqlite).await.unwrap();
    let app = env
        .start(&["--jwt-secret", "0123456789abcdef0123456789abcdef"])
        .await;
    let user = app.register("secret").await;
    assert_eq!(decode(&user.access).0["alg"], "HS256");
    app.get("/.well-known/jwks.json", None)
        .await
        .assert_problem(404);
    app.stop().await;
    let app = env
        .start(&["--jwt-secret", "another secret of thirty-two bytes!!"])
        .await;
    app.get("/api/auth/me", Some(&user.access))
        .await
        .assert_invalid_token("unknown_key");
    app.stop().await;
}

#[test]
fn a_bad_key_file_names_its_flag() {
    assert_one_line(
        &run(&["--jwt-private-key", "/nonexistent/key.pem"]),
        "--jwt-private-key",
    );
    let not_a_key = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    assert_one_line(&run(&["--jwt-private-key", not_a_key]), "--jwt-private-key");
}

#[test]
fn a_short_rsa_key_is_refused_naming_its_size() {
    for file in ["rsa1024.pem", "rsa1024-pkcs8.pem"] {
        let key = fixture(file);
        let line = assert_one_line(&run(&["--jwt-private-key", &key]), "--jwt-private-key");
        assert!(
            line.contains("1024 bits") && line.contains("2048"),
            "{file}: {line}"
        );
        assert!(!line.contains("not an RSA"), "{file}: {line}");
    }
}
