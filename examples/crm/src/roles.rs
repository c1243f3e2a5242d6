//! The roles and the permissions they grant (the README's roles table).

use std::fmt;

/// The role a superuser's tokens carry in `roles` (never assignable through the API).
pub const SUPERUSER_ROLE: &str = "superuser";

/// A role that can be assigned to a user of an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Role {
    /// `*:*` within its organization.
    Admin,
    /// `customer:*`, `user:read`.
    Manager,
    /// `customer:read`, `customer:create`, `customer:update`.
    Sales,
    /// `customer:read`.
    Viewer,
}

impl Role {
    /// Every role, in order.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Manager, Role::Sales, Role::Viewer];

    /// The role's name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Manager => "manager",
            Self::Sales => "sales",
            Self::Viewer => "viewer",
        }
    }

    /// The role named `name`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.as_str() == name)
    }

    /// The permissions the role grants.
    #[must_use]
    pub const fn permissions(self) -> &'static [&'static str] {
        match self {
            Self::Admin => &["*:*"],
            Self::Manager => &["customer:*", "user:read"],
            Self::Sales => &["customer:read", "customer:create", "customer:update"],
            Self::Viewer => &["customer:read"],
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parse role names; the error names the first unknown one. Duplicates are dropped.
pub fn parse(names: &[String]) -> Result<Vec<Role>, String> {
    let mut roles = Vec::with_capacity(names.len());
    for name in names {
        let role = Role::from_name(name.trim()).ok_or_else(|| {
            format!("unknown role `{name}`: expected admin, manager, sales or viewer")
        })?;
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    roles.sort();
    Ok(roles)
}

/// The effective permissions of a user: the union of its roles', or `*:*` for a superuser.
#[must_use]
pub fn permissions(roles: &[Role], is_superuser: bool) -> Vec<String> {
    if is_superuser {
        return vec!["*:*".to_owned()];
    }
    let mut permissions: Vec<String> = Vec::new();
    for role in roles {
        for permission in role.permissions() {
            if !permissions.iter().any(|p| p == permission) {
                permissions.push((*permission).to_owned());
            }
        }
    }
    permissions
}

/// The role names a token carries: the user's roles, plus `superuser` for a superuser.
#[must_use]
pub fn claim_names(roles: &[Role], is_superuser: bool) -> Vec<String> {
    let mut names: Vec<String> = roles.iter().map(|role| role.as_str().to_owned()).collect();
    if is_superuser {
        names.push(SUPERUSER_ROLE.to_owned());
    }
    names
}

/// The stored form: space-separated names.
#[must_use]
pub fn to_column(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|role| role.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Read the stored form (unknown names are ignored).
#[must_use]
pub fn from_column(column: &str) -> Vec<Role> {
    column
        .split_whitespace()
        .filter_map(Role::from_name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_roles_table_of_the_readme() {
        assert_eq!(permissions(&[Role::Admin], false), ["*:*"]);
        assert_eq!(
            permissions(&[Role::Manager], false),
            ["customer:*", "user:read"]
        );
        assert_eq!(
            permissions(&[Role::Sales], false),
            ["customer:read", "customer:create", "customer:update"]
        );
        assert_eq!(permissions(&[Role::Viewer], false), ["customer:read"]);
        assert_eq!(permissions(&[], true), ["*:*"]);
        assert_eq!(
            permissions(&[Role::Sales, Role::Viewer], false),
            ["customer:read", "customer:create", "customer:update"]
        );
    }

    #[test]
    fn parsing_and_storage() {
        let roles = parse(&["viewer".into(), "admin".into(), "viewer".into()]).unwrap();
        assert_eq!(roles, [Role::Admin, Role::Viewer]);
        assert_eq!(from_column(&to_column(&roles)), roles);
        assert!(parse(&["superuser".into()]).is_err());
        assert!(parse(&["root".into()]).unwrap_err().contains("`root`"));
    }
}
