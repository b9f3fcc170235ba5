//! tonic codecs for both gRPC variants, built on [`Encoding`] — not a second codec.
//!
//! Two differences from tonic's stock `ProstCodec`: the bytes go through the crate's one codec
//! (so `grpc-json-h2` and `grpc-proto-h2` run exactly the code the REST variants run), and a
//! body that cannot be decoded is the client's fault, so it maps to `INVALID_ARGUMENT` instead
//! of tonic's default `INTERNAL`.

use std::marker::PhantomData;

use bytes::Buf;
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

use crate::codec::{Encoding, Wire};

/// Which [`Encoding`] a codec type uses, fixed at compile time.
pub trait EncodingKind: Send + Sync + 'static {
    const ENCODING: Encoding;
}

/// Marker for the protobuf encoding.
#[derive(Debug, Default, Clone, Copy)]
pub struct Proto;
/// Marker for the JSON encoding.
#[derive(Debug, Default, Clone, Copy)]
pub struct Json;

impl EncodingKind for Proto {
    const ENCODING: Encoding = Encoding::Protobuf;
}
impl EncodingKind for Json {
    const ENCODING: Encoding = Encoding::Json;
}

/// A tonic [`Codec`] encoding `T` and decoding `U` with encoding `E`.
#[derive(Debug)]
pub struct WireCodec<T, U, E>(PhantomData<Types<T, U, E>>);

/// `fn() -> ...` keeps the codec `Send + Sync` whatever the message types are.
type Types<T, U, E> = fn() -> (T, U, E);

impl<T, U, E> Default for WireCodec<T, U, E> {
    fn default() -> Self {
        WireCodec(PhantomData)
    }
}

/// `application/grpc` (protobuf) codec used by the generated `Bench` service and client.
pub type ProtoCodec<T, U> = WireCodec<T, U, Proto>;
/// `application/grpc+json` codec used by `pb::json`.
pub type JsonCodec<T, U> = WireCodec<T, U, Json>;

impl<T: Wire, U: Wire, E: EncodingKind> Codec for WireCodec<T, U, E> {
    type Encode = T;
    type Decode = U;
    type Encoder = WireEncoder<T, E>;
    type Decoder = WireDecoder<U, E>;

    fn encoder(&mut self) -> Self::Encoder {
        WireEncoder(PhantomData)
    }

    fn decoder(&mut self) -> Self::Decoder {
        WireDecoder(PhantomData)
    }
}

#[derive(Debug)]
pub struct WireEncoder<T, E>(PhantomData<fn() -> (T, E)>);

impl<T: Wire, E: EncodingKind> Encoder for WireEncoder<T, E> {
    type Item = T;
    type Error = Status;

    fn encode(&mut self, item: T, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        E::ENCODING
            .encode_into(&item, buf)
            .map_err(|e| Status::internal(format!("cannot encode the response: {e}")))
    }
}

#[derive(Debug)]
pub struct WireDecoder<U, E>(PhantomData<fn() -> (U, E)>);

impl<U: Wire, E: EncodingKind> Decoder for WireDecoder<U, E> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        let len = buf.remaining();
        // tonic hands over one whole message; it is normally one contiguous chunk, so decode
        // in place and only copy when it is not.
        let result = if buf.chunk().len() == len {
            let r = E::ENCODING.decode(&buf.chunk()[..len]);
            buf.advance(len);
            r
        } else {
            let bytes = buf.copy_to_bytes(len);
            E::ENCODING.decode(&bytes)
        };
        result
            .map(Some)
            .map_err(|e| Status::invalid_argument(e.to_string()))
    }
}
