//! Permission and policy parsing (`tollgate::policy`), and what a parsed permission grants.
//! Input: lines of text; the first is the required permission, the rest are held ones (as a
//! token's `perms` claim) and role names. Never a panic; parsing is total and round-trips;
//! granting is reflexive and transitive; the authorizer grants exactly when a held
//! permission grants the required one.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate::{
    StandardClaims,
    policy::{Authorizer, Permission, Policy, RoleMap},
};

fn check_parsed(text: &str) -> Option<Permission> {
    let parsed = Permission::parse(text);
    assert_eq!(
        parsed.is_ok(),
        text.parse::<Permission>().is_ok(),
        "parse and FromStr disagree"
    );
    assert_eq!(parsed.is_ok(), Policy::permission(text).is_ok());
    let permission = parsed.ok()?;
    assert_eq!(permission.as_str(), text);
    assert_eq!(permission.to_string(), text);
    assert_eq!(
        format!("{}:{}", permission.resource(), permission.action()),
        text
    );
    assert_eq!(
        Permission::parse(permission.as_str()).ok().as_ref(),
        Some(&permission)
    );
    assert!(
        permission.grants(&permission),
        "a permission does not grant itself"
    );
    Some(permission)
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let required_text = lines.next().unwrap_or_default();
    let held_texts: Vec<&str> = lines.collect();

    // Total: every constructor that takes text answers.
    let _ = Policy::role(required_text);
    let _ = Policy::org_from_header(required_text);
    let _ = Policy::on_path(required_text, Policy::authenticated());
    let _ = Policy::authenticated().challenge_scope(required_text);
    let _ = RoleMap::new().add_role(required_text, held_texts.iter().copied());

    let required = check_parsed(required_text);
    let held: Vec<Permission> = held_texts.iter().filter_map(|t| check_parsed(t)).collect();
    for a in &held {
        for b in &held {
            if !a.grants(b) {
                continue;
            }
            for c in held.iter().chain(&required) {
                assert!(!b.grants(c) || a.grants(c), "granting is not transitive");
            }
        }
    }

    let Some(required) = required else {
        return;
    };
    let claims = StandardClaims {
        perms: held_texts.iter().map(|&t| t.into()).collect(),
        ..StandardClaims::default()
    };
    let policy = Policy::from(required.clone());
    let authorizer = Authorizer::new();
    let expected = held.iter().any(|h| h.grants(&required));
    assert_eq!(authorizer.check_claims(&policy, &claims).is_ok(), expected);
    assert_eq!(authorizer.is_granted(&claims, &required), expected);
    assert_eq!(
        authorizer
            .check_claims(&Policy::not(policy), &claims)
            .is_ok(),
        !expected,
        "not() is not the negation"
    );

    // The same permissions through a role: the same answer.
    if let Ok(roles) = RoleMap::new().add_role("fuzz", held_texts.iter().copied()) {
        let claims = StandardClaims {
            roles: vec!["fuzz".into()],
            ..StandardClaims::default()
        };
        let through_role = Authorizer::new().role_map(roles);
        assert_eq!(through_role.is_granted(&claims, &required), expected);
    }
});
