//! Policy checks on the benchmark token's claims: a permission from the `perms` claim, one
//! granted through a role, one that is refused, and a combination.
//!
//! Run with `cargo bench -p tollgate-benches --bench policy`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tollgate::{
    StandardClaims,
    policy::{Authorizer, Policy, RoleMap},
};
use tollgate_benches::claims;

fn policy(c: &mut Criterion) {
    let claims: StandardClaims =
        serde_json::from_value(claims("0f8fad5b-d9cb-469f-a165-70867728950e")).unwrap();
    let authorizer = Authorizer::new().role_map(
        RoleMap::new()
            .add_role("sales", ["deal:*", "customer:read"])
            .unwrap()
            .add_role("viewer", ["report:read"])
            .unwrap(),
    );
    let (parts, ()) = http::Request::new(()).into_parts();
    let cases = [
        (
            "perms-claim",
            Policy::permission("customer:write").unwrap(),
            true,
        ),
        ("via-role", Policy::permission("deal:delete").unwrap(), true),
        (
            "refused",
            Policy::permission("invoice:write").unwrap(),
            false,
        ),
        (
            "any-of-3",
            Policy::any_of([
                Policy::role("admin").unwrap(),
                Policy::permission("invoice:read").unwrap(),
                Policy::permission("report:read").unwrap(),
            ])
            .unwrap(),
            true,
        ),
    ];
    let mut group = c.benchmark_group("policy");
    for (name, policy, granted) in &cases {
        assert_eq!(
            authorizer.check(policy, &claims, &parts).is_ok(),
            *granted,
            "{name}"
        );
        group.bench_function(*name, |b| {
            b.iter(|| {
                authorizer
                    .check(black_box(policy), black_box(&claims), &parts)
                    .is_ok()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, policy);
criterion_main!(benches);
