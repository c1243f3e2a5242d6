//! Why a command failed, and the exit status that says so.

use std::{fmt, io::Write as _, process::ExitCode};

use serde_json::json;

/// Exit status of a refused, revoked or stale token.
pub(crate) const REFUSED: u8 = 1;
/// Exit status of a usage or configuration error.
pub(crate) const USAGE: u8 = 2;
/// Exit status of a service that does not answer.
pub(crate) const UNAVAILABLE: u8 = 3;

/// A failed command: one line on stderr (never a secret or a token) and its exit status.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The token was refused (exit 1): the stable `code` and its description.
    Refused {
        code: &'static str,
        detail: &'static str,
    },
    /// The token is refused (exit 1), and the answer is on stdout already.
    Answered {
        code: &'static str,
        detail: &'static str,
    },
    /// A bad argument, an unreadable or weak key (exit 2); the message names the argument.
    Usage(String),
    /// A service that did not answer (exit 3); the message names the service.
    Unavailable(String),
}

impl Failure {
    /// A usage error about `argument`.
    pub(crate) fn usage(argument: &str, reason: impl fmt::Display) -> Self {
        Self::Usage(format!("{argument}: {reason}"))
    }

    /// Print the failure and give its exit status. With `json`, a refusal is also one JSON
    /// object on stdout, for scripts.
    pub(crate) fn report(&self, json: bool) -> ExitCode {
        let (line, status) = match self {
            Self::Refused { code, detail } => {
                if json {
                    let object = json!({"valid": false, "code": code, "detail": detail});
                    let _ = writeln!(std::io::stdout(), "{object}");
                }
                (format!("refused: {code}: {detail}"), REFUSED)
            }
            Self::Answered { code, detail } => (format!("refused: {code}: {detail}"), REFUSED),
            Self::Usage(message) => (format!("error: {message}"), USAGE),
            Self::Unavailable(message) => (format!("unavailable: {message}"), UNAVAILABLE),
        };
        // Nothing is left to tell when stderr is closed.
        let _ = writeln!(std::io::stderr(), "{line}");
        ExitCode::from(status)
    }
}
