//! Running the built `tollgate` binary, and finding a Redis for it.

#![allow(dead_code, unreachable_pub)]

use std::{
    hash::{BuildHasher as _, RandomState},
    io::{self, Read as _, Write as _},
    net::{TcpListener, TcpStream},
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// What one run of `tollgate` gave.
#[derive(Debug)]
pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout parsed as one JSON value.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|error| panic!("stdout is not JSON ({error}): {self:?}"))
    }

    /// Assert the exit status and, for a failure, that stderr is one line.
    #[track_caller]
    pub fn expect(self, status: i32) -> Self {
        assert_eq!(self.status, status, "{self:?}");
        if status != 0 {
            assert_eq!(
                self.stderr.lines().count(),
                1,
                "one line on stderr: {self:?}"
            );
        }
        self
    }
}

/// Run `tollgate args` in `dir`, with `stdin` (empty when `None`).
pub fn tollgate(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default()).unwrap();
    drop(input);
    let output = child.wait_with_output().unwrap();
    Run {
        status: output.status.code().unwrap(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// `tollgate args` in `dir` (empty stdin) is a usage error: exit 2, one line on stderr, and
/// that line contains `needle`.
#[track_caller]
pub fn usage_error(dir: &Path, args: &[&str], needle: &str) -> Run {
    let run = tollgate(dir, args, None).expect(2);
    assert!(
        run.stderr.contains(needle),
        "`{needle}` not on stderr: {run:?}"
    );
    run
}

/// A `redis-server` of this test on a free port, killed on drop.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    child: Child,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Redis a test runs against: `TOLLGATE_TEST_REDIS_URL`, else a private server.
#[derive(Debug)]
pub enum Redis {
    /// The server `TOLLGATE_TEST_REDIS_URL` names.
    External(String),
    /// A private server.
    Private(RedisServer),
}

impl Redis {
    /// Its URL.
    pub fn url(&self) -> String {
        match self {
            Self::External(url) => url.clone(),
            Self::Private(server) => format!("redis://127.0.0.1:{}/", server.port),
        }
    }
}

/// The Redis for a test, or `None` (the test returns, loudly) when there is none outside CI.
///
/// # Panics
///
/// Under `CI=true` when no Redis is available: CI runs every test.
pub fn redis() -> Option<Redis> {
    if let Ok(url) = std::env::var("TOLLGATE_TEST_REDIS_URL")
        && !url.is_empty()
    {
        return Some(Redis::External(url));
    }
    match start_redis() {
        Ok(server) => Some(Redis::Private(server)),
        Err(error) => {
            let message = format!(
                "no Redis to test against (TOLLGATE_TEST_REDIS_URL is unset and redis-server \
                 could not be started: {error})"
            );
            assert!(
                !std::env::var("CI").is_ok_and(|ci| ci == "true"),
                "{message}"
            );
            eprintln!("\n!!! SKIPPED: {message}\n");
            None
        }
    }
}

fn start_redis() -> io::Result<RedisServer> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let mut server = RedisServer { port, child };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !answers_ping(port) {
        if server.child.try_wait()?.is_some() || Instant::now() > deadline {
            return Err(io::Error::other(format!(
                "redis-server on port {port} did not start"
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(server)
}

fn answers_ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut answer = [0_u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut answer).is_ok()
        && &answer == b"+PONG\r\n"
}

/// A key prefix no other test (or run) uses.
pub fn unique_prefix(test: &str) -> String {
    let random = RandomState::new().hash_one((test, std::process::id(), Instant::now()));
    format!("tollgate-cli-test:{test}:{random:016x}:")
}
