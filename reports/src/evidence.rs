//! Ratios between two sides of a comparison, each with its spread and its source point.
//!
//! Every ratio is oriented the same way: **above 1 means the protobuf / gRPC side is better**.
//! For costs (time, latency, CPU, bytes) that is `baseline ÷ candidate`; for throughput it is
//! `candidate ÷ baseline`. The spread is criterion's confidence interval for codec benches and
//! the min–max over repetitions for load points (conservatively: the extreme baseline repetition
//! against the opposite extreme candidate repetition).
//!
//! Everything here is a pure function of typed inputs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use rpcbench_model::{CodecOp, Encoding, Metric, Shape, Size, Variant};

use crate::criterion::{Bench, BenchId};
use crate::format;
use crate::schema::{Percentile, PointKind, PointResult, Rpc};

/// The claim's REST variant.
pub const REST: Variant = Variant::CLAIM_REST;
/// The claim's gRPC variant.
pub const GRPC: Variant = Variant::CLAIM_GRPC;

/// How the spread of a ratio was obtained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Spread {
    /// From criterion's bootstrap confidence intervals of both sides (`level` e.g. 0.95).
    ConfidenceInterval { level: f64 },
    /// Min–max over repetitions; one repetition per side means no spread is known.
    RepetitionRange { baseline_n: usize, candidate_n: usize },
    /// Three or more repetitions a side: Welch's confidence interval of the difference of mean
    /// logarithms, i.e. of the ratio of geometric means (the ratio is that geometric-mean ratio).
    RepetitionCi {
        level: f64,
        baseline_n: usize,
        candidate_n: usize,
    },
}

impl Spread {
    pub fn describe(&self) -> String {
        match self {
            Spread::ConfidenceInterval { level } => format!("{}% CI", (level * 1000.0).round() / 10.0),
            Spread::RepetitionRange {
                baseline_n: 1,
                candidate_n: 1,
            } => "single repetition, spread unknown".into(),
            Spread::RepetitionRange {
                baseline_n,
                candidate_n,
            } => {
                format!("min–max of {baseline_n}×{candidate_n} repetitions")
            }
            Spread::RepetitionCi {
                level,
                baseline_n,
                candidate_n,
            } => format!(
                "{}% CI of {baseline_n}×{candidate_n} repetitions",
                (level * 1000.0).round() / 10.0
            ),
        }
    }

    /// Whether there is an interval at all (more than one value on each side).
    pub fn has_interval(&self) -> bool {
        match self {
            Spread::ConfidenceInterval { .. } => true,
            Spread::RepetitionRange {
                baseline_n,
                candidate_n,
            }
            | Spread::RepetitionCi {
                baseline_n,
                candidate_n,
                ..
            } => *baseline_n >= 2 && *candidate_n >= 2,
        }
    }
}

/// The load at which a load-point ratio was measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LoadPoint {
    MaxThroughput,
    FixedRate { rate_rps: f64 },
}

impl LoadPoint {
    pub fn describe(&self) -> String {
        match self {
            LoadPoint::MaxThroughput => "closed loop (max throughput)".into(),
            LoadPoint::FixedRate { rate_rps } => format!("at {}", format::rate(*rate_rps)),
        }
    }
}

/// Where a ratio comes from: the two sides and the point measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    /// Variant id (load points, round trips) or `json` (codec benches).
    pub baseline: String,
    /// Variant id (load points, round trips) or `protobuf` (codec benches).
    pub candidate: String,
    pub rpc: Option<Rpc>,
    pub shape: Shape,
    pub size_label: String,
    /// Load points only.
    pub load: Option<LoadPoint>,
}

impl Source {
    /// `decode mesh 16KiB`, `echo small 1KiB at 1000 req/s, rest-json-h1 vs grpc-proto-h2`.
    pub fn describe(&self, metric: Metric) -> String {
        let mut s = String::new();
        if let Some(rpc) = self.rpc {
            s.push_str(rpc.name());
            s.push(' ');
        }
        s.push_str(self.shape.name());
        s.push(' ');
        s.push_str(&self.size_label);
        if let Some(load) = &self.load
            && !(metric == Metric::MaxThroughput && *load == LoadPoint::MaxThroughput)
        {
            s.push(' ');
            s.push_str(&load.describe());
        }
        s.push_str(&format!(", {} vs {}", self.baseline, self.candidate));
        s
    }

    pub fn size_bytes(&self) -> u64 {
        self.size_label.parse::<Size>().map_or(u64::MAX, Size::bytes)
    }
}

/// One ratio with its spread and source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ratio {
    pub metric: Metric,
    /// Above 1: the candidate (protobuf / gRPC side) is better.
    pub value: f64,
    pub low: f64,
    pub high: f64,
    pub spread: Spread,
    pub source: Source,
    /// The baseline's typical raw value (ns, req/s or bytes).
    pub baseline_value: f64,
    /// The candidate's typical raw value (ns, req/s or bytes).
    pub candidate_value: f64,
}

impl Ratio {
    /// `[1.2–1.4, 95% CI]` or `[single repetition, spread unknown]`.
    pub fn spread_text(&self) -> String {
        match self.spread {
            Spread::RepetitionRange {
                baseline_n: 1,
                candidate_n: 1,
            } => format!("[{}]", self.spread.describe()),
            _ => format!("[{}, {}]", self.bounds_text(), self.spread.describe()),
        }
    }

    /// `8.1–8.8`, with a third digit when two would print the same bound twice.
    pub fn bounds_text(&self) -> String {
        let (lo, hi) = (format::sig2(self.low), format::sig2(self.high));
        if lo == hi {
            format!("{}–{}", format::sig3(self.low), format::sig3(self.high))
        } else {
            format!("{lo}–{hi}")
        }
    }

    /// `8.4x [8.1–8.8]`, or `1.2x [n=1]` for a single repetition: the spread without its kind, for sentences next to a table that
    /// names it.
    pub fn compact_text(&self) -> String {
        match self.spread {
            Spread::RepetitionRange {
                baseline_n: 1,
                candidate_n: 1,
            } => format!("{} [n=1]", format::ratio(self.value)),
            _ => format!("{} [{}]", format::ratio(self.value), self.bounds_text()),
        }
    }

    /// `8.4x [8.1–8.8, 95% CI]`.
    pub fn text(&self) -> String {
        format!("{} {}", format::ratio(self.value), self.spread_text())
    }

    /// `8.4x [8.1–8.8, 95% CI] (decode mesh 16KiB, json vs protobuf)`.
    pub fn text_with_source(&self) -> String {
        format!("{} ({})", self.text(), self.source.describe(self.metric))
    }
}

/// A measured value with its repetition range.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Sample {
    typical: f64,
    min: f64,
    max: f64,
    n: usize,
}

/// Level of the repetition confidence intervals.
pub const REPETITION_CI_LEVEL: f64 = 0.95;

/// The ratio of two sets of repetitions: with three or more a side, the geometric-mean ratio
/// and Welch's interval on the logarithms; otherwise the median ratio and the min–max range.
fn repetition_ratio(metric: Metric, base: &[f64], cand: &[f64], source: Source) -> Option<Ratio> {
    let clean = |v: &[f64]| -> Vec<f64> { v.iter().copied().filter(|x| x.is_finite() && *x > 0.0).collect() };
    let (base, cand) = (clean(base), clean(cand));
    let (b, c) = (
        Sample::of(base.iter().copied())?,
        Sample::of(cand.iter().copied())?,
    );
    if base.len() >= 3 && cand.len() >= 3 {
        let logs = |v: &[f64]| -> Vec<f64> { v.iter().map(|x| x.ln()).collect() };
        // Oriented so that above 1 favours the candidate.
        let (better, worse) = if metric.higher_is_better() {
            (logs(&cand), logs(&base))
        } else {
            (logs(&base), logs(&cand))
        };
        let w = crate::stats::welch(&worse, &better)?;
        let (lo, hi) = w.ci(REPETITION_CI_LEVEL);
        return Some(Ratio {
            metric,
            value: w.diff.exp(),
            low: lo.exp(),
            high: hi.exp(),
            spread: Spread::RepetitionCi {
                level: REPETITION_CI_LEVEL,
                baseline_n: b.n,
                candidate_n: c.n,
            },
            source,
            baseline_value: b.typical,
            candidate_value: c.typical,
        });
    }
    let spread = Spread::RepetitionRange {
        baseline_n: b.n,
        candidate_n: c.n,
    };
    Some(ratio_of(metric, b, c, spread, source))
}

impl Sample {
    /// Median of the finite, positive values; `None` when there are none.
    fn of(values: impl IntoIterator<Item = f64>) -> Option<Sample> {
        let v: Vec<f64> = values.into_iter().filter(|x| x.is_finite() && *x > 0.0).collect();
        let (typical, min, max) = crate::stats::median_min_max(v.iter().copied())?;
        Some(Sample {
            typical,
            min,
            max,
            n: v.len(),
        })
    }
}

fn ratio_of(metric: Metric, base: Sample, cand: Sample, spread: Spread, source: Source) -> Ratio {
    let (value, low, high) = if metric.higher_is_better() {
        (
            cand.typical / base.typical,
            cand.min / base.max,
            cand.max / base.min,
        )
    } else {
        (
            base.typical / cand.typical,
            base.min / cand.max,
            base.max / cand.min,
        )
    };
    Ratio {
        metric,
        value,
        low,
        high,
        spread,
        source,
        baseline_value: base.typical,
        candidate_value: cand.typical,
    }
}

fn ci_ratio(metric: Metric, base: &Bench, cand: &Bench, source: Source) -> Ratio {
    let (b, c) = (base.typical(), cand.typical());
    let sample = |e: &crate::criterion::Estimate| Sample {
        typical: e.point_estimate,
        min: e.confidence_interval.lower_bound,
        max: e.confidence_interval.upper_bound,
        n: 1,
    };
    let level = b
        .confidence_interval
        .confidence_level
        .min(c.confidence_interval.confidence_level);
    ratio_of(
        metric,
        sample(b),
        sample(c),
        Spread::ConfidenceInterval { level },
        source,
    )
}

/// JSON ÷ protobuf time for every codec bench (encode, decode) that has both encodings.
/// Returns the ratios and a note for every bench without its counterpart.
pub fn codec_speedups<'a>(benches: impl IntoIterator<Item = &'a Bench>) -> (Vec<Ratio>, Vec<String>) {
    type Key = (CodecOp, Shape, Size);
    let mut by_key: BTreeMap<Key, [Option<&Bench>; 2]> = BTreeMap::new();
    for b in benches {
        if let BenchId::Codec {
            op,
            encoding,
            shape,
            size,
        } = b.id
        {
            // The claim's two encodings; the other JSON levels have no ratio here yet.
            let side = match encoding {
                Encoding::Json => 0,
                Encoding::Protobuf => 1,
                Encoding::Pbjson | Encoding::Sonic => continue,
            };
            if op == CodecOp::PopulateEncode {
                continue;
            }
            by_key.entry((op, shape, size)).or_default()[side] = Some(b);
        }
    }
    let mut ratios = Vec::new();
    let mut missing = Vec::new();
    for ((op, shape, size), [json, proto]) in by_key {
        let metric = match op {
            CodecOp::Encode | CodecOp::PopulateEncode => Metric::Encode,
            CodecOp::Decode => Metric::Decode,
        };
        match (json, proto) {
            (Some(j), Some(p)) => ratios.push(ci_ratio(
                metric,
                j,
                p,
                Source {
                    baseline: Encoding::Json.name().into(),
                    candidate: Encoding::Protobuf.name().into(),
                    rpc: None,
                    shape,
                    size_label: size.to_string(),
                    load: None,
                },
            )),
            (Some(only), None) | (None, Some(only)) => missing.push(format!(
                "{}: no counterpart in the other encoding, no ratio",
                only.full_id
            )),
            (None, None) => {}
        }
    }
    (ratios, missing)
}

/// Round-trip ratios from criterion `rtt/` benches between two variants.
pub fn round_trip_ratios<'a>(
    benches: impl IntoIterator<Item = &'a Bench>,
    baseline: &str,
    candidate: &str,
) -> Vec<Ratio> {
    type Key = (Rpc, Shape, Size);
    let mut by_key: BTreeMap<Key, [Option<&Bench>; 2]> = BTreeMap::new();
    for b in benches {
        if let BenchId::RoundTrip {
            variant,
            rpc,
            shape,
            size,
        } = b.id
        {
            let side = if variant.name() == baseline {
                0
            } else if variant.name() == candidate {
                1
            } else {
                continue;
            };
            by_key.entry((rpc, shape, size)).or_default()[side] = Some(b);
        }
    }
    by_key
        .into_iter()
        .filter_map(|((rpc, shape, size), [b, c])| {
            Some(ci_ratio(
                Metric::RoundTrip,
                b?,
                c?,
                Source {
                    baseline: baseline.into(),
                    candidate: candidate.into(),
                    rpc: Some(rpc),
                    shape,
                    size_label: size.to_string(),
                    load: None,
                },
            ))
        })
        .collect()
}

/// A load point's key: the workload without its seed, and the load.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkloadKey {
    pub rpc: Rpc,
    pub shape: Shape,
    pub size: u64,
}

impl WorkloadKey {
    pub fn of(p: &PointResult) -> WorkloadKey {
        WorkloadKey {
            rpc: p.workload.rpc,
            shape: p.workload.shape,
            size: p.workload.size,
        }
    }

    /// `echo small 1KiB`.
    pub fn label(&self) -> String {
        format!("{} {} {}", self.rpc, self.shape, Size(self.size))
    }
}

/// Load kinds that ratios are taken at. Sweeps are fractions of each variant's own maximum,
/// so they are not an equal load and never enter a ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LoadKey {
    Max,
    /// Rate in milli-requests per second, so the key is exact.
    Fixed(u64),
}

impl LoadKey {
    pub fn of(kind: &PointKind) -> Option<LoadKey> {
        match kind {
            PointKind::MaxThroughput => Some(LoadKey::Max),
            PointKind::FixedRate { rate_rps } => Some(LoadKey::Fixed((rate_rps * 1000.0).round() as u64)),
            PointKind::Sweep { .. } => None,
        }
    }

    pub fn load_point(self) -> LoadPoint {
        match self {
            LoadKey::Max => LoadPoint::MaxThroughput,
            LoadKey::Fixed(milli) => LoadPoint::FixedRate {
                rate_rps: milli as f64 / 1000.0,
            },
        }
    }
}

/// Whether a point's measurements can be used: it did not fail, completed requests and is not
/// invalid ([`crate::LoadSummary::invalid_reason`]: too many timeouts; the reason is checked
/// again here, so results written before the field existed are judged alike).
pub fn is_usable(p: &PointResult) -> bool {
    p.error.is_none() && p.load.summary.ok > 0 && invalid_reason(p).is_none()
}

/// Why a point is invalid (no request completed, or too many timed out), if it is.
pub fn invalid_reason(p: &PointResult) -> Option<String> {
    let s = &p.load.summary;
    s.invalid.clone().or_else(|| s.invalid_reason())
}

/// A closed-loop point is client-bound when the load generator was at least this busy…
pub const CLIENT_BOUND_CLIENT_MIN: f64 = 0.9;
/// …while the server was less busy than this: the point measured the generator, not the server.
pub const CLIENT_BOUND_SERVER_MAX: f64 = 0.9;
/// An open-loop point kept its schedule when its pacer-lag p99 is at most this above
/// [`MACHINE_FLOOR_WAKEUPS`] times the p99 of the pacer thread's own release lateness (the
/// machine's timer floor during the point; 0 when not recorded)…
pub const SCHEDULE_LAG_P99_MAX_NS: u64 = 100_000;
/// …and at most this share of its sends, above [`MACHINE_FLOOR_WAKEUPS`] times the share of late
/// releases, were late by more than [`crate::schema::LATE_SEND_THRESHOLD_NS`].
pub const SCHEDULE_LATE_SHARE_MAX: f64 = 0.001;
/// A send waits on two timed wake-ups in a row — the pacer thread's, then the client runtime's
/// thread — and each meets the machine's timer floor: the lag the machine alone allows is this
/// many times the pacer's own lateness. On a VM whose `clock_nanosleep` wakes 2–4 ms late at p99
/// no client keeps a 100 µs p99; a point is marked only when the client adds lag of its own.
pub const MACHINE_FLOOR_WAKEUPS: u64 = 2;

/// Why a point's value does not enter a ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    /// Closed loop: client ≥ 90% busy, server < 90% busy; its throughput is the generator's.
    ClientBound,
    /// Open loop: the pacer did not keep the schedule; its latencies are the client's.
    ScheduleSlipped,
}

impl Exclusion {
    pub fn describe(self) -> String {
        match self {
            Exclusion::ClientBound => format!(
                "client-bound (load generator ≥ {:.0}% busy while the server was < {:.0}%): its maximum throughput measured the generator and decides nothing",
                CLIENT_BOUND_CLIENT_MIN * 100.0,
                CLIENT_BOUND_SERVER_MAX * 100.0
            ),
            Exclusion::ScheduleSlipped => format!(
                "schedule not kept (pacer-lag p99 > {} µs above {}× the machine's timer floor, or more than {}% of sends late by > {} ms beyond it or missed at the window's end): its latencies are left out",
                SCHEDULE_LAG_P99_MAX_NS / 1_000,
                MACHINE_FLOOR_WAKEUPS,
                SCHEDULE_LATE_SHARE_MAX * 100.0,
                crate::schema::LATE_SEND_THRESHOLD_NS / 1_000_000
            ),
        }
    }
}

/// Whether a closed-loop point measured the load generator rather than the server.
pub fn client_bound(p: &PointResult) -> bool {
    p.point == PointKind::MaxThroughput
        && p.load
            .summary
            .client_cpu_utilization
            .is_some_and(|c| c >= CLIENT_BOUND_CLIENT_MIN)
        && p.server
            .cpu_utilization
            .is_none_or(|s| s < CLIENT_BOUND_SERVER_MAX)
}

/// Whether an open-loop point kept its schedule (closed-loop points have none to keep).
pub fn schedule_kept(p: &PointResult) -> bool {
    let s = &p.load.summary;
    let Some(lag) = &s.pacer_lag else {
        return true;
    };
    let floor = s
        .pacer_release_late
        .as_ref()
        .and_then(|f| f.percentiles_ns.get(&Percentile::P99).copied())
        .unwrap_or(0);
    let p99_ok = lag
        .percentiles_ns
        .get(&Percentile::P99)
        .is_some_and(|v| *v <= SCHEDULE_LAG_P99_MAX_NS + MACHINE_FLOOR_WAKEUPS * floor);
    // A slot missed at the window's end is a send later than any late one.
    let missed = s.missed_slots.unwrap_or(0);
    let late = (s.late_sends.unwrap_or(0) + missed) as f64;
    let sent = (s.ok + s.errors.values().sum::<u64>() + missed).max(1) as f64;
    let floor_share = match (&s.pacer_release_late, s.late_releases) {
        (Some(f), Some(late)) if f.count > 0 => late as f64 / f.count as f64,
        _ => 0.0,
    };
    p99_ok && late / sent <= SCHEDULE_LATE_SHARE_MAX + MACHINE_FLOOR_WAKEUPS as f64 * floor_share
}

/// What, if anything, keeps a point out of the ratios of some metrics.
pub fn exclusion(p: &PointResult) -> Option<Exclusion> {
    if client_bound(p) {
        Some(Exclusion::ClientBound)
    } else if !schedule_kept(p) {
        Some(Exclusion::ScheduleSlipped)
    } else {
        None
    }
}

/// Raw value of `metric` at one point, if measured and valid: no latency from a point whose
/// schedule slipped, no maximum throughput from a client-bound point, no percentile from too
/// few samples ([`Percentile::min_samples`]).
pub fn point_value(p: &PointResult, metric: Metric) -> Option<f64> {
    match (exclusion(p), metric) {
        (Some(Exclusion::ClientBound), Metric::MaxThroughput)
        | (Some(Exclusion::ScheduleSlipped), Metric::LatencyP50 | Metric::LatencyP99) => return None,
        _ => {}
    }
    metric.value(&p.measures())
}

/// Usable points grouped by variant, workload and load; repetitions together.
pub type PointIndex<'a> = BTreeMap<(Variant, WorkloadKey, LoadKey), Vec<&'a PointResult>>;

pub fn index_points(points: &[PointResult]) -> PointIndex<'_> {
    let mut idx: PointIndex<'_> = BTreeMap::new();
    for p in points.iter().filter(|p| is_usable(p)) {
        if let Some(load) = LoadKey::of(&p.point) {
            idx.entry((p.variant, WorkloadKey::of(p), load))
                .or_default()
                .push(p);
        }
    }
    idx
}

/// Which metrics a load kind yields. Latencies only at a fixed rate (equal offered load for
/// every variant); throughput only closed loop; CPU and bytes from the closed-loop point, or
/// from fixed-rate points for workloads that have no closed-loop point.
fn metrics_at(load: LoadKey, workload_has_max: bool) -> &'static [Metric] {
    match (load, workload_has_max) {
        (LoadKey::Max, _) => &[
            Metric::MaxThroughput,
            Metric::ServerThroughput,
            Metric::ServerCpu,
            Metric::ClientCpu,
            Metric::WireBytes,
        ],
        (LoadKey::Fixed(_), true) => &[Metric::LatencyP50, Metric::LatencyP99, Metric::ServerThroughput],
        (LoadKey::Fixed(_), false) => &[
            Metric::LatencyP50,
            Metric::LatencyP99,
            Metric::ServerThroughput,
            Metric::ServerCpu,
            Metric::ClientCpu,
            Metric::WireBytes,
        ],
    }
}

/// Every end-to-end ratio between two variants, over all workloads and loads both measured.
pub fn pair_ratios(points: &[PointResult], baseline: Variant, candidate: Variant) -> Vec<Ratio> {
    pair_ratios_indexed(&index_points(points), baseline, candidate)
}

pub fn pair_ratios_indexed(idx: &PointIndex<'_>, baseline: Variant, candidate: Variant) -> Vec<Ratio> {
    let mut out = Vec::new();
    for ((variant, workload, load), base_points) in idx {
        if *variant != baseline {
            continue;
        }
        let Some(cand_points) = idx.get(&(candidate, workload.clone(), *load)) else {
            continue;
        };
        let has_max = idx.contains_key(&(baseline, workload.clone(), LoadKey::Max))
            && idx.contains_key(&(candidate, workload.clone(), LoadKey::Max));
        for &metric in metrics_at(*load, has_max) {
            let b: Vec<f64> = base_points
                .iter()
                .filter_map(|p| point_value(p, metric))
                .collect();
            let c: Vec<f64> = cand_points
                .iter()
                .filter_map(|p| point_value(p, metric))
                .collect();
            let source = Source {
                baseline: baseline.to_string(),
                candidate: candidate.to_string(),
                rpc: Some(workload.rpc),
                shape: workload.shape,
                size_label: Size(workload.size).to_string(),
                load: Some(load.load_point()),
            };
            out.extend(repetition_ratio(metric, &b, &c, source));
        }
    }
    out
}

/// One named comparison of the factorial design.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Effect {
    pub name: String,
    /// `total`, or the one factor the pair differs in (`json library`, `encoding`, `transport`,
    /// `framework`).
    pub factor: &'static str,
    pub baseline: Variant,
    pub candidate: Variant,
}

impl Effect {
    /// The claim's total comparison.
    pub fn total() -> Effect {
        Effect {
            name: "total (the claim: REST vs gRPC)".into(),
            factor: "total",
            baseline: REST,
            candidate: GRPC,
        }
    }

    fn of(pair: rpcbench_model::Pair) -> Effect {
        Effect {
            name: pair.name(),
            factor: pair.factor.name(),
            baseline: pair.baseline,
            candidate: pair.candidate,
        }
    }

    /// The single-factor steps from the claim's REST to its gRPC (encoding, then transport, then
    /// framework); their ratios multiply exactly to the total's.
    pub fn chain() -> Vec<Effect> {
        Variant::chain(Variant::CLAIM_REST, Variant::CLAIM_GRPC)
            .unwrap_or_default()
            .into_iter()
            .map(Effect::of)
            .collect()
    }

    /// Every comparison the report shows: the total, its chain, then every other pair of
    /// variants that differ in exactly one factor.
    pub fn all() -> Vec<Effect> {
        let mut out = vec![Effect::total()];
        out.extend(Effect::chain());
        for e in Variant::pairs().into_iter().map(Effect::of) {
            if !out.contains(&e) {
                out.push(e);
            }
        }
        out
    }
}

/// The ratios of one effect.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EffectRatios {
    pub effect: Effect,
    pub ratios: Vec<Ratio>,
}

/// Every effect's ratios; effects with no data at all are left out.
pub fn effects(points: &[PointResult]) -> Vec<EffectRatios> {
    let idx = index_points(points);
    Effect::all()
        .into_iter()
        .map(|effect| EffectRatios {
            ratios: pair_ratios_indexed(&idx, effect.baseline, effect.candidate),
            effect,
        })
        .filter(|e| !e.ratios.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effects_are_the_total_its_chain_and_the_other_single_factor_pairs() {
        let names: Vec<String> = Effect::all().into_iter().map(|e| e.name).collect();
        assert_eq!(
            names,
            [
                "total (the claim: REST vs gRPC)",
                "encoding (REST, HTTP/1.1)",
                "transport (REST protobuf, h1 → h2)",
                "framework (protobuf, axum → tonic)",
                "JSON library (REST, HTTP/1.1, pbjson → json)",
                "JSON library (REST, HTTP/1.1, json → sonic)",
                "encoding (REST, HTTP/2)",
                "encoding (inside gRPC)",
                "transport (REST JSON, h1 → h2)",
                "framework (JSON, axum → tonic)",
            ]
        );
    }

    #[test]
    fn sample_median_and_range() {
        let s = Sample::of([3.0, 1.0, 2.0, f64::NAN, 0.0]).unwrap();
        assert_eq!((s.typical, s.min, s.max, s.n), (2.0, 1.0, 3.0, 3));
        assert_eq!(Sample::of([4.0, 2.0]).unwrap().typical, 3.0);
        assert!(Sample::of([]).is_none());
    }

    #[test]
    fn ratios_are_oriented_so_above_one_favours_the_candidate() {
        let src = Source {
            baseline: REST.to_string(),
            candidate: GRPC.to_string(),
            rpc: Some(Rpc::Echo),
            shape: Shape::Small,
            size_label: "1KiB".into(),
            load: Some(LoadPoint::MaxThroughput),
        };
        let s = |t, lo, hi| Sample {
            typical: t,
            min: lo,
            max: hi,
            n: 3,
        };
        let spread = Spread::RepetitionRange {
            baseline_n: 3,
            candidate_n: 3,
        };
        let cpu = ratio_of(
            Metric::ServerCpu,
            s(20.0, 19.0, 21.0),
            s(10.0, 9.0, 11.0),
            spread.clone(),
            src.clone(),
        );
        assert_eq!(cpu.value, 2.0);
        assert!((cpu.low - 19.0 / 11.0).abs() < 1e-12 && (cpu.high - 21.0 / 9.0).abs() < 1e-12);
        let thr = ratio_of(
            Metric::MaxThroughput,
            s(1000.0, 900.0, 1100.0),
            s(3000.0, 2900.0, 3100.0),
            spread,
            src,
        );
        assert_eq!(thr.value, 3.0);
        assert!(thr.low < thr.value && thr.value < thr.high);
        assert_eq!(
            thr.text_with_source(),
            "3.0x [2.6–3.4, min–max of 3×3 repetitions] (echo small 1KiB, rest-json-h1 vs grpc-proto-h2)"
        );
    }
}
