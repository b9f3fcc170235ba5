//! Generates the schema's Rust code without a system `protoc`:
//! protox compiles the .proto files to descriptors, tonic-prost-build emits the messages and the
//! protobuf gRPC service, pbjson-build emits the proto3-JSON serde impls from the same
//! descriptors, and tonic-build's manual builder emits the same service once more with the JSON
//! gRPC codec (for the `grpc-json-h2` variant).

use std::path::PathBuf;

use prost::Message as _;

const PROTO: &str = "rpcbench/v1/bench.proto";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=rpcbench");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);

    let fds = protox::compile([PROTO], ["."])?;
    let descriptor_bytes = fds.encode_to_vec();
    std::fs::write(out_dir.join("rpcbench_descriptor.bin"), &descriptor_bytes)?;

    tonic_prost_build::configure()
        // Maps are BTreeMaps so that the canonical encoding (and so the digest) is deterministic.
        .btree_map(".")
        .codec_path("crate::grpc_codec::ProtoCodec")
        .compile_fds(fds)?;

    pbjson_build::Builder::new()
        .register_descriptors(&descriptor_bytes)?
        .btree_map(["."])
        .build(&[".rpcbench.v1"])?;

    let json_dir = out_dir.join("json");
    std::fs::create_dir_all(&json_dir)?;
    let method = |name: &str, route: &str, input: &str, output: &str| {
        tonic_build::manual::Method::builder()
            .name(name)
            .route_name(route)
            .input_type(format!("crate::pb::{input}"))
            .output_type(format!("crate::pb::{output}"))
            .codec_path("crate::grpc_codec::JsonCodec")
            .build()
    };
    let service = tonic_build::manual::Service::builder()
        .name("Bench")
        .package("rpcbench.v1")
        .method(method("echo", "Echo", "Payload", "Payload"))
        .method(method("fetch", "Fetch", "FetchRequest", "Payload"))
        .method(method("upload", "Upload", "Payload", "UploadSummary"))
        .build();
    tonic_build::manual::Builder::new()
        .out_dir(&json_dir)
        .compile(&[service]);
    Ok(())
}
