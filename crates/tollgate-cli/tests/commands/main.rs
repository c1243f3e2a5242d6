//! keygen, jwks, mint, inspect, verify and completions, through the built binary.

#[path = "../support/mod.rs"]
mod support;

use std::{
    fs,
    net::TcpListener,
    time::{Duration, Instant},
};

use serde_json::Value;
use support::{tollgate, usage_error};
use tempfile::TempDir;
use tollgate::{
    StandardClaims,
    key::KeySet,
    verify::{TrustedIssuer, Verifier},
};

const EVERY_ALGORITHM: [&str; 12] = [
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256",
    "ES384", "EdDSA",
];

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The flag that names the key file `kid` of `alg` keygen wrote.
fn key_flag(alg: &str, kid: &str) -> [String; 2] {
    if alg.starts_with("HS") {
        ["--secret-file".to_owned(), format!("{kid}.secret")]
    } else {
        ["--key".to_owned(), format!("{kid}.pem")]
    }
}

#[test]
fn keygen_mint_verify_round_trips_for_every_algorithm() {
    for alg in EVERY_ALGORITHM {
        let dir = TempDir::new().unwrap();
        let kid = format!("k-{}", alg.to_ascii_lowercase());
        tollgate(dir.path(), &["keygen", "--alg", alg, "--kid", &kid], None).expect(0);
        let [flag, file] = key_flag(alg, &kid);
        let mint = [
            "mint", &flag, &file, "--alg", alg, "--iss", "ops", "--aud", "api",
        ];
        let token = tollgate(dir.path(), &mint, None).expect(0).stdout;
        let token = token.trim();

        let verify = [
            "verify", &flag, &file, "--alg", alg, "--iss", "ops", "--aud", "api", "--json",
        ];
        let run = tollgate(dir.path(), &verify, Some(token.as_bytes())).expect(0);
        let answer = run.json();
        assert_eq!(answer["valid"], true, "{alg}");
        assert_eq!(answer["alg"], alg);
        assert_eq!(answer["kid"], kid.as_str());
        assert_eq!(answer["claims"]["iss"], "ops");

        if !alg.starts_with("HS") {
            // The public half and the JWK Set that keygen wrote verify it too.
            let public = format!("{kid}.pub.pem");
            let mut by_public = vec!["verify", token, "--key", public.as_str(), "--aud", "api"];
            if alg.starts_with("RS") || alg.starts_with("PS") {
                by_public.extend(["--alg", alg]);
            }
            tollgate(dir.path(), &by_public, None).expect(0);
            tollgate(
                dir.path(),
                &["verify", token, "--jwks", "jwks.json", "--aud", "api"],
                None,
            )
            .expect(0);
        }
    }
}

#[test]
fn keygen_writes_private_files_0600_and_never_overwrites_them() {
    let dir = TempDir::new().unwrap();
    let run = tollgate(
        dir.path(),
        &["keygen", "--alg", "ES256", "--kid", "k1"],
        None,
    )
    .expect(0);
    let private = dir.path().join("k1.pem");
    assert_eq!(mode(&private), 0o600);
    assert_eq!(mode(&dir.path().join("k1.pub.pem")), 0o644);
    let key = fs::read_to_string(&private).unwrap();
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"));
    let body: String = key.lines().nth(1).unwrap().to_owned();
    assert!(!run.stdout.contains(&body), "the key is never printed");
    let jwks: Value =
        serde_json::from_slice(&fs::read(dir.path().join("jwks.json")).unwrap()).unwrap();
    assert_eq!(jwks["keys"][0]["kid"], "k1");
    assert_eq!(jwks["keys"][0]["alg"], "ES256");
    assert_eq!(jwks["keys"][0]["use"], "sig");
    assert!(jwks["keys"][0].get("d").is_none(), "no private member");

    // A second key of the same name: refused, and the first is untouched.
    let again = tollgate(
        dir.path(),
        &["keygen", "--alg", "ES256", "--kid", "k1"],
        None,
    )
    .expect(2);
    assert!(again.stderr.contains("never overwritten"), "{again:?}");
    assert_eq!(fs::read_to_string(&private).unwrap(), key);

    let run = tollgate(
        dir.path(),
        &["keygen", "--alg", "HS512", "--kid", "h1", "--json"],
        None,
    )
    .expect(0);
    let secret_file = dir.path().join("h1.secret");
    assert_eq!(mode(&secret_file), 0o600);
    let secret = fs::read_to_string(&secret_file).unwrap();
    assert_eq!(secret.trim().len(), 86, "64 bytes, base64url");
    assert!(!run.stdout.contains(secret.trim()));
    assert_eq!(run.json()["files"]["secret"], "./h1.secret");
    tollgate(
        dir.path(),
        &["keygen", "--alg", "HS512", "--kid", "h1"],
        None,
    )
    .expect(2);
    assert_eq!(fs::read_to_string(&secret_file).unwrap(), secret);
}

#[test]
fn keygen_refuses_bad_arguments() {
    let dir = TempDir::new().unwrap();
    usage_error(dir.path(), &["keygen", "--alg", "none"], "--alg");
    usage_error(
        dir.path(),
        &["keygen", "--alg", "ES256", "--kid", "../up"],
        "--kid",
    );
    usage_error(
        dir.path(),
        &["keygen", "--alg", "ES256", "--bits", "4096"],
        "--bits",
    );
    usage_error(
        dir.path(),
        &["keygen", "--alg", "RS256", "--bits", "1024"],
        "--bits",
    );
    usage_error(
        dir.path(),
        &["keygen", "--alg", "ES256", "--out", "missing"],
        "--out",
    );
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing written"
    );
}

#[tokio::test]
async fn a_verifier_built_from_the_jwks_accepts_a_minted_token() {
    let dir = TempDir::new().unwrap();
    tollgate(
        dir.path(),
        &["keygen", "--alg", "EdDSA", "--kid", "ed"],
        None,
    )
    .expect(0);
    tollgate(
        dir.path(),
        &["keygen", "--alg", "PS384", "--kid", "rsa", "--out", "."],
        None,
    )
    .expect(2); // jwks.json exists
    let rsa = TempDir::new().unwrap();
    tollgate(
        rsa.path(),
        &["keygen", "--alg", "PS384", "--kid", "rsa"],
        None,
    )
    .expect(0);
    let rsa_pem = rsa.path().join("rsa.pub.pem");
    let rsa_spec = format!("{}:rsa-2", rsa_pem.display());

    let set = tollgate(
        dir.path(),
        &["jwks", "ed.pub.pem", "ed.pem:ed-again", "--json"],
        None,
    )
    .expect(0);
    let keys = KeySet::from_jwks(set.stdout.as_bytes(), None).unwrap();
    assert_eq!(keys.len(), 2);
    // An RSA key needs its algorithm named.
    usage_error(dir.path(), &["jwks", &rsa_spec], "--alg");
    let rsa_set = tollgate(dir.path(), &["jwks", "--alg", "PS384", &rsa_spec], None).expect(0);
    assert_eq!(rsa_set.json()["keys"][0]["kid"], "rsa-2");

    let token = tollgate(
        dir.path(),
        &[
            "mint", "--key", "ed.pem", "--kid", "ed-again", "--iss", "ops", "--aud", "api",
            "--sub", "7",
        ],
        None,
    )
    .expect(0)
    .stdout;
    let verifier = Verifier::new(TrustedIssuer::new("ops", keys).add_audience("api"));
    let verified = verifier
        .verify::<StandardClaims>(token.trim())
        .await
        .unwrap();
    assert_eq!(verified.standard().sub.as_deref(), Some("7"));
    assert_eq!(verified.kid(), Some("ed-again"));

    usage_error(dir.path(), &["jwks", "missing.pem"], "missing.pem");
    usage_error(dir.path(), &["jwks", "jwks.json:x"], "jwks.json");
}

#[test]
fn mint_sets_the_claims_asked_for() {
    let dir = TempDir::new().unwrap();
    tollgate(
        dir.path(),
        &["keygen", "--alg", "HS256", "--kid", "h"],
        None,
    )
    .expect(0);
    fs::write(
        dir.path().join("extra.json"),
        r#"{"org": "7", "roles": ["admin"]}"#,
    )
    .unwrap();
    let minted = tollgate(
        dir.path(),
        &[
            "mint",
            "--secret-file",
            "h.secret",
            "--iss",
            "ops",
            "--aud",
            "a",
            "--aud",
            "b",
            "--sub",
            "42",
            "--ttl",
            "5m",
            "--typ",
            "at+jwt",
            "--claims-json",
            "extra.json",
            "--claim",
            "ver=3",
            "--claim",
            "perms=[\"customer:read\"]",
            "--claim",
            "note=plain text",
            "--json",
        ],
        None,
    )
    .expect(0)
    .json();
    let token = minted["token"].as_str().unwrap();
    let inspected = tollgate(dir.path(), &["inspect", token, "--json"], None)
        .expect(0)
        .json();
    let claims = &inspected["claims"];
    assert_eq!(claims["aud"], serde_json::json!(["a", "b"]));
    assert_eq!(claims["sub"], "42");
    assert_eq!(claims["ver"], 3);
    assert_eq!(claims["perms"], serde_json::json!(["customer:read"]));
    assert_eq!(claims["note"], "plain text");
    assert_eq!(claims["org"], "7");
    assert_eq!(claims["jti"], minted["jti"]);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );
    assert_eq!(inspected["header"]["typ"], "at+jwt");
    assert_eq!(inspected["header"]["kid"], "h");

    usage_error(
        dir.path(),
        &[
            "mint",
            "--secret-file",
            "h.secret",
            "--iss",
            "x",
            "--claim",
            "novalue",
        ],
        "--claim",
    );
    usage_error(
        dir.path(),
        &[
            "mint",
            "--secret-file",
            "h.secret",
            "--iss",
            "x",
            "--ttl",
            "soon",
        ],
        "--ttl",
    );
    let run = tollgate(dir.path(), &["mint", "--iss", "x"], None).expect(2);
    assert!(
        run.stderr.contains("--secret-file") || run.stderr.contains("--key"),
        "{run:?}"
    );
}

#[test]
fn inspect_never_verifies_and_says_so() {
    let dir = TempDir::new().unwrap();
    tollgate(
        dir.path(),
        &["keygen", "--alg", "HS256", "--kid", "h"],
        None,
    )
    .expect(0);
    let token = tollgate(
        dir.path(),
        &[
            "mint",
            "--secret-file",
            "h.secret",
            "--iss",
            "ops",
            "--claim",
            "exp=1000",
        ],
        None,
    )
    .expect(0)
    .stdout;
    // Expired and signed with a key inspect never sees: shown all the same, marked unverified.
    let run = tollgate(dir.path(), &["inspect"], Some(token.as_bytes())).expect(0);
    assert!(run.stdout.starts_with("UNVERIFIED"), "{run:?}");
    assert!(run.stdout.contains("1970-01-01T00:16:40Z"), "{run:?}");
    assert!(run.stdout.contains("expired"), "{run:?}");
    let json = tollgate(dir.path(), &["inspect", token.trim(), "--json"], None)
        .expect(0)
        .json();
    assert_eq!(json["verified"], false);
    assert_eq!(json["times"]["exp"]["rfc3339"], "1970-01-01T00:16:40Z");
    assert!(json["times"]["exp"]["from_now"].as_i64().unwrap() < 0);
    assert_eq!(json["header"]["alg"], "HS256");
}

#[test]
fn malformed_input_gets_a_clear_error_that_never_echoes_it() {
    let dir = TempDir::new().unwrap();
    tollgate(
        dir.path(),
        &["keygen", "--alg", "HS256", "--kid", "h"],
        None,
    )
    .expect(0);
    let garbage = "eyJhbGciOi.secret-looking-garbage";
    let run = tollgate(dir.path(), &["inspect"], Some(garbage.as_bytes())).expect(2);
    assert!(
        run.stderr.contains("malformed") && !run.stderr.contains("secret-looking"),
        "{run:?}"
    );
    tollgate(dir.path(), &["inspect"], Some(&[0xff, 0xfe, 0x00])).expect(2);
    usage_error(dir.path(), &["inspect"], "no token");

    let run = tollgate(
        dir.path(),
        &["verify", "--secret-file", "h.secret"],
        Some(garbage.as_bytes()),
    )
    .expect(1);
    assert!(
        run.stderr.contains("malformed_token") && !run.stderr.contains("secret-looking"),
        "{run:?}"
    );
    let run = tollgate(
        dir.path(),
        &["verify", "--secret-file", "h.secret", "--json", garbage],
        None,
    )
    .expect(1);
    assert_eq!(run.json()["code"], "malformed_token");
    tollgate(
        dir.path(),
        &["verify", "--secret-file", "h.secret"],
        Some(&[0xff, 0xfe]),
    )
    .expect(2);
}

#[test]
fn verify_refuses_as_a_service_would() {
    let dir = TempDir::new().unwrap();
    tollgate(
        dir.path(),
        &["keygen", "--alg", "ES256", "--kid", "k"],
        None,
    )
    .expect(0);
    tollgate(
        dir.path(),
        &["keygen", "--alg", "HS256", "--kid", "k2"],
        None,
    )
    .expect(0);
    let mint = |extra: &[&str]| {
        let mut args = vec![
            "mint", "--key", "k.pem", "--iss", "ops", "--aud", "api", "--typ", "at+jwt",
        ];
        args.extend_from_slice(extra);
        tollgate(dir.path(), &args, None)
            .expect(0)
            .stdout
            .trim()
            .to_owned()
    };
    let verify = |token: &str, extra: &[&str]| {
        let mut args = vec!["verify", token, "--jwks", "jwks.json", "--json"];
        args.extend_from_slice(extra);
        tollgate(dir.path(), &args, None)
    };
    let code = |run: support::Run| {
        let run = run.expect(1);
        assert!(run.stderr.starts_with("refused: "), "{run:?}");
        run.json()["code"].as_str().unwrap().to_owned()
    };
    let token = mint(&[]);
    verify(&token, &["--iss", "ops", "--aud", "api", "--typ", "at+jwt"]).expect(0);
    assert_eq!(
        code(verify(&token, &["--iss", "other", "--aud", "api"])),
        "invalid_issuer"
    );
    assert_eq!(
        code(verify(&token, &["--aud", "other"])),
        "invalid_audience"
    );
    assert_eq!(code(verify(&token, &[])), "invalid_audience");
    assert_eq!(
        code(verify(&token, &["--aud", "api", "--typ", "refresh+jwt"])),
        "invalid_token_type"
    );
    assert_eq!(
        code(verify(&mint(&["--claim", "exp=1000"]), &["--aud", "api"])),
        "token_expired"
    );
    // Leeway: a token that expired a moment ago passes within it.
    let just_expired = mint(&["--claim", &format!("exp={}", now() - 5)]);
    assert_eq!(
        code(verify(&just_expired, &["--aud", "api"])),
        "token_expired"
    );
    verify(&just_expired, &["--aud", "api", "--leeway", "1m"]).expect(0);
    assert_eq!(
        code(verify(
            &mint(&["--claim", &format!("nbf={}", now() + 600)]),
            &["--aud", "api"]
        )),
        "token_not_yet_valid"
    );
    // The algorithm is bound to the key: an HMAC key cannot verify an ES256 token.
    let run = tollgate(
        dir.path(),
        &[
            "verify",
            &token,
            "--secret-file",
            "k2.secret",
            "--kid",
            "k",
            "--aud",
            "api",
            "--json",
        ],
        None,
    );
    assert_eq!(code(run), "unsupported_algorithm");
    // Another key of the same kid: a bad signature.
    let other = TempDir::new().unwrap();
    tollgate(
        other.path(),
        &["keygen", "--alg", "ES256", "--kid", "k"],
        None,
    )
    .expect(0);
    let run = tollgate(
        other.path(),
        &[
            "verify",
            &token,
            "--jwks",
            "jwks.json",
            "--aud",
            "api",
            "--json",
        ],
        None,
    );
    assert_eq!(code(run), "invalid_signature");
    // A kid the set does not have.
    let run = tollgate(
        other.path(),
        &[
            "verify",
            &token,
            "--key",
            "k.pub.pem",
            "--kid",
            "x",
            "--aud",
            "api",
            "--json",
        ],
        None,
    );
    assert_eq!(code(run), "unknown_key");
    // The refusal never prints the token.
    let run = verify(&token, &["--aud", "other"]);
    assert!(!run.stderr.contains(&token) && !run.stdout.contains(&token));
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn bad_keys_are_usage_errors_naming_the_argument() {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("weak.secret"), "c2hvcnQ\n").unwrap();
    let run = tollgate(
        dir.path(),
        &["mint", "--secret-file", "weak.secret", "--iss", "x"],
        None,
    )
    .expect(2);
    assert!(
        run.stderr.contains("--secret-file weak.secret") && run.stderr.contains("at least 32"),
        "{run:?}"
    );
    assert!(
        !run.stderr.contains("c2hvcnQ"),
        "the secret is never printed: {run:?}"
    );
    usage_error(
        dir.path(),
        &["verify", "x.y.z", "--secret-file", "weak.secret"],
        "at least 32",
    );

    fs::write(dir.path().join("bad.secret"), "not base64 !!\n").unwrap();
    usage_error(
        dir.path(),
        &["mint", "--secret-file", "bad.secret", "--iss", "x"],
        "base64url",
    );

    usage_error(
        dir.path(),
        &["mint", "--key", "missing.pem", "--iss", "x"],
        "--key missing.pem",
    );
    fs::write(
        dir.path().join("junk.pem"),
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    usage_error(
        dir.path(),
        &["mint", "--key", "junk.pem", "--iss", "x"],
        "--key junk.pem",
    );
    usage_error(
        dir.path(),
        &["verify", "x.y.z", "--key", "junk.pem", "--alg", "XS1"],
        "--alg",
    );

    tollgate(
        dir.path(),
        &["keygen", "--alg", "ES384", "--kid", "e"],
        None,
    )
    .expect(0);
    usage_error(
        dir.path(),
        &["mint", "--key", "e.pub.pem", "--iss", "x"],
        "public key cannot sign",
    );
    usage_error(
        dir.path(),
        &["mint", "--key", "e.pem", "--alg", "ES256", "--iss", "x"],
        "--key e.pem",
    );
    usage_error(
        dir.path(),
        &["mint", "--key", "e.pem", "--alg", "HS256", "--iss", "x"],
        "--alg",
    );
    let run = tollgate(
        dir.path(),
        &["verify", "x.y.z", "--key", "e.pem", "--jwks", "jwks.json"],
        None,
    )
    .expect(2);
    assert!(
        run.stderr.contains("--jwks") || run.stderr.contains("--key"),
        "{run:?}"
    );
    usage_error(
        dir.path(),
        &["verify", "x.y.z", "--jwks", "e.pem"],
        "--jwks e.pem",
    );
}

#[test]
fn an_unreachable_jwks_url_is_exit_3_within_a_bounded_time() {
    let dir = TempDir::new().unwrap();
    // A port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("https://127.0.0.1:{port}/jwks.json");
    let started = Instant::now();
    let run = tollgate(dir.path(), &["verify", "a.b.c", "--jwks", &url], None).expect(3);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert!(run.stderr.starts_with("unavailable: --jwks"), "{run:?}");
    // Plain http is refused but to a loopback address, as the library refuses it.
    usage_error(
        dir.path(),
        &["verify", "a.b.c", "--jwks", "http://keys.example/jwks.json"],
        "--jwks",
    );
}

#[test]
fn completions_and_help() {
    let dir = TempDir::new().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let run = tollgate(dir.path(), &["completions", shell], None).expect(0);
        assert!(
            run.stdout.contains("keygen") && run.stdout.contains("--secret-file"),
            "{shell}"
        );
    }
    tollgate(dir.path(), &["completions", "tcsh"], None).expect(2);
    let help = tollgate(dir.path(), &["--help"], None).expect(0);
    assert!(help.stdout.contains("Exit status"));
    tollgate(dir.path(), &["frobnicate"], None).expect(2);
    // No command: the help, on stderr, and a usage status.
    let run = tollgate(dir.path(), &[], None);
    assert_eq!(run.status, 2);
    assert!(run.stderr.contains("Usage: tollgate"), "{run:?}");
}
