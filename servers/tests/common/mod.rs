//! Setup shared by the servers' integration tests.

use std::net::SocketAddr;
use std::sync::Arc;

use rpcbench_servers::{Closures, Server, ServerSettings, Variant};

/// A running server of `variant` with `settings` on 127.0.0.1 port 0, and its closure counters;
/// it runs until the test's runtime is dropped.
pub async fn serve(variant: Variant, settings: &ServerSettings) -> (SocketAddr, Arc<Closures>) {
    let server = Server::bind(variant, "127.0.0.1:0".parse().unwrap(), settings)
        .await
        .unwrap();
    let addr = server.local_addr();
    let closures = server.closures();
    tokio::spawn(server.serve(std::future::pending()));
    (addr, closures)
}
