//! The typed, versioned results schema shared by every producer and consumer.
//!
//! Units are in the field names: `_ns` is nanoseconds, `_bytes` is bytes, `_rps` is requests per
//! second. Histograms are stored as data (HdrHistogram V2 + DEFLATE, base64) so any percentile
//! can be recomputed and runs can be merged.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2DeflateSerializer};
use serde::{Deserialize, Serialize};

/// Version of every JSON document in this module. Bumped on any incompatible change.
///
/// - 1: the first release (variants, shapes and ids as free strings).
/// - 2: variants and shapes typed by the model crate (an unknown one is refused when read, not
///   carried through as a string); server CPU in ns, client-bound and schedule flags, TLS,
///   compression and connection conditions, network profiles, remote targets.
pub const SCHEMA_VERSION: u32 = 2;

/// Significant digits of every latency histogram.
pub const HISTOGRAM_SIGFIG: u8 = 3;
/// Highest trackable latency: 10 minutes in nanoseconds.
pub const HISTOGRAM_MAX_NS: u64 = 600_000_000_000;

/// Errors reading or writing results files.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("{path} is not a valid results file: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path} has schema version {found}, this rpcbench reads version {expected}")]
    Version {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
    #[error("corrupt histogram: {0}")]
    Histogram(String),
}

/// A latency percentile. Serialized as `p50`, `p90`, `p99`, `p99.9`, `p99.99`, `max`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum Percentile {
    #[serde(rename = "p50")]
    P50,
    #[serde(rename = "p90")]
    P90,
    #[serde(rename = "p99")]
    P99,
    #[serde(rename = "p99.9")]
    P999,
    #[serde(rename = "p99.99")]
    P9999,
    #[serde(rename = "max")]
    Max,
}

impl Percentile {
    pub const ALL: [Percentile; 6] = [
        Percentile::P50,
        Percentile::P90,
        Percentile::P99,
        Percentile::P999,
        Percentile::P9999,
        Percentile::Max,
    ];

    /// The quantile in `0..=1`.
    pub fn quantile(self) -> f64 {
        match self {
            Percentile::P50 => 0.5,
            Percentile::P90 => 0.9,
            Percentile::P99 => 0.99,
            Percentile::P999 => 0.999,
            Percentile::P9999 => 0.9999,
            Percentile::Max => 1.0,
        }
    }

    /// Samples a histogram needs before this percentile is shown: ten beyond it (`10 / (1 − q)`),
    /// so a p99 needs 1,000 and a p99.9 10,000. From fewer, "p99" would be one of the few
    /// largest samples, i.e. the maximum under another name.
    pub fn min_samples(self) -> u64 {
        match self {
            Percentile::P50 => 20,
            Percentile::P90 => 100,
            Percentile::P99 => 1_000,
            Percentile::P999 => 10_000,
            Percentile::P9999 => 100_000,
            Percentile::Max => 1,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Percentile::P50 => "p50",
            Percentile::P90 => "p90",
            Percentile::P99 => "p99",
            Percentile::P999 => "p99.9",
            Percentile::P9999 => "p99.99",
            Percentile::Max => "max",
        }
    }
}

/// Summary statistics of one latency histogram, in nanoseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LatencyStats {
    pub count: u64,
    pub min_ns: u64,
    pub mean_ns: f64,
    pub stdev_ns: f64,
    pub percentiles_ns: BTreeMap<Percentile, u64>,
}

impl LatencyStats {
    pub fn from_histogram(h: &Histogram<u64>) -> Self {
        LatencyStats {
            count: h.len(),
            min_ns: if h.is_empty() { 0 } else { h.min() },
            mean_ns: h.mean(),
            stdev_ns: h.stdev(),
            percentiles_ns: Percentile::ALL
                .into_iter()
                .map(|p| {
                    let v = if p == Percentile::Max {
                        h.max()
                    } else {
                        h.value_at_quantile(p.quantile())
                    };
                    (p, v)
                })
                .collect(),
        }
    }

    /// Percentile `p`, or `None` when it was not recorded or is withheld because the histogram
    /// holds fewer than [`Percentile::min_samples`] values.
    pub fn get(&self, p: Percentile) -> Option<u64> {
        if self.withheld(p) {
            return None;
        }
        self.percentiles_ns.get(&p).copied()
    }

    /// Whether `p` is withheld for lack of samples (the stored value is kept for provenance).
    pub fn withheld(&self, p: Percentile) -> bool {
        self.count < p.min_samples()
    }
}

/// An HdrHistogram stored as data: V2 + DEFLATE serialization, base64 (standard alphabet) —
/// the same format HdrHistogram's own log tools use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EncodedHistogram {
    /// Unit of recorded values; always `ns`.
    pub unit: String,
    pub significant_digits: u8,
    /// `hdr-v2-deflate-base64`.
    pub format: String,
    pub data: String,
}

impl EncodedHistogram {
    pub const FORMAT: &'static str = "hdr-v2-deflate-base64";

    pub fn encode(h: &Histogram<u64>) -> Result<Self, SchemaError> {
        let mut bytes = Vec::new();
        V2DeflateSerializer::new()
            .serialize(h, &mut bytes)
            .map_err(|e| SchemaError::Histogram(format!("{e:?}")))?;
        Ok(EncodedHistogram {
            unit: "ns".into(),
            significant_digits: h.sigfig(),
            format: Self::FORMAT.into(),
            data: base64::engine::general_purpose::STANDARD.encode(bytes),
        })
    }

    pub fn decode(&self) -> Result<Histogram<u64>, SchemaError> {
        if self.format != Self::FORMAT {
            return Err(SchemaError::Histogram(format!(
                "unknown histogram format {:?}",
                self.format
            )));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&self.data)
            .map_err(|e| SchemaError::Histogram(format!("bad base64: {e}")))?;
        Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| SchemaError::Histogram(format!("{e:?}")))
    }
}

pub use rpcbench_model::{Rpc, Shape, Variant};

/// What each request carries.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Workload {
    pub rpc: Rpc,
    /// Catalogue shape (`small`, `logs`, `mesh`, `nested`, `metrics`, `blob`).
    pub shape: Shape,
    /// Target protobuf-encoded payload size in bytes.
    pub size: u64,
    pub seed: u64,
}

/// TLS on a point's connections (rustls, one version and cipher suite for every variant; see
/// [`WireSettings`]).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    #[default]
    Off,
    On,
}

/// Body compression, the same algorithm and level on client and server.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    #[default]
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub const ALL: [Compression; 3] = [Compression::None, Compression::Gzip, Compression::Zstd];

    /// The token in `Content-Encoding` / `grpc-encoding` (`identity` for none).
    pub fn token(self) -> &'static str {
        match self {
            Compression::None => "identity",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// How connections are used.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionMode {
    /// Connections opened before the warm-up and reused for the whole point.
    #[default]
    Warm,
    /// A new connection (TCP, TLS with a full handshake, HTTP) every N requests of a worker.
    Cold,
}

/// The transport condition a point was measured under: the TLS, compression and connection
/// dimensions of a run. The default is the plain condition (no TLS, no compression, warm).
#[derive(
    Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Condition {
    #[serde(default)]
    pub tls: TlsMode,
    #[serde(default)]
    pub compression: Compression,
    #[serde(default)]
    pub connection: ConnectionMode,
    /// Cold connections only: requests per connection before a new one is opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_connection: Option<u64>,
}

impl Condition {
    /// True for the plain condition every earlier result was measured under.
    pub fn is_plain(&self) -> bool {
        *self == Condition::default()
    }

    /// `tls-on+gzip+cold1`; `plain` for the default condition.
    pub fn label(&self) -> String {
        if self.is_plain() {
            return "plain".into();
        }
        let mut parts = Vec::new();
        if self.tls == TlsMode::On {
            parts.push("tls".to_owned());
        }
        if self.compression != Compression::None {
            parts.push(self.compression.token().to_owned());
        }
        if self.connection == ConnectionMode::Cold {
            parts.push(format!("cold{}", self.requests_per_connection.unwrap_or(1)));
        }
        parts.join("+")
    }
}

/// TLS and compression parameters of a run, identical for every variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WireSettings {
    /// e.g. `TLSv1.3`.
    pub tls_version: String,
    /// e.g. `TLS13_AES_128_GCM_SHA256`.
    pub cipher_suite: String,
    /// e.g. `X25519`.
    pub key_exchange: String,
    /// ALPN protocol per HTTP version.
    pub alpn: BTreeMap<String, String>,
    /// The run's root certificate (relative to the run directory), when TLS was used.
    pub root_certificate: Option<String>,
    /// TLS session resumption (off: a cold connection pays a full handshake).
    pub session_resumption: bool,
    pub gzip_level: u32,
    pub zstd_level: i32,
}

/// How load is offered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "mode", rename_all = "lowercase")]
pub enum LoadMode {
    /// `concurrency` requests in flight over `connections` connections, each sent as soon as
    /// the previous one on its slot completed.
    Closed { connections: u32, concurrency: u32 },
    /// A fixed schedule of `rate_rps` requests per second over `connections` connections;
    /// latency is measured from each request's intended send time.
    Open { connections: u32, rate_rps: f64 },
}

/// Everything that defines one `rpcbench load` execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LoadConfig {
    /// Variant id, e.g. `grpc-proto-h2`.
    pub variant: Variant,
    pub target: String,
    pub workload: Workload,
    #[serde(flatten)]
    pub mode: LoadMode,
    /// Measured phase length (absent when bounded by `requests`).
    pub duration_ns: Option<u64>,
    /// Measured phase request count (absent when bounded by `duration_ns`).
    pub requests: Option<u64>,
    pub warmup_ns: u64,
    pub timeout_ns: u64,
    /// Every n-th response is checked for correctness (echo equality / digest match).
    pub check_every: u64,
    /// TLS, compression and connection mode.
    #[serde(default)]
    pub condition: Condition,
    /// The agreed wall-clock start of the measured phase (`--start-at`), Unix nanoseconds.
    #[serde(default)]
    pub start_at_unix_ns: Option<u64>,
}

pub use rpcbench_model::{ErrorKind, GrpcCode};

/// The exact status behind failed requests, the key they are counted under: an HTTP status, a
/// gRPC code, or, for a failure without a status, its kind. Written (and stored in results) as
/// `http_status:503`, `grpc_status:Unavailable` or the kind's name (`timeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorStatus {
    Http(u16),
    Grpc(GrpcCode),
    /// A failure without a status ([`ErrorKind::HttpStatus`] and [`ErrorKind::GrpcStatus`]
    /// are always counted by their status).
    Kind(ErrorKind),
}

impl ErrorStatus {
    const HTTP: &str = "http_status:";
    const GRPC: &str = "grpc_status:";
}

impl std::fmt::Display for ErrorStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ErrorStatus::Http(code) => write!(f, "{}{code}", Self::HTTP),
            ErrorStatus::Grpc(code) => write!(f, "{}{code}", Self::GRPC),
            ErrorStatus::Kind(kind) => f.write_str(kind.name()),
        }
    }
}

/// An error-status key that is none of the forms [`ErrorStatus`] writes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown error status {0:?} (expected http_status:CODE, grpc_status:NAME or an error kind)")]
pub struct UnknownErrorStatus(pub String);

impl std::str::FromStr for ErrorStatus {
    type Err = UnknownErrorStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownErrorStatus(s.to_owned());
        if let Some(code) = s.strip_prefix(Self::HTTP) {
            return code.parse().map(ErrorStatus::Http).map_err(|_| unknown());
        }
        if let Some(code) = s.strip_prefix(Self::GRPC) {
            return code.parse().map(ErrorStatus::Grpc).map_err(|_| unknown());
        }
        s.parse().map(ErrorStatus::Kind).map_err(|_| unknown())
    }
}

impl Serialize for ErrorStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ErrorStatus {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Where the time and bytes of one load went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LoadSummary {
    /// False when the run stopped early (server died, too many errors, interrupted).
    pub complete: bool,
    pub incomplete_reason: Option<String>,
    /// Requests completed successfully in the measured phase.
    pub ok: u64,
    /// Failed requests by kind, in the measured phase.
    pub errors: BTreeMap<ErrorKind, u64>,
    /// The same failures by exact status: `http_status:503`, `grpc_status:Unavailable`, …
    /// (kinds without a status are counted under their kind's name).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, u64>")]
    pub error_statuses: BTreeMap<ErrorStatus, u64>,
    /// Responses whose content was checked (and found right).
    pub checked: u64,
    pub elapsed_ns: u64,
    pub achieved_rps: f64,
    /// Open loop only: the requested rate.
    pub target_rps: Option<f64>,
    /// Open loop only: requests sent later than their intended time by more than
    /// [`LATE_SEND_THRESHOLD_NS`].
    pub late_sends: Option<u64>,
    /// Open loop only: slots of the measured phase not sent by its end (every connection was
    /// busy, or the server stopped answering). They are counted here, never sent after the
    /// window, so a point ends within its duration plus one request timeout. Stream receivers
    /// (feed, broadcast subscribers): messages due in the window that never arrived (the stream
    /// stalled past the timeout or failed).
    #[serde(default)]
    pub missed_slots: Option<u64>,
    /// Why the point's measurements cannot be used ([`LoadSummary::invalid_reason`]): no request
    /// completed, or more than [`TIMEOUT_SHARE_MAX`] of its requests timed out. `rpcbench load`
    /// then exits non-zero; `rpcbench run` keeps the point, marked, out of every ratio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid: Option<String>,
    /// Completion minus intended send time (open loop only): coordinated-omission corrected.
    pub latency_corrected: Option<LatencyStats>,
    /// Completion minus actual send time: the uncorrected service time.
    pub latency_service: LatencyStats,
    /// Actual minus intended send time (open loop only).
    pub pacer_lag: Option<LatencyStats>,
    /// Open loop only: how late the pacer thread's own timed wake-ups released their slots, the
    /// machine's timer and scheduler floor during this point (no client can send earlier than
    /// it wakes). [`crate::evidence::schedule_kept`] judges the pacer lag against it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pacer_release_late: Option<LatencyStats>,
    /// Open loop only: releases later than [`LATE_SEND_THRESHOLD_NS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_releases: Option<u64>,
    /// Open loop only: whether the pacer thread ran `SCHED_FIFO` (it preempts the client's own
    /// thread on wake-up) or, without the permission, under the fair scheduler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pacer_realtime: Option<bool>,
    /// Client process CPU (user + system) divided by completed requests.
    pub client_cpu_ns_per_request: Option<f64>,
    /// Client process CPU over the measured phase ÷ (elapsed × CPUs the client may use). Near 1:
    /// the load generator itself was saturated, so a closed-loop point measured it too.
    #[serde(default)]
    pub client_cpu_utilization: Option<f64>,
    /// Bytes on the wire per completed request, counted at the client's sockets.
    #[serde(default)]
    pub wire: Option<WireStats>,
    /// Cold connections only: time to open a connection (TCP connect, TLS handshake, HTTP/2
    /// preface), recorded separately from request latency.
    #[serde(default)]
    pub handshake: Option<LatencyStats>,
    /// Connections opened during the measured phase (cold connections).
    #[serde(default)]
    pub connections_opened: Option<u64>,
    /// Wall-clock span of the measured phase on this generator's clock.
    #[serde(default)]
    pub window: Option<MeasuredWindow>,
    /// With `--start-at`: actual start of the measured phase minus the agreed time (ns; positive
    /// = late). Measured on the generator's own clock: clock offsets between hosts add to it.
    #[serde(default)]
    pub start_skew_ns: Option<i64>,
    /// Streaming loads only: per-message figures (`ok` counts messages received, `achieved_rps`
    /// is messages per second, latencies are per message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<StreamSummary>,
    /// The warm-up's requests (or messages): never in the measured histograms or counts, but
    /// counted here, so a server that failed or stalled while warming up is visible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup: Option<WarmupCounts>,
}

/// What happened to the requests (or messages) due during the warm-up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WarmupCounts {
    /// Completed successfully.
    pub ok: u64,
    /// Failed, timeouts included.
    pub failed: u64,
    /// Of `failed`: got no answer within the request timeout.
    pub timed_out: u64,
}

impl WarmupCounts {
    /// Adds another generator's (or worker's) counts.
    pub fn add(&mut self, other: &WarmupCounts) {
        self.ok += other.ok;
        self.failed += other.failed;
        self.timed_out += other.timed_out;
    }
}

/// What a streaming load measured beyond the per-message histograms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StreamSummary {
    /// `feed` (server streaming), `chat` (bidirectional echo) or `broadcast` (1:N).
    pub kind: String,
    /// `grpc`, `ws`, `sse` or `ndjson`.
    pub transport: String,
    /// Streams (feed, chat) or subscribers (broadcast).
    pub streams: u32,
    /// Broadcast: messages published in the measured phase.
    #[serde(default)]
    pub published: Option<u64>,
    /// Broadcast: publish→deliver latency (corrected) of the subscriber with the highest p99.
    #[serde(default)]
    pub slowest_subscriber: Option<LatencyStats>,
    /// Broadcast: the publisher's own call latency (corrected), for reference.
    #[serde(default)]
    pub publish_latency: Option<LatencyStats>,
    /// Server CPU time per message received (per delivered message for a broadcast, publishes
    /// included), when the server's process was known.
    #[serde(default)]
    pub server_cpu_ns_per_message: Option<f64>,
}

/// A wall-clock interval, Unix nanoseconds, end exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MeasuredWindow {
    pub start_unix_ns: u64,
    pub end_unix_ns: u64,
}

impl MeasuredWindow {
    pub fn duration_ns(&self) -> u64 {
        self.end_unix_ns.saturating_sub(self.start_unix_ns)
    }
}

/// A send later than this after its intended time counts as late.
pub const LATE_SEND_THRESHOLD_NS: u64 = 1_000_000;

/// A point whose requests timed out more often than this share (of requests that completed or
/// failed) is invalid: its latencies would describe the timeout, not the server.
pub const TIMEOUT_SHARE_MAX: f64 = 0.01;

impl LoadSummary {
    /// Requests that timed out in the measured phase.
    pub fn timeouts(&self) -> u64 {
        self.errors.get(&ErrorKind::Timeout).copied().unwrap_or(0)
    }

    /// Why a load's measurements cannot be used, or `None`: no request completed, or more than
    /// [`TIMEOUT_SHARE_MAX`] of the requests timed out. The one definition `load`, `run`, `merge`
    /// and the report share.
    pub fn invalid_reason(&self) -> Option<String> {
        let errors: u64 = self.errors.values().sum();
        let timeouts = self.timeouts();
        let missed = self.missed_slots.unwrap_or(0);
        if self.ok == 0 {
            return Some(format!(
                "no request completed in the measured phase ({errors} failed, {timeouts} of them timed out; {missed} scheduled slots missed)"
            ));
        }
        let attempted = self.ok + errors;
        let share = timeouts as f64 / attempted as f64;
        (share > TIMEOUT_SHARE_MAX).then(|| {
            format!(
                "{timeouts} of {attempted} requests timed out ({:.1}%, above the {:.0}% threshold)",
                share * 100.0,
                TIMEOUT_SHARE_MAX * 100.0
            )
        })
    }
}

/// Serialized histograms of one load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LoadHistograms {
    pub corrected: Option<EncodedHistogram>,
    pub service: EncodedHistogram,
    pub pacer_lag: Option<EncodedHistogram>,
    /// Cold connections only: connection set-up times.
    #[serde(default)]
    pub handshake: Option<EncodedHistogram>,
}

/// The `--json` output of `rpcbench load`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LoadReport {
    pub schema_version: u32,
    pub config: LoadConfig,
    pub provenance: Provenance,
    pub summary: LoadSummary,
    pub histograms: LoadHistograms,
    /// Set by `rpcbench merge`: the generators this result combines and their windows.
    #[serde(default)]
    pub merge: Option<crate::merge::MergeRecord>,
}

/// Where and how a result was produced.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Provenance {
    pub rpcbench_version: String,
    pub git_commit: Option<String>,
    pub git_dirty: Option<bool>,
    /// Output of `rustc -vV`.
    pub rustc: Option<String>,
    /// `release`, `debug` or `bench`.
    pub build_profile: String,
    /// x86-64 SIMD target features compiled into this build (`cfg!(target_feature)`): sonic-rs
    /// picks its SIMD path at compile time, so without `avx2` and `pclmulqdq` here the `sonic`
    /// level ran its SSE2 path. Empty in files written before it was recorded.
    #[serde(default)]
    pub compiled_target_features: Vec<String>,
    /// The same features as the CPU reports them at run time (what a `-C target-cpu=native`
    /// build could have used).
    #[serde(default)]
    pub cpu_target_features: Vec<String>,
    pub cpu_model: Option<String>,
    pub cores: u32,
    pub kernel: Option<String>,
    pub hostname: Option<String>,
    /// CPUs the servers were pinned to (absent when unpinned).
    pub server_cpus: Option<Vec<usize>>,
    /// CPUs the load generator was pinned to (absent when unpinned).
    pub client_cpus: Option<Vec<usize>>,
    pub command: Vec<String>,
    /// RFC 3339 UTC.
    pub started_at: String,
    pub finished_at: Option<String>,
}

/// Server-side accounting of one load point, from the server child process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ServerStats {
    /// Server process CPU time (user + system) during the measured phase / completed requests.
    pub cpu_ns_per_request: Option<f64>,
    /// Server process CPU over the measured phase ÷ (elapsed × the server's CPUs). Near 1: the
    /// server was the bottleneck.
    #[serde(default)]
    pub cpu_utilization: Option<f64>,
    /// Peak resident set of the server process (VmHWM) at the end of the point.
    pub peak_rss_bytes: Option<u64>,
    /// Why the server's CPU is not known (a remote target without a readable stats endpoint,
    /// merged generators): the point is marked, never filled with a guess.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_unknown: Option<String>,
}

/// Bytes on the wire per completed request, counted at the client's sockets (HTTP headers and
/// framing included; TCP/IP headers excluded).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WireStats {
    pub request_bytes_per_request: f64,
    pub response_bytes_per_request: f64,
}

/// The kind of load point in a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PointKind {
    /// Closed loop at the scenario's concurrency: the maximum throughput point.
    MaxThroughput,
    /// Open loop at a fixed rate shared by every variant.
    FixedRate { rate_rps: f64 },
    /// Open loop as a fraction of this variant's measured maximum (sweeps).
    Sweep { fraction: f64, rate_rps: f64 },
}

/// One measured point of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PointResult {
    /// Stable id, e.g. `rest-json-h1/echo/small/256B/max/rep0`.
    pub id: String,
    pub variant: Variant,
    pub workload: Workload,
    /// TLS, compression and connection mode (absent in older results: the plain condition).
    #[serde(default)]
    pub condition: Condition,
    pub point: PointKind,
    pub repetition: u32,
    pub load: LoadReport,
    pub server: ServerStats,
    /// `.hgrm` file of the corrected (or, closed loop, service) latency, relative to the run dir.
    pub hgrm_file: Option<String>,
    /// Set when the point failed; its partial measurements are still in `load`.
    pub error: Option<String>,
}

impl PointResult {
    /// The raw measurements [`rpcbench_model::Metric::value`] reads: latency corrected for
    /// coordinated omission where the point has a schedule, else service time.
    pub fn measures(&self) -> rpcbench_model::PointMeasures {
        let s = &self.load.summary;
        let latency = s.latency_corrected.as_ref().unwrap_or(&s.latency_service);
        let pct = |p| latency.get(p).map(|v| v as f64);
        rpcbench_model::PointMeasures {
            latency_p50_ns: pct(Percentile::P50),
            latency_p99_ns: pct(Percentile::P99),
            achieved_rps: s.achieved_rps,
            server_cpu_ns_per_request: self.server.cpu_ns_per_request,
            client_cpu_ns_per_request: s.client_cpu_ns_per_request,
            wire_bytes_per_request: s
                .wire
                .as_ref()
                .map(|w| w.request_bytes_per_request + w.response_bytes_per_request),
        }
    }
}

/// Loopback floor measured on the machine before the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PhysicalFloor {
    /// Round trips of 1-byte messages over one loopback TCP connection with TCP_NODELAY.
    pub tcp_ping_pong: LatencyStats,
}

/// `results.json` of `rpcbench run`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunResults {
    pub schema_version: u32,
    /// Preset name or scenario file.
    pub scenario_name: String,
    /// The scenario exactly as run.
    pub scenario: serde_json::Value,
    pub provenance: Provenance,
    /// Fairness settings applied identically to every server variant.
    pub server_settings: serde_json::Value,
    /// TLS version, cipher suite and compression levels, identical for every variant.
    #[serde(default)]
    pub wire_settings: Option<WireSettings>,
    pub floor: Option<PhysicalFloor>,
    /// The shaped network profile of this run (absent: loopback): configured link, what its
    /// verification measured, the delay line's own CPU and jitter. One run directory (and one
    /// verdict) per network profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<rpcbench_model::NetworkResult>,
    pub points: Vec<PointResult>,
    /// False when the run stopped early; every point measured before that is still here.
    pub complete: bool,
    pub errors: Vec<String>,
}

/// One row of the encoded-size table written by the codec benches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EncodedSize {
    pub shape: String,
    /// Size label as used in bench ids, e.g. `16KiB`.
    pub size_label: String,
    pub target_size: u64,
    pub json_bytes: u64,
    pub protobuf_bytes: u64,
    pub json_gzip_bytes: u64,
    pub protobuf_gzip_bytes: u64,
    pub json_zstd_bytes: u64,
    pub protobuf_zstd_bytes: u64,
    /// The proto3 JSON mapping (`pbjson`): 64-bit integers as strings, defaults left out, the
    /// oneof flattened. Absent in files written before it was measured. (`sonic` writes the
    /// `json` bytes exactly, so it has no columns of its own.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pbjson_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pbjson_gzip_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pbjson_zstd_bytes: Option<u64>,
}

/// `encoded-sizes.json`, written next to criterion's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EncodedSizes {
    pub schema_version: u32,
    pub gzip_level: u32,
    pub zstd_level: i32,
    pub rows: Vec<EncodedSize>,
}

/// Writes `value` as pretty JSON atomically: a temporary file in the same directory, fsync,
/// then rename, so a reader never sees a half-written file and a crash never loses the old one.
pub fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> Result<(), SchemaError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| SchemaError::Parse {
        path: path.into(),
        source: e,
    })?;
    write_atomic(path, &bytes)
}

/// Writes bytes atomically (temporary file + fsync + rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SchemaError> {
    use std::io::Write as _;
    let wrap = |source| SchemaError::Write {
        path: path.into(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(wrap)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(wrap)?;
    tmp.write_all(bytes).map_err(wrap)?;
    tmp.as_file().sync_all().map_err(wrap)?;
    tmp.persist(path).map_err(|e| wrap(e.error))?;
    Ok(())
}

/// Any results document that carries a `schema_version`.
pub trait Versioned: serde::de::DeserializeOwned {
    fn schema_version(&self) -> u32;
}

impl Versioned for RunResults {
    fn schema_version(&self) -> u32 {
        self.schema_version
    }
}
impl Versioned for LoadReport {
    fn schema_version(&self) -> u32 {
        self.schema_version
    }
}
impl Versioned for EncodedSizes {
    fn schema_version(&self) -> u32 {
        self.schema_version
    }
}

/// Reads and version-checks a results document, naming the file in every error.
pub fn read_json<T: Versioned>(path: &Path) -> Result<T, SchemaError> {
    let bytes = std::fs::read(path).map_err(|source| SchemaError::Read {
        path: path.into(),
        source,
    })?;
    // Check the version first so an old file gets the version error, not a field error.
    #[derive(Deserialize)]
    struct Header {
        schema_version: Option<u32>,
    }
    let header: Header = serde_json::from_slice(&bytes).map_err(|source| SchemaError::Parse {
        path: path.into(),
        source,
    })?;
    match header.schema_version {
        Some(SCHEMA_VERSION) => {}
        found => {
            return Err(SchemaError::Version {
                path: path.into(),
                found: found.unwrap_or(0),
                expected: SCHEMA_VERSION,
            });
        }
    }
    serde_json::from_slice(&bytes).map_err(|source| SchemaError::Parse {
        path: path.into(),
        source,
    })
}

/// JSON Schemas of the documents in this module, as committed under `docs/schema/`.
pub fn json_schemas() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        (
            "load-report.schema.json",
            serde_json::to_value(schemars::schema_for!(LoadReport)).expect("schema"),
        ),
        (
            "run-results.schema.json",
            serde_json::to_value(schemars::schema_for!(RunResults)).expect("schema"),
        ),
        (
            "encoded-sizes.schema.json",
            serde_json::to_value(schemars::schema_for!(EncodedSizes)).expect("schema"),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_statuses_keep_their_stored_spelling_and_round_trip() {
        let keys = [
            (ErrorStatus::Http(503), "http_status:503"),
            (
                ErrorStatus::Grpc(GrpcCode::Unavailable),
                "grpc_status:Unavailable",
            ),
            (ErrorStatus::Kind(ErrorKind::Timeout), "timeout"),
            (ErrorStatus::Kind(ErrorKind::WrongAnswer), "wrong_answer"),
        ];
        for (key, text) in keys {
            assert_eq!(key.to_string(), text);
            assert_eq!(text.parse::<ErrorStatus>(), Ok(key));
        }
        let map: BTreeMap<ErrorStatus, u64> = keys.iter().map(|(k, _)| (*k, 1)).collect();
        let json = serde_json::to_string(&map).unwrap();
        assert!(json.contains("\"http_status:503\":1"), "{json}");
        assert_eq!(
            serde_json::from_str::<BTreeMap<ErrorStatus, u64>>(&json).unwrap(),
            map
        );
        for bad in ["http_status:abc", "grpc_status:Nope", "teapot"] {
            assert!(bad.parse::<ErrorStatus>().is_err(), "{bad}");
        }
    }

    #[test]
    fn histogram_round_trips() {
        let mut h = Histogram::<u64>::new_with_bounds(1, HISTOGRAM_MAX_NS, HISTOGRAM_SIGFIG).unwrap();
        for v in [1_000u64, 20_000, 20_500, 5_000_000] {
            h.record(v).unwrap();
        }
        let enc = EncodedHistogram::encode(&h).unwrap();
        let back = enc.decode().unwrap();
        assert_eq!(back, h);
        assert_eq!(
            LatencyStats::from_histogram(&back).get(Percentile::Max),
            Some(h.max())
        );
        let bad = EncodedHistogram {
            data: "!!".into(),
            ..enc
        };
        assert!(bad.decode().is_err());
    }

    #[test]
    fn percentiles_from_too_few_samples_are_withheld() {
        let mut h = Histogram::<u64>::new_with_bounds(1, HISTOGRAM_MAX_NS, HISTOGRAM_SIGFIG).unwrap();
        for v in 1..=999u64 {
            h.record(v * 1_000).unwrap();
        }
        let stats = LatencyStats::from_histogram(&h);
        // 999 samples: the p99 would be the tenth-largest value; it is not shown as a p99.
        assert!(stats.withheld(Percentile::P99));
        assert_eq!(stats.get(Percentile::P99), None);
        assert!(
            stats.percentiles_ns.contains_key(&Percentile::P99),
            "kept for provenance"
        );
        assert!(stats.get(Percentile::P50).is_some() && stats.get(Percentile::Max).is_some());
        h.record(1_000_000).unwrap();
        let stats = LatencyStats::from_histogram(&h);
        assert!(stats.get(Percentile::P99).is_some(), "1,000 samples carry a p99");
        assert_eq!(stats.get(Percentile::P999), None, "but not a p99.9");
    }

    #[test]
    fn percentile_names() {
        let json = serde_json::to_string(&Percentile::ALL).unwrap();
        assert_eq!(json, r#"["p50","p90","p99","p99.9","p99.99","max"]"#);
    }

    #[test]
    fn atomic_write_and_versioned_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sizes.json");
        let doc = EncodedSizes {
            schema_version: SCHEMA_VERSION,
            gzip_level: 6,
            zstd_level: 3,
            rows: vec![],
        };
        write_json_atomic(&path, &doc).unwrap();
        assert_eq!(read_json::<EncodedSizes>(&path).unwrap(), doc);
        std::fs::write(&path, r#"{"schema_version": 99}"#).unwrap();
        assert!(matches!(
            read_json::<EncodedSizes>(&path),
            Err(SchemaError::Version { found: 99, .. })
        ));
        std::fs::write(&path, "{ truncated").unwrap();
        assert!(matches!(
            read_json::<EncodedSizes>(&path),
            Err(SchemaError::Parse { .. })
        ));
        assert!(matches!(
            read_json::<EncodedSizes>(&dir.path().join("nope")),
            Err(SchemaError::Read { .. })
        ));
    }
}
