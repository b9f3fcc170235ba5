//! The verdict on the claim "protobuf/gRPC is up to 8x faster than JSON/REST", computed from
//! ratios (see [`crate::evidence`]); pure functions, no I/O. The rule (also in `docs/verdict.md`):
//!
//! - The claim's sides are `rest-json-h1` (idiomatic serde JSON, what `axum::Json` serves) and
//!   `grpc-proto-h2`. The other JSON levels and the factorial variants are reported beside it.
//! - The verdict is taken **per workload** (rpc × shape × size). A speed ratio (latency at equal
//!   load, requests per server core-second, closed-loop maximum throughput, criterion round
//!   trip) *counts* only when it has an interval (two or more repetitions a side; a 95% CI from
//!   three or more) and the **low end** of that interval reaches [`CLAIM_FACTOR`]. Points whose
//!   schedule slipped, client-bound points and percentiles from too few samples never get this
//!   far: [`crate::evidence::point_value`] leaves them out.
//! - A workload *holds* when one of its ratios counts, *does not hold* when it has ratios with
//!   intervals and none counts, and is *not determined* without any.
//! - Classes: **true in general** (every workload holds), **true only for …** (some hold),
//!   **false** (every workload determined and none holds), **not determined** (none holds and
//!   some workload is not determined). Because the class of a workload depends only on that
//!   workload's own ratios, two presets that share workloads agree on them.
//! - For each holding workload the verdict names the factor that carries the deciding ratio:
//!   the largest of the factorial effects (encoding, transport, framework) on the same metric,
//!   workload and load.
//! - Serialization alone (criterion encode/decode, JSON ÷ protobuf) is stated beside the
//!   verdict; it does not decide it, since the claim is about the two stacks.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::evidence::{Effect, EffectRatios, REST, Ratio};
use crate::format;
use rpcbench_model::Metric;

/// The claim under test.
pub const CLAIM: &str = "protobuf/gRPC is up to 8x faster than JSON/REST";
/// The factor the claim names.
pub const CLAIM_FACTOR: f64 = 8.0;

/// The verdict's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimStatus {
    /// Every workload holds.
    TrueInGeneral,
    /// Some workloads hold.
    TrueOnlyFor,
    /// Every workload is determined and none holds.
    False,
    /// Nothing holds and data is missing or invalid for some workload.
    NotDetermined,
}

impl ClaimStatus {
    pub fn label(self) -> &'static str {
        match self {
            ClaimStatus::TrueInGeneral => "True in general",
            ClaimStatus::TrueOnlyFor => "True only for some workloads",
            ClaimStatus::False => "False",
            ClaimStatus::NotDetermined => "Not determined",
        }
    }

    /// CSS class / machine name.
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimStatus::TrueInGeneral => "true",
            ClaimStatus::TrueOnlyFor => "true_only_for",
            ClaimStatus::False => "false",
            ClaimStatus::NotDetermined => "not_determined",
        }
    }
}

/// Whether the claim holds for one workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkloadClass {
    Holds,
    DoesNotHold,
    NotDetermined,
}

/// The factorial effect that contributes most to a deciding ratio.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Factor {
    /// The factor (`encoding`, `transport`, `framework`).
    pub factor: String,
    /// The effect's name: the factor, what is held fixed, and the step.
    pub effect: String,
    pub ratio: Ratio,
}

/// The verdict for one workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadVerdict {
    /// `upload mesh 256KiB`.
    pub workload: String,
    pub class: WorkloadClass,
    /// The ratio with the highest low end among those with an interval: the one that carries
    /// the claim, or comes closest.
    pub best: Option<Ratio>,
    /// Every ratio with an interval, highest low end first.
    pub counted: Vec<Ratio>,
    /// Ratios without an interval (a single repetition): shown, never deciding.
    pub without_interval: Vec<Ratio>,
    /// For a holding workload: the factor that carries the deciding ratio.
    pub carried_by: Option<Factor>,
    /// Serialization alone for this workload's shape and size (largest JSON ÷ protobuf ratio).
    pub serialization: Option<Ratio>,
    /// Beside the claim (whose REST is the idiomatic `json`): the other JSON levels on the same
    /// stack (`rest-pbjson-h1`, `rest-sonic-h1`) against `grpc-proto-h2`, at the deciding
    /// ratio's metric and load. Reported, never deciding.
    #[serde(default)]
    pub other_json: Vec<Ratio>,
}

/// The largest and smallest of a set of ratios.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Extremes {
    pub largest: Ratio,
    pub smallest: Ratio,
    /// How many ratios the extremes were taken over.
    pub count: usize,
}

impl Extremes {
    pub fn of<'a>(ratios: impl IntoIterator<Item = &'a Ratio>) -> Option<Extremes> {
        let mut it = ratios.into_iter();
        let first = it.next()?;
        let (mut largest, mut smallest, mut count) = (first, first, 1);
        for r in it {
            count += 1;
            if r.value > largest.value {
                largest = r;
            }
            if r.value < smallest.value {
                smallest = r;
            }
        }
        Some(Extremes {
            largest: largest.clone(),
            smallest: smallest.clone(),
            count,
        })
    }
}

/// The extremes of one metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricExtremes {
    pub metric: Metric,
    pub extremes: Extremes,
}

/// The verdict and the ratios behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub claim: String,
    pub factor: f64,
    pub status: ClaimStatus,
    /// Plain sentences generated from the per-workload verdicts below.
    pub sentence: String,
    /// One entry per workload with end-to-end data, in workload order.
    pub workloads: Vec<WorkloadVerdict>,
    pub encode: Option<Extremes>,
    pub decode: Option<Extremes>,
    /// Per end-to-end metric, in [`Metric::END_TO_END`] order; metrics without data are absent.
    pub end_to_end: Vec<MetricExtremes>,
    /// Every end-to-end ratio whose interval's low end reaches the factor, highest low end first.
    pub reaching_factor: Vec<Ratio>,
    /// What the verdict could not look at.
    pub missing: Vec<String>,
}

/// `(rpc, shape, size)` of a ratio's source, ordered by rpc, shape and size in bytes.
type WorkloadKey = (String, String, u64, String);

fn workload_key(r: &Ratio) -> WorkloadKey {
    (
        r.source.rpc.map(|x| x.name().to_string()).unwrap_or_default(),
        r.source.shape.to_string(),
        r.source.size_bytes(),
        r.source.size_label.clone(),
    )
}

fn same_point(a: &Ratio, b: &Ratio) -> bool {
    a.metric == b.metric
        && a.source.rpc == b.source.rpc
        && a.source.shape == b.source.shape
        && a.source.size_label == b.source.size_label
        && a.source.load == b.source.load
}

/// Computes the verdict from codec ratios (JSON ÷ protobuf time, [`Metric::Encode`] and
/// [`Metric::Decode`]), the claim pair's end-to-end ratios (`rest-json-h1` vs `grpc-proto-h2`)
/// and the factorial effects (to say which factor carries a ratio). `missing` lists inputs
/// that were not available; it is carried into the verdict.
pub fn verdict(
    codec: &[Ratio],
    end_to_end: &[Ratio],
    effects: &[EffectRatios],
    other_json: &[Ratio],
    missing: Vec<String>,
) -> Verdict {
    let codec: Vec<&Ratio> = codec
        .iter()
        .filter(|r| matches!(r.metric, Metric::Encode | Metric::Decode) && r.value.is_finite())
        .collect();
    let e2e: Vec<&Ratio> = end_to_end
        .iter()
        .filter(|r| !matches!(r.metric, Metric::Encode | Metric::Decode) && r.value.is_finite())
        .collect();

    let encode = Extremes::of(codec.iter().copied().filter(|r| r.metric == Metric::Encode));
    let decode = Extremes::of(codec.iter().copied().filter(|r| r.metric == Metric::Decode));
    let end_to_end_extremes: Vec<MetricExtremes> = Metric::END_TO_END
        .iter()
        .filter_map(|&m| {
            Extremes::of(e2e.iter().copied().filter(|r| r.metric == m))
                .map(|extremes| MetricExtremes { metric: m, extremes })
        })
        .collect();

    let mut by_workload: BTreeMap<WorkloadKey, Vec<&Ratio>> = BTreeMap::new();
    for r in e2e.iter().copied().filter(|r| r.metric.is_speed()) {
        by_workload.entry(workload_key(r)).or_default().push(r);
    }
    let workloads: Vec<WorkloadVerdict> = by_workload
        .into_iter()
        .map(|((rpc, shape, _, size), ratios)| {
            let serialization = codec
                .iter()
                .copied()
                .filter(|c| c.source.shape.name() == shape && c.source.size_label == size)
                .max_by(|a, b| a.value.total_cmp(&b.value))
                .cloned();
            let mut w = workload_verdict(format!("{rpc} {shape} {size}"), &ratios, effects, serialization);
            if let Some(best) = &w.best {
                w.other_json = other_json
                    .iter()
                    .filter(|r| same_point(r, best) && r.value.is_finite())
                    .cloned()
                    .collect();
            }
            w
        })
        .collect();

    let holds = |c: WorkloadClass| workloads.iter().filter(|w| w.class == c).count();
    let status = if workloads.is_empty() {
        ClaimStatus::NotDetermined
    } else if holds(WorkloadClass::Holds) == workloads.len() {
        ClaimStatus::TrueInGeneral
    } else if holds(WorkloadClass::Holds) > 0 {
        ClaimStatus::TrueOnlyFor
    } else if holds(WorkloadClass::NotDetermined) > 0 {
        ClaimStatus::NotDetermined
    } else {
        ClaimStatus::False
    };

    let mut reaching_factor: Vec<Ratio> = workloads
        .iter()
        .flat_map(|w| w.counted.iter().filter(|r| r.low >= CLAIM_FACTOR).cloned())
        .collect();
    reaching_factor.sort_by(|a, b| b.low.total_cmp(&a.low));

    let sentence = sentence(status, &workloads, &codec, &missing);
    Verdict {
        claim: CLAIM.into(),
        factor: CLAIM_FACTOR,
        status,
        sentence,
        workloads,
        encode,
        decode,
        end_to_end: end_to_end_extremes,
        reaching_factor,
        missing,
    }
}

/// The rule for one workload's speed ratios.
fn workload_verdict(
    workload: String,
    ratios: &[&Ratio],
    effects: &[EffectRatios],
    serialization: Option<Ratio>,
) -> WorkloadVerdict {
    let (mut counted, without_interval): (Vec<Ratio>, Vec<Ratio>) = ratios
        .iter()
        .map(|r| (*r).clone())
        .partition(|r| r.spread.has_interval() && r.low.is_finite());
    counted.sort_by(|a, b| b.low.total_cmp(&a.low));
    let best = counted.first().cloned();
    let class = match &best {
        Some(b) if b.low >= CLAIM_FACTOR => WorkloadClass::Holds,
        Some(_) => WorkloadClass::DoesNotHold,
        None => WorkloadClass::NotDetermined,
    };
    let carried_by = best
        .as_ref()
        .filter(|_| class == WorkloadClass::Holds)
        .and_then(|b| carrying_factor(b, effects));
    WorkloadVerdict {
        workload,
        class,
        best,
        counted,
        without_interval,
        carried_by,
        serialization,
        other_json: Vec::new(),
    }
}

/// The candidates are the single-factor steps whose product is the claim's total
/// ([`Effect::chain`]: encoding, transport, framework) and the JSON library steps that start at
/// the claim's REST (`json` → `sonic`: what a faster JSON library alone changes). The one with
/// the largest ratio at the same metric, workload and load carries it.
fn carrying_factor(deciding: &Ratio, effects: &[EffectRatios]) -> Option<Factor> {
    let chain = Effect::chain();
    let json_library = rpcbench_model::Factor::JsonLibrary.name();
    effects
        .iter()
        .filter(|e| {
            chain.contains(&e.effect) || (e.effect.factor == json_library && e.effect.baseline == REST)
        })
        .filter_map(|e| {
            e.ratios
                .iter()
                .find(|r| same_point(r, deciding) && r.value.is_finite())
                .map(|r| Factor {
                    factor: e.effect.factor.to_string(),
                    effect: e.effect.name.clone(),
                    ratio: r.clone(),
                })
        })
        .max_by(|a, b| a.ratio.value.total_cmp(&b.ratio.value))
}

/// `requests/server core-s 9.1x [8.4–9.9] at 44 req/s`.
fn ratio_phrase(r: &Ratio) -> String {
    let load = match &r.source.load {
        Some(l) if !matches!(r.metric, Metric::MaxThroughput) => format!(" {}", l.describe()),
        _ => String::new(),
    };
    format!("{} {}{load}", r.metric.short_label(), r.compact_text())
}

/// `; other JSON levels: rest-sonic-h1 2.9x [2.7–3.1]`, at the deciding point.
fn other_json_phrase(w: &WorkloadVerdict) -> String {
    if w.other_json.is_empty() {
        return String::new();
    }
    let items: Vec<String> = w
        .other_json
        .iter()
        .map(|r| format!("{} {}", r.source.baseline, r.compact_text()))
        .collect();
    format!("; other JSON levels: {}", items.join(", "))
}

fn sentence(
    status: ClaimStatus,
    workloads: &[WorkloadVerdict],
    codec: &[&Ratio],
    missing: &[String],
) -> String {
    let factor = format!("{CLAIM_FACTOR}x");
    let mut parts = Vec::new();
    let of =
        |c: WorkloadClass| -> Vec<&WorkloadVerdict> { workloads.iter().filter(|w| w.class == c).collect() };
    let (hold, not_hold, undetermined) = (
        of(WorkloadClass::Holds),
        of(WorkloadClass::DoesNotHold),
        of(WorkloadClass::NotDetermined),
    );
    if workloads.is_empty() {
        let why = if missing.is_empty() {
            "no usable end-to-end results were found".to_string()
        } else {
            missing.join("; ")
        };
        parts.push(format!("no workload has end-to-end speed ratios ({why})"));
    }
    if !hold.is_empty() {
        let items: Vec<String> = hold
            .iter()
            .map(|w| {
                let best = w.best.as_ref().map(ratio_phrase).unwrap_or_default();
                let carried = w
                    .carried_by
                    .as_ref()
                    .map(|f| format!(", carried mostly by {} {}", f.effect, f.ratio.compact_text()))
                    .unwrap_or_default();
                format!("{} ({best}{carried}{})", w.workload, other_json_phrase(w))
            })
            .collect();
        parts.push(format!(
            "grpc-proto-h2 is {factor} or more faster than rest-json-h1 for {}",
            join_and(&items)
        ));
    }
    if !not_hold.is_empty() {
        let items: Vec<String> = not_hold
            .iter()
            .map(|w| {
                let best = w.best.as_ref().map(ratio_phrase).unwrap_or_default();
                format!("{} (at best {best}{})", w.workload, other_json_phrase(w))
            })
            .collect();
        parts.push(format!("not for {}", join_and(&items)));
    }
    if !undetermined.is_empty() {
        let items: Vec<String> = undetermined.iter().map(|w| w.workload.clone()).collect();
        parts.push(format!(
            "not determined for {} (no ratio with an interval: too few repetitions, or points left out)",
            join_and(&items)
        ));
    }
    // Serialization alone, beside the verdict.
    if let Some(ext) = Extremes::of(codec.iter().copied()) {
        let reach: Vec<&Ratio> = codec.iter().copied().filter(|r| r.low >= CLAIM_FACTOR).collect();
        let range = format!(
            "from {} for {} to {} for {}",
            ext.smallest.compact_text(),
            codec_source(&ext.smallest),
            ext.largest.compact_text(),
            codec_source(&ext.largest)
        );
        if reach.is_empty() {
            parts.push(format!(
                "serialization alone (JSON ÷ protobuf time) never reaches {factor}: it ranges {range}"
            ));
        } else {
            parts.push(format!(
                "serialization alone reaches {factor} for {}; it ranges {range}",
                reach_phrase(codec, &reach)
            ));
        }
    } else {
        parts.push("serialization was not measured".into());
    }
    let rule = format!("a ratio counts only when the low end of its interval reaches {factor}");
    format!("{}: {} ({rule}).", status.label(), parts.join("; "))
}

fn codec_source(r: &Ratio) -> String {
    let op = r.metric.short_label();
    format!("{op} {} {}", r.source.shape, r.source.size_label)
}

/// `float-heavy (mesh) payloads of 256KiB and more (decode only)`, joined over shapes.
fn reach_phrase(all: &[&Ratio], reached: &[&Ratio]) -> String {
    let mut measured: BTreeMap<&str, BTreeSet<(u64, &str)>> = BTreeMap::new();
    for r in all {
        measured
            .entry(r.source.shape.name())
            .or_default()
            .insert((r.source.size_bytes(), &r.source.size_label));
    }
    type SizesAndOps<'a> = (BTreeSet<(u64, &'a str)>, BTreeSet<Metric>);
    let mut hit: BTreeMap<&str, SizesAndOps<'_>> = BTreeMap::new();
    for r in reached {
        let e = hit.entry(r.source.shape.name()).or_default();
        e.0.insert((r.source.size_bytes(), &r.source.size_label));
        e.1.insert(r.metric);
    }
    let phrases: Vec<String> = hit
        .iter()
        .map(|(shape, (sizes, ops))| {
            let all_sizes: Vec<_> = measured
                .get(shape)
                .map(|s| s.iter().collect())
                .unwrap_or_default();
            let hit_sizes: Vec<_> = sizes.iter().collect();
            let size_text = if hit_sizes.len() == all_sizes.len() {
                "at every size measured".to_string()
            } else if all_sizes.ends_with(&hit_sizes) {
                format!("of {} and more", hit_sizes[0].1)
            } else {
                format!(
                    "at {}",
                    hit_sizes.iter().map(|s| s.1).collect::<Vec<_>>().join(", ")
                )
            };
            let op_text = match ops.iter().collect::<Vec<_>>().as_slice() {
                [Metric::Encode] => " (encode only)",
                [Metric::Decode] => " (decode only)",
                _ => "",
            };
            format!(
                "{} payloads {size_text}{op_text}",
                format::shape_description(shape)
            )
        })
        .collect();
    join_and(&phrases)
}

fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests;
