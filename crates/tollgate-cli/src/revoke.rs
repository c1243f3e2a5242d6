//! `revoke` and `check`, on the Redis revocation store the services share.

use std::future::Future;

use serde_json::json;
use tollgate::{
    AuthErrorKind,
    revocation::{RevocationStatus, RevocationStore, RevocationStoreError, TokenRef},
    verify::Unverified,
};
use tollgate_redis::{RedisRevocationStore, redis};

use crate::{
    cli::{CheckArgs, RedisArgs, Revocation, RevokeArgs},
    failure::Failure,
    input,
    output::{print, print_json, rfc3339, unix_now},
};

/// How long a cut-off or a permission version is kept by default: 30 days, the longest
/// session of a default `tollgate-session` issuer (and of the CRM).
const DEFAULT_KEEP: i64 = 30 * 24 * 3600;

/// Run `work` with the store `args` name, on a runtime of its own.
fn with_store<T, F>(
    args: &RedisArgs,
    work: impl FnOnce(RedisRevocationStore) -> F,
) -> Result<T, Failure>
where
    F: Future<Output = Result<T, Failure>>,
{
    let client = redis::Client::open(args.redis_url.as_str()).map_err(|error| {
        // The URL may hold a password: name the flag, not the URL.
        Failure::usage("--redis-url", format!("not a Redis URL: {error}"))
    })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| Failure::Usage(format!("cannot start the runtime: {error}")))?;
    runtime.block_on(async {
        let builder = RedisRevocationStore::builder(client)
            .prefix(args.prefix.as_str())
            .map_err(|error| Failure::usage("--prefix", error))?
            .timeout(args.timeout)
            .map_err(|error| Failure::usage("--timeout", error))?;
        let store = builder
            .build()
            .map_err(|error| Failure::usage("--redis-url", error))?;
        work(store).await
    })
}

/// A failed store call: Redis did not answer (exit 3).
fn unavailable(args: &RedisArgs, error: &RevocationStoreError) -> Failure {
    Failure::Unavailable(format!(
        "--redis-url: Redis did not answer within {}: {error}",
        humantime::format_duration(args.timeout)
    ))
}

/// An id given on the command line must not be empty.
fn non_empty<'a>(argument: &str, value: &'a str) -> Result<&'a str, Failure> {
    if value.is_empty() {
        Err(Failure::usage(argument, "must not be empty"))
    } else {
        Ok(value)
    }
}

/// `tollgate revoke`.
pub(crate) fn revoke(args: &RevokeArgs, json: bool) -> Result<(), Failure> {
    let now = unix_now();
    let (kind, id, at, until) = match &args.what {
        Revocation::Token { jti, until } => ("token", non_empty("JTI", jti)?, None, *until),
        Revocation::Session { sid, until } => ("session", non_empty("SID", sid)?, None, *until),
        Revocation::Subject { sub, at, until } => {
            let at = at.unwrap_or(now);
            let until = until.unwrap_or(at.saturating_add(DEFAULT_KEEP));
            ("subject", non_empty("SUB", sub)?, Some(at), until)
        }
        Revocation::Version { sub, until, .. } => (
            "version",
            non_empty("SUB", sub)?,
            None,
            until.unwrap_or(now.saturating_add(DEFAULT_KEEP)),
        ),
    };
    if until < now {
        return Err(Failure::usage(
            "--until",
            "is in the past: a token that expired is refused already",
        ));
    }
    with_store(&args.redis, |store| async move {
        let written = match &args.what {
            Revocation::Token { jti, .. } => store.revoke_token(jti, until).await,
            Revocation::Session { sid, .. } => store.end_session(sid, until).await,
            Revocation::Subject { sub, .. } => store.cut_off(sub, at.unwrap_or(now), until).await,
            Revocation::Version { sub, version, .. } => {
                store.set_version(sub, *version, until).await
            }
        };
        written.map_err(|error| unavailable(&args.redis, &error))
    })?;

    let version = match &args.what {
        Revocation::Version { version, .. } => Some(*version),
        _ => None,
    };
    if json {
        return print_json(&json!({
            "revoked": kind,
            "id": id,
            "at": at,
            "version": version,
            "until": until,
            "prefix": args.redis.prefix,
        }));
    }
    let until = rfc3339(until).unwrap_or_else(|| until.to_string());
    let what = match (&args.what, at, version) {
        (Revocation::Token { .. }, ..) => format!("token `{id}` revoked"),
        (Revocation::Session { .. }, ..) => format!("session `{id}` ended"),
        (_, Some(at), _) => format!(
            "subject `{id}` cut off: tokens issued at or before {} are refused",
            rfc3339(at).unwrap_or_else(|| at.to_string())
        ),
        (_, _, Some(version)) => {
            format!(
                "subject `{id}` at permission version {version}: tokens with an older `ver` are stale"
            )
        }
        _ => format!("{kind} `{id}` revoked"),
    };
    print(&format!(
        "{what}, until {until} (prefix {})",
        args.redis.prefix
    ))
}

/// `tollgate check`.
pub(crate) fn check(args: &CheckArgs, json: bool) -> Result<(), Failure> {
    let token = input::token(args.token.as_deref())?;
    let decoded = Unverified::decode(&token)
        .map_err(|error| Failure::usage("TOKEN", error.kind().description()))?;
    let Some(token) = TokenRef::from_claims(decoded.standard()) else {
        // The revocation layer refuses such a token before it asks the store.
        let code = AuthErrorKind::MissingJti.code();
        if json {
            print_json(&json!({"status": "refused", "code": code, "verified": false}))?;
        } else {
            print("refused")?;
        }
        return Err(Failure::Answered {
            code,
            detail: "the token has no jti or no exp: the revocation layer refuses it",
        });
    };
    let status = with_store(&args.redis, |store| async move {
        store
            .check(&token)
            .await
            .map_err(|error| unavailable(&args.redis, &error))
    })?;
    let (word, kind) = match status {
        RevocationStatus::Active => ("active", None),
        RevocationStatus::Revoked => ("revoked", Some(AuthErrorKind::Revoked)),
        RevocationStatus::SessionEnded => ("session_ended", Some(AuthErrorKind::SessionEnded)),
        RevocationStatus::CutOff => ("cut_off", Some(AuthErrorKind::CutOff)),
        RevocationStatus::Stale => ("stale", Some(AuthErrorKind::StaleClaims)),
        _ => ("unknown", Some(AuthErrorKind::Revoked)),
    };
    let answer = json!({
        "status": word,
        "code": kind.map(AuthErrorKind::code),
        "jti": token.jti,
        "sid": token.sid,
        "sub": token.sub,
        "verified": false,
    });
    if json {
        print_json(&answer)?;
    } else {
        print(word)?;
    }
    match kind {
        None => Ok(()),
        Some(kind) => Err(Failure::Answered {
            code: kind.code(),
            detail: kind.description(),
        }),
    }
}
