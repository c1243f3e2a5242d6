//! JWK and JWK Set parsing (`tollgate::key`): any bytes as a JWK Set document, with and
//! without a default algorithm for RSA keys, and as one JWK. Never a panic, the same answer
//! twice, and what is accepted is consistent: no two keys of a set share a `kid`, a default
//! RSA algorithm only ever adds keys, a key from a JWK carries the JWK's `kid` and `alg`.

#![no_main]

use jsonwebtoken::jwk::Jwk;
use libfuzzer_sys::fuzz_target;
use tollgate::key::{Algorithm, Key, KeySet};

fuzz_target!(|data: &[u8]| {
    let plain = KeySet::from_jwks(data, None);
    let with_rsa = KeySet::from_jwks(data, Some(Algorithm::RS256));
    assert_eq!(
        plain.as_ref().map(KeySet::len).map_err(ToString::to_string),
        KeySet::from_jwks(data, None)
            .as_ref()
            .map(KeySet::len)
            .map_err(ToString::to_string),
        "parsing is not deterministic"
    );
    for set in [&plain, &with_rsa].into_iter().flatten() {
        let mut kids: Vec<&str> = set.iter().filter_map(Key::kid).collect();
        let count = kids.len();
        kids.sort_unstable();
        kids.dedup();
        assert_eq!(kids.len(), count, "two keys of a set share a kid");
        for key in set.iter() {
            assert!(set.supports(key.algorithm()));
            if let Some(kid) = key.kid() {
                assert_eq!(set.get(kid).map(Key::algorithm), Some(key.algorithm()));
            }
        }
    }
    if let (Ok(plain), Ok(with_rsa)) = (&plain, &with_rsa) {
        assert!(
            with_rsa.len() >= plain.len(),
            "a default algorithm dropped keys"
        );
    }

    if let Ok(jwk) = serde_json::from_slice::<Jwk>(data) {
        let key = Key::from_jwk(&jwk);
        if let Ok(key) = &key {
            assert_eq!(key.kid(), jwk.common.key_id.as_deref());
            if let Some(alg) = jwk.common.key_algorithm {
                assert_eq!(key.algorithm().as_str(), alg.to_string());
            }
        }
        for algorithm in Algorithm::ALL {
            if let Ok(key) = Key::from_jwk_with_algorithm(&jwk, algorithm) {
                assert_eq!(key.algorithm(), algorithm);
                assert_eq!(key.kid(), jwk.common.key_id.as_deref());
            }
        }
    }
});
