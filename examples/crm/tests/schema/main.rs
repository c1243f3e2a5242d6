//! The compiled `crm` against its own OpenAPI document: schemathesis (the version pinned in
//! `requirements.txt` beside this file) generates requests from `GET /api/openapi.json`, as an
//! organization admin with a bearer token, and follows the document's links (create a
//! customer, then read, change and delete it). Any finding fails the test: a 5xx, a status,
//! content type, header or body the document does not describe, an undocumented method that
//! is not a 405, a protected route that answers without its token, a deleted resource still
//! there. The operations that can end the run's own session run last, one pass each with a
//! fresh token (see [`SESSION_ENDERS`]).
//!
//! Outside CI the test is skipped, loudly, when schemathesis is not installed
//! (`pip install -r examples/crm/tests/schema/requirements.txt`); under `CI=true` it fails.
//! `SCHEMATHESIS` overrides the command.

#[path = "../support/mod.rs"]
mod support;

use std::{
    process::{Command, Stdio},
    time::Instant,
};

use serde_json::{Value, json};
use support::{
    in_ci,
    process::{self, temp_dir},
    random,
};

/// What schemathesis checks on every answer.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_headers_conformance,response_schema_conformance,\
                      unsupported_method,ignored_auth,use_after_free,ensure_resource_availability";

/// Test cases per operation and phase: enough to reach every answer of every route, few
/// enough for about a minute on two cores.
const MAX_EXAMPLES: &str = "50";

/// The seed of the generated data: the same run every time (another seed explores more).
const SEED: &str = "20260802";

/// The operations that can end the session of the token a run sends: logout, logout
/// everywhere, the browser logout (it revokes the access token sent with it), ending one of
/// one's own sessions (through the caller's or the admin's routes), and suspending oneself or
/// changing one's own roles (both allowed: the token is then cut off or stale). The run finds
/// its own user and sessions through the lists, so these run last, each in a pass of its own
/// with a fresh token, after the pass of every other operation.
const SESSION_ENDERS: [&str; 7] = [
    "logout",
    "logout_all",
    "browser_logout",
    "end_session",
    "end_user_session",
    "suspend_user",
    "set_roles",
];

/// The schemathesis command, or `None` when it is not installed.
fn schemathesis() -> Option<String> {
    let command = std::env::var("SCHEMATHESIS").unwrap_or_else(|_| "schemathesis".to_owned());
    let installed = Command::new(&command)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    installed.then_some(command)
}

/// The compiled `crm` with its own SQLite file in `dir`, removed on drop.
struct Crm {
    server: process::Crm,
    dir: std::path::PathBuf,
}

impl Crm {
    async fn start() -> Self {
        let dir = temp_dir();
        let database = format!("sqlite://{}?mode=rwc", dir.join("crm.db").display());
        // Every request of the run comes from one IP and one account.
        let server =
            process::Crm::start(&["--database-url", &database, "--login-rate", "1000000/s"]).await;
        Self { server, dir }
    }

    /// Register a new organization admin: its access token.
    async fn admin_token(&self) -> String {
        let name = format!("schema-{}", random());
        let answer: Value = reqwest::Client::new()
            .post(format!("{}/api/auth/register", self.server.base))
            .json(&json!({
                "username": name,
                "email": format!("{name}@example.com"),
                "password": "correct horse battery",
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["access"]
            .as_str()
            .expect("an access token")
            .to_owned()
    }
}

impl Drop for Crm {
    fn drop(&mut self) {
        let _ = self.server.child.kill();
        let _ = self.server.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_answers_as_its_document_says() {
    let Some(schemathesis) = schemathesis() else {
        assert!(
            !in_ci(),
            "schemathesis is not installed: pip install -r examples/crm/tests/schema/requirements.txt"
        );
        eprintln!(
            "\n!!! SKIPPED: schemathesis is not installed \
             (pip install -r examples/crm/tests/schema/requirements.txt)\n"
        );
        return;
    };
    let crm = Crm::start().await;
    let started = Instant::now();
    let mut everything_else = vec![];
    for operation in SESSION_ENDERS {
        everything_else.extend(["--exclude-operation-id", operation]);
    }
    let mut passes = vec![everything_else];
    passes.extend(
        SESSION_ENDERS
            .iter()
            // One operation has no links to follow: no stateful phase.
            .map(|operation| {
                vec![
                    "--include-operation-id",
                    operation,
                    "--phases",
                    "coverage,fuzzing",
                ]
            }),
    );
    for (pass, operations) in passes.iter().enumerate() {
        let token = crm.admin_token().await;
        let output = Command::new(&schemathesis)
            .arg("run")
            .arg(format!("{}/api/openapi.json", crm.server.base))
            .args(["--url", &crm.server.base])
            .args(["--checks", CHECKS])
            .args(["--max-examples", MAX_EXAMPLES])
            .args(["--seed", SEED])
            // One worker: with several, Hypothesis parses lambda sources from several
            // threads, which the CPython 3.11 parser does not survive (a `SystemError`).
            .args(["--workers", "1"])
            .args(["--request-timeout", "10"])
            .args(["--header", &format!("Authorization: Bearer {token}")])
            // The token is a secret: schemathesis masks it in its output.
            .args(["--output-sanitize", "true"])
            .args(operations)
            // Its cache (`.schemathesis/`) goes to the run's own folder, not the repository.
            .current_dir(&crm.dir)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "schemathesis found problems (pass {pass}, {operations:?}, {:?}):\n{stdout}\n{stderr}",
            output.status
        );
        let summary = stdout
            .lines()
            .filter(|line| line.contains("generated") || line.contains("Operations:"))
            .collect::<Vec<_>>()
            .join(";");
        eprintln!("schemathesis pass {pass} ({operations:?}): no finding: {summary}");
        if pass == 0 {
            eprintln!("{stdout}");
        }
    }
    eprintln!("schemathesis: no finding in {:.0?}", started.elapsed());
}
