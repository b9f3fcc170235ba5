//! The gRPC adapter (tonic): the generated `rpcbench.v1.Bench` service for each encoding, plus
//! `grpc.health.v1.Health`.
//!
//! Decode failures are `INVALID_ARGUMENT` (the codec maps them; tonic's default `INTERNAL`
//! would blame the server). Messages over the body limit are refused by tonic with
//! `OUT_OF_RANGE`. Catalogue refusals (size 0, too large, unknown shape) are
//! `INVALID_ARGUMENT`.
//!
//! Compression: requests in `grpc-encoding: gzip` or `zstd` are accepted and responses are
//! compressed in whichever of them the client lists in `grpc-accept-encoding` (tonic's fixed
//! levels: gzip 6, zstd 3). A message over the limit after decompression is refused with
//! `RESOURCE_EXHAUSTED`; any other `grpc-encoding` with `UNIMPLEMENTED` naming the supported ones.

//!
//! Streams: Subscribe and Chat end with OK when the server shuts down; a broadcast subscriber
//! that falls too far behind ends with `RESOURCE_EXHAUSTED` (see [`crate::stream`]).

use std::pin::Pin;
use std::sync::Arc;

use futures_util::{Stream, StreamExt};
use rpcbench_proto::Shape;
use rpcbench_proto::pb::{
    self, FetchRequest, Payload, PublishAck, PublishRequest, StreamMessage, StreamRequest, UploadSummary,
};
use rpcbench_proto::{
    Encoding, SharedMessage, SharedPayload, grpc_json, grpc_pbjson, grpc_proto, grpc_sonic,
};
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status, Streaming};

use crate::core::{CoreError, ServiceCore};
use crate::settings::ServerSettings;
use crate::stream::StreamError;

type GrpcStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

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

impl From<StreamError> for Status {
    fn from(e: StreamError) -> Status {
        match e {
            StreamError::Lagged { .. } => Status::resource_exhausted(e.to_string()),
        }
    }
}

impl GrpcBench {
    fn fetch(&self, req: FetchRequest) -> Result<SharedPayload, Status> {
        let shape = pb::Shape::try_from(req.shape)
            .map_err(|_| Status::invalid_argument(format!("unknown shape number {}", req.shape)))?;
        let shape = Shape::try_from(shape).map_err(CoreError::from)?;
        Ok(SharedPayload(self.core.fetch(shape, req.size, req.seed)?))
    }

    fn subscribe(&self, req: &StreamRequest) -> Result<GrpcStream<SharedMessage>, Status> {
        let stream = self.core.subscribe(req)?;
        Ok(Box::pin(stream.map(|m| m.map_err(Status::from))))
    }

    /// Echoes the client's messages until it half-closes, fails, or the server shuts down.
    fn chat(&self, incoming: Streaming<StreamMessage>) -> GrpcStream<StreamMessage> {
        let core = Arc::clone(&self.core);
        let replies = incoming.map(move |m| m.map(|m| core.chat(m)));
        Box::pin(replies.take_until(self.core.shutting_down()))
    }

    fn publish(&self, req: PublishRequest) -> Result<PublishAck, Status> {
        let msg = req
            .message
            .ok_or_else(|| Status::invalid_argument("a published message is required"))?;
        Ok(self.core.publish(&req.room, msg)?)
    }
}

/// The generated traits (one per encoding) have the same methods; implement them once.
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
            type SubscribeStream = GrpcStream<SharedMessage>;
            async fn subscribe(&self, req: Request<StreamRequest>) -> Result<Response<Self::SubscribeStream>, Status> {
                GrpcBench::subscribe(self, req.get_ref()).map(Response::new)
            }
            type ChatStream = GrpcStream<StreamMessage>;
            async fn chat(&self, req: Request<Streaming<StreamMessage>>) -> Result<Response<Self::ChatStream>, Status> {
                Ok(Response::new(GrpcBench::chat(self, req.into_inner())))
            }
            async fn publish(&self, req: Request<PublishRequest>) -> Result<Response<PublishAck>, Status> {
                GrpcBench::publish(self, req.into_inner()).map(Response::new)
            }
        }
    )+};
}
impl_bench!(grpc_proto, grpc_json, grpc_pbjson, grpc_sonic);

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
    // The same limits and compression for every service of the listener, health included (a
    // client that compresses every call, like grpcio with gzip, compresses its health checks).
    macro_rules! configured {
        ($server:expr) => {
            $server
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit)
                .accept_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Zstd)
                .send_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Zstd)
        };
    }
    let health = configured!(health);
    let routes = match encoding {
        Encoding::Protobuf => {
            tonic::service::Routes::new(configured!(grpc_proto::bench_server::BenchServer::new(bench)))
        }
        Encoding::Json => {
            tonic::service::Routes::new(configured!(grpc_json::bench_server::BenchServer::new(bench)))
        }
        Encoding::Pbjson => {
            tonic::service::Routes::new(configured!(grpc_pbjson::bench_server::BenchServer::new(bench)))
        }
        Encoding::Sonic => {
            tonic::service::Routes::new(configured!(grpc_sonic::bench_server::BenchServer::new(bench)))
        }
    };
    routes.add_service(health).prepare().into_axum_router()
}
