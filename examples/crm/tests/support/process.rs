//! The compiled `crm` run to its end: a temporary database or working folder, a free port,
//! the one line a refused start prints, and the log of a start; and [`Crm`], the compiled
//! `crm` serving until it is dropped.

use std::{
    fs::File,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Output, Stdio},
    time::{Duration, Instant},
};

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

/// A new empty folder for one run (remove it at the end of the test).
pub fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("crm-process-test-{}", super::random()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The names of the entries of `dir`, sorted.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The compiled `crm` started in `dir` (its working folder, where the default database
/// `crm.db` goes) with `args` and `envs` (and no other `CRM_*` variable), its output in files
/// outside `dir`. On a free port unless `args` has `--listen`.
fn spawn_in(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> (Child, PathBuf) {
    let logs = temp_dir();
    let mut command = Command::new(env!("CARGO_BIN_EXE_crm"));
    command.current_dir(dir);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("CRM_") {
            command.env_remove(name);
        }
    }
    if !args.contains(&"--listen") {
        command.args(["--listen", "127.0.0.1:0"]);
    }
    let child = command
        .args(args)
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(File::create(logs.join("stdout")).unwrap())
        .stderr(File::create(logs.join("stderr")).unwrap())
        .spawn()
        .unwrap();
    (child, logs)
}

/// Wait for `child` at most `limit`; kill it past that.
fn wait_at_most(child: &mut Child, limit: Duration) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            return child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn read_output(status: ExitStatus, logs: &Path) -> Output {
    let output = Output {
        status,
        stdout: std::fs::read(logs.join("stdout")).unwrap_or_default(),
        stderr: std::fs::read(logs.join("stderr")).unwrap_or_default(),
    };
    let _ = std::fs::remove_dir_all(logs);
    output
}

/// Run `crm` in `dir` (see [`spawn_in`]) to its end; a run that does not end within 30 s
/// (a start that should have failed) is killed.
pub fn run_in(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let (mut child, logs) = spawn_in(dir, args, envs);
    let status = wait_at_most(&mut child, Duration::from_secs(30));
    read_output(status, &logs)
}

/// Start `crm` in `dir` (see [`spawn_in`]), wait until it listens, stop it with SIGTERM, and
/// return its log (stderr). Panics when it does not start.
pub fn start_and_stop(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> String {
    let (mut child, logs) = spawn_in(dir, args, envs);
    let started = Instant::now();
    let listening = loop {
        let log = std::fs::read_to_string(logs.join("stderr")).unwrap_or_default();
        if log.contains("listening") {
            break true;
        }
        if child.try_wait().unwrap().is_some() || started.elapsed() > Duration::from_secs(30) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if listening {
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
    }
    let status = wait_at_most(&mut child, Duration::from_secs(20));
    let output = read_output(status, &logs);
    let log = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(listening, "crm did not start ({status:?}):\n{log}");
    assert!(
        status.success(),
        "crm did not stop cleanly ({status:?}):\n{log}"
    );
    log
}

/// A port that was free a moment ago (bound to 127.0.0.1:0, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The compiled `crm` serving on a free port, killed on drop. Its log is `CRM_LOG=warn` on
/// the test's stderr ([`Crm::start`]), or in a file ([`Crm::start_logged`]).
pub struct Crm {
    /// The process.
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The folder of the log file, when the log is kept.
    logs: Option<PathBuf>,
}

impl Crm {
    /// Start it with `args` (any flag but `--listen`) and wait until `/health` answers 200.
    pub async fn start(args: &[&str]) -> Self {
        Self::spawn(args, None).await
    }

    /// Like [`start`](Self::start), with its log at `CRM_LOG=filter` (and no color) kept for
    /// [`log`](Self::log).
    pub async fn start_logged(args: &[&str], filter: &str) -> Self {
        Self::spawn(args, Some((temp_dir(), filter))).await
    }

    async fn spawn(args: &[&str], log: Option<(PathBuf, &str)>) -> Self {
        let port = free_port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_crm"));
        command
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        let logs = match log {
            Some((logs, filter)) => {
                command
                    .env("CRM_LOG", filter)
                    .env("NO_COLOR", "1")
                    .stderr(File::create(logs.join("stderr")).unwrap());
                Some(logs)
            }
            None => {
                command.env("CRM_LOG", "warn").stderr(Stdio::inherit());
                None
            }
        };
        let child = command.spawn().unwrap();
        let crm = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            logs,
        };
        let client = reqwest::Client::new();
        let health = format!("{}/health", crm.base);
        let ready = super::within(Duration::from_secs(30), || {
            let request = client.get(&health).send();
            async move { request.await.is_ok_and(|r| r.status() == 200) }
        })
        .await;
        assert!(
            ready.is_some(),
            "crm did not come up on port {port}:\n{}",
            crm.log()
        );
        crm
    }

    /// Its log so far (empty unless started with [`start_logged`](Self::start_logged)).
    pub fn log(&self) -> String {
        self.logs
            .as_ref()
            .and_then(|logs| std::fs::read_to_string(logs.join("stderr")).ok())
            .unwrap_or_default()
    }
}

impl Drop for Crm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(logs) = &self.logs {
            let _ = std::fs::remove_dir_all(logs);
        }
    }
}
