//! Configuration: command-line flags, each with an environment variable, validated at start.

use std::{
    fmt,
    net::{IpAddr, SocketAddr},
    num::{NonZeroU32, NonZeroUsize},
    path::PathBuf,
    str::FromStr,
    sync::Arc,
    time::Duration,
};

use clap::{Parser, ValueEnum};
use ipnet::IpNet;
use tollgate::revocation::FailurePolicy;
use tracing_subscriber::filter::Targets;

/// The longest token lifetime accepted (the issuer's own bound).
const MAX_TTL: Duration = Duration::from_secs(10 * 366 * 24 * 3600);
/// The largest clock-skew allowance accepted (the issuer's own bound).
const MAX_LEEWAY: Duration = Duration::from_secs(600);
/// The shortest HS256 secret accepted, in bytes.
pub const MIN_SECRET_LEN: usize = 32;
/// The environment variable that sets the log filter.
pub const LOG_ENV: &str = "CRM_LOG";
/// The longest connection timeout accepted (`--header-read-timeout`, `--request-timeout`,
/// `--shutdown-timeout`).
const MAX_CONNECTION_TIMEOUT: Duration = Duration::from_secs(3600);
/// The most connections `--max-connections` accepts.
const MAX_CONNECTIONS: usize = 1_000_000;

/// The command line of `crm`. Every flag has an environment variable; see the README's
/// configuration table.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "crm",
    version,
    about = "A sample CRM API protected by tollgate",
    long_about = None
)]
pub struct Cli {
    /// Address to bind.
    #[arg(
        long,
        env = "CRM_LISTEN",
        default_value = "127.0.0.1:8080",
        value_name = "ADDR"
    )]
    pub listen: SocketAddr,

    /// SQLite (`sqlite://file.db?mode=rwc`) or PostgreSQL (`postgres://...`) URL.
    #[arg(
        long,
        env = "CRM_DATABASE_URL",
        default_value = "sqlite://crm.db?mode=rwc",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: String,

    /// Redis URL: revocations and sessions are shared through Redis (several instances).
    #[arg(
        long,
        env = "CRM_REDIS_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub redis_url: Option<String>,

    /// The prefix of every Redis key and channel of the app: instances that share revocations,
    /// sessions and login limits use the same one; apps on one Redis use different ones.
    #[arg(
        long,
        env = "CRM_REDIS_PREFIX",
        default_value = "crm:",
        value_name = "PREFIX",
        value_parser = parse_redis_prefix
    )]
    pub redis_prefix: String,

    /// HS256 secret, at least 32 bytes. Default: a random secret kept in the database.
    #[arg(
        long,
        env = "CRM_JWT_SECRET",
        value_name = "SECRET",
        hide_env_values = true,
        conflicts_with = "jwt_private_key"
    )]
    pub jwt_secret: Option<String>,

    /// PEM file with an RSA, P-256 or Ed25519 private key: sign asymmetrically and publish
    /// `/.well-known/jwks.json`.
    #[arg(long, env = "CRM_JWT_PRIVATE_KEY", value_name = "PEM_FILE")]
    pub jwt_private_key: Option<PathBuf>,

    /// Access token lifetime.
    #[arg(long, env = "CRM_ACCESS_TTL", default_value = "30m", value_name = "DURATION", value_parser = parse_ttl)]
    pub access_ttl: Duration,

    /// Refresh token and session lifetime.
    #[arg(long, env = "CRM_REFRESH_TTL", default_value = "7d", value_name = "DURATION", value_parser = parse_ttl)]
    pub refresh_ttl: Duration,

    /// How long after a refresh the refresh token it spent may be presented again and answered
    /// with the same pair (a client that lost the answer retries) instead of ending the session
    /// as stolen. `0s`: never.
    #[arg(long, env = "CRM_REFRESH_GRACE", default_value = "0s", value_name = "DURATION", value_parser = parse_refresh_grace)]
    pub refresh_grace: Duration,

    /// Session lifetime when login asks `remember_me`.
    #[arg(long, env = "CRM_REMEMBER_ME_TTL", default_value = "30d", value_name = "DURATION", value_parser = parse_ttl)]
    pub remember_me_ttl: Duration,

    /// Clock-skew allowance on `exp` and `nbf`.
    #[arg(long, env = "CRM_LEEWAY", default_value = "0s", value_name = "DURATION", value_parser = parse_leeway)]
    pub leeway: Duration,

    /// The `iss` claim, checked on every token.
    #[arg(long, env = "CRM_ISSUER", default_value = "crm", value_parser = parse_non_empty)]
    pub issuer: String,

    /// The `aud` claim, checked on every token.
    #[arg(long, env = "CRM_AUDIENCE", default_value = "crm-api", value_parser = parse_non_empty)]
    pub audience: String,

    /// Email of the superuser `admin`, created or updated at start.
    #[arg(
        long,
        env = "CRM_ADMIN_EMAIL",
        value_name = "EMAIL",
        requires = "admin_password"
    )]
    pub admin_email: Option<String>,

    /// Password of the superuser `admin`.
    #[arg(
        long,
        env = "CRM_ADMIN_PASSWORD",
        value_name = "PASSWORD",
        hide_env_values = true,
        requires = "admin_email"
    )]
    pub admin_password: Option<String>,

    /// Login attempts allowed per client IP and per username (`N/s`, `N/min`, `N/hour`).
    #[arg(
        long,
        env = "CRM_LOGIN_RATE",
        default_value = "5/min",
        value_name = "RATE"
    )]
    pub login_rate: LoginRate,

    /// Comma-separated origins (`https://app.example`) allowed to call the API from another
    /// origin (CORS, with credentials) and accepted as `Origin` on the browser routes.
    #[arg(
        long,
        env = "CRM_ALLOWED_ORIGINS",
        value_name = "ORIGINS",
        value_delimiter = ',',
        value_parser = parse_origin
    )]
    pub allowed_origins: Vec<String>,

    /// What sensitive routes do when the revocation store cannot answer.
    #[arg(
        long,
        env = "CRM_REVOCATION_FAILURE",
        default_value = "closed",
        value_enum
    )]
    pub revocation_failure: RevocationFailure,

    /// Password hashes at once at most, each with 19 MiB (default: the number of cores).
    #[arg(long, env = "CRM_HASH_CONCURRENCY", value_name = "N", value_parser = parse_hash_concurrency)]
    pub hash_concurrency: Option<NonZeroUsize>,

    /// Requests of each kind (password checks, new passwords) that may wait for a hash; one
    /// more is answered 503 `busy`.
    #[arg(long, env = "CRM_HASH_QUEUE", default_value_t = DEFAULT_HASH_QUEUE, value_name = "N", value_parser = parse_hash_queue)]
    pub hash_queue: usize,

    /// Time a connection has to send a whole request head, counted from when it opens or
    /// from the previous answer: also how long an idle connection is kept.
    #[arg(long, env = "CRM_HEADER_READ_TIMEOUT", default_value = "10s", value_name = "DURATION", value_parser = parse_connection_timeout)]
    pub header_read_timeout: Duration,

    /// Time from a request's head to its answer, reading the body included; past it, 408.
    #[arg(long, env = "CRM_REQUEST_TIMEOUT", default_value = "30s", value_name = "DURATION", value_parser = parse_connection_timeout)]
    pub request_timeout: Duration,

    /// Connections served at once; more wait in the listen backlog until one closes.
    #[arg(long, env = "CRM_MAX_CONNECTIONS", default_value = "512", value_name = "N", value_parser = parse_max_connections)]
    pub max_connections: usize,

    /// Time the requests in flight have to finish after SIGTERM or ctrl-c; the connections
    /// still open then are closed.
    #[arg(long, env = "CRM_SHUTDOWN_TIMEOUT", default_value = "10s", value_name = "DURATION", value_parser = parse_shutdown_timeout)]
    pub shutdown_timeout: Duration,

    /// Comma-separated addresses or CIDR ranges of the proxies (load balancers) whose
    /// `X-Forwarded-For` gives the client address; from any other peer it is ignored.
    #[arg(long, env = "CRM_TRUSTED_PROXIES", value_name = "ADDRS")]
    pub trusted_proxies: Option<String>,

    /// Time `/health` answers 503 `draining` after SIGTERM or ctrl-c while every other
    /// request is still served, before the shutdown starts.
    #[arg(long, env = "CRM_DRAIN_PERIOD", default_value = "0s", value_name = "DURATION", value_parser = parse_shutdown_timeout)]
    pub drain_period: Duration,

    /// Address of a second listener serving `GET /metrics` (Prometheus text format). Unset:
    /// no listener, and no metric is recorded.
    #[arg(long, env = "CRM_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
}

/// The default of `--hash-queue`.
pub const DEFAULT_HASH_QUEUE: usize = 32;
/// The largest `--hash-concurrency` and `--hash-queue` accepted.
const MAX_HASHING: usize = 4096;

fn parse_hash_concurrency(s: &str) -> Result<NonZeroUsize, String> {
    s.trim()
        .parse::<NonZeroUsize>()
        .ok()
        .filter(|n| n.get() <= MAX_HASHING)
        .ok_or_else(|| {
            format!("invalid count `{s}`: expected a whole number from 1 to {MAX_HASHING}")
        })
}

fn parse_hash_queue(s: &str) -> Result<usize, String> {
    s.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| *n <= MAX_HASHING)
        .ok_or_else(|| {
            format!("invalid count `{s}`: expected a whole number from 0 to {MAX_HASHING}")
        })
}

/// `closed` or `open`: the failure policy of the revocation layer on sensitive routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RevocationFailure {
    /// Refuse the request with 503 and `Retry-After`.
    Closed,
    /// Let the request through, log a warning and count it.
    Open,
}

impl From<RevocationFailure> for FailurePolicy {
    fn from(value: RevocationFailure) -> Self {
        match value {
            RevocationFailure::Closed => FailurePolicy::Closed,
            RevocationFailure::Open => FailurePolicy::Open,
        }
    }
}

/// A login rate: `count` attempts per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginRate {
    /// Attempts allowed in a burst, and per period.
    pub count: NonZeroU32,
    /// The period.
    pub per: Duration,
}

impl FromStr for LoginRate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (count, unit) = s
            .split_once('/')
            .ok_or_else(|| format!("invalid rate `{s}`: expected N/s, N/min or N/hour"))?;
        let count: u32 = count
            .trim()
            .parse()
            .map_err(|_| format!("invalid rate `{s}`: `{count}` is not a whole number"))?;
        let count = NonZeroU32::new(count)
            .filter(|count| count.get() <= 1_000_000)
            .ok_or_else(|| format!("invalid rate `{s}`: the count must be 1 to 1000000"))?;
        let per = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            other => {
                return Err(format!(
                    "invalid rate `{s}`: unknown unit `{other}` (use s, min or hour)"
                ));
            }
        };
        Ok(Self { count, per })
    }
}

impl fmt::Display for LoginRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.per.as_secs() {
            1 => "s",
            60 => "min",
            _ => "hour",
        };
        write!(f, "{}/{unit}", self.count)
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|error| format!("invalid duration `{s}`: {error}"))
}

fn parse_ttl(s: &str) -> Result<Duration, String> {
    let ttl = parse_duration(s)?;
    if ttl < Duration::from_secs(1) || ttl > MAX_TTL {
        return Err(format!("`{s}` is out of range: between 1s and 10 years"));
    }
    Ok(ttl)
}

fn parse_leeway(s: &str) -> Result<Duration, String> {
    let leeway = parse_duration(s)?;
    if leeway > MAX_LEEWAY {
        return Err(format!("`{s}` is out of range: at most 10m"));
    }
    Ok(leeway)
}

/// An origin as browsers send it in `Origin`: `scheme://host[:port]`, scheme `http` or
/// `https`, no path, query or credentials; lowercased, a trailing `/` dropped.
fn parse_origin(s: &str) -> Result<String, String> {
    let origin = s.trim().trim_end_matches('/').to_ascii_lowercase();
    let invalid = |why: &str| format!("invalid origin `{}`: {why}", s.trim());
    let Some((scheme, authority)) = origin.split_once("://") else {
        return Err(invalid("expected scheme://host[:port]"));
    };
    if scheme != "http" && scheme != "https" {
        return Err(invalid("the scheme must be http or https"));
    }
    if authority.is_empty() {
        return Err(invalid("no host"));
    }
    if origin == "*" || authority.contains(['/', '?', '#', '@', '*', ' ']) {
        return Err(invalid(
            "an origin has no path, query, credentials or wildcard",
        ));
    }
    if let Some((host, port)) = authority.rsplit_once(':')
        && !host.ends_with(']')
        && (host.is_empty() || port.parse::<u16>().is_err())
    {
        return Err(invalid("the port must be a number"));
    }
    Ok(origin)
}

fn parse_connection_timeout(s: &str) -> Result<Duration, String> {
    let timeout = parse_duration(s)?;
    if timeout < Duration::from_secs(1) || timeout > MAX_CONNECTION_TIMEOUT {
        return Err(format!("`{s}` is out of range: between 1s and 1h"));
    }
    Ok(timeout)
}

fn parse_shutdown_timeout(s: &str) -> Result<Duration, String> {
    let timeout = parse_duration(s)?;
    if timeout > MAX_CONNECTION_TIMEOUT {
        return Err(format!("`{s}` is out of range: at most 1h"));
    }
    Ok(timeout)
}

/// A refresh grace interval: `0s` to five minutes (longer would keep a usable refresh token
/// in the session store for long).
fn parse_refresh_grace(s: &str) -> Result<Duration, String> {
    let grace = parse_duration(s)?;
    if grace > Duration::from_secs(300) {
        return Err(format!("`{s}` is out of range: at most 5m"));
    }
    Ok(grace)
}

/// Comma-separated addresses (`10.0.0.7`, `2001:db8::1`) and CIDR ranges (`10.0.0.0/8`,
/// `2001:db8::/32`); empty or blank: none.
fn parse_trusted_proxies(s: &str) -> Result<TrustedProxies, StartError> {
    if s.trim().is_empty() {
        return Ok(TrustedProxies::default());
    }
    let parse = |entry: &str| {
        let entry = entry.trim();
        entry
            .parse::<IpAddr>()
            .map(IpNet::from)
            .or_else(|_| entry.parse::<IpNet>())
            .map_err(|_| {
                StartError::flag(
                    "--trusted-proxies",
                    format!(
                        "invalid proxy `{entry}`: expected an IP address or a CIDR range \
                         (10.0.0.0/8)"
                    ),
                )
            })
    };
    let proxies = s.split(',').map(parse).collect::<Result<Vec<_>, _>>()?;
    Ok(TrustedProxies::new(proxies))
}

/// 1 to 64 printable ASCII characters, no space.
fn parse_redis_prefix(s: &str) -> Result<String, String> {
    if (1..=64).contains(&s.len()) && s.bytes().all(|byte| byte.is_ascii_graphic()) {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "invalid prefix `{s}`: expected 1 to 64 printable ASCII characters without space"
        ))
    }
}

fn parse_max_connections(s: &str) -> Result<usize, String> {
    let count: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a whole number"))?;
    if count == 0 || count > MAX_CONNECTIONS {
        return Err(format!("`{s}` is out of range: 1 to {MAX_CONNECTIONS}"));
    }
    Ok(count)
}

fn parse_non_empty(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("must not be empty".to_owned());
    }
    Ok(s.to_owned())
}

/// A configuration error found at start: it names the flag and what is wrong, on one line.
#[derive(Debug)]
pub struct StartError {
    flag: Option<&'static str>,
    message: String,
}

impl StartError {
    /// An error about `flag` (e.g. `--redis-url`).
    pub fn flag(flag: &'static str, message: impl Into<String>) -> Self {
        Self {
            flag: Some(flag),
            message: message.into(),
        }
    }

    /// An error not tied to one flag.
    pub fn other(message: impl Into<String>) -> Self {
        Self {
            flag: None,
            message: message.into(),
        }
    }

    /// The flag the error is about, if any.
    #[must_use]
    pub fn flag_name(&self) -> Option<&'static str> {
        self.flag
    }
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line: newlines of underlying errors are folded.
        let message = self.message.replace(['\n', '\r'], " ");
        match self.flag {
            Some(flag) => write!(f, "{flag}: {message}"),
            None => f.write_str(&message),
        }
    }
}

impl std::error::Error for StartError {}

/// How the tokens are signed.
#[derive(Clone)]
pub enum Signing {
    /// HS256 with this secret (`--jwt-secret`).
    Secret(Vec<u8>),
    /// The PEM private key in this file (`--jwt-private-key`).
    PrivateKey(PathBuf),
    /// HS256 with a random secret generated once and kept in the database.
    Generated,
}

impl fmt::Debug for Signing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Secret(_) => f.write_str("Secret(<redacted>)"),
            Self::PrivateKey(path) => f.debug_tuple("PrivateKey").field(path).finish(),
            Self::Generated => f.write_str("Generated"),
        }
    }
}

/// The superuser ensured at start.
#[derive(Clone)]
pub struct Admin {
    /// Its email.
    pub email: String,
    /// Its password.
    pub password: String,
}

impl fmt::Debug for Admin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Admin")
            .field("email", &self.email)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The validated configuration of the app.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind.
    pub listen: SocketAddr,
    /// Database URL (`sqlite:` or `postgres:`).
    pub database_url: String,
    /// Redis URL, when revocations and sessions are shared through Redis.
    pub redis_url: Option<String>,
    /// How tokens are signed.
    pub signing: Signing,
    /// Access token lifetime.
    pub access_ttl: Duration,
    /// Refresh token and session lifetime.
    pub refresh_ttl: Duration,
    /// How long a spent refresh token may be retried for the same pair (`0s`: never).
    pub refresh_grace: Duration,
    /// Session lifetime with `remember_me`.
    pub remember_me_ttl: Duration,
    /// Clock-skew allowance.
    pub leeway: Duration,
    /// `iss`.
    pub issuer: String,
    /// `aud`.
    pub audience: String,
    /// The superuser to ensure at start.
    pub admin: Option<Admin>,
    /// Login attempts per client IP and per username.
    pub login_rate: LoginRate,
    /// What sensitive routes do when the revocation store fails.
    pub revocation_failure: FailurePolicy,
    /// Origins allowed to call the API from another origin (CORS with credentials), and
    /// accepted as `Origin` on the browser routes.
    pub allowed_origins: Vec<String>,
    /// Password hashes at once at most.
    pub hash_concurrency: NonZeroUsize,
    /// Requests of each kind that may wait for a password hash.
    pub hash_queue: usize,
    /// The prefix of the app's Redis keys and channels.
    pub redis_prefix: String,
    /// How connections are served: timeouts, how many at once, the shutdown deadline.
    pub server: ServerLimits,
    /// The proxies whose `X-Forwarded-For` gives the client address.
    pub trusted_proxies: TrustedProxies,
    /// Time `/health` answers 503 `draining` after the signal, before the shutdown starts.
    pub drain_period: Duration,
    /// The address of the `/metrics` listener; `None`: no listener and no recorder.
    pub metrics_listen: Option<SocketAddr>,
}

/// How [`serve`](crate::serve) treats connections: timeouts, how many at once, and how long a
/// shutdown may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// Time a connection has to send a whole request head, counted from when it opens or from
    /// the previous answer (so also the idle timeout of a kept-alive connection); past it, the
    /// connection is closed without an answer.
    pub header_read_timeout: Duration,
    /// Time from a request's head to its answer, reading the body included; past it, the
    /// answer is a 408 and the connection is closed.
    pub request_timeout: Duration,
    /// Connections served at once; beyond, new ones are not accepted (they wait in the
    /// listen backlog) until one closes.
    pub max_connections: usize,
    /// Time the requests in flight have to finish once the shutdown starts; the connections
    /// still open then are closed.
    pub shutdown_timeout: Duration,
}

/// The proxies (load balancers) whose `X-Forwarded-For` gives the client address
/// (`--trusted-proxies`): addresses and CIDR ranges. Cheap to clone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Arc<[IpNet]>);

impl TrustedProxies {
    /// These addresses and ranges.
    #[must_use]
    pub fn new(proxies: impl IntoIterator<Item = IpNet>) -> Self {
        Self(proxies.into_iter().collect())
    }

    /// Whether there is none (`X-Forwarded-For` is never read).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is one of them (an IPv4-mapped IPv6 address as its IPv4 address).
    #[must_use]
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }
}

impl Config {
    /// Parse and validate the command line (and the environment).
    ///
    /// # Errors
    ///
    /// clap's error for flags that do not parse (print it with [`clap::Error::exit`] for
    /// `--help` and `--version`), or a [`StartError`] naming the flag.
    pub fn from_args<I, T>(args: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let cli = Cli::try_parse_from(args).map_err(ConfigError::Clap)?;
        Self::from_cli(cli).map_err(ConfigError::Start)
    }

    /// Validate parsed flags (the checks that must not echo a secret).
    ///
    /// # Errors
    ///
    /// A [`StartError`] naming the flag.
    pub fn from_cli(cli: Cli) -> Result<Self, StartError> {
        let database_url = cli.database_url.trim().to_owned();
        if !is_sqlite_url(&database_url) && !is_postgres_url(&database_url) {
            return Err(StartError::flag(
                "--database-url",
                "expected a `sqlite:` or `postgres://` URL",
            ));
        }
        let signing = match (cli.jwt_secret, cli.jwt_private_key) {
            (Some(secret), _) => {
                if secret.len() < MIN_SECRET_LEN {
                    return Err(StartError::flag(
                        "--jwt-secret",
                        format!(
                            "the secret is {} bytes long, at least {MIN_SECRET_LEN} are required",
                            secret.len()
                        ),
                    ));
                }
                Signing::Secret(secret.into_bytes())
            }
            (None, Some(path)) => Signing::PrivateKey(path),
            (None, None) => Signing::Generated,
        };
        let admin = match (cli.admin_email, cli.admin_password) {
            (Some(email), Some(password)) => {
                let email = crate::validate::email(&email)
                    .map_err(|reason| StartError::flag("--admin-email", reason))?;
                crate::validate::password(&password)
                    .map_err(|reason| StartError::flag("--admin-password", reason))?;
                Some(Admin { email, password })
            }
            _ => None,
        };
        if let Some(metrics) = cli.metrics_listen
            && metrics.port() != 0
            && metrics == cli.listen
        {
            return Err(StartError::flag(
                "--metrics-listen",
                format!("{metrics} is also the --listen address: give /metrics its own port"),
            ));
        }
        let trusted_proxies = parse_trusted_proxies(cli.trusted_proxies.as_deref().unwrap_or(""))?;
        if cli.access_ttl > cli.refresh_ttl {
            return Err(StartError::flag(
                "--access-ttl",
                "must not be longer than --refresh-ttl",
            ));
        }
        Ok(Self {
            listen: cli.listen,
            database_url,
            redis_url: cli.redis_url.filter(|url| !url.trim().is_empty()),
            signing,
            access_ttl: cli.access_ttl,
            refresh_ttl: cli.refresh_ttl,
            refresh_grace: cli.refresh_grace,
            remember_me_ttl: cli.remember_me_ttl,
            leeway: cli.leeway,
            issuer: cli.issuer,
            audience: cli.audience,
            admin,
            login_rate: cli.login_rate,
            revocation_failure: cli.revocation_failure.into(),
            allowed_origins: cli
                .allowed_origins
                .iter()
                .enumerate()
                .filter(|(i, origin)| !cli.allowed_origins[..*i].contains(origin))
                .map(|(_, origin)| origin.clone())
                .collect(),
            hash_concurrency: cli.hash_concurrency.unwrap_or_else(|| {
                std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN)
            }),
            hash_queue: cli.hash_queue,
            redis_prefix: cli.redis_prefix,
            server: ServerLimits {
                header_read_timeout: cli.header_read_timeout,
                request_timeout: cli.request_timeout,
                max_connections: cli.max_connections,
                shutdown_timeout: cli.shutdown_timeout,
            },
            metrics_listen: cli.metrics_listen,
            trusted_proxies,
            drain_period: cli.drain_period,
        })
    }
}

/// Why the configuration was refused.
#[derive(Debug)]
pub enum ConfigError {
    /// A flag did not parse (or `--help` / `--version` was asked).
    Clap(clap::Error),
    /// A flag parsed but its value is refused.
    Start(StartError),
}

/// The log filter `CRM_LOG` sets (see [`log_filter`]).
///
/// # Errors
///
/// A [`StartError`] naming `CRM_LOG` when it is not valid Unicode or does not parse.
pub fn log_filter_from_env() -> Result<Targets, StartError> {
    match std::env::var(LOG_ENV) {
        Ok(spec) => log_filter(Some(&spec)),
        Err(std::env::VarError::NotPresent) => log_filter(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(StartError::flag(LOG_ENV, "the filter is not valid Unicode"))
        }
    }
}

/// The log filter: `spec`, as `CRM_LOG` gives it (`debug`, `info,tollgate=debug`), or, when it
/// is unset or empty, `info` with `sqlx` at `warn`.
///
/// # Errors
///
/// A [`StartError`] naming `CRM_LOG` when `spec` does not parse.
pub fn log_filter(spec: Option<&str>) -> Result<Targets, StartError> {
    match spec.map(str::trim).filter(|spec| !spec.is_empty()) {
        Some(spec) => spec.parse::<Targets>().map_err(|error| {
            StartError::flag(LOG_ENV, format!("invalid log filter `{spec}`: {error}"))
        }),
        None => Ok(Targets::new()
            .with_default(tracing::Level::INFO)
            .with_target("sqlx", tracing::Level::WARN)),
    }
}

pub(crate) fn is_sqlite_url(url: &str) -> bool {
    url.starts_with("sqlite:")
}

pub(crate) fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// `url` without its password, for messages and logs.
#[must_use]
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            if userinfo.contains(':') {
                format!("{scheme}://{user}:***@{host}{tail}")
            } else {
                format!("{scheme}://{user}@{host}{tail}")
            }
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse() {
        let rate: LoginRate = "5/min".parse().unwrap();
        assert_eq!(rate.count.get(), 5);
        assert_eq!(rate.per, Duration::from_secs(60));
        assert!("0/min".parse::<LoginRate>().is_err());
        assert!("5/week".parse::<LoginRate>().is_err());
        assert!("five/min".parse::<LoginRate>().is_err());
        assert_eq!("10/s".parse::<LoginRate>().unwrap().to_string(), "10/s");
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact_url("redis://:hunter2@host:6379/0"),
            "redis://:***@host:6379/0"
        );
        assert_eq!(
            redact_url("postgres://u:p@h/db?x=1"),
            "postgres://u:***@h/db?x=1"
        );
        assert_eq!(redact_url("redis://host"), "redis://host");
    }

    #[test]
    fn a_short_secret_names_the_flag_without_echoing_it() {
        let Err(ConfigError::Start(error)) =
            Config::from_args(["crm", "--jwt-secret", "too-short-secret"])
        else {
            panic!("accepted a short secret");
        };
        let line = error.to_string();
        assert!(line.starts_with("--jwt-secret:"), "{line}");
        assert!(!line.contains("too-short-secret"), "{line}");
    }

    #[test]
    fn log_filters_parse_or_name_crm_log() {
        assert!(log_filter(None).is_ok());
        assert!(log_filter(Some("  ")).is_ok());
        assert!(log_filter(Some("debug")).is_ok());
        assert!(log_filter(Some("info,tollgate=debug")).is_ok());
        let error = log_filter(Some("info,tollgate=loud")).unwrap_err();
        assert_eq!(error.flag_name(), Some("CRM_LOG"));
        assert!(
            error
                .to_string()
                .starts_with("CRM_LOG: invalid log filter `info,tollgate=loud`"),
            "{error}"
        );
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let config = Config::from_args(["crm"]).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.database_url, "sqlite://crm.db?mode=rwc");
        assert_eq!(config.access_ttl, Duration::from_secs(1800));
        assert_eq!(config.refresh_ttl, Duration::from_secs(7 * 86400));
        assert_eq!(config.remember_me_ttl, Duration::from_secs(30 * 86400));
        assert_eq!(config.leeway, Duration::ZERO);
        assert_eq!(config.login_rate.to_string(), "5/min");
        assert_eq!(config.revocation_failure, FailurePolicy::Closed);
        assert!(config.allowed_origins.is_empty());
        assert_eq!(
            Some(config.hash_concurrency),
            std::thread::available_parallelism().ok()
        );
        assert_eq!(config.hash_queue, 32);
        assert_eq!(config.metrics_listen, None);
        assert!(config.trusted_proxies.is_empty());
        assert_eq!(config.redis_prefix, "crm:");
        assert_eq!(config.drain_period, Duration::ZERO);
        assert_eq!(
            config.server,
            ServerLimits {
                header_read_timeout: Duration::from_secs(10),
                request_timeout: Duration::from_secs(30),
                max_connections: 512,
                shutdown_timeout: Duration::from_secs(10),
            }
        );
    }

    #[test]
    fn connection_limits_parse_and_refuse_what_is_out_of_range() {
        let config = Config::from_args([
            "crm",
            "--header-read-timeout",
            "2s",
            "--request-timeout",
            "1m",
            "--max-connections",
            "50",
            "--shutdown-timeout",
            "0s",
        ])
        .unwrap();
        assert_eq!(config.server.header_read_timeout, Duration::from_secs(2));
        assert_eq!(config.server.request_timeout, Duration::from_secs(60));
        assert_eq!(config.server.max_connections, 50);
        assert_eq!(config.server.shutdown_timeout, Duration::ZERO);
        for (flag, bad) in [
            ("--header-read-timeout", "0s"),
            ("--header-read-timeout", "2h"),
            ("--header-read-timeout", "soon"),
            ("--request-timeout", "500ms"),
            ("--max-connections", "0"),
            ("--max-connections", "many"),
            ("--max-connections", "1000001"),
            ("--shutdown-timeout", "2h"),
        ] {
            let Err(ConfigError::Clap(error)) = Config::from_args(["crm", flag, bad]) else {
                panic!("{flag} {bad} accepted");
            };
            assert!(error.to_string().contains(flag), "{error}");
        }
    }

    #[test]
    fn hashing_sizes_parse_and_refuse_what_is_out_of_range() {
        let config =
            Config::from_args(["crm", "--hash-concurrency", "3", "--hash-queue", "0"]).unwrap();
        assert_eq!(config.hash_concurrency.get(), 3);
        assert_eq!(config.hash_queue, 0);
        for (flag, bad) in [
            ("--hash-concurrency", "0"),
            ("--hash-concurrency", "4097"),
            ("--hash-concurrency", "two"),
            ("--hash-queue", "-1"),
            ("--hash-queue", "4097"),
        ] {
            assert!(
                Config::from_args(["crm", flag, bad]).is_err(),
                "{flag} {bad} accepted"
            );
        }
    }

    #[test]
    fn allowed_origins_parse_and_refuse_what_is_not_an_origin() {
        let config = Config::from_args([
            "crm",
            "--allowed-origins",
            "https://App.example/,http://localhost:3000",
        ])
        .unwrap();
        assert_eq!(
            config.allowed_origins,
            ["https://app.example", "http://localhost:3000"]
        );
        for bad in [
            "*",
            "app.example",
            "ftp://app.example",
            "https://app.example/path",
            "https://*.example",
            "https://app.example:port",
            "https://",
        ] {
            assert!(
                Config::from_args(["crm", "--allowed-origins", bad]).is_err(),
                "{bad} accepted"
            );
        }
    }

    #[test]
    fn metrics_listen_parses_and_refuses_a_bad_or_shared_address() {
        let config = Config::from_args(["crm", "--metrics-listen", "127.0.0.1:9464"]).unwrap();
        assert_eq!(
            config.metrics_listen,
            Some("127.0.0.1:9464".parse().unwrap())
        );
        for bad in ["localhost", "127.0.0.1", "127.0.0.1:99999", "9464", ""] {
            let Err(ConfigError::Clap(error)) = Config::from_args(["crm", "--metrics-listen", bad])
            else {
                panic!("--metrics-listen {bad:?} accepted");
            };
            assert!(error.to_string().contains("--metrics-listen"), "{error}");
        }
        let Err(ConfigError::Start(error)) = Config::from_args([
            "crm",
            "--listen",
            "127.0.0.1:8080",
            "--metrics-listen",
            "127.0.0.1:8080",
        ]) else {
            panic!("the --listen address accepted for /metrics");
        };
        assert_eq!(error.flag_name(), Some("--metrics-listen"));
        // Two free ports chosen by the system are two addresses.
        let config = Config::from_args([
            "crm",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
        ])
        .unwrap();
        assert_eq!(config.metrics_listen, Some("127.0.0.1:0".parse().unwrap()));
    }

    #[test]
    fn trusted_proxies_parse_addresses_and_ranges() {
        let config = Config::from_args([
            "crm",
            "--trusted-proxies",
            "10.0.0.0/8, 192.0.2.7,2001:db8::/32,::1",
        ])
        .unwrap();
        let proxies = &config.trusted_proxies;
        for trusted in [
            "10.1.2.3",
            "192.0.2.7",
            "2001:db8::5",
            "::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(proxies.contains(trusted.parse().unwrap()), "{trusted}");
        }
        for other in ["11.0.0.1", "192.0.2.8", "2001:db9::1", "127.0.0.1"] {
            assert!(!proxies.contains(other.parse().unwrap()), "{other}");
        }
    }

    #[test]
    fn bad_trusted_proxies_name_the_flag() {
        for blank in ["", " "] {
            let config = Config::from_args(["crm", "--trusted-proxies", blank]).unwrap();
            assert!(config.trusted_proxies.is_empty());
            assert_eq!(config.redis_prefix, "crm:");
        }
        for bad in [
            "10.0.0.0/33",
            "lb.internal",
            "10.0.0",
            "10.0.0.1:80",
            "*",
            "10.0.0.0/8,",
        ] {
            let Err(ConfigError::Start(error)) =
                Config::from_args(["crm", "--trusted-proxies", bad])
            else {
                panic!("--trusted-proxies {bad:?} accepted");
            };
            assert_eq!(error.flag_name(), Some("--trusted-proxies"), "{error}");
            assert!(error.to_string().contains("invalid proxy"), "{error}");
        }
    }

    #[test]
    fn the_redis_prefix_is_plain_and_short() {
        let config = Config::from_args(["crm", "--redis-prefix", "crm-eu:"]).unwrap();
        assert_eq!(config.redis_prefix, "crm-eu:");
        let long = "p".repeat(65);
        for bad in ["", "a b", "caf\u{e9}:", long.as_str()] {
            let Err(ConfigError::Clap(error)) = Config::from_args(["crm", "--redis-prefix", bad])
            else {
                panic!("--redis-prefix {bad:?} accepted");
            };
            assert!(error.to_string().contains("--redis-prefix"), "{error}");
        }
    }

    #[test]
    fn the_refresh_grace_parses_and_refuses_what_is_out_of_range() {
        let config = Config::from_args(["crm"]).unwrap();
        assert_eq!(config.refresh_grace, Duration::ZERO);
        let config = Config::from_args(["crm", "--refresh-grace", "10s"]).unwrap();
        assert_eq!(config.refresh_grace, Duration::from_secs(10));
        for bad in ["6m", "soon", "10 parsecs"] {
            let Err(ConfigError::Clap(error)) = Config::from_args(["crm", "--refresh-grace", bad])
            else {
                panic!("--refresh-grace {bad} accepted");
            };
            assert!(error.to_string().contains("--refresh-grace"), "{error}");
        }
    }

    #[test]
    fn the_drain_period_parses_and_refuses_what_is_out_of_range() {
        let config = Config::from_args(["crm", "--drain-period", "15s"]).unwrap();
        assert_eq!(config.drain_period, Duration::from_secs(15));
        for bad in ["2h", "soon", "5 parsecs"] {
            let Err(ConfigError::Clap(error)) = Config::from_args(["crm", "--drain-period", bad])
            else {
                panic!("--drain-period {bad} accepted");
            };
            assert!(error.to_string().contains("--drain-period"), "{error}");
        }
    }
}
