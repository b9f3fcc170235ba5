//! Fairness settings: one struct, identical defaults for every variant.

use std::num::NonZeroUsize;

use serde::Serialize;

/// Default request/response body limit: 16 MiB, on every variant.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Server settings shared by all variants. Every field applies to every variant that has the
/// feature (HTTP/2 fields apply to every HTTP/2 variant, REST and gRPC alike).
#[derive(Debug, Clone, PartialEq, Serialize, clap::Args)]
pub struct ServerSettings {
    /// tokio runtime worker threads [default: CPUs in this process's affinity set]
    #[arg(long, value_name = "N")]
    pub worker_threads: Option<NonZeroUsize>,

    /// Set TCP_NODELAY on every socket
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub tcp_nodelay: bool,

    /// Largest request body (REST) or message (gRPC) accepted, and largest Fetch size, in bytes
    #[arg(long, default_value_t = DEFAULT_MAX_BODY_BYTES, value_name = "BYTES")]
    pub max_body_bytes: usize,

    /// HTTP/2 initial stream flow-control window, in bytes
    #[arg(long, default_value_t = 4 * 1024 * 1024, value_name = "BYTES")]
    pub h2_stream_window: u32,

    /// HTTP/2 initial connection flow-control window, in bytes
    #[arg(long, default_value_t = 8 * 1024 * 1024, value_name = "BYTES")]
    pub h2_connection_window: u32,

    /// HTTP/2 BDP-adaptive flow-control windows (hyper's BDP estimation, as grpc-go's): the
    /// windows grow with the measured bandwidth-delay product instead of staying at the initial
    /// sizes. Off by default so every variant has the same fixed windows
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub h2_adaptive_window: bool,

    /// HTTP/2 maximum concurrent streams per connection
    #[arg(long, default_value_t = 1024, value_name = "N")]
    pub h2_max_concurrent_streams: u32,

    /// HTTP/2 maximum frame size, in bytes (16 KiB .. 16 MiB)
    #[arg(long, default_value_t = 16 * 1024, value_name = "BYTES",
          value_parser = clap::value_parser!(u32).range(16_384..=16_777_215))]
    pub h2_max_frame_size: u32,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            worker_threads: None,
            tcp_nodelay: true,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            h2_stream_window: 4 * 1024 * 1024,
            h2_connection_window: 8 * 1024 * 1024,
            h2_adaptive_window: false,
            h2_max_concurrent_streams: 1024,
            h2_max_frame_size: 16 * 1024,
        }
    }
}

impl ServerSettings {
    /// Worker threads to start: the explicit setting, else the CPUs this process may run on.
    pub fn effective_worker_threads(&self) -> usize {
        self.worker_threads.map(NonZeroUsize::get).unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(NonZeroUsize::get)
                .unwrap_or(1)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        settings: ServerSettings,
    }

    #[test]
    fn cli_defaults_equal_struct_defaults() {
        let cli = Cli::parse_from(["x"]);
        assert_eq!(cli.settings, ServerSettings::default());
    }
}
