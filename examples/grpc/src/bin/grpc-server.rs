//! The customer service over gRPC, behind tollgate's verify, revocation and policy layers.
//!
//! Run with
//!
//! ```not_rust
//! # accept the CRM's tokens (same HS256 secret, issuer `crm`, audience `crm-api`)
//! GRPC_JWT_SECRET="$CRM_JWT_SECRET" cargo run -p grpc --bin grpc-server
//! # or with the CRM's public keys
//! cargo run -p grpc --bin grpc-server -- --jwks-url http://127.0.0.1:8080/.well-known/jwks.json
//! ```
//!
//! See `examples/grpc/README.md` for every flag and for running it next to the CRM.

use std::{
    io::IsTerminal, net::SocketAddr, path::PathBuf, process::ExitCode, str::FromStr, time::Duration,
};

use clap::{ArgGroup, Parser, ValueEnum};
use grpc::{Directory, app, crm_hs256_kid};
use tollgate::{
    RevocationLayer,
    key::Algorithm,
    key::{Key, KeySource, RemoteJwks},
    revocation::{FailurePolicy, MemoryRevocationStore, RevocationStore, TokenRef},
    verify::TrustedIssuer,
    verify::Verifier,
};
use tollgate_redis::{LocalCache, RedisRevocationStore, redis};
use tonic::transport::{Server, server::TcpIncoming};
use tracing_subscriber::EnvFilter;

/// The customer service over gRPC: List and Get need `customer:read`; Delete needs
/// `customer:delete` and refuses revoked tokens.
#[derive(Debug, Parser)]
#[command(name = "grpc-server", version)]
#[command(group(ArgGroup::new("key").required(true).args(["jwt_secret", "jwt_public_key", "jwks_url"])))]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "GRPC_LISTEN", default_value = "127.0.0.1:50051")]
    listen: SocketAddr,

    /// HS256 secret the tokens are signed with (at least 32 bytes): the CRM's `CRM_JWT_SECRET`.
    #[arg(long, env = "GRPC_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,

    /// PEM file with the issuer's public key (RSA, P-256, P-384 or Ed25519).
    #[arg(long, env = "GRPC_JWT_PUBLIC_KEY")]
    jwt_public_key: Option<PathBuf>,

    /// Algorithm of the PEM public key; by default EdDSA, ES256 or ES384 from the key, RS256
    /// for RSA keys.
    #[arg(long, env = "GRPC_JWT_ALGORITHM", requires = "jwt_public_key")]
    jwt_algorithm: Option<String>,

    /// The `kid` the issuer puts in the token header for the secret or PEM key (not needed
    /// with a JWKS, whose keys carry their `kid`). Tokens naming another `kid` are refused.
    /// Default with `--jwt-secret`: the `kid` the CRM derives from the secret; with
    /// `--jwt-public-key`: none (only tokens without a `kid` are accepted).
    #[arg(long, env = "GRPC_JWT_KID", conflicts_with = "jwks_url")]
    jwt_kid: Option<String>,

    /// URL of the issuer's JWK Set (`https`, or `http` to a loopback address), fetched at
    /// start and refreshed in the background.
    #[arg(long, env = "GRPC_JWKS_URL")]
    jwks_url: Option<String>,

    /// Expected `iss` claim.
    #[arg(long, env = "GRPC_ISSUER", default_value = "crm")]
    issuer: String,

    /// Expected `aud` claim.
    #[arg(long, env = "GRPC_AUDIENCE", default_value = "crm-api")]
    audience: String,

    /// Clock-skew allowance on `exp` and `nbf` (`0s`, `30s`, `2m`).
    #[arg(long, env = "GRPC_LEEWAY", default_value = "0s", value_parser = parse_duration)]
    leeway: Duration,

    /// Redis URL: share revocations with other services (the CRM) through Redis. Without
    /// it, revocations live in this process only.
    #[arg(long, env = "GRPC_REDIS_URL", hide_env_values = true)]
    redis_url: Option<String>,

    /// Prefix of the revocation keys in Redis: the same as the issuer's to see its
    /// revocations (the CRM's is `crm:`).
    #[arg(long, env = "GRPC_REDIS_PREFIX", default_value = "crm:")]
    redis_prefix: String,

    /// What Delete does when the revocation store cannot answer: `closed` refuses
    /// (UNAVAILABLE), `open` lets the call through.
    #[arg(long, env = "GRPC_REVOCATION_FAILURE", default_value = "closed")]
    revocation_failure: Failure,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Failure {
    Closed,
    Open,
}

fn parse_duration(text: &str) -> Result<Duration, humantime::DurationError> {
    humantime::parse_duration(text)
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_ansi(std::io::stdout().is_terminal())
        .init();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("grpc-server: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), BoxError> {
    let verifier = Verifier::new(
        TrustedIssuer::new(args.issuer.as_str(), keys(&args).await?)
            .add_audience(args.audience.as_str()),
    )
    .header_typ("at+jwt")?
    .token_type_claim("access")?
    .leeway(args.leeway)?;
    let failure = match args.revocation_failure {
        Failure::Closed => FailurePolicy::Closed,
        Failure::Open => FailurePolicy::Open,
    };

    match &args.redis_url {
        Some(url) => {
            let client = redis::Client::open(url.as_str())
                .map_err(|error| format!("bad redis url: {error}"))?;
            let store = RedisRevocationStore::builder(client)
                .prefix(args.redis_prefix.as_str())?
                .local_cache(LocalCache::new())
                .build()
                .map_err(|error| format!("redis: {error}"))?;
            // Fail fast: one look-up of a token id nobody uses.
            store
                .check(&TokenRef::new("grpc-server-startup-probe", 0))
                .await
                .map_err(|error| format!("redis unreachable: {error}"))?;
            serve(&args, verifier, store, failure).await
        }
        None => serve(&args, verifier, MemoryRevocationStore::new(), failure).await,
    }
}

/// The verification keys from the secret, the PEM file or the JWKS URL.
async fn keys(args: &Args) -> Result<KeySource, BoxError> {
    let with_kid = |key: Key| match &args.jwt_kid {
        Some(kid) => key.with_kid(kid.as_str()),
        None => key,
    };
    if let Some(secret) = &args.jwt_secret {
        let key = Key::hmac(Algorithm::HS256, secret.as_bytes())?;
        let kid = args
            .jwt_kid
            .clone()
            .unwrap_or_else(|| crm_hs256_kid(secret.as_bytes()));
        tracing::info!(kid = %kid, "verifying HS256 tokens with the shared secret");
        return Ok(key.with_kid(kid).into());
    }
    if let Some(path) = &args.jwt_public_key {
        let pem = tokio::fs::read(path)
            .await
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        let key = match &args.jwt_algorithm {
            Some(name) => {
                let algorithm =
                    Algorithm::from_str(name).map_err(|_| format!("unknown algorithm {name:?}"))?;
                Key::from_pem(algorithm, &pem)?
            }
            None => [
                Algorithm::EdDSA,
                Algorithm::ES256,
                Algorithm::ES384,
                Algorithm::RS256,
            ]
            .into_iter()
            .find_map(|algorithm| Key::from_pem(algorithm, &pem).ok())
            .ok_or_else(|| format!("{} holds no supported public key", path.display()))?,
        };
        return Ok(with_kid(key).into());
    }
    if let Some(url) = &args.jwks_url {
        let jwks = RemoteJwks::new(url)?;
        jwks.refresh()
            .await
            .map_err(|error| format!("cannot fetch {url}: {error}"))?;
        return Ok(jwks.into());
    }
    Err("no key: give --jwt-secret, --jwt-public-key or --jwks-url".into())
}

async fn serve<St: RevocationStore>(
    args: &Args,
    verifier: Verifier,
    store: St,
    failure: FailurePolicy,
) -> Result<(), BoxError> {
    let revocation = RevocationLayer::new(store).failure_policy(failure);
    let service = app(verifier, revocation, Directory::demo())?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|error| format!("cannot listen on {}: {error}", args.listen))?;
    tracing::info!(
        address = %listener.local_addr()?,
        revocations = if args.redis_url.is_some() { "redis" } else { "memory" },
        "grpc-server listening"
    );
    Server::builder()
        .serve_with_incoming_shutdown(service, TcpIncoming::from(listener), shutdown())
        .await?;
    tracing::info!("grpc-server stopped");
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown() {
    #[cfg(unix)]
    if let Ok(mut terminate) =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        return;
    }
    if tokio::signal::ctrl_c().await.is_err() {
        // No signal handling: run until killed.
        std::future::pending::<()>().await;
    }
}
