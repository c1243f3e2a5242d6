//! How the cost of a check grows with the work it is given:
//!
//! - `token-size`: verification (HS256 and ES256, uncached; HS256 cached) as the token grows
//!   from about 300 bytes to the verifier's default maximum ([`DEFAULT_MAX_TOKEN_LEN`]),
//!   padded with a claim nothing reads (`pad`), or with permissions (`perms`, which the
//!   claims parse allocates one string for each);
//! - `key-set`: verification as the issuer's key set grows from 1 to 100 HS256 keys, the token
//!   naming its key by `kid` (the first key of the set, or the last) or naming none (the
//!   verifier then tries the keys of the token's algorithm in order: the matching key last is
//!   the worst case);
//! - `policy`: `Authorizer::check` as the grants grow from 1 to 1 000: permissions in the
//!   `perms` claim, roles held through a `RoleMap` of as many roles, a refusal that scans them
//!   all, and two roles held in a map of many;
//! - `cache-hit`: a verified-token cache hit with 1 000 to 1 million tokens in the cache: the
//!   same token again and again, and the tokens in turn, in a scattered order (as many clients
//!   would send them).
//!
//! Run with
//! `cargo bench -p tollgate-benches --bench scaling -- --warm-up-time 1 --measurement-time 3`
//! (a few minutes; filling the cache with a million tokens takes about 20 s and 3 GiB). One
//! group alone: `... --bench scaling -- policy --warm-up-time 1 --measurement-time 3`.

use std::{hint::black_box, sync::Arc};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};
use tollgate::{
    StandardClaims,
    key::{Algorithm, Key, KeySet},
    policy::{Authorizer, Policy, RoleMap},
    verify::{DEFAULT_MAX_TOKEN_LEN, TrustedIssuer, VerifiedCache, Verifier},
};
use tollgate_benches::{AUDIENCE, ISSUER, Keys, SECRET, claims, now, now_or_never};

/// The token lengths of `token-size`, in bytes; the last is the default maximum.
const TOKEN_SIZES: [usize; 5] = [300, 1024, 2048, 4096, DEFAULT_MAX_TOKEN_LEN];

/// The key-set sizes of `key-set`.
const KEY_SET_SIZES: [usize; 3] = [1, 10, 100];

/// The grant counts of `policy`.
const GRANTS: [usize; 4] = [1, 10, 100, 1000];

/// The cache sizes of `cache-hit`.
const CACHED_TOKENS: [usize; 4] = [1_000, 10_000, 100_000, 1_000_000];

/// The smallest claims a verifier with an issuer and an audience accepts: `iss`, `sub`, `aud`,
/// `exp`, `iat`, `jti`.
fn minimal_claims() -> Value {
    let now = now();
    json!({
        "iss": ISSUER,
        "sub": "user-4f1c2a9e",
        "aud": AUDIENCE,
        "exp": now + 86_400,
        "iat": now - 60,
        "jti": "0f8fad5b-d9cb-469f-a165-70867728950e",
    })
}

/// The longest token of at most `len` bytes made of `claims` and a `pad` claim of `x`s, signed
/// by `keys`; `None` when `claims` alone make a longer token.
fn padded_token(keys: &Keys, claims: &Value, len: usize) -> Option<String> {
    let sign = |pad: usize| {
        let mut claims = claims.clone();
        claims["pad"] = Value::String("x".repeat(pad));
        let header = Header::new(keys.algorithm.to_jsonwebtoken().unwrap());
        jsonwebtoken::encode(&header, &claims, &keys.encoding).unwrap()
    };
    let shortest = sign(0).len();
    if shortest > len {
        return None;
    }
    // Four base64url characters carry three bytes: start from the estimate, then step.
    let mut pad = (len - shortest) * 3 / 4;
    while pad > 0 && sign(pad).len() > len {
        pad -= 1;
    }
    while sign(pad + 1).len() <= len {
        pad += 1;
    }
    Some(sign(pad))
}

/// The minimal claims plus as many permissions (`res-00000:read`, ...) as fit in a token of
/// `len` bytes, the rest padded.
fn perms_token(keys: &Keys, len: usize) -> Option<String> {
    let with = |count: usize| {
        let mut claims = minimal_claims();
        claims["perms"] = (0..count).map(|i| format!("res-{i:05}:read")).collect();
        claims
    };
    let mut count = 0;
    while padded_token(keys, &with(count + 1), len).is_some() {
        count += 1;
    }
    padded_token(keys, &with(count), len)
}

fn token_size(c: &mut Criterion) {
    for algorithm in [Algorithm::HS256, Algorithm::ES256] {
        let keys = Keys::new(algorithm);
        let verifier = keys.verifier();
        let mut group = c.benchmark_group(format!("token-size/{algorithm}"));
        for len in TOKEN_SIZES {
            let padded = padded_token(&keys, &minimal_claims(), len);
            let perms = perms_token(&keys, len);
            for (padding, token) in [("pad", padded), ("perms", perms)] {
                // ES256's signature alone makes the smallest token longer than 300 bytes.
                let Some(token) = token else { continue };
                let verified = now_or_never(verifier.verify::<StandardClaims>(&token))
                    .unwrap()
                    .unwrap_or_else(|error| panic!("{algorithm} {len}: {error}"));
                assert!(len - token.len() < 2, "{algorithm} {len}: {}", token.len());
                if padding == "perms" {
                    assert!(!verified.claims().perms.is_empty());
                }
                group.bench_function(BenchmarkId::new(padding, token.len()), |b| {
                    b.iter(|| now_or_never(verifier.verify::<StandardClaims>(black_box(&token))))
                });
                if algorithm == Algorithm::HS256 && padding == "pad" {
                    let cached = keys.verifier().cache(VerifiedCache::new(16));
                    now_or_never(cached.verify::<StandardClaims>(&token))
                        .unwrap()
                        .unwrap();
                    group.bench_function(BenchmarkId::new("pad-cached", token.len()), |b| {
                        b.iter(|| now_or_never(cached.verify::<StandardClaims>(black_box(&token))))
                    });
                }
            }
        }
        group.finish();
    }
}

/// A token with the benchmark claims signed by `secret`, naming `kid` in its header if given.
fn hs256_token(secret: &[u8], kid: Option<&str>) -> String {
    let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(
        &header,
        &claims("0f8fad5b-d9cb-469f-a165-70867728950e"),
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

fn key_set(c: &mut Criterion) {
    let secret = |i: usize| format!("{i:04}{}", &String::from_utf8_lossy(SECRET)[4..]);
    let kid = |i: usize| format!("key-{i:03}");
    let mut group = c.benchmark_group("key-set/HS256");
    for size in KEY_SET_SIZES {
        let mut keys = KeySet::new();
        for i in 0..size {
            let key = Key::hmac(Algorithm::HS256, secret(i).as_bytes()).unwrap();
            keys = keys.add_key(key.with_kid(kid(i))).unwrap();
        }
        let verifier = Verifier::new(TrustedIssuer::new(ISSUER, keys).add_audience(AUDIENCE));
        let last = size - 1;
        let cases = [
            (
                "kid-first",
                hs256_token(secret(0).as_bytes(), Some(&kid(0))),
            ),
            (
                "kid-last",
                hs256_token(secret(last).as_bytes(), Some(&kid(last))),
            ),
            ("no-kid-last", hs256_token(secret(last).as_bytes(), None)),
        ];
        for (name, token) in cases {
            let verified = now_or_never(verifier.verify::<StandardClaims>(&token))
                .unwrap()
                .unwrap_or_else(|error| panic!("{name} of {size}: {error}"));
            let expected = if name == "kid-first" { 0 } else { last };
            assert_eq!(verified.kid(), Some(kid(expected).as_str()), "{name}");
            group.bench_function(BenchmarkId::new(name, size), |b| {
                b.iter(|| now_or_never(verifier.verify::<StandardClaims>(black_box(&token))))
            });
        }
    }
    group.finish();
}

fn policy(c: &mut Criterion) {
    let (parts, ()) = http::Request::new(()).into_parts();
    let permission = |i: usize| format!("res-{i:04}:read");
    let role = |i: usize| format!("role-{i:04}");
    let mut group = c.benchmark_group("policy");
    for grants in GRANTS {
        let last = grants - 1;
        let mut roles = RoleMap::new();
        for i in 0..grants {
            roles = roles.add_role(&role(i), [permission(i)]).unwrap();
        }
        let with = |perms: Vec<String>, held: Vec<String>| -> StandardClaims {
            let mut claims = claims("0f8fad5b-d9cb-469f-a165-70867728950e");
            claims["perms"] = perms.into();
            claims["roles"] = held.into();
            serde_json::from_value(claims).unwrap()
        };
        let perms = Authorizer::new();
        let by_role = Authorizer::new().role_map(roles);
        let in_perms = with((0..grants).map(permission).collect(), Vec::new());
        let holding_all = with(Vec::new(), (0..grants).map(role).collect());
        let holding_two = with(Vec::new(), vec![role(0), role(last)]);
        let wanted = Policy::permission(&permission(last)).unwrap();
        let refused = Policy::permission("invoice:write").unwrap();
        let cases = [
            ("perms-granted-last", &perms, &in_perms, &wanted, true),
            ("perms-refused", &perms, &in_perms, &refused, false),
            ("roles-granted-last", &by_role, &holding_all, &wanted, true),
            ("roles-refused", &by_role, &holding_all, &refused, false),
            ("two-roles-of-map", &by_role, &holding_two, &wanted, true),
        ];
        for (name, authorizer, claims, policy, granted) in cases {
            assert_eq!(
                authorizer.check(policy, claims, &parts).is_ok(),
                granted,
                "{name} {grants}"
            );
            group.bench_function(BenchmarkId::new(name, grants), |b| {
                b.iter(|| {
                    authorizer
                        .check(black_box(policy), black_box(claims), &parts)
                        .is_ok()
                })
            });
        }
    }
    group.finish();
}

fn cache_hit(c: &mut Criterion) {
    let keys = Keys::new(Algorithm::HS256);
    let most = CACHED_TOKENS[CACHED_TOKENS.len() - 1];
    let tokens: Vec<String> = (0..most)
        .map(|i| keys.token(&format!("{i:08x}-d9cb-469f-a165-70867728950e")))
        .collect();
    let mut group = c.benchmark_group("cache-hit/HS256");
    for count in CACHED_TOKENS {
        let tokens = &tokens[..count];
        let verifier = keys
            .verifier()
            .cache(VerifiedCache::new(u64::try_from(count).unwrap()));
        let claims = |token: &str| {
            Arc::clone(
                &now_or_never(verifier.verify::<StandardClaims>(token))
                    .unwrap()
                    .unwrap()
                    .claims()
                    .0,
            )
        };
        let admitted: Vec<_> = tokens.iter().map(|token| claims(token)).collect();
        // Every token is in the cache: verified again, it is answered with the same claims.
        let all_hit = || {
            for (token, first) in tokens.iter().zip(&admitted) {
                assert!(Arc::ptr_eq(&claims(token), first), "{count}: a miss");
            }
        };
        all_hit();

        group.bench_function(BenchmarkId::new("same-token", count), |b| {
            let token = &tokens[count / 2];
            b.iter(|| now_or_never(verifier.verify::<StandardClaims>(black_box(token))))
        });
        // Every token in turn, 7 919 apart (a prime: it visits them all), so that successive
        // look-ups touch memory far apart, as distinct clients do.
        let step = 7_919 % count;
        let mut at = 0;
        group.bench_function(BenchmarkId::new("scattered", count), |b| {
            b.iter(|| {
                at += step;
                if at >= count {
                    at -= count;
                }
                now_or_never(verifier.verify::<StandardClaims>(black_box(&tokens[at])))
            })
        });
        // And still: the look-ups measured were hits.
        all_hit();
    }
    group.finish();
}

criterion_group!(benches, token_size, key_set, policy, cache_hit);
criterion_main!(benches);
