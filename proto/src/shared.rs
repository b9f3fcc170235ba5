//! `SharedPayload`: an `Arc<Payload>` with exactly `Payload`'s wire format in both encodings.
//!
//! tonic's generated services take ownership of the response message. Fetch answers from a
//! cache; without this wrapper the gRPC adapter would have to deep-clone a cached payload (up to
//! megabytes of strings) on every call while the REST adapter encodes it by reference, which
//! would charge gRPC for work REST does not do.

use std::sync::Arc;

use bytes::{Buf, BufMut};
use prost::Message;
use prost::encoding::{DecodeContext, WireType};

use crate::pb::Payload;

/// A shared, immutable-by-default payload; decoding into it copies on write.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SharedPayload(pub Arc<Payload>);

impl From<Arc<Payload>> for SharedPayload {
    fn from(p: Arc<Payload>) -> Self {
        SharedPayload(p)
    }
}

impl Message for SharedPayload {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        self.0.encode_raw(buf)
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        Arc::make_mut(&mut self.0).merge_field(tag, wire_type, buf, ctx)
    }

    fn encoded_len(&self) -> usize {
        self.0.encoded_len()
    }

    fn clear(&mut self) {
        Arc::make_mut(&mut self.0).clear()
    }
}

impl serde::Serialize for SharedPayload {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for SharedPayload {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Payload::deserialize(d).map(|p| SharedPayload(Arc::new(p)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{ShapeName, generate};
    use crate::codec::Encoding;
    use crate::pb::Shape;

    #[test]
    fn same_wire_format_as_payload() {
        for shape in Shape::ALL {
            let p = generate(shape, 2000.min(shape.max_size()), 9).unwrap();
            let shared = SharedPayload(Arc::new(p.clone()));
            for enc in Encoding::ALL {
                assert_eq!(enc.encode(&shared).unwrap(), enc.encode(&p).unwrap());
                let back: SharedPayload = enc.decode(&enc.encode(&p).unwrap()).unwrap();
                assert_eq!(*back.0, p);
            }
        }
    }
}
