//! The metrics of sessions (feature `metrics`): their names, their label values, and the
//! functions that record them, which do nothing without the feature.
//!
//! `docs/observability.md` lists them. No label value is a subject, a session id or a token:
//! each comes from a fixed list (the outcomes below, [`SessionErrorKind::code`],
//! [`EndReason::as_str`]).

use crate::{error::SessionErrorKind, session::EndReason};

/// Sessions opened with their first token pair (logins).
#[cfg(feature = "metrics")]
const SESSIONS_ISSUED: &str = "tollgate_sessions_issued_total";
/// Refresh requests, by `outcome`.
#[cfg(feature = "metrics")]
const SESSION_REFRESHES: &str = "tollgate_session_refreshes_total";
/// Sessions ended, by `reason`.
#[cfg(feature = "metrics")]
const SESSIONS_ENDED: &str = "tollgate_sessions_ended_total";
/// Sessions removed by a purge.
#[cfg(feature = "metrics")]
const SESSIONS_PURGED: &str = "tollgate_sessions_purged_total";

/// How a refresh went, as its `outcome` label tells.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RefreshOutcome {
    /// A new pair was issued.
    Rotated,
    /// A retry within the grace interval got the pair issued by the refresh it repeats.
    Retried,
    /// Refused: the label is the error's code.
    Refused(SessionErrorKind),
}

impl RefreshOutcome {
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    fn as_str(self) -> &'static str {
        match self {
            Self::Rotated => "rotated",
            Self::Retried => "retried",
            Self::Refused(kind) => kind.code(),
        }
    }
}

/// A login opened a session.
pub(crate) fn session_issued() {
    #[cfg(feature = "metrics")]
    metrics::counter!(SESSIONS_ISSUED).increment(1);
}

/// A refresh request was answered.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn refreshed(outcome: RefreshOutcome) {
    #[cfg(feature = "metrics")]
    metrics::counter!(SESSION_REFRESHES, "outcome" => outcome.as_str()).increment(1);
}

/// `count` active sessions ended, for `reason`.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn sessions_ended(reason: EndReason, count: usize) {
    #[cfg(feature = "metrics")]
    metrics::counter!(SESSIONS_ENDED, "reason" => reason.as_str())
        .increment(u64::try_from(count).unwrap_or(u64::MAX));
}

/// A purge removed `count` sessions.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn sessions_purged(count: u64) {
    #[cfg(feature = "metrics")]
    metrics::counter!(SESSIONS_PURGED).increment(count);
}
