//! Where a session's current claims come from: the [`ClaimsSource`] the application supplies.

use std::{error::Error as StdError, fmt, future::Future, sync::Arc};

use serde::Serialize;

use crate::session::Session;

/// Loads the subject's current claims each time a pair is minted (login and every refresh), so
/// that changed roles or permissions reach the next access token.
///
/// It may refuse ([`ClaimsError::refused`]): the subject is suspended or deleted. A refused
/// refresh ends the session. It may also fail ([`ClaimsError::unavailable`]): the user
/// database is down. A failed refresh leaves the session as it was, so the client can retry.
///
/// Any `Fn(Session) -> impl Future<Output = Result<C, ClaimsError>>` is a source; implement
/// the trait for a type that needs to borrow the session.
///
/// ```
/// use tollgate::StandardClaims;
/// use tollgate_session::{ClaimsError, Session, ClaimsSource};
///
/// fn source() -> impl ClaimsSource {
///     |session: Session| async move {
///         if session.subject == "suspended" {
///             return Err(ClaimsError::refused());
///         }
///         Ok(StandardClaims {
///             roles: vec!["sales".into()],
///             ver: Some(1),
///             ..StandardClaims::default()
///         })
///     }
/// }
/// # let _ = source();
/// ```
pub trait ClaimsSource: Send + Sync + 'static {
    /// The access token's own claims: anything that serializes to a JSON object without the
    /// registered claims (see [`Issuer::issue_pair`](crate::Issuer::issue_pair)).
    type Claims: Serialize + Send;

    /// The current claims of the session's subject.
    fn claims(
        &self,
        session: &Session,
    ) -> impl Future<Output = Result<Self::Claims, ClaimsError>> + Send;
}

impl<F, Fut, C> ClaimsSource for F
where
    F: Fn(Session) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<C, ClaimsError>> + Send,
    C: Serialize + Send,
{
    type Claims = C;

    fn claims(&self, session: &Session) -> impl Future<Output = Result<C, ClaimsError>> + Send {
        self(session.clone())
    }
}

/// A [`ClaimsSource`] that refused the subject, or could not answer.
#[derive(Clone)]
pub struct ClaimsError {
    refused: bool,
    source: Option<Arc<dyn StdError + Send + Sync>>,
}

impl ClaimsError {
    /// The subject may not have tokens (suspended, deleted): the session ends.
    #[must_use]
    pub fn refused() -> Self {
        Self {
            refused: true,
            source: None,
        }
    }

    /// The claims cannot be loaded now (a database error): the session stays as it was.
    pub fn unavailable(source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self {
            refused: false,
            source: Some(Arc::from(source.into())),
        }
    }

    /// Whether the subject was refused (rather than the source failing).
    #[must_use]
    pub fn is_refused(&self) -> bool {
        self.refused
    }
}

impl fmt::Debug for ClaimsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClaimsError")
            .field("refused", &self.refused)
            .field("source", &self.source.as_ref().map(ToString::to_string))
            .finish()
    }
}

impl fmt::Display for ClaimsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.refused {
            f.write_str("the subject may not have tokens")
        } else {
            f.write_str("the subject's claims cannot be loaded")?;
            if let Some(source) = &self.source {
                write!(f, ": {source}")?;
            }
            Ok(())
        }
    }
}

impl StdError for ClaimsError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn StdError + 'static))
    }
}
