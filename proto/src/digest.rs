//! The Upload digest: proof that a server decoded every field it was sent.
//!
//! The digest is xxh3-64 over the canonical protobuf encoding of the *decoded* message. prost
//! encodes fields in field-number order and maps are `BTreeMap`s, so the canonical bytes depend
//! only on the decoded values — a message received as JSON and the same message received as
//! protobuf give the same digest, and a server that skipped or mangled a field does not.
//! Every variant pays for the same re-encode, so it does not bias the comparison.

use prost::Message;

use crate::catalogue::{records_of, shape_of};
use crate::pb::{Payload, UploadSummary};

/// Digest and record count of a decoded payload.
pub fn summarize(payload: &Payload) -> UploadSummary {
    let canonical = payload.encode_to_vec();
    UploadSummary {
        shape: shape_of(payload) as i32,
        records: records_of(payload),
        digest: xxhash_rust::xxh3::xxh3_64(&canonical),
        canonical_bytes: canonical.len() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{Shape, generate, max_size};
    use crate::codec::{Codec as _, Encoding};

    /// Round-trip property: for every shape and several sizes, both encodings decode back to the
    /// identical message, and so to the identical digest.
    #[test]
    fn both_encodings_round_trip_to_the_same_message() {
        for shape in Shape::ALL {
            for size in [100, 1024, 16 * 1024, 1 << 20] {
                let size = size.min(max_size(shape));
                let original = generate(shape, size, 3).unwrap();
                let want = summarize(&original);
                for enc in Encoding::ALL {
                    let back: Payload = enc.decode(&enc.encode(&original).unwrap()).unwrap();
                    assert!(back == original, "{enc} {} {size}", shape.name());
                    assert_eq!(summarize(&back), want);
                }
            }
        }
    }

    #[test]
    fn digest_sees_every_field() {
        let original = generate(Shape::Nested, 2048, 5).unwrap();
        let mut changed = original.clone();
        if let Some(crate::pb::payload::Body::Nested(n)) = &mut changed.body {
            n.accounts
                .last_mut()
                .unwrap()
                .address
                .as_mut()
                .unwrap()
                .postcode
                .push('9');
        }
        assert_ne!(summarize(&original).digest, summarize(&changed).digest);
    }
}
