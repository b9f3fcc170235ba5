//! `rpcbench compare`: the regression verdict between two result sets.
//!
//! The design decision to know: **the unit of replication is the run (or repetition), never
//! the request.** Millions of latency samples inside one run share that run's machine state, so
//! they say nothing about run-to-run noise; comparing them directly would flag every A/A pair on
//! a shared machine. End-to-end metrics are therefore one value per replicate (a run, or a
//! repetition inside a run), and a side needs at least two replicates. Instruction counts are
//! exact and need no test; criterion's raw samples are the replicates of a codec time.
//!
//! The rule, per metric: the change is `current / base − 1`. Sampled metrics (end-to-end, and
//! criterion times) get Welch's t-test on log values, Holm–Bonferroni-adjusted over all sampled
//! metrics compared (family-wise error rate `alpha`), and a Bonferroni-simultaneous confidence
//! interval at level `1 − alpha/m`. A metric is *regressed* (or *improved*) only when it is
//! significant after adjustment **and** its whole interval lies beyond the threshold in the
//! worse (better) direction. Instruction counts are exact: identical counts are unchanged, and
//! a change beyond the threshold counts (when a side holds several count files, the interval is
//! the range of their ratios).

mod input;
mod markdown;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use input::{
    CompareError, LoadedCriterion, LoadedInstructions, LoadedRun, ResultSet, Side, load_result_set,
};
pub use markdown::{calibration_markdown, comparison_markdown};

use crate::format;
use crate::schema::{
    PointKind, PointResult, Provenance, SCHEMA_VERSION, Versioned, write_atomic, write_json_atomic,
};
use crate::stats;
use rpcbench_model::{Metric, Variant};

/// File name of the instruction-count results written by `benches/codec_instructions.rs`.
pub const INSTRUCTIONS_FILE: &str = "instructions.json";
/// Outputs of a comparison.
pub const COMPARE_MD: &str = "compare.md";
pub const COMPARE_JSON: &str = "compare.json";
/// Outputs of a calibration.
pub const CALIBRATE_MD: &str = "calibrate.md";
pub const CALIBRATE_JSON: &str = "calibrate.json";

/// `instructions.json`: instruction counts of the codec paths, measured under valgrind's
/// callgrind. Deterministic for a given build, input and valgrind version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstructionCounts {
    pub schema_version: u32,
    /// `valgrind --version` of the counting tool, e.g. `valgrind-3.19.0`.
    pub tool: String,
    /// True when the build had the test-only `inject-slowdown` feature.
    pub slowdown_injected: bool,
    pub provenance: Option<Provenance>,
    pub cases: Vec<InstructionCase>,
}

impl InstructionCounts {
    pub fn new(tool: String, slowdown_injected: bool) -> Self {
        InstructionCounts {
            schema_version: SCHEMA_VERSION,
            tool,
            slowdown_injected,
            provenance: None,
            cases: Vec::new(),
        }
    }
}

impl Versioned for InstructionCounts {
    fn schema_version(&self) -> u32 {
        self.schema_version
    }
}

/// One counted codec path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstructionCase {
    /// `codec/<op>/<encoding>/<shape>/<size>`, as the criterion codec benches.
    pub id: String,
    /// Calls counted.
    pub iterations: u64,
    /// Instructions executed (callgrind `Ir`) over all `iterations` calls.
    pub instructions: u64,
    /// Size of the encoded message (the output of encode, the input of decode).
    pub encoded_bytes: u64,
}

impl InstructionCase {
    pub fn per_iteration(&self) -> f64 {
        self.instructions as f64 / self.iterations.max(1) as f64
    }
}

/// Validated options of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CompareOptions {
    /// Smallest change that counts, as a fraction (0.05 = 5%).
    pub threshold: f64,
    /// Family-wise error rate over the sampled metrics.
    pub alpha: f64,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            threshold: 0.05,
            alpha: 0.05,
        }
    }
}

impl CompareOptions {
    /// `threshold_pct` in percent (e.g. 5), `alpha` in (0, 1).
    pub fn new(threshold_pct: f64, alpha: f64) -> Result<Self, CompareError> {
        if !(threshold_pct.is_finite() && (0.0..100.0).contains(&threshold_pct)) {
            return Err(CompareError::Options(format!(
                "--threshold {threshold_pct}: must be a percentage in [0, 100)"
            )));
        }
        if !(alpha > 0.0 && alpha < 1.0) {
            return Err(CompareError::Options(format!(
                "--alpha {alpha}: must be in (0, 1)"
            )));
        }
        Ok(CompareOptions {
            threshold: threshold_pct / 100.0,
            alpha,
        })
    }
}

/// How a metric is measured, which decides how it is tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Callgrind instruction counts: exact, no test.
    Instructions,
    /// Criterion times: raw per-iteration samples are the replicates.
    Criterion,
    /// `rpcbench run` metrics: one value per run or repetition.
    EndToEnd,
}

impl Family {
    pub fn is_exact(self) -> bool {
        self == Family::Instructions
    }

    pub fn label(self) -> &'static str {
        match self {
            Family::Instructions => "instruction counts",
            Family::Criterion => "criterion times",
            Family::EndToEnd => "end-to-end",
        }
    }
}

pub use rpcbench_model::{Better, Unit};

/// The verdict on one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Regressed,
    Improved,
    Unchanged,
}

/// The values of one metric on both sides, before any test.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricInput {
    /// Stable id, e.g. `instructions/codec/encode/json/mesh/16KiB`,
    /// `e2e/rest-json-h1/echo/small/256B/max/max_throughput`.
    pub id: String,
    pub family: Family,
    /// What it is, in words.
    pub label: String,
    pub unit: Unit,
    pub better: Better,
    /// One value per replicate (run or repetition, criterion sample, or count file).
    pub base: Vec<f64>,
    pub current: Vec<f64>,
    /// Caveats shown with the metric (e.g. offered loads that differ).
    pub notes: Vec<String>,
}

/// Summary of one side's values of a metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SideValues {
    /// Replicates.
    pub n: usize,
    /// Geometric mean (sampled metrics) or median (instruction counts).
    pub value: f64,
    pub min: f64,
    pub max: f64,
}

impl SideValues {
    fn of(values: &[f64], exact: bool) -> SideValues {
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let value = if exact {
            median(values)
        } else {
            stats::mean(&values.iter().map(|v| v.ln()).collect::<Vec<_>>()).exp()
        };
        SideValues {
            n: values.len(),
            value,
            min,
            max,
        }
    }
}

fn median(v: &[f64]) -> f64 {
    crate::stats::median_min_max(v.iter().copied()).map_or(f64::NAN, |(m, _, _)| m)
}

/// One metric compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricComparison {
    pub id: String,
    pub family: Family,
    pub label: String,
    pub unit: Unit,
    pub better: Better,
    pub base: SideValues,
    pub current: SideValues,
    /// `current / base − 1`, in percent (ratio of geometric means for sampled metrics).
    pub change_pct: f64,
    /// Confidence interval of the change, in percent: simultaneous (Bonferroni) for sampled
    /// metrics; the range of ratios for instruction counts.
    pub ci_pct: [f64; 2],
    /// Confidence level of `ci_pct` (`1 − alpha/m`); absent for exact counts.
    pub ci_level: Option<f64>,
    /// Welch's two-sided p-value (sampled metrics).
    pub p_value: Option<f64>,
    /// Holm–Bonferroni adjusted p-value (sampled metrics).
    pub p_holm: Option<f64>,
    /// Smallest change in the worse direction that this comparison could have flagged, in
    /// percent (signed: `+` for lower-is-better metrics, `−` for higher-is-better).
    pub detectable_pct: Option<f64>,
    pub decision: Decision,
    /// Why, in words, with the significance and the threshold.
    pub reason: String,
    pub notes: Vec<String>,
}

/// The overall verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    NoRegression,
    Regression,
}

impl Verdict {
    /// Process exit code: 0 no regression, 1 regression.
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::NoRegression => 0,
            Verdict::Regression => 1,
        }
    }
}

/// What one side was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetInfo {
    pub spec: String,
    pub description: String,
    pub commits: Vec<String>,
}

impl SetInfo {
    fn of(set: &ResultSet) -> SetInfo {
        SetInfo {
            spec: set.spec.clone(),
            description: set.describe(),
            commits: set.commits(),
        }
    }
}

/// `compare.json`: the whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub schema_version: u32,
    pub verdict: Verdict,
    pub threshold_pct: f64,
    pub alpha: f64,
    /// The decision rule in words.
    pub rule: String,
    pub base: SetInfo,
    pub current: SetInfo,
    pub regressed: usize,
    pub improved: usize,
    pub unchanged: usize,
    /// Sampled metrics in the Holm family (`m`).
    pub tested: usize,
    pub warnings: Vec<String>,
    /// Regressions first, then improvements, then the rest; by id inside each.
    pub metrics: Vec<MetricComparison>,
}

impl Comparison {
    pub fn flagged(&self, decision: Decision) -> impl Iterator<Item = &MetricComparison> {
        self.metrics.iter().filter(move |m| m.decision == decision)
    }
}

/// The rule, as stated in every output.
pub fn rule_text(opts: &CompareOptions) -> String {
    let t = threshold_text(opts.threshold * 100.0);
    format!(
        "A metric counts as regressed (improved) only if its change is significant AND its \
         confidence interval lies entirely beyond {t}% in the worse (better) direction. Sampled \
         metrics (end-to-end values, one per run or repetition; criterion per-iteration times): \
         Welch's t-test on log values, Holm–Bonferroni over all m sampled metrics at family-wise \
         α = {}, and simultaneous (Bonferroni) intervals at level 1 − α/m. Instruction counts are \
         exact: identical counts are unchanged, any change beyond {t}% counts.",
        opts.alpha
    )
}

/// Tests and decides every metric. Pure: the same inputs give the same result.
pub fn decide(inputs: Vec<MetricInput>, opts: &CompareOptions) -> Vec<MetricComparison> {
    struct Tested {
        welch: Option<stats::Welch>,
    }
    let tested: Vec<Tested> = inputs
        .iter()
        .map(|m| Tested {
            welch: if m.family.is_exact() {
                None
            } else {
                stats::welch(&logs(&m.base), &logs(&m.current))
            },
        })
        .collect();
    let p: Vec<f64> = tested.iter().filter_map(|t| t.welch.map(|w| w.p)).collect();
    let m = p.len();
    let adjusted = stats::holm(&p);
    let level = 1.0 - opts.alpha / m.max(1) as f64;
    let ln_up = (1.0 + opts.threshold).ln();
    let ln_down = (1.0 - opts.threshold).ln();
    let pct = |d: f64| (d.exp() - 1.0) * 100.0;
    let mut adjusted_iter = adjusted.into_iter();
    let mut out = Vec::with_capacity(inputs.len());
    for (input, t) in inputs.into_iter().zip(tested) {
        let exact = input.family.is_exact();
        let base = SideValues::of(&input.base, exact);
        let current = SideValues::of(&input.current, exact);
        let change_pct = (current.value / base.value - 1.0) * 100.0;
        let t_pct = threshold_text(opts.threshold * 100.0);
        let (ci_ln, ci_level, p_value, p_holm, detectable, significant) = match t.welch {
            None if exact => {
                // The range of ratios over every pair of count files (a point for one file each).
                let lo = (current.min / base.max).ln();
                let hi = (current.max / base.min).ln();
                ((lo, hi), None, None, None, None, lo != 0.0 || hi != 0.0)
            }
            None => unreachable!("sampled metrics are checked for two replicates before deciding"),
            Some(w) => {
                let p_holm = adjusted_iter.next().unwrap_or(1.0);
                let ci = w.ci(level);
                let half = if w.se == 0.0 {
                    0.0
                } else {
                    stats::t_quantile(0.5 + level / 2.0, w.df) * w.se
                };
                let detectable = match input.better {
                    Better::Lower => pct(ln_up + half),
                    Better::Higher => pct(ln_down - half),
                };
                (
                    ci,
                    Some(level),
                    Some(w.p),
                    Some(p_holm),
                    Some(detectable),
                    p_holm <= opts.alpha,
                )
            }
        };
        let (lo, hi) = ci_ln;
        let (worse, better) = match input.better {
            Better::Lower => (lo > ln_up, hi < ln_down),
            Better::Higher => (hi < ln_down, lo > ln_up),
        };
        let ci_text = match ci_level {
            Some(_) => format!(
                "the simultaneous {} CI [{}, {}]",
                level_label(1.0 - opts.alpha),
                signed_pct(pct(lo)),
                signed_pct(pct(hi))
            ),
            None if lo == hi => format!("the exact change {}", signed_pct(pct(lo))),
            None => format!("the range [{}, {}]", signed_pct(pct(lo)), signed_pct(pct(hi))),
        };
        let sig_text = match p_holm {
            Some(p) => format!("Holm-adjusted p = {}", p_text(p)),
            None => "exact counts".to_string(),
        };
        let (decision, reason) = if exact && lo == 0.0 && hi == 0.0 {
            (Decision::Unchanged, "identical instruction counts".to_string())
        } else if t.welch.is_some_and(|w| w.se == 0.0 && w.diff == 0.0) {
            (
                Decision::Unchanged,
                "identical values in every replicate".to_string(),
            )
        } else if !significant {
            (
                Decision::Unchanged,
                format!("not significant ({sig_text} > α = {})", opts.alpha),
            )
        } else if worse {
            (
                Decision::Regressed,
                format!("{sig_text}; {ci_text} lies beyond the {t_pct}% threshold (worse)"),
            )
        } else if better {
            (
                Decision::Improved,
                format!("{sig_text}; {ci_text} lies beyond the {t_pct}% threshold (better)"),
            )
        } else {
            (
                Decision::Unchanged,
                format!("{sig_text}, but {ci_text} reaches within the {t_pct}% threshold"),
            )
        };
        out.push(MetricComparison {
            id: input.id,
            family: input.family,
            label: input.label,
            unit: input.unit,
            better: input.better,
            base,
            current,
            change_pct,
            ci_pct: [pct(lo), pct(hi)],
            ci_level,
            p_value,
            p_holm,
            detectable_pct: detectable,
            decision,
            reason,
            notes: input.notes,
        });
    }
    let rank = |d: Decision| match d {
        Decision::Regressed => 0,
        Decision::Improved => 1,
        Decision::Unchanged => 2,
    };
    out.sort_by(|a, b| rank(a.decision).cmp(&rank(b.decision)).then(a.id.cmp(&b.id)));
    out
}

fn logs(v: &[f64]) -> Vec<f64> {
    v.iter().map(|x| x.ln()).collect()
}

/// `5`, `2.5`: a threshold in percent without trailing zeros.
pub fn threshold_text(pct: f64) -> String {
    format::trim_zeros(&format::sig3(pct))
}

/// `95%`, `99.58%`.
pub fn level_label(level: f64) -> String {
    let pct = level * 100.0;
    let mut s = format!("{pct:.2}");
    while s.ends_with('0') {
        s.pop();
    }
    if s.ends_with('.') {
        s.pop();
    }
    format!("{s}%")
}

/// `+4.2%`, `−0.3%`.
pub fn signed_pct(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    let s = if v.abs() >= 10.0 {
        format!("{:.1}", v.abs())
    } else {
        format!("{:.2}", v.abs())
    };
    if v < 0.0 {
        format!("−{s}%")
    } else {
        format!("+{s}%")
    }
}

/// p-values in words that do not hide tiny ones: `0.43`, `0.0021`, `< 1e-12`.
pub fn p_text(p: f64) -> String {
    if p < 1e-12 {
        "< 1e-12".into()
    } else if p < 0.001 {
        format!("{p:.1e}")
    } else {
        format::sig2(p)
    }
}

// ---------------------------------------------------------------------------------------------
// Metric extraction.

/// One metric's values on one side, with what must match between sides.
#[derive(Debug, Clone)]
struct Series {
    family: Family,
    label: String,
    unit: Unit,
    better: Better,
    values: Vec<f64>,
    /// Measurement settings that must be identical on both sides.
    config: BTreeSet<String>,
    /// Offered rates of open-loop points (may differ; noted).
    offered_rps: Vec<f64>,
    /// Replicates that produced no usable value, with why.
    dropped: Vec<String>,
}

impl Series {
    fn new(family: Family, label: String, unit: Unit, better: Better) -> Series {
        Series {
            family,
            label,
            unit,
            better,
            values: Vec::new(),
            config: BTreeSet::new(),
            offered_rps: Vec::new(),
            dropped: Vec::new(),
        }
    }
}

type SeriesMap = BTreeMap<String, Series>;

/// The end-to-end metrics the gate compares at one point kind.
fn metrics_of_point(kind: &PointKind) -> &'static [Metric] {
    match kind {
        PointKind::MaxThroughput => &[Metric::MaxThroughput, Metric::ServerCpu, Metric::WireBytes],
        PointKind::FixedRate { .. } | PointKind::Sweep { .. } => {
            &[Metric::LatencyP50, Metric::LatencyP99, Metric::ServerCpu]
        }
    }
}

/// A metric's value at a point, if measured and usable (finite, positive).
fn run_value(metric: Metric, p: &PointResult) -> Option<f64> {
    metric.value(&p.measures()).filter(|v| v.is_finite() && *v > 0.0)
}

/// The point part of an end-to-end id: `max`, `rate` (or `rate1`, `rate2`, … by increasing
/// rate when a run has several), `sweep60`. Fixed rates are matched by rank, not value, because
/// a rate derived from a measured maximum differs a little between runs.
fn point_slugs(points: &[PointResult]) -> Vec<String> {
    let mut rates: BTreeMap<(u32, Variant, &crate::schema::Workload), Vec<f64>> = BTreeMap::new();
    for p in points {
        if let PointKind::FixedRate { rate_rps } = p.point {
            rates
                .entry((p.repetition, p.variant, &p.workload))
                .or_default()
                .push(rate_rps);
        }
    }
    for v in rates.values_mut() {
        v.sort_by(f64::total_cmp);
    }
    points
        .iter()
        .map(|p| match p.point {
            PointKind::MaxThroughput => "max".to_string(),
            PointKind::FixedRate { rate_rps } => {
                let list = &rates[&(p.repetition, p.variant, &p.workload)];
                if list.len() == 1 {
                    "rate".to_string()
                } else {
                    let k = list.iter().position(|r| *r == rate_rps).unwrap_or(0);
                    format!("rate{}", k + 1)
                }
            }
            PointKind::Sweep { fraction, .. } => format!("sweep{:.0}", fraction * 100.0),
        })
        .collect()
}

/// The settings a point was measured with; they must be equal on both sides. The payload seed
/// is here rather than in the id: ids stay short, and a seed change is still caught.
fn point_config(p: &PointResult) -> String {
    let c = &p.load.config;
    let mode = match c.mode {
        crate::schema::LoadMode::Closed {
            connections,
            concurrency,
        } => format!("closed loop, {connections} connections, {concurrency} in flight"),
        crate::schema::LoadMode::Open { connections, .. } => {
            format!("open loop, {connections} connections")
        }
    };
    let len = match (c.duration_ns, c.requests) {
        (Some(d), _) => format!("{} measured", format::duration_ns(d as f64)),
        (None, Some(n)) => format!("{n} requests measured"),
        (None, None) => "unbounded".into(),
    };
    format!(
        "{mode}, {len}, {} warm-up, payload seed {}",
        format::duration_ns(c.warmup_ns as f64),
        c.workload.seed
    )
}

fn extract_runs(set: &ResultSet, out: &mut SeriesMap) {
    for run in &set.runs {
        let slugs = point_slugs(&run.results.points);
        for (p, slug) in run.results.points.iter().zip(slugs) {
            let w = &p.workload;
            let point_id = format!(
                "e2e/{}/{}/{}/{}/{slug}",
                p.variant,
                w.rpc.name(),
                w.shape,
                rpcbench_model::Size(w.size)
            );
            let failed = p.error.clone().or_else(|| {
                (!p.load.summary.complete).then(|| {
                    p.load
                        .summary
                        .incomplete_reason
                        .clone()
                        .unwrap_or_else(|| "incomplete".into())
                })
            });
            for &metric in metrics_of_point(&p.point) {
                let (unit, better) = (metric.unit(), metric.better());
                let at = match p.point {
                    PointKind::MaxThroughput => String::new(),
                    PointKind::FixedRate { .. } => " at a fixed rate".into(),
                    PointKind::Sweep { fraction, .. } => {
                        format!(" at {:.0}% of max", fraction * 100.0)
                    }
                };
                let label = format!(
                    "{}{at}, {} {} {} {}",
                    metric.short_label(),
                    p.variant,
                    w.rpc.name(),
                    w.shape,
                    rpcbench_model::Size(w.size)
                );
                let s = out
                    .entry(format!("{point_id}/{}", metric.name()))
                    .or_insert_with(|| Series::new(Family::EndToEnd, label, unit, better));
                s.config.insert(point_config(p));
                if let PointKind::FixedRate { rate_rps } | PointKind::Sweep { rate_rps, .. } = p.point {
                    s.offered_rps.push(rate_rps);
                }
                match (&failed, run_value(metric, p)) {
                    (Some(why), _) => {
                        s.dropped
                            .push(format!("{} ({}): failed: {why}", p.id, run.path.display()))
                    }
                    (None, Some(v)) => s.values.push(v),
                    (None, None) => {
                        s.dropped
                            .push(format!("{} ({}): not measured", p.id, run.path.display()))
                    }
                }
            }
        }
    }
}

fn extract_instructions(set: &ResultSet, out: &mut SeriesMap) {
    for file in &set.instructions {
        for c in &file.counts.cases {
            let s = out.entry(format!("instructions/{}", c.id)).or_insert_with(|| {
                Series::new(
                    Family::Instructions,
                    format!("instructions per call, {}", c.id),
                    Unit::Instructions,
                    Better::Lower,
                )
            });
            s.values.push(c.per_iteration());
        }
    }
}

fn extract_criterion(set: &ResultSet, out: &mut SeriesMap) {
    for c in &set.criterion {
        for (id, samples) in &c.samples {
            let s = out.entry(format!("time/{id}")).or_insert_with(|| {
                Series::new(
                    Family::Criterion,
                    format!("time per iteration, {id}"),
                    Unit::Nanoseconds,
                    Better::Lower,
                )
            });
            s.values.extend(samples);
        }
    }
}

fn extract(set: &ResultSet) -> SeriesMap {
    let mut out = SeriesMap::new();
    extract_runs(set, &mut out);
    extract_instructions(set, &mut out);
    extract_criterion(set, &mut out);
    out
}

/// The point (id without its metric) of an end-to-end metric id, for mismatch messages.
fn point_of(id: &str) -> &str {
    if id.starts_with("e2e/") {
        id.rsplit_once('/').map_or(id, |(p, _)| p)
    } else {
        id
    }
}

fn list(items: &BTreeSet<&str>) -> String {
    const MAX: usize = 8;
    let mut s: Vec<&str> = items.iter().take(MAX).copied().collect();
    let more = items.len().saturating_sub(MAX);
    if more > 0 {
        s.push("…");
    }
    let text = s.join(", ");
    if more > 0 {
        format!("{text} ({more} more)")
    } else {
        text
    }
}

/// Pairs the metrics of both sides, checking that they measured the same things.
pub fn metric_inputs(
    base: &ResultSet,
    current: &ResultSet,
) -> Result<(Vec<MetricInput>, Vec<String>), CompareError> {
    let b = extract(base);
    let c = extract(current);
    let mut warnings = Vec::new();

    // The same kinds of evidence on both sides.
    for family in [Family::Instructions, Family::Criterion, Family::EndToEnd] {
        let has = |m: &SeriesMap| m.values().any(|s| s.family == family);
        match (has(&b), has(&c)) {
            (true, false) => {
                return Err(CompareError::Mismatch(format!(
                    "BASE has {} but CURRENT has none",
                    family.label()
                )));
            }
            (false, true) => {
                return Err(CompareError::Mismatch(format!(
                    "CURRENT has {} but BASE has none",
                    family.label()
                )));
            }
            _ => {}
        }
    }
    if b.is_empty() {
        return Err(CompareError::Insufficient("no metrics on either side".into()));
    }

    // The same workloads and benchmarks.
    let only_b: BTreeSet<&str> = b
        .keys()
        .filter(|k| !c.contains_key(*k))
        .map(|k| point_of(k))
        .collect();
    let only_c: BTreeSet<&str> = c
        .keys()
        .filter(|k| !b.contains_key(*k))
        .map(|k| point_of(k))
        .collect();
    if !only_b.is_empty() || !only_c.is_empty() {
        let mut parts = Vec::new();
        if !only_b.is_empty() {
            parts.push(format!("only in BASE: {}", list(&only_b)));
        }
        if !only_c.is_empty() {
            parts.push(format!("only in CURRENT: {}", list(&only_c)));
        }
        return Err(CompareError::Mismatch(parts.join("; ")));
    }

    // The same measurement settings, within and between sides.
    for (id, sb) in &b {
        let sc = &c[id];
        let all: BTreeSet<&String> = sb.config.iter().chain(&sc.config).collect();
        if all.len() > 1 {
            return Err(CompareError::Mismatch(format!(
                "{} was measured differently: BASE {}; CURRENT {}",
                point_of(id),
                sb.config.iter().cloned().collect::<Vec<_>>().join(" | "),
                sc.config.iter().cloned().collect::<Vec<_>>().join(" | "),
            )));
        }
    }

    // Enough replicates.
    let mut inputs = Vec::new();
    for (id, sb) in b {
        let sc = &c[&id];
        if sb.values.is_empty() && sc.values.is_empty() {
            warnings.push(format!("{id}: not measured on either side, skipped"));
            continue;
        }
        let need = if sb.family.is_exact() { 1 } else { 2 };
        for (side, s) in [(Side::Base, &sb), (Side::Current, sc)] {
            if s.values.len() < need {
                let why = if s.dropped.is_empty() {
                    String::new()
                } else {
                    format!(" — dropped: {}", s.dropped.join("; "))
                };
                let hint = if s.family == Family::EndToEnd {
                    " (run-to-run noise needs at least 2 replicates per side: give a directory \
                     holding several runs, or use a scenario with repetitions ≥ 2)"
                } else {
                    ""
                };
                return Err(CompareError::Insufficient(format!(
                    "{side} has {} usable replicate{} of {id}, {need} needed{hint}{why}",
                    s.values.len(),
                    input::plural(s.values.len())
                )));
            }
        }
        for d in sb
            .dropped
            .iter()
            .map(|d| format!("BASE {d}"))
            .chain(sc.dropped.iter().map(|d| format!("CURRENT {d}")))
        {
            warnings.push(format!("{id}: replicate excluded: {d}"));
        }
        let mut notes = Vec::new();
        if !sb.offered_rps.is_empty() && !sc.offered_rps.is_empty() {
            let rb = stats::mean(&sb.offered_rps);
            let rc = stats::mean(&sc.offered_rps);
            if (rc / rb - 1.0).abs() > 0.01 {
                notes.push(format!(
                    "offered load differs: BASE {} vs CURRENT {} (rates derived from measured maxima)",
                    format::rate(rb),
                    format::rate(rc)
                ));
            }
        }
        inputs.push(MetricInput {
            id,
            family: sb.family,
            label: sb.label,
            unit: sb.unit,
            better: sb.better,
            base: sb.values,
            current: sc.values.clone(),
            notes,
        });
    }

    for (side, set) in [(Side::Base, base), (Side::Current, current)] {
        if set.instructions.iter().any(|i| i.counts.slowdown_injected) {
            warnings.push(format!(
                "{side} instruction counts come from a build with the test-only `inject-slowdown` \
                 feature"
            ));
        }
        let tools: BTreeSet<&str> = set.instructions.iter().map(|i| i.counts.tool.as_str()).collect();
        if tools.len() > 1 {
            warnings.push(format!(
                "{side} instruction counts come from different tools: {tools:?}"
            ));
        }
    }
    let tb: BTreeSet<&str> = base.instructions.iter().map(|i| i.counts.tool.as_str()).collect();
    let tc: BTreeSet<&str> = current
        .instructions
        .iter()
        .map(|i| i.counts.tool.as_str())
        .collect();
    if !tb.is_empty() && tb != tc {
        warnings.push(format!(
            "instruction counts were made with different tools (BASE {tb:?}, CURRENT {tc:?}); \
             counts can shift with the valgrind version"
        ));
    }
    Ok((inputs, warnings))
}

/// Compares two loaded result sets.
pub fn compare(
    base: &ResultSet,
    current: &ResultSet,
    opts: &CompareOptions,
) -> Result<Comparison, CompareError> {
    let (inputs, warnings) = metric_inputs(base, current)?;
    let tested = inputs.iter().filter(|m| !m.family.is_exact()).count();
    let metrics = decide(inputs, opts);
    let count = |d: Decision| metrics.iter().filter(|m| m.decision == d).count();
    let regressed = count(Decision::Regressed);
    Ok(Comparison {
        schema_version: SCHEMA_VERSION,
        verdict: if regressed > 0 {
            Verdict::Regression
        } else {
            Verdict::NoRegression
        },
        threshold_pct: opts.threshold * 100.0,
        alpha: opts.alpha,
        rule: rule_text(opts),
        base: SetInfo::of(base),
        current: SetInfo::of(current),
        regressed,
        improved: count(Decision::Improved),
        unchanged: count(Decision::Unchanged),
        tested,
        warnings,
        metrics,
    })
}

/// Writes `compare.md` and `compare.json` into `dir` (atomically); returns their paths.
pub fn write_comparison(dir: &Path, c: &Comparison) -> Result<(PathBuf, PathBuf), CompareError> {
    let md = dir.join(COMPARE_MD);
    let json = dir.join(COMPARE_JSON);
    write_json_atomic(&json, c).map_err(CompareError::Write)?;
    write_atomic(&md, comparison_markdown(c).as_bytes()).map_err(CompareError::Write)?;
    Ok((md, json))
}

// ---------------------------------------------------------------------------------------------
// Calibration.

/// One A/A pair of a calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationPair {
    pub base: String,
    pub current: String,
    /// Metrics flagged as regressed (all false positives: the code is the same).
    pub regressed: Vec<String>,
    pub improved: Vec<String>,
}

/// How one metric behaved over all pairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationMetric {
    pub id: String,
    pub flagged: usize,
    /// Median over pairs of the smallest worse change that could have been flagged (percent).
    pub median_detectable_pct: Option<f64>,
    /// Largest |change| seen between two runs of the same code (percent).
    pub max_abs_change_pct: f64,
}

/// `calibrate.json`: the gate's false-positive rate on result sets of the same code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub schema_version: u32,
    pub threshold_pct: f64,
    pub alpha: f64,
    pub rule: String,
    pub sets: Vec<SetInfo>,
    pub pairs: usize,
    /// Pairs in which the gate would have failed (at least one metric regressed).
    pub pairs_with_regression: usize,
    /// Pairs with at least one metric flagged either way.
    pub pairs_with_any_flag: usize,
    /// `pairs_with_regression / pairs`, and its Wilson 95% interval (pairs that share a set are
    /// not independent, so the interval is indicative).
    pub false_positive_rate: f64,
    pub false_positive_ci95: [f64; 2],
    /// The same over consecutive pairs of the arguments (1–2, 3–4, …), which are independent of
    /// each other. Given each CI job's BASE and HEAD next to each other, these are exactly the
    /// gate's in-job comparisons; all pairs also mix sets measured in different jobs.
    pub consecutive_pairs: usize,
    pub consecutive_pairs_with_regression: usize,
    pub metrics_per_pair: usize,
    pub warnings: Vec<String>,
    pub metrics: Vec<CalibrationMetric>,
    pub pair_results: Vec<CalibrationPair>,
}

/// Compares every pair of result sets of the same code (A/A) and reports how often the gate
/// would have failed.
pub fn calibrate(sets: &[ResultSet], opts: &CompareOptions) -> Result<Calibration, CompareError> {
    if sets.len() < 2 {
        return Err(CompareError::Options(
            "--calibrate needs at least two result sets".into(),
        ));
    }
    let mut warnings = Vec::new();
    let commits: BTreeSet<Vec<String>> = sets.iter().map(|s| s.commits()).collect();
    if commits.len() > 1 {
        warnings.push(format!(
            "the result sets come from different commits ({commits:?}); calibration assumes the same code"
        ));
    }
    let mut pair_results = Vec::new();
    let mut per_metric: BTreeMap<String, (usize, Vec<f64>, f64)> = BTreeMap::new();
    let mut metrics_per_pair = 0;
    let mut consecutive = (0, 0);
    for i in 0..sets.len() {
        for j in i + 1..sets.len() {
            let c = compare(&sets[i], &sets[j], opts)?;
            metrics_per_pair = c.metrics.len();
            for m in &c.metrics {
                let e = per_metric.entry(m.id.clone()).or_insert((0, Vec::new(), 0.0));
                if m.decision != Decision::Unchanged {
                    e.0 += 1;
                }
                if let Some(d) = m.detectable_pct {
                    e.1.push(d);
                }
                e.2 = f64::max(e.2, m.change_pct.abs());
            }
            let ids = |d: Decision| c.flagged(d).map(|m| m.id.clone()).collect::<Vec<_>>();
            let pair = CalibrationPair {
                base: sets[i].spec.clone(),
                current: sets[j].spec.clone(),
                regressed: ids(Decision::Regressed),
                improved: ids(Decision::Improved),
            };
            if i % 2 == 0 && j == i + 1 {
                consecutive.0 += 1;
                consecutive.1 += usize::from(!pair.regressed.is_empty());
            }
            pair_results.push(pair);
        }
    }
    let pairs = pair_results.len();
    let with_regression = pair_results.iter().filter(|p| !p.regressed.is_empty()).count();
    let with_any = pair_results
        .iter()
        .filter(|p| !p.regressed.is_empty() || !p.improved.is_empty())
        .count();
    let (lo, hi) = stats::wilson_95(with_regression, pairs);
    let mut metrics: Vec<CalibrationMetric> = per_metric
        .into_iter()
        .map(|(id, (flagged, det, max_change))| CalibrationMetric {
            id,
            flagged,
            median_detectable_pct: (!det.is_empty()).then(|| median(&det)),
            max_abs_change_pct: max_change,
        })
        .collect();
    metrics.sort_by(|a, b| b.flagged.cmp(&a.flagged).then(a.id.cmp(&b.id)));
    Ok(Calibration {
        schema_version: SCHEMA_VERSION,
        threshold_pct: opts.threshold * 100.0,
        alpha: opts.alpha,
        rule: rule_text(opts),
        sets: sets.iter().map(SetInfo::of).collect(),
        pairs,
        pairs_with_regression: with_regression,
        pairs_with_any_flag: with_any,
        false_positive_rate: with_regression as f64 / pairs as f64,
        false_positive_ci95: [lo, hi],
        consecutive_pairs: consecutive.0,
        consecutive_pairs_with_regression: consecutive.1,
        metrics_per_pair,
        warnings,
        metrics,
        pair_results,
    })
}

/// Writes `calibrate.md` and `calibrate.json` into `dir` (atomically); returns their paths.
pub fn write_calibration(dir: &Path, c: &Calibration) -> Result<(PathBuf, PathBuf), CompareError> {
    let md = dir.join(CALIBRATE_MD);
    let json = dir.join(CALIBRATE_JSON);
    write_json_atomic(&json, c).map_err(CompareError::Write)?;
    write_atomic(&md, calibration_markdown(c).as_bytes()).map_err(CompareError::Write)?;
    Ok((md, json))
}

#[cfg(test)]
mod tests;
