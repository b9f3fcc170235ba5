//! Synthetic but realistic result sets, for tests and for previewing the report without
//! running anything. Deterministic: the same arguments give the same results.
//!
//! Not measurements: nothing here may ever be written into a real run directory.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use rpcbench_model::{CodecOp, Encoding, HttpVersion, PointId, Shape, Size, Stack, Variant};

use crate::criterion::{Bench, BenchId, ConfidenceInterval, Estimate, Estimates};
use crate::schema::*;

/// What one synthetic load point measured.
#[derive(Debug, Clone, PartialEq)]
pub struct PointSpec {
    pub variant: String,
    pub rpc: Rpc,
    pub shape: String,
    pub size: u64,
    pub kind: PointKind,
    pub repetition: u32,
    /// Median service latency.
    pub p50_ns: f64,
    pub achieved_rps: f64,
    pub server_cpu_ns: f64,
    pub client_cpu_ns: f64,
    pub request_bytes: f64,
    pub response_bytes: f64,
    /// Load generator's CPU utilization (≥ 0.9 with a server < 0.9: client-bound).
    pub client_utilization: f64,
    pub server_utilization: f64,
    /// Open loop: the pacer's lag (every send this late; `None`: 5 µs).
    pub pacer_lag_ns: Option<u64>,
}

impl PointSpec {
    /// A closed-loop point with plausible defaults around `p50_ns`.
    pub fn new(variant: impl ToString, shape: &str, size: u64, kind: PointKind, p50_ns: f64) -> PointSpec {
        PointSpec {
            variant: variant.to_string(),
            rpc: Rpc::Echo,
            shape: shape.into(),
            size,
            kind,
            repetition: 0,
            p50_ns,
            achieved_rps: 2.0e9 / p50_ns,
            server_cpu_ns: p50_ns * 0.4,
            client_cpu_ns: p50_ns * 0.3,
            request_bytes: size as f64 + 120.0,
            response_bytes: size as f64 + 90.0,
            client_utilization: 0.6,
            server_utilization: 0.7,
            pacer_lag_ns: None,
        }
    }
}

/// A tiny deterministic generator (SplitMix64), so the crate needs no `rand`.
struct SplitMix(u64);

impl SplitMix {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn seed_of(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A latency histogram: log-normal body around `p50_ns` and a heavy tail; `tail_factor`
/// stretches the tail (coordinated-omission correction makes it longer).
pub fn latency_histogram(p50_ns: f64, tail_factor: f64, seed: u64, count: u32) -> Histogram<u64> {
    let mut h = Histogram::new_with_bounds(1, HISTOGRAM_MAX_NS, HISTOGRAM_SIGFIG).expect("valid bounds");
    let mut rng = SplitMix(seed);
    for _ in 0..count {
        let u = rng.next_f64().max(1e-12);
        // Inverse CDF of a Pareto-like tail over a log-normal-ish body.
        let body = (-(u.ln()) * 0.25).exp() * 0.9;
        let tail = if u < 0.01 {
            1.0 + tail_factor * ((0.01 / u).powf(0.4) - 1.0)
        } else {
            1.0
        };
        let v = (p50_ns * body * tail).clamp(1.0, HISTOGRAM_MAX_NS as f64) as u64;
        h.record(v).expect("value within bounds");
    }
    h
}

/// One synthetic [`PointResult`].
pub fn point(spec: &PointSpec) -> PointResult {
    let seed = seed_of(&format!("{spec:?}"));
    let service = latency_histogram(spec.p50_ns, 1.5, seed, 20_000);
    let (corrected, rate, mode) = match spec.kind {
        PointKind::MaxThroughput => (
            None,
            None,
            LoadMode::Closed {
                connections: 8,
                concurrency: 32,
            },
        ),
        PointKind::FixedRate { rate_rps } | PointKind::Sweep { rate_rps, .. } => {
            let load = (rate_rps / spec.achieved_rps).clamp(0.0, 0.99);
            let tail = 1.5 + 8.0 * load * load;
            (
                Some(latency_histogram(spec.p50_ns * 1.05, tail, seed ^ 1, 20_000)),
                Some(rate_rps),
                LoadMode::Open {
                    connections: 8,
                    rate_rps,
                },
            )
        }
    };
    let achieved = rate
        .map(|r| r.min(spec.achieved_rps))
        .unwrap_or(spec.achieved_rps);
    let lag = rate.map(|_| {
        let mut h = Histogram::new_with_bounds(1, HISTOGRAM_MAX_NS, HISTOGRAM_SIGFIG).expect("valid bounds");
        let v = spec.pacer_lag_ns.unwrap_or(5_000).max(1);
        h.record_n(v, (achieved * 10.0) as u64)
            .expect("value within bounds");
        h
    });
    let elapsed_ns = 10_000_000_000u64;
    let ok = (achieved * 10.0) as u64;
    let load = match spec.kind {
        PointKind::MaxThroughput => rpcbench_model::LoadLabel::Max,
        PointKind::FixedRate { rate_rps } => rpcbench_model::LoadLabel::rate(rate_rps),
        PointKind::Sweep { fraction, .. } => rpcbench_model::LoadLabel::sweep(fraction),
    };
    let id = PointId {
        variant: spec.variant.parse().expect("a variant of the design"),
        rpc: spec.rpc,
        shape: spec.shape.parse().expect("a catalogue shape"),
        size: Size(spec.size),
        load,
        repetition: spec.repetition,
    }
    .to_string();
    let variant: Variant = spec.variant.parse().expect("a variant of the design");
    let workload = Workload {
        rpc: spec.rpc,
        shape: spec
            .shape
            .parse()
            .expect("a synthetic point's shape is a catalogue shape"),
        size: spec.size,
        seed: 42,
    };
    PointResult {
        hgrm_file: Some(format!("hgrm/{}.hgrm", id.replace('/', "_"))),
        id,
        variant,
        workload: workload.clone(),
        condition: Condition::default(),
        point: spec.kind.clone(),
        repetition: spec.repetition,
        load: LoadReport {
            schema_version: SCHEMA_VERSION,
            config: LoadConfig {
                variant,
                target: "127.0.0.1:40000".into(),
                workload,
                mode,
                duration_ns: Some(elapsed_ns),
                requests: None,
                warmup_ns: 2_000_000_000,
                timeout_ns: 5_000_000_000,
                check_every: 100,
                start_at_unix_ns: None,
                condition: Condition::default(),
            },
            provenance: provenance(),
            summary: LoadSummary {
                complete: true,
                incomplete_reason: None,
                ok,
                errors: BTreeMap::new(),
                error_statuses: BTreeMap::new(),
                checked: ok / 100,
                elapsed_ns,
                achieved_rps: achieved,
                target_rps: rate,
                late_sends: rate.map(|_| {
                    if spec.pacer_lag_ns.unwrap_or(0) > LATE_SEND_THRESHOLD_NS {
                        ok
                    } else {
                        0
                    }
                }),
                missed_slots: rate.map(|_| 0),
                invalid: None,
                latency_corrected: corrected.as_ref().map(LatencyStats::from_histogram),
                latency_service: LatencyStats::from_histogram(&service),
                pacer_lag: lag.as_ref().map(LatencyStats::from_histogram),
                pacer_release_late: None,
                late_releases: None,
                pacer_realtime: None,
                client_cpu_ns_per_request: Some(spec.client_cpu_ns),
                client_cpu_utilization: Some(spec.client_utilization),
                wire: Some(WireStats {
                    request_bytes_per_request: spec.request_bytes,
                    response_bytes_per_request: spec.response_bytes,
                }),
                window: None,
                start_skew_ns: None,
                stream: None,
                handshake: None,
                connections_opened: None,
                warmup: None,
            },
            histograms: LoadHistograms {
                corrected: corrected
                    .as_ref()
                    .map(|h| EncodedHistogram::encode(h).expect("encodes")),
                service: EncodedHistogram::encode(&service).expect("encodes"),
                pacer_lag: lag
                    .as_ref()
                    .map(|h| EncodedHistogram::encode(h).expect("encodes")),
                handshake: None,
            },
            merge: None,
        },
        server: ServerStats {
            cpu_ns_per_request: Some(spec.server_cpu_ns),
            cpu_utilization: Some(spec.server_utilization),
            peak_rss_bytes: Some(24 << 20),
            cpu_unknown: None,
        },
        error: None,
    }
}

/// Provenance of a synthetic run.
pub fn provenance() -> Provenance {
    Provenance {
        rpcbench_version: "0.1.0".into(),
        git_commit: Some("0000000000000000000000000000000000000000".into()),
        git_dirty: Some(false),
        rustc: Some("rustc 1.95.0".into()),
        build_profile: "release".into(),
        compiled_target_features: vec!["sse2".into()],
        cpu_target_features: vec!["sse2".into(), "sse4.2".into(), "avx2".into(), "pclmulqdq".into()],
        cpu_model: Some("Synthetic CPU @ 2.0GHz".into()),
        cores: 2,
        kernel: Some("Linux 6.1".into()),
        hostname: Some("synthetic".into()),
        server_cpus: Some(vec![1]),
        client_cpus: Some(vec![0]),
        command: vec![
            "rpcbench".into(),
            "run".into(),
            "--preset".into(),
            "synthetic".into(),
        ],
        started_at: "2025-01-01T00:00:00Z".into(),
        finished_at: Some("2025-01-01T00:10:00Z".into()),
    }
}

/// Relative cost of each variant compared with `rest-json-h1` (latency, CPU), a plausible
/// picture of loopback measurements: encoding matters most, transport and framework little,
/// the proto3 mapping costs more than idiomatic JSON and sonic-rs a little less.
fn variant_factor(variant: &str, shape: &str) -> f64 {
    let json_penalty = if shape == "mesh" { 1.9 } else { 1.3 };
    let v: Variant = variant.parse().expect("synthetic variants are real ones");
    let mut f = match v.encoding() {
        Encoding::Protobuf => 1.0 / json_penalty,
        Encoding::Json => 1.0,
        Encoding::Pbjson => json_penalty,
        Encoding::Sonic => 0.9,
    };
    if v.http() == HttpVersion::Http2 {
        f *= 0.95;
    }
    if v.stack() == Stack::Grpc {
        f *= 0.9;
    }
    f
}

/// A realistic complete run: every variant, echo of `small` 1KiB and `mesh` 16KiB, closed-loop
/// and one fixed-rate point, three repetitions, a sweep, and the loopback floor.
pub fn run() -> RunResults {
    let mut points = Vec::new();
    let workloads = [("small", 1024u64, 60_000.0), ("mesh", 16384, 180_000.0)];
    for (shape, size, base_ns) in workloads {
        for variant in Variant::NAMES.iter().copied() {
            let f = variant_factor(variant, shape);
            let json = variant.parse::<Variant>().is_ok_and(|v| v.encoding().is_json());
            for rep in 0..3u32 {
                let jitter = 1.0 + 0.03 * (rep as f64 - 1.0);
                let p50 = base_ns * f * jitter;
                for kind in [
                    PointKind::MaxThroughput,
                    PointKind::FixedRate { rate_rps: 2000.0 },
                ] {
                    let mut spec = PointSpec::new(variant, shape, size, kind, p50);
                    spec.repetition = rep;
                    spec.achieved_rps = 3.0e9 / (base_ns * f) * (2.0 - jitter);
                    let body = if json { size as f64 * 1.6 } else { size as f64 };
                    spec.request_bytes = body + if variant.starts_with("grpc") { 40.0 } else { 150.0 };
                    spec.response_bytes = spec.request_bytes - 30.0;
                    points.push(point(&spec));
                }
            }
            if shape == "small" {
                let max = 3.0e9 / (base_ns * f);
                for fraction in [0.25, 0.5, 0.75, 0.9] {
                    let mut spec = PointSpec::new(
                        variant,
                        shape,
                        size,
                        PointKind::Sweep {
                            fraction,
                            rate_rps: max * fraction,
                        },
                        base_ns * f * (1.0 + fraction * fraction),
                    );
                    spec.achieved_rps = max;
                    points.push(point(&spec));
                }
            }
        }
    }
    let floor = latency_histogram(11_000.0, 40.0, 7, 20_000);
    RunResults {
        schema_version: SCHEMA_VERSION,
        scenario_name: "synthetic".into(),
        scenario: serde_json::json!({"preset": "synthetic", "duration": "10s", "repetitions": 3}),
        provenance: provenance(),
        server_settings: serde_json::json!({
            "runtime": "tokio multi-thread", "workers": 1, "allocator": "system",
            "tcp_nodelay": true, "body_limit_bytes": 8388608,
            "h2_initial_stream_window": 1048576, "h2_initial_connection_window": 4194304
        }),
        wire_settings: None,
        floor: Some(PhysicalFloor {
            tcp_ping_pong: LatencyStats::from_histogram(&floor),
        }),
        network: None,
        points,
        complete: true,
        errors: vec![],
    }
}

/// A criterion estimate of `ns` with a ±`rel` confidence interval.
pub fn estimate(ns: f64, rel: f64) -> Estimates {
    let e = Estimate {
        confidence_interval: ConfidenceInterval {
            confidence_level: 0.95,
            lower_bound: ns * (1.0 - rel),
            upper_bound: ns * (1.0 + rel),
        },
        point_estimate: ns,
        standard_error: Some(ns * rel / 2.0),
    };
    Estimates {
        mean: e.clone(),
        median: e,
    }
}

/// A codec bench result.
pub fn codec_bench(op: CodecOp, encoding: Encoding, shape: Shape, size: u64, ns: f64) -> Bench {
    let id = BenchId::Codec {
        op,
        encoding,
        shape,
        size: Size(size),
    };
    let full_id = id.to_string();
    Bench {
        dir: full_id.replace('/', "_").into(),
        id,
        full_id,
        throughput_bytes: Some(size),
        estimates: estimate(ns, 0.02),
    }
}

/// Codec benches for every catalogue shape and size, with JSON slower by a shape-dependent
/// factor that grows with size (float formatting makes `mesh` JSON's worst case).
pub fn codec_benches() -> Vec<Bench> {
    let mut out = Vec::new();
    for shape in Shape::ALL {
        let sizes: &[u64] = if shape == Shape::Small {
            &[128]
        } else {
            &[1024, 16384, 262_144, 1 << 20]
        };
        for &size in sizes {
            let base = 60.0 + size as f64 * 0.35;
            let growth = (size as f64 / 1024.0).log2().max(0.0);
            let (enc_x, dec_x) = match shape {
                Shape::Mesh => (3.5 + growth * 0.55, 4.0 + growth * 0.6),
                Shape::Blob => (2.0, 2.5),
                Shape::Metrics => (2.5 + growth * 0.1, 3.0 + growth * 0.2),
                _ => (1.8 + growth * 0.1, 2.2 + growth * 0.15),
            };
            for (op, x) in [(CodecOp::Encode, enc_x), (CodecOp::Decode, dec_x)] {
                let proto_ns = base * if op == CodecOp::Decode { 1.4 } else { 1.0 };
                out.push(codec_bench(op, Encoding::Protobuf, shape, size, proto_ns));
                out.push(codec_bench(op, Encoding::Json, shape, size, proto_ns * x));
            }
            out.push(codec_bench(
                CodecOp::PopulateEncode,
                Encoding::Protobuf,
                shape,
                size,
                base * 2.2,
            ));
        }
    }
    out.sort_by(|a, b| a.full_id.cmp(&b.full_id));
    out
}

/// The encoded-size table matching [`codec_benches`].
pub fn encoded_sizes() -> EncodedSizes {
    let mut rows = Vec::new();
    for bench in codec_benches() {
        if let BenchId::Codec {
            op: CodecOp::Encode,
            encoding: Encoding::Protobuf,
            shape,
            size,
        } = bench.id
        {
            let json_x = match shape {
                Shape::Mesh => 2.4,
                Shape::Blob => 1.34,
                Shape::Metrics => 2.1,
                _ => 1.5,
            };
            let (size_label, size) = (size.to_string(), size.bytes());
            let json = (size as f64 * json_x) as u64;
            rows.push(EncodedSize {
                shape: shape.name().into(),
                size_label,
                target_size: size,
                json_bytes: json,
                protobuf_bytes: size,
                json_gzip_bytes: json * 3 / 10,
                protobuf_gzip_bytes: size * 4 / 10,
                json_zstd_bytes: json * 27 / 100,
                protobuf_zstd_bytes: size * 38 / 100,
                pbjson_bytes: Some(json * 11 / 10),
                pbjson_gzip_bytes: Some(json * 33 / 100),
                pbjson_zstd_bytes: Some(json * 3 / 10),
            });
        }
    }
    EncodedSizes {
        schema_version: SCHEMA_VERSION,
        gzip_level: 6,
        zstd_level: 3,
        rows,
    }
}

/// Writes `benches` (and `sizes`) as criterion would: `<dir>/<bench dir>/new/benchmark.json`
/// and `estimates.json`, plus `encoded-sizes.json` at the top.
pub fn write_criterion_dir(
    dir: &std::path::Path,
    benches: &[Bench],
    sizes: Option<&EncodedSizes>,
) -> Result<(), SchemaError> {
    for b in benches {
        let new = dir.join(&b.dir).join("new");
        let (group, value) = b.full_id.rsplit_once('/').unwrap_or((&b.full_id, ""));
        let meta = serde_json::json!({
            "group_id": group,
            "function_id": null,
            "value_str": value,
            "throughput": b.throughput_bytes.map(|n| serde_json::json!({ "Bytes": n })),
            "full_id": b.full_id,
            "directory_name": b.dir,
            "title": b.full_id,
        });
        let est = |e: &Estimate| serde_json::to_value(e).expect("serializable");
        let estimates = serde_json::json!({
            "mean": est(&b.estimates.mean),
            "median": est(&b.estimates.median),
            "median_abs_dev": est(&b.estimates.median),
            "slope": est(&b.estimates.mean),
            "std_dev": est(&b.estimates.median),
        });
        write_json_atomic(&new.join("benchmark.json"), &meta)?;
        write_json_atomic(&new.join("estimates.json"), &estimates)?;
    }
    if let Some(sizes) = sizes {
        write_json_atomic(&dir.join(crate::criterion::ENCODED_SIZES_FILE), sizes)?;
    }
    Ok(())
}
