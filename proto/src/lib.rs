//! The rpcbench schema crate: generated messages and services, the payload catalogue, and the
//! one codec every other crate uses.
//!
//! The design decision to know: one Rust type per message serves both encodings. prost gives the
//! protobuf encoding, pbjson gives the proto3 JSON mapping of the *same* structs, and
//! [`codec::Encoding`] is the only place either encoding is invoked — servers, clients and
//! benches all go through it, so no variant can be measured with a different codec.

pub mod catalogue;
pub mod codec;
pub mod digest;
pub mod grpc_codec;

/// Generated messages (prost + pbjson serde impls).
#[allow(clippy::all, missing_docs, rust_2018_idioms)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/rpcbench.v1.rs"));
    include!(concat!(env!("OUT_DIR"), "/rpcbench.v1.serde.rs"));
}

/// The `rpcbench.v1.Bench` gRPC service with the protobuf codec (`application/grpc`).
#[allow(clippy::all, missing_docs, rust_2018_idioms)]
pub mod grpc_proto {
    include!(concat!(env!("OUT_DIR"), "/grpc_proto/rpcbench.v1.Bench.rs"));
}

/// The same service, generated from the same description, with the JSON codec
/// (`application/grpc+json`), for the `grpc-json-h2` variant.
#[allow(clippy::all, missing_docs, rust_2018_idioms)]
pub mod grpc_json {
    include!(concat!(env!("OUT_DIR"), "/grpc_json/rpcbench.v1.Bench.rs"));
}

mod shared;
pub use shared::{SharedMessage, SharedPayload};

/// Encoded `FileDescriptorSet` of the schema (for gRPC reflection or tooling).
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/rpcbench_descriptor.bin"));

pub use catalogue::{CatalogueError, ShapeName, generate};
pub use codec::{CodecError, Encoding, Wire};
pub use digest::summarize;
