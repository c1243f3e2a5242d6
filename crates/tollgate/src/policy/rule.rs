//! [`Policy`]: what a route requires of the claims, prepared once.

use std::{collections::HashSet, fmt, sync::Arc};

use http::{HeaderName, request::Parts};

use super::{
    grant::{Source, denial},
    permission::Permission,
};
use crate::{
    claims::StandardClaims,
    error::{AuthError, ConfigError},
};

/// What a route requires of a verified token: permissions, roles, an organization, or a
/// predicate of your own, combined with [`all_of`](Self::all_of), [`any_of`](Self::any_of) and
/// [`not`](Self::not).
///
/// A policy is parsed and validated when it is built (a malformed permission is a
/// [`ConfigError`], never a run-time surprise) and is cheap to clone (an `Arc` inside).
/// Checking it allocates nothing when it grants (a refusal builds its `AuthError`).
///
/// Enforce it with [`RequirePolicyLayer`](crate::RequirePolicyLayer), or check it in a handler
/// with [`Authorizer::check`](super::Authorizer::check).
///
/// # The denial
///
/// A policy that is not met is answered 403 with `WWW-Authenticate: Bearer
/// error="insufficient_scope", scope="..."` (RFC 6750 §3.1), naming the scope of the part
/// that was not met: a permission names itself; [`all_of`](Self::all_of) names its first
/// unmet part's; [`any_of`](Self::any_of) names the scope of its first part that has one;
/// [`on_path`](Self::on_path) names its policy's; roles, predicates, organization checks and
/// [`not`](Self::not) name none (the challenge then has no `scope`). The scopes are computed
/// when the policy is built; set your own on any part with
/// [`challenge_scope`](Self::challenge_scope).
///
/// # Example
///
/// ```
/// use http::Request;
/// use tollgate::{StandardClaims, AuthErrorKind, policy::{Authorizer, Policy}};
///
/// // Managers and admins of the organization named in the path may update customers.
/// let policy = Policy::all_of([
///     Policy::permission("customer:update")?,
///     Policy::any_of([Policy::role("manager")?, Policy::role("admin")?])?,
///     Policy::org_from_path(1),
/// ])?;
/// let authorizer = Authorizer::new();
///
/// let claims = StandardClaims {
///     org: Some("acme".into()),
///     roles: vec!["manager".into()],
///     perms: vec!["customer:*".into()],
///     ..StandardClaims::default()
/// };
/// let (ours, ()) = Request::new(()).into_parts();
/// let mut ours = ours;
/// ours.uri = "/orgs/acme/customers/7".parse()?;
/// assert!(authorizer.check(&policy, &claims, &ours).is_ok());
///
/// let mut theirs = ours.clone();
/// theirs.uri = "/orgs/globex/customers/7".parse()?;
/// let denied = authorizer.check(&policy, &claims, &theirs).unwrap_err();
/// assert_eq!(denied.kind(), AuthErrorKind::InsufficientScope);
/// assert_eq!(denied.scope(), None); // an organization check names no scope
///
/// let viewer = StandardClaims { perms: vec!["customer:read".into()], ..claims };
/// let denied = authorizer.check(&policy, &viewer, &ours).unwrap_err();
/// assert_eq!(denied.scope(), Some("customer:update"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Policy {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    node: Node,
    /// The `scope` of the challenge when the policy is not met.
    scope: Option<Arc<str>>,
    /// Whether `scope` was set by [`Policy::challenge_scope`].
    scope_set: bool,
    /// Whether checking the policy reads the request head.
    reads_request: bool,
}

#[derive(Clone)]
enum Node {
    Authenticated,
    Permission(Permission),
    Scope(Arc<str>),
    Role(Box<str>),
    AnyOf(Box<[Policy]>),
    AllOf(Box<[Policy]>),
    Not(Policy),
    Predicate(Arc<ClaimsPredicate>),
    RequestPredicate(Arc<RequestPredicate>),
    Org(OrgValue),
    OnPath(Box<str>, Policy),
}

/// Where an organization check finds the organization the request is about.
#[derive(Clone)]
enum OrgValue {
    Header(HeaderName),
    PathSegment(usize),
    Extract(Arc<ExtractOrg>),
}

type ClaimsPredicate = dyn Fn(&StandardClaims) -> bool + Send + Sync;
type RequestPredicate = dyn Fn(&StandardClaims, &Parts) -> bool + Send + Sync;
type ExtractOrg = dyn for<'a> Fn(&'a Parts) -> Option<&'a str> + Send + Sync;

impl Policy {
    fn from_node(node: Node, scope: Option<Arc<str>>) -> Self {
        let reads_request = match &node {
            Node::Authenticated
            | Node::Permission(_)
            | Node::Scope(_)
            | Node::Role(_)
            | Node::Predicate(_) => false,
            Node::RequestPredicate(_) | Node::Org(_) | Node::OnPath(..) => true,
            Node::AnyOf(parts) | Node::AllOf(parts) => parts.iter().any(|p| p.inner.reads_request),
            Node::Not(policy) => policy.inner.reads_request,
        };
        Self {
            inner: Arc::new(Inner {
                node,
                scope,
                scope_set: false,
                reads_request,
            }),
        }
    }

    /// Met by every verified token: only requires that the request carries claims.
    ///
    /// Useful behind an [optional](crate::VerifyLayer) verify layer, to require a
    /// token on some routes only.
    #[must_use]
    pub fn authenticated() -> Self {
        Self::from_node(Node::Authenticated, None)
    }

    /// Require a permission, `resource:action` (wildcards allowed, see [`Permission`]).
    ///
    /// Which claims hold permissions is the [`Authorizer`](super::Authorizer)'s choice: by
    /// default the `perms` claim.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidPolicy`] when `permission` does not parse.
    pub fn permission(permission: &str) -> Result<Self, ConfigError> {
        Permission::parse(permission).map(Self::from)
    }

    /// Require an OAuth scope: `scope` must be one of the token's scopes, exactly (no
    /// wildcard: `*` is a character like any other).
    ///
    /// The scopes are the `scope` claim, or what the verifier's
    /// [`ClaimMapping`](crate::verify::ClaimMapping) reads instead (Entra ID's and Okta's
    /// `scp`), a space-separated string or an array. They are checked whatever the
    /// [`Authorizer`](super::Authorizer)'s [`scope_claim`](super::Authorizer::scope_claim)
    /// says. A scope need not be `resource:action`: `openid`, `User.Read` and
    /// `read:messages` are all matched exactly. A denial names the scope in its challenge.
    ///
    /// ```
    /// use tollgate::{StandardClaims, policy::{Authorizer, Policy}};
    ///
    /// let policy = Policy::scope("User.Read")?;
    /// let claims = StandardClaims { scope: Some("openid User.Read".into()), ..Default::default() };
    /// assert!(Authorizer::new().check_claims(&policy, &claims).is_ok());
    ///
    /// let denied = Authorizer::new().check_claims(&Policy::scope("Mail.Send")?, &claims).unwrap_err();
    /// assert_eq!(denied.scope(), Some("Mail.Send"));
    /// # Ok::<(), tollgate::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidPolicy`] when `scope` is not one scope token: empty, or holding a
    /// space, a `"`, a `\` or a character that is not visible ASCII (RFC 6749 §3.3).
    pub fn scope(scope: &str) -> Result<Self, ConfigError> {
        if !is_scope_token(scope) {
            return Err(ConfigError::InvalidPolicy {
                input: scope.to_owned(),
                reason: "a scope is one token of visible ASCII other than `\"` and `\\`",
            });
        }
        let scope: Arc<str> = Arc::from(scope);
        Ok(Self::from_node(
            Node::Scope(Arc::clone(&scope)),
            Some(scope),
        ))
    }

    /// Require a role: `role` must be one of the token's `roles`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Empty`] when `role` is empty.
    pub fn role(role: &str) -> Result<Self, ConfigError> {
        if role.is_empty() {
            return Err(ConfigError::Empty {
                setting: "role name",
            });
        }
        Ok(Self::from_node(Node::Role(Box::from(role)), None))
    }

    /// Met when any of `policies` is met.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Empty`] when `policies` is empty.
    pub fn any_of(policies: impl IntoIterator<Item = Policy>) -> Result<Self, ConfigError> {
        let parts = flatten(policies, Node::any_of_parts);
        if parts.is_empty() {
            return Err(ConfigError::Empty { setting: "any_of" });
        }
        Ok(Self::any(parts))
    }

    fn any(parts: Vec<Policy>) -> Self {
        let scope = parts.iter().find_map(|p| p.inner.scope.clone());
        Self::from_node(Node::AnyOf(parts.into()), scope)
    }

    /// Met when every one of `policies` is met.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Empty`] when `policies` is empty (an empty list would allow everyone).
    pub fn all_of(policies: impl IntoIterator<Item = Policy>) -> Result<Self, ConfigError> {
        let parts = flatten(policies, Node::all_of_parts);
        if parts.is_empty() {
            return Err(ConfigError::Empty { setting: "all_of" });
        }
        Ok(Self::all(parts))
    }

    fn all(parts: Vec<Policy>) -> Self {
        let mut seen = HashSet::new();
        let scopes: Vec<&str> = parts
            .iter()
            .filter_map(|p| p.inner.scope.as_deref())
            .flat_map(|scope| scope.split(' '))
            .filter(|token| seen.insert(*token))
            .collect();
        let scope = (!scopes.is_empty()).then(|| Arc::from(scopes.join(" ")));
        Self::from_node(Node::AllOf(parts.into()), scope)
    }

    /// Met when `policy` is not: for example `Policy::not(Policy::role("suspended")?)`.
    #[must_use]
    #[expect(
        clippy::should_implement_trait,
        reason = "one negation: `Policy::not(p)`, no `!` operator beside it"
    )]
    pub fn not(policy: Policy) -> Self {
        Self::from_node(Node::Not(policy), None)
    }

    /// Met when `predicate` returns `true` for the claims.
    ///
    /// The predicate runs on every request: keep it cheap and free of I/O.
    ///
    /// ```
    /// use tollgate::{StandardClaims, policy::Policy};
    ///
    /// let first_party = Policy::predicate(|claims: &StandardClaims| {
    ///     claims.aud.contains("crm-web")
    /// });
    /// # let _ = first_party;
    /// ```
    #[must_use]
    pub fn predicate<F>(predicate: F) -> Self
    where
        F: Fn(&StandardClaims) -> bool + Send + Sync + 'static,
    {
        Self::from_node(Node::Predicate(Arc::new(predicate)), None)
    }

    /// Met when `predicate` returns `true` for the claims and the request's head (method,
    /// URI, headers, extensions).
    ///
    /// ```
    /// use http::request::Parts;
    /// use tollgate::{StandardClaims, policy::Policy};
    ///
    /// // `/users/{id}/...`: users may act on themselves.
    /// let own_account = Policy::request_predicate(|claims: &StandardClaims, request: &Parts| {
    ///     let id = request.uri.path().split('/').nth(2);
    ///     id.is_some() && id == claims.sub.as_deref()
    /// });
    /// # let _ = own_account;
    /// ```
    #[must_use]
    pub fn request_predicate<F>(predicate: F) -> Self
    where
        F: Fn(&StandardClaims, &Parts) -> bool + Send + Sync + 'static,
    {
        Self::from_node(Node::RequestPredicate(Arc::new(predicate)), None)
    }

    /// Require the token's `org` claim to equal the value of the request header `header`.
    ///
    /// Not met when the claim or the header is missing or empty, when the header is repeated,
    /// or when it is not visible ASCII.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidPolicy`] when `header` is not a valid header name.
    pub fn org_from_header(header: &str) -> Result<Self, ConfigError> {
        let name =
            HeaderName::from_bytes(header.as_bytes()).map_err(|_| ConfigError::InvalidPolicy {
                input: header.to_owned(),
                reason: "not a valid header name",
            })?;
        Ok(Self::org(OrgValue::Header(name)))
    }

    /// Require the token's `org` claim to equal a segment of the request path.
    ///
    /// `index` counts from 0 after the leading `/`: in `/orgs/acme/customers`, segment 1 is
    /// `acme`. The segment is compared as it appears in the URI (not percent-decoded), so use
    /// organization ids that need no escaping. Behind axum's `Router::nest`, the path is the
    /// one the nested router sees (without the prefix).
    ///
    /// Not met when the claim is missing or the path has no such segment (or it is empty).
    #[must_use]
    pub fn org_from_path(index: usize) -> Self {
        Self::org(OrgValue::PathSegment(index))
    }

    /// Require the token's `org` claim to equal the value `extract` finds in the request's
    /// head: a subdomain, a query parameter, an extension set by an earlier layer.
    ///
    /// Not met when the claim is missing or `extract` returns `None` or an empty string.
    ///
    /// ```
    /// use http::request::Parts;
    /// use tollgate::policy::Policy;
    ///
    /// // `acme.crm.example` → `acme`.
    /// let tenant = Policy::org_from(|request: &Parts| {
    ///     request.headers.get("host")?.to_str().ok()?.split('.').next()
    /// });
    /// # let _ = tenant;
    /// ```
    #[must_use]
    pub fn org_from<F>(extract: F) -> Self
    where
        F: for<'a> Fn(&'a Parts) -> Option<&'a str> + Send + Sync + 'static,
    {
        Self::org(OrgValue::Extract(Arc::new(extract)))
    }

    fn org(value: OrgValue) -> Self {
        Self::from_node(Node::Org(value), None)
    }

    /// Apply `policy` to requests for `path` only: met by requests for other paths, and by
    /// requests for `path` that meet `policy`.
    ///
    /// Made for gRPC, where one layer sees every method of a service as a path
    /// (`/package.Service/Method`): combine one per method with [`all_of`](Self::all_of). The path
    /// is compared exactly. With axum, prefer a `route_layer` per route.
    ///
    /// ```
    /// use tollgate::policy::Policy;
    ///
    /// let customers = Policy::all_of([
    ///     Policy::permission("customer:read")?,
    ///     Policy::on_path("/crm.Customers/Delete", Policy::permission("customer:delete")?)?,
    /// ])?;
    /// # Ok::<(), tollgate::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidPolicy`] when `path` does not start with `/`.
    pub fn on_path(path: &str, policy: Policy) -> Result<Self, ConfigError> {
        if !path.starts_with('/') {
            return Err(ConfigError::InvalidPolicy {
                input: path.to_owned(),
                reason: "a path starts with `/`",
            });
        }
        let scope = policy.inner.scope.clone();
        Ok(Self::from_node(
            Node::OnPath(Box::from(path), policy),
            scope,
        ))
    }

    /// Set the `scope` named in the challenge when this policy is not met, replacing the
    /// computed one (see [the denial](Self#the-denial)).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidPolicy`] when `scope` is empty or is not a space-separated list of
    /// scope tokens (visible ASCII other than `"` and `\`, RFC 6749 §3.3).
    pub fn challenge_scope(self, scope: &str) -> Result<Self, ConfigError> {
        let valid = !scope.is_empty() && scope.split(' ').all(is_scope_token);
        if !valid {
            return Err(ConfigError::InvalidPolicy {
                input: scope.to_owned(),
                reason: "a scope is scope tokens separated by single spaces",
            });
        }
        let mut inner = Arc::unwrap_or_clone(self.inner);
        inner.scope = Some(Arc::from(scope));
        inner.scope_set = true;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The `scope` this policy names when it is not met as a whole: for
    /// [`all_of`](Self::all_of), every permission of its parts (a denial names only the unmet
    /// part's, see [the denial](Self#the-denial)).
    #[must_use]
    pub fn required_scope(&self) -> Option<&str> {
        self.inner.scope.as_deref()
    }

    /// Check the policy against `claims` and the request's head with permissions from
    /// `source` (what [`Authorizer::check`](super::authorizer::Authorizer::check) does after
    /// letting superusers through). Superusers are the
    /// [`Authorizer`](super::authorizer::Authorizer)'s to let through, before this.
    pub(crate) fn check_with(
        &self,
        source: &Source,
        claims: &StandardClaims,
        request: &Parts,
    ) -> Result<(), AuthError> {
        self.evaluate(source, claims, request).map_err(denial)
    }

    /// [`check_claims`](Self::check_claims) with permissions from `source`: a policy that
    /// reads the request is never met.
    pub(crate) fn check_claims_with(
        &self,
        source: &Source,
        claims: &StandardClaims,
    ) -> Result<(), AuthError> {
        if self.reads_request() {
            return Err(denial(self.required_scope_arc()));
        }
        self.check_with(source, claims, &empty_head())
    }

    fn required_scope_arc(&self) -> Option<&Arc<str>> {
        self.inner.scope.as_ref()
    }

    /// Whether checking the policy reads the request head.
    fn reads_request(&self) -> bool {
        self.inner.reads_request
    }

    /// Whether the policy is met (superusers aside); if not, the scope to name. Allocates
    /// nothing.
    fn evaluate(
        &self,
        source: &Source,
        claims: &StandardClaims,
        request: &Parts,
    ) -> Result<(), Option<&Arc<str>>> {
        let own = self.inner.scope.as_ref();
        let met = |met: bool| if met { Ok(()) } else { Err(own) };
        let result = match &self.inner.node {
            Node::Authenticated => Ok(()),
            Node::Permission(permission) => met(source.is_granted(claims, permission)),
            Node::Scope(scope) => met(claims
                .scope
                .as_deref()
                .is_some_and(|held| held.split(' ').any(|token| token == &**scope))),
            Node::Role(role) => met(claims.roles.iter().any(|held| **held == **role)),
            Node::AnyOf(parts) => met(parts
                .iter()
                .any(|p| p.evaluate(source, claims, request).is_ok())),
            Node::AllOf(parts) => parts
                .iter()
                .try_for_each(|p| p.evaluate(source, claims, request)),
            Node::Not(policy) => met(policy.evaluate(source, claims, request).is_err()),
            Node::Predicate(predicate) => met(predicate(claims)),
            Node::RequestPredicate(predicate) => met(predicate(claims, request)),
            Node::Org(value) => met(match (claims.org.as_deref(), value.find(request)) {
                (Some(claimed), Some(requested)) => !requested.is_empty() && claimed == requested,
                _ => false,
            }),
            Node::OnPath(path, policy) => {
                if request.uri.path() == &**path {
                    policy.evaluate(source, claims, request)
                } else {
                    Ok(())
                }
            }
        };
        // A scope set on this part replaces the one its unmet part names.
        result.map_err(|scope| if self.inner.scope_set { own } else { scope })
    }
}

/// Whether `token` is one OAuth scope token (RFC 6749 §3.3): visible ASCII but `"` and `\`.
fn is_scope_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
}

/// An empty request head, `GET /` without headers. Allocates nothing.
fn empty_head() -> Parts {
    http::Request::new(()).into_parts().0
}

/// Collect `policies`, inlining the parts of nested combinators of the same kind.
fn flatten(
    policies: impl IntoIterator<Item = Policy>,
    same_kind: fn(&Node) -> Option<&[Policy]>,
) -> Vec<Policy> {
    let mut parts = Vec::new();
    for policy in policies {
        match same_kind(&policy.inner.node) {
            // A nested combinator with a scope of its own stays a unit.
            Some(nested) if !policy.inner.scope_set => parts.extend(nested.iter().cloned()),
            _ => parts.push(policy),
        }
    }
    parts
}

impl Node {
    fn any_of_parts(&self) -> Option<&[Policy]> {
        match self {
            Self::AnyOf(parts) => Some(parts),
            _ => None,
        }
    }

    fn all_of_parts(&self) -> Option<&[Policy]> {
        match self {
            Self::AllOf(parts) => Some(parts),
            _ => None,
        }
    }
}

impl OrgValue {
    fn find<'a>(&self, request: &'a Parts) -> Option<&'a str> {
        match self {
            Self::Header(name) => {
                let mut values = request.headers.get_all(name).iter();
                let value = values.next()?;
                if values.next().is_some() {
                    return None;
                }
                value.to_str().ok()
            }
            Self::PathSegment(index) => {
                request.uri.path().strip_prefix('/')?.split('/').nth(*index)
            }
            Self::Extract(extract) => extract(request),
        }
    }
}

impl From<Permission> for Policy {
    /// Require the permission.
    fn from(permission: Permission) -> Self {
        let scope = Arc::clone(permission.shared_text());
        Self::from_node(Node::Permission(permission), Some(scope))
    }
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list(f: &mut fmt::Formatter<'_>, name: &str, parts: &[Policy]) -> fmt::Result {
            f.write_str(name)?;
            f.write_str("(")?;
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                fmt::Debug::fmt(part, f)?;
            }
            f.write_str(")")
        }
        match &self.inner.node {
            Node::Authenticated => f.write_str("authenticated"),
            Node::Permission(permission) => write!(f, "permission({:?})", permission.as_str()),
            Node::Scope(scope) => write!(f, "scope({scope:?})"),
            Node::Role(role) => write!(f, "role({role:?})"),
            Node::AnyOf(parts) => list(f, "any_of", parts),
            Node::AllOf(parts) => list(f, "all_of", parts),
            Node::Not(policy) => write!(f, "not({policy:?})"),
            Node::Predicate(_) => f.write_str("predicate(<fn>)"),
            Node::RequestPredicate(_) => f.write_str("request_predicate(<fn>)"),
            Node::Org(OrgValue::Header(name)) => write!(f, "org_from_header({:?})", name.as_str()),
            Node::Org(OrgValue::PathSegment(index)) => write!(f, "org_from_path({index})"),
            Node::Org(OrgValue::Extract(_)) => f.write_str("org_from(<fn>)"),
            Node::OnPath(path, policy) => write!(f, "on_path({path:?}, {policy:?})"),
        }
    }
}
