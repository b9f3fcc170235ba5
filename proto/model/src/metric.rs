//! What is measured and compared: one [`Metric`] enum with its unit, its direction of better
//! and how its value is read from a measured point. The regression gate (compare), the evidence
//! behind the verdict and every report sink use it, so a new metric is one edit here that the
//! compiler follows wherever a metric is matched.

use serde::{Deserialize, Serialize};

named_enum! {
    /// A measured quantity. Criterion metrics ([`Metric::Encode`], [`Metric::Decode`],
    /// [`Metric::RoundTrip`]) come from codec benches; the others are read from a load point
    /// ([`Metric::value`]).
    pub enum Metric ("metric") {
        /// Criterion: time to encode one message.
        Encode = "encode",
        /// Criterion: time to decode one message.
        Decode = "decode",
        /// Criterion: one round trip at a time, in process.
        RoundTrip = "round_trip",
        /// Median latency (corrected for coordinated omission where the point has a schedule).
        LatencyP50 = "latency_p50",
        /// 99th percentile latency (corrected for coordinated omission where the point has a
        /// schedule).
        LatencyP99 = "latency_p99",
        /// Achieved requests per second of a closed-loop point.
        MaxThroughput = "max_throughput",
        /// Requests per server core-second (10⁹ ÷ server CPU ns per request): the server's
        /// capacity, whatever the load generator could offer.
        ServerThroughput = "server_throughput",
        /// Server CPU time per request.
        ServerCpu = "server_cpu",
        /// Client (load generator) CPU time per request.
        ClientCpu = "client_cpu",
        /// Request + response bytes on the wire per request.
        WireBytes = "wire_bytes",
    }
}

/// Which direction of a metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    Lower,
    Higher,
}

/// Unit of a metric's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Instructions per call (codec instruction counts; no [`Metric`] of its own).
    Instructions,
    Nanoseconds,
    RequestsPerSecond,
    NanosecondsPerRequest,
    BytesPerRequest,
}

/// The raw measurements of one load point that metrics are read from. The results schema fills
/// it; a metric that needs a new measurement adds a field here, and the compiler then asks every
/// producer for it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PointMeasures {
    /// Median latency in ns (corrected for coordinated omission if the point has a schedule).
    pub latency_p50_ns: Option<f64>,
    /// 99th percentile latency in ns (corrected likewise).
    pub latency_p99_ns: Option<f64>,
    pub achieved_rps: f64,
    pub server_cpu_ns_per_request: Option<f64>,
    pub client_cpu_ns_per_request: Option<f64>,
    /// Request + response bytes on the wire per request, if counted at the socket.
    pub wire_bytes_per_request: Option<f64>,
}

impl Metric {
    /// The end-to-end metrics, in the order reports show them.
    pub const END_TO_END: [Metric; 8] = [
        Metric::LatencyP50,
        Metric::LatencyP99,
        Metric::ServerThroughput,
        Metric::MaxThroughput,
        Metric::ServerCpu,
        Metric::ClientCpu,
        Metric::WireBytes,
        Metric::RoundTrip,
    ];

    /// Label for headings and table rows.
    pub fn label(self) -> &'static str {
        match self {
            Metric::Encode => "encode time",
            Metric::Decode => "decode time",
            Metric::RoundTrip => "round-trip time (criterion)",
            Metric::LatencyP50 => "p50 latency at equal load",
            Metric::LatencyP99 => "p99 latency at equal load",
            Metric::MaxThroughput => "maximum throughput",
            Metric::ServerThroughput => "requests per server core-second",
            Metric::ServerCpu => "server CPU per request",
            Metric::ClientCpu => "client CPU per request",
            Metric::WireBytes => "bytes on the wire per request",
        }
    }

    /// Shorter label for sentences and chart axes.
    pub fn short_label(self) -> &'static str {
        match self {
            Metric::Encode => "encode",
            Metric::Decode => "decode",
            Metric::RoundTrip => "criterion round trip",
            Metric::LatencyP50 => "p50 latency",
            Metric::LatencyP99 => "p99 latency",
            Metric::MaxThroughput => "max throughput",
            Metric::ServerThroughput => "requests/server core-s",
            Metric::ServerCpu => "server CPU/request",
            Metric::ClientCpu => "client CPU/request",
            Metric::WireBytes => "bytes/request",
        }
    }

    pub fn unit(self) -> Unit {
        match self {
            Metric::Encode | Metric::Decode | Metric::RoundTrip | Metric::LatencyP50 | Metric::LatencyP99 => {
                Unit::Nanoseconds
            }
            Metric::MaxThroughput | Metric::ServerThroughput => Unit::RequestsPerSecond,
            Metric::ServerCpu | Metric::ClientCpu => Unit::NanosecondsPerRequest,
            Metric::WireBytes => Unit::BytesPerRequest,
        }
    }

    pub fn better(self) -> Better {
        match self.unit() {
            Unit::RequestsPerSecond => Better::Higher,
            Unit::Instructions | Unit::Nanoseconds | Unit::NanosecondsPerRequest | Unit::BytesPerRequest => {
                Better::Lower
            }
        }
    }

    pub fn higher_is_better(self) -> bool {
        self.better() == Better::Higher
    }

    /// Metrics that say how much *faster* one side is, i.e. what the claim is about.
    pub fn is_speed(self) -> bool {
        match self {
            Metric::Encode
            | Metric::Decode
            | Metric::RoundTrip
            | Metric::LatencyP50
            | Metric::LatencyP99
            | Metric::MaxThroughput
            | Metric::ServerThroughput => true,
            Metric::ServerCpu | Metric::ClientCpu | Metric::WireBytes => false,
        }
    }

    /// This metric's raw value at a load point (ns, req/s or bytes), if the point measured it.
    /// Criterion metrics are never read from a point. Which points may be used for which metric
    /// (schedule kept, server-bound) is the caller's policy, not this function's.
    pub fn value(self, m: &PointMeasures) -> Option<f64> {
        match self {
            Metric::LatencyP50 => m.latency_p50_ns,
            Metric::LatencyP99 => m.latency_p99_ns,
            Metric::MaxThroughput => Some(m.achieved_rps),
            Metric::ServerThroughput => m
                .server_cpu_ns_per_request
                .filter(|ns| *ns > 0.0)
                .map(|ns| 1e9 / ns),
            Metric::ServerCpu => m.server_cpu_ns_per_request,
            Metric::ClientCpu => m.client_cpu_ns_per_request,
            Metric::WireBytes => m.wire_bytes_per_request,
            Metric::Encode | Metric::Decode | Metric::RoundTrip => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_keep_the_schema_2_spelling() {
        for m in Metric::ALL {
            assert_eq!(m.name().parse::<Metric>(), Ok(m));
        }
        // Reports of earlier runs store these names; networks.html reads them back.
        assert_eq!(Metric::LatencyP50.name(), "latency_p50");
        assert_eq!(Metric::WireBytes.name(), "wire_bytes");
    }

    #[test]
    fn throughputs_are_the_only_higher_is_better_metrics() {
        let higher: Vec<Metric> = Metric::ALL.into_iter().filter(|m| m.higher_is_better()).collect();
        assert_eq!(higher, [Metric::MaxThroughput, Metric::ServerThroughput]);
    }

    #[test]
    fn values_are_read_from_the_named_measurement() {
        let m = PointMeasures {
            latency_p50_ns: Some(10.0),
            latency_p99_ns: Some(20.0),
            achieved_rps: 1000.0,
            server_cpu_ns_per_request: Some(250_000.0),
            client_cpu_ns_per_request: Some(5.0),
            wire_bytes_per_request: Some(300.0),
        };
        assert_eq!(Metric::LatencyP50.value(&m), Some(10.0));
        assert_eq!(Metric::LatencyP99.value(&m), Some(20.0));
        assert_eq!(Metric::MaxThroughput.value(&m), Some(1000.0));
        assert_eq!(Metric::ServerThroughput.value(&m), Some(4000.0));
        assert_eq!(Metric::ServerCpu.value(&m), Some(250_000.0));
        assert_eq!(Metric::ClientCpu.value(&m), Some(5.0));
        assert_eq!(Metric::WireBytes.value(&m), Some(300.0));
        assert_eq!(Metric::Encode.value(&m), None);
        let no_cpu = PointMeasures {
            server_cpu_ns_per_request: Some(0.0),
            ..m
        };
        assert_eq!(Metric::ServerThroughput.value(&no_cpu), None);
    }
}
