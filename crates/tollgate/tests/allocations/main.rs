//! The policy check allocates nothing when it grants, as its docs say: counted with a
//! counting global allocator, which is why this test is a binary of its own.

use http::Request;
use tollgate::{
    StandardClaims,
    policy::{Authorizer, Policy, RoleMap},
};

fn claims() -> StandardClaims {
    StandardClaims {
        sub: Some("user-1".to_owned()),
        org: Some("org-1".to_owned()),
        roles: vec!["sales".to_owned()],
        perms: vec!["invoice:read".to_owned(), "report:*".to_owned()],
        scope: Some("openid profile:read".to_owned()),
        ..StandardClaims::default()
    }
}

#[test]
fn a_granted_check_allocates_nothing() {
    let authorizer = Authorizer::new()
        .scope_claim(true)
        .role_map(
            RoleMap::new()
                .add_role("sales", ["customer:read", "customer:update"])
                .unwrap(),
        )
        .superuser_role("superuser")
        .unwrap();
    let policies = [
        Policy::permission("invoice:read").unwrap(),
        Policy::permission("report:export").unwrap(),
        Policy::permission("customer:update").unwrap(),
        Policy::permission("profile:read").unwrap(),
        Policy::role("sales").unwrap(),
        Policy::any_of([
            Policy::role("admin").unwrap(),
            Policy::permission("customer:delete").unwrap(),
            Policy::permission("customer:read").unwrap(),
        ])
        .unwrap(),
        Policy::all_of([
            Policy::permission("customer:read").unwrap(),
            Policy::not(Policy::role("viewer").unwrap()),
            Policy::org_from_header("x-org").unwrap(),
            Policy::org_from_path(1),
        ])
        .unwrap(),
    ];
    let claims = claims();
    let (parts, ()) = Request::get("/orgs/org-1/customers")
        .header("x-org", "org-1")
        .body(())
        .unwrap()
        .into_parts();

    for policy in &policies {
        // Warm up anything lazily initialised, then count.
        authorizer.check(policy, &claims, &parts).unwrap();
        let counted = allocation_counter::measure(|| {
            for _ in 0..100 {
                assert!(authorizer.check(policy, &claims, &parts).is_ok());
            }
        });
        assert_eq!(counted.count_total, 0, "{policy:?} allocated");
    }
}

#[test]
fn the_counter_counts() {
    // The test above cannot pass for want of a working counter.
    let counted = allocation_counter::measure(|| {
        std::hint::black_box(vec![1_u8; 64]);
    });
    assert_eq!(counted.count_total, 1);
}
