//! A serde `Deserializer` wrapper that holds request text to two rules serde itself does not:
//!
//! - no string (value or object key) may hold a NUL character: PostgreSQL cannot store one in
//!   `text` (the insert fails, a 500) and SQLite stores it silently, so a name would read back
//!   differently on the two backends;
//! - a struct is read from a JSON object only. serde's derive also accepts an array of the
//!   fields in order, so `["Renamed by array",7]` would rename a rank.
//!
//! And it accepts one thing serde_json does not: an integral number written with a fraction or
//! an exponent (`35.0`, `1e2`) where an integer is expected. JSON does not tell the two apart
//! and JSON Schema's `integer` is "a number with a zero fractional part", so the document's
//! `type: integer` promises it (schemathesis sends `35.0`; decision 0024). `35.5` is still the
//! wrong type, and the target's own range check still applies.
//!
//! It wraps the format's deserializer beneath `serde_path_to_error`, so a refusal names the
//! field's path like any other shape error. Every visitor, map, sequence and enum access it
//! hands out is wrapped too, so the rules hold at every depth.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, Unexpected, Visitor};

pub use crate::domain::text::{has_nul, NUL_CODE, NUL_MESSAGE};

/// The strict view of a deserializer.
pub struct Strict<D>(pub D);

macro_rules! forward {
    ($($method:ident $(($($arg:ident: $ty:ty),*))?),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, $($($arg: $ty,)*)? visitor: V) -> Result<V::Value, Self::Error> {
                self.0.$method($($($arg,)*)? StrictVisitor::new(visitor))
            }
        )*
    };
}

macro_rules! forward_integer {
    ($($method:ident),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
                self.0.$method(StrictVisitor::integer(visitor))
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Strict<D> {
    type Error = D::Error;

    forward! {
        deserialize_any, deserialize_bool, deserialize_i128, deserialize_u128,
        deserialize_f32, deserialize_f64, deserialize_char,
        deserialize_str, deserialize_string, deserialize_bytes, deserialize_byte_buf,
        deserialize_option, deserialize_unit, deserialize_seq, deserialize_map,
        deserialize_identifier, deserialize_ignored_any,
        deserialize_unit_struct(name: &'static str),
        deserialize_newtype_struct(name: &'static str),
        deserialize_tuple(len: usize),
        deserialize_tuple_struct(name: &'static str, len: usize),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]),
    }

    forward_integer! {
        deserialize_i8, deserialize_i16, deserialize_i32, deserialize_i64,
        deserialize_u8, deserialize_u16, deserialize_u32, deserialize_u64,
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0
            .deserialize_struct(name, fields, StrictVisitor::object_only(visitor))
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

struct StrictVisitor<V> {
    inner: V,
    /// Set when the visitor builds a struct: an array is then the wrong type.
    object_only: bool,
    /// Set when the visitor builds an integer: an integral float is then that integer.
    integer: bool,
}

impl<V> StrictVisitor<V> {
    fn new(inner: V) -> Self {
        StrictVisitor {
            inner,
            object_only: false,
            integer: false,
        }
    }

    fn object_only(inner: V) -> Self {
        StrictVisitor {
            inner,
            object_only: true,
            integer: false,
        }
    }

    fn integer(inner: V) -> Self {
        StrictVisitor {
            inner,
            object_only: false,
            integer: true,
        }
    }
}

/// 2^63 and 2^64 as floats: the first values out of range of `i64` and `u64`.
const I64_END: f64 = 9_223_372_036_854_775_808.0;
const U64_END: f64 = 18_446_744_073_709_551_616.0;

fn checked<E: de::Error>(text: &str) -> Result<(), E> {
    if has_nul(text) {
        Err(E::custom(NUL_MESSAGE))
    } else {
        Ok(())
    }
}

macro_rules! pass {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(
            fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
                self.inner.$method(v)
            }
        )*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for StrictVisitor<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    pass! {
        visit_bool(bool), visit_i8(i8), visit_i16(i16), visit_i32(i32), visit_i64(i64),
        visit_i128(i128), visit_u8(u8), visit_u16(u16), visit_u32(u32), visit_u64(u64),
        visit_u128(u128), visit_f32(f32), visit_bytes(&[u8]),
        visit_borrowed_bytes(&'de [u8]), visit_byte_buf(Vec<u8>),
    }

    // The casts are exact: `v` is integral and checked to be in range first.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        if self.integer && v.fract() == 0.0 {
            if (0.0..U64_END).contains(&v) {
                return self.inner.visit_u64(v as u64);
            }
            if (-I64_END..0.0).contains(&v) {
                return self.inner.visit_i64(v as i64);
            }
        }
        self.inner.visit_f64(v)
    }

    fn visit_char<E: de::Error>(self, v: char) -> Result<Self::Value, E> {
        if v == '\0' {
            return Err(E::custom(NUL_MESSAGE));
        }
        self.inner.visit_char(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        checked(v)?;
        self.inner.visit_str(v)
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        checked(v)?;
        self.inner.visit_borrowed_str(v)
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        checked(&v)?;
        self.inner.visit_string(v)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.inner.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.inner.visit_some(Strict(d))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.inner.visit_unit()
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.inner.visit_newtype_struct(Strict(d))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        if self.object_only {
            return Err(de::Error::invalid_type(Unexpected::Seq, &self));
        }
        self.inner.visit_seq(Strict(seq))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.inner.visit_map(Strict(map))
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        self.inner.visit_enum(Strict(data))
    }
}

/// A seed whose deserializer is made strict.
struct StrictSeed<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for StrictSeed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.deserialize(Strict(d))
    }
}

impl<'de, A: de::SeqAccess<'de>> de::SeqAccess<'de> for Strict<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        self.0.next_element_seed(StrictSeed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: de::MapAccess<'de>> de::MapAccess<'de> for Strict<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        self.0.next_key_seed(StrictSeed(seed))
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<T::Value, Self::Error> {
        self.0.next_value_seed(StrictSeed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: de::EnumAccess<'de>> de::EnumAccess<'de> for Strict<A> {
    type Error = A::Error;
    type Variant = Strict<A::Variant>;

    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, Self::Variant), Self::Error> {
        let (value, variant) = self.0.variant_seed(StrictSeed(seed))?;
        Ok((value, Strict(variant)))
    }
}

impl<'de, A: de::VariantAccess<'de>> de::VariantAccess<'de> for Strict<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), Self::Error> {
        self.0.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, Self::Error> {
        self.0.newtype_variant_seed(StrictSeed(seed))
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.tuple_variant(len, StrictVisitor::new(visitor))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0
            .struct_variant(fields, StrictVisitor::object_only(visitor))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Rank {
        name: String,
        order: i64,
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Outer {
        rank: Rank,
        tags: Vec<String>,
        extra: Option<std::collections::BTreeMap<String, String>>,
    }

    fn strict<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, String> {
        let mut de = serde_json::Deserializer::from_str(json);
        serde_path_to_error::deserialize(Strict(&mut de))
            .map_err(|e| format!("{} @ {}", e.inner(), e.path()))
    }

    #[test]
    fn objects_still_parse() {
        let outer: Outer =
            strict(r#"{"rank":{"name":"PC","order":1},"tags":["a"],"extra":{"k":"v"}}"#).unwrap();
        assert_eq!(outer.rank.name, "PC");
        assert_eq!(outer.tags, ["a"]);
    }

    #[test]
    fn an_array_is_not_a_struct_at_any_depth() {
        assert!(strict::<Rank>(r#"["Renamed by array",7]"#)
            .unwrap_err()
            .contains("invalid type: sequence"));
        let err = strict::<Outer>(r#"{"rank":["x",1],"tags":[]}"#).unwrap_err();
        assert!(err.ends_with("@ rank"), "{err}");
    }

    #[test]
    fn an_integral_float_is_an_integer_and_a_fraction_is_not() {
        let rank: Rank = strict(r#"{"name":"PC","order":35.0}"#).unwrap();
        assert_eq!(rank.order, 35);
        let rank: Rank = strict(r#"{"name":"PC","order":-2e1}"#).unwrap();
        assert_eq!(rank.order, -20);
        let err = strict::<Rank>(r#"{"name":"PC","order":35.5}"#).unwrap_err();
        assert!(
            err.contains("floating point") && err.ends_with("@ order"),
            "{err}"
        );
        // Out of the target's range is still refused, not wrapped or saturated.
        let err = strict::<u32>("4294967296.0").unwrap_err();
        assert!(err.contains("4294967296"), "{err}");
        let err = strict::<u32>("-1.0").unwrap_err();
        assert!(err.contains("-1"), "{err}");
        let err = strict::<i64>("1e300").unwrap_err();
        assert!(err.contains("floating point"), "{err}");
    }

    #[test]
    fn nul_is_refused_in_values_and_keys_naming_the_path() {
        let err =
            strict::<Outer>(r#"{"rank":{"name":"a\u0000b","order":1},"tags":[]}"#).unwrap_err();
        assert!(
            err.contains(NUL_MESSAGE) && err.ends_with("@ rank.name"),
            "{err}"
        );
        let err =
            strict::<Outer>(r#"{"rank":{"name":"a","order":1},"tags":["\u0000"]}"#).unwrap_err();
        assert!(err.ends_with("@ tags[0]"), "{err}");
        let err =
            strict::<Outer>(r#"{"rank":{"name":"a","order":1},"tags":[],"extra":{"k\u0000":"v"}}"#)
                .unwrap_err();
        assert!(err.contains(NUL_MESSAGE), "{err}");
        let err = strict::<serde_json::Value>(r#"{"a":[{"b":"\u0000"}]}"#).unwrap_err();
        assert!(err.ends_with("@ a[0].b"), "{err}");
    }
}
