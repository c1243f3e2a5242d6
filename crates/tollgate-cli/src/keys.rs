//! `keygen` and `jwks`, and reading key files.

use std::{
    fs::OpenOptions,
    io::Write as _,
    path::{Path, PathBuf},
    time::SystemTime,
};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use tollgate::key::Algorithm;
use tollgate_session::{SigningKey, VerificationKey};

use crate::{
    cli::{JwksArgs, KeygenArgs},
    failure::Failure,
    input,
    output::{self, print, print_json},
};

/// The algorithms a PEM key without `--alg` is tried as: those its key type decides.
const FROM_KEY_TYPE: [Algorithm; 3] = [Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA];

/// A key read from a PEM file: the private key when the file holds one, and the key that
/// verifies.
pub(crate) struct PemKey {
    pub(crate) signing: Option<SigningKey>,
    pub(crate) verification: VerificationKey,
}

/// Read a PEM key file, public or private, as `alg` (or, without it, as the algorithm its
/// EC or Ed25519 key implies), named `kid`. Errors name `argument`.
pub(crate) fn read_pem(
    argument: &str,
    path: &Path,
    alg: Option<Algorithm>,
    kid: &str,
) -> Result<PemKey, Failure> {
    let pem = input::file(argument, path)?;
    let name = format!("{argument} {}", path.display());
    let private = String::from_utf8_lossy(&pem).contains("PRIVATE KEY-----");
    let read = |alg: Algorithm| -> Result<PemKey, tollgate::ConfigError> {
        if private {
            let signing = SigningKey::from_pem(kid, alg, &pem)?;
            Ok(PemKey {
                verification: signing.verification_key(),
                signing: Some(signing),
            })
        } else {
            Ok(PemKey {
                verification: VerificationKey::from_public_pem(kid, alg, &pem)?,
                signing: None,
            })
        }
    };
    if let Some(alg) = alg {
        if alg.is_hmac() {
            return Err(Failure::usage(
                "--alg",
                format!("{alg} takes a secret (--secret-file), not a PEM key"),
            ));
        }
        return read(alg).map_err(|error| Failure::usage(&name, error));
    }
    if let Some(key) = FROM_KEY_TYPE.into_iter().find_map(|alg| read(alg).ok()) {
        return Ok(key);
    }
    if read(Algorithm::RS256).is_ok() {
        return Err(Failure::usage(
            &name,
            "an RSA key: name its algorithm with --alg (RS256 to PS512)",
        ));
    }
    Err(Failure::usage(
        &name,
        "not a PEM EC, Ed25519 or RSA key, public or private",
    ))
}

/// `tollgate keygen`.
pub(crate) fn keygen(args: &KeygenArgs, json: bool) -> Result<(), Failure> {
    let alg = args.alg;
    let kid = match &args.kid {
        Some(kid) => kid.clone(),
        None => default_kid(alg),
    };
    check_kid(&kid)?;
    if args.bits.is_some() && !alg.is_rsa() {
        return Err(Failure::usage(
            "--bits",
            "only RSA keys (RS*, PS*) have a size",
        ));
    }
    let key = if alg.is_rsa() {
        SigningKey::generate_rsa(kid.as_str(), alg, args.bits.unwrap_or(2048))
            .map_err(|error| Failure::usage("--bits", error))?
    } else {
        SigningKey::generate(kid.as_str(), alg).map_err(|error| Failure::usage("--alg", error))?
    };

    // Every file: its name, its contents, and whether it is private (mode 0600).
    let mut files: Vec<(&str, PathBuf, String, bool)> = Vec::new();
    if let Some(secret) = key.hmac_secret() {
        let text = URL_SAFE_NO_PAD.encode(secret) + "\n";
        files.push(("secret", args.out.join(format!("{kid}.secret")), text, true));
    } else {
        let failed = |error| Failure::usage("--alg", error);
        let jwks = json!({ "keys": [key.verification_key().jwk()] });
        files.push((
            "private",
            args.out.join(format!("{kid}.pem")),
            key.to_pkcs8_pem().map_err(failed)?,
            true,
        ));
        files.push((
            "public",
            args.out.join(format!("{kid}.pub.pem")),
            key.public_key_pem().map_err(failed)?,
            false,
        ));
        files.push((
            "jwks",
            args.out.join("jwks.json"),
            output::pretty(&jwks) + "\n",
            false,
        ));
    }
    // Refuse before writing anything, so that no half of a key is left behind.
    if !args.out.is_dir() {
        return Err(Failure::usage(
            &format!("--out {}", args.out.display()),
            "not a folder",
        ));
    }
    for (_, path, _, _) in &files {
        if path.symlink_metadata().is_ok() {
            return Err(Failure::usage(
                &format!("--out {}", args.out.display()),
                format!("{} exists: a key file is never overwritten", path.display()),
            ));
        }
    }
    for (_, path, contents, private) in &files {
        write_new(path, contents.as_bytes(), *private)?;
    }

    if json {
        let written: serde_json::Map<String, Value> = files
            .iter()
            .map(|(role, path, _, _)| ((*role).to_owned(), json!(path.display().to_string())))
            .collect();
        print_json(&json!({"kid": kid, "alg": alg.as_str(), "files": written}))
    } else {
        let mut text = format!("{alg} key `{kid}`");
        for (role, path, _, private) in &files {
            let mode = if *private { ", mode 0600" } else { "" };
            text.push_str(&format!("\n  {role:<7} {}{mode}", path.display()));
        }
        print(&text)
    }
}

/// `2026-12-03-es256`: today's date and the algorithm.
fn default_kid(alg: Algorithm) -> String {
    let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    format!(
        "{}-{}",
        now.get(..10).unwrap_or("key"),
        alg.as_str().to_ascii_lowercase()
    )
}

/// A kid names files: letters, digits, `.`, `_` and `-`, not starting with a dot.
fn check_kid(kid: &str) -> Result<(), Failure> {
    let fits = !kid.is_empty()
        && !kid.starts_with('.')
        && kid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if fits {
        Ok(())
    } else {
        Err(Failure::usage(
            "--kid",
            "names the key files: use letters, digits, `.`, `_` and `-`, not a leading `.`",
        ))
    }
}

/// Create `path` with `contents`; a private file gets mode 0600 from its creation on. An
/// existing file is never replaced.
fn write_new(path: &Path, contents: &[u8], private: bool) -> Result<(), Failure> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let name = format!("--out {}", path.display());
    let mut file = options
        .open(path)
        .map_err(|error| Failure::usage(&name, error))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|error| Failure::usage(&name, error))
}

/// `tollgate jwks`.
pub(crate) fn jwks(args: &JwksArgs, json: bool) -> Result<(), Failure> {
    let mut keys: Vec<Value> = Vec::new();
    let mut kids: Vec<String> = Vec::new();
    for spec in &args.keys {
        let (path, kid) = split_kid(spec)?;
        if kids.contains(&kid) {
            return Err(Failure::usage(
                spec,
                format!("a second key with kid `{kid}`"),
            ));
        }
        let key = read_pem("PEM", &path, args.alg, &kid)?;
        let jwk = key.verification.jwk().ok_or_else(|| {
            Failure::usage(spec, "an HMAC secret is never published in a JWK Set")
        })?;
        keys.push(json!(jwk));
        kids.push(kid);
    }
    // The JWK Set is JSON already: `--json` prints it on one line.
    let set = json!({ "keys": keys });
    if json {
        print_json(&set)
    } else {
        print(&output::pretty(&set))
    }
}

/// `PATH[:KID]`: the whole argument when it names a file, else split at the last `:`.
fn split_kid(spec: &str) -> Result<(PathBuf, String), Failure> {
    let whole = PathBuf::from(spec);
    let (path, kid) = match spec.rsplit_once(':') {
        Some((path, kid)) if !whole.exists() => (PathBuf::from(path), Some(kid.to_owned())),
        _ => (whole, None),
    };
    let kid = kid
        .or_else(|| input::default_kid(&path))
        .filter(|kid| !kid.is_empty())
        .ok_or_else(|| Failure::usage(spec, "no kid: write PEM:KID"))?;
    Ok((path, kid))
}
