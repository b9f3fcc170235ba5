//! The verdict on the claim "protobuf/gRPC is up to 8x faster than JSON/REST", computed from
//! ratios (see [`crate::evidence`]); pure functions, no I/O.
//!
//! Rules, using each ratio's typical value against [`CLAIM_FACTOR`]:
//! - **true** when an end-to-end speed ratio (latency at equal load, maximum throughput, or a
//!   criterion round trip) between `rest-json-h1` and `grpc-proto-h2` reaches the factor;
//! - **partly true** when only serialization (encode or decode time) reaches it;
//! - **false** when nothing measured reaches it;
//! - **not determined** when there is neither serialization nor end-to-end evidence.
//!
//! CPU and bytes per request are reported alongside but do not decide: the claim is about speed.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::evidence::{Metric, Ratio};
use crate::format;

/// The claim under test.
pub const CLAIM: &str = "protobuf/gRPC is up to 8x faster than JSON/REST";
/// The factor the claim names.
pub const CLAIM_FACTOR: f64 = 8.0;

/// The verdict's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimStatus {
    True,
    PartlyTrue,
    False,
    NotDetermined,
}

impl ClaimStatus {
    pub fn label(self) -> &'static str {
        match self {
            ClaimStatus::True => "True",
            ClaimStatus::PartlyTrue => "Partly true",
            ClaimStatus::False => "False",
            ClaimStatus::NotDetermined => "Not determined",
        }
    }

    /// CSS class / machine name.
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimStatus::True => "true",
            ClaimStatus::PartlyTrue => "partly_true",
            ClaimStatus::False => "false",
            ClaimStatus::NotDetermined => "not_determined",
        }
    }
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

/// The verdict and the headline ratios behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub claim: String,
    pub factor: f64,
    pub status: ClaimStatus,
    /// One plain sentence generated from the ratios below.
    pub sentence: String,
    pub encode: Option<Extremes>,
    pub decode: Option<Extremes>,
    /// Per end-to-end metric, in [`Metric::END_TO_END`] order; metrics without data are absent.
    pub end_to_end: Vec<MetricExtremes>,
    /// Every speed ratio that reaches the factor, largest first.
    pub reaching_factor: Vec<Ratio>,
    /// What the verdict could not look at.
    pub missing: Vec<String>,
}

/// Computes the verdict from codec ratios (JSON ÷ protobuf time, [`Metric::Encode`] and
/// [`Metric::Decode`]) and the claim pair's end-to-end ratios (`rest-json-h1` vs
/// `grpc-proto-h2`, any other metric). `missing` lists inputs that were not available; it is
/// carried into the verdict and, when evidence is thin, into the sentence.
pub fn verdict(codec: &[Ratio], end_to_end: &[Ratio], missing: Vec<String>) -> Verdict {
    let codec: Vec<&Ratio> = codec
        .iter()
        .filter(|r| matches!(r.metric, Metric::Encode | Metric::Decode) && r.value.is_finite())
        .collect();
    let e2e: Vec<&Ratio> = end_to_end
        .iter()
        .filter(|r| !matches!(r.metric, Metric::Encode | Metric::Decode) && r.value.is_finite())
        .collect();
    let e2e_speed: Vec<&Ratio> = e2e.iter().copied().filter(|r| r.metric.is_speed()).collect();

    let encode = Extremes::of(codec.iter().copied().filter(|r| r.metric == Metric::Encode));
    let decode = Extremes::of(codec.iter().copied().filter(|r| r.metric == Metric::Decode));
    let end_to_end_extremes: Vec<MetricExtremes> = Metric::END_TO_END
        .iter()
        .filter_map(|&m| {
            Extremes::of(e2e.iter().copied().filter(|r| r.metric == m))
                .map(|extremes| MetricExtremes { metric: m, extremes })
        })
        .collect();

    let reaches = |r: &&Ratio| r.value >= CLAIM_FACTOR;
    let codec_reach: Vec<&Ratio> = codec.iter().copied().filter(reaches).collect();
    let e2e_reach: Vec<&Ratio> = e2e_speed.iter().copied().filter(reaches).collect();
    let status = if codec.is_empty() && e2e_speed.is_empty() {
        ClaimStatus::NotDetermined
    } else if !e2e_reach.is_empty() {
        ClaimStatus::True
    } else if !codec_reach.is_empty() {
        ClaimStatus::PartlyTrue
    } else {
        ClaimStatus::False
    };

    let mut reaching_factor: Vec<Ratio> = e2e_reach
        .iter()
        .chain(&codec_reach)
        .map(|r| (*r).clone())
        .collect();
    reaching_factor.sort_by(|a, b| b.value.total_cmp(&a.value));

    let sentence = sentence(status, &codec, &codec_reach, &e2e_speed, &e2e_reach, &missing);
    Verdict {
        claim: CLAIM.into(),
        factor: CLAIM_FACTOR,
        status,
        sentence,
        encode,
        decode,
        end_to_end: end_to_end_extremes,
        reaching_factor,
        missing,
    }
}

fn sentence(
    status: ClaimStatus,
    codec: &[&Ratio],
    codec_reach: &[&Ratio],
    e2e: &[&Ratio],
    e2e_reach: &[&Ratio],
    missing: &[String],
) -> String {
    let factor = format!("{CLAIM_FACTOR}x");
    if status == ClaimStatus::NotDetermined {
        let why = if missing.is_empty() {
            "no usable results were found".to_string()
        } else {
            missing.join("; ")
        };
        return format!("Not determined: neither serialization nor end-to-end speed was measured ({why}).");
    }
    let mut parts = Vec::new();

    // Serialization.
    if let Some(ext) = Extremes::of(codec.iter().copied()) {
        let range = format!(
            "from {} for {} to {} for {}",
            ext.smallest.compact_text(),
            codec_source(&ext.smallest),
            ext.largest.compact_text(),
            codec_source(&ext.largest)
        );
        if codec_reach.is_empty() {
            parts.push(format!(
                "protobuf serialization is never {factor} faster than JSON: it ranges {range}"
            ));
        } else if codec_reach.len() == codec.len() {
            parts.push(format!(
                "protobuf serialization is {factor} or more faster than JSON in every case measured, {range}"
            ));
        } else {
            // "only" holds when nothing end to end reaches the factor as well.
            let only = if e2e_reach.is_empty() { "only " } else { "" };
            parts.push(format!(
                "serialization is {factor} or more faster {only}for {}; serialization speed-ups range {range}",
                reach_phrase(codec, codec_reach)
            ));
        }
    } else {
        parts.push("serialization was not measured".into());
    }

    // End to end.
    if let Some(ext) = Extremes::of(e2e.iter().copied()) {
        let pair = format!(
            "{} vs {}",
            ext.largest.source.candidate, ext.largest.source.baseline
        );
        if e2e_reach.is_empty() {
            parts.push(format!(
                "end-to-end, {pair} ranges from {} ({}) to {} ({})",
                ext.smallest.compact_text(),
                short_source(&ext.smallest),
                ext.largest.compact_text(),
                short_source(&ext.largest),
            ));
        } else {
            let metrics: BTreeSet<&str> = e2e_reach.iter().map(|r| r.metric.short_label()).collect();
            parts.push(format!(
                "end-to-end, {pair} reaches {factor} or more in {} of {} comparisons ({}), up to {} ({})",
                e2e_reach.len(),
                e2e.len(),
                metrics.into_iter().collect::<Vec<_>>().join(", "),
                ext.largest.compact_text(),
                short_source(&ext.largest),
            ));
        }
        if ext.smallest.value < 1.0 {
            parts.push(format!(
                "below 1x {} is the slower side",
                ext.smallest.source.candidate
            ));
        }
        if let Some(reference) = reference_clause(e2e) {
            parts.push(reference);
        }
    } else {
        parts.push("end-to-end speed was not measured".into());
    }
    format!("{}: {}.", status.label(), parts.join("; "))
}

fn codec_source(r: &Ratio) -> String {
    let op = r.metric.short_label();
    format!("{op} {} {}", r.source.shape, r.source.size_label)
}

/// `p50 latency, echo small 1KiB at 1000 req/s`.
fn short_source(r: &Ratio) -> String {
    let mut s = format!("{}, ", r.metric.short_label());
    if let Some(rpc) = r.source.rpc {
        s.push_str(rpc.name());
        s.push(' ');
    }
    s.push_str(&format!("{} {}", r.source.shape, r.source.size_label));
    if let Some(load) = &r.source.load
        && r.metric != Metric::MaxThroughput
    {
        s.push(' ');
        s.push_str(&load.describe());
    }
    s
}

/// `float-heavy (mesh) payloads of 256KiB and more (decode only)`, joined over shapes.
fn reach_phrase(all: &[&Ratio], reached: &[&Ratio]) -> String {
    let mut measured: BTreeMap<&str, BTreeSet<(u64, &str)>> = BTreeMap::new();
    for r in all {
        measured
            .entry(&r.source.shape)
            .or_default()
            .insert((r.source.size_bytes(), &r.source.size_label));
    }
    type SizesAndOps<'a> = (BTreeSet<(u64, &'a str)>, BTreeSet<Metric>);
    let mut hit: BTreeMap<&str, SizesAndOps<'_>> = BTreeMap::new();
    for r in reached {
        let e = hit.entry(&r.source.shape).or_default();
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

fn rate_of(r: &Ratio) -> f64 {
    match r.source.load {
        Some(crate::evidence::LoadPoint::FixedRate { rate_rps }) => rate_rps,
        _ => 0.0,
    }
}

/// `at 1KiB (echo small) the difference is 1.3x [...] for p50 latency ...`: the workload
/// closest to 1 KiB, the size most API calls have.
fn reference_clause(e2e: &[&Ratio]) -> Option<String> {
    const REFERENCE_BYTES: f64 = 1024.0;
    let distance = |r: &Ratio| {
        ((r.source.size_bytes() as f64).max(1.0) / REFERENCE_BYTES)
            .log2()
            .abs()
    };
    let best = e2e.iter().min_by(|a, b| distance(a).total_cmp(&distance(b)))?;
    let at_ref: Vec<&&Ratio> = e2e
        .iter()
        .filter(|r| {
            r.source.shape == best.source.shape
                && r.source.size_label == best.source.size_label
                && r.source.rpc == best.source.rpc
        })
        .collect();
    let mut clauses = Vec::new();
    for metric in [Metric::LatencyP50, Metric::MaxThroughput, Metric::RoundTrip] {
        // Lowest rate first: the least loaded equal-load point.
        if let Some(r) = at_ref
            .iter()
            .filter(|r| r.metric == metric)
            .min_by(|a, b| rate_of(a).total_cmp(&rate_of(b)))
        {
            let load = match (&r.source.load, metric) {
                (Some(l), Metric::LatencyP50) => format!(" {}", l.describe()),
                _ => String::new(),
            };
            clauses.push(format!(
                "{} for {}{load}",
                r.compact_text(),
                r.metric.short_label()
            ));
        }
    }
    if clauses.is_empty() {
        return None;
    }
    let rpc = best.source.rpc.map(|r| format!("{r} ")).unwrap_or_default();
    Some(format!(
        "at {} ({rpc}{}) the difference is {}",
        best.source.size_label,
        best.source.shape,
        join_and(&clauses)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{GRPC, REST, codec_speedups, pair_ratios};
    use crate::schema::PointKind;
    use crate::synthetic::{PointSpec, codec_bench, point};
    use rpcbench_model::{CodecOp, Encoding};

    /// Codec benches where JSON takes `x` times protobuf's time for (op, shape, size).
    fn codec(cases: &[(CodecOp, &str, u64, f64)]) -> Vec<Ratio> {
        let mut benches = Vec::new();
        for &(op, shape, size, x) in cases {
            let shape = shape.parse().unwrap();
            benches.push(codec_bench(op, Encoding::Protobuf, shape, size, 1000.0));
            benches.push(codec_bench(op, Encoding::Json, shape, size, 1000.0 * x));
        }
        let (ratios, missing) = codec_speedups(&benches);
        assert!(missing.is_empty());
        ratios
    }

    /// Load points where REST's latency/CPU is `x` times gRPC's and its throughput 1/x.
    fn end_to_end(x: f64) -> Vec<Ratio> {
        let mut points = Vec::new();
        for rep in 0..3 {
            for (variant, f) in [(REST, x), (GRPC, 1.0)] {
                let jitter = 1.0 + 0.01 * rep as f64;
                for kind in [
                    PointKind::MaxThroughput,
                    PointKind::FixedRate { rate_rps: 1000.0 },
                ] {
                    let mut spec = PointSpec::new(variant, "small", 1024, kind, 50_000.0 * f * jitter);
                    spec.repetition = rep;
                    spec.achieved_rps = 20_000.0 / f / jitter;
                    points.push(point(&spec));
                }
            }
        }
        pair_ratios(&points, REST, GRPC)
    }

    #[test]
    fn claim_true_when_end_to_end_reaches_8x() {
        let c = codec(&[
            (CodecOp::Encode, "mesh", 16384, 12.0),
            (CodecOp::Decode, "mesh", 16384, 10.0),
        ]);
        let e = end_to_end(9.0);
        let v = verdict(&c, &e, vec![]);
        assert_eq!(v.status, ClaimStatus::True);
        assert!(v.sentence.starts_with("True: "), "{}", v.sentence);
        assert!(
            v.sentence.contains(
                "end-to-end, grpc-proto-h2 vs rest-json-h1 reaches 8x or more in 3 of 3 comparisons"
            ),
            "{}",
            v.sentence
        );
        let thr = v
            .end_to_end
            .iter()
            .find(|m| m.metric == Metric::MaxThroughput)
            .unwrap();
        assert!(
            (thr.extremes.largest.value - 9.0).abs() < 0.5,
            "{}",
            thr.extremes.largest.value
        );
        assert!(!v.reaching_factor.is_empty());
        assert_eq!(v.encode.as_ref().unwrap().largest.value, 12.0);
    }

    #[test]
    fn claim_false_when_nothing_reaches_8x() {
        let c = codec(&[
            (CodecOp::Encode, "small", 128, 1.5),
            (CodecOp::Decode, "small", 128, 2.5),
            (CodecOp::Decode, "logs", 16384, 3.1),
        ]);
        let e = end_to_end(1.2);
        let v = verdict(&c, &e, vec![]);
        assert_eq!(v.status, ClaimStatus::False);
        assert!(v.reaching_factor.is_empty());
        let d = v.decode.as_ref().unwrap();
        assert_eq!((d.largest.value, d.smallest.value, d.count), (3.1, 2.5, 2));
        assert!(
            v.sentence.starts_with(
                "False: protobuf serialization is never 8x faster than JSON: it ranges from 1.5x [1.4–1.6] for encode small 128B to 3.1x [3.0–3.2] for decode logs 16KiB"
            ),
            "{}",
            v.sentence
        );
        assert!(
            v.sentence
                .contains("end-to-end, grpc-proto-h2 vs rest-json-h1 ranges from 1.2x"),
            "{}",
            v.sentence
        );
        assert!(
            v.sentence.contains("at 1KiB (echo small) the difference is 1.2x"),
            "{}",
            v.sentence
        );
    }

    #[test]
    fn claim_partly_true_when_only_serialization_reaches_8x() {
        let c = codec(&[
            (CodecOp::Decode, "mesh", 1024, 4.0),
            (CodecOp::Decode, "mesh", 16384, 8.5),
            (CodecOp::Decode, "mesh", 262_144, 9.5),
            (CodecOp::Encode, "mesh", 262_144, 7.0),
            (CodecOp::Decode, "small", 128, 2.0),
        ]);
        let e = end_to_end(1.3);
        let v = verdict(&c, &e, vec![]);
        assert_eq!(v.status, ClaimStatus::PartlyTrue);
        assert!(
            v.sentence.starts_with(
                "Partly true: serialization is 8x or more faster only for float-heavy (mesh) payloads of 16KiB and more (decode only)"
            ),
            "{}",
            v.sentence
        );
        assert!(
            v.sentence.contains("at 1KiB (echo small) the difference is 1.3x"),
            "{}",
            v.sentence
        );
        assert_eq!(v.reaching_factor.len(), 2);
        assert_eq!(v.reaching_factor[0].source.size_label, "256KiB");
        // Every figure names its source point and spread.
        for m in &v.end_to_end {
            assert!(
                m.extremes
                    .largest
                    .text_with_source()
                    .contains("rest-json-h1 vs grpc-proto-h2")
            );
            assert!(m.extremes.largest.spread_text().contains("3×3 repetitions"));
        }
    }

    #[test]
    fn missing_data_is_not_determined_and_says_why() {
        let v = verdict(
            &[],
            &[],
            vec!["no results.json".into(), "no criterion directory".into()],
        );
        assert_eq!(v.status, ClaimStatus::NotDetermined);
        assert_eq!(
            v.sentence,
            "Not determined: neither serialization nor end-to-end speed was measured (no results.json; no criterion directory)."
        );
        assert!(v.encode.is_none() && v.end_to_end.is_empty());
        assert_eq!(v.missing.len(), 2);
    }

    #[test]
    fn partial_evidence_says_what_was_not_measured() {
        let only_codec = verdict(
            &codec(&[(CodecOp::Decode, "mesh", 16384, 9.0)]),
            &[],
            vec!["no results.json".into()],
        );
        assert_eq!(only_codec.status, ClaimStatus::PartlyTrue);
        assert!(
            only_codec
                .sentence
                .ends_with("end-to-end speed was not measured."),
            "{}",
            only_codec.sentence
        );
        assert!(
            only_codec.sentence.contains("in every case measured"),
            "{}",
            only_codec.sentence
        );

        let only_load = verdict(&[], &end_to_end(2.0), vec![]);
        assert_eq!(only_load.status, ClaimStatus::False);
        assert!(
            only_load
                .sentence
                .starts_with("False: serialization was not measured; end-to-end"),
            "{}",
            only_load.sentence
        );
    }

    #[test]
    fn grpc_slower_is_a_ratio_below_one() {
        let v = verdict(&[], &end_to_end(0.8), vec![]);
        assert_eq!(v.status, ClaimStatus::False);
        let p50 = v
            .end_to_end
            .iter()
            .find(|m| m.metric == Metric::LatencyP50)
            .unwrap();
        assert!(p50.extremes.largest.value < 1.0);
        assert!(
            v.sentence.contains("below 1x grpc-proto-h2 is the slower side"),
            "{}",
            v.sentence
        );
    }
}
