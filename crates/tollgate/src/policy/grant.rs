//! How a token's claims grant permissions: the permission sources ([`Source`]: the `perms`
//! claim, the `scope` claim, roles through a [`RoleMap`]), and the denial naming what was not
//! granted. Shared by [`Policy`](super::rule::Policy) and
//! [`Authorizer`](super::authorizer::Authorizer).

use std::sync::Arc;

use super::{
    permission::{self, Permission},
    role_map::RoleMap,
};
use crate::{
    claims::StandardClaims,
    error::{AuthError, AuthErrorKind},
};

/// The configured sources of a token's permissions.
#[derive(Clone, Debug)]
pub(crate) struct Source {
    pub(crate) perms_claim: bool,
    pub(crate) scope_claim: bool,
    pub(crate) role_map: Option<RoleMap>,
}

impl Source {
    /// The `perms` claim only.
    pub(crate) const DEFAULT: Self = Self {
        perms_claim: true,
        scope_claim: false,
        role_map: None,
    };

    /// Whether `claims` hold a permission that grants `required`. Allocates nothing.
    pub(crate) fn is_granted(&self, claims: &StandardClaims, required: &Permission) -> bool {
        let held_grants = |value: &str| {
            permission::split_held(value)
                .is_some_and(|(resource, action)| permission::grants(resource, action, required))
        };
        if self.perms_claim && claims.perms.iter().any(|p| held_grants(p)) {
            return true;
        }
        // RFC 6749 §3.3: scope tokens separated by spaces.
        if self.scope_claim
            && claims
                .scope
                .as_deref()
                .is_some_and(|scope| scope.split(' ').any(held_grants))
        {
            return true;
        }
        self.role_map.as_ref().is_some_and(|map| {
            claims
                .roles
                .iter()
                .filter_map(|role| map.permissions(role))
                .flatten()
                .any(|held| held.grants(required))
        })
    }
}

/// The rejection for a request that does not meet a policy, naming `scope`.
pub(crate) fn denial(scope: Option<&Arc<str>>) -> AuthError {
    match scope {
        Some(scope) => AuthError::insufficient_scope(Arc::clone(scope)),
        None => AuthError::new(AuthErrorKind::InsufficientScope),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(perms: &[&str], scope: Option<&str>, roles: &[&str]) -> StandardClaims {
        StandardClaims {
            perms: perms.iter().map(|&p| p.into()).collect(),
            scope: scope.map(Into::into),
            roles: roles.iter().map(|&r| r.into()).collect(),
            ..StandardClaims::default()
        }
    }

    #[test]
    fn each_source_is_read_only_when_enabled() {
        let roles = RoleMap::new()
            .add_role("viewer", ["customer:read"])
            .unwrap();
        let required = Permission::parse("customer:read").unwrap();
        let from_perms = claims(&["customer:read"], None, &[]);
        let from_scope = claims(&[], Some("openid customer:read profile"), &[]);
        let from_role = claims(&[], None, &["viewer"]);

        // (perms_claim, scope_claim, role_map, [granted from perms, from scope, from role])
        let table = [
            (true, false, false, [true, false, false]),
            (false, true, false, [false, true, false]),
            (false, false, true, [false, false, true]),
            (true, true, true, [true, true, true]),
            (false, false, false, [false, false, false]),
        ];
        for (perms_claim, scope_claim, with_roles, expected) in table {
            let source = Source {
                perms_claim,
                scope_claim,
                role_map: with_roles.then(|| roles.clone()),
            };
            let got = [&from_perms, &from_scope, &from_role]
                .map(|claims| source.is_granted(claims, &required));
            assert_eq!(got, expected, "{source:?}");
        }
    }

    #[test]
    fn scope_tokens_are_split_on_spaces_and_garbage_grants_nothing() {
        let source = Source {
            scope_claim: true,
            ..Source::DEFAULT
        };
        let required = Permission::parse("customer:read").unwrap();
        for (scope, expected) in [
            ("customer:read", true),
            ("a:b  customer:read", true),
            ("customer:*", true),
            ("*:read openid", true),
            ("customer:read:x", false),
            ("customer:readx", false),
            ("openid profile", false),
            ("", false),
        ] {
            let claims = claims(&[], Some(scope), &[]);
            assert_eq!(source.is_granted(&claims, &required), expected, "{scope:?}");
        }
        let perms = claims(&["*", "customer", ":", "cust*:read"], None, &[]);
        assert!(!Source::DEFAULT.is_granted(&perms, &required));
    }
}
