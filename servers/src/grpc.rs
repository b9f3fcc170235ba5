//! The gRPC adapter (tonic): the generated `rpcbench.v1.Bench` service for each encoding, plus
//! `grpc.health.v1.Health`.
//!
//! Decode failures are `INVALID_ARGUMENT` (the codec maps them; tonic's default `INTERNAL`
//! would blame the server). Messages over the body limit are refused by tonic with
//! `OUT_OF_RANGE`. Catalogue refusals (size 0, too large, unknown shape) are
//! `INVALID_ARGUMENT`.

use std::sync::Arc;

use rpcbench_proto::pb::{FetchRequest, Payload, Shape, UploadSummary};
use rpcbench_proto::{Encoding, SharedPayload, grpc_json, grpc_proto};
use tonic::{Request, Response, Status};

use crate::core::{CoreError, ServiceCore};
use crate::settings::ServerSettings;

/// The gRPC face of [`ServiceCore`].
#[derive(Debug, Clone)]
pub struct GrpcBench {
    core: Arc<ServiceCore>,
}

impl From<CoreError> for Status {
    fn from(e: CoreError) -> Status {
        Status::invalid_argument(e.to_string())
    }
}

impl GrpcBench {
    fn fetch(&self, req: FetchRequest) -> Result<SharedPayload, Status> {
        let shape = Shape::try_from(req.shape)
            .map_err(|_| Status::invalid_argument(format!("unknown shape number {}", req.shape)))?;
        Ok(SharedPayload(self.core.fetch(shape, req.size, req.seed)?))
    }
}

/// Both generated traits have the same methods; implement them once.
macro_rules! impl_bench {
    ($($module:ident),+) => {$(
        #[tonic::async_trait]
        impl $module::bench_server::Bench for GrpcBench {
            async fn echo(&self, req: Request<Payload>) -> Result<Response<Payload>, Status> {
                Ok(Response::new(self.core.echo(req.into_inner())))
            }
            async fn fetch(&self, req: Request<FetchRequest>) -> Result<Response<SharedPayload>, Status> {
                GrpcBench::fetch(self, req.into_inner()).map(Response::new)
            }
            async fn upload(&self, req: Request<Payload>) -> Result<Response<UploadSummary>, Status> {
                Ok(Response::new(self.core.upload(&req.into_inner())))
            }
        }
    )+};
}
impl_bench!(grpc_proto, grpc_json);

/// gRPC routes (Bench with `encoding`'s codec, and Health) as an axum router, so that the one
/// listener serves gRPC exactly as it serves REST.
pub async fn router(core: Arc<ServiceCore>, settings: &ServerSettings, encoding: Encoding) -> axum::Router {
    let bench = GrpcBench { core };
    let limit = settings.max_body_bytes;
    let (reporter, health) = tonic_health::server::health_reporter();
    // Registered before the router exists, so a health check can never see NOT_FOUND.
    for name in ["rpcbench.v1.Bench", ""] {
        reporter
            .set_service_status(name, tonic_health::ServingStatus::Serving)
            .await;
    }
    let routes = match encoding {
        Encoding::Protobuf => tonic::service::Routes::new(
            grpc_proto::bench_server::BenchServer::new(bench)
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit),
        ),
        Encoding::Json => tonic::service::Routes::new(
            grpc_json::bench_server::BenchServer::new(bench)
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit),
        ),
    };
    routes.add_service(health).prepare().into_axum_router()
}
