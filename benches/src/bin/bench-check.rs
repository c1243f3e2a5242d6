//! Instructions per in-process revocation check, for callgrind: fills a `MemoryRevocationStore`
//! with COUNT revoked `jti`s (36-byte ids, an hour from now), then checks one token CHECKS
//! times, the benchmark token's full question (`jti`, `sid`, `sub`, `iat`, `ver`): `active`
//! (its `jti` not revoked) or `revoked`.
//!
//! ```text
//! cargo build --release -p tollgate-benches --bin bench-check
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.1 target/release/bench-check 10000 100000 active
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.2 target/release/bench-check 10000 200000 active
//! ```
//!
//! The difference of the two runs' instruction counts divided by the difference of CHECKS
//! (here 100 000) is the cost of one check, start-up and filling cancelled out.

use std::hint::black_box;

use tollgate::{
    StandardClaims,
    revocation::{MemoryRevocationStore, RevocationStatus, RevocationStore, TokenRef},
};
use tollgate_benches::{claims, now, now_or_never};

const USAGE: &str = "usage: bench-check COUNT CHECKS active|revoked";

fn number(arg: &str) -> Result<usize, String> {
    arg.parse()
        .map_err(|_| format!("{arg:?} is not a whole number\n{USAGE}"))
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [count, checks, kind] = args.as_slice() else {
        return Err(USAGE.to_owned());
    };
    let (count, checks) = (number(count)?, number(checks)?);
    let (jti, expected) = match kind.as_str() {
        "active" => (
            "0f8fad5b-d9cb-469f-a165-70867728950e",
            RevocationStatus::Active,
        ),
        "revoked" => (
            "7c9e6679-7425-40de-944b-e07fc1f90ae7",
            RevocationStatus::Revoked,
        ),
        _ => return Err(USAGE.to_owned()),
    };
    let claims: StandardClaims = serde_json::from_value(claims(jti)).unwrap();
    let token = TokenRef::from_claims(&claims).unwrap();

    let store = MemoryRevocationStore::new();
    let until = now() + 3600;
    now_or_never(store.revoke_token("7c9e6679-7425-40de-944b-e07fc1f90ae7", until))
        .unwrap()
        .unwrap();
    for i in 0..count {
        now_or_never(store.revoke_token(&format!("{i:08x}-7425-40de-944b-e07fc1f90ae7"), until))
            .unwrap()
            .unwrap();
    }
    let mut found = 0;
    for _ in 0..checks {
        let status = store.check_now(black_box(&token)).unwrap().unwrap();
        found += usize::from(black_box(status) == expected);
    }
    assert_eq!(found, checks);
    println!("{checks} checks of a {kind} token, {count} revoked jti");
    Ok(())
}
