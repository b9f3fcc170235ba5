//! tonic codecs for the gRPC services, one per encoding, built on [`Encoding`] — not a second codec.
//!
//! Two differences from tonic's stock `ProstCodec`: the bytes go through the crate's one codec
//! (so the gRPC variants run exactly the code the REST variants run), and a
//! body that cannot be decoded is the client's fault, so it maps to `INVALID_ARGUMENT` instead
//! of tonic's default `INTERNAL`.

use std::marker::PhantomData;

use bytes::Buf;
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

use crate::codec::{Codec as _, Encoding, Wire};

/// Which [`Encoding`] a codec type uses, fixed at compile time.
pub trait EncodingKind: Send + Sync + 'static {
    const ENCODING: Encoding;
}

/// Marker for the protobuf encoding.
#[derive(Debug, Default, Clone, Copy)]
pub struct Proto;
/// Marker for the idiomatic JSON encoding.
#[derive(Debug, Default, Clone, Copy)]
pub struct Json;
/// Marker for the proto3-JSON (pbjson) encoding.
#[derive(Debug, Default, Clone, Copy)]
pub struct Pbjson;
/// Marker for the sonic-rs JSON encoding.
#[derive(Debug, Default, Clone, Copy)]
pub struct Sonic;

impl EncodingKind for Proto {
    const ENCODING: Encoding = Encoding::Protobuf;
}
impl EncodingKind for Json {
    const ENCODING: Encoding = Encoding::Json;
}
impl EncodingKind for Pbjson {
    const ENCODING: Encoding = Encoding::Pbjson;
}
impl EncodingKind for Sonic {
    const ENCODING: Encoding = Encoding::Sonic;
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
/// `application/grpc+json` codec used by `grpc_json` (idiomatic serde_json).
pub type JsonCodec<T, U> = WireCodec<T, U, Json>;
/// `application/grpc+json` codec used by `grpc_pbjson` (the proto3 JSON mapping).
pub type PbjsonCodec<T, U> = WireCodec<T, U, Pbjson>;
/// `application/grpc+json` codec used by `grpc_sonic` (sonic-rs).
pub type SonicCodec<T, U> = WireCodec<T, U, Sonic>;

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
