//! Generates the schema's Rust code without a system `protoc`:
//! protox compiles the .proto files to descriptors, tonic-prost-build emits the messages,
//! pbjson-build emits the proto3-JSON serde impls from the same descriptors, and tonic-build's
//! manual builder emits the `Bench` service twice from one description — once with the protobuf
//! gRPC codec, once with the JSON gRPC codec (`grpc-json-h2`) — so both gRPC variants run
//! identical generated code. Fetch's response type is `SharedPayload` (an `Arc<Payload>` with
//! the same wire format) so the server encodes its cached payload without cloning it, exactly as
//! the REST adapter does; Subscribe streams `SharedMessage` (a `StreamMessage` whose payload is
//! shared) for the same reason.

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
        .build_server(false)
        .build_client(false)
        .compile_fds(fds)?;

    pbjson_build::Builder::new()
        .register_descriptors(&descriptor_bytes)?
        .btree_map(["."])
        .build(&[".rpcbench.v1"])?;

    for (dir, codec) in [("grpc_proto", "ProtoCodec"), ("grpc_json", "JsonCodec")] {
        let dir = out_dir.join(dir);
        std::fs::create_dir_all(&dir)?;
        let builder = |name: &str, route: &str, input: &str, output: &str| {
            tonic_build::manual::Method::builder()
                .name(name)
                .route_name(route)
                .input_type(input)
                .output_type(output)
                .codec_path(format!("crate::grpc_codec::{codec}"))
        };
        let method =
            |name: &str, route: &str, input: &str, output: &str| builder(name, route, input, output).build();
        let service = tonic_build::manual::Service::builder()
            .name("Bench")
            .package("rpcbench.v1")
            .method(method("echo", "Echo", "crate::pb::Payload", "crate::pb::Payload"))
            .method(method(
                "fetch",
                "Fetch",
                "crate::pb::FetchRequest",
                "crate::SharedPayload",
            ))
            .method(method(
                "upload",
                "Upload",
                "crate::pb::Payload",
                "crate::pb::UploadSummary",
            ))
            .method(
                builder(
                    "subscribe",
                    "Subscribe",
                    "crate::pb::StreamRequest",
                    "crate::SharedMessage",
                )
                .server_streaming()
                .build(),
            )
            .method(
                builder(
                    "chat",
                    "Chat",
                    "crate::pb::StreamMessage",
                    "crate::pb::StreamMessage",
                )
                .client_streaming()
                .server_streaming()
                .build(),
            )
            .method(method(
                "publish",
                "Publish",
                "crate::pb::PublishRequest",
                "crate::pb::PublishAck",
            ))
            .build();
        tonic_build::manual::Builder::new()
            .build_client(false)
            .out_dir(&dir)
            .compile(&[service]);
    }
    Ok(())
}
