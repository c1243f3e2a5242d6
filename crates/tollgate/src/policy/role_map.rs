//! [`RoleMap`]: the permissions each role grants.

use std::{collections::HashMap, fmt};

use super::permission::Permission;
use crate::error::ConfigError;

/// A table from role names to the permissions each role grants.
///
/// Give it to [`Authorizer::role_map`](super::authorizer::Authorizer::role_map): a token then holds, besides
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

#[cfg(test)]
mod tests {
    use super::*;

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
