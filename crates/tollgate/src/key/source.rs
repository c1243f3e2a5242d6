//! [`KeySource`]: where an issuer's keys come from.

use std::sync::Arc;

#[cfg(feature = "jwks-remote")]
use super::remote::RemoteJwks;
use super::{Key, set::KeySet};

/// Where an issuer's keys come from: a fixed [`KeySet`] (or one [`Key`]), or, with the
/// `jwks-remote` feature, a `RemoteJwks` fetched and refreshed over HTTP.
///
/// Built with `From`/`Into`: `TrustedIssuer::new("iss", key)` takes anything that converts.
#[derive(Clone, Debug)]
pub struct KeySource(SourceKind);

#[derive(Clone, Debug)]
pub(crate) enum SourceKind {
    Static(Arc<KeySet>),
    #[cfg(feature = "jwks-remote")]
    Remote(RemoteJwks),
}

impl KeySource {
    pub(crate) fn kind(&self) -> &SourceKind {
        &self.0
    }
}

impl From<KeySet> for KeySource {
    fn from(keys: KeySet) -> Self {
        Self(SourceKind::Static(Arc::new(keys)))
    }
}

impl From<Key> for KeySource {
    fn from(key: Key) -> Self {
        KeySet::from(key).into()
    }
}

#[cfg(feature = "jwks-remote")]
impl From<RemoteJwks> for KeySource {
    fn from(remote: RemoteJwks) -> Self {
        Self(SourceKind::Remote(remote))
    }
}
