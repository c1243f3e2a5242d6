//! `mint`, `inspect` and `verify`.

use std::{path::Path, sync::Arc, time::Duration};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Map, Value, json};
use tollgate::{
    AuthErrorKind,
    key::{Algorithm, Key, KeySet, RemoteJwks},
    verify::{TrustedIssuer, Unverified, Verifier},
};
use tollgate_session::SigningKey;

use crate::{
    cli::{InspectArgs, KeyArgs, MintArgs, VerifyArgs},
    failure::Failure,
    input,
    keys::read_pem,
    output::{self, print, print_json, relative, rfc3339, unix_now},
};

/// How long `verify --jwks URL` waits for the JWK Set.
const JWKS_TIMEOUT: Duration = Duration::from_secs(10);

/// The key id for a key file: `--kid`, else the file's name.
fn kid_for(argument: &str, kid: Option<&String>, path: &Path) -> Result<String, Failure> {
    kid.cloned()
        .or_else(|| input::default_kid(path))
        .ok_or_else(|| Failure::usage(argument, "no key id in the file name: give --kid"))
}

/// The HMAC algorithm a secret file is used with.
fn hmac_algorithm(alg: Option<Algorithm>) -> Result<Algorithm, Failure> {
    match alg {
        None => Ok(Algorithm::HS256),
        Some(alg) if alg.is_hmac() => Ok(alg),
        Some(alg) => Err(Failure::usage(
            "--alg",
            format!("{alg} takes a PEM key (--key), not a secret"),
        )),
    }
}

/// `tollgate mint`.
pub(crate) fn mint(args: &MintArgs, json: bool) -> Result<(), Failure> {
    let key = signing_key(&args.key, args.alg, args.kid.as_ref())?;
    let now = unix_now();
    let ttl = i64::try_from(args.ttl.as_secs())
        .ok()
        .filter(|ttl| (1..=10 * 365 * 24 * 3600).contains(ttl))
        .ok_or_else(|| Failure::usage("--ttl", "between one second and ten years"))?;
    let mut id = [0u8; 16];
    aws_lc_rs::rand::fill(&mut id)
        .map_err(|_| Failure::Usage("the system's random source failed".to_owned()))?;
    let jti = URL_SAFE_NO_PAD.encode(id);

    let mut claims = Map::new();
    claims.insert("iss".to_owned(), json!(args.iss));
    match args.aud.as_slice() {
        [] => {}
        [one] => {
            claims.insert("aud".to_owned(), json!(one));
        }
        many => {
            claims.insert("aud".to_owned(), json!(many));
        }
    }
    if let Some(sub) = &args.sub {
        claims.insert("sub".to_owned(), json!(sub));
    }
    claims.insert("iat".to_owned(), json!(now));
    claims.insert("exp".to_owned(), json!(now + ttl));
    claims.insert("jti".to_owned(), json!(jti));
    if let Some(path) = &args.claims_json {
        let bytes = input::file("--claims-json", path)?;
        let name = format!("--claims-json {}", path.display());
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(extra)) => claims.extend(extra),
            Ok(_) => return Err(Failure::usage(&name, "not a JSON object")),
            Err(error) => return Err(Failure::usage(&name, error)),
        }
    }
    for claim in &args.claim {
        let (name, value) = claim
            .split_once('=')
            .filter(|(name, _)| !name.is_empty())
            .ok_or_else(|| Failure::usage("--claim", "write NAME=VALUE"))?;
        let value = serde_json::from_str(value).unwrap_or_else(|_| json!(value));
        claims.insert(name.to_owned(), value);
    }

    let token = key
        .sign(args.typ.as_deref(), &claims)
        .map_err(|error| Failure::Usage(format!("cannot sign the token: {error}")))?;
    if json {
        print_json(&json!({
            "token": token,
            "alg": key.algorithm().as_str(),
            "kid": key.kid(),
            "jti": claims.get("jti"),
            "exp": claims.get("exp"),
        }))
    } else {
        print(&token)
    }
}

/// The key `mint` signs with.
fn signing_key(
    key: &KeyArgs,
    alg: Option<Algorithm>,
    kid: Option<&String>,
) -> Result<SigningKey, Failure> {
    if let Some(path) = &key.secret_file {
        let kid = kid_for("--secret-file", kid, path)?;
        let secret = input::secret(path)?;
        let name = format!("--secret-file {}", path.display());
        return SigningKey::hmac(kid, hmac_algorithm(alg)?, &secret)
            .map_err(|error| Failure::usage(&name, error));
    }
    let path = key
        .key
        .as_deref()
        .ok_or_else(|| Failure::usage("--key", "give --secret-file or --key"))?;
    let kid = kid_for("--key", kid, path)?;
    read_pem("--key", path, alg, &kid)?.signing.ok_or_else(|| {
        Failure::usage(
            &format!("--key {}", path.display()),
            "a public key cannot sign: give the private key",
        )
    })
}

/// `tollgate inspect`.
pub(crate) fn inspect(args: &InspectArgs, json: bool) -> Result<(), Failure> {
    let token = input::token(args.token.as_deref())?;
    let decoded = Unverified::decode(&token)
        .map_err(|error| Failure::usage("TOKEN", error.kind().description()))?;
    let now = unix_now();
    let mut times = Map::new();
    for name in ["iat", "nbf", "exp"] {
        let value = match name {
            "iat" => decoded.standard().iat,
            "nbf" => decoded.standard().nbf,
            _ => decoded.standard().exp,
        };
        if let Some(value) = value {
            times.insert(
                name.to_owned(),
                json!({"unix": value, "rfc3339": rfc3339(value), "from_now": value - now}),
            );
        }
    }
    if json {
        return print_json(&json!({
            "verified": false,
            "header": decoded.header(),
            "claims": decoded.claims(),
            "times": times,
        }));
    }
    let mut text = String::from(
        "UNVERIFIED: nothing was checked, neither the signature nor the claims \
         (`tollgate verify` checks them)\n",
    );
    text.push_str(&format!("header: {}\n", output::pretty(decoded.header())));
    text.push_str(&format!("claims: {}", output::pretty(decoded.claims())));
    for (name, time) in &times {
        let unix = time["unix"].as_i64().unwrap_or_default();
        let date = time["rfc3339"].as_str().unwrap_or("out of range");
        text.push_str(&format!("\n{name}: {date} ({})", relative(unix - now)));
    }
    if decoded.standard().exp.is_some_and(|exp| exp <= now) {
        text.push_str("\nexpired");
    }
    print(&text)
}

/// `tollgate verify`.
pub(crate) fn verify(args: &VerifyArgs, json: bool) -> Result<(), Failure> {
    let token = input::token(args.token.as_deref())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| Failure::Usage(format!("cannot start the runtime: {error}")))?;
    runtime.block_on(async {
        let keys = verification_keys(args).await?;
        let issuer = match &args.iss {
            Some(iss) => TrustedIssuer::new(iss.as_str(), keys),
            None => TrustedIssuer::any_issuer(keys),
        };
        let issuer = args
            .aud
            .iter()
            .fold(issuer, |issuer, aud| issuer.add_audience(aud.as_str()));
        let mut verifier = Verifier::new(issuer)
            .leeway(args.leeway)
            .map_err(|error| Failure::usage("--leeway", error))?;
        if let Some(typ) = &args.typ {
            verifier = verifier
                .header_typ(typ)
                .map_err(|error| Failure::usage("--typ", error))?;
        }
        match verifier.verify::<Map<String, Value>>(&token).await {
            Ok(verified) => {
                if json {
                    print_json(&json!({
                        "valid": true,
                        "alg": verified.algorithm().as_str(),
                        "kid": verified.kid(),
                        "claims": &**verified.claims(),
                    }))
                } else {
                    let kid = verified.kid().unwrap_or("none");
                    print(&format!(
                        "valid: {} key `{kid}`\nclaims: {}",
                        verified.algorithm(),
                        output::pretty(&**verified.claims())
                    ))
                }
            }
            Err(error) if error.kind() == AuthErrorKind::KeySourceUnavailable => Err(
                Failure::Unavailable(format!("--jwks: {}", error.kind().description())),
            ),
            Err(error) => Err(Failure::Refused {
                code: error.kind().code(),
                detail: error.kind().description(),
            }),
        }
    })
}

/// The keys `verify` trusts: a secret, a PEM key, or a JWK Set (a file or a URL).
async fn verification_keys(args: &VerifyArgs) -> Result<tollgate::key::KeySource, Failure> {
    if let Some(path) = &args.secret_file {
        let kid = kid_for("--secret-file", args.kid.as_ref(), path)?;
        let secret = input::secret(path)?;
        let name = format!("--secret-file {}", path.display());
        let key = Key::hmac(hmac_algorithm(args.alg)?, &secret)
            .map_err(|error| Failure::usage(&name, error))?
            .with_kid(Arc::<str>::from(kid));
        return Ok(KeySet::from(key).into());
    }
    if let Some(path) = &args.key {
        let kid = kid_for("--key", args.kid.as_ref(), path)?;
        let key = read_pem("--key", path, args.alg, &kid)?;
        return Ok(KeySet::from(key.verification.key().clone()).into());
    }
    let Some(jwks) = &args.jwks else {
        return Err(Failure::usage(
            "--key",
            "give --secret-file, --key or --jwks",
        ));
    };
    if args.alg.is_some() || args.kid.is_some() {
        return Err(Failure::usage(
            "--jwks",
            "the JWK Set names each key's algorithm and kid: drop --alg and --kid",
        ));
    }
    if jwks.starts_with("https://") || jwks.starts_with("http://") {
        let remote = RemoteJwks::builder(jwks)
            .and_then(|builder| builder.timeout(JWKS_TIMEOUT))
            .and_then(|builder| builder.build())
            .map_err(|error| Failure::usage("--jwks", error))?;
        remote
            .refresh()
            .await
            .map_err(|error| Failure::Unavailable(format!("--jwks {jwks}: {error}")))?;
        return Ok(remote.into());
    }
    let path = Path::new(jwks);
    let name = format!("--jwks {jwks}");
    let bytes = input::file("--jwks", path)?;
    let keys = KeySet::from_jwks(&bytes, None).map_err(|error| Failure::usage(&name, error))?;
    if keys.is_empty() {
        return Err(Failure::usage(
            &name,
            "no key in the set can verify signatures",
        ));
    }
    Ok(keys.into())
}
