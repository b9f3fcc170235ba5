//! Generates the schema's Rust code without a system `protoc`.
//!
//! protox compiles the .proto files to descriptors once; from them:
//!
//! - `pb`: tonic-prost-build emits the messages with **serde derives** added through the
//!   builder's attributes — the idiomatic JSON a Rust REST service writes (`json` and `sonic`
//!   encodings). The attributes are computed from the descriptors below, field by field:
//!   camelCase names, `bytes` as base64 and enums by name (`#[serde(with = ...)]`, see
//!   `src/json.rs`), absent optional fields skipped, the oneof as an externally tagged enum.
//! - `gateway`: the same messages emitted a second time, plain, with pbjson-build's proto3-JSON
//!   impls (`pbjson` encoding). Two serde impls cannot sit on one type, so the proto3 mapping
//!   lives on its own copy, reached through a protobuf transcode (see `src/codec.rs`).
//! - tonic-build's manual builder emits the `Bench` service once per encoding from one
//!   description, each with its gRPC codec (`grpc-proto-h2` and `grpc-json-h2` use two of them),
//!   so every gRPC variant runs identical generated code. Fetch's response type is `SharedPayload` (an
//!   `Arc<Payload>` with the same wire format) so the server encodes its cached payload without
//!   cloning it, exactly as the REST adapter does; Subscribe streams `SharedMessage` (a
//!   `StreamMessage` whose payload is shared) for the same reason.
//! - `wire_types.rs`: one `wire!` line per message, pairing each `pb` type with its `gateway`
//!   twin so every message can travel in every encoding, and one `proto_enum!` line per enum
//!   (its proto names, for the JSON helpers).

use std::fmt::Write as _;
use std::path::PathBuf;

use prost::Message as _;
use prost_types::field_descriptor_proto::{Label, Type};

const PROTO: &str = "rpcbench/v1/bench.proto";
const PACKAGE: &str = "rpcbench.v1";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=rpcbench");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);

    let fds = protox::compile([PROTO], ["."])?;
    let descriptor_bytes = fds.encode_to_vec();
    std::fs::write(out_dir.join("rpcbench_descriptor.bin"), &descriptor_bytes)?;

    // `pb`: prost messages + idiomatic serde derives.
    let mut pb = tonic_prost_build::configure();
    // Maps are BTreeMaps so that the canonical encoding (and so the digest) is deterministic.
    pb = pb
        .btree_map(".")
        .build_server(false)
        .build_client(false)
        .message_attribute(
            ".",
            "#[derive(serde::Serialize, serde::Deserialize)]\n\
         #[serde(rename_all = \"camelCase\", default, deny_unknown_fields)]",
        );
    let mut wire_types = String::new();
    for file in &fds.file {
        for proto_enum in &file.enum_type {
            writeln!(wire_types, "proto_enum!({});", proto_enum.name())?;
        }
        for message in &file.message_type {
            let path = format!(".{PACKAGE}.{}", message.name());
            if !message
                .nested_type
                .iter()
                .all(|n| n.options.as_ref().is_some_and(|o| o.map_entry()))
            {
                return Err(format!("{path}: nested messages are not supported by the JSON codegen").into());
            }
            writeln!(wire_types, "wire!({});", message.name())?;
            for (index, oneof) in message.oneof_decl.iter().enumerate() {
                let synthetic = message
                    .field
                    .iter()
                    .any(|f| f.oneof_index == Some(index as i32) && f.proto3_optional());
                if synthetic {
                    continue;
                }
                let oneof_path = format!("{path}.{}", oneof.name());
                // Externally tagged: `{"mesh": {...}}` — serde reads the tag first, no buffering.
                pb = pb.enum_attribute(
                    &oneof_path,
                    "#[derive(serde::Serialize, serde::Deserialize)]\n#[serde(rename_all = \"camelCase\")]",
                );
            }
            for field in &message.field {
                let field_path = format!("{path}.{}", field.name());
                let repeated = field.label() == Label::Repeated;
                match field.r#type() {
                    Type::Enum if repeated => {
                        return Err(format!(
                            "{field_path}: repeated enums are not supported by the JSON codegen"
                        )
                        .into());
                    }
                    Type::Enum => {
                        let rust = field.type_name().rsplit('.').next().unwrap_or_default();
                        let with =
                            format!("#[serde(with = \"crate::json::ProtoEnum::<crate::pb::{rust}>\")]");
                        pb = pb.field_attribute(&field_path, with);
                    }
                    Type::Bytes if repeated => {
                        return Err(format!(
                            "{field_path}: repeated bytes are not supported by the JSON codegen"
                        )
                        .into());
                    }
                    Type::Bytes => {
                        pb = pb.field_attribute(&field_path, "#[serde(with = \"crate::json::base64\")]")
                    }
                    _ => {}
                }
                let message_field =
                    field.r#type() == Type::Message && !repeated && field.oneof_index.is_none();
                if field.proto3_optional() || message_field {
                    pb = pb.field_attribute(&field_path, SKIP_NONE);
                }
            }
        }
    }
    pb.compile_fds(fds.clone())?;
    std::fs::write(out_dir.join("wire_types.rs"), wire_types)?;

    // `gateway`: the same messages, plain, with pbjson's proto3-JSON mapping.
    let gateway_dir = out_dir.join("gateway");
    std::fs::create_dir_all(&gateway_dir)?;
    tonic_prost_build::configure()
        .btree_map(".")
        .build_server(false)
        .build_client(false)
        .out_dir(&gateway_dir)
        .compile_fds(fds)?;
    pbjson_build::Builder::new()
        .register_descriptors(&descriptor_bytes)?
        .btree_map(["."])
        .out_dir(&gateway_dir)
        .build(&[format!(".{PACKAGE}")])?;

    for (dir, codec) in [
        ("grpc_proto", "ProtoCodec"),
        ("grpc_json", "JsonCodec"),
        ("grpc_pbjson", "PbjsonCodec"),
        ("grpc_sonic", "SonicCodec"),
    ] {
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
            .package(PACKAGE)
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
        // The generated client is the idiomatic gRPC client (bench's `client_idiomatic`).
        tonic_build::manual::Builder::new()
            .build_client(true)
            .out_dir(&dir)
            .compile(&[service]);
    }
    Ok(())
}

/// An absent optional field or sub-message is left out, as a hand-written REST type with
/// `Option` fields usually does; decoding accepts it missing or `null`.
const SKIP_NONE: &str = "#[serde(skip_serializing_if = \"Option::is_none\")]";
