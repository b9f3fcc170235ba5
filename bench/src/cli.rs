//! Command-line interface (clap derive). Doc comments are the help text.

use std::net::SocketAddr;

use clap::{Parser, Subcommand};
use rpcbench_servers::{ServerSettings, Variant};

/// rpcbench: is gRPC (HTTP/2 + protobuf) really "up to 8x faster" than REST (HTTP/1.1 + JSON)?
/// Measured on identical services, side by side.
#[derive(Debug, Parser)]
#[command(name = "rpcbench", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve one variant until SIGTERM/SIGINT. Prints one JSON line
    /// `{"variant":...,"addr":...}` on stdout once ready; logs go to stderr.
    Serve(ServeArgs),
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Variant to serve
    #[arg(long, value_enum)]
    pub variant: Variant,

    /// Address to bind (port 0 picks a free port). Binds loopback only unless told otherwise.
    #[arg(long, default_value = "127.0.0.1:0", value_name = "HOST:PORT")]
    pub addr: SocketAddr,

    /// Fairness settings, identical defaults for every variant.
    #[command(flatten)]
    pub settings: ServerSettings,
}
