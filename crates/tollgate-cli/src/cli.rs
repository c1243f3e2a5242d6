//! The command line: commands, arguments and their help.

use std::{path::PathBuf, time::Duration};

use clap::{ArgGroup, Args, Parser, Subcommand};
use clap_complete::Shell;
use tollgate::key::Algorithm;

use crate::input::{parse_algorithm, parse_duration, parse_time};

/// Keys, tokens and revocations for services that use the tollgate layers.
///
/// Exit status: 0 success (or a valid token), 1 a token refused, 2 a usage or configuration
/// error, 3 a service that does not answer.
#[derive(Debug, Parser)]
#[command(name = "tollgate", version, max_term_width = 100)]
pub(crate) struct Cli {
    /// Print one JSON object on stdout instead of text, for scripts.
    #[arg(long, global = true)]
    pub(crate) json: bool,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Generate a key: an HMAC secret, or a private key with its public half and a JWK Set.
    Keygen(KeygenArgs),
    /// Print the JWK Set (the public halves) of PEM keys, as an issuer publishes it.
    Jwks(JwksArgs),
    /// Sign a token, with `iat`, `exp` and a random `jti`.
    Mint(MintArgs),
    /// Show a token's header and claims WITHOUT verifying anything.
    Inspect(InspectArgs),
    /// Verify a token with the checks a service makes.
    Verify(VerifyArgs),
    /// Record a revocation in the Redis store the services share.
    Revoke(RevokeArgs),
    /// Ask the Redis store what the revocation layer would answer for a token.
    Check(CheckArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: Shell,
    },
}

/// `tollgate keygen`.
#[derive(Debug, Args)]
pub(crate) struct KeygenArgs {
    /// The algorithm the key signs with (HS256, HS384, HS512, RS256, RS384, RS512, PS256,
    /// PS384, PS512, ES256, ES384, EdDSA).
    #[arg(long, value_parser = parse_algorithm)]
    pub(crate) alg: Algorithm,

    /// The key id, which names the files too [default: the date and the algorithm, as
    /// 2026-12-03-es256].
    #[arg(long)]
    pub(crate) kid: Option<String>,

    /// The folder to write the files into; it must exist.
    #[arg(long, default_value = ".")]
    pub(crate) out: PathBuf,

    /// The RSA key size in bits: 2048, 3072, 4096 or 8192 (RS* and PS* only) [default: 2048].
    #[arg(long)]
    pub(crate) bits: Option<usize>,
}

/// `tollgate jwks`.
#[derive(Debug, Args)]
pub(crate) struct JwksArgs {
    /// PEM files, public or private, each optionally followed by `:KID` [default KID: the file
    /// name without `.pub.pem` or `.pem`].
    #[arg(required = true, value_name = "PEM[:KID]")]
    pub(crate) keys: Vec<String>,

    /// The keys' algorithm; needed for RSA keys, found from the key for EC and Ed25519 keys.
    #[arg(long, value_parser = parse_algorithm)]
    pub(crate) alg: Option<Algorithm>,
}

/// The key a token is signed or verified with: one of a secret file or a PEM file.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct KeyArgs {
    /// A file holding an HMAC secret, base64url, as `tollgate keygen` writes it.
    #[arg(long, value_name = "FILE")]
    pub(crate) secret_file: Option<PathBuf>,

    /// A PEM key file: the private key to sign; the public or private key to verify.
    #[arg(long, value_name = "PEM")]
    pub(crate) key: Option<PathBuf>,
}

/// `tollgate mint`.
#[derive(Debug, Args)]
pub(crate) struct MintArgs {
    #[command(flatten)]
    pub(crate) key: KeyArgs,

    /// The algorithm [default: HS256 for a secret, found from the key for EC and Ed25519;
    /// required for RSA].
    #[arg(long, value_parser = parse_algorithm)]
    pub(crate) alg: Option<Algorithm>,

    /// The key id written into the header [default: the key file's name without
    /// `.secret`, `.pub.pem` or `.pem`].
    #[arg(long)]
    pub(crate) kid: Option<String>,

    /// The issuer (`iss`).
    #[arg(long)]
    pub(crate) iss: String,

    /// An audience (`aud`); repeat for several.
    #[arg(long)]
    pub(crate) aud: Vec<String>,

    /// The subject (`sub`).
    #[arg(long)]
    pub(crate) sub: Option<String>,

    /// How long the token lives (`exp` - `iat`), as 30m, 1h, 90s.
    #[arg(long, default_value = "30m", value_parser = parse_duration)]
    pub(crate) ttl: Duration,

    /// The header's `typ`, as at+jwt [default: none].
    #[arg(long)]
    pub(crate) typ: Option<String>,

    /// A claim, NAME=VALUE; VALUE is taken as JSON when it parses as JSON (a number, an
    /// array, an object, true), else as a string. Repeat for several; it replaces a claim
    /// mint sets (`--claim exp=1` makes an expired token).
    #[arg(long, value_name = "NAME=VALUE")]
    pub(crate) claim: Vec<String>,

    /// A file holding a JSON object of claims, applied before the `--claim`s.
    #[arg(long, value_name = "FILE")]
    pub(crate) claims_json: Option<PathBuf>,
}

/// `tollgate inspect`.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// The token [default: read from stdin].
    pub(crate) token: Option<String>,
}

/// `tollgate verify`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("verify_key").required(true).multiple(false)))]
pub(crate) struct VerifyArgs {
    /// The token [default: read from stdin].
    pub(crate) token: Option<String>,

    /// A file holding an HMAC secret, base64url.
    #[arg(long, value_name = "FILE", group = "verify_key")]
    pub(crate) secret_file: Option<PathBuf>,

    /// A PEM key file, public or private.
    #[arg(long, value_name = "PEM", group = "verify_key")]
    pub(crate) key: Option<PathBuf>,

    /// A JWK Set: a file, or an https:// URL fetched once.
    #[arg(long, value_name = "FILE_OR_HTTPS_URL", group = "verify_key")]
    pub(crate) jwks: Option<String>,

    /// The key's algorithm, for --secret-file and --key [default: HS256 for a secret, found
    /// from the key for EC and Ed25519; required for RSA].
    #[arg(long, value_parser = parse_algorithm)]
    pub(crate) alg: Option<Algorithm>,

    /// The key id of --secret-file or --key [default: the file's name without `.secret`,
    /// `.pub.pem` or `.pem`].
    #[arg(long)]
    pub(crate) kid: Option<String>,

    /// The trusted issuer: the token's `iss` must be it [default: any issuer].
    #[arg(long)]
    pub(crate) iss: Option<String>,

    /// An accepted audience; repeat for several. Without any, a token that carries `aud`
    /// is refused, as a service without audiences refuses it.
    #[arg(long)]
    pub(crate) aud: Vec<String>,

    /// The header `typ` the token must have, as at+jwt [default: not checked].
    #[arg(long)]
    pub(crate) typ: Option<String>,

    /// Clock-skew allowance for `exp`, `nbf` and `iat`, as 30s (at most 1h).
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub(crate) leeway: Duration,
}

/// The Redis revocation store the services share.
#[derive(Debug, Args)]
pub(crate) struct RedisArgs {
    /// The Redis server, as redis://HOST:PORT/DB (rediss:// for TLS).
    #[arg(long, value_name = "URL")]
    pub(crate) redis_url: String,

    /// The services' key prefix (the CRM's is crm:).
    #[arg(long, default_value = "tollgate:")]
    pub(crate) prefix: String,

    /// How long to wait for Redis before giving up (exit 3).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub(crate) timeout: Duration,
}

/// `tollgate revoke`.
#[derive(Debug, Args)]
pub(crate) struct RevokeArgs {
    #[command(flatten)]
    pub(crate) redis: RedisArgs,

    #[command(subcommand)]
    pub(crate) what: Revocation,
}

/// What `tollgate revoke` revokes. A TIME is RFC 3339 (2026-12-03T16:00:00Z) or Unix
/// seconds.
#[derive(Debug, Subcommand)]
pub(crate) enum Revocation {
    /// Revoke one token by its `jti`, until its `exp`.
    Token {
        /// The token's `jti`. It may start with `-` (an id in base64url often does).
        #[arg(allow_hyphen_values = true)]
        jti: String,
        /// The token's `exp`: the entry is kept until then (plus the store's leeway).
        #[arg(long, value_parser = parse_time)]
        until: i64,
    },
    /// End a session: every token carrying this `sid` is refused.
    Session {
        /// The session id (`sid`). It may start with `-` (an id in base64url often does).
        #[arg(allow_hyphen_values = true)]
        sid: String,
        /// The expiry of the session's last token.
        #[arg(long, value_parser = parse_time)]
        until: i64,
    },
    /// Cut a subject off: every token of SUB issued at or before --at is refused.
    Subject {
        /// The subject (`sub`), e.g. a user id. It may start with `-` (an id in base64url often does).
        #[arg(allow_hyphen_values = true)]
        sub: String,
        /// Tokens issued (`iat`) at or before this time are refused [default: now].
        #[arg(long, value_parser = parse_time)]
        at: Option<i64>,
        /// How long the cut-off is kept: the latest `exp` of a token (refresh tokens included)
        /// issued by then [default: --at plus 30 days].
        #[arg(long, value_parser = parse_time)]
        until: Option<i64>,
    },
    /// Set a subject's permission version: tokens with an older `ver` are stale.
    Version {
        /// The subject (`sub`). It may start with `-` (an id in base64url often does).
        #[arg(allow_hyphen_values = true)]
        sub: String,
        /// The new version; a lower one never replaces a higher one.
        version: u64,
        /// How long the version is kept [default: now plus 30 days].
        #[arg(long, value_parser = parse_time)]
        until: Option<i64>,
    },
}

/// `tollgate check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    pub(crate) redis: RedisArgs,

    /// The token [default: read from stdin]. Its claims are read without verifying it.
    pub(crate) token: Option<String>,
}
