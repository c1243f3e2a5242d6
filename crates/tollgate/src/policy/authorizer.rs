//! [`Authorizer`]: how tokens grant permissions, shared by every policy of an application.

use std::{fmt, sync::Arc};

use http::request::Parts;

use super::{grant::Source, permission::Permission, role_map::RoleMap, rule::Policy};
use crate::{
    claims::StandardClaims,
    error::{AuthError, ConfigError},
};

/// How a token's claims grant permissions, and who is a superuser: the settings every
/// [`Policy`] of an application is checked with.
///
/// - Permissions come from the `perms` claim (on by default), the OAuth `scope` claim
///   (space-separated, RFC 9068 §2.2.3; off by default) and the `roles` claim through a
///   [`RoleMap`] (none by default). Enable the ones your issuer uses; tokens from other
///   issuers then work too.
/// - A superuser, when one is configured, passes every policy (permissions, roles,
///   organization checks and negations alike).
///
/// Build it once and share it: it is cheap to clone (an `Arc` inside). Turn policies into
/// layers with [`RequirePolicyLayer::new`](crate::RequirePolicyLayer::new), or check them in handlers with
/// [`Authorizer::check`].
///
/// # Example
///
/// ```
/// use http::Request;
/// use tollgate::{StandardClaims, policy::{Authorizer, Policy, RoleMap}};
///
/// let authorizer = Authorizer::new()
///     .scope_claim(true)
///     .role_map(RoleMap::new().add_role("viewer", ["customer:read"])?)
///     .superuser_role("superuser")?;
/// let policy = Policy::permission("customer:read")?;
/// let (request, ()) = Request::new(()).into_parts();
///
/// let viewer = StandardClaims { roles: vec!["viewer".into()], ..Default::default() };
/// assert!(authorizer.check(&policy, &viewer, &request).is_ok());
///
/// let scoped = StandardClaims { scope: Some("openid customer:read".into()), ..Default::default() };
/// assert!(authorizer.check(&policy, &scoped, &request).is_ok());
///
/// let root = StandardClaims { roles: vec!["superuser".into()], ..Default::default() };
/// assert!(authorizer.check(&Policy::permission("anything:at-all")?, &root, &request).is_ok());
///
/// assert!(authorizer.check(&policy, &StandardClaims::default(), &request).is_err());
/// # Ok::<(), tollgate::ConfigError>(())
/// ```
#[derive(Clone, Default)]
pub struct Authorizer {
    settings: Arc<Settings>,
}

/// The settings behind an [`Authorizer`].
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) source: Source,
    superuser: Option<Superuser>,
}

#[derive(Clone)]
enum Superuser {
    Role(Box<str>),
    Predicate(Arc<dyn Fn(&StandardClaims) -> bool + Send + Sync>),
}

impl Settings {
    /// Permissions from the `perms` claim, no role map, no superuser.
    pub(crate) const DEFAULT: Self = Self {
        source: Source::DEFAULT,
        superuser: None,
    };

    fn is_superuser(&self, claims: &StandardClaims) -> bool {
        match &self.superuser {
            None => false,
            Some(Superuser::Role(role)) => claims.roles.iter().any(|held| **held == **role),
            Some(Superuser::Predicate(predicate)) => predicate(claims),
        }
    }

    pub(crate) fn check(
        &self,
        policy: &Policy,
        claims: &StandardClaims,
        request: &Parts,
    ) -> Result<(), AuthError> {
        if self.is_superuser(claims) {
            return Ok(());
        }
        policy.check_with(&self.source, claims, request)
    }

    /// Check without a request head: a policy that reads the request is never met.
    pub(crate) fn check_claims(
        &self,
        policy: &Policy,
        claims: &StandardClaims,
    ) -> Result<(), AuthError> {
        if self.is_superuser(claims) {
            return Ok(());
        }
        policy.check_claims_with(&self.source, claims)
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Authorizer {
    /// Permissions from the `perms` claim only, no role map, no superuser.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn settings_mut(&mut self) -> &mut Settings {
        Arc::make_mut(&mut self.settings)
    }

    /// Whether the `perms` claim (an array of `resource:action` strings) grants permissions.
    /// On by default.
    #[must_use]
    pub fn perms_claim(mut self, enabled: bool) -> Self {
        self.settings_mut().source.perms_claim = enabled;
        self
    }

    /// Whether the `scope` claim (space-separated scope tokens, RFC 9068 §2.2.3) grants
    /// permissions. Off by default.
    ///
    /// Each scope token of the form `resource:action` grants like a permission; other tokens
    /// (`openid`, `profile`, `User.Read`) grant none, and are required with
    /// [`Policy::scope`], which matches scopes exactly whatever this setting. The scopes are
    /// the `scope` claim, or what the verifier's
    /// [`ClaimMapping`](crate::verify::ClaimMapping) reads instead (`scp`).
    #[must_use]
    pub fn scope_claim(mut self, enabled: bool) -> Self {
        self.settings_mut().source.scope_claim = enabled;
        self
    }

    /// Grant the permissions of the token's `roles` through `roles`, replacing any table set
    /// before.
    #[must_use]
    pub fn role_map(mut self, roles: RoleMap) -> Self {
        self.settings_mut().source.role_map = Some(roles);
        self
    }

    /// Let tokens with the role `role` pass every policy. Replaces any superuser setting made
    /// before.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Empty`] when `role` is empty.
    pub fn superuser_role(mut self, role: &str) -> Result<Self, ConfigError> {
        if role.is_empty() {
            return Err(ConfigError::Empty {
                setting: "superuser role",
            });
        }
        self.settings_mut().superuser = Some(Superuser::Role(Box::from(role)));
        Ok(self)
    }

    /// Let tokens for which `predicate` returns `true` pass every policy. Replaces any
    /// superuser setting made before.
    #[must_use]
    pub fn superuser_predicate<F>(mut self, predicate: F) -> Self
    where
        F: Fn(&StandardClaims) -> bool + Send + Sync + 'static,
    {
        self.settings_mut().superuser = Some(Superuser::Predicate(Arc::new(predicate)));
        self
    }

    /// Check `policy` against `claims` and the request's head. Allocates nothing.
    ///
    /// With the `axum` feature, `AuthError` is a response, so a handler can return early with
    /// `authorizer.check(&policy, &claims, &parts)?`.
    ///
    /// # Errors
    ///
    /// An [`AuthErrorKind::InsufficientScope`](crate::AuthErrorKind::InsufficientScope) [`AuthError`]
    /// naming the scope of the unmet part (see [the denial](Policy#the-denial)) when the
    /// policy is not met.
    pub fn check(
        &self,
        policy: &Policy,
        claims: &StandardClaims,
        request: &Parts,
    ) -> Result<(), AuthError> {
        self.settings.check(policy, claims, request)
    }

    /// Check `policy` against `claims` alone, where no request head is at hand (a tonic
    /// handler holds a `tonic::Request`, not [`Parts`]). A policy that reads the request
    /// (organization checks, request predicates, [`on_path`](Policy::on_path), anywhere in it,
    /// even under [`not`](Policy::not)) is never met this way: use [`check`](Self::check) or
    /// the layer for those.
    ///
    /// ```
    /// use tollgate::{StandardClaims, policy::{Authorizer, Policy}};
    ///
    /// let policy = Policy::permission("customer:read")?;
    /// let claims = StandardClaims { perms: vec!["customer:*".into()], ..Default::default() };
    /// assert!(Authorizer::new().check_claims(&policy, &claims).is_ok());
    /// // In a tonic handler, with the `tonic` feature:
    /// // authorizer.check_claims(&policy, &claims)?;   // AuthError → Status::permission_denied
    /// # Ok::<(), tollgate::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`check`](Self::check).
    pub fn check_claims(&self, policy: &Policy, claims: &StandardClaims) -> Result<(), AuthError> {
        self.settings.check_claims(policy, claims)
    }

    /// Whether `claims` hold a permission that grants `required`, from the configured
    /// sources (superusers aside).
    #[must_use]
    pub fn is_granted(&self, claims: &StandardClaims, required: &Permission) -> bool {
        self.settings.source.is_granted(claims, required)
    }

    /// Whether `claims` are a superuser's.
    #[must_use]
    pub fn is_superuser(&self, claims: &StandardClaims) -> bool {
        self.settings.is_superuser(claims)
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.settings
    }
}

impl fmt::Debug for Superuser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Role(role) => f.debug_tuple("Role").field(role).finish(),
            Self::Predicate(_) => f.write_str("Predicate(<fn>)"),
        }
    }
}

impl fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorizer")
            .field("perms_claim", &self.settings.source.perms_claim)
            .field("scope_claim", &self.settings.source.scope_claim)
            .field("role_map", &self.settings.source.role_map)
            .field("superuser", &self.settings.superuser)
            .finish()
    }
}
