//! The operations surface of the compiled `crm`, over loopback:
//!
//! - `/metrics` on the `--metrics-listen` listener, scraped over HTTP and parsed as the
//!   Prometheus text format: `http_requests_total` by method, route template and status,
//!   the `http_request_duration_seconds` histogram and its buckets, random paths counted as
//!   `route="unmatched"`; and no second listener without the flag;
//! - request ids: a sane `x-request-id` echoed, a hostile one (too long, control or
//!   non-ASCII bytes, several) replaced, a missing one made, on 2xx, 4xx and problem answers,
//!   the 413 of the body limit and the 408 of the request deadline included;
//! - the log: one line per request with its method, route, status, latency and id, the
//!   libraries' rejection lines under the request's id, and no token anywhere;
//! - the alert rules of docs/observability.md: `promtool check rules`, and `promtool test
//!   rules` with the cases of `alerts.test.yml` (`promtool` from Debian's `prometheus`; the
//!   test is skipped loudly without it, and fails under `CI=true`).

#[path = "../support/mod.rs"]
mod support;

use std::{collections::HashSet, time::Duration};

use prom_text_format_parser::{Metric, Sample, Scrape, Type, ValueType};
use reqwest::{
    Method,
    header::{HeaderMap, HeaderValue},
};
use serde_json::{Value, json};
use support::{
    Database, RedisServer, Resp, in_ci,
    process::{Crm, free_port},
    random, within,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// A route with a template, as the `route` label and the log show it.
const CUSTOMER_ROUTE: &str = "/api/customers/{id}";

/// A client of one `crm`.
struct Api {
    base: String,
    client: reqwest::Client,
}

impl Api {
    fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            client: reqwest::Client::new(),
        }
    }

    /// A request with `headers` (and a bearer token, a JSON body).
    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: HeaderMap,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .headers(headers);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Resp::read(request.send().await.unwrap()).await
    }

    async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.send(Method::GET, path, HeaderMap::new(), token, None)
            .await
    }

    /// `GET path` with `x-request-id: id`.
    async fn get_with_id(&self, path: &str, id: HeaderValue, token: Option<&str>) -> Resp {
        let mut headers = HeaderMap::new();
        headers.insert("x-request-id", id);
        self.send(Method::GET, path, headers, token, None).await
    }

    /// Register a new organization's admin; its access token.
    async fn register(&self) -> String {
        self.register_pair().await.0
    }

    /// Register a new organization's admin; its access and refresh tokens.
    async fn register_pair(&self) -> (String, String) {
        let username = format!("obs-{}", random());
        let answer = self
            .send(
                Method::POST,
                "/api/auth/register",
                HeaderMap::new(),
                None,
                Some(json!({"username": username, "email": format!("{username}@example.com"), "password": "correct horse battery"})),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        let token = |name: &str| answer.body[name].as_str().unwrap().to_owned();
        (token("access"), token("refresh"))
    }

    /// Create a customer; its id.
    async fn customer(&self, token: &str) -> String {
        let answer = self
            .send(
                Method::POST,
                "/api/customers",
                HeaderMap::new(),
                Some(token),
                Some(json!({"name": "Globex"})),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        answer.body["id"].as_str().unwrap().to_owned()
    }
}

/// The arguments of a `crm` on `db`.
fn args(db: &Database) -> Vec<String> {
    vec![
        "--database-url".to_owned(),
        db.url(),
        "--login-rate".to_owned(),
        "100000/min".to_owned(),
    ]
}

fn as_strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// The scrape of `url`, parsed; panics on an answer that is not the text format.
async fn scrape(url: &str) -> Scrape {
    let answer = reqwest::get(url).await.unwrap();
    assert_eq!(answer.status(), 200);
    let content_type = answer.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = answer.text().await.unwrap();
    Scrape::parse(&text).unwrap_or_else(|error| panic!("{error:?}\n{text}"))
}

/// The metric `name`, of type `kind`.
#[track_caller]
fn metric<'a>(scrape: &'a Scrape, name: &str, kind: Type) -> &'a Metric {
    let found = scrape
        .metrics
        .iter()
        .find(|metric| metric.name == name)
        .unwrap_or_else(|| panic!("no {name} in {scrape:#?}"));
    assert_eq!(found.kind, kind, "{name}");
    found
}

/// The value of `label` in `sample`.
fn label<'a>(sample: &'a Sample, label: &str) -> Option<&'a str> {
    sample
        .labels
        .iter()
        .find(|found| found.key == label)
        .map(|found| found.value.as_str())
}

/// The samples of `metric` of this type whose labels include all of `labels`.
fn samples<'a>(metric: &'a Metric, kind: ValueType, labels: &[(&str, &str)]) -> Vec<&'a Sample> {
    metric
        .samples
        .iter()
        .filter(|sample| {
            sample.value.value_type == kind
                && labels
                    .iter()
                    .all(|(name, value)| label(sample, name) == Some(*value))
        })
        .collect()
}

/// The value of the one sample of `metric` with exactly these labels.
#[track_caller]
fn value(metric: &Metric, labels: &[(&str, &str)]) -> f64 {
    let found = samples(metric, ValueType::Sample, labels);
    assert_eq!(found.len(), 1, "{} {labels:?}: {found:?}", metric.name);
    assert_eq!(found[0].labels.len(), labels.len(), "{:?}", found[0]);
    found[0].value.value.as_f64()
}

/// The listening TCP sockets the process `pid` holds.
fn listening_sockets(pid: u32) -> usize {
    let inodes: HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            Some(
                target
                    .strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .to_owned(),
            )
        })
        .collect();
    ["tcp", "tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).ok())
        .flat_map(|table| {
            table
                .lines()
                .skip(1)
                .map(|line| {
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    // `st` 0A is LISTEN; the inode is the tenth field.
                    fields.get(3) == Some(&"0A")
                        && fields.get(9).is_some_and(|inode| inodes.contains(*inode))
                })
                .collect::<Vec<bool>>()
        })
        .filter(|listening| *listening)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_scraped_in_the_prometheus_text_format() {
    let db = Database::sqlite();
    let metrics_port = free_port();
    let mut args = args(&db);
    args.extend([
        "--metrics-listen".to_owned(),
        format!("127.0.0.1:{metrics_port}"),
    ]);
    let crm = Crm::start(&as_strs(&args)).await;
    let metrics_url = format!("http://127.0.0.1:{metrics_port}/metrics");
    // The API listener and the metrics listener.
    assert_eq!(listening_sockets(crm.child.id()), 2);
    let api = Api::new(&crm.base);

    let token = api.register().await;
    let id = api.customer(&token).await;
    for _ in 0..2 {
        let found = api.get(&format!("/api/customers/{id}"), Some(&token)).await;
        assert_eq!(found.status, 200, "{}", found.text);
    }
    let missing = api
        .get("/api/customers/no-such-customer", Some(&token))
        .await;
    assert_eq!(missing.status, 404, "{}", missing.text);
    // A scan of random paths: one series, whatever the paths.
    let scanned: Vec<String> = (0..3).map(|_| format!("/scan/{}", random())).collect();
    for path in &scanned {
        assert_eq!(api.get(path, None).await.status, 404);
    }
    // The API has no /metrics: it is a path like any other there.
    assert_eq!(api.get("/metrics", None).await.status, 404);
    // A made-up method.
    let brewed = api
        .send(
            Method::from_bytes(b"BREW").unwrap(),
            "/health",
            HeaderMap::new(),
            None,
            None,
        )
        .await;
    assert_eq!(brewed.status, 405);

    // The libraries' events: a rotation, then the rotated refresh token presented again (reuse:
    // the session is ended), a token that does not verify, and a sensitive route's revocation
    // check.
    let (access, refresh) = api.register_pair().await;
    let post = |body: Value| {
        api.send(
            Method::POST,
            "/api/auth/token/refresh",
            HeaderMap::new(),
            None,
            Some(body),
        )
    };
    assert_eq!(post(json!({"refresh": refresh})).await.status, 200);
    let reused = post(json!({"refresh": refresh})).await;
    assert_eq!(reused.status, 401, "{}", reused.text);
    let bad = api.get("/api/customers", Some("not.a.token")).await;
    assert_eq!(bad.status, 401, "{}", bad.text);
    let logout = api
        .send(
            Method::POST,
            "/api/auth/logout",
            HeaderMap::new(),
            Some(&access),
            None,
        )
        .await;
    assert_eq!(logout.status, 401, "{}", logout.text);

    let scrape = scrape(&metrics_url).await;
    let decisions = metric(&scrape, "tollgate_decisions_total", Type::Counter);
    assert!(value(decisions, &[("layer", "verify"), ("outcome", "allowed")]) >= 4.0);
    assert_eq!(
        value(
            decisions,
            &[
                ("layer", "verify"),
                ("outcome", "refused"),
                ("reason", "malformed_token")
            ]
        ),
        1.0
    );
    assert!(value(decisions, &[("layer", "policy"), ("outcome", "allowed")]) >= 3.0);
    // The access token's session ended with the reuse: the revocation check refuses it.
    assert_eq!(
        value(
            decisions,
            &[
                ("layer", "revocation"),
                ("outcome", "refused"),
                ("reason", "session_ended")
            ]
        ),
        1.0
    );
    let checks = metric(&scrape, "tollgate_revocation_checks_total", Type::Counter);
    assert_eq!(value(checks, &[("status", "session_ended")]), 1.0);
    let issued = metric(&scrape, "tollgate_sessions_issued_total", Type::Counter);
    assert_eq!(value(issued, &[]), 2.0);
    let refreshes = metric(&scrape, "tollgate_session_refreshes_total", Type::Counter);
    assert_eq!(value(refreshes, &[("outcome", "rotated")]), 1.0);
    assert_eq!(
        value(refreshes, &[("outcome", "refresh_token_reused")]),
        1.0
    );
    let ended = metric(&scrape, "tollgate_sessions_ended_total", Type::Counter);
    assert_eq!(value(ended, &[("reason", "reuse_detected")]), 1.0);
    metric(
        &scrape,
        "tollgate_revocation_check_duration_seconds",
        Type::Histogram,
    );

    let requests = metric(&scrape, "http_requests_total", Type::Counter);
    let get_customer = [("method", "GET"), ("route", CUSTOMER_ROUTE)];
    assert_eq!(
        value(
            requests,
            &[get_customer[0], get_customer[1], ("status", "200")]
        ),
        2.0
    );
    assert_eq!(
        value(
            requests,
            &[get_customer[0], get_customer[1], ("status", "404")]
        ),
        1.0
    );
    assert_eq!(
        value(
            requests,
            &[
                ("method", "POST"),
                ("route", "/api/customers"),
                ("status", "201")
            ]
        ),
        1.0
    );
    assert_eq!(
        value(
            requests,
            &[("method", "GET"), ("route", "unmatched"), ("status", "404")]
        ),
        4.0
    );
    assert_eq!(
        value(
            requests,
            &[("method", "other"), ("route", "/health"), ("status", "405")]
        ),
        1.0
    );
    // No label value is a path that was asked for.
    for metric in &scrape.metrics {
        for sample in &metric.samples {
            for found in sample.labels.iter() {
                assert!(
                    !scanned.contains(&found.value) && !found.value.contains(&id),
                    "{} {sample:?}",
                    metric.name
                );
            }
        }
    }

    // The histogram (by method and route, not status): buckets from 1 ms to 10 s, and +Inf
    // counting the three requests.
    let durations = metric(&scrape, "http_request_duration_seconds", Type::Histogram);
    let buckets = samples(durations, ValueType::Sample, &get_customer);
    let bounds: Vec<&str> = buckets
        .iter()
        .map(|bucket| label(bucket, "le").unwrap())
        .collect();
    let expected: Vec<String> = crm::metrics::SECONDS_BUCKETS
        .iter()
        .map(f64::to_string)
        .chain(["+Inf".to_owned()])
        .collect();
    assert_eq!(bounds, expected);
    let counts: Vec<f64> = buckets
        .iter()
        .map(|bucket| bucket.value.value.as_f64())
        .collect();
    assert_eq!(counts.last(), Some(&3.0));
    assert!(
        counts.windows(2).all(|pair| pair[0] <= pair[1]),
        "{counts:?}"
    );
    let count = samples(durations, ValueType::Count, &get_customer);
    assert_eq!(count.len(), 1, "{count:?}");
    assert_eq!(count[0].value.value.as_f64(), 3.0);
    assert_eq!(label(count[0], "status"), None);

    // The metrics listener serves nothing else, and its scrapes are not counted.
    let other = reqwest::get(format!("http://127.0.0.1:{metrics_port}/other"))
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
    assert!(other.headers().contains_key("x-request-id"));
    assert!(samples(requests, ValueType::Sample, &[("route", "/metrics")]).is_empty());
}

/// `DELETE /api/customers/{id}`: a sensitive route, checked against the revocation store.
async fn delete(api: &Api, token: &str, id: &str) -> Resp {
    api.send(
        Method::DELETE,
        &format!("/api/customers/{id}"),
        HeaderMap::new(),
        Some(token),
        None,
    )
    .await
}

/// The sum of the samples of `name` whose labels include `labels` (0 when there is none).
fn total(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .metrics
        .iter()
        .filter(|metric| metric.name == name)
        .flat_map(|metric| samples(metric, ValueType::Sample, labels))
        .map(|sample| sample.value.value.as_f64())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_shows_as_store_errors_and_health_503_until_it_is_back() {
    let mut redis = match RedisServer::start() {
        Ok(redis) => redis,
        Err(error) => {
            assert!(!in_ci(), "redis-server is required in CI: {error}");
            eprintln!("\n!!! SKIPPED: redis-server failed: {error}\n");
            return;
        }
    };
    let db = Database::sqlite();
    let metrics_port = free_port();
    let mut args = args(&db);
    args.extend([
        "--redis-url".to_owned(),
        redis.url(),
        "--metrics-listen".to_owned(),
        format!("127.0.0.1:{metrics_port}"),
    ]);
    let crm = Crm::start(&as_strs(&args)).await;
    let metrics_url = format!("http://127.0.0.1:{metrics_port}/metrics");
    let api = Api::new(&crm.base);
    let token = api.register().await;
    let first = api.customer(&token).await;
    let second = api.customer(&token).await;
    let before = scrape(&metrics_url).await;
    assert_eq!(
        total(&before, "tollgate_revocation_store_errors_total", &[]),
        0.0
    );

    redis.stop();
    // A sensitive route (the revocation check) with the store down: 503 (failure closed).
    let refused = delete(&api, &token, &first).await;
    assert_eq!(refused.status, 503, "{}", refused.text);
    assert_eq!(api.get("/health", None).await.status, 503);
    let down = scrape(&metrics_url).await;
    assert!(total(&down, "tollgate_revocation_store_errors_total", &[]) >= 1.0);
    assert!(
        total(
            &down,
            "tollgate_revocation_checks_total",
            &[("status", "error")]
        ) >= 1.0
    );
    assert_eq!(total(&down, "tollgate_revocation_store_failing", &[]), 1.0);
    assert!(
        total(
            &down,
            "tollgate_decisions_total",
            &[
                ("layer", "revocation"),
                ("reason", "revocation_store_unavailable")
            ]
        ) >= 1.0
    );

    redis.restart().unwrap();
    let back = within(Duration::from_secs(20), || async {
        api.get("/health", None).await.status == 200
    })
    .await;
    assert!(back.is_some(), "/health stayed 503 after Redis came back");
    // The first check the store answers ends the outage.
    let answered = within(Duration::from_secs(20), || async {
        delete(&api, &token, &second).await.status == 204
    })
    .await;
    assert!(answered.is_some(), "the sensitive route stayed refused");
    let after = scrape(&metrics_url).await;
    assert_eq!(total(&after, "tollgate_revocation_store_failing", &[]), 0.0);
    assert!(
        total(
            &after,
            "tollgate_revocation_checks_total",
            &[("status", "active")]
        ) >= 1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_flag_there_is_no_metrics_listener() {
    let db = Database::sqlite();
    let crm = Crm::start(&as_strs(&args(&db))).await;
    assert_eq!(listening_sockets(crm.child.id()), 1);
    let api = Api::new(&crm.base);
    assert_eq!(api.get("/metrics", None).await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_metrics_address_that_cannot_be_bound_stops_the_start() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let output = support::process::run(&["--metrics-listen", &address]);
    assert_eq!(output.status.code(), Some(1));
    let line = support::process::assert_one_line(&output, "--metrics-listen");
    assert!(line.contains(&address), "{line}");
}

/// Whether `id` looks like a UUID the server made (8-4-4-4-12 lowercase hex digits).
fn is_uuid(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.iter().map(|group| group.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|group| {
            group
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_kept_when_sane_and_made_otherwise() {
    let db = Database::sqlite();
    let mut args = args(&db);
    args.extend(["--request-timeout".to_owned(), "1s".to_owned()]);
    let crm = Crm::start_logged(&as_strs(&args), "info").await;
    let api = Api::new(&crm.base);
    let token = api.register().await;

    // Kept: on a 200, a 404 problem, a 401 problem and a 405 problem.
    let sane = format!("Req-{}.a_b:c", random());
    for (path, token, status) in [
        ("/health", None, 200),
        ("/api/customers/no-such-customer", Some(token.as_str()), 404),
        ("/api/customers", Some("not.a.token"), 401),
        ("/no/such/route", None, 404),
    ] {
        let answer = api
            .get_with_id(path, HeaderValue::from_str(&sane).unwrap(), token)
            .await;
        assert_eq!(answer.status, status, "{path}: {}", answer.text);
        assert_eq!(answer.header("x-request-id"), sane, "{path}");
    }
    let longest = "a".repeat(64);
    let answer = api
        .get_with_id("/health", HeaderValue::from_str(&longest).unwrap(), None)
        .await;
    assert_eq!(answer.header("x-request-id"), longest);

    // Made when missing: a new UUID each time.
    let first = api.get("/health", None).await;
    let second = api.get("/api/customers", None).await;
    assert_eq!(second.status, 401);
    for made in [first.header("x-request-id"), second.header("x-request-id")] {
        assert!(is_uuid(made), "{made:?}");
    }
    assert_ne!(first.header("x-request-id"), second.header("x-request-id"));

    // Replaced when hostile.
    let hostile: Vec<HeaderValue> = vec![
        HeaderValue::from_str(&"a".repeat(65)).unwrap(),
        HeaderValue::from_static("tab\there"),
        HeaderValue::from_static("two words"),
        HeaderValue::from_static("<script>"),
        HeaderValue::from_static(""),
        HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
        HeaderValue::from_static("line%0d%0aforged: 1"),
    ];
    for id in hostile {
        let answer = api.get_with_id("/api/customers", id.clone(), None).await;
        assert_eq!(answer.status, 401);
        let answered = answer.header("x-request-id");
        assert!(is_uuid(answered), "{id:?} answered with {answered:?}");
    }
    // Several ids: none is kept.
    let mut headers = HeaderMap::new();
    headers.append("x-request-id", HeaderValue::from_static("one"));
    headers.append("x-request-id", HeaderValue::from_static("two"));
    let answer = api.send(Method::GET, "/health", headers, None, None).await;
    assert_eq!(answer.headers.get_all("x-request-id").iter().count(), 1);
    assert!(is_uuid(answer.header("x-request-id")), "{answer:?}");

    // A 413 (a body over the 2 MB limit) carries it.
    let mut headers = HeaderMap::new();
    headers.insert("x-request-id", HeaderValue::from_static("too-large"));
    let too_large = api
        .send(
            Method::POST,
            "/api/auth/login",
            headers,
            None,
            Some(json!({"username": "a".repeat(3 * 1024 * 1024), "password": "x"})),
        )
        .await;
    assert_eq!(too_large.status, 413, "{}", too_large.text);
    assert_eq!(too_large.header("x-request-id"), "too-large");

    // The 408 of the request deadline (a body that never comes) carries it too.
    let address = crm.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(
            b"POST /api/auth/login HTTP/1.1\r\nhost: crm\r\nx-request-id: slow-body\r\n\
              content-type: application/json\r\ncontent-length: 100\r\n\r\n{",
        )
        .await
        .unwrap();
    let mut head = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut head))
        .await
        .unwrap()
        .unwrap();
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 408"), "{head}");
    assert!(head.contains("\r\nx-request-id: slow-body\r\n"), "{head}");
}

/// The log lines of `crm` that carry `request_id=id`.
fn lines_of(crm: &Crm, id: &str) -> Vec<String> {
    let needle = format!("request_id={id}}}");
    crm.log()
        .lines()
        .filter(|line| line.contains(&needle))
        .map(str::to_owned)
        .collect()
}

/// The one `answered` line of the request `id`, once it is written.
async fn answered_line(crm: &Crm, id: &str) -> String {
    let mut answered = Vec::new();
    support::within(Duration::from_secs(10), || {
        answered = lines_of(crm, id)
            .into_iter()
            .filter(|line| line.contains(" answered "))
            .collect();
        std::future::ready(!answered.is_empty())
    })
    .await;
    assert_eq!(answered.len(), 1, "{answered:#?}\n{}", crm.log());
    answered.remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_has_one_log_line_with_its_id_and_no_token() {
    let db = Database::sqlite();
    // The libraries' rejections are logged at debug.
    let crm = Crm::start_logged(&as_strs(&args(&db)), "info,tollgate=debug").await;
    let api = Api::new(&crm.base);
    let (token, refresh) = api.register_pair().await;
    let customer = api.customer(&token).await;

    let found_id = format!("found-{}", random());
    let found = api
        .get_with_id(
            &format!("/api/customers/{customer}?access_token={token}"),
            HeaderValue::from_str(&found_id).unwrap(),
            Some(&token),
        )
        .await;
    assert_eq!(found.status, 200, "{}", found.text);
    let line = answered_line(&crm, &found_id).await;
    assert!(line.contains(" INFO "), "{line}");
    assert!(
        line.contains(&format!(
            "request{{method=GET route={CUSTOMER_ROUTE} request_id={found_id}}}: crm::http: answered status=200 latency="
        )),
        "{line}"
    );
    // The route, never the path or its query.
    assert!(!line.contains(&customer), "{line}");
    assert!(!line.contains("access_token"), "{line}");

    // A refused token: the answer's line, and the library's rejection line under the same id.
    let refused_id = format!("refused-{}", random());
    let forged = format!("{token}x");
    let refused = api
        .get_with_id(
            "/api/customers",
            HeaderValue::from_str(&refused_id).unwrap(),
            Some(&forged),
        )
        .await;
    assert_eq!(refused.status, 401, "{}", refused.text);
    let line = answered_line(&crm, &refused_id).await;
    assert!(
        line.contains("route=/api/customers ") && line.contains("answered status=401 latency="),
        "{line}"
    );
    let lines = lines_of(&crm, &refused_id);
    assert!(
        lines
            .iter()
            .any(|line| line.contains("tollgate::rejection") && line.contains("request rejected")),
        "{lines:#?}"
    );

    // An unknown path: `route=unmatched`, not the path.
    let scan_id = format!("scan-{}", random());
    let scanned = format!("/wp-admin/{}", random());
    assert_eq!(
        api.get_with_id(&scanned, HeaderValue::from_str(&scan_id).unwrap(), None)
            .await
            .status,
        404
    );
    let line = answered_line(&crm, &scan_id).await;
    assert!(
        line.contains("method=GET route=unmatched ") && line.contains("status=404"),
        "{line}"
    );
    assert!(!line.contains(&scanned), "{line}");

    // A refresh token in a body, an access token in the header and the query: none of them
    // anywhere in the log.
    let refreshed = api
        .send(
            Method::POST,
            "/api/auth/token/refresh",
            HeaderMap::new(),
            None,
            Some(json!({"refresh": refresh})),
        )
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    let line = answered_line(&crm, refreshed.header("x-request-id")).await;
    assert!(
        line.contains("method=POST route=/api/auth/token/refresh "),
        "{line}"
    );
    let log = crm.log();
    let signature = token.rsplit('.').next().unwrap();
    assert!(!log.contains(signature), "a token in the log:\n{log}");
    let refresh_signature = refresh.rsplit('.').next().unwrap();
    assert!(
        !log.contains(refresh_signature),
        "a token in the log:\n{log}"
    );
}

/// The first YAML block of the section `heading` of docs/observability.md.
fn docs_yaml(heading: &str) -> String {
    let docs = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/observability.md"
    ))
    .unwrap();
    let (_, section) = docs.split_once(&format!("\n{heading}\n")).unwrap();
    let (_, block) = section.split_once("```yaml\n").unwrap();
    let (yaml, _) = block.split_once("\n```").unwrap();
    format!("{yaml}\n")
}

/// Run `promtool` with `args` in `dir`; its output, or a panic with it when it fails.
fn promtool(promtool: &str, dir: &std::path::Path, args: &[&str]) -> String {
    let output = std::process::Command::new(promtool)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool {args:?}:\n{text}");
    text
}

#[test]
fn the_documented_alert_rules_pass_promtool() {
    let rules = docs_yaml("## Alerts");
    // Every metric the rules use is one the tables document.
    let docs = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/observability.md"
    ))
    .unwrap();
    for word in rules.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if word.starts_with("tollgate_") {
            assert!(
                docs.contains(&format!("| `{word}` |")),
                "{word} is not in the metric tables"
            );
        }
    }
    let promtool_path = std::env::var("PROMTOOL").unwrap_or_else(|_| "promtool".to_owned());
    if std::process::Command::new(&promtool_path)
        .arg("--version")
        .output()
        .is_err()
    {
        let message = format!(
            "{promtool_path} is missing (apt-get install prometheus): the alert rules are not checked"
        );
        assert!(!support::in_ci(), "{message}");
        eprintln!("\n!!! SKIPPED: {message}\n");
        return;
    }
    let dir = support::process::temp_dir();
    std::fs::write(dir.join("rules.yml"), rules).unwrap();
    std::fs::write(dir.join("alerts.test.yml"), include_str!("alerts.test.yml")).unwrap();
    let checked = promtool(&promtool_path, &dir, &["check", "rules", "rules.yml"]);
    assert!(checked.contains("SUCCESS: 4 rules found"), "{checked}");
    promtool(&promtool_path, &dir, &["test", "rules", "alerts.test.yml"]);
    let _ = std::fs::remove_dir_all(dir);
}
