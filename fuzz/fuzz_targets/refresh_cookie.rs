//! The refresh-cookie parser of browser mode (`tollgate_session::browser::RefreshCookie`):
//! `Cookie` headers of arbitrary bytes, one a line. Never a panic, the same answer twice; a
//! token read is non-empty; a cookie this parser wrote reads back as the token it holds,
//! whatever other cookies surround it, unless the garbage names the same cookie (then
//! refused as ambiguous, never another token).

#![no_main]

use std::time::Duration;

use http::{HeaderMap, HeaderValue, header::COOKIE};
use libfuzzer_sys::fuzz_target;
use tollgate_session::browser::{BrowserErrorKind, RefreshCookie};

const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJl";

fuzz_target!(|data: &[u8]| {
    let cookie = RefreshCookie::new("/auth").unwrap();
    let mut headers = HeaderMap::new();
    for line in data.split(|&b| b == b'\n') {
        if let Ok(value) = HeaderValue::from_bytes(line) {
            headers.append(COOKIE, value);
        }
    }
    let read = cookie.read(&headers);
    let again = cookie.read(&headers);
    assert_eq!(
        read.as_ref().map_err(|e| e.kind()),
        again.as_ref().map_err(|e| e.kind()),
        "not deterministic"
    );
    if let Ok(Some(presented)) = &read {
        assert!(!presented.token().is_empty(), "an empty token read");
    }

    // A cookie written for a token (the input's own bytes as the token when they fit one),
    // sent back alone and among the input's cookies.
    let own = std::str::from_utf8(data).ok().filter(|text| {
        !text.is_empty()
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    });
    for token in [TOKEN].into_iter().chain(own) {
        for lifetime in [None, Some(Duration::from_secs(3600))] {
            let set_cookie = cookie.to_set_cookie(token, lifetime).unwrap();
            let set_cookie = set_cookie.to_str().unwrap();
            let pair = set_cookie.split(';').next().unwrap();

            let mut alone = HeaderMap::new();
            alone.insert(COOKIE, HeaderValue::from_str(pair).unwrap());
            let presented = cookie.read(&alone).unwrap().expect("the cookie written");
            assert_eq!(presented.token(), token);
            assert_eq!(presented.is_persistent(), lifetime.is_some());

            let mut among = headers.clone();
            among.append(COOKIE, HeaderValue::from_str(pair).unwrap());
            match cookie.read(&among) {
                Ok(Some(presented)) => {
                    assert_eq!(presented.token(), token, "another token read");
                }
                Ok(None) => panic!("the cookie written was not found"),
                Err(error) => assert_eq!(error.kind(), BrowserErrorKind::AmbiguousCookie),
            }
        }
    }
});
