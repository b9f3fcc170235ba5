//! Where the `pbjson` level departs from the proto3 JSON mapping, the mapping wins.
//!
//! pbjson (0.9) writes NaN and ±Infinity as `null` (influxdata/pbjson#106; the spec says
//! `"NaN"`, `"Infinity"`, `"-Infinity"`), refuses `null` for a scalar field (the spec: the
//! field's default), refuses an integer written `1e2` or `1.0` (the spec accepts exponent
//! notation for integral values), and saturates a float field's out-of-range number (`1e39`)
//! to infinity (the spec: a parse error). Rather than fork pbjson, the codec wraps it: pbjson
//! stays the fast path for every message it handles correctly, and the rest — detected cheaply —
//! goes through prost-reflect's descriptor-driven serde, which implements the mapping and passes
//! protobuf's conformance suite:
//!
//! - **encode**: when the message holds a non-finite `float`/`double` (found by a scan of its
//!   protobuf encoding, which the pbjson level produces anyway for its transcode), it is written by
//!   prost-reflect, with the same options as pbjson (camelCase, 64-bit integers as strings,
//!   defaults left out);
//! - **decode**: when pbjson refuses the body, or accepts it but the decoded message holds a
//!   non-finite float (which pbjson would also produce from `1e39`, `"inf"` or `"nan"`),
//!   prost-reflect decides, and its answer — message or error — is the codec's.
//!
//! Benchmark payloads are finite and canonical, so they never leave the fast path; the scan is
//! the only extra cost (one pass over the protobuf bytes, no allocation).

use std::sync::OnceLock;

use bytes::BufMut;
use prost::Message as _;
use prost::encoding::{WireType, decode_key, decode_varint};
use prost_reflect::{DescriptorPool, DynamicMessage, Kind, MessageDescriptor, SerializeOptions};

use crate::codec::{CodecError, Wire};

fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        // The descriptor set is compiled by build.rs from the same files as the code: a failure
        // here is a build defect, not an input error.
        DescriptorPool::decode(crate::FILE_DESCRIPTOR_SET).expect("the embedded descriptor set decodes")
    })
}

/// The descriptor of `M` (every `Wire` type names a message of the embedded schema).
pub fn descriptor<M: Wire>() -> MessageDescriptor {
    pool()
        .get_message_by_name(M::PROTO_NAME)
        .unwrap_or_else(|| panic!("{} is not in the embedded schema", M::PROTO_NAME))
}

/// Encodes `msg` as proto3 JSON: pbjson, or prost-reflect when pbjson would write a
/// non-finite float as `null`.
pub(crate) fn encode_into<M: Wire, B: BufMut>(msg: &M, buf: &mut B) -> Result<(), CodecError> {
    let proto = msg.encode_to_vec();
    let desc = descriptor::<M>();
    if has_non_finite_float(&proto, &desc) {
        let dynamic = DynamicMessage::decode(desc, proto.as_slice())?;
        let mut ser = serde_json::Serializer::new(buf.writer());
        // The defaults are pbjson's choices: camelCase names, 64-bit integers as strings,
        // default values left out, enums by name.
        dynamic
            .serialize_with_options(&mut ser, &SerializeOptions::new())
            .map_err(|e| CodecError::JsonEncode(e.to_string()))
    } else {
        let gateway = M::Gateway::decode(proto.as_slice())?;
        serde_json::to_writer(buf.writer(), &gateway).map_err(|e| CodecError::JsonEncode(e.to_string()))
    }
}

/// Decodes proto3 JSON: pbjson, or prost-reflect when pbjson refuses the body or may have read a
/// float differently from the spec.
pub(crate) fn decode<M: Wire>(bytes: &[u8]) -> Result<M, CodecError> {
    let desc = descriptor::<M>();
    if let Ok(gateway) = serde_json::from_slice::<M::Gateway>(bytes) {
        let proto = gateway.encode_to_vec();
        if !has_non_finite_float(&proto, &desc) {
            return Ok(M::decode(proto.as_slice())?);
        }
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let dynamic = DynamicMessage::deserialize(desc, &mut de)?;
    de.end()?;
    // prost-reflect keeps the last of duplicate keys; pbjson and json_format refuse them.
    serde_json::from_slice::<NoDuplicateKeys>(bytes)?;
    Ok(M::decode(dynamic.encode_to_vec().as_slice())?)
}

/// A JSON document in which no object repeats a key (checked on the slow path only).
struct NoDuplicateKeys;

impl<'de> serde::Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoDuplicateKeysVisitor)
    }
}

struct NoDuplicateKeysVisitor;

impl<'de> serde::de::Visitor<'de> for NoDuplicateKeysVisitor {
    type Value = NoDuplicateKeys;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(serde::de::Error::custom(format_args!("duplicate key `{key}`")));
            }
            map.next_value::<NoDuplicateKeys>()?;
        }
        Ok(NoDuplicateKeys)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<NoDuplicateKeys>()?.is_some() {}
        Ok(NoDuplicateKeys)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
}

/// True when the protobuf encoding `buf` of a `desc` message holds a `float` or `double` (at any
/// depth, packed or not, in maps too) that is NaN or infinite — or when `buf` is not a valid
/// encoding, so that the conformant path decides (and reports the error).
pub fn has_non_finite_float(buf: &[u8], desc: &MessageDescriptor) -> bool {
    scan(buf, desc).unwrap_or(true)
}

/// [`has_non_finite_float`]; `None` for a malformed buffer.
fn scan(mut buf: &[u8], desc: &MessageDescriptor) -> Option<bool> {
    let buf = &mut buf;
    while !buf.is_empty() {
        let (tag, wire_type) = decode_key(buf).ok()?;
        let kind = desc.get_field(tag).map(|f| f.kind());
        match wire_type {
            WireType::Varint => {
                decode_varint(buf).ok()?;
            }
            WireType::ThirtyTwoBit => {
                let value = take(buf, 4)?;
                if matches!(kind, Some(Kind::Float)) && !f32_at(value).is_finite() {
                    return Some(true);
                }
            }
            WireType::SixtyFourBit => {
                let value = take(buf, 8)?;
                if matches!(kind, Some(Kind::Double)) && !f64_at(value).is_finite() {
                    return Some(true);
                }
            }
            WireType::LengthDelimited => {
                let len = usize::try_from(decode_varint(buf).ok()?).ok()?;
                let value = take(buf, len)?;
                let found = match kind {
                    Some(Kind::Message(inner)) => scan(value, &inner)?,
                    Some(Kind::Float) => value.chunks(4).any(|c| !f32_at(c).is_finite()),
                    Some(Kind::Double) => value.chunks(8).any(|c| !f64_at(c).is_finite()),
                    _ => false,
                };
                if found {
                    return Some(true);
                }
            }
            // Groups are not part of proto3.
            WireType::StartGroup | WireType::EndGroup => return None,
        }
    }
    Some(false)
}

fn take<'a>(buf: &mut &'a [u8], len: usize) -> Option<&'a [u8]> {
    let (head, tail) = buf.split_at_checked(len)?;
    *buf = tail;
    Some(head)
}

fn f32_at(bytes: &[u8]) -> f32 {
    let mut b = [0; 4];
    b[..bytes.len().min(4)].copy_from_slice(&bytes[..bytes.len().min(4)]);
    f32::from_le_bytes(b)
}

fn f64_at(bytes: &[u8]) -> f64 {
    let mut b = [0; 8];
    b[..bytes.len().min(8)].copy_from_slice(&bytes[..bytes.len().min(8)]);
    f64::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Encoding;
    use crate::codec::Codec as _;
    use crate::pb::{Mesh, Payload, Small, Triangle, Vector3, payload::Body};

    fn small(score: f64, ratio: f32) -> Small {
        Small {
            score,
            ratio,
            ..Default::default()
        }
    }

    #[test]
    fn non_finite_floats_are_the_spec_strings() {
        for (msg, want) in [
            (small(f64::NAN, 0.0), r#"{"score":"NaN"}"#),
            (small(f64::INFINITY, 0.0), r#"{"score":"Infinity"}"#),
            (small(0.0, f32::NEG_INFINITY), r#"{"ratio":"-Infinity"}"#),
            (small(1.5, 0.25), r#"{"score":1.5,"ratio":0.25}"#),
        ] {
            let json = String::from_utf8(Encoding::Pbjson.encode(&msg).unwrap()).unwrap();
            assert_eq!(json, want);
            let back: Small = Encoding::Pbjson.decode(json.as_bytes()).unwrap();
            assert_eq!(back.score.to_bits(), msg.score.to_bits());
            assert_eq!(back.ratio.to_bits(), msg.ratio.to_bits());
        }
    }

    #[test]
    fn the_scan_finds_nested_packed_and_plain_floats() {
        let vector = |x: f32| Vector3 { x, y: 1.0, z: 2.0 };
        let mesh = |x: f32| Payload {
            body: Some(Body::Mesh(Mesh {
                triangles: vec![Triangle {
                    v0: Some(vector(0.0)),
                    v1: Some(vector(x)),
                    v2: None,
                    normal: Some(vector(3.0)),
                }],
            })),
        };
        let desc = descriptor::<Payload>();
        assert!(!has_non_finite_float(&mesh(5.0).encode_to_vec(), &desc));
        assert!(has_non_finite_float(&mesh(f32::NAN).encode_to_vec(), &desc));
        let json = String::from_utf8(Encoding::Pbjson.encode(&mesh(f32::INFINITY)).unwrap()).unwrap();
        assert!(json.contains(r#""x":"Infinity""#), "{json}");
    }

    #[test]
    fn inputs_pbjson_gets_wrong_follow_the_spec() {
        let ok = |json: &str| Encoding::Pbjson.decode::<Small>(json.as_bytes());
        assert_eq!(ok(r#"{"age":1e2}"#).unwrap().age, 100);
        assert_eq!(ok(r#"{"age":1.0}"#).unwrap().age, 1);
        assert_eq!(
            ok(r#"{"name":null,"age":null,"ratio":null}"#).unwrap(),
            Small::default()
        );
        assert!(ok(r#"{"ratio":1e39}"#).is_err(), "float out of range");
        assert!(ok(r#"{"age":1.5}"#).is_err(), "not an integer");
        assert_eq!(ok(r#"{"score":1e39}"#).unwrap().score, 1e39, "a double holds it");
        assert!(ok(r#"{"ratio":"NaN"}"#).unwrap().ratio.is_nan());
        assert!(ok(r#"{"nope":1}"#).is_err(), "unknown field");
        assert!(ok(r#"{"age":null,"age":2}"#).is_err(), "duplicate key");
    }
}
