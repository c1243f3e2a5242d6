//! Reading [`StandardClaims`] through a [`ClaimMapping`], in one pass over the claims set.
//!
//! The claims set is visited once, member by member: a registered claim goes to its field, a
//! member the mapping reads to its target (nested objects are entered only where a path
//! leads), and every other member is handed back to the deserializer to skip (which, under
//! the verifier's strict reader, still checks it). Nothing is parsed twice and nothing is
//! kept that no field needs.

use std::{borrow::Cow, cell::Cell, fmt};

use compact_str::{CompactString, ToCompactString};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{
    NumericDate, StandardClaims,
    mapping::{ClaimMapping, MAX_CLAIM_VALUES, Node, NodeKind, Target},
};

/// Where a refusal's precise reason is left, for the error: the first one set wins (an inner
/// value's reason is more precise than the member's around it).
pub(crate) type Detail = Cell<Option<Cow<'static, str>>>;

/// Record `reason` unless a reason is already recorded.
fn note(detail: &Detail, reason: impl FnOnce() -> Cow<'static, str>) {
    let current = detail.take();
    detail.set(Some(current.unwrap_or_else(reason)));
}

/// [`note`] `reason`, and return an error to propagate.
fn refuse<E: de::Error>(detail: &Detail, reason: impl FnOnce() -> Cow<'static, str>) -> E {
    note(detail, reason);
    E::custom("the claims set does not fit the claim mapping")
}

/// Reads a claims set as [`StandardClaims`] through `mapping`.
pub(crate) struct ClaimsSeed<'a> {
    pub(crate) mapping: &'a ClaimMapping,
    pub(crate) detail: &'a Detail,
}

impl<'de> DeserializeSeed<'de> for ClaimsSeed<'_> {
    type Value = StandardClaims;

    fn deserialize<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<StandardClaims, D::Error> {
        let mut state = State {
            integer_ids: self.mapping.integer_ids(),
            detail: self.detail,
            claims: StandardClaims::default(),
            seen: 0,
            scopes: 0,
        };
        deserializer.deserialize_map(ObjectVisitor {
            state: &mut state,
            nodes: self.mapping.nodes(),
            name: None,
        })?;
        Ok(state.claims)
    }
}

struct State<'a> {
    integer_ids: bool,
    detail: &'a Detail,
    claims: StandardClaims,
    /// The members read so far: bit `Node::index`, or `FIXED_BIT + Fixed` for a registered
    /// claim.
    seen: u64,
    /// The number of scopes in `claims.scope`.
    scopes: usize,
}

impl State<'_> {
    /// Mark member `bit` as read; an error if it was already.
    fn first<E: de::Error>(&mut self, bit: u32, name: &str) -> Result<(), E> {
        if self.seen & (1 << bit) != 0 {
            return Err(refuse(self.detail, || {
                format!("the claim `{name}` appears twice").into()
            }));
        }
        self.seen |= 1 << bit;
        Ok(())
    }
}

/// The registered claims read under their own names, and their bits in `State::seen`.
#[derive(Clone, Copy)]
enum Fixed {
    Iss,
    Exp,
    Nbf,
    Iat,
    Jti,
    Sid,
}

const FIXED_BIT: u32 = 56;

impl Fixed {
    fn name(self) -> &'static str {
        match self {
            Self::Iss => "iss",
            Self::Exp => "exp",
            Self::Nbf => "nbf",
            Self::Iat => "iat",
            Self::Jti => "jti",
            Self::Sid => "sid",
        }
    }
}

/// A member name: a registered claim, one the mapping reads (its index in the level's
/// nodes), or another.
enum Key {
    Fixed(Fixed),
    Node(usize),
    Other,
}

struct KeySeed<'a> {
    nodes: &'a [Node],
    top: bool,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Key;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Key, E> {
        if self.top {
            let fixed = match name {
                "iss" => Some(Fixed::Iss),
                "exp" => Some(Fixed::Exp),
                "nbf" => Some(Fixed::Nbf),
                "iat" => Some(Fixed::Iat),
                "jti" => Some(Fixed::Jti),
                "sid" => Some(Fixed::Sid),
                _ => None,
            };
            if let Some(fixed) = fixed {
                return Ok(Key::Fixed(fixed));
            }
        }
        Ok(self
            .nodes
            .iter()
            .position(|node| *node.name == *name)
            .map_or(Key::Other, Key::Node))
    }
}

/// The claims set (`name` `None`) or an object on a path (`name` its member name).
struct ObjectVisitor<'s, 'a> {
    state: &'s mut State<'a>,
    nodes: &'s [Node],
    name: Option<&'s str>,
}

impl<'de> DeserializeSeed<'de> for ObjectVisitor<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl ObjectVisitor<'_, '_> {
    fn not_an_object<E: de::Error>(&self) -> E {
        let name = self.name;
        refuse(self.state.detail, || match name {
            Some(name) => format!("`{name}` is not an object").into(),
            None => "the claims set is not an object".into(),
        })
    }
}

/// Refuse every kind of value but the ones the visitor reads, through `$refuse`.
macro_rules! refuse_scalars {
    ($refuse:ident: $($method:ident($ty:ty);)*) => {
        $(
            fn $method<E: de::Error>(self, _: $ty) -> Result<Self::Value, E> {
                Err(self.$refuse())
            }
        )*
    };
}

impl<'de> Visitor<'de> for ObjectVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    refuse_scalars! { not_an_object:
        visit_bool(bool);
        visit_i64(i64);
        visit_u64(u64);
        visit_f64(f64);
        visit_str(&str);
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(self.not_an_object())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(self.not_an_object())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let state = self.state;
        let top = self.name.is_none();
        while let Some(key) = map.next_key_seed(KeySeed {
            nodes: self.nodes,
            top,
        })? {
            match key {
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
                Key::Fixed(fixed) => read_fixed(state, fixed, &mut map)?,
                Key::Node(index) => {
                    let node = &self.nodes[index];
                    state.first(node.index, &node.name)?;
                    match &node.kind {
                        NodeKind::Leaf { target, path } => map.next_value_seed(LeafVisitor {
                            state: &mut *state,
                            target: *target,
                            path,
                        })?,
                        NodeKind::Object(children) => map.next_value_seed(ObjectVisitor {
                            state: &mut *state,
                            nodes: children,
                            name: Some(&node.name),
                        })?,
                    }
                }
            }
        }
        Ok(())
    }
}

/// Read the registered claim `fixed` into its field.
fn read_fixed<'de, A: MapAccess<'de>>(
    state: &mut State<'_>,
    fixed: Fixed,
    map: &mut A,
) -> Result<(), A::Error> {
    let name = fixed.name();
    state.first(FIXED_BIT + fixed as u32, name)?;
    let detail = state.detail;
    let claims = &mut state.claims;
    let string = |value: Result<Option<CompactString>, A::Error>| {
        value.inspect_err(|_| note(detail, || format!("`{name}` must be a string").into()))
    };
    let date = |value: Result<NumericDate, A::Error>| {
        value.map(|date| Some(date.0)).inspect_err(|_| {
            note(detail, || {
                format!("`{name}` must be a NumericDate (a JSON number of seconds)").into()
            });
        })
    };
    match fixed {
        Fixed::Iss => claims.iss = string(map.next_value())?,
        Fixed::Jti => claims.jti = string(map.next_value())?,
        Fixed::Sid => claims.sid = string(map.next_value())?,
        Fixed::Exp => claims.exp = date(map.next_value())?,
        Fixed::Nbf => claims.nbf = date(map.next_value())?,
        Fixed::Iat => claims.iat = date(map.next_value())?,
    }
    Ok(())
}

/// The value of a claim the mapping reads into `target`; `path` names it in errors.
struct LeafVisitor<'s, 'a> {
    state: &'s mut State<'a>,
    target: Target,
    path: &'s str,
}

impl<'de> DeserializeSeed<'de> for LeafVisitor<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl LeafVisitor<'_, '_> {
    /// What the claim must be, for the error.
    fn wrong_type<E: de::Error>(&self) -> E {
        let path = self.path;
        let expected = match self.target {
            Target::Subject | Target::Organization if self.state.integer_ids => {
                "a string or an integer"
            }
            Target::Subject | Target::Organization | Target::TokenType => "a string",
            Target::Version => "a non-negative integer",
            Target::Audience => "a string or an array of strings",
            Target::Roles | Target::Permissions | Target::Scopes => {
                "an array of strings or a space-separated string"
            }
        };
        refuse(self.state.detail, || {
            format!("`{path}` must be {expected}").into()
        })
    }

    fn too_many<E: de::Error>(&self) -> E {
        let path = self.path;
        refuse(self.state.detail, || {
            format!("`{path}` holds more than {MAX_CLAIM_VALUES} values").into()
        })
    }

    /// Add one value to the list `target`.
    fn push<E: de::Error>(&mut self, value: CompactString) -> Result<(), E> {
        let claims = &mut self.state.claims;
        let len = match self.target {
            Target::Audience => {
                let values = claims.aud.values_mut();
                values.push(value);
                values.len()
            }
            Target::Roles => {
                claims.roles.push(value);
                claims.roles.len()
            }
            Target::Permissions => {
                claims.perms.push(value);
                claims.perms.len()
            }
            Target::Scopes => {
                if value.contains(' ') {
                    let path = self.path;
                    return Err(refuse(self.state.detail, || {
                        format!("`{path}` holds a scope with a space").into()
                    }));
                }
                match &mut claims.scope {
                    Some(scope) => {
                        scope.push(' ');
                        scope.push_str(&value);
                    }
                    None => claims.scope = Some(value),
                }
                self.state.scopes += 1;
                self.state.scopes
            }
            Target::Subject | Target::Organization | Target::TokenType | Target::Version => {
                return Err(self.wrong_type());
            }
        };
        if len > MAX_CLAIM_VALUES {
            return Err(self.too_many());
        }
        Ok(())
    }

    fn set_id<E: de::Error>(&mut self, value: CompactString) -> Result<(), E> {
        let claims = &mut self.state.claims;
        match self.target {
            Target::Subject => claims.sub = Some(value),
            Target::Organization => claims.org = Some(value),
            Target::TokenType => claims.token_type = Some(value),
            _ => return Err(self.wrong_type()),
        }
        Ok(())
    }

    fn integer<E: de::Error>(mut self, value: impl ToCompactString) -> Result<(), E> {
        match self.target {
            Target::Subject | Target::Organization if self.state.integer_ids => {
                self.set_id(value.to_compact_string())
            }
            Target::Subject | Target::Organization => {
                let path = self.path;
                Err(refuse(self.state.detail, || {
                    format!("`{path}` is a number, not a string").into()
                }))
            }
            _ => Err(self.wrong_type()),
        }
    }
}

impl<'de> Visitor<'de> for LeafVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a claim value")
    }

    refuse_scalars! { wrong_type:
        visit_bool(bool);
        visit_f64(f64);
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<(), E> {
        match u64::try_from(value) {
            Ok(value) => self.visit_u64(value),
            Err(_) if self.target == Target::Version => Err(self.wrong_type()),
            Err(_) => self.integer(value),
        }
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<(), E> {
        if self.target == Target::Version {
            self.state.claims.ver = Some(value);
            return Ok(());
        }
        self.integer(value)
    }

    fn visit_str<E: de::Error>(mut self, value: &str) -> Result<(), E> {
        match self.target {
            Target::Subject | Target::Organization | Target::TokenType => self.set_id(value.into()),
            Target::Version => Err(self.wrong_type()),
            // One string is one audience.
            Target::Audience => self.push(value.into()),
            // One source's scope string is kept as it is: split when it is checked.
            Target::Scopes if self.state.claims.scope.is_none() => {
                self.state.scopes = value.split(' ').filter(|token| !token.is_empty()).count();
                if self.state.scopes > MAX_CLAIM_VALUES {
                    return Err(self.too_many());
                }
                self.state.claims.scope = Some(value.into());
                Ok(())
            }
            // RFC 6749 §3.3: scope tokens separated by spaces; roles and permissions likewise.
            Target::Roles | Target::Permissions | Target::Scopes => value
                .split(' ')
                .filter(|token| !token.is_empty())
                .try_for_each(|token| self.push(token.into())),
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        match self.target {
            // `null` is absent, as for any `Option`.
            Target::Subject
            | Target::Organization
            | Target::TokenType
            | Target::Version
            | Target::Scopes => Ok(()),
            Target::Audience | Target::Roles | Target::Permissions => Err(self.wrong_type()),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        if matches!(
            self.target,
            Target::Subject | Target::Organization | Target::TokenType | Target::Version
        ) {
            return Err(self.wrong_type());
        }
        loop {
            let element = seq.next_element::<CompactString>().inspect_err(|_| {
                let _: A::Error = self.wrong_type();
            })?;
            match element {
                Some(value) => self.push(value)?,
                None => return Ok(()),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(self.wrong_type())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde::Deserialize;
    use serde_json::json;

    use super::*;
    use crate::claims::ClaimPath;

    /// Read `payload` through `mapping`: the claims, or the error's detail.
    fn read(mapping: &ClaimMapping, payload: &serde_json::Value) -> Result<StandardClaims, String> {
        let bytes = serde_json::to_vec(payload).unwrap();
        read_bytes(mapping, &bytes)
    }

    fn read_bytes(mapping: &ClaimMapping, bytes: &[u8]) -> Result<StandardClaims, String> {
        let detail = Cell::new(None);
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        ClaimsSeed {
            mapping,
            detail: &detail,
        }
        .deserialize(&mut deserializer)
        .map_err(|_| detail.take().map(String::from).unwrap_or_default())
    }

    #[test]
    fn nested_namespaced_and_merged_paths_are_read() {
        let mapping = ClaimMapping::keycloak("crm")
            .unwrap()
            .permissions([ClaimPath::from_segments(["https://example.com/perms"]).unwrap()])
            .unwrap();
        let claims = read(
            &mapping,
            &json!({
                "realm_access": {"roles": ["offline_access", "manager"], "other": 1},
                "resource_access": {"account": {"roles": ["view"]}, "crm": {"roles": ["sales"]}},
                "https://example.com/perms": "customer:read customer:update",
                "roles": ["ignored: not read with this mapping"],
                "scope": "openid profile",
            }),
        )
        .unwrap();
        assert_eq!(claims.roles, ["offline_access", "manager", "sales"]);
        assert_eq!(claims.perms, ["customer:read", "customer:update"]);
        assert_eq!(claims.scope.as_deref(), Some("openid profile"));
    }

    #[test]
    fn a_missing_path_is_an_absent_claim() {
        let mapping = ClaimMapping::keycloak("crm").unwrap();
        for payload in [
            json!({}),
            json!({"realm_access": {}}),
            json!({"resource_access": {"account": {"roles": ["view"]}}}),
        ] {
            assert!(
                read(&mapping, &payload).unwrap().roles.is_empty(),
                "{payload}"
            );
        }
    }

    #[test]
    fn wrong_types_are_refused_naming_the_claim() {
        let keycloak = ClaimMapping::keycloak("crm").unwrap();
        let simplejwt = ClaimMapping::simplejwt();
        let default = ClaimMapping::new();
        let table = [
            (
                &default,
                json!({"exp": "10"}),
                "`exp` must be a NumericDate (a JSON number of seconds)",
            ),
            (
                &default,
                json!({"nbf": true}),
                "`nbf` must be a NumericDate (a JSON number of seconds)",
            ),
            (
                &default,
                json!({"iat": [1]}),
                "`iat` must be a NumericDate (a JSON number of seconds)",
            ),
            (&default, json!({"iss": 1}), "`iss` must be a string"),
            (
                &default,
                json!({"ver": -1}),
                "`ver` must be a non-negative integer",
            ),
            (
                &default,
                json!({"sub": 42}),
                "`sub` is a number, not a string",
            ),
            (&default, json!({"sub": ["a"]}), "`sub` must be a string"),
            (
                &default,
                json!({"org": 7}),
                "`org` is a number, not a string",
            ),
            (
                &default,
                json!({"roles": [1]}),
                "`roles` must be an array of strings or a space-separated string",
            ),
            (
                &default,
                json!({"perms": {"a": 1}}),
                "`perms` must be an array of strings or a space-separated string",
            ),
            (
                &default,
                json!({"aud": 3}),
                "`aud` must be a string or an array of strings",
            ),
            (
                &default,
                json!({"scope": ["a b"]}),
                "`scope` holds a scope with a space",
            ),
            (
                &default,
                json!({"token_type": 1}),
                "`token_type` must be a string",
            ),
            (
                &keycloak,
                json!({"realm_access": ["a"]}),
                "`realm_access` is not an object",
            ),
            (
                &keycloak,
                json!({"resource_access": {"crm": "x"}}),
                "`crm` is not an object",
            ),
            (
                &keycloak,
                json!({"realm_access": {"roles": [null]}}),
                "`realm_access.roles` must be an array of strings or a space-separated string",
            ),
            (
                &simplejwt,
                json!({"user_id": 1.5}),
                "`user_id` must be a string or an integer",
            ),
        ];
        for (mapping, payload, detail) in table {
            assert_eq!(read(mapping, &payload), Err(detail.to_owned()), "{payload}");
        }
    }

    #[test]
    fn integer_ids_only_where_the_mapping_accepts_them() {
        let simplejwt = ClaimMapping::simplejwt()
            .organization("organization_id")
            .unwrap();
        let claims = read(
            &simplejwt,
            &json!({"user_id": 42, "organization_id": -7, "sub": 1}),
        )
        .unwrap();
        assert_eq!(claims.sub.as_deref(), Some("42"));
        assert_eq!(claims.org.as_deref(), Some("-7"));
        let claims = read(&simplejwt, &json!({"user_id": "42"})).unwrap();
        assert_eq!(claims.sub.as_deref(), Some("42"));
        assert!(read(&ClaimMapping::new(), &json!({"sub": 42})).is_err());
        let accepting = ClaimMapping::new().accept_integer_ids(true);
        assert_eq!(
            read(&accepting, &json!({"sub": 42}))
                .unwrap()
                .sub
                .as_deref(),
            Some("42")
        );
    }

    #[test]
    fn lists_are_bounded() {
        let at_bound: Vec<String> = (0..MAX_CLAIM_VALUES).map(|i| format!("r{i}")).collect();
        let claims = read(&ClaimMapping::new(), &json!({"roles": at_bound})).unwrap();
        assert_eq!(claims.roles.len(), MAX_CLAIM_VALUES);
        let detail = format!("`roles` holds more than {MAX_CLAIM_VALUES} values");
        let over: Vec<&str> = vec!["r"; MAX_CLAIM_VALUES + 1];
        assert_eq!(
            read(&ClaimMapping::new(), &json!({"roles": over})),
            Err(detail)
        );
        let spaced = vec!["s"; MAX_CLAIM_VALUES + 1].join(" ");
        assert!(read(&ClaimMapping::new(), &json!({"scope": spaced})).is_err());
        // Two sources add up to the bound.
        let keycloak = ClaimMapping::keycloak("crm").unwrap();
        let half: Vec<&str> = vec!["r"; MAX_CLAIM_VALUES / 2 + 1];
        let payload = json!({
            "realm_access": {"roles": half},
            "resource_access": {"crm": {"roles": half}},
        });
        assert!(read(&keycloak, &payload).is_err());
    }

    #[test]
    fn duplicate_members_are_refused() {
        let keycloak = ClaimMapping::keycloak("crm").unwrap();
        for (mapping, document, detail) in [
            (
                &ClaimMapping::new(),
                r#"{"exp":1,"exp":2}"#,
                "the claim `exp` appears twice",
            ),
            (
                &ClaimMapping::new(),
                r#"{"sub":"a","sub":"b"}"#,
                "the claim `sub` appears twice",
            ),
            (
                &keycloak,
                r#"{"realm_access":{},"realm_access":{}}"#,
                "the claim `realm_access` appears twice",
            ),
            (
                &keycloak,
                r#"{"realm_access":{"roles":[],"roles":["a"]}}"#,
                "the claim `roles` appears twice",
            ),
        ] {
            assert_eq!(
                read_bytes(mapping, document.as_bytes()),
                Err(detail.to_owned()),
                "{document}"
            );
        }
    }

    #[test]
    fn scopes_from_strings_and_arrays() {
        let okta = ClaimMapping::okta();
        let claims = read(&okta, &json!({"scp": ["openid", "customer:read"]})).unwrap();
        assert_eq!(claims.scope.as_deref(), Some("openid customer:read"));
        let both = ClaimMapping::new().scopes(["scope", "scp"]).unwrap();
        let claims = read(&both, &json!({"scope": "openid", "scp": ["a", "b"]})).unwrap();
        assert_eq!(claims.scope.as_deref(), Some("openid a b"));
        assert_eq!(read(&okta, &json!({"scp": null})).unwrap().scope, None);
    }

    /// `StandardClaims` as it was read before claim mappings: serde's derive, with today's
    /// names.
    #[derive(Debug, Deserialize)]
    struct Before {
        iss: Option<CompactString>,
        sub: Option<CompactString>,
        #[serde(default)]
        aud: crate::Audience,
        #[serde(default, deserialize_with = "date")]
        exp: Option<i64>,
        jti: Option<CompactString>,
        org: Option<CompactString>,
        #[serde(default)]
        roles: Vec<CompactString>,
        #[serde(default)]
        perms: Vec<CompactString>,
        scope: Option<CompactString>,
        ver: Option<u64>,
        token_type: Option<CompactString>,
    }

    fn date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
        NumericDate::deserialize(deserializer).map(|date| Some(date.0))
    }

    fn value() -> impl Strategy<Value = serde_json::Value> {
        prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            "[a-z: ]{0,8}".prop_map(serde_json::Value::from),
            prop::collection::vec("[a-z:]{1,6}", 0..4).prop_map(serde_json::Value::from),
            prop::collection::vec(any::<u8>(), 1..3).prop_map(serde_json::Value::from),
        ]
    }

    proptest! {
        /// Wherever the derive read a claims set, the default mapping reads the same values.
        #[test]
        fn the_default_mapping_reads_what_the_derive_read(
            members in prop::collection::btree_map(
                prop::sample::select(vec![
                    "iss", "sub", "aud", "exp", "jti", "org", "roles", "perms", "scope", "ver",
                    "token_type", "other",
                ]),
                value(),
                0..8,
            )
        ) {
            let payload = serde_json::Value::Object(
                members.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            );
            let before = serde_json::from_value::<Before>(payload.clone());
            let now = read(&ClaimMapping::new(), &payload);
            if let Ok(before) = before {
                let now = now.unwrap();
                prop_assert_eq!(before.iss, now.iss);
                prop_assert_eq!(before.sub, now.sub);
                prop_assert_eq!(before.aud, now.aud);
                prop_assert_eq!(before.exp, now.exp);
                prop_assert_eq!(before.jti, now.jti);
                prop_assert_eq!(before.org, now.org);
                prop_assert_eq!(before.roles, now.roles);
                prop_assert_eq!(before.perms, now.perms);
                prop_assert_eq!(before.scope, now.scope);
                prop_assert_eq!(before.ver, now.ver);
                prop_assert_eq!(before.token_type, now.token_type);
            }
        }
    }
}
