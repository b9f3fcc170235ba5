//! The serde helpers the generated `pb` types name in their `#[serde(with = ...)]` attributes
//! (see `build.rs`): what makes the derived JSON the idiomatic REST JSON the issue asks for.
//!
//! prost stores an enum field as its `i32` and a `bytes` field as `Vec<u8>`; derived serde
//! would write a number and an array of numbers. These helpers write the enum's proto name and
//! standard base64 instead, as a hand-written REST type would (`#[serde(with = "base64")]`,
//! an enum with `rename`s). Both read from the value directly: nothing is buffered.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Visitor};
use serde::{Deserializer, Serializer};

/// A proto enum as prost generates it, with its proto names.
pub trait ProtoEnumName: TryFrom<i32> + Into<i32> + Copy + 'static {
    fn as_str_name(&self) -> &'static str;
    fn from_str_name(name: &str) -> Option<Self>;
}

/// `#[serde(with = "ProtoEnum::<E>")]` on an `i32` enum field: the enum by its proto name
/// (`"TIER_PRO"`). A number the schema does not define has no name and is an encode error.
#[derive(Debug)]
pub struct ProtoEnum<E>(PhantomData<E>);

impl<E: ProtoEnumName> ProtoEnum<E> {
    pub fn serialize<S: Serializer>(value: &i32, s: S) -> Result<S::Ok, S::Error> {
        match E::try_from(*value) {
            Ok(e) => s.serialize_str(e.as_str_name()),
            Err(_) => Err(serde::ser::Error::custom(format_args!(
                "enum value {value} is not defined by the schema and has no JSON name"
            ))),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
        d.deserialize_str(NameVisitor::<E>(PhantomData))
    }
}

struct NameVisitor<E>(PhantomData<E>);

impl<E: ProtoEnumName> Visitor<'_> for NameVisitor<E> {
    type Value = i32;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an enum value name")
    }

    fn visit_str<Er: de::Error>(self, name: &str) -> Result<i32, Er> {
        E::from_str_name(name)
            .map(Into::into)
            .ok_or_else(|| Er::invalid_value(de::Unexpected::Str(name), &self))
    }
}

/// `#[serde(with = "base64")]` on a `bytes` field: standard base64 with padding, never an array
/// of numbers.
pub mod base64 {
    use std::fmt;

    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        d.deserialize_str(Base64Visitor)
    }

    struct Base64Visitor;

    impl Visitor<'_> for Base64Visitor {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a standard base64 string")
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Vec<u8>, E> {
            STANDARD
                .decode(text)
                .map_err(|e| E::custom(format_args!("invalid base64: {e}")))
        }
    }
}
