//! [`ClaimMapping`] and [`ClaimPath`]: where the [`StandardClaims`](super::StandardClaims) are
//! read from in a token, for tokens as identity providers write them.

use std::{fmt, str::FromStr, sync::LazyLock};

use crate::error::ConfigError;

/// The most values a list claim (roles, permissions, scopes, audiences) may hold, all its
/// sources together; a token with more is malformed.
pub const MAX_CLAIM_VALUES: usize = 1024;

/// The most path segments a [`ClaimMapping`] may hold, all its paths together (a segment
/// shared by two paths counts once).
const MAX_NODES: usize = 48;

/// The registered claims tollgate always reads under their own names: no path may start at
/// one of them.
const FIXED: [&str; 6] = ["iss", "exp", "nbf", "iat", "jti", "sid"];

/// A path to a claim: a top-level claim name, or a path into nested JSON objects.
///
/// In Rust, a path is a list of segments: [`ClaimPath::from_segments`]`(["resource_access",
/// "crm", "roles"])`. It has a string form too, which [`ClaimPath::parse`] reads and
/// `Display` writes:
///
/// - segments are separated by `.`: `realm_access.roles` is the member `roles` of the object
///   `realm_access`;
/// - a segment that holds a `.` or a `"` (a namespaced claim such as
///   `https://example.com/roles`) is written as a JSON string:
///   `"https://example.com/roles"`, `resource_access."my.app".roles`;
/// - no segment is empty.
///
/// # Example
///
/// ```
/// use tollgate::verify::ClaimPath;
///
/// let nested = ClaimPath::parse("resource_access.crm.roles")?;
/// assert_eq!(nested.segments().collect::<Vec<_>>(), ["resource_access", "crm", "roles"]);
///
/// let namespaced = ClaimPath::from_segments(["https://example.com/roles"])?;
/// assert_eq!(namespaced.to_string(), r#""https://example.com/roles""#);
/// assert_eq!(ClaimPath::parse(r#""https://example.com/roles""#)?, namespaced);
///
/// assert!(ClaimPath::parse("realm_access..roles").is_err());
/// # Ok::<(), tollgate::ConfigError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ClaimPath {
    segments: Box<[Box<str>]>,
}

impl ClaimPath {
    /// Parse the string form (see the type docs).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidClaimPath`] naming `input` when it is empty, has an empty
    /// segment, a `"` inside an unquoted segment, or a quoted segment that is not a JSON
    /// string followed by `.` or the end.
    pub fn parse(input: &str) -> Result<Self, ConfigError> {
        let invalid = |reason| ConfigError::InvalidClaimPath {
            path: input.to_owned(),
            reason,
        };
        let mut segments = Vec::new();
        let mut rest = input;
        loop {
            let segment = if rest.starts_with('"') {
                let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<String>();
                let Some(Ok(segment)) = stream.next() else {
                    return Err(invalid("a quoted segment is not a JSON string"));
                };
                rest = &rest[stream.byte_offset()..];
                segment
            } else {
                let end = rest.find(['.', '"']).unwrap_or(rest.len());
                if rest[end..].starts_with('"') {
                    return Err(invalid("a `\"` may only enclose a whole segment"));
                }
                let segment = rest[..end].to_owned();
                rest = &rest[end..];
                segment
            };
            if segment.is_empty() {
                return Err(invalid("a segment is empty"));
            }
            segments.push(segment.into_boxed_str());
            if rest.is_empty() {
                break;
            }
            rest = rest.strip_prefix('.').ok_or_else(|| {
                invalid("a quoted segment is followed by something other than `.`")
            })?;
            if rest.is_empty() {
                return Err(invalid("a segment is empty"));
            }
        }
        Ok(Self {
            segments: segments.into(),
        })
    }

    /// A path from its segments, each one a JSON member name taken as it is (dots and
    /// slashes included).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidClaimPath`] when there is no segment or a segment is empty.
    pub fn from_segments<I, S>(segments: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let segments: Box<[Box<str>]> = segments
            .into_iter()
            .map(|s| s.into().into_boxed_str())
            .collect();
        let path = Self { segments };
        if path.segments.is_empty() || path.segments.iter().any(|s| s.is_empty()) {
            return Err(ConfigError::InvalidClaimPath {
                path: path.to_string(),
                reason: "a path has at least one segment, and no segment is empty",
            });
        }
        Ok(path)
    }

    /// A one-segment path to a top-level claim known to be valid (a non-empty constant).
    fn claim(name: &str) -> Self {
        Self::nested(&[name])
    }

    /// A path of constant, non-empty segments.
    fn nested(segments: &[&str]) -> Self {
        Self {
            segments: segments.iter().map(|&s| Box::from(s)).collect(),
        }
    }

    /// The segments, outermost first.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().map(|s| &**s)
    }
}

impl FromStr for ClaimPath {
    type Err = ConfigError;

    fn from_str(input: &str) -> Result<Self, ConfigError> {
        Self::parse(input)
    }
}

impl TryFrom<&str> for ClaimPath {
    type Error = ConfigError;

    fn try_from(input: &str) -> Result<Self, ConfigError> {
        Self::parse(input)
    }
}

impl fmt::Display for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.segments.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            if segment.is_empty() || segment.contains(['.', '"']) {
                // A JSON string of a `str` cannot fail to serialize.
                let quoted = serde_json::to_string(&**segment).map_err(|_| fmt::Error)?;
                f.write_str(&quoted)?;
            } else {
                f.write_str(segment)?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ClaimPath")
            .field(&format_args!("{self}"))
            .finish()
    }
}

/// A value of [`StandardClaims`](super::StandardClaims) that a [`ClaimMapping`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// `sub`: a string (or an integer, when integer ids are accepted).
    Subject,
    /// `org`: a string (or an integer, when integer ids are accepted).
    Organization,
    /// `token_type`: a string.
    TokenType,
    /// `ver`: a non-negative integer.
    Version,
    /// `aud`: a string (one audience) or an array of strings.
    Audience,
    /// `roles`: an array of strings, or a space-separated string.
    Roles,
    /// `perms`: an array of strings, or a space-separated string.
    Permissions,
    /// `scope`: a space-separated string, or an array of strings.
    Scopes,
}

/// A member name the mapping reads, in the token's claims set or in a nested object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Node {
    pub(crate) name: Box<str>,
    /// Its bit in the duplicate-member mask, from 0 (the registered claims use higher bits).
    pub(crate) index: u32,
    pub(crate) kind: NodeKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum NodeKind {
    /// The value of a claim: `path` is its whole path, for error details.
    Leaf { target: Target, path: Box<str> },
    /// An object holding other members the mapping reads.
    Object(Vec<Node>),
}

/// Where the [`StandardClaims`](super::StandardClaims) are read from: the subject, the
/// organization, the token type, the audiences, the roles, the permissions and the scopes,
/// each from a claim name or a [`ClaimPath`] into nested objects.
///
/// Give it to [`Verifier::claim_mapping`](crate::verify::Verifier::claim_mapping): the
/// verifier reads the claims through it in its one parsing pass, so the revocation and policy
/// layers, and handlers taking `Claims<StandardClaims>`, see the mapped values under the
/// standard names (`sub`, `org`, `roles`, `perms`, `scope`, ...).
///
/// The default, [`ClaimMapping::new`], reads today's names: `sub`, `org`, `token_type`,
/// `ver`, `aud`, `roles`, `perms` and `scope`. The presets read what each identity provider writes:
/// [`keycloak`](Self::keycloak), [`auth0`](Self::auth0), [`entra_id`](Self::entra_id),
/// [`okta`](Self::okta), [`cognito`](Self::cognito) and [`simplejwt`](Self::simplejwt); the
/// setters change any part of a mapping, preset or not. `docs/interop.md` shows a sample
/// token of each provider.
///
/// # Values
///
/// - **Ids** (subject, organization) are strings; `null` is absent. An integer is refused
///   (RFC 7519: `sub` is a string) unless [`accept_integer_ids`](Self::accept_integer_ids)
///   says otherwise; it is then read as its decimal digits.
/// - **Lists** (roles, permissions, scopes) are an array of strings or one space-separated
///   string; several sources add up, in order. The audience is one string or an array of
///   strings. A list holds at most [`MAX_CLAIM_VALUES`] values.
/// - **Nested paths**: a missing member anywhere on the path means the claim is absent;
///   a member on the path that is not an object makes the token malformed.
/// - A value of the wrong type, and a member the mapping reads that appears twice, make the
///   token malformed, with an [`AuthError::detail`](crate::AuthError::detail) naming the
///   claim. The registered claims `iss`, `exp`, `nbf`, `iat`, `jti` and `sid` are always read
///   under their own names.
///
/// # Example
///
/// ```
/// use tollgate::verify::{ClaimMapping, ClaimPath};
///
/// // A Keycloak realm, with the roles of the `crm` client.
/// let keycloak = ClaimMapping::keycloak("crm")?;
///
/// // A Django service issuing simplejwt tokens: integer `user_id`, and the CRM's own
/// // `organization_id` and `permissions`.
/// let django = ClaimMapping::simplejwt()
///     .organization("organization_id")?
///     .permissions(["permissions"])?;
///
/// // Two mappings may not read one claim as two things.
/// assert!(ClaimMapping::new().roles(["realm_access"])?.permissions(["realm_access.roles"]).is_err());
/// # Ok::<(), tollgate::ConfigError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ClaimMapping {
    sources: Sources,
    /// The member names to read, as a tree: compiled from `sources` by every setter.
    nodes: Box<[Node]>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Sources {
    subject: Option<ClaimPath>,
    organization: Option<ClaimPath>,
    token_type: Option<ClaimPath>,
    version: Option<ClaimPath>,
    audience: Vec<ClaimPath>,
    roles: Vec<ClaimPath>,
    permissions: Vec<ClaimPath>,
    scopes: Vec<ClaimPath>,
    integer_ids: bool,
}

/// The default mapping, shared by every verifier that keeps it and by
/// `StandardClaims`' `Deserialize`.
pub(crate) static DEFAULT: LazyLock<ClaimMapping> = LazyLock::new(ClaimMapping::new);

impl ClaimMapping {
    /// Today's names: `sub`, `org`, `token_type`, `ver`, `aud`, `roles`, `perms` and `scope`;
    /// ids are strings.
    #[must_use]
    pub fn new() -> Self {
        Self::compiled(Sources {
            subject: Some(ClaimPath::claim("sub")),
            organization: Some(ClaimPath::claim("org")),
            token_type: Some(ClaimPath::claim("token_type")),
            version: Some(ClaimPath::claim("ver")),
            audience: vec![ClaimPath::claim("aud")],
            roles: vec![ClaimPath::claim("roles")],
            permissions: vec![ClaimPath::claim("perms")],
            scopes: vec![ClaimPath::claim("scope")],
            integer_ids: false,
        })
    }

    /// A mapping of constant paths, known not to conflict (tested for every preset).
    fn compiled(sources: Sources) -> Self {
        let nodes = compile(&sources).unwrap_or_default();
        Self {
            sources,
            nodes: nodes.into(),
        }
    }

    /// Apply `change` to the sources and compile them again.
    fn with(mut self, change: impl FnOnce(&mut Sources)) -> Result<Self, ConfigError> {
        change(&mut self.sources);
        self.nodes = compile(&self.sources)?.into();
        Ok(self)
    }

    /// Keycloak: realm roles (`realm_access.roles`) and the roles of the client `client_id`
    /// (`resource_access.<client_id>.roles`), scopes from `scope` (`openid profile email`).
    ///
    /// Keycloak names the client the token was issued to in `azp`; its access tokens carry
    /// `aud` only when an audience mapper adds one.
    ///
    /// ```json
    /// {
    ///   "iss": "https://sso.example.com/realms/acme", "aud": ["crm", "account"],
    ///   "sub": "f0c5c9f4-8d4e-4d0f-9a55-8d3b1e6c2f10", "azp": "crm", "typ": "Bearer",
    ///   "exp": 1767225900, "iat": 1767225600, "jti": "onrtac:5b1f4a4e-0c47-4a1c-9b2e-0f4f1e0f2a11",
    ///   "realm_access": {"roles": ["offline_access", "manager"]},
    ///   "resource_access": {"crm": {"roles": ["customer-admin"]}, "account": {"roles": ["view-profile"]}},
    ///   "scope": "openid email profile"
    /// }
    /// ```
    ///
    /// `roles` is then `["offline_access", "manager", "customer-admin"]`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Empty`] for an empty `client_id`.
    pub fn keycloak(client_id: &str) -> Result<Self, ConfigError> {
        if client_id.is_empty() {
            return Err(ConfigError::Empty {
                setting: "keycloak client id",
            });
        }
        let client_roles = ClaimPath::from_segments(["resource_access", client_id, "roles"])?;
        Self::new().with(|s| {
            s.roles = vec![ClaimPath::nested(&["realm_access", "roles"]), client_roles];
        })
    }

    /// Auth0: permissions from `permissions` (RBAC for the API, `read:messages`), roles from
    /// the namespaced custom claim `<namespace>roles` (`https://example.com/roles`, set by an
    /// Action), the organization from `org_id` (Auth0 Organizations), scopes from `scope`.
    ///
    /// `namespace` is the prefix of your custom claims, such as `https://example.com/`; a `/`
    /// is added when it does not end with one.
    ///
    /// ```json
    /// {
    ///   "https://example.com/roles": ["admin"],
    ///   "iss": "https://acme.us.auth0.com/", "sub": "auth0|6571f1c2d3e4f5a6b7c8d9e0",
    ///   "aud": ["https://api.example.com", "https://acme.us.auth0.com/userinfo"],
    ///   "iat": 1767225600, "exp": 1767312000, "azp": "yZ8YqTCNNEhhAxE5hUMnF5Qn7o6nLBt2",
    ///   "scope": "openid profile email read:messages", "org_id": "org_9ybsU1dN2dKfDkBi",
    ///   "permissions": ["read:messages", "write:messages"]
    /// }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConfigError::Empty`] for an empty `namespace`.
    pub fn auth0(namespace: &str) -> Result<Self, ConfigError> {
        if namespace.is_empty() {
            return Err(ConfigError::Empty {
                setting: "auth0 namespace",
            });
        }
        let separator = if namespace.ends_with('/') { "" } else { "/" };
        let roles = ClaimPath::from_segments([format!("{namespace}{separator}roles")])?;
        Self::new().with(|s| {
            s.roles = vec![roles];
            s.permissions = vec![ClaimPath::claim("permissions")];
            s.organization = Some(ClaimPath::claim("org_id"));
        })
    }

    /// Microsoft Entra ID: app roles from `roles`, delegated scopes from `scp`
    /// (space-separated, `User.Read Mail.Send`), the tenant from `tid` as the organization.
    /// Entra's `ver` is the token format (`"2.0"`), not a permission version: it is not read.
    ///
    /// ```json
    /// {
    ///   "aud": "6e74172b-be56-4843-9ff4-e66a39bb12e3",
    ///   "iss": "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0",
    ///   "iat": 1767225600, "nbf": 1767225600, "exp": 1767229200,
    ///   "azp": "ec7e4ef6-7b54-4e82-8cc5-4a9bb2f8fd84", "oid": "690222be-ff1a-4d56-abd1-7e4f7d38e474",
    ///   "roles": ["Customers.Manage"], "scp": "User.Read Customers.Read",
    ///   "sub": "MF4f-ggWMEji12KynJUNQZphaUTvLcQug5jdF2nl01Q",
    ///   "tid": "72f988bf-86f1-41af-91ab-2d7cd011db47", "uti": "fqiBqXLPj0eQa82S-IYFAA", "ver": "2.0"
    /// }
    /// ```
    #[must_use]
    pub fn entra_id() -> Self {
        let mut sources = Self::new().sources;
        sources.version = None;
        sources.scopes = vec![ClaimPath::claim("scp")];
        sources.organization = Some(ClaimPath::claim("tid"));
        Self::compiled(sources)
    }

    /// Okta: scopes from `scp` (an array), roles from `groups` (added to access tokens by a
    /// groups claim in the authorization server). Okta's `ver` is the token format (`1`), not a
    /// permission version: it is not read.
    ///
    /// ```json
    /// {
    ///   "ver": 1, "jti": "AT.0mP4JKAZX1iACIT4vbEDF7LpvDVjxypPMf0D7uX39RE",
    ///   "iss": "https://acme.okta.com/oauth2/default", "aud": "api://default",
    ///   "iat": 1767225600, "exp": 1767229200, "cid": "0oa1f2k3l4m5n6o7p8q9",
    ///   "uid": "00u1a2b3c4d5e6f7g8h9", "scp": ["openid", "customers.read"],
    ///   "sub": "ann@example.com", "groups": ["Everyone", "CRM Managers"]
    /// }
    /// ```
    #[must_use]
    pub fn okta() -> Self {
        let mut sources = Self::new().sources;
        sources.version = None;
        sources.scopes = vec![ClaimPath::claim("scp")];
        sources.roles = vec![ClaimPath::claim("groups")];
        Self::compiled(sources)
    }

    /// Amazon Cognito: roles from `cognito:groups`, scopes from `scope`, the audience from
    /// `aud` (ID tokens) and `client_id` (access tokens, which have no `aud`), and the token
    /// type from `token_use` (`access` or `id`: require `access` with
    /// [`Verifier::token_type_claim`](crate::verify::Verifier::token_type_claim)).
    ///
    /// ```json
    /// {
    ///   "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "cognito:groups": ["admin"],
    ///   "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_example",
    ///   "version": 2, "client_id": "1example23456789", "token_use": "access",
    ///   "scope": "aws.cognito.signin.user.admin openid profile", "auth_time": 1767225600,
    ///   "exp": 1767229200, "iat": 1767225600, "jti": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
    ///   "username": "ann"
    /// }
    /// ```
    #[must_use]
    pub fn cognito() -> Self {
        let mut sources = Self::new().sources;
        sources.roles = vec![ClaimPath::claim("cognito:groups")];
        sources.audience = vec![ClaimPath::claim("aud"), ClaimPath::claim("client_id")];
        sources.token_type = Some(ClaimPath::claim("token_use"));
        Self::compiled(sources)
    }

    /// Django REST framework simplejwt: the subject from `user_id` (an integer for Django's
    /// default primary keys), integer ids accepted, the token type from `token_type`
    /// (`access` or `refresh`: require `access` with
    /// [`Verifier::token_type_claim`](crate::verify::Verifier::token_type_claim)); `jti` is
    /// read as always, so revocation works.
    ///
    /// Your own claims (an organization, permissions) are added with the setters:
    /// `ClaimMapping::simplejwt().organization("organization_id")?.permissions(["permissions"])?`
    /// for
    ///
    /// ```json
    /// {
    ///   "token_type": "access", "exp": 1767225900, "iat": 1767225600,
    ///   "jti": "9f1c4a0e6b5d4f0b8e2a7c3d1e5f7a9b", "user_id": 42,
    ///   "organization_id": 7, "permissions": ["customer:read", "customer:delete"]
    /// }
    /// ```
    ///
    /// gives `sub` `"42"` and `org` `"7"`.
    #[must_use]
    pub fn simplejwt() -> Self {
        let mut sources = Self::new().sources;
        sources.subject = Some(ClaimPath::claim("user_id"));
        sources.integer_ids = true;
        Self::compiled(sources)
    }

    /// Read the subject (`sub`) from `path`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidClaimPath`] when `path` does not parse, starts at a registered
    /// claim tollgate reads itself (`iss`, `exp`, `nbf`, `iat`, `jti`, `sid`), or
    /// overlaps another path of the mapping (the same claim, or one inside the other).
    pub fn subject<P>(self, path: P) -> Result<Self, ConfigError>
    where
        P: TryInto<ClaimPath>,
        ConfigError: From<P::Error>,
    {
        let path = path.try_into()?;
        self.with(|s| s.subject = Some(path))
    }

    /// Read the organization (`org`) from `path`.
    ///
    /// # Errors
    ///
    /// As [`subject`](Self::subject).
    pub fn organization<P>(self, path: P) -> Result<Self, ConfigError>
    where
        P: TryInto<ClaimPath>,
        ConfigError: From<P::Error>,
    {
        let path = path.try_into()?;
        self.with(|s| s.organization = Some(path))
    }

    /// Read the token type (`token_type`, compared by
    /// [`Verifier::token_type_claim`](crate::verify::Verifier::token_type_claim)) from `path`.
    ///
    /// # Errors
    ///
    /// As [`subject`](Self::subject).
    pub fn token_type<P>(self, path: P) -> Result<Self, ConfigError>
    where
        P: TryInto<ClaimPath>,
        ConfigError: From<P::Error>,
    {
        let path = path.try_into()?;
        self.with(|s| s.token_type = Some(path))
    }

    /// Read the permission version (`ver`, compared by the revocation layer) from `path`.
    ///
    /// # Errors
    ///
    /// As [`subject`](Self::subject).
    pub fn permission_version<P>(self, path: P) -> Result<Self, ConfigError>
    where
        P: TryInto<ClaimPath>,
        ConfigError: From<P::Error>,
    {
        let path = path.try_into()?;
        self.with(|s| s.version = Some(path))
    }

    /// Read the audiences (`aud`) from `paths`, replacing the ones set before.
    ///
    /// # Errors
    ///
    /// As [`subject`](Self::subject).
    pub fn audience<I, P>(self, paths: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = P>,
        P: TryInto<ClaimPath>,
        ConfigError: From<P::Error>,
    {
        let paths = collect(paths)?;
        self.with(|s| s.audience = paths)
    }

    /// Read the roles (`roles`) from `paths`, replacing the ones set before; the values of
    /// every path add up. No path: no roles are read.
    ///
    /// # Errors
    ///
    /// As [`subject`](Self::subject).
    pub fn roles<I, P>(self, paths: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = P>,
        P: TryInto<ClaimPath>,
        ConfigError: From<P::Error>,
    {
        let paths = collect(paths)?;
        self.with(|s| s.roles = paths)
    }

    /// Read the permissions (`perms`) from `paths`, replacing the ones set before.
    ///
    /// # Errors
    ///
    /// As [`subject`](Self::subject).
    pub fn permissions<I, P>(self, paths: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = P>,
        P: TryInto<ClaimPath>,
        ConfigError: From<P::Error>,
    {
        let paths = collect(paths)?;
        self.with(|s| s.permissions = paths)
    }

    /// Read the scopes (`scope`) from `paths`, replacing the ones set before.
    ///
    /// # Errors
    ///
    /// As [`subject`](Self::subject).
    pub fn scopes<I, P>(self, paths: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = P>,
        P: TryInto<ClaimPath>,
        ConfigError: From<P::Error>,
    {
        let paths = collect(paths)?;
        self.with(|s| s.scopes = paths)
    }

    /// Whether the subject and the organization may be JSON integers, read as their decimal
    /// digits (default `false`: RFC 7519 makes `sub` a string, and an integer is refused).
    #[must_use]
    pub fn accept_integer_ids(mut self, accept: bool) -> Self {
        self.sources.integer_ids = accept;
        self
    }

    /// Whether the subject and the organization may be JSON integers.
    pub(crate) fn integer_ids(&self) -> bool {
        self.sources.integer_ids
    }

    /// The member names to read at the top level of the claims set.
    pub(crate) fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Whether the claim named `name` is the one the mapping reads into the standard claim of
    /// the same name (`sub` from `sub`, ...).
    pub(crate) fn reads_own_name(&self, name: &str) -> bool {
        let own = |path: Option<&ClaimPath>| path.is_some_and(|p| *p.segments == [Box::from(name)]);
        let s = &self.sources;
        match name {
            "sub" => own(s.subject.as_ref()),
            "org" => own(s.organization.as_ref()),
            "token_type" => own(s.token_type.as_ref()),
            "ver" => own(s.version.as_ref()),
            "aud" => s.audience.len() == 1 && own(s.audience.first()),
            "scope" => s.scopes.len() == 1 && own(s.scopes.first()),
            _ => false,
        }
    }
}

impl Default for ClaimMapping {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ClaimMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.sources;
        f.debug_struct("ClaimMapping")
            .field("subject", &s.subject)
            .field("organization", &s.organization)
            .field("token_type", &s.token_type)
            .field("version", &s.version)
            .field("audience", &s.audience)
            .field("roles", &s.roles)
            .field("permissions", &s.permissions)
            .field("scopes", &s.scopes)
            .field("integer_ids", &s.integer_ids)
            .finish()
    }
}

fn collect<I, P>(paths: I) -> Result<Vec<ClaimPath>, ConfigError>
where
    I: IntoIterator<Item = P>,
    P: TryInto<ClaimPath>,
    ConfigError: From<P::Error>,
{
    paths
        .into_iter()
        .map(|p| p.try_into().map_err(ConfigError::from))
        .collect()
}

/// The tree of member names `sources` read, or the first conflict.
fn compile(sources: &Sources) -> Result<Vec<Node>, ConfigError> {
    let s = sources;
    let all = [
        (s.subject.as_slice(), Target::Subject),
        (s.organization.as_slice(), Target::Organization),
        (s.token_type.as_slice(), Target::TokenType),
        (s.version.as_slice(), Target::Version),
        (&s.audience, Target::Audience),
        (&s.roles, Target::Roles),
        (&s.permissions, Target::Permissions),
        (&s.scopes, Target::Scopes),
    ]
    .into_iter()
    .flat_map(|(paths, target)| paths.iter().map(move |path| (path, target)));
    let mut nodes = Vec::new();
    let mut count = 0;
    for (path, target) in all {
        insert(&mut nodes, &mut count, path, target)?;
    }
    Ok(nodes)
}

fn insert(
    mut level: &mut Vec<Node>,
    count: &mut u32,
    path: &ClaimPath,
    target: Target,
) -> Result<(), ConfigError> {
    let invalid = |reason| ConfigError::InvalidClaimPath {
        path: path.to_string(),
        reason,
    };
    if FIXED.contains(&&*path.segments[0]) {
        return Err(invalid(
            "it starts at a registered claim tollgate reads itself",
        ));
    }
    let last = path.segments.len() - 1;
    for (depth, segment) in path.segments.iter().enumerate() {
        let position = level.iter().position(|node| node.name == *segment);
        let index = match position {
            Some(index) => index,
            None => {
                if *count as usize >= MAX_NODES {
                    return Err(ConfigError::OutOfRange {
                        setting: "claim mapping",
                        expected: "at most 48 path segments in all",
                    });
                }
                let kind = if depth == last {
                    NodeKind::Leaf {
                        target,
                        path: path.to_string().into_boxed_str(),
                    }
                } else {
                    NodeKind::Object(Vec::new())
                };
                level.push(Node {
                    name: segment.clone(),
                    index: *count,
                    kind,
                });
                *count += 1;
                if depth == last {
                    return Ok(());
                }
                level.len() - 1
            }
        };
        match &mut level[index].kind {
            NodeKind::Object(children) if depth < last => level = children,
            NodeKind::Object(_) => {
                return Err(invalid(
                    "another path of the mapping reads a member inside it",
                ));
            }
            NodeKind::Leaf { .. } if depth < last => {
                return Err(invalid(
                    "another path of the mapping reads a claim on its way",
                ));
            }
            NodeKind::Leaf { .. } => {
                return Err(invalid("another path of the mapping reads the same claim"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_string_form_reads_nested_and_quoted_segments() {
        let table: [(&str, &[&str]); 6] = [
            ("sub", &["sub"]),
            ("realm_access.roles", &["realm_access", "roles"]),
            (
                r#""https://example.com/roles""#,
                &["https://example.com/roles"],
            ),
            (
                r#"resource_access."my.app".roles"#,
                &["resource_access", "my.app", "roles"],
            ),
            (r#""a\"b".c"#, &["a\"b", "c"]),
            ("cognito:groups", &["cognito:groups"]),
        ];
        for (input, segments) in table {
            let path = ClaimPath::parse(input).unwrap();
            assert_eq!(path.segments().collect::<Vec<_>>(), segments, "{input}");
            assert_eq!(path.to_string(), input);
        }
    }

    #[test]
    fn malformed_paths_are_refused_with_distinct_reasons() {
        for (input, reason) in [
            ("", "a segment is empty"),
            ("a.", "a segment is empty"),
            (".a", "a segment is empty"),
            ("a..b", "a segment is empty"),
            (r#"a"b"#, "a `\"` may only enclose a whole segment"),
            (
                r#""a"b"#,
                "a quoted segment is followed by something other than `.`",
            ),
            (r#""a"#, "a quoted segment is not a JSON string"),
            (r#""""#, "a segment is empty"),
        ] {
            match ClaimPath::parse(input) {
                Err(ConfigError::InvalidClaimPath { path, reason: got }) => {
                    assert_eq!(path, input);
                    assert_eq!(got, reason, "{input:?}");
                }
                other => panic!("{input:?}: {other:?}"),
            }
        }
        assert!(ClaimPath::from_segments(Vec::<String>::new()).is_err());
        assert!(ClaimPath::from_segments(["a", ""]).is_err());
    }

    #[test]
    fn conflicting_paths_are_refused_where_supplied() {
        let conflict = |result: Result<ClaimMapping, ConfigError>, reason: &str| match result {
            Err(ConfigError::InvalidClaimPath { reason: got, .. }) => assert_eq!(got, reason),
            other => panic!("{other:?}"),
        };
        conflict(
            ClaimMapping::new().subject("exp"),
            "it starts at a registered claim tollgate reads itself",
        );
        conflict(
            ClaimMapping::new().subject("perms"),
            "another path of the mapping reads the same claim",
        );
        conflict(
            ClaimMapping::new()
                .roles(["a.b"])
                .and_then(|m| m.permissions(["a"])),
            "another path of the mapping reads a member inside it",
        );
        conflict(
            ClaimMapping::new()
                .roles(["a"])
                .and_then(|m| m.permissions(["a.b"])),
            "another path of the mapping reads a claim on its way",
        );
        assert!(matches!(
            ClaimMapping::new().roles(["a..b"]),
            Err(ConfigError::InvalidClaimPath { .. })
        ));
        let many: Vec<String> = (0..MAX_NODES).map(|i| format!("r{i}")).collect();
        assert!(matches!(
            ClaimMapping::new().roles(many.iter().map(String::as_str)),
            Err(ConfigError::OutOfRange { .. })
        ));
        assert!(matches!(
            ClaimMapping::keycloak(""),
            Err(ConfigError::Empty { .. })
        ));
        assert!(matches!(
            ClaimMapping::auth0(""),
            Err(ConfigError::Empty { .. })
        ));
    }

    #[test]
    fn every_preset_compiles() {
        for mapping in [
            ClaimMapping::new(),
            ClaimMapping::keycloak("my.app").unwrap(),
            ClaimMapping::auth0("https://example.com").unwrap(),
            ClaimMapping::entra_id(),
            ClaimMapping::okta(),
            ClaimMapping::cognito(),
            ClaimMapping::simplejwt(),
        ] {
            assert_eq!(
                compile(&mapping.sources).unwrap(),
                &*mapping.nodes,
                "{mapping:?}"
            );
            assert!(!mapping.nodes.is_empty());
        }
        let auth0 = ClaimMapping::auth0("https://example.com/").unwrap();
        assert_eq!(
            auth0.sources.roles,
            [ClaimPath::from_segments(["https://example.com/roles"]).unwrap()]
        );
        assert!(ClaimMapping::new().reads_own_name("sub"));
        assert!(!ClaimMapping::simplejwt().reads_own_name("sub"));
    }

    proptest! {
        #[test]
        fn the_string_form_round_trips(segments in prop::collection::vec("[a-z.\"/:\\\\ ]{1,6}", 1..4)) {
            let path = ClaimPath::from_segments(segments.clone()).unwrap();
            let parsed = ClaimPath::parse(&path.to_string()).unwrap();
            prop_assert_eq!(parsed.segments().collect::<Vec<_>>(), segments);
        }
    }
}
