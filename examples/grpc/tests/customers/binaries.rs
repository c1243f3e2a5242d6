//! The `grpc-server` and `grpc-client` executables: a real server process on 127.0.0.1, the
//! real client process calling it, and bad configuration exiting with one line.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Output, Stdio},
};

use jsonwebtoken::{EncodingKey, Header};

use crate::support::{KID, SECRET, claims, sign, sign_with};

const SERVER: &str = env!("CARGO_BIN_EXE_grpc-server");
const CLIENT: &str = env!("CARGO_BIN_EXE_grpc-client");

/// A `grpc-server` process of this test, killed on drop.
struct ServerProcess {
    child: Child,
    url: String,
}

impl ServerProcess {
    /// Start `grpc-server` on a free port with `args`; wait for its "listening" line.
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(SERVER)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env_clear()
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut lines = stdout.lines();
        let address = loop {
            let line = lines
                .next()
                .expect("grpc-server exited before listening")
                .unwrap();
            if let Some(rest) = line.split_once("address=").map(|(_, rest)| rest) {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        // Keep draining the logs so that the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            url: format!("http://{address}"),
        }
    }

    fn client(&self, token: Option<&str>, command: &[&str]) -> Output {
        let mut client = Command::new(CLIENT);
        client.env_clear().args(["--server", &self.url]);
        if let Some(token) = token {
            client.env("GRPC_TOKEN", token);
        }
        client.args(command).output().unwrap()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

#[test]
fn client_and_server_processes_with_a_shared_secret() {
    let secret = std::str::from_utf8(SECRET).unwrap();
    let server = ServerProcess::start(&["--jwt-secret", secret, "--jwt-kid", KID]);

    let admin = sign(&claims("cli-admin", "acme", &["customer:*"]));
    let output = server.client(Some(&admin), &["list"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output).lines().count(), 5);
    assert!(stdout(&output).starts_with("1\tAda Lovelace\t"));

    let output = server.client(Some(&admin), &["get", "4"]);
    assert!(stdout(&output).contains("Katherine Johnson"));

    let output = server.client(Some(&admin), &["delete", "4"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "deleted customer 4\n");

    let output = server.client(Some(&admin), &["get", "4"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).starts_with("grpc-client: NotFound: "));

    let output = server.client(None, &["list"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).starts_with("grpc-client: Unauthenticated: "));

    let viewer = sign(&claims("cli-viewer", "acme", &["customer:read"]));
    let output = server.client(Some(&viewer), &["delete", "1"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).starts_with("grpc-client: PermissionDenied: "));
}

/// Given only the CRM's secret, the server expects the `kid` the CRM derives from it.
#[test]
fn server_process_expects_the_crm_kid_of_the_secret() {
    let secret = std::str::from_utf8(SECRET).unwrap();
    let server = ServerProcess::start(&["--jwt-secret", secret]);
    let claims = claims("crm-kid", "acme", &["customer:read"]);

    let crm_token = sign_with(&claims, "at+jwt", &crm_kid(SECRET), SECRET);
    let output = server.client(Some(&crm_token), &["list"]);
    assert!(output.status.success(), "{}", stderr(&output));

    let other_kid = sign_with(&claims, "at+jwt", "hs256-something", SECRET);
    let output = server.client(Some(&other_kid), &["list"]);
    assert!(stderr(&output).starts_with("grpc-client: Unauthenticated: "));
}

/// The real CRM (in-process, on SQLite) mints the tokens: its access token works on the
/// server process given the same secret, with the CRM's permissions; its refresh token does
/// not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_minted_by_the_crm_are_accepted_with_the_shared_secret() {
    let secret = "a crm secret shared with the grpc server";
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("grpc-crm-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let database = format!("sqlite://{}?mode=rwc", dir.join("crm.db").display());
    let config =
        crm::Config::from_args(["crm", "--database-url", &database, "--jwt-secret", secret])
            .unwrap();
    let state = crm::AppState::build(&config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let crm = tokio::spawn(crm::serve(
        listener,
        crm::app(state),
        config.server,
        crm::HttpMetrics::NotRecorded,
        async {
            let _ = stopped.await;
        },
    ));

    let registered: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/api/auth/register"))
        .json(&serde_json::json!({
            "username": "ada", "email": "ada@example.com", "password": "correct horse battery",
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = registered["access"].as_str().unwrap().to_owned();
    let refresh = registered["refresh"].as_str().unwrap().to_owned();

    // Given only the secret, the server derives the CRM's `kid` for it.
    let output = tokio::task::spawn_blocking(move || {
        let server = ServerProcess::start(&["--jwt-secret", secret]);
        (
            server.client(Some(&access), &["list"]),
            server.client(Some(&access), &["delete", "2"]),
            server.client(Some(&refresh), &["list"]),
        )
    })
    .await
    .unwrap();
    let (list, delete, with_refresh) = output;
    assert!(list.status.success(), "{}", stderr(&list));
    assert_eq!(stdout(&list).lines().count(), 5);
    // The CRM made ada the admin of her organization: `*:*`, so delete is allowed too.
    assert!(delete.status.success(), "{}", stderr(&delete));
    assert_eq!(with_refresh.status.code(), Some(1));
    assert!(stderr(&with_refresh).starts_with("grpc-client: Unauthenticated: "));

    let _ = stop.send(());
    crm.await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The CRM's derivation (examples/crm/src/keys.rs), written out independently.
fn crm_kid(secret: &[u8]) -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret);
    format!("hs256-{}", &URL_SAFE_NO_PAD.encode(digest.as_ref())[..12])
}

#[test]
fn server_process_with_a_pem_public_key() {
    let fixtures =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crates/tollgate/tests/fixtures");
    let public = fixtures.join("ed25519.pub.pem");
    let server = ServerProcess::start(&["--jwt-public-key", public.to_str().unwrap()]);

    let private = std::fs::read(fixtures.join("ed25519.pem")).unwrap();
    let mut header = Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.typ = Some("at+jwt".to_owned());
    let token = jsonwebtoken::encode(
        &header,
        &claims("pem", "acme", &["customer:read"]),
        &EncodingKey::from_ed_pem(&private).unwrap(),
    )
    .unwrap();
    let output = server.client(Some(&token), &["list"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output).lines().count(), 5);

    // An HS256 token is refused: the server trusts the Ed25519 key only.
    let output = server.client(
        Some(&sign(&claims("hs", "acme", &["customer:read"]))),
        &["list"],
    );
    assert!(stderr(&output).starts_with("grpc-client: Unauthenticated: "));
}

/// Run the server to its end with `base` and `args`, and no environment.
fn server_with(base: &[&str], args: &[&str]) -> std::process::Output {
    Command::new(SERVER)
        .args(base)
        .args(args)
        .env_clear()
        .output()
        .unwrap()
}

/// Bad configuration exits non-zero with one line naming the problem.
#[test]
fn bad_configuration_exits_with_one_line() {
    let cases: [(&[&str], &str); 4] = [
        (
            &["--jwt-secret", "too short"],
            "HS256 secret is 9 bytes, at least 32 are required",
        ),
        (
            &["--jwt-public-key", "/nonexistent/key.pem"],
            "cannot read /nonexistent/key.pem",
        ),
        (
            &[
                "--jwt-secret",
                "a test secret of at least thirty-two bytes",
                "--redis-url",
                "redis://127.0.0.1:1/",
            ],
            "redis unreachable",
        ),
        (
            &["--jwks-url", "http://idp.example.com/jwks.json"],
            "invalid URL",
        ),
    ];
    for (args, expected) in cases {
        let output = server_with(&["--listen", "127.0.0.1:0"], args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let stderr = stderr(&output);
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("grpc-server: ")
                && stderr.to_lowercase().contains(&expected.to_lowercase()),
            "{args:?}: {stderr}"
        );
    }
    // What the flag parser refuses: status 2, the flag named.
    for (args, flag) in [
        (&["--leeway", "30parsecs"][..], "--leeway"),
        (
            &["--revocation-failure", "maybe"][..],
            "--revocation-failure",
        ),
        (&["--no-such-flag"][..], "--no-such-flag"),
    ] {
        let output = server_with(
            &["--jwt-secret", "a test secret of at least thirty-two bytes"],
            args,
        );
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = stderr(&output);
        assert!(
            stderr.starts_with("error: ") && stderr.contains(flag),
            "{args:?}: {stderr}"
        );
    }
}
