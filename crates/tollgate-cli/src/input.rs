//! Reading what the user hands over: arguments, files, stdin.

use std::{fs, io::Read as _, path::Path, time::Duration};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use tollgate::key::Algorithm;

use crate::failure::Failure;

/// The most read from stdin or a file: far more than any token, key or JWK Set.
const MAX_INPUT: u64 = 1024 * 1024;

/// Parse an algorithm name, as `alg` values are spelled (case-sensitive).
pub(crate) fn parse_algorithm(value: &str) -> Result<Algorithm, String> {
    value.parse().map_err(|_| {
        let names: Vec<&str> = Algorithm::ALL.iter().map(|alg| alg.as_str()).collect();
        format!("unknown algorithm, expected one of {}", names.join(", "))
    })
}

/// Parse a duration such as `30m`, `1h`, `90s`.
pub(crate) fn parse_duration(value: &str) -> Result<Duration, String> {
    humantime::parse_duration(value).map_err(|error| format!("{error} (write 30s, 30m, 1h)"))
}

/// Parse a time: RFC 3339 (`2026-12-03T16:00:00Z`) or Unix seconds (`1796313600`).
pub(crate) fn parse_time(value: &str) -> Result<i64, String> {
    if !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit()) {
        return value
            .parse()
            .map_err(|_| "Unix seconds out of range".to_owned());
    }
    let time = humantime::parse_rfc3339_weak(value).map_err(|error| {
        format!("{error}: write RFC 3339 (2026-12-03T16:00:00Z) or Unix seconds")
    })?;
    let secs = time
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| "before 1970".to_owned())?
        .as_secs();
    i64::try_from(secs).map_err(|_| "out of range".to_owned())
}

/// The token: the argument, or stdin when there is none; surrounding whitespace is dropped.
pub(crate) fn token(argument: Option<&str>) -> Result<String, Failure> {
    let token = match argument {
        Some(token) => token.to_owned(),
        None => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .take(MAX_INPUT + 1)
                .read_to_end(&mut bytes)
                .map_err(|error| Failure::usage("stdin", error))?;
            if bytes.len() as u64 > MAX_INPUT {
                return Err(Failure::usage("stdin", "more than 1 MiB: not a token"));
            }
            String::from_utf8(bytes).map_err(|_| Failure::usage("stdin", "not UTF-8 text"))?
        }
    };
    let token = token.trim();
    if token.is_empty() {
        return Err(Failure::usage(
            "TOKEN",
            "no token: give it as an argument or on stdin",
        ));
    }
    Ok(token.to_owned())
}

/// A file's bytes, at most [`MAX_INPUT`]; errors name `argument` and the path.
pub(crate) fn file(argument: &str, path: &Path) -> Result<Vec<u8>, Failure> {
    let name = format!("{argument} {}", path.display());
    let file = fs::File::open(path).map_err(|error| Failure::usage(&name, error))?;
    let mut bytes = Vec::new();
    file.take(MAX_INPUT + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| Failure::usage(&name, error))?;
    if bytes.len() as u64 > MAX_INPUT {
        return Err(Failure::usage(&name, "larger than 1 MiB"));
    }
    Ok(bytes)
}

/// An HMAC secret file: base64url text (padding and surrounding whitespace allowed).
pub(crate) fn secret(path: &Path) -> Result<Vec<u8>, Failure> {
    let bytes = file("--secret-file", path)?;
    let name = format!("--secret-file {}", path.display());
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Failure::usage(&name, "not base64url text"))?
        .trim()
        .trim_end_matches('=');
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| Failure::usage(&name, "not base64url text"))
}

/// The key id a key file gives by default: its name without `.secret`, `.pub.pem` or `.pem`.
pub(crate) fn default_kid(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    [".secret", ".pub.pem", ".pem"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .or(Some(name))
        .filter(|kid| !kid.is_empty())
        .map(ToOwned::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_kids_drop_the_key_suffixes() {
        assert_eq!(
            default_kid(Path::new("a/k1.pub.pem")).as_deref(),
            Some("k1")
        );
        assert_eq!(default_kid(Path::new("k1.pem")).as_deref(), Some("k1"));
        assert_eq!(
            default_kid(Path::new("/x/k2.secret")).as_deref(),
            Some("k2")
        );
        assert_eq!(default_kid(Path::new("key")).as_deref(), Some("key"));
        assert_eq!(default_kid(Path::new(".pem")), None);
    }

    #[test]
    fn times_are_rfc3339_or_unix_seconds() {
        assert_eq!(parse_time("1796313600"), Ok(1_796_313_600));
        assert_eq!(parse_time("2026-12-03T16:00:00Z"), Ok(1_796_313_600));
        assert!(parse_time("tomorrow").unwrap_err().contains("RFC 3339"));
        assert!(parse_time("").is_err());
        assert!(parse_time("-5").is_err());
        assert!(parse_time("99999999999999999999").is_err());
    }

    #[test]
    fn algorithms_are_spelled_as_in_tokens() {
        assert_eq!(parse_algorithm("EdDSA"), Ok(Algorithm::EdDSA));
        assert!(parse_algorithm("es256").unwrap_err().contains("ES256"));
        assert!(parse_algorithm("none").is_err());
    }
}
