//! A token of arbitrary bytes through the verifier, with and without its verified-token
//! cache: never a panic, the cache never changes a verdict, and whatever is accepted is
//! signed by the key of the issuer it names and valid (`tollgate_fuzz::assert_acceptable`).
//! Arbitrary bytes are never signed: the seed corpus holds valid tokens to mutate.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use tollgate::verify::Verifier;

static VERIFIERS: LazyLock<(Verifier, Verifier)> =
    LazyLock::new(|| (tollgate_fuzz::verifier(), tollgate_fuzz::cached_verifier()));

fuzz_target!(|data: &[u8]| {
    let (plain, cached) = &*VERIFIERS;
    // A token arrives as text (a header value or a cookie); other bytes never reach the
    // verifier, but their lossy reading is text like any other.
    let token = String::from_utf8_lossy(data);
    tollgate_fuzz::judge(plain, cached, &token);
});
