//! The compiled `crm` run to its end: a temporary database, a free port, and the one line
//! a refused start prints.

use std::process::{Command, Output, Stdio};

pub fn temp_db() -> (std::path::PathBuf, String) {
    let dir = std::env::temp_dir().join(format!(
        "crm-config-test-{}-{:?}",
        std::process::id(),
        std::time::Instant::now()
    ));
    let dir = std::path::PathBuf::from(dir.to_string_lossy().replace(
        |c: char| !c.is_ascii_alphanumeric() && c != '/' && c != '-',
        "-",
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("crm.db").display());
    (dir, url)
}

pub fn run(args: &[&str]) -> Output {
    let (dir, url) = temp_db();
    let mut command = Command::new(env!("CARGO_BIN_EXE_crm"));
    command.args(["--database-url", &url]);
    // The server binds before it checks the rest: a free port each, so that parallel tests
    // (and a crm running on 8080) never meet on the default address.
    if !args.contains(&"--listen") {
        command.args(["--listen", "127.0.0.1:0"]);
    }
    let output = command
        .args(args)
        .env_remove("CRM_JWT_SECRET")
        .env_remove("CRM_REDIS_URL")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(dir);
    output
}

/// The process failed, and printed exactly one line on stderr that names `flag`.
#[track_caller]
pub fn assert_one_line(output: &Output, flag: &str) -> String {
    assert!(!output.status.success(), "exited with {:?}", output.status);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "expected one line, got:\n{stderr}");
    assert!(
        lines[0].contains(flag),
        "`{flag}` not named in: {}",
        lines[0]
    );
    lines[0].to_owned()
}
