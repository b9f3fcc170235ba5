//! Command-line interface (clap derive). Doc comments are the help text.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;

use crate::stream_client::{StreamKind, Transport};
use clap::{Parser, Subcommand};
use rpcbench_model::{Rpc, Shape};
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
    /// Drive one running variant with load (closed loop, or open loop with --rate) and record
    /// latency into HdrHistograms. Exit code: 0 done, 1 could not start, 3 stopped early
    /// (partial results written, marked incomplete).
    Load(LoadArgs),
    /// The main job: start every variant as a pinned child process, run the workload matrix
    /// (variants interleaved, repetitions), write results.json + .hgrm files into
    /// reports/runs/<UTC timestamp>-<commit>/, and render the report. Exit code: 0 complete,
    /// 1 could not run, 3 incomplete (every point measured so far is kept).
    Run(RunArgs),
    /// (Re)render a run's report (index.html, summary.md, summary.json) from its results.json
    /// and criterion's results. Works with partial inputs and says what is missing.
    Report(ReportArgs),
    /// Regression verdict between two result sets (run directories, instruction counts,
    /// criterion baselines): per metric the change, its confidence interval and
    /// regressed/improved/unchanged, written to compare.md and compare.json. Exit code: 0 no
    /// regression, 1 regression, 2 unusable input.
    Compare(crate::comparecmd::CompareArgs),
    /// Combine the results of N generators that drove the same variant and workload at the same
    /// time (`rpcbench load --json`, ideally all with one --start-at) into one point: histograms
    /// added (never percentiles averaged), counts, errors, bytes, rates and client CPU summed,
    /// the window is the overlap of theirs. Writes DIR/results.json + DIR/hgrm/, which
    /// `rpcbench report DIR` renders. Exit code: 0 merged, 1 could not write, 2 inputs that
    /// cannot be merged (unreadable, other schema version, a configuration field that differs
    /// — named —, windows that do not overlap).
    Merge(crate::mergecmd::MergeArgs),
    /// Kill helper processes (servers, delay lines) left inside network labs by a run that was
    /// killed (SIGKILL, a crash); their namespaces, links and qdiscs disappear with them.
    /// Prints what it removed. Safe to run any time: labs of live runs are left alone.
    NetnsClean,
    /// (internal) The userspace delay line between two lab namespaces; started by `run`.
    #[command(hide = true)]
    DelayLine(crate::delay_line::DelayLineArgs),
    /// Generate a certificate authority and a server certificate for localhost, 127.0.0.1 and
    /// ::1 — what `rpcbench run` does for a run with TLS — as DIR/ca.pem (trust this),
    /// DIR/server.pem and DIR/server.key (for `serve --tls-cert/--tls-key`). Prints the paths.
    Cert(CertArgs),
    /// Measure serialization in-process: every codec case (encode, decode, populate+encode in
    /// json, pbjson, sonic and protobuf; each round trip checked first) for the given payloads,
    /// with criterion as a library, into DIR (criterion's format, plus encoded-sizes.json).
    /// `rpcbench run` does this for its workloads before its load points; `cargo bench` runs
    /// the whole table for longer.
    Codec(CodecArgs),
}

#[derive(Debug, clap::Args)]
pub struct CodecArgs {
    /// Directory for criterion's results (created if missing)
    #[arg(long, value_name = "DIR")]
    pub output: PathBuf,

    /// Catalogue payload to measure, `SHAPE/SIZE` (e.g. `mesh/256KiB`, `small/256`); repeatable
    #[arg(long = "payload", value_name = "SHAPE/SIZE", required = true, value_parser = parse_payload)]
    pub payloads: Vec<(rpcbench_model::Shape, rpcbench_model::Size)>,

    /// Pin this process to these CPUs (e.g. the servers' CPUs of a run)
    #[arg(long, value_name = "LIST")]
    pub cpus: Option<String>,
}

/// `mesh/256KiB` → (Mesh, 256 KiB); the size must be one the catalogue can generate.
fn parse_payload(s: &str) -> Result<(rpcbench_model::Shape, rpcbench_model::Size), String> {
    let (shape, size) = s
        .split_once('/')
        .ok_or_else(|| format!("{s:?}: expected SHAPE/SIZE, e.g. mesh/16KiB"))?;
    let shape: rpcbench_model::Shape = shape.parse().map_err(|e| format!("{e}"))?;
    let size: rpcbench_model::Size = size.parse().map_err(|e| format!("{e}"))?;
    rpcbench_proto::catalogue::validate(shape, size.bytes()).map_err(|e| e.to_string())?;
    Ok((shape, size))
}

#[derive(Debug, clap::Args)]
pub struct CertArgs {
    /// Directory to write ca.pem, server.pem and server.key into (created if missing)
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// Further names (DNS names or IP addresses) the server certificate is valid for
    #[arg(long = "name", value_name = "NAME")]
    pub names: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Run directory (holding results.json), or any output directory with --criterion-dir.
    /// Several run directories (one per network profile, such as a multi-profile `run` writes):
    /// each gets its report, and `networks.md`/`networks.html` show how the claim's ratio moves
    /// across them (in the order given) and fixed vs adaptive HTTP/2 windows
    #[arg(value_name = "DIR", required = true)]
    pub dirs: Vec<PathBuf>,

    /// Where the comparison of several DIRs is written [default: `networks/` beside the first]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Criterion results to include [default: DIR/criterion if present, else target/criterion]
    #[arg(long, value_name = "DIR")]
    pub criterion_dir: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Built-in scenario [default: quick]
    #[arg(long, value_enum, conflicts_with = "scenario")]
    pub preset: Option<crate::scenario::Preset>,

    /// Scenario file (TOML, same structure as `--print-scenario` prints)
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,

    /// Print a preset as TOML (a starting point for --scenario) and exit
    #[arg(long, value_enum, value_name = "PRESET", conflicts_with_all = ["preset", "scenario"])]
    pub print_scenario: Option<crate::scenario::Preset>,

    /// Directory that receives one sub-directory per run
    #[arg(long, default_value = "reports/runs", value_name = "DIR")]
    pub output_dir: PathBuf,

    /// CPUs for the servers [default: first half of this process's CPUs, CPU 0 on 2 cores]
    #[arg(long, value_name = "LIST")]
    pub server_cpus: Option<String>,

    /// CPUs for the load generator [default: second half, CPU 1 on 2 cores]
    #[arg(long, value_name = "LIST")]
    pub client_cpus: Option<String>,

    /// Do not pin anything
    #[arg(long, conflicts_with_all = ["server_cpus", "client_cpus"])]
    pub no_pin: bool,

    /// Variant(s) to measure, repeatable or comma-separated; replaces the scenario's
    /// `variants` (e.g. `--variant rest-pbjson-h1,rest-json-h1,rest-sonic-h1` adds the JSON
    /// library's variants, which `quick` leaves out to stay within 5 minutes)
    #[arg(long = "variant", value_enum, value_name = "ID", value_delimiter = ',')]
    pub variants: Vec<Variant>,

    /// Network profile(s) to measure, repeatable; replaces the scenario's `networks`.
    /// `loopback`, `lan` (1 Gbit/s, 0.2 ms RTT), `wan` (100 Mbit/s, 20 ms), `mobile` (10 Mbit/s,
    /// 60 ms, 0.1% loss), or your own `NAME:rate=50mbit,rtt=30ms,loss=0.1%,mtu=1500`. Shaped
    /// profiles put each server in its own network namespace behind a shaped link (needs root).
    #[arg(long = "network", value_name = "PROFILE")]
    pub networks: Vec<String>,

    /// Measure a server that runs elsewhere instead of starting one, repeatable: `VARIANT=URL`,
    /// e.g. `grpc-proto-h2=http://10.0.0.2:50051` (another host, a cluster Service, a server in
    /// another language implementing the published .proto and REST routes). The run then
    /// measures exactly the targeted variants; replaces the scenario's `targets`
    #[arg(long = "target", value_name = "VARIANT=URL")]
    pub targets: Vec<String>,

    /// The stats endpoint of a --target's server (`rpcbench serve --stats-addr`),
    /// `VARIANT=http://HOST:PORT`, read before and after each point for its CPU per request.
    /// Without it that target's server CPU is recorded as unknown
    #[arg(long = "target-stats", value_name = "VARIANT=URL", requires = "targets")]
    pub target_stats: Vec<String>,

    /// Criterion results to include in the report
    #[arg(long, default_value = "target/criterion", value_name = "DIR")]
    pub criterion_dir: PathBuf,

    /// No progress lines (default when CI is set)
    #[arg(long)]
    pub quiet: bool,

    /// Server and client fairness settings, applied identically to every variant
    #[command(flatten)]
    pub settings: ServerSettings,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Variant to serve
    #[arg(long, value_enum)]
    pub variant: Variant,

    /// Address to bind (port 0 picks a free port). Binds loopback only unless told otherwise.
    #[arg(long, default_value = "127.0.0.1:0", value_name = "HOST:PORT")]
    pub addr: SocketAddr,

    /// Pin the server process to these CPUs (e.g. `0` or `0-1`); worker threads default to
    /// their count
    #[arg(long, value_name = "LIST")]
    pub cpus: Option<String>,

    /// Also shut down when stdin reaches end of file (how `rpcbench run` makes sure no server
    /// outlives it, even when it is killed)
    #[arg(long, hide = true)]
    pub exit_on_stdin_eof: bool,

    /// Serve over TLS (TLS 1.3, TLS13_AES_128_GCM_SHA256, ALPN `h2` or `http/1.1` by variant)
    /// with this PEM certificate chain
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of --tls-cert
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Also serve this process's CPU time and memory as JSON on `http://HOST:PORT/stats`, a
    /// listener of its own off the measured path (what `run --target-stats` reads). Off unless
    /// given; bind 127.0.0.1 (or a private link's address) — it is plain HTTP without auth
    #[arg(long, value_name = "HOST:PORT")]
    pub stats_addr: Option<SocketAddr>,

    /// Fairness settings, identical defaults for every variant.
    #[command(flatten)]
    pub settings: ServerSettings,
}

#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// Variant the target serves (decides protocol and encoding of the client)
    #[arg(long, value_enum)]
    pub variant: Variant,

    /// Server address, `http://HOST:PORT` or `HOST:PORT`
    #[arg(long, value_name = "URL")]
    pub target: String,

    /// RPC to call
    #[arg(long, value_enum, default_value = "echo", help_heading = "Workload")]
    pub rpc: Rpc,

    /// Payload shape
    #[arg(long, value_enum, default_value = "small", help_heading = "Workload")]
    pub shape: Shape,

    /// Target protobuf-encoded payload size in bytes
    #[arg(long, default_value_t = 256, help_heading = "Workload")]
    pub size: u64,

    /// Seed of the payload generator
    #[arg(long, default_value_t = 1, help_heading = "Workload")]
    pub seed: u64,

    /// Connections to open
    #[arg(long, default_value = "1", help_heading = "Mode")]
    pub connections: NonZeroU32,

    /// Requests in flight (closed loop) or at most in flight (open loop). HTTP/1.1 carries one
    /// request per connection, so it must equal --connections there [default: --connections]
    #[arg(long, help_heading = "Mode")]
    pub concurrency: Option<NonZeroU32>,

    /// Open loop: offered load in requests per second on a fixed schedule (latency measured
    /// from each request's intended send time). Without it: closed loop.
    #[arg(long, value_name = "RPS", help_heading = "Mode")]
    pub rate: Option<f64>,

    /// Length of the measured phase
    #[arg(
        long,
        default_value = "10s",
        conflicts_with = "requests",
        help_heading = "Length"
    )]
    pub duration: humantime::Duration,

    /// Stop after this many measured requests instead of after --duration
    #[arg(long, help_heading = "Length")]
    pub requests: Option<u64>,

    /// Warm-up before the measured phase (not recorded)
    #[arg(long, default_value = "1s", help_heading = "Length")]
    pub warmup: humantime::Duration,

    /// Per-request timeout
    #[arg(long, default_value = "5s", help_heading = "Length")]
    pub timeout: humantime::Duration,

    /// Begin the measured phase at this wall-clock time (RFC 3339 such as
    /// `2026-11-28T10:00:00Z`, or Unix nanoseconds), the warm-up ending then. Generators given
    /// the same time measure the same window, so `rpcbench merge` can combine them; the actual
    /// start and its skew are recorded. Fails if the time has already passed.
    #[arg(long, value_name = "TIME", help_heading = "Length")]
    pub start_at: Option<StartAt>,

    /// Check the content of every n-th response (echo equality, digest match)
    #[arg(long, default_value = "16", help_heading = "Workload")]
    pub check_every: std::num::NonZeroU64,

    /// Write config, provenance, summary and serialized histograms as JSON (atomically)
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub json: Option<PathBuf>,

    /// Write the latency distribution in HdrHistogram's .hgrm percentile format (ms)
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub hgrm: Option<PathBuf>,

    /// Pin the load generator to these CPUs (e.g. `1`); runtime threads default to their count
    #[arg(long, value_name = "LIST")]
    pub cpus: Option<String>,

    /// Stream instead of unary calls: `feed` (server streaming), `chat` (bidirectional echo) or
    /// `broadcast` (one publisher, --streams subscribers). --rate is then messages per second
    /// (all feed/chat streams together, or the publisher's), latencies are per message
    #[arg(long, value_enum, help_heading = "Streaming")]
    pub stream: Option<StreamKind>,

    /// How streams are carried [default: grpc on grpc-* variants, ws on rest-* variants]
    #[arg(long, value_enum, requires = "stream", help_heading = "Streaming")]
    pub transport: Option<Transport>,

    /// Feed/chat streams (over --connections where the transport multiplexes), or broadcast
    /// subscribers (one connection each)
    #[arg(long, default_value = "1", requires = "stream", help_heading = "Streaming")]
    pub streams: NonZeroU32,

    /// The server's process id: its CPU time over the measured phase is reported (per message
    /// for streams)
    #[arg(long, value_name = "PID", help_heading = "Output")]
    pub server_pid: Option<u32>,

    /// A server elsewhere: read its CPU time from its stats endpoint (`serve --stats-addr`,
    /// `http://HOST:PORT`) at the start and end of the measured phase
    #[arg(
        long,
        value_name = "URL",
        conflicts_with = "server_pid",
        help_heading = "Output"
    )]
    pub server_stats: Option<String>,

    /// Connect with TLS, trusting this root certificate (PEM: a run's `tls/ca.pem`, or your
    /// own). `https://` targets need it
    #[arg(long, value_name = "PEM", help_heading = "Connection")]
    pub tls_ca: Option<PathBuf>,

    /// Name to verify in the server's certificate
    #[arg(
        long,
        default_value = "localhost",
        value_name = "NAME",
        help_heading = "Connection"
    )]
    pub tls_server_name: String,

    /// Body compression: requests compressed and responses accepted in it, at the servers'
    /// level (gzip 6, zstd 3)
    #[arg(long, value_enum, default_value = "none", help_heading = "Connection")]
    pub compression: CompressionArg,

    /// Cold connections: each worker opens a new connection (with TLS, a full handshake)
    /// before every N-th request; 1 = a new connection per request. Handshake time is recorded
    /// in its own histogram
    #[arg(long, value_name = "N", help_heading = "Connection")]
    pub cold_every: Option<std::num::NonZeroU64>,

    /// Client-side fairness settings (same flags and defaults as the servers')
    #[command(flatten)]
    pub settings: ServerSettings,
}

/// Body compression of a load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CompressionArg {
    /// Uncompressed bodies
    None,
    /// gzip (level 6)
    Gzip,
    /// zstd (level 3)
    Zstd,
}

impl From<CompressionArg> for rpcbench_reports::Compression {
    fn from(c: CompressionArg) -> Self {
        match c {
            CompressionArg::None => rpcbench_reports::Compression::None,
            CompressionArg::Gzip => rpcbench_reports::Compression::Gzip,
            CompressionArg::Zstd => rpcbench_reports::Compression::Zstd,
        }
    }
}

/// An agreed wall-clock instant: RFC 3339 (`2026-11-28T10:00:00Z`, fractions allowed) or an
/// integer number of nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartAt(pub std::time::SystemTime);

impl std::str::FromStr for StartAt {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            let ns: u64 = s
                .parse()
                .map_err(|_| format!("{s:?} is too large for Unix nanoseconds"))?;
            return Ok(StartAt(
                std::time::UNIX_EPOCH + std::time::Duration::from_nanos(ns),
            ));
        }
        humantime::parse_rfc3339(s).map(StartAt).map_err(|e| {
            format!(
                "{s:?} is not a time: {e} (expected RFC 3339 in UTC such as 2026-11-28T10:00:00Z, or Unix nanoseconds)"
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    /// What `rpcbench run` hands each child server reaches it unchanged, through the real
    /// `serve` command line.
    #[test]
    fn serve_parses_the_settings_run_passes() {
        let unusual = ServerSettings {
            worker_threads: std::num::NonZeroUsize::new(2),
            tcp_nodelay: false,
            max_body_bytes: 4096,
            h2_adaptive_window: true,
            h2_max_frame_size: 65_536,
            ..ServerSettings::default()
        };
        for settings in [ServerSettings::default(), unusual] {
            let argv = ["rpcbench", "serve", "--variant", "grpc-proto-h2"]
                .map(String::from)
                .into_iter()
                .chain(settings.to_args());
            match Cli::try_parse_from(argv).map(|c| c.command) {
                Ok(Command::Serve(a)) => assert_eq!(a.settings, settings),
                other => panic!("serve did not parse: {other:?}"),
            }
        }
    }

    #[test]
    fn start_at_reads_rfc3339_and_unix_nanoseconds() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_857_600);
        assert_eq!("2026-11-28T09:20:00Z".parse::<StartAt>(), Ok(StartAt(t)));
        assert_eq!("2026-11-28T09:20:00+00:00".parse::<StartAt>(), Ok(StartAt(t)));
        assert_eq!(
            "2026-11-28T09:20:00.5Z".parse::<StartAt>(),
            Ok(StartAt(t + Duration::from_millis(500)))
        );
        assert_eq!("1795857600000000000".parse::<StartAt>(), Ok(StartAt(t)));
        for bad in [
            "",
            "tomorrow",
            "2026-11-28T09:20:00+02:00",
            "2026-11-28",
            "99999999999999999999",
        ] {
            let err = bad.parse::<StartAt>().unwrap_err();
            assert!(err.contains(&format!("{bad:?}")), "{bad}: {err}");
        }
    }
}
