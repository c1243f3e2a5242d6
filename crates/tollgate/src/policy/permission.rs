//! Permissions: `resource:action` strings, parsed once, with `*` wildcards.

use std::{fmt, str::FromStr, sync::Arc};

use crate::error::ConfigError;

/// A permission: `resource:action`, where either part may be the wildcard `*`.
///
/// A permission held by a token *grants* a required one when each of its parts is `*` or equal
/// to the required part: `customer:*` grants `customer:read`, `*:read` grants `customer:read`,
/// `*:*` grants everything. Comparison is exact and case-sensitive. A wildcard in a *required*
/// permission means "every action" (or "every resource"), so only a wildcard grants it:
/// requiring `customer:*` is met by `customer:*` or `*:*`, never by `customer:read`.
///
/// Each part is `*` or a non-empty run of visible ASCII characters other than `:`, `*`, `"`
/// and `\` (the characters of an OAuth scope token, RFC 6749 §3.3, less the separators), so a
/// permission is always a valid `scope` value in a `WWW-Authenticate` challenge.
///
/// # Example
///
/// ```
/// use tollgate::policy::Permission;
///
/// let held: Permission = "customer:*".parse()?;
/// let required = Permission::parse("customer:read")?;
/// assert!(held.grants(&required));
/// assert!(!required.grants(&held));
/// assert_eq!(required.resource(), "customer");
/// assert_eq!(required.action(), "read");
///
/// assert!(Permission::parse("customer").is_err());
/// assert!(Permission::parse("cust*:read").is_err());
/// # Ok::<(), tollgate::ConfigError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Permission {
    /// The whole `resource:action` string: shared by challenges without copying.
    text: Arc<str>,
    /// Where the `:` is in `text`.
    colon: usize,
}

impl Permission {
    /// Parse and validate a permission.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidPolicy`] naming the input when it is not `resource:action` with
    /// both parts non-empty, when a part mixes `*` with other characters, or when it holds a
    /// character outside visible ASCII or one of `"` and `\`.
    pub fn parse(input: &str) -> Result<Self, ConfigError> {
        match split(input) {
            Ok((resource, _)) => Ok(Self {
                text: Arc::from(input),
                colon: resource.len(),
            }),
            Err(reason) => Err(ConfigError::InvalidPolicy {
                input: input.to_owned(),
                reason,
            }),
        }
    }

    /// The resource part (`customer` in `customer:read`), possibly `*`.
    #[must_use]
    pub fn resource(&self) -> &str {
        &self.text[..self.colon]
    }

    /// The action part (`read` in `customer:read`), possibly `*`.
    #[must_use]
    pub fn action(&self) -> &str {
        &self.text[self.colon + 1..]
    }

    /// The permission as written: `resource:action`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether holding `self` grants `required` (see the type docs for the wildcard rule).
    #[must_use]
    pub fn grants(&self, required: &Permission) -> bool {
        grants(self.resource(), self.action(), required)
    }

    pub(crate) fn shared_text(&self) -> &Arc<str> {
        &self.text
    }
}

/// Whether a held permission, given by its parts, grants `required`.
pub(crate) fn grants(resource: &str, action: &str, required: &Permission) -> bool {
    (resource == "*" || resource == required.resource())
        && (action == "*" || action == required.action())
}

/// Split a permission held by a token into its parts, without allocating.
///
/// `None` when the value is not a valid permission (an OAuth scope such as `openid`, or
/// garbage): such a value grants nothing.
pub(crate) fn split_held(value: &str) -> Option<(&str, &str)> {
    split(value).ok()
}

/// Split and validate `resource:action`.
fn split(input: &str) -> Result<(&str, &str), &'static str> {
    let Some((resource, action)) = input.split_once(':') else {
        return Err("expected `resource:action`");
    };
    if action.contains(':') {
        return Err("a permission has exactly one `:`");
    }
    check_part(resource, "the resource is empty")?;
    check_part(action, "the action is empty")?;
    Ok((resource, action))
}

fn check_part(part: &str, empty: &'static str) -> Result<(), &'static str> {
    if part.is_empty() {
        return Err(empty);
    }
    if part == "*" {
        return Ok(());
    }
    for byte in part.bytes() {
        if byte == b'*' {
            return Err("a wildcard `*` must be a whole resource or action");
        }
        if !byte.is_ascii_graphic() || byte == b'"' || byte == b'\\' {
            return Err("only visible ASCII other than `\"` and `\\` is allowed");
        }
    }
    Ok(())
}

impl FromStr for Permission {
    type Err = ConfigError;

    fn from_str(input: &str) -> Result<Self, ConfigError> {
        Self::parse(input)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Permission").field(&&*self.text).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wildcard_form_grants_what_it_should() {
        // (held, required, granted)
        let table = [
            ("customer:read", "customer:read", true),
            ("customer:read", "customer:update", false),
            ("customer:read", "user:read", false),
            ("customer:*", "customer:read", true),
            ("customer:*", "customer:delete", true),
            ("customer:*", "user:read", false),
            ("*:read", "customer:read", true),
            ("*:read", "user:read", true),
            ("*:read", "customer:update", false),
            ("*:*", "customer:read", true),
            ("*:*", "role:assign", true),
            // A required wildcard is only granted by a wildcard.
            ("customer:read", "customer:*", false),
            ("customer:*", "customer:*", true),
            ("*:*", "customer:*", true),
            ("*:read", "*:read", true),
            ("customer:read", "*:read", false),
            ("customer:*", "*:*", false),
            ("*:*", "*:*", true),
            // Exact and case-sensitive.
            ("Customer:read", "customer:read", false),
            ("customer:Read", "customer:read", false),
        ];
        for (held, required, expected) in table {
            let held = Permission::parse(held).unwrap();
            let required = Permission::parse(required).unwrap();
            assert_eq!(held.grants(&required), expected, "{held} grants {required}");
        }
    }

    #[test]
    fn malformed_permissions_are_refused_with_distinct_reasons() {
        let table = [
            ("", "expected `resource:action`"),
            ("customer", "expected `resource:action`"),
            ("customer:read:all", "a permission has exactly one `:`"),
            (":read", "the resource is empty"),
            ("customer:", "the action is empty"),
            (":", "the resource is empty"),
            (
                "cust*:read",
                "a wildcard `*` must be a whole resource or action",
            ),
            (
                "customer:re*",
                "a wildcard `*` must be a whole resource or action",
            ),
            (
                "**:read",
                "a wildcard `*` must be a whole resource or action",
            ),
            (
                "customer: read",
                "only visible ASCII other than `\"` and `\\` is allowed",
            ),
            (
                "customer:read ",
                "only visible ASCII other than `\"` and `\\` is allowed",
            ),
            (
                "cus\"tomer:read",
                "only visible ASCII other than `\"` and `\\` is allowed",
            ),
            (
                "customer:re\\ad",
                "only visible ASCII other than `\"` and `\\` is allowed",
            ),
            (
                "kündin:read",
                "only visible ASCII other than `\"` and `\\` is allowed",
            ),
        ];
        for (input, expected) in table {
            match Permission::parse(input) {
                Err(ConfigError::InvalidPolicy { input: got, reason }) => {
                    assert_eq!(got, input);
                    assert_eq!(reason, expected, "{input:?}");
                }
                other => panic!("{input:?} parsed: {other:?}"),
            }
        }
    }

    #[test]
    fn parts_and_display() {
        let permission: Permission = "order-items:read_all".parse().unwrap();
        assert_eq!(permission.resource(), "order-items");
        assert_eq!(permission.action(), "read_all");
        assert_eq!(permission.to_string(), "order-items:read_all");
        assert_eq!(
            format!("{permission:?}"),
            r#"Permission("order-items:read_all")"#
        );
        let error = Permission::parse("oops").unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid policy `oops`: expected `resource:action`"
        );
    }

    #[test]
    fn held_values_that_are_not_permissions_grant_nothing() {
        assert_eq!(split_held("customer:read"), Some(("customer", "read")));
        assert_eq!(split_held("openid"), None);
        assert_eq!(split_held("a:b:c"), None);
        assert_eq!(split_held(""), None);
    }
}
