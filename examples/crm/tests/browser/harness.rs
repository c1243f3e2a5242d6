#![allow(unreachable_pub)]
//! What the browser tests run on: Debian's `chromedriver` and `chromium` (never downloaded),
//! the compiled `crm` on a free port with its request log, a page helper over fantoccini, and
//! a hostile page served on another origin.

use std::{
    fs::File,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tokio::sync::{Mutex, MutexGuard};

use crate::support::{in_ci, random};

/// One browser test at a time: they measure time (token expiries) and count the server's
/// refreshes, and two cores are few for two Chromiums.
pub async fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::const_new(());
    LOCK.lock().await
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn find(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Ok(path) = std::env::var(env)
        && !path.is_empty()
    {
        return Some(PathBuf::from(path));
    }
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
}

fn wait_until(limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if ready() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    false
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

// ------------------------------------------------------------------------------------------
// ChromeDriver and Chromium

/// A `chromedriver` of this test, on a free port.
pub struct Driver {
    child: Child,
    url: String,
    chromium: PathBuf,
}

impl Driver {
    /// Start `chromedriver`, or `None` (skipped loudly; a panic under `CI=true`) when it or
    /// `chromium` is missing. `CHROMEDRIVER` and `CHROMIUM` override the paths.
    pub fn start() -> Option<Self> {
        let driver = find("CHROMEDRIVER", &["/usr/bin/chromedriver"]);
        let chromium = find(
            "CHROMIUM",
            &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
        );
        let (Some(driver), Some(chromium)) = (driver, chromium) else {
            let message = "chromium or chromedriver is missing (apt-get install chromium \
                           chromium-driver): the browser tests are skipped";
            assert!(!in_ci(), "{message}");
            eprintln!("\n!!! SKIPPED: {message}\n");
            return None;
        };
        let port = free_port();
        let child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", driver.display()));
        let mut started = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            chromium,
        };
        let ready = wait_until(Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        if !ready {
            kill(&mut started.child);
            panic!("chromedriver did not listen within 20 s");
        }
        Some(started)
    }

    /// A new browser: a fresh profile (no cookies, no storage), headless, 1200×800.
    pub async fn browser(&self) -> Client {
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--window-size=1200,800",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-gpu",
            // Windows the test is not looking at keep their timers running on time.
            "--disable-background-timer-throttling",
            "--disable-renderer-backgrounding",
            "--disable-backgrounding-occluded-windows",
        ];
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": self.chromium.display().to_string(),
                "args": args,
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .unwrap_or_else(|error| panic!("cannot open a Chromium session: {error}"))
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        kill(&mut self.child);
    }
}

// ------------------------------------------------------------------------------------------
// The crm binary

/// The compiled `crm` on a free port, on a SQLite file of its own; its log in a file.
pub struct Crm {
    child: Child,
    dir: PathBuf,
    /// `http://localhost:PORT`.
    pub base: String,
    /// The port.
    pub port: u16,
}

impl Crm {
    /// Start `crm` with `args` (and a generous login rate) and wait until it listens.
    pub fn start(args: &[&str]) -> Self {
        let dir = std::env::temp_dir().join(format!("crm-browser-test-{}", random()));
        std::fs::create_dir_all(&dir).unwrap();
        let database = format!("sqlite://{}?mode=rwc", dir.join("crm.db").display());
        let mut command = Command::new(env!("CARGO_BIN_EXE_crm"));
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("CRM_") {
                command.env_remove(name);
            }
        }
        let child = command
            .env("NO_COLOR", "1")
            .args(["--listen", "127.0.0.1:0", "--database-url", &database])
            .args(["--login-rate", "100000/min"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(dir.join("log")).unwrap())
            .spawn()
            .unwrap();
        let mut crm = Self {
            child,
            dir,
            base: String::new(),
            port: 0,
        };
        let mut port = None;
        wait_until(Duration::from_secs(30), || {
            port = crm.log().lines().find_map(|line| {
                let (_, address) = line.split_once("listening address=")?;
                address.trim().rsplit_once(':')?.1.parse::<u16>().ok()
            });
            port.is_some()
        });
        let Some(port) = port else {
            let log = crm.log();
            kill(&mut crm.child);
            panic!("crm did not start:\n{log}");
        };
        crm.port = port;
        crm.base = format!("http://localhost:{port}");
        crm
    }

    /// The log so far, without colors (a workspace build may turn tracing's ANSI colors on).
    pub fn log(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
        strip_ansi(&log)
    }

    /// How many `method route` requests the log shows answered with `status`.
    pub fn count(&self, method: &str, route: &str, status: u16) -> usize {
        // The request's span, then the line's own fields:
        // `request{method=POST route=/api/... request_id=...}: crm::http: answered status=200 ...`.
        let span = format!("request{{method={method} route={route} ");
        let answer = format!("answered status={status} ");
        self.log()
            .lines()
            .filter(|line| line.contains(&span) && line.contains(&answer))
            .count()
    }

    /// The refreshes that rotated a cookie.
    pub fn rotations(&self) -> usize {
        self.count("POST", "/api/auth/browser/refresh", 200)
    }

    /// A JSON API client for setting up users.
    pub fn api(&self) -> Api {
        Api {
            base: self.base.clone(),
            client: reqwest::Client::new(),
        }
    }
}

impl Drop for Crm {
    fn drop(&mut self) {
        kill(&mut self.child);
        if std::thread::panicking() {
            eprintln!("--- crm log ---\n{}", self.log());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `text` without ANSI escape sequences (`ESC [ ... letter`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for next in chars.by_ref() {
                if next.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The JSON API, as an API client uses it (bearer tokens).
pub struct Api {
    base: String,
    client: reqwest::Client,
}

/// A user made through the JSON API.
#[derive(Debug, Clone)]
pub struct ApiUser {
    pub id: String,
    pub username: String,
    pub password: String,
}

impl Api {
    /// Send; status and JSON body.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A new organization and its admin.
    pub async fn register(&self, name: &str) -> ApiUser {
        let username = format!("{name}-{}", &random()[..6]);
        let password = "correct horse battery".to_owned();
        let (status, body) = self
            .send(
                reqwest::Method::POST,
                "/api/auth/register",
                None,
                Some(json!({"username": username, "email": format!("{username}@example.com"), "password": password})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        ApiUser {
            id: body["user"]["id"].as_str().unwrap().to_owned(),
            username,
            password,
        }
    }

    /// A user with `roles` in `admin`'s organization.
    pub async fn create_user(&self, admin: &ApiUser, name: &str, roles: &[&str]) -> ApiUser {
        let username = format!("{name}-{}", &random()[..6]);
        let password = "another good password".to_owned();
        let access = self.login(admin).await;
        let (status, body) = self
            .send(
                reqwest::Method::POST,
                "/api/admin/users",
                Some(&access),
                Some(json!({"username": username, "email": format!("{username}@example.com"), "password": password, "roles": roles})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        ApiUser {
            id: body["id"].as_str().unwrap().to_owned(),
            username,
            password,
        }
    }

    /// A new access token for `user` (a login through the JSON API).
    pub async fn login(&self, user: &ApiUser) -> String {
        let (status, body) = self
            .send(
                reqwest::Method::POST,
                "/api/auth/login",
                None,
                Some(json!({"username": user.username, "password": user.password})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["access"].as_str().unwrap().to_owned()
    }

    /// `user`'s live sessions, as `admin` sees them (`admin` signs in for it: with short
    /// access tokens its first one is long expired).
    pub async fn sessions_of(&self, admin: &ApiUser, user: &ApiUser) -> Vec<Value> {
        let access = self.login(admin).await;
        let (status, body) = self
            .send(
                reqwest::Method::GET,
                &format!("/api/admin/users/{}/sessions", user.id),
                Some(&access),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body.as_array().unwrap().clone()
    }

    /// A customer in `user`'s organization.
    pub async fn customer(&self, user: &ApiUser, name: &str) {
        let access = self.login(user).await;
        let (status, body) = self
            .send(
                reqwest::Method::POST,
                "/api/customers",
                Some(&access),
                Some(json!({"name": name, "company": "Acme", "email": "ops@acme.example"})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
}

// ------------------------------------------------------------------------------------------
// A page

/// One browser (WebDriver session) on the app.
pub struct Page {
    pub client: Client,
    pub base: String,
    driver: String,
}

/// How long a page may take to show what a step waits for.
const STEP: Duration = Duration::from_secs(15);

impl Page {
    /// A new browser on `crm`'s app.
    pub async fn open(driver: &Driver, crm: &Crm) -> Self {
        Self {
            client: driver.browser().await,
            base: crm.base.clone(),
            driver: driver.url.clone(),
        }
    }

    /// Run `script` in every document the current window loads from now on, before the
    /// page's own scripts (ChromeDriver's Chrome DevTools passthrough:
    /// `Page.addScriptToEvaluateOnNewDocument`).
    pub async fn before_each_load(&self, script: &str) {
        let session = self.client.session_id().await.unwrap().unwrap();
        let response = reqwest::Client::new()
            .post(format!(
                "{}/session/{session}/goog/cdp/execute",
                self.driver
            ))
            .json(&json!({
                "cmd": "Page.addScriptToEvaluateOnNewDocument",
                "params": {"source": script},
            }))
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{}",
            response.text().await.unwrap_or_default()
        );
    }

    /// Go to `path` of the app.
    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    /// The element `css`, once it is there and shown.
    pub async fn wait(&self, css: &str) -> Element {
        let started = Instant::now();
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await
                && element.is_displayed().await.unwrap_or(false)
            {
                return element;
            }
            if started.elapsed() > STEP {
                self.screenshot("failure").await;
                panic!(
                    "`{css}` did not show within {STEP:?}; page text:\n{}",
                    self.text("body").await
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Wait until `css` is gone (or hidden).
    pub async fn wait_gone(&self, css: &str) {
        let started = Instant::now();
        while self.shown(css).await {
            assert!(
                started.elapsed() < STEP,
                "`{css}` still shown; page text:\n{}",
                self.text("body").await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Wait until the text of `css` contains `text`.
    pub async fn wait_text(&self, css: &str, text: &str) {
        let started = Instant::now();
        loop {
            if self.text(css).await.contains(text) {
                return;
            }
            if started.elapsed() > STEP {
                self.screenshot("failure").await;
                panic!(
                    "`{css}` never contained {text:?}; page text:\n{}",
                    self.text("body").await
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether `css` is there and shown.
    pub async fn shown(&self, css: &str) -> bool {
        match self.client.find_all(Locator::Css(css)).await {
            Ok(elements) => {
                for element in elements {
                    if element.is_displayed().await.unwrap_or(false) {
                        return true;
                    }
                }
                false
            }
            Err(_) => false,
        }
    }

    /// The text of `css` (`""` when absent).
    pub async fn text(&self, css: &str) -> String {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => element.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Type `value` into the field `name` of the form `form`.
    pub async fn fill(&self, form: &str, name: &str, value: &str) {
        let input = self.wait(&format!("{form} [name={name}]")).await;
        input.clear().await.unwrap();
        input.send_keys(value).await.unwrap();
    }

    /// Click `css`.
    pub async fn click(&self, css: &str) {
        self.wait(css).await.click().await.unwrap();
    }

    /// Sign in through the login form (on the login page).
    pub async fn sign_in(&self, username: &str, password: &str, remember_me: bool) {
        self.wait("#login-form").await;
        self.fill("#login-form", "username", username).await;
        self.fill("#login-form", "password", password).await;
        if remember_me {
            self.click("#remember_me").await;
        }
        self.click("#login-form button[type=submit]").await;
        self.wait("#top").await;
        self.wait_gone("#login-form").await;
    }

    /// Run `script` (a function body) in the page.
    pub async fn js(&self, script: &str) -> Value {
        self.client.execute(script, Vec::new()).await.unwrap()
    }

    /// The errors the page collected (`window.__crmErrors`).
    pub async fn errors(&self) -> Vec<String> {
        let errors = self.js("return window.__crmErrors || [];").await;
        errors
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|e| e.as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Assert the page logged no error, and shows no raw value (`null`, `undefined`,
    /// `[object Object]`, `NaN`).
    pub async fn assert_no_errors(&self) {
        let errors = self.errors().await;
        assert!(errors.is_empty(), "the page logged errors: {errors:#?}");
        let raw = self
            .js("return /\\b(null|undefined|NaN)\\b|\\[object Object\\]/.test(document.body.innerText);")
            .await;
        assert_eq!(
            raw,
            Value::Bool(false),
            "the page shows a raw value:\n{}",
            self.text("body").await
        );
    }

    /// Assert that nothing a script can read holds a token: localStorage, sessionStorage,
    /// document.cookie.
    pub async fn assert_no_readable_token(&self) {
        let readable = self
            .js(
                "const all = (s) => Object.keys(s).map((k) => k + '=' + s.getItem(k)).join(';');\
                 return {local: all(localStorage), session: all(sessionStorage), cookie: document.cookie};",
            )
            .await;
        for place in ["local", "session", "cookie"] {
            let text = readable[place].as_str().unwrap_or_default();
            assert!(
                !text.contains("eyJ") && !text.to_lowercase().contains("token"),
                "{place} holds a token: {text}"
            );
        }
    }

    /// Save a screenshot as `target/browser-screenshots/NAME.png`.
    pub async fn screenshot(&self, name: &str) {
        let Ok(png) = self.client.screenshot().await else {
            return;
        };
        let dir = screenshot_dir();
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(dir.join(format!("{name}.png")), png);
    }

    /// The refresh cookie, as the browser keeps it (WebDriver sees HttpOnly cookies, but
    /// only those of the current URL's path: this goes under `/api/auth/browser` to read it,
    /// then back to the app).
    pub async fn refresh_cookie(&self) -> Option<fantoccini::cookies::Cookie<'static>> {
        self.goto("/api/auth/browser/").await;
        let cookies = self.client.get_all_cookies().await.unwrap();
        self.goto("/").await;
        cookies.into_iter().find(|c| c.name().contains("refresh"))
    }

    /// Close the browser.
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// `target/browser-screenshots` of the workspace (or of `CARGO_TARGET_DIR`).
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    target.join("browser-screenshots")
}

// ------------------------------------------------------------------------------------------
// A hostile page

/// A page on `http://127.0.0.1:PORT` (another site than the app on `localhost`) that posts,
/// with credentials, to the app's refresh and logout routes as soon as it loads, then sets
/// its title to `done`.
pub struct Hostile {
    pub url: String,
    _task: tokio::task::JoinHandle<()>,
}

impl Hostile {
    /// Serve it.
    pub async fn serve(app: &str) -> Self {
        let page = format!(
            r#"<!doctype html><html><head><title>win a prize</title></head><body>
<form id="f" method="post" action="{app}/api/auth/browser/logout" target="sink"></form>
<iframe name="sink" title="sink"></iframe>
<script>
(async () => {{
  for (const path of ['/api/auth/browser/refresh', '/api/auth/browser/logout']) {{
    try {{
      await fetch('{app}' + path, {{ method: 'POST', credentials: 'include', mode: 'no-cors' }});
    }} catch (e) {{}}
  }}
  document.getElementById('f').submit();
  setTimeout(() => {{ document.title = 'done'; }}, 500);
}})();
</script></body></html>"#
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://127.0.0.1:{}/",
            listener.local_addr().unwrap().port()
        );
        let router = axum::Router::new().route(
            "/",
            axum::routing::get(move || {
                let page = page.clone();
                async move { axum::response::Html(page) }
            }),
        );
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { url, _task: task }
    }
}
