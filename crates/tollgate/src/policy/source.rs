//! Where a token's permissions come from: the `perms` claim, the `scope` claim, and roles
//! mapped to permissions by a [`RoleMap`].

use std::{collections::HashMap, fmt};

use super::permission::{self, Permission};
use crate::{ConfigError, StandardClaims};

/// A table from role names to the permissions each role grants.
///
/// Give it to [`Authorizer::role_map`](super::Authorizer::role_map): a token then holds, besides
/// what its `perms` (or `scope`) claim lists, the permissions of every role in its `roles`
/// claim. Roles the table does not know grant nothing. The permissions are parsed when they
/// are added, so a typo is an error at start-up, not a denial at run time.
///
/// # Example
///
/// ```
/// use tollgate::policy::RoleMap;
///
/// let roles = RoleMap::new()
///     .add_role("admin", ["*:*"])?
///     .add_role("manager", ["customer:*", "user:read"])?
///     .add_role("viewer", ["customer:read"])?;
/// assert_eq!(roles.permissions("manager").map(<[_]>::len), Some(2));
/// assert!(roles.permissions("intern").is_none());
///
/// assert!(RoleMap::new().add_role("sales", ["customer:read", "customer"]).is_err());
/// # Ok::<(), tollgate::ConfigError>(())
/// ```
#[derive(Clone, Default)]
pub struct RoleMap {
    roles: HashMap<Box<str>, Box<[Permission]>>,
}

impl RoleMap {
    /// An empty table.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a role and the permissions it grants.
    ///
    /// # Errors
    ///
    /// - [`ConfigError::Empty`] when `role` is empty.
    /// - [`ConfigError::InvalidPolicy`] when a permission does not parse (see
    ///   [`Permission::parse`]), or when `role` is already in the table.
    pub fn add_role<I, P>(mut self, role: &str, permissions: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = P>,
        P: AsRef<str>,
    {
        if role.is_empty() {
            return Err(ConfigError::Empty {
                setting: "role name",
            });
        }
        if self.roles.contains_key(role) {
            return Err(ConfigError::InvalidPolicy {
                input: role.to_owned(),
                reason: "the role is already in the role map",
            });
        }
        let permissions = permissions
            .into_iter()
            .map(|p| Permission::parse(p.as_ref()))
            .collect::<Result<Box<[_]>, _>>()?;
        self.roles.insert(Box::from(role), permissions);
        Ok(self)
    }

    /// The permissions `role` grants, or `None` for a role the table does not know.
    #[must_use]
    pub fn permissions(&self, role: &str) -> Option<&[Permission]> {
        self.roles.get(role).map(|p| &**p)
    }

    /// The number of roles in the table.
    #[must_use]
    pub fn len(&self) -> usize {
        self.roles.len()
    }

    /// Whether the table is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.roles.is_empty()
    }
}

impl fmt::Debug for RoleMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.roles.iter()).finish()
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(perms: &[&str], scope: Option<&str>, roles: &[&str]) -> StandardClaims {
        StandardClaims {
            perms: perms.iter().map(|&p| p.to_owned()).collect(),
            scope: scope.map(str::to_owned),
            roles: roles.iter().map(|&r| r.to_owned()).collect(),
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

    #[test]
    fn role_map_rejects_bad_input() {
        assert!(matches!(
            RoleMap::new().add_role("", ["a:b"]),
            Err(ConfigError::Empty { .. })
        ));
        assert!(matches!(
            RoleMap::new().add_role("a", ["a:b"]).unwrap().add_role("a", ["c:d"]),
            Err(ConfigError::InvalidPolicy { ref input, .. }) if input == "a"
        ));
        assert!(matches!(
            RoleMap::new().add_role("a", ["a:b", "bad"]),
            Err(ConfigError::InvalidPolicy { ref input, .. }) if input == "bad"
        ));
        let empty = RoleMap::new().add_role("nobody", [""; 0]).unwrap();
        assert_eq!(empty.permissions("nobody"), Some(&[][..]));
        assert_eq!(empty.len(), 1);
    }
}
