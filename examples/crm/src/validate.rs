//! Validation of well-formed input (a failure is answered 422).

/// Shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted, in bytes (bounds the hashing work per request).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// A username: 3 to 64 of `A-Z a-z 0-9 _ . -`. Usernames are unique regardless of case.
pub fn username(value: &str) -> Result<String, String> {
    let value = value.trim();
    if !(3..=64).contains(&value.len()) {
        return Err("username must be 3 to 64 characters long".to_owned());
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        return Err("username may contain only letters, digits, `_`, `.` and `-`".to_owned());
    }
    Ok(value.to_owned())
}

/// An email address: one `@`, a non-empty local part, a domain with a dot, no spaces, at
/// most 254 bytes. Returned lowercased (emails are unique regardless of case).
pub fn email(value: &str) -> Result<String, String> {
    let value = value.trim();
    let invalid = || Err("email is not a valid address".to_owned());
    if value.is_empty() || value.len() > 254 || value.chars().any(char::is_whitespace) {
        return invalid();
    }
    let Some((local, domain)) = value.split_once('@') else {
        return invalid();
    };
    if local.is_empty()
        || local.len() > 64
        || domain.contains('@')
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
        || value.chars().any(char::is_control)
    {
        return invalid();
    }
    Ok(value.to_lowercase())
}

/// A password: at least 8 characters, at most 1024 bytes.
pub fn password(value: &str) -> Result<(), String> {
    if value.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "password must be at least {MIN_PASSWORD_CHARS} characters long"
        ));
    }
    if value.len() > MAX_PASSWORD_BYTES {
        return Err(format!(
            "password must be at most {MAX_PASSWORD_BYTES} bytes long"
        ));
    }
    Ok(())
}

/// Whether `value` holds a control character other than tab, line feed and carriage return:
/// U+0000 cannot be stored by PostgreSQL, and none of them belongs in a name or a note. Both
/// databases refuse the same input this way.
pub fn has_control(value: &str) -> bool {
    value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// A required text field: trimmed, 1 to `max` characters, no control characters.
pub fn required(field: &str, value: &str, max: usize) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(format!("{field} must not be empty"));
    }
    text(field, value, max).map(str::to_owned)
}

/// An optional text field: trimmed, at most `max` characters, no control characters; empty
/// becomes `None`.
pub fn optional(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, String> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(value) => text(field, value, max).map(|value| Some(value.to_owned())),
    }
}

/// The checks every text field shares: length and control characters.
fn text<'a>(field: &str, value: &'a str, max: usize) -> Result<&'a str, String> {
    if value.chars().count() > max {
        return Err(format!("{field} must be at most {max} characters long"));
    }
    if has_control(value) {
        return Err(format!("{field} must not contain control characters"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(email(" Ann@Example.COM ").unwrap(), "ann@example.com");
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@c.d",
            "a@b@c.d",
            "a@.c",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_fields_refuse_control_characters_but_not_line_breaks() {
        assert!(required("name", "a\u{0}b", 10).is_err());
        assert!(optional("notes", Some("a\u{7f}"), 10).is_err());
        assert_eq!(
            optional("notes", Some("line 1\nline 2\tend"), 40)
                .unwrap()
                .as_deref(),
            Some("line 1\nline 2\tend")
        );
        assert!(email("ann\u{0}@example.com").is_err());
    }

    #[test]
    fn passwords_and_usernames() {
        assert!(password("short").is_err());
        assert!(password("long enough").is_ok());
        assert!(password(&"x".repeat(2000)).is_err());
        assert!(username("ab").is_err());
        assert!(username("ann smith").is_err());
        assert_eq!(username("ann.smith-2").unwrap(), "ann.smith-2");
    }
}
