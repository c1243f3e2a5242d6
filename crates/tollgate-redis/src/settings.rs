//! Checks of the settings both builders (revocation and session store) share.

use std::time::Duration;

use tollgate::ConfigError;

/// A key prefix: never empty, so that the store's keys do not mix with the database's others.
pub(crate) fn prefix(prefix: impl Into<String>) -> Result<String, ConfigError> {
    let prefix = prefix.into();
    if prefix.is_empty() {
        return Err(ConfigError::Empty { setting: "prefix" });
    }
    Ok(prefix)
}

/// A bound on every call: more than zero.
pub(crate) fn timeout(timeout: Duration) -> Result<Duration, ConfigError> {
    if timeout.is_zero() {
        return Err(ConfigError::OutOfRange {
            setting: "timeout",
            expected: "more than zero",
        });
    }
    Ok(timeout)
}
