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

    /// HTTP/1.1: how long a client may take to send a request's complete header once its first
    /// byte arrived, in ms (hyper's timer; a connection that sends nothing is not covered: there
    /// is no idle timeout yet). A closure is counted as `header_timeout`
    #[arg(long, default_value_t = DEFAULT_HEADER_READ_TIMEOUT_MS, value_name = "MS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout_ms: u64,

    /// HTTP/2: interval of the server's keep-alive PING, in ms (hyper; sent on every HTTP/2
    /// connection, REST and gRPC alike)
    #[arg(long, default_value_t = DEFAULT_H2_KEEPALIVE_MS, value_name = "MS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub h2_keepalive_interval_ms: u64,

    /// HTTP/2: how long the PING's acknowledgement may take before the connection is closed, in
    /// ms. A closure is counted as `keepalive_timeout`
    #[arg(long, default_value_t = DEFAULT_H2_KEEPALIVE_MS, value_name = "MS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub h2_keepalive_timeout_ms: u64,

    /// Most connections open at once; a connection beyond it is refused (accepted and closed at
    /// once, counted as `connection_limit`), never queued
    #[arg(long, default_value_t = DEFAULT_MAX_CONNECTIONS, value_name = "N")]
    pub max_connections: NonZeroUsize,
}

/// Default HTTP/1.1 header-read timeout: hyper's own 30 s. A header of a few
/// hundred bytes crosses even a 64 kbit/s link in well under a second.
pub const DEFAULT_HEADER_READ_TIMEOUT_MS: u64 = 30_000;
/// Default HTTP/2 keep-alive PING interval and acknowledgement timeout: 60 s each, so a PONG
/// queued behind a point's uploads on a slow shaped link is not taken for a dead peer.
pub const DEFAULT_H2_KEEPALIVE_MS: u64 = 60_000;
/// Default connection limit: far above any run's connections, far below the usual fd limit.
pub const DEFAULT_MAX_CONNECTIONS: NonZeroUsize = NonZeroUsize::new(4096).unwrap();

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
            header_read_timeout_ms: DEFAULT_HEADER_READ_TIMEOUT_MS,
            h2_keepalive_interval_ms: DEFAULT_H2_KEEPALIVE_MS,
            h2_keepalive_timeout_ms: DEFAULT_H2_KEEPALIVE_MS,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

impl ServerSettings {
    /// These settings as the command-line flags that parse back into them (what `rpcbench run`
    /// passes to each `rpcbench serve` child). Every field is named here, so a new one does not
    /// compile until it has its flag; `to_args_round_trips` checks the flags parse back equal.
    pub fn to_args(&self) -> Vec<String> {
        let ServerSettings {
            worker_threads,
            tcp_nodelay,
            max_body_bytes,
            h2_stream_window,
            h2_connection_window,
            h2_adaptive_window,
            h2_max_concurrent_streams,
            h2_max_frame_size,
            header_read_timeout_ms,
            h2_keepalive_interval_ms,
            h2_keepalive_timeout_ms,
            max_connections,
        } = self;
        let mut v = vec![
            format!("--tcp-nodelay={tcp_nodelay}"),
            format!("--max-body-bytes={max_body_bytes}"),
            format!("--h2-stream-window={h2_stream_window}"),
            format!("--h2-connection-window={h2_connection_window}"),
            format!("--h2-adaptive-window={h2_adaptive_window}"),
            format!("--h2-max-concurrent-streams={h2_max_concurrent_streams}"),
            format!("--h2-max-frame-size={h2_max_frame_size}"),
            format!("--header-read-timeout-ms={header_read_timeout_ms}"),
            format!("--h2-keepalive-interval-ms={h2_keepalive_interval_ms}"),
            format!("--h2-keepalive-timeout-ms={h2_keepalive_timeout_ms}"),
            format!("--max-connections={max_connections}"),
        ];
        if let Some(n) = worker_threads {
            v.push(format!("--worker-threads={n}"));
        }
        v
    }

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

    /// Settings unlike the defaults in every field.
    fn unusual() -> ServerSettings {
        ServerSettings {
            worker_threads: NonZeroUsize::new(3),
            tcp_nodelay: false,
            max_body_bytes: 12_345,
            h2_stream_window: 70_000,
            h2_connection_window: 140_000,
            h2_adaptive_window: true,
            h2_max_concurrent_streams: 7,
            h2_max_frame_size: 32 * 1024,
            header_read_timeout_ms: 1_234,
            h2_keepalive_interval_ms: 2_345,
            h2_keepalive_timeout_ms: 3_456,
            max_connections: NonZeroUsize::new(17).unwrap(),
        }
    }

    #[test]
    fn to_args_round_trips() {
        for settings in [ServerSettings::default(), unusual()] {
            let args = std::iter::once("x".to_string()).chain(settings.to_args());
            assert_eq!(Cli::parse_from(args).settings, settings);
        }
    }

    #[test]
    fn cli_defaults_equal_struct_defaults() {
        let cli = Cli::parse_from(["x"]);
        assert_eq!(cli.settings, ServerSettings::default());
    }
}
