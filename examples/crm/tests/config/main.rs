//! Start-up of the compiled `crm`: bad configuration exits non-zero with one line naming the
//! flag (or `CRM_LOG`) and leaves no database file behind; a start on a database without a
//! superuser says how to make one; a start on PostgreSQL without Redis warns that
//! revocations are not shared.

#[path = "../support/mod.rs"]
mod support;

use std::{net::TcpListener, process::Command, time::Duration};

use support::process::{assert_one_line, entries, run, run_in, start_and_stop, temp_db, temp_dir};

#[test]
fn an_unparsable_duration_is_refused() {
    for flag in [
        "--access-ttl",
        "--refresh-ttl",
        "--remember-me-ttl",
        "--leeway",
    ] {
        let output = run(&[flag, "30 parsecs"]);
        assert_one_line(&output, flag);
    }
    assert_one_line(&run(&["--leeway", "1h"]), "--leeway");
    assert_one_line(&run(&["--access-ttl", "0s"]), "--access-ttl");
    let output = run(&["--access-ttl", "8d"]);
    assert_one_line(&output, "--access-ttl");
}

#[test]
fn a_bad_connection_limit_is_refused() {
    for (flag, bad) in [
        ("--header-read-timeout", "0s"),
        ("--request-timeout", "2h"),
        ("--shutdown-timeout", "forever"),
        ("--max-connections", "0"),
    ] {
        assert_one_line(&run(&[flag, bad]), flag);
    }
    // From the environment too, named by its flag.
    let (dir, url) = temp_db();
    let output = Command::new(env!("CARGO_BIN_EXE_crm"))
        .args(["--database-url", &url, "--listen", "127.0.0.1:0"])
        .env("CRM_MAX_CONNECTIONS", "lots")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(dir);
    assert_one_line(&output, "--max-connections");
}

#[test]
fn a_short_secret_is_refused_without_being_printed() {
    let output = run(&["--jwt-secret", "hunter2-is-short"]);
    let line = assert_one_line(&output, "--jwt-secret");
    assert!(!line.contains("hunter2"), "{line}");
    // From the environment too.
    let (dir, url) = temp_db();
    let output = Command::new(env!("CARGO_BIN_EXE_crm"))
        .args(["--database-url", &url])
        .env("CRM_JWT_SECRET", "short")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(dir);
    assert_one_line(&output, "--jwt-secret");
}

#[test]
fn an_unreachable_redis_is_refused() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = std::time::Instant::now();
    let output = run(&["--redis-url", &format!("redis://:secret@127.0.0.1:{port}/")]);
    let line = assert_one_line(&output, "--redis-url");
    assert!(
        !line.contains("secret"),
        "the password is not printed: {line}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_one_line(&run(&["--redis-url", "not a url"]), "--redis-url");
}

#[test]
fn other_bad_values_name_their_flag() {
    assert_one_line(&run(&["--login-rate", "5/week"]), "--login-rate");
    assert_one_line(&run(&["--login-rate", "0/min"]), "--login-rate");
    assert_one_line(
        &run(&["--revocation-failure", "maybe"]),
        "--revocation-failure",
    );
    assert_one_line(&run(&["--listen", "localhost"]), "--listen");
    assert_one_line(&run(&["--issuer", ""]), "--issuer");
    assert_one_line(
        &run(&["--trusted-proxies", "10.0.0.0/8,lb.internal"]),
        "--trusted-proxies",
    );
    assert_one_line(&run(&["--drain-period", "2h"]), "--drain-period");
    assert_one_line(&run(&["--redis-prefix", "a b"]), "--redis-prefix");
    assert_one_line(
        &run(&[
            "--admin-email",
            "not-an-email",
            "--admin-password",
            "long enough",
        ]),
        "--admin-email",
    );
    assert_one_line(
        &run(&[
            "--admin-email",
            "root@example.com",
            "--admin-password",
            "short",
        ]),
        "--admin-password",
    );
    // One of a pair without the other: clap lists the missing flag on its second line.
    assert_one_line(
        &run(&["--admin-email", "root@example.com"]),
        "--admin-password",
    );
    assert_one_line(&run(&["--admin-password", "long enough"]), "--admin-email");
    assert_one_line(&run(&["--no-such-flag"]), "--no-such-flag");
    for url in [
        "mysql://localhost/crm",
        "sqlite:///nonexistent/dir/crm.db?mode=rwc",
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_crm"))
            .args(["--database-url", url, "--listen", "127.0.0.1:0"])
            .output()
            .unwrap();
        assert_one_line(&output, "--database-url");
    }
}

#[test]
fn help_and_version_exit_zero() {
    let output = Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--listen",
        "--database-url",
        "--redis-url",
        "--jwt-secret",
        "--jwt-private-key",
        "--access-ttl",
        "--refresh-ttl",
        "--remember-me-ttl",
        "--leeway",
        "--issuer",
        "--audience",
        "--admin-email",
        "--admin-password",
        "--login-rate",
        "--revocation-failure",
        "--redis-prefix",
        "--trusted-proxies",
        "--drain-period",
        "CRM_LISTEN",
        "CRM_TRUSTED_PROXIES",
        "CRM_DRAIN_PERIOD",
        "CRM_REVOCATION_FAILURE",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
    let output = Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(output.status.success());
}

#[test]
fn an_invalid_crm_log_is_refused() {
    let dir = temp_dir();
    for filter in ["info,tollgate=loud", "crm=verbose"] {
        let output = run_in(&dir, &[], &[("CRM_LOG", filter)]);
        let line = assert_one_line(&output, "CRM_LOG");
        assert!(line.contains(filter), "{line}");
        assert_eq!(output.status.code(), Some(2), "{line}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_failed_start_leaves_no_database_file() {
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = busy.local_addr().unwrap().to_string();
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = format!("redis://127.0.0.1:{closed}/");
    let not_a_key = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    // What fails, the arguments, the environment.
    type Case<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, &'a str)]);
    let cases: [Case<'_>; 6] = [
        ("a bad flag", &["--login-rate", "5/week"], &[]),
        ("a bad CRM_LOG", &[], &[("CRM_LOG", "info,crm=loud")]),
        ("a port in use", &["--listen", &busy], &[]),
        (
            "a missing key file",
            &["--jwt-private-key", "/nonexistent/key.pem"],
            &[],
        ),
        (
            "a file that is not a key",
            &["--jwt-private-key", not_a_key],
            &[],
        ),
        ("an unreachable Redis", &["--redis-url", &unreachable], &[]),
    ];
    for (case, args, envs) in cases {
        // The default database: `crm.db` in the working folder.
        let dir = temp_dir();
        let output = run_in(&dir, args, envs);
        assert!(!output.status.success(), "{case}: started");
        assert_eq!(
            entries(&dir),
            Vec::<String>::new(),
            "{case}: files left behind; stderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn a_failed_start_keeps_an_existing_database() {
    let dir = temp_dir();
    start_and_stop(&dir, &[], &[]);
    let size = std::fs::metadata(dir.join("crm.db")).unwrap().len();
    assert!(size > 0);
    let output = run_in(&dir, &["--jwt-private-key", "/nonexistent/key.pem"], &[]);
    assert_one_line(&output, "--jwt-private-key");
    assert!(
        dir.join("crm.db").exists(),
        "the failed start removed the database"
    );
    // And it still serves (the generated secret and the tables are there).
    start_and_stop(&dir, &[], &[]);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_start_without_a_superuser_says_how_to_make_one() {
    let dir = temp_dir();
    let hints = |log: &str| -> Vec<String> {
        log.lines()
            .filter(|line| line.contains("superuser") && line.contains("--admin-email"))
            .map(str::to_owned)
            .collect()
    };
    // A first start: one hint, at info level, naming the flags and their variables.
    let log = start_and_stop(&dir, &[], &[]);
    let first = hints(&log);
    assert_eq!(first.len(), 1, "{log}");
    for word in [
        "INFO",
        "--admin-password",
        "CRM_ADMIN_EMAIL",
        "CRM_ADMIN_PASSWORD",
    ] {
        assert!(first[0].contains(word), "{word} not in: {}", first[0]);
    }
    // A start that makes the superuser does not give the hint, nor do the starts after it.
    let log = start_and_stop(
        &dir,
        &[
            "--admin-email",
            "root@example.com",
            "--admin-password",
            "long enough",
        ],
        &[],
    );
    assert!(hints(&log).is_empty(), "{log}");
    let log = start_and_stop(&dir, &[], &[]);
    assert!(hints(&log).is_empty(), "{log}");
    let _ = std::fs::remove_dir_all(dir);
}

/// The start-up warning that revocations stay in the process.
fn not_shared(log: &str) -> Vec<String> {
    log.lines()
        .filter(|line| line.contains("revocations are kept in this process"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn a_start_on_postgresql_without_redis_warns_that_revocations_are_not_shared() {
    let Some(db) = support::Database::postgres().await else {
        return;
    };
    let dir = temp_dir();
    let log = start_and_stop(&dir, &["--database-url", &db.url()], &[]);
    let lines = not_shared(&log);
    assert_eq!(lines.len(), 1, "{log}");
    for word in ["WARN", "PostgreSQL", "--redis-url"] {
        assert!(lines[0].contains(word), "{word} not in: {}", lines[0]);
    }

    // With Redis the revocations are shared: no warning.
    if let Some(redis) = support::Redis::get() {
        let log = start_and_stop(
            &dir,
            &["--database-url", &db.url(), "--redis-url", &redis.url()],
            &[],
        );
        assert!(not_shared(&log).is_empty(), "{log}");
    }
    let _ = std::fs::remove_dir_all(dir);
}
