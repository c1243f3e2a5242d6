//! The token sources (`tollgate::verify::TokenSource`): request headers of arbitrary bytes,
//! one `name: value` a line. Never a panic, the same answer twice; a token found is a
//! non-empty RFC 6750 `b64token` taken from the header it was looked for in; a chain of
//! sources answers what its first source with an answer says.

#![no_main]

use http::{
    HeaderMap, HeaderName, HeaderValue,
    header::{AUTHORIZATION, COOKIE},
};
use libfuzzer_sys::fuzz_target;
use tollgate::{AuthErrorKind, verify::TokenSource};

const CUSTOM: &str = "x-access-token";

fn headers(data: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for line in data.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let value = line[colon + 1..]
            .strip_prefix(b" ")
            .unwrap_or(&line[colon + 1..]);
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(value),
        ) {
            headers.append(name, value);
        }
    }
    headers
}

/// Whether `token` lies inside one of the values of `name` in `headers`.
fn taken_from(headers: &HeaderMap, name: &str, token: &str) -> bool {
    let start = token.as_ptr() as usize;
    headers.get_all(name).iter().any(|value| {
        let bytes = value.as_bytes();
        let from = bytes.as_ptr() as usize;
        start >= from && start + token.len() <= from + bytes.len()
    })
}

fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

fuzz_target!(|data: &[u8]| {
    let headers = headers(data);
    let sources = [
        (TokenSource::bearer(), AUTHORIZATION.as_str()),
        (TokenSource::cookie("access_token"), COOKIE.as_str()),
        (TokenSource::header(HeaderName::from_static(CUSTOM)), CUSTOM),
    ];
    let mut first_answer: Option<Result<Option<&str>, AuthErrorKind>> = None;
    for (source, header) in &sources {
        let found = source.extract(&headers);
        assert_eq!(found, source.extract(&headers), "not deterministic");
        if let Ok(Some(token)) = found {
            assert!(is_b64token(token), "not a b64token");
            assert!(taken_from(&headers, header, token), "not from {header}");
        }
        if header == &AUTHORIZATION.as_str() && found.is_ok_and(|token| token.is_some()) {
            let mut values = headers.get_all(AUTHORIZATION).iter();
            let value = values.next().expect("a bearer token without the header");
            assert!(values.next().is_none(), "a bearer token among two headers");
            assert!(
                value
                    .as_bytes()
                    .get(..7)
                    .is_some_and(|scheme| scheme.eq_ignore_ascii_case(b"bearer ")),
                "a bearer token under another scheme"
            );
        }
        if first_answer.is_none() && found != Ok(None) {
            first_answer = Some(found);
        }
    }
    let chain = sources
        .iter()
        .map(|(source, _)| source.clone())
        .reduce(TokenSource::or)
        .unwrap();
    assert_eq!(
        chain.extract(&headers),
        first_answer.unwrap_or(Ok(None)),
        "a chain answered other than its first source with an answer"
    );
});
