//! What commands print: readable text by default, one JSON object with `--json`.

use std::{
    io::{ErrorKind, Write as _},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use serde_json::Value;

use crate::failure::Failure;

/// Write `text` and a newline to stdout.
pub(crate) fn print(text: &str) -> Result<(), Failure> {
    match writeln!(std::io::stdout(), "{text}") {
        // The reader left (`| head`): nothing is left to tell.
        Err(error) if error.kind() == ErrorKind::BrokenPipe => Ok(()),
        Err(error) => Err(Failure::Usage(format!("stdout: {error}"))),
        Ok(()) => Ok(()),
    }
}

/// Write `value` as one line of JSON to stdout.
pub(crate) fn print_json(value: &Value) -> Result<(), Failure> {
    print(&value.to_string())
}

/// Pretty JSON, for people.
pub(crate) fn pretty(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// Seconds since the Unix epoch, now.
pub(crate) fn unix_now() -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    i64::try_from(now).unwrap_or(i64::MAX)
}

/// A NumericDate as RFC 3339 (UTC), or `None` before the epoch or beyond what a date holds.
pub(crate) fn rfc3339(unix: i64) -> Option<String> {
    let secs = u64::try_from(unix).ok()?;
    let time = UNIX_EPOCH.checked_add(Duration::from_secs(secs))?;
    // humantime formats years up to 9999 only.
    (secs < 253_402_300_800).then(|| humantime::format_rfc3339_seconds(time).to_string())
}

/// `in 29m 58s` or `2h 3m ago`, for a time `delta` seconds from now.
pub(crate) fn relative(delta: i64) -> String {
    let span = humantime::format_duration(Duration::from_secs(delta.unsigned_abs()));
    if delta >= 0 {
        format!("in {span}")
    } else {
        format!("{span} ago")
    }
}
