//! Reading [`StandardClaims`] through a [`ClaimMapping`], in one pass over the claims set.
//!
//! The claims set is visited once, member by member: a registered claim goes to its field, a
//! member the mapping reads to its target (nested objects are entered only where a path
//! leads), and every other member is handed back to the deserializer to skip (which, under
//! the verifier's strict reader, still checks it). Nothing is parsed twice and nothing is
//! kept that no field needs.

use std::{borrow::Cow, cell::Cell, fmt};

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
    Ver,
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
            Self::Ver => "ver",
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
                "ver" => Some(Fixed::Ver),
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
        let name = self.name.unwrap_or_default();
        refuse(self.state.detail, || {
            format!("`{name}` is not an object").into()
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
    let string = |value: Result<Option<String>, A::Error>| {
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
        Fixed::Ver => {
            claims.ver = map.next_value().inspect_err(|_| {
                note(detail, || "`ver` must be a non-negative integer".into());
            })?;
        }
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
    fn push<E: de::Error>(&mut self, value: String) -> Result<(), E> {
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
            Target::Subject | Target::Organization | Target::TokenType => {
                return Err(self.wrong_type());
            }
        };
        if len > MAX_CLAIM_VALUES {
            return Err(self.too_many());
        }
        Ok(())
    }

    fn set_id<E: de::Error>(&mut self, value: String) -> Result<(), E> {
        let claims = &mut self.state.claims;
        match self.target {
            Target::Subject => claims.sub = Some(value),
            Target::Organization => claims.org = Some(value),
            Target::TokenType => claims.token_type = Some(value),
            _ => return Err(self.wrong_type()),
        }
        Ok(())
    }

    fn integer<E: de::Error>(mut self, value: impl ToString) -> Result<(), E> {
        match self.target {
            Target::Subject | Target::Organization if self.state.integer_ids => {
                self.set_id(value.to_string())
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
        self.integer(value)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<(), E> {
        self.integer(value)
    }

    fn visit_str<E: de::Error>(mut self, value: &str) -> Result<(), E> {
        match self.target {
            Target::Subject | Target::Organization | Target::TokenType => {
                self.set_id(value.to_owned())
            }
            // One string is one audience.
            Target::Audience => self.push(value.to_owned()),
            // One source's scope string is kept as it is: split when it is checked.
            Target::Scopes if self.state.claims.scope.is_none() => {
                self.state.scopes = value.split(' ').filter(|token| !token.is_empty()).count();
                if self.state.scopes > MAX_CLAIM_VALUES {
                    return Err(self.too_many());
                }
                self.state.claims.scope = Some(value.to_owned());
                Ok(())
            }
            // RFC 6749 §3.3: scope tokens separated by spaces; roles and permissions likewise.
            Target::Roles | Target::Permissions | Target::Scopes => value
                .split(' ')
                .filter(|token| !token.is_empty())
                .try_for_each(|token| self.push(token.to_owned())),
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        match self.target {
            // `null` is absent, as for any `Option`.
            Target::Subject | Target::Organization | Target::TokenType | Target::Scopes => Ok(()),
            Target::Audience | Target::Roles | Target::Permissions => Err(self.wrong_type()),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        if matches!(
            self.target,
            Target::Subject | Target::Organization | Target::TokenType
        ) {
            return Err(self.wrong_type());
        }
        loop {
            let element = seq.next_element::<String>().inspect_err(|_| {
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
