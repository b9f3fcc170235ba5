//! rpcbench servers: one service core, thin REST (axum) and gRPC (tonic) adapters, and one
//! listener that serves every variant.
//!
//! The design decision to know: the variants differ only in what the factorial design says
//! they differ in. The service logic is [`core::ServiceCore`], written once; the REST and gRPC
//! adapters only translate between their protocol and the core; and every variant is served by
//! the same accept loop and the same hyper connection builder ([`listen::serve`]) with the same
//! [`ServerSettings`], so runtime, `TCP_NODELAY`, body limit and HTTP/2 windows are identical.

pub mod core;
pub mod grpc;
pub mod listen;
pub mod rest;
pub mod rest_stream;
pub mod settings;
pub mod stream;
pub mod tls;

pub use crate::core::{CoreError, ServiceCore};
pub use listen::{ClosureCounts, Closures, ServeError, Server};
pub use rpcbench_model::{HttpVersion, Stack, Variant};
pub use settings::ServerSettings;

/// Builds the complete HTTP service of `variant` (REST router or gRPC routes + health).
pub async fn app(
    variant: Variant,
    core: std::sync::Arc<ServiceCore>,
    settings: &ServerSettings,
) -> axum::Router {
    match variant.stack() {
        Stack::Rest => rest::router(core, settings, variant.encoding()),
        Stack::Grpc => grpc::router(core, settings, variant.encoding()).await,
    }
}
