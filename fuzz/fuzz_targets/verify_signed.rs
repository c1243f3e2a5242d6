//! A header and a claims set of arbitrary bytes, signed with the configured key, so that
//! every input reaches the claims checks and the cache: never a panic, the cache never
//! changes a verdict, the claims type never changes one, and whatever is accepted is valid
//! (`tollgate_fuzz::assert_acceptable`). The same token with its signature altered, or
//! signed by a key the verifier does not hold, is never accepted.
//!
//! Input: `header NUL claims`, or the claims alone under the header tokens usually carry
//! (NUL is never part of strict JSON, so no strict input is lost by the split).

#![no_main]

use std::sync::LazyLock;

use aws_lc_rs::hmac;
use libfuzzer_sys::fuzz_target;
use tollgate::verify::Verifier;
use tollgate_fuzz::{OTHER_SECRET, SECRET, judge, sign, verdict};

static VERIFIERS: LazyLock<(Verifier, Verifier)> =
    LazyLock::new(|| (tollgate_fuzz::verifier(), tollgate_fuzz::cached_verifier()));

const USUAL_HEADER: &[u8] = br#"{"alg":"HS256","kid":"hs","typ":"JWT"}"#;

fuzz_target!(|data: &[u8]| {
    let (plain, cached) = &*VERIFIERS;
    let (header, payload) = match data.iter().position(|&b| b == 0) {
        Some(nul) => (&data[..nul], &data[nul + 1..]),
        None => (USUAL_HEADER, data),
    };
    for (algorithm, secret) in [
        (hmac::HMAC_SHA256, SECRET),
        (hmac::HMAC_SHA384, OTHER_SECRET),
    ] {
        let token = sign(header, payload, algorithm, secret);
        judge(plain, cached, &token);

        // Another key's signature over the same bytes.
        let forged = sign(
            header,
            payload,
            algorithm,
            b"not-a-key-the-verifier-holds-at-all!",
        );
        assert!(
            verdict(plain, &forged).is_err(),
            "accepted a foreign key's signature"
        );
        assert!(
            verdict(cached, &forged).is_err(),
            "cached: accepted a foreign signature"
        );

        // One bit of the signature flipped (its first character, which carries six whole
        // bits, so the segment stays canonical base64url).
        let dot = token.rfind('.').unwrap();
        let mut altered = token.clone().into_bytes();
        altered[dot + 1] = match altered[dot + 1] {
            b'A' => b'B',
            _ => b'A',
        };
        let altered = String::from_utf8(altered).unwrap();
        assert!(
            verdict(plain, &altered).is_err(),
            "accepted an altered signature"
        );
        assert!(
            verdict(cached, &altered).is_err(),
            "cached: accepted an altered signature"
        );

        // The signature stripped.
        assert!(
            verdict(plain, &token[..=dot]).is_err(),
            "accepted an unsigned token"
        );
    }
});
