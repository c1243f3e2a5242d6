//! Strict JSON for the header and the claims set, in the one pass that reads them.
//!
//! RFC 7519 §7.2 asks for a valid JSON object, and RFC 8259 for UTF-8 text (§8.1) whose
//! strings hold Unicode characters (§8.2: no lone surrogate escape) and whose numbers a reader
//! can represent (§6). `serde_json` checks all of that in the values a type reads, but skips
//! a member that no field reads (an unknown header member, a custom claim) without looking
//! inside it: a raw `0xff` byte, a lone `\ud800` or a `1e400` there would pass. Here such a
//! member is read as strictly as any other value, in the same pass: a document that is not
//! strict JSON anywhere is an error, and a strict one costs nothing more than before.

use std::{fmt, marker::PhantomData};

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::error::AuthErrorKind;

/// Parse `bytes`, a JSON object, as `T`, refusing anything that is not strict JSON, in
/// members `T` ignores too.
///
/// Enums are not read (neither the header nor the claims set has one): a `T` that reads one
/// gets an error.
pub(crate) fn from_slice<'de, T: de::Deserialize<'de>>(
    bytes: &'de [u8],
) -> Result<T, AuthErrorKind> {
    from_slice_seed(bytes, PhantomData)
}

/// [`from_slice`], with a seed that carries what reading needs (a claim mapping).
pub(crate) fn from_slice_seed<'de, S: DeserializeSeed<'de>>(
    bytes: &'de [u8],
    seed: S,
) -> Result<S::Value, AuthErrorKind> {
    // serde would also read a struct from an array.
    if bytes.trim_ascii_start().first() != Some(&b'{') {
        return Err(AuthErrorKind::Malformed);
    }
    // One UTF-8 check of the whole document (RFC 8259 §8.1), then a reader that trusts it:
    // reading from bytes would check each string again as it reads it.
    let text = std::str::from_utf8(bytes).map_err(|_| AuthErrorKind::Malformed)?;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = seed
        .deserialize(Strict(&mut deserializer))
        .map_err(|_| AuthErrorKind::Malformed)?;
    deserializer.end().map_err(|_| AuthErrorKind::Malformed)?;
    Ok(value)
}

/// A deserializer that hands every nested value on as strictly as itself, and reads a value
/// its caller ignores to the end instead of skipping it.
struct Strict<D>(D);

macro_rules! forward_deserialize {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            fn $method<V: Visitor<'de>>(
                self,
                $($arg: $ty,)*
                visitor: V,
            ) -> Result<V::Value, D::Error> {
                self.0.$method($($arg,)* Wrap(visitor))
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Strict<D> {
    type Error = D::Error;

    forward_deserialize! {
        deserialize_any();
        deserialize_bool();
        deserialize_i8();
        deserialize_i16();
        deserialize_i32();
        deserialize_i64();
        deserialize_i128();
        deserialize_u8();
        deserialize_u16();
        deserialize_u32();
        deserialize_u64();
        deserialize_u128();
        deserialize_f32();
        deserialize_f64();
        deserialize_char();
        deserialize_str();
        deserialize_string();
        deserialize_bytes();
        deserialize_byte_buf();
        deserialize_option();
        deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_seq();
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier();
    }

    /// The one change: an ignored value is read through, every string and number checked.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(Check)?;
        visitor.visit_unit()
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

/// A visitor whose nested values go through [`Strict`] too.
struct Wrap<V>(V);

macro_rules! forward_visit {
    ($($method:ident($ty:ty);)*) => {
        $(
            fn $method<E: de::Error>(self, value: $ty) -> Result<V::Value, E> {
                self.0.$method(value)
            }
        )*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    // What `serde_json` calls a visitor with.
    forward_visit! {
        visit_bool(bool);
        visit_i64(i64);
        visit_i128(i128);
        visit_u64(u64);
        visit_u128(u128);
        visit_f64(f64);
        visit_str(&str);
        visit_borrowed_str(&'de str);
        visit_string(String);
        visit_bytes(&[u8]);
        visit_borrowed_bytes(&'de [u8]);
        visit_byte_buf(Vec<u8>);
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_unit()
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.0.visit_some(Strict(deserializer))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<V::Value, D::Error> {
        self.0.visit_newtype_struct(Strict(deserializer))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.0.visit_seq(Wrap(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.0.visit_map(Wrap(map))
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Wrap<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(Wrap(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Wrap<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(Wrap(seed))
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.0.next_value_seed(Wrap(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Wrap<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Strict(deserializer))
    }
}

/// Reads any JSON value to its end and keeps nothing. `serde_json` refuses, while reading
/// the value, what is not strict: bytes that are not UTF-8 and lone surrogates in strings
/// (member names included), numbers beyond `f64`.
struct Check;

impl<'de> de::Deserialize<'de> for Check {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(Check)
    }
}

impl<'de> Visitor<'de> for Check {
    type Value = Check;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Check, E> {
        Ok(Check)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Check, E> {
        Ok(Check)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Check, E> {
        Ok(Check)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Check, E> {
        Ok(Check)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Check, E> {
        Ok(Check)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Check, E> {
        Ok(Check)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Check, A::Error> {
        while seq.next_element::<Check>()?.is_some() {}
        Ok(Check)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Check, A::Error> {
        while map.next_entry::<Check, Check>()?.is_some() {}
        Ok(Check)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Known {
        a: Option<String>,
        #[serde(default)]
        b: Vec<u64>,
    }

    #[test]
    fn not_strict_anywhere_is_refused() {
        for document in [
            &b"{\"a\":\"x\",\"z\":\"\xff\"}"[..],
            b"{\"a\":\"x\",\"z\":[\"\xc3\"]}",
            br#"{"a":"x","z":"\ud800"}"#,
            br#"{"a":"x","z":"\udc00\ud800"}"#,
            br#"{"a":"x","z":{"y":"\ud800x"}}"#,
            br#"{"a":"x","z":1e400}"#,
            br#"{"a":"x","z":[-1e400]}"#,
            br#"{"a":"x","z":{"\ud800":1}}"#,
            br#"{"a":"x","z":[1,]}"#,
            br#"{"a":"x"} x"#,
            br#"[1]"#,
        ] {
            assert_eq!(
                from_slice::<Known>(document),
                Err(AuthErrorKind::Malformed),
                "{}",
                String::from_utf8_lossy(document)
            );
        }
    }

    #[test]
    fn strict_documents_read_as_serde_json_reads_them() {
        for document in [
            &br#"{"a":"x","b":[1,2]}"#[..],
            br#" {"a":null,"z":{"y":["\ud83d\ude00",1e308,1e-400,-0,true,null]}} "#,
            "{\"z\":\"caf\u{e9}\",\"a\":\"\\u00e9\"}".as_bytes(),
        ] {
            let strict = from_slice::<Known>(document).unwrap();
            assert_eq!(strict, serde_json::from_slice::<Known>(document).unwrap());
            // Nothing is lost on the way: a map reads every member.
            let map = from_slice::<BTreeMap<String, serde_json::Value>>(document).unwrap();
            assert_eq!(map, serde_json::from_slice(document).unwrap());
        }
    }
}
