//! A load generator that sends an exact number of requests, for counting a server's
//! instructions per request (`benches/http/instructions.sh`): `GET /customer` over keep-alive
//! HTTP/1.1 connections on loopback, a fixed number of them, each with one request in flight
//! at a time (no pipelining), until the given total is sent.
//!
//! Run with `bench-load <host:port> <requests> <connections> [token]`: with a token, each
//! request carries `Authorization: Bearer <token>`. Every answer must be `200 OK` with a
//! `Content-Length` body; the run fails (exit status 1) at the first that is not, and prints
//! what it sent and the body sizes it received on standard error.

use std::{
    io::{Read, Write},
    net::TcpStream,
    process::ExitCode,
    sync::atomic::{AtomicU64, Ordering},
    thread,
    time::Instant,
};

/// What one connection received: answers and the smallest and largest body.
#[derive(Clone, Copy)]
struct Received {
    answers: u64,
    min_body: usize,
    max_body: usize,
}

impl Received {
    const NONE: Self = Self {
        answers: 0,
        min_body: usize::MAX,
        max_body: 0,
    };

    fn add(self, other: Self) -> Self {
        Self {
            answers: self.answers + other.answers,
            min_body: self.min_body.min(other.min_body),
            max_body: self.max_body.max(other.max_body),
        }
    }
}

/// Send requests on one connection while the shared count allows, reading each answer.
fn connection(
    address: &str,
    request: &[u8],
    sent: &AtomicU64,
    total: u64,
) -> Result<Received, String> {
    let mut stream = TcpStream::connect(address).map_err(|e| format!("connect {address}: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut received = Received::NONE;
    let mut buffer = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    while sent.fetch_add(1, Ordering::Relaxed) < total {
        stream
            .write_all(request)
            .map_err(|e| format!("write: {e}"))?;
        // Read until the head is complete and the whole body is in the buffer.
        let length = loop {
            let mut headers = [httparse::EMPTY_HEADER; 16];
            let mut response = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(head) = response
                .parse(&buffer)
                .map_err(|e| format!("bad answer: {e}"))?
            {
                if response.code != Some(200) {
                    return Err(format!("answered {:?}, not 200", response.code));
                }
                let body = response
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                    .and_then(|h| std::str::from_utf8(h.value).ok())
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .ok_or("an answer without a Content-Length")?;
                if buffer.len() >= head + body {
                    received.min_body = received.min_body.min(body);
                    received.max_body = received.max_body.max(body);
                    break head + body;
                }
            }
            let n = stream.read(&mut chunk).map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err("the server closed the connection".into());
            }
            buffer.extend_from_slice(&chunk[..n]);
        };
        buffer.drain(..length);
        if !buffer.is_empty() {
            return Err("bytes after the answer to a request not yet sent".into());
        }
        received.answers += 1;
    }
    Ok(received)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(address), Some(Ok(total)), Some(Ok(connections))) = (
        args.first(),
        args.get(1).map(|n| n.parse::<u64>()),
        args.get(2).map(|n| n.parse::<usize>()),
    ) else {
        eprintln!("usage: bench-load <host:port> <requests> <connections> [token]");
        return ExitCode::from(2);
    };
    let authorization = args
        .get(3)
        .map(|token| format!("Authorization: Bearer {token}\r\n"))
        .unwrap_or_default();
    let request = format!("GET /customer HTTP/1.1\r\nHost: {address}\r\n{authorization}\r\n");
    let sent = AtomicU64::new(0);
    let start = Instant::now();
    let results: Vec<Result<Received, String>> = thread::scope(|scope| {
        let handles: Vec<_> = (0..connections.max(1))
            .map(|_| scope.spawn(|| connection(address, request.as_bytes(), &sent, total)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a connection thread panicked".into()))
            })
            .collect()
    });
    let mut received = Received::NONE;
    for result in results {
        match result {
            Ok(r) => received = received.add(r),
            Err(error) => {
                eprintln!("bench-load: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    eprintln!(
        "bench-load: {} answers 200 over {} connection(s) in {:.2} s, bodies of {}..{} bytes",
        received.answers,
        connections.max(1),
        start.elapsed().as_secs_f64(),
        received.min_body,
        received.max_body,
    );
    if received.answers == total {
        ExitCode::SUCCESS
    } else {
        eprintln!("bench-load: {} answers, {total} expected", received.answers);
        ExitCode::FAILURE
    }
}
