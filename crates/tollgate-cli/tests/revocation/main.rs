//! `revoke` and `check` against a real Redis, compared with a `RevocationLayer` on the same
//! store.

#[path = "../support/mod.rs"]
mod support;

use std::{
    convert::Infallible,
    fs,
    net::TcpListener,
    time::{Duration, Instant},
};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use http::{Request, Response, StatusCode, header::AUTHORIZATION};
use serde_json::Value;
use support::{tollgate, unique_prefix, usage_error};
use tempfile::TempDir;
use tollgate::{
    AuthError, AuthErrorKind, RevocationLayer, VerifyLayer,
    key::{Algorithm, Key},
    response::ResponseBody,
    revocation::{RevocationStatus, RevocationStore, TokenRef},
    verify::{TrustedIssuer, Verifier},
};
use tollgate_redis::{LocalCache, RedisRevocationStore, redis};
use tower::{ServiceBuilder, ServiceExt as _, service_fn};

/// A folder with an HS256 key `h`, and its verifier.
fn key() -> (TempDir, Verifier) {
    let dir = TempDir::new().unwrap();
    tollgate(
        dir.path(),
        &["keygen", "--alg", "HS256", "--kid", "h"],
        None,
    )
    .expect(0);
    let text = fs::read_to_string(dir.path().join("h.secret")).unwrap();
    let secret = URL_SAFE_NO_PAD.decode(text.trim()).unwrap();
    let key = Key::hmac(Algorithm::HS256, &secret).unwrap().with_kid("h");
    (dir, Verifier::new(TrustedIssuer::new("ops", key)))
}

/// Mint a token with `claims`: the token and its `--json` answer.
fn mint(dir: &TempDir, claims: &[&str]) -> (String, Value) {
    let mut args = vec![
        "mint",
        "--secret-file",
        "h.secret",
        "--iss",
        "ops",
        "--json",
    ];
    for claim in claims {
        args.extend(["--claim", claim]);
    }
    let answer = tollgate(dir.path(), &args, None).expect(0).json();
    (answer["token"].as_str().unwrap().to_owned(), answer)
}

/// What a service with `VerifyLayer` then `RevocationLayer` on `store` answers `token`:
/// `None` for 200, else the rejection's kind.
async fn layer_answer(
    verifier: &Verifier,
    store: &RedisRevocationStore,
    token: &str,
) -> Option<AuthErrorKind> {
    let service = ServiceBuilder::new()
        .layer(VerifyLayer::new(verifier.clone()))
        .layer(RevocationLayer::new(store.clone()))
        .service(service_fn(|_: Request<String>| async {
            Ok::<_, Infallible>(Response::new(ResponseBody::inner(String::new())))
        }));
    let request = Request::get("/")
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .body(String::new())
        .unwrap();
    let response = service.oneshot(request).await.unwrap();
    if response.status() == StatusCode::OK {
        return None;
    }
    Some(response.extensions().get::<AuthError>().unwrap().kind())
}

/// Delete the keys a test wrote under `prefix` (they would expire on their own, a cut-off
/// only after 30 days).
fn forget(url: &str, prefix: &str) {
    let mut connection = redis::Client::open(url).unwrap().get_connection().unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query(&mut connection)
        .unwrap();
    if !keys.is_empty() {
        redis::cmd("DEL").arg(keys).exec(&mut connection).unwrap();
    }
}

/// `tollgate check`'s answer: the status word and the exit status.
fn check(dir: &TempDir, url: &str, prefix: &str, token: &str) -> (String, i32) {
    let run = tollgate(
        dir.path(),
        &["check", "--redis-url", url, "--prefix", prefix, "--json"],
        Some(token.as_bytes()),
    );
    let status = run.status;
    let run = run.expect(status);
    (run.json()["status"].as_str().unwrap().to_owned(), status)
}

#[tokio::test(flavor = "multi_thread")]
async fn each_revocation_is_what_the_revocation_layer_enforces() {
    let Some(redis) = support::redis() else {
        return;
    };
    let url = redis.url();
    let prefix = unique_prefix("kinds");
    let (dir, verifier) = key();
    let store = RedisRevocationStore::builder(redis::Client::open(url.as_str()).unwrap())
        .prefix(prefix.as_str())
        .unwrap()
        .build()
        .unwrap();

    let (by_jti, by_jti_claims) = mint(&dir, &["sub=a"]);
    let (by_sid, by_sid_claims) = mint(&dir, &["sub=b", "sid=s-b"]);
    let (by_sub, _) = mint(&dir, &["sub=c", "sid=s-c"]);
    let (by_ver, _) = mint(&dir, &["sub=d", "ver=1"]);
    let (untouched, _) = mint(&dir, &["sub=e", "sid=s-e", "ver=5"]);
    let all = [&by_jti, &by_sid, &by_sub, &by_ver, &untouched];
    for token in all {
        assert_eq!(check(&dir, &url, &prefix, token), ("active".to_owned(), 0));
        assert_eq!(layer_answer(&verifier, &store, token).await, None);
    }

    let jti = by_jti_claims["jti"].as_str().unwrap();
    let exp = by_jti_claims["exp"].to_string();
    let sid_exp = by_sid_claims["exp"].to_string();
    let revoke = |args: &[&str]| {
        let mut all = vec!["revoke", "--redis-url", &url, "--prefix", &prefix];
        all.extend_from_slice(args);
        tollgate(dir.path(), &all, None).expect(0)
    };
    let run = revoke(&["token", jti, "--until", &exp]);
    assert!(
        run.stdout.contains(&format!("token `{jti}` revoked")),
        "{run:?}"
    );
    revoke(&["session", "s-b", "--until", &sid_exp]);
    let run = revoke(&["subject", "c", "--json"]);
    assert_eq!(run.json()["revoked"], "subject");
    revoke(&["version", "d", "2"]);
    // A base64url id may start with `-`: it is an id, not a flag.
    let run = revoke(&["token", "-s-leading-hyphen", "--until", &exp]);
    assert!(
        run.stdout.contains("token `-s-leading-hyphen` revoked"),
        "{run:?}"
    );
    revoke(&["subject", "-u", "--at", &exp, "--until", &exp]);

    let expected = [
        (&by_jti, "revoked", AuthErrorKind::Revoked),
        (&by_sid, "session_ended", AuthErrorKind::SessionEnded),
        (&by_sub, "cut_off", AuthErrorKind::CutOff),
        (&by_ver, "stale", AuthErrorKind::StaleClaims),
    ];
    for (token, word, kind) in expected {
        assert_eq!(check(&dir, &url, &prefix, token), (word.to_owned(), 1));
        assert_eq!(
            layer_answer(&verifier, &store, token).await,
            Some(kind),
            "{word}"
        );
    }
    assert_eq!(
        check(&dir, &url, &prefix, &untouched),
        ("active".to_owned(), 0)
    );
    assert_eq!(layer_answer(&verifier, &store, &untouched).await, None);

    // Another prefix is another set of services: nothing was revoked there.
    let other = unique_prefix("other");
    assert_eq!(check(&dir, &url, &other, &by_jti), ("active".to_owned(), 0));
    forget(&url, &prefix);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revocation_reaches_a_store_with_a_local_cache_through_its_messages() {
    let Some(redis) = support::redis() else {
        return;
    };
    let url = redis.url();
    let prefix = unique_prefix("cache");
    let (dir, _) = key();
    // A cache that would keep a stale answer for a minute if no message arrived.
    let cache = LocalCache::new()
        .time_to_live(Duration::from_secs(60))
        .unwrap();
    let store = RedisRevocationStore::builder(redis::Client::open(url.as_str()).unwrap())
        .prefix(prefix.as_str())
        .unwrap()
        .local_cache(cache)
        .build()
        .unwrap();
    let started = Instant::now();
    while !store.is_subscribed() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "not subscribed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (_, claims) = mint(&dir, &["sub=u"]);
    let jti = claims["jti"].as_str().unwrap();
    let exp = claims["exp"].as_i64().unwrap();
    let token = TokenRef::new(jti, exp).subject("u");
    // Cached as active.
    assert_eq!(store.check(&token).await.unwrap(), RevocationStatus::Active);
    assert_eq!(
        store.check_now(&token).map(Result::unwrap),
        Some(RevocationStatus::Active)
    );

    tollgate(
        dir.path(),
        &[
            "revoke",
            "--redis-url",
            &url,
            "--prefix",
            &prefix,
            "subject",
            "u",
        ],
        None,
    )
    .expect(0);
    // The write's message drops the cached answer, long before the cache's time to live.
    let started = Instant::now();
    loop {
        if store.check(&token).await.unwrap() == RevocationStatus::CutOff {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the revocation did not arrive"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    forget(&url, &prefix);
}

#[test]
fn redis_down_is_exit_3_within_a_bounded_time() {
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
            "--sub",
            "u",
        ],
        None,
    )
    .expect(0)
    .stdout;
    // A port that was free a moment ago: nothing answers there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://:a-password@127.0.0.1:{port}/");
    let fast = ["--redis-url", url.as_str(), "--timeout", "500ms"];
    let commands: [Vec<&str>; 5] = [
        [
            &["revoke"],
            &fast[..],
            &["token", "j", "--until", "4000000000"],
        ]
        .concat(),
        [
            &["revoke"],
            &fast[..],
            &["session", "s", "--until", "4000000000"],
        ]
        .concat(),
        [&["revoke"], &fast[..], &["subject", "u"]].concat(),
        // The default timeout (2 s).
        vec!["revoke", "--redis-url", &url, "version", "u", "3"],
        [&["check"], &fast[..], &[token.trim()]].concat(),
    ];
    for args in commands {
        let started = Instant::now();
        let run = tollgate(dir.path(), &args, None).expect(3);
        // Generous room over the timeouts for a loaded machine.
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{:?}",
            started.elapsed()
        );
        assert!(
            run.stderr.starts_with("unavailable: ") && run.stderr.contains("--redis-url"),
            "{run:?}"
        );
        assert!(!run.stderr.contains("a-password"), "{run:?}");
    }
}

#[test]
fn bad_revocation_arguments_are_usage_errors() {
    let dir = TempDir::new().unwrap();
    let url = "redis://127.0.0.1:1/";
    let cases: [(&[&str], &str); 7] = [
        (
            &["revoke", "--redis-url", "http://x", "subject", "u"],
            "--redis-url",
        ),
        (
            &[
                "revoke",
                "--redis-url",
                "redis://:pw-secret@[bad",
                "subject",
                "u",
            ],
            "--redis-url",
        ),
        (
            &["revoke", "--redis-url", url, "--prefix", "", "subject", "u"],
            "--prefix",
        ),
        (
            &[
                "revoke",
                "--redis-url",
                url,
                "token",
                "j",
                "--until",
                "tomorrow",
            ],
            "--until",
        ),
        (
            &[
                "revoke",
                "--redis-url",
                url,
                "token",
                "j",
                "--until",
                "1000",
            ],
            "--until",
        ),
        (&["revoke", "--redis-url", url, "token", "j"], "--until"),
        (
            &["revoke", "--redis-url", url, "version", "u", "x"],
            "VERSION",
        ),
    ];
    for (args, named) in cases {
        let run = tollgate(dir.path(), args, None).expect(2);
        assert!(run.stderr.contains(named), "{args:?}: {run:?}");
        assert!(!run.stderr.contains("pw-secret"), "{run:?}");
    }
    usage_error(
        dir.path(),
        &["revoke", "--redis-url", url, "subject", ""],
        "SUB",
    );
    // check reads the token before it asks Redis: garbage is a usage error.
    let run = tollgate(dir.path(), &["check", "--redis-url", url], Some(b"garbage")).expect(2);
    assert!(run.stderr.contains("malformed"), "{run:?}");
    // A token without jti or exp: refused before any store is asked, as the layer does.
    // {"alg":"HS256"} . {"sub":"u"} . x
    let run = tollgate(
        dir.path(),
        &[
            "check",
            "--redis-url",
            url,
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.eA",
        ],
        None,
    )
    .expect(1);
    assert!(run.stderr.contains("missing_jti"), "{run:?}");
}
