//! `SharedPayload`: an `Arc<Payload>` with exactly `Payload`'s wire format in both encodings, and
//! `SharedMessage`: a `StreamMessage` around one.
//!
//! tonic's generated services take ownership of the response message. Fetch answers from a
//! cache; without this wrapper the gRPC adapter would have to deep-clone a cached payload (up to
//! megabytes of strings) on every call while the REST adapter encodes it by reference, which
//! would charge gRPC for work REST does not do.

use std::sync::Arc;

use bytes::{Buf, BufMut};
use prost::Message;
use prost::encoding::{DecodeContext, WireType};

use crate::pb::{Payload, StreamMessage};

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

impl crate::codec::Wire for SharedPayload {
    type Gateway = crate::gateway::Payload;
    const PROTO_NAME: &'static str = "rpcbench.v1.Payload";
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

/// A `StreamMessage` whose payload is shared: what Subscribe streams. A feed or a broadcast sends
/// the same payload many times; every transport encodes it by reference instead of cloning it
/// per message. Wire format (protobuf and every JSON level) identical to `StreamMessage`: the
/// serde attributes are the ones `build.rs` gives the generated type (checked by a test).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct SharedMessage {
    pub seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<SharedPayload>,
    pub sent_ns: u64,
}

impl From<StreamMessage> for SharedMessage {
    fn from(m: StreamMessage) -> Self {
        SharedMessage {
            seq: m.seq,
            payload: m.payload.map(|p| SharedPayload(Arc::new(p))),
            sent_ns: m.sent_ns,
        }
    }
}

impl Message for SharedMessage {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        use prost::encoding::{message, uint64};
        if self.seq != 0 {
            uint64::encode(1, &self.seq, buf);
        }
        if let Some(p) = &self.payload {
            message::encode(2, p, buf);
        }
        if self.sent_ns != 0 {
            uint64::encode(3, &self.sent_ns, buf);
        }
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        use prost::encoding::{message, skip_field, uint64};
        match tag {
            1 => uint64::merge(wire_type, &mut self.seq, buf, ctx),
            2 => message::merge(
                wire_type,
                self.payload.get_or_insert_with(Default::default),
                buf,
                ctx,
            ),
            3 => uint64::merge(wire_type, &mut self.sent_ns, buf, ctx),
            _ => skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn encoded_len(&self) -> usize {
        use prost::encoding::{message, uint64};
        (if self.seq != 0 {
            uint64::encoded_len(1, &self.seq)
        } else {
            0
        }) + self.payload.as_ref().map_or(0, |p| message::encoded_len(2, p))
            + (if self.sent_ns != 0 {
                uint64::encoded_len(3, &self.sent_ns)
            } else {
                0
            })
    }

    fn clear(&mut self) {
        *self = SharedMessage::default();
    }
}

impl crate::codec::Wire for SharedMessage {
    type Gateway = crate::gateway::StreamMessage;
    const PROTO_NAME: &'static str = "rpcbench.v1.StreamMessage";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{Shape, generate, max_size};
    use crate::codec::{Codec as _, Encoding};

    #[test]
    fn same_wire_format_as_payload() {
        for shape in Shape::ALL {
            let p = generate(shape, 2000.min(max_size(shape)), 9).unwrap();
            let shared = SharedPayload(Arc::new(p.clone()));
            for enc in Encoding::ALL {
                assert_eq!(enc.encode(&shared).unwrap(), enc.encode(&p).unwrap());
                let back: SharedPayload = enc.decode(&enc.encode(&p).unwrap()).unwrap();
                assert_eq!(*back.0, p);
            }
        }
    }

    #[test]
    fn shared_message_has_stream_message_wire_format() {
        let p = generate(Shape::Metrics, 4096, 3).unwrap();
        for (seq, sent_ns, payload) in [
            (0, 0, None),
            (7, 0, Some(p.clone())),
            (u64::MAX, 123, Some(p.clone())),
        ] {
            let plain = StreamMessage {
                seq,
                payload: payload.clone(),
                sent_ns,
            };
            let shared = SharedMessage {
                seq,
                payload: payload.map(|p| SharedPayload(Arc::new(p))),
                sent_ns,
            };
            for enc in Encoding::ALL {
                let bytes = enc.encode(&plain).unwrap();
                assert_eq!(enc.encode(&shared).unwrap(), bytes, "{enc}");
                let back: SharedMessage = enc.decode(&bytes).unwrap();
                assert_eq!(back, shared);
            }
            assert_eq!(shared.encoded_len(), plain.encoded_len());
        }
    }
}
